//! Ferry's REST API v2 on warp, wire-compatible with SFTPGo's REST API v2 as
//! its OpenAPI document (`openapi/openapi.yaml`) defines it: the same paths,
//! JSON field names, status codes and `ApiResponse` error bodies.
//!
//! The crate drives the core through inbound ports only: [`AdminSessions`]
//! for tokens, [`UserManagement`] for accounts, [`FolderManagement`] for
//! virtual folders, [`AdminManagement`] for administrators, [`Connections`]
//! for live sessions and [`Backups`] for backup and restore. Every route, with the admin
//! permission it needs, is listed once in [`route_table`]; the status report
//! also asks [`ProviderHealth`] about the database. Ferry's own OpenAPI
//! document (`adapters/http/openapi/openapi.json`) describes exactly that
//! table and is served with Swagger UI.

mod auth;
mod call;
mod client_ip;
mod error;
mod front;
mod handlers;
mod paging;
mod routes;
mod server;
mod status;
mod time;
mod tls;
mod wire;

use ferry_ports::inbound::AdminManagement;
use ferry_ports::{
    AdminSessions, Backups, Connections, FolderManagement, ProviderHealth, QuotaManagement,
    UserManagement,
};
use std::path::PathBuf;
use std::sync::Arc;

pub use client_ip::ProxyAllowed;
pub use front::serve;
pub use handlers::backup::{MAX_RESTORE_BYTES, restore_message};
pub use routes::{Access, RouteInfo, route_table};
pub use server::{PeerAddr, routes};
pub use status::{HostKeyFacts, SshFacts};
pub use tls::{DEFAULT_HANDSHAKE_TIMEOUT, TlsConfig, TlsError, TlsFiles, serve_tls};
pub use wire::backup::parse as parse_backup;

/// The largest JSON request body SFTPGo accepts, 1 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

/// The inbound ports the REST API drives.
#[derive(Clone)]
pub struct ApiServices {
    /// Admin tokens: issue, check, revoke.
    pub sessions: Arc<dyn AdminSessions>,
    /// SFTP user accounts.
    pub users: Arc<dyn UserManagement>,
    /// Virtual folders.
    pub folders: Arc<dyn FolderManagement>,
    /// REST API administrators.
    pub admins: Arc<dyn AdminManagement>,
    /// Live SFTP connections: list and close.
    pub connections: Arc<dyn Connections>,
    /// Quota scans and usage changes.
    pub quotas: Arc<dyn QuotaManagement>,
    /// The data provider's health, for the status report.
    pub health: Arc<dyn ProviderHealth>,
    /// Backup and restore of every account.
    pub backups: Arc<dyn Backups>,
}

/// What the REST API reports about the build and how it bounds requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpSettings {
    /// `version` of `GET /api/v2/version`. Default: this crate's version.
    pub version: String,
    /// `build_date` of `GET /api/v2/version`. Default: empty.
    pub build_date: String,
    /// `commit_hash` of `GET /api/v2/version`. Default: empty.
    pub commit_hash: String,
    /// `features` of `GET /api/v2/version`, SFTPGo style (`+sqlite`, `-s3`).
    /// Default: none.
    pub features: Vec<String>,
    /// JSON request bodies larger than this are refused with 413.
    /// Default: [`DEFAULT_MAX_BODY_BYTES`].
    pub max_body_bytes: usize,
    /// Peers whose `X-Forwarded-For` / `X-Real-IP` name the client.
    /// Default: none, so the socket address is the client.
    pub proxy_allowed: ProxyAllowed,
    /// The SSH service for `GET /api/v2/status`. Default: not active.
    pub ssh: SshFacts,
    /// Where `dumpdata` writes and `loaddata` reads backup files; no other
    /// path is used. Default: `backups` in the working directory.
    pub backups_dir: PathBuf,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            build_date: String::new(),
            commit_hash: String::new(),
            features: Vec::new(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            proxy_allowed: ProxyAllowed::default(),
            ssh: SshFacts::default(),
            backups_dir: PathBuf::from("backups"),
        }
    }
}

/// What every handler shares: the ports and the settings.
pub(crate) struct AppState {
    pub services: ApiServices,
    pub settings: HttpSettings,
}
