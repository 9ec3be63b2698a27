//! Ferry's use cases: they implement the inbound ports on top of the outbound
//! ones. Protocol adapters call these; these call repositories and storage.

mod accounts;
mod admin_tokens;
mod admins;
mod backups;
mod connections;
mod file_session;
mod filesystems;
mod folders;
mod hashing;
mod moving;
mod quotas;
mod storages;

pub use accounts::{Accounts, AccountsSettings};
pub use admin_tokens::AdminTokens;
pub use admins::Admins;
pub use backups::BackupService;
pub use connections::ConnectionRegistry;
pub use file_session::{SetstatMode, UserFileSession};
pub use filesystems::FilesystemRules;
pub use folders::Folders;
pub use quotas::{Quotas, measure};
pub use storages::Storages;
