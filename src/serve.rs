//! The composition root: open the database, build adapters and use cases,
//! start the listeners, wait for a signal, drain.

use crate::app::{
    Accounts, AccountsSettings, AdminTokens, Admins, BackupService, ConnectionRegistry,
    FilesystemRules, Folders, Quotas,
};
use crate::backends::{BackendRules, Backends};
use crate::config::{Database, Settings};
use crate::kms::KeySource;
use anyhow::{Context, Result};
use ferry_auth::{Argon2Hasher, JwtSigner, MemoryRevocations};
use ferry_ports::{
    Backups, Clock, RestoreMode, RestoreOptions, RestoreScan, SecretKeeper, StorageFactory,
    SystemClock,
};
use ferry_sql::SqlRepository;
use std::io::IsTerminal;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tracing_subscriber::EnvFilter;

/// How long listeners get to finish after a shutdown signal.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Logs to stderr; `RUST_LOG` overrides `level`. sqlx logs every statement
/// at info, so it is held at warn unless asked for.
pub fn init_logging(level: &str) {
    let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| level.to_owned());
    let filter = EnvFilter::try_new(format!("sqlx=warn,sea_orm=warn,russh=warn,{filter}"))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

/// The secret keeper, from the kms settings, and the storage back ends with
/// the operator's rules.
fn storage_backends(
    settings: &Settings,
) -> Result<(Arc<dyn SecretKeeper>, Arc<dyn StorageFactory>)> {
    let (keeper, source) = crate::kms::load(settings)?;
    match source {
        KeySource::Generated => tracing::warn!(
            file = crate::kms::GENERATED_KEY_FILE,
            "generated a kms master key in the data dir: every replica must use this same key \
             (kms.master_key or kms.master_key_file), or stored cloud credentials cannot be read"
        ),
        KeySource::GeneratedEarlier => tracing::info!(
            file = crate::kms::GENERATED_KEY_FILE,
            "using the kms master key generated in the data dir"
        ),
        KeySource::Settings | KeySource::File => tracing::info!("kms master key loaded"),
    }
    let keeper: Arc<dyn SecretKeeper> = Arc::new(keeper);
    let rules = BackendRules {
        allow_ambient_credentials: settings.storage.allow_ambient_credentials,
        allowed_endpoints: settings.storage.allowed_endpoints.clone(),
        rename_dirs: settings.common.rename_mode == 1,
    };
    let backends: Arc<dyn StorageFactory> = Arc::new(Backends::new(keeper.clone(), rules));
    Ok((keeper, backends))
}

/// A backup to restore before the listeners start (`ferry serve
/// --loaddata-from`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartupRestore {
    pub file: std::path::PathBuf,
    /// SFTPGo's `mode`: 0, 1 or 2.
    pub mode: i64,
    /// SFTPGo's `scan-quota`: 0, 1 or 2.
    pub quota_scan: i64,
    /// Delete the file once it is restored.
    pub clean: bool,
}

/// Runs Ferry until SIGINT or SIGTERM, after restoring `restore` if given.
pub fn run(settings: Settings, restore: Option<StartupRestore>) -> Result<()> {
    limit_malloc_arenas();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(serve(settings, restore))
}

/// Caps glibc's malloc arenas at one per CPU. By default each thread that
/// allocates may get an arena of its own (up to eight per CPU), and buffers
/// freed in one arena are not reused by another: an upload's part buffers
/// freed on one worker thread then sit beside a download's read-ahead
/// allocated on another. Measured on a 256 MiB S3 upload and download, the
/// peak RSS growth above idle fell from 62 MiB to 24-46 MiB (two CPUs).
/// Must run before the runtime starts its threads.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let cpus = std::thread::available_parallelism().map_or(2, usize::from);
        let arenas = libc::c_int::try_from(cpus.max(2)).unwrap_or(libc::c_int::MAX);
        // SAFETY: mallopt only changes an allocator setting; it is called
        // before any other thread exists, with a documented parameter.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, arenas);
        }
    }
}

/// Creates `dir` (and its parents) readable by Ferry's account only, as it
/// holds the database, host keys and homes; an existing one is left as the
/// operator made it.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

/// Creates an empty `file` readable by Ferry's account only, unless it
/// exists; SQLite then keeps that mode for its journal files too.
fn create_private_file(file: &Path) -> std::io::Result<()> {
    let created = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(file);
    match created {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        other => other.map(drop),
    }
}

/// Takes `<database>.lock` for as long as the returned file is open, so that
/// a second server on the same database refuses to start: revoked tokens,
/// running quota scans and live connections are each server's own, and two
/// would quietly disagree.
fn lock_database(db_path: &Path) -> Result<std::fs::File> {
    let mut name = db_path.as_os_str().to_owned();
    name.push(".lock");
    let path = PathBuf::from(name);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("creating the lock file {}", path.display()))?;
    match rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(file),
        Err(rustix::io::Errno::WOULDBLOCK) => anyhow::bail!(
            "another Ferry is already serving the database {} (its lock {} is held)",
            db_path.display(),
            path.display()
        ),
        Err(e) => Err(e).with_context(|| format!("locking {}", path.display())),
    }
}

async fn serve(settings: Settings, restore: Option<StartupRestore>) -> Result<()> {
    raise_open_file_limit();
    tracing::info!(version = env!("CARGO_PKG_VERSION"), data_dir = %settings.data_dir.display(),
        "starting ferry");
    create_private_dir(&settings.data_dir)
        .with_context(|| format!("creating the data dir {}", settings.data_dir.display()))?;

    let (url, shown, _only_server) = match settings.database()? {
        Database::Sqlite(db_path) => {
            let lock = lock_database(&db_path)?;
            create_private_file(&db_path)
                .with_context(|| format!("creating the database file {}", db_path.display()))?;
            let url = format!("sqlite://{}?mode=rwc", url_path(&db_path)?);
            (url, db_path.display().to_string(), Some(lock))
        }
        Database::Server { url, shown } => (url, shown, None),
    };
    let repo = Arc::new(
        SqlRepository::connect(&url)
            .await
            .with_context(|| format!("opening the database ({shown})"))?,
    );
    repo.migrate()
        .await
        .with_context(|| format!("migrating the database ({shown})"))?;
    tracing::info!(database = %shown, "database ready");

    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let hasher = Arc::new(Argon2Hasher::new());
    let signer = match settings.httpd.signing_passphrase.as_str() {
        "" => JwtSigner::random(),
        passphrase => JwtSigner::from_secret(passphrase.as_bytes()),
    }
    .context("creating the token signer")?;
    let lifetime = Duration::from_secs(settings.httpd.jwt_lifetime * 60);
    let tokens = Arc::new(AdminTokens::new(
        repo.clone(),
        hasher.clone(),
        signer,
        clock.clone(),
        lifetime,
        // LIMITATION: revoked tokens are kept in this process; replicas
        // sharing a database server do not see each other's revocations.
        Arc::new(MemoryRevocations::new(clock.clone())),
    ));
    let admin = &settings.default_admin;
    if tokens
        .ensure_default_admin(&admin.username, &admin.password)
        .await?
    {
        tracing::warn!(admin = %admin.username, "created the default admin: change its password \
            now, it is the one from the settings");
    }
    let backends = storage_backends(&settings)?;
    let filesystems = FilesystemRules::new(backends.0, backends.1.clone());
    let connections = Arc::new(ConnectionRegistry::new(clock.clone()));
    let accounts = Arc::new(Accounts::new(
        repo.clone(),
        hasher.clone(),
        filesystems.clone(),
        clock.clone(),
        AccountsSettings {
            users_base_dir: settings.data_dir.join("users"),
            setstat_mode: settings.setstat_mode()?,
        },
        connections.clone(),
    ));
    let quotas = Arc::new(Quotas::new(
        repo.clone(),
        backends.1,
        clock.clone(),
        settings.quota_tracking()?,
    ));
    let admins = Arc::new(Admins::new(repo.clone(), hasher, clock.clone()));
    let folders = Arc::new(Folders::new(repo.clone(), filesystems));
    let backups = Arc::new(BackupService::new(
        repo.clone(),
        accounts.clone(),
        folders.clone(),
        admins.clone(),
        quotas.clone(),
        clock,
        connections.clone(),
    ));
    if let Some(restore) = restore {
        restore_at_start(backups.as_ref(), &restore).await?;
    }

    let host_keys = if settings.sftpd.host_keys.is_empty() {
        ferry_sftp::host_keys::load_or_generate(&settings.data_dir)
            .context("loading or generating host keys")?
    } else {
        let paths: Vec<_> = settings
            .sftpd
            .host_keys
            .iter()
            .map(|p| settings.resolve(p))
            .collect();
        ferry_sftp::host_keys::load(&paths).context("loading host keys")?
    };
    for fingerprint in ferry_sftp::host_keys::fingerprints(&host_keys) {
        tracing::info!(%fingerprint, "host key loaded");
    }
    let tls = load_tls(&settings)?;
    let (stop_tx, stop_rx) = watch::channel(false);

    let sftp_listener = bind("sftp", settings.sftp_bind()?).await?;
    let sftp_address = sftp_listener
        .local_addr()
        .context("reading the sftp address")?;
    let ssh_facts = crate::status::ssh_facts(&settings, &host_keys, sftp_address);
    let mut sftp_settings = ferry_sftp::SftpSettings::new(host_keys);
    sftp_settings.idle_timeout = match settings.sftpd.idle_timeout {
        0 => None,
        secs => Some(Duration::from_secs(secs)),
    };
    sftp_settings.max_auth_tries = settings.sftpd.max_auth_tries as usize;
    sftp_settings.login_grace_time = Duration::from_secs(settings.sftpd.login_grace_time);
    let sftp = tokio::spawn(ferry_sftp::serve(
        sftp_listener,
        accounts.clone(),
        sftp_settings,
        stopped(stop_rx.clone()),
    ));

    let http_listener = bind("http", settings.http_bind()?).await?;
    let services = ferry_http::ApiServices {
        sessions: tokens,
        users: accounts,
        folders,
        admins,
        health: Arc::new(crate::status::DbHealth(repo.clone())),
        connections,
        quotas,
        backups,
    };
    let http_settings = ferry_http::HttpSettings {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        proxy_allowed: settings.proxy_allowed()?,
        ssh: ssh_facts,
        backups_dir: settings.resolve(&settings.data_provider.backups_path),
        ..Default::default()
    };
    let http = spawn_http(
        http_listener,
        services,
        http_settings,
        tls,
        stopped(stop_rx),
    );

    let (mut sftp, mut http) = (sftp, http);
    let early_exit = tokio::select! {
        signal = shutdown_signal() => {
            tracing::info!("received {signal}, shutting down");
            None
        }
        result = &mut sftp => Some(("sftp", result)),
        result = &mut http => Some(("http", result)),
    };
    let _ = stop_tx.send(true);
    if let Some((service, result)) = early_exit {
        anyhow::bail!(
            "the {service} listener stopped unexpectedly: {}",
            describe_exit(result)
        );
    }
    match tokio::time::timeout(DRAIN_TIMEOUT, async { tokio::join!(sftp, http) }).await {
        Ok((sftp, http)) => {
            for (service, result) in [("sftp", sftp), ("http", http)] {
                tracing::info!(service, outcome = %describe_exit(result), "listener stopped");
            }
        }
        Err(_) => tracing::warn!("listeners did not stop within {DRAIN_TIMEOUT:?}"),
    }
    tracing::info!("ferry stopped");
    Ok(())
}

/// Restores a backup file before anything is served; a failure stops the
/// start-up, and then nothing of the file is applied.
async fn restore_at_start(backups: &dyn Backups, restore: &StartupRestore) -> Result<()> {
    let path = &restore.file;
    let options = RestoreOptions {
        mode: RestoreMode::from_code(restore.mode).context("--loaddata-mode")?,
        quota_scan: RestoreScan::from_code(restore.quota_scan).context("--loaddata-scan")?,
    };
    let size = std::fs::metadata(path)
        .with_context(|| format!("reading the backup file {}", path.display()))?
        .len();
    if size > ferry_http::MAX_RESTORE_BYTES {
        anyhow::bail!(
            "the backup file {} is larger than {} bytes",
            path.display(),
            ferry_http::MAX_RESTORE_BYTES
        );
    }
    let bytes = std::fs::read(path)
        .with_context(|| format!("reading the backup file {}", path.display()))?;
    let data = ferry_http::parse_backup(&bytes)
        .with_context(|| format!("the backup file {}", path.display()))?;
    let report = backups
        .restore(None, data, options)
        .await
        .with_context(|| format!("restoring the backup file {}", path.display()))?;
    tracing::info!(file = %path.display(), "{}", ferry_http::restore_message(&report));
    if restore.clean {
        std::fs::remove_file(path)
            .with_context(|| format!("deleting the restored file {}", path.display()))?;
        tracing::info!(file = %path.display(), "deleted the restored backup file");
    }
    Ok(())
}

/// Serves the REST API over HTTPS when a certificate is loaded, else over
/// plain HTTP, and says which.
fn spawn_http(
    listener: TcpListener,
    services: ferry_http::ApiServices,
    settings: ferry_http::HttpSettings,
    tls: Option<ferry_http::TlsConfig>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> tokio::task::JoinHandle<std::io::Result<()>> {
    match tls {
        Some(tls) => {
            tracing::info!("the REST API speaks HTTPS");
            let serving = ferry_http::serve_tls(listener, services, settings, tls, shutdown);
            tokio::spawn(serving)
        }
        None => {
            tracing::info!("the REST API speaks plain HTTP: set httpd.certificate_path for HTTPS");
            tokio::spawn(ferry_http::serve(listener, services, settings, shutdown))
        }
    }
}

/// The HTTPS certificate and key, when the settings name them. An error
/// names the setting whose file is at fault.
fn load_tls(settings: &Settings) -> Result<Option<ferry_http::TlsConfig>> {
    let Some(files) = settings.tls_files()? else {
        return Ok(None);
    };
    let tls = ferry_http::TlsConfig::load(&files).map_err(|e| {
        let setting = match &e {
            ferry_http::TlsError::Certificate { .. } => "httpd.certificate_path",
            ferry_http::TlsError::PrivateKey { .. } => "httpd.certificate_key_path",
            ferry_http::TlsError::Mismatch(_) => {
                "httpd.certificate_path and httpd.certificate_key_path"
            }
        };
        anyhow::anyhow!("{setting}: cannot serve HTTPS: {e}")
    })?;
    tracing::info!(certificate = %files.certificate.display(), "HTTPS certificate loaded");
    Ok(Some(tls))
}

fn describe_exit(result: Result<std::io::Result<()>, tokio::task::JoinError>) -> String {
    match result {
        Ok(Ok(())) => "clean".to_owned(),
        Ok(Err(e)) => format!("error: {e}"),
        Err(e) => format!("task failed: {e}"),
    }
}

/// A file path as the path part of a database URL: the characters a URL
/// gives meaning to are percent-encoded.
fn url_path(path: &std::path::Path) -> Result<String> {
    let text = path
        .to_str()
        .with_context(|| format!("the path {} is not valid UTF-8", path.display()))?;
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '%' | '?' | '#' => out.push_str(&format!("%{:02X}", c as u32)),
            c => out.push(c),
        }
    }
    Ok(out)
}

/// Every session, open file and listing holds a descriptor; the usual soft
/// limit of 1024 runs out long before memory or CPU does. Raise it to the
/// hard limit the operator allows.
fn raise_open_file_limit() {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    if limit.current < limit.maximum {
        let raised = Rlimit {
            current: limit.maximum,
            maximum: limit.maximum,
        };
        match setrlimit(Resource::Nofile, raised) {
            Ok(()) => tracing::info!(limit = ?limit.maximum, "raised the open file limit"),
            Err(e) => tracing::warn!(error = %e, "cannot raise the open file limit"),
        }
    }
}

async fn bind(service: &'static str, address: std::net::SocketAddr) -> Result<TcpListener> {
    let listener = TcpListener::bind(address)
        .await
        .with_context(|| format!("binding the {service} listener on {address}"))?;
    let local = listener.local_addr().context("reading the bound address")?;
    tracing::info!(service, address = %local, "listening");
    Ok(listener)
}

async fn stopped(mut rx: watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}

async fn shutdown_signal() -> &'static str {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(term) => term,
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for SIGTERM");
            let _ = tokio::signal::ctrl_c().await;
            return "SIGINT";
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => "SIGINT",
        _ = term.recv() => "SIGTERM",
    }
}
