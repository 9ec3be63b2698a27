//! The edges of Ferry's core: the traits it offers to front ends (inbound) and
//! the traits it needs from back ends (outbound). Every trait states its
//! contract; adapters are tested against it.

pub mod backup;
pub mod connections;
pub mod inbound;
pub mod quotas;
pub mod repository;
pub mod security;
pub mod storage;

pub use backup::{
    Applied, BackupAdmin, BackupData, BackupRepository, BackupUser, Backups, RestoreApplied,
    RestoreBatch, RestoreMode, RestoreOptions, RestoreReport, RestoreScan, Snapshot,
};
pub use connections::{
    ConnectionStatus, Connections, Disconnect, DisconnectHook, TransferKind, TransferStatus,
};
pub use inbound::{
    AdminContext, AdminInput, AdminManagement, AdminProfile, AdminSessions, ClientInfo,
    FileSession, FolderManagement, IssuedToken, Login, ProviderHealth, SshKey, UserInput,
    UserManagement,
};
pub use quotas::{QuotaManagement, QuotaScan};
pub use repository::{AdminRepository, FolderRepository, Page, SortOrder, UserRepository};
pub use security::{
    Clock, PasswordHasher, SecretKeeper, SystemClock, TokenClaims, TokenRevocations, TokenSigner,
};
pub use storage::{
    Capabilities, DirEntry, DirStream, FileHandle, FileKind, Metadata, OpenOptions, SetAttributes,
    StatVfs, Storage, StorageFactory,
};
