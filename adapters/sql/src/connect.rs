//! Opening the connection pool: the back end comes from the URL scheme, and
//! each back end gets the settings that let several tasks (and processes, for
//! SQLite) share one database safely.

use crate::error::db_error;
use ferry_domain::{Error, Result};
use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbBackend, DbErr, RuntimeErr};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

/// Pool and locking settings. [`Default`] suits a single server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlOptions {
    /// Most connections the pool opens; `None` picks 4 for a SQLite file,
    /// 1 for an in-memory SQLite database (each connection would otherwise
    /// see its own empty database) and 10 for a database server.
    pub max_connections: Option<u32>,
    /// How long a query waits for a free connection, or for a server that
    /// refuses connections, before failing as unavailable. Also bounds
    /// [`SqlRepository::connect`](crate::SqlRepository::connect).
    pub acquire_timeout: Duration,
    /// How long SQLite waits for another writer's lock before failing as
    /// unavailable.
    pub sqlite_busy_timeout: Duration,
}

impl Default for SqlOptions {
    fn default() -> Self {
        Self {
            max_connections: None,
            acquire_timeout: Duration::from_secs(10),
            sqlite_busy_timeout: Duration::from_secs(5),
        }
    }
}

/// What `connect` calls the database in its errors.
const WHAT: &str = "data provider";

/// Opens a pool on `url` and checks that one connection works.
pub async fn open(url: &str, options: &SqlOptions) -> Result<DatabaseConnection> {
    let backend = backend_of(url)?;
    let mut opts = ConnectOptions::new(url);
    opts.acquire_timeout(options.acquire_timeout)
        .connect_timeout(options.acquire_timeout);
    if backend == DbBackend::Sqlite {
        let in_memory = sqlite_in_memory(url)?;
        let busy = options.sqlite_busy_timeout;
        opts.max_connections(
            options
                .max_connections
                .unwrap_or(if in_memory { 1 } else { 4 }),
        );
        opts.map_sqlx_sqlite_opts(move |o| sqlite_settings(o, busy));
        if in_memory {
            // An in-memory database lives as long as its last connection.
            opts.min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None);
        }
    } else if let Some(max) = options.max_connections {
        opts.max_connections(max);
    }
    Database::connect(opts)
        .await
        .map_err(|e| redact(db_error(e, WHAT), url))
}

/// WAL lets readers run while one connection writes; the busy timeout makes a
/// second writer (another task or another process) wait instead of failing.
/// `synchronous = FULL` makes every commit survive a power cut.
fn sqlite_settings(opts: SqliteConnectOptions, busy: Duration) -> SqliteConnectOptions {
    opts.journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(busy)
        .foreign_keys(true)
}

/// The back end named by the URL's scheme, if this build supports it.
fn backend_of(url: &str) -> Result<DbBackend> {
    let scheme = url.split_once(':').map(|(s, _)| s.to_ascii_lowercase());
    let backend = match scheme.as_deref() {
        Some("sqlite") => DbBackend::Sqlite,
        Some("postgres" | "postgresql") => DbBackend::Postgres,
        Some("mysql") => DbBackend::MySql,
        _ => {
            return Err(Error::invalid(
                "invalid data provider URL: it must start with sqlite:, postgres: or mysql:",
            ));
        }
    };
    let built = match backend {
        DbBackend::Postgres => cfg!(feature = "postgres"),
        DbBackend::MySql => cfg!(feature = "mysql"),
        _ => true,
    };
    if !built {
        return Err(Error::invalid(format!(
            "this build of Ferry has no {backend:?} support"
        )));
    }
    Ok(backend)
}

/// Parses a SQLite URL the way the driver will, so a malformed one is reported
/// as invalid input rather than as an unreachable database.
fn sqlite_in_memory(url: &str) -> Result<bool> {
    let opts = SqliteConnectOptions::from_str(url)
        .map_err(|e| db_error(DbErr::Conn(RuntimeErr::SqlxError(Arc::new(e))), WHAT))?;
    Ok(opts
        .get_filename()
        .to_string_lossy()
        .starts_with("file:sqlx-in-memory")
        || url.contains("mode=memory"))
}

/// Drivers may echo the URL in their errors; a password in it must not reach
/// the log through the error's detail.
fn redact(err: Error, url: &str) -> Error {
    let Some(password) = url_password(url) else {
        return err;
    };
    let decoded = percent_decode(password);
    match err.detail() {
        Some(detail) if detail.contains(password) || detail.contains(&decoded) => {
            let clean = detail.replace(password, "***").replace(&decoded, "***");
            Error::new(err.kind(), err.message()).with_detail(clean)
        }
        _ => err,
    }
}

/// `%XX` escapes decoded (lossily: only for matching text in a message).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
            Some(byte) if bytes[i] == b'%' => {
                out.push(byte);
                i += 3;
            }
            _ => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The password part of `scheme://user:password@host/...`, if any.
fn url_password(url: &str) -> Option<&str> {
    let (_, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let (userinfo, _) = authority.rsplit_once('@')?;
    let (_, password) = userinfo.split_once(':')?;
    (!password.is_empty()).then_some(password)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_domain::ErrorKind;

    #[test]
    fn schemes() {
        assert_eq!(
            backend_of("sqlite://x.db?mode=rwc").ok(),
            Some(DbBackend::Sqlite)
        );
        assert_eq!(backend_of("sqlite::memory:").ok(), Some(DbBackend::Sqlite));
        let bad = backend_of("oracle://db").unwrap_err();
        assert_eq!(bad.kind(), ErrorKind::InvalidInput);
        assert!(backend_of("no scheme").is_err());
    }

    #[test]
    fn in_memory_detection() {
        assert!(sqlite_in_memory("sqlite::memory:").unwrap());
        assert!(sqlite_in_memory("sqlite://?mode=memory").unwrap());
        assert!(!sqlite_in_memory("sqlite:///tmp/x.db?mode=rwc").unwrap());
    }

    #[test]
    fn passwords_are_redacted() {
        let url = "postgres://ferry:s3cr%40t@db.internal:5432/ferry?sslmode=require";
        assert_eq!(url_password(url), Some("s3cr%40t"));
        assert_eq!(url_password("postgres://ferry@db/ferry"), None);
        assert_eq!(url_password("sqlite://a:b.db"), None);
        let err = Error::unavailable("x").with_detail(format!("cannot reach {url} (s3cr@t)"));
        let clean = redact(err, url);
        assert!(!clean.detail().unwrap_or_default().contains("s3cr"));
        assert_eq!(percent_decode("a%40b%zz%4"), "a@b%zz%4");
        assert_eq!(clean.kind(), ErrorKind::Unavailable);
    }
}
