//! Ferry's SSH and SFTP front end.
//!
//! An SSH server on russh that authenticates users through the
//! [`ferry_ports::Login`] port and serves the `sftp` subsystem (SFTP version
//! 3 with OpenSSH's extensions) through the [`ferry_ports::FileSession`] a
//! login returns. Shells, commands and other subsystems are refused.
//!
//! ```no_run
//! # async fn example(login: std::sync::Arc<dyn ferry_ports::Login>) -> std::io::Result<()> {
//! let keys = ferry_sftp::host_keys::load_or_generate("/var/lib/ferry".as_ref())
//!     .map_err(std::io::Error::other)?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:2022").await?;
//! let settings = ferry_sftp::SftpSettings::new(keys);
//! ferry_sftp::serve(listener, login, settings, std::future::pending()).await
//! # }
//! ```

pub mod host_keys;
mod server;
mod settings;
mod sftp;
mod shards;
mod ssh;

pub use host_keys::HostKeyError;
pub use server::serve;
pub use settings::{OfferedAlgorithms, SftpSettings, offered_algorithms};
