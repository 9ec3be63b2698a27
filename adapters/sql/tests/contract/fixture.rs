//! A fresh, empty database per test, on the back end the test names.
//!
//! - SQLite: a file in a new temporary directory.
//! - PostgreSQL: `FERRY_TEST_POSTGRES_URL`, a URL of the server's maintenance
//!   database (e.g. `postgres://postgres@127.0.0.1:5432/postgres`).
//! - MySQL/MariaDB: `FERRY_TEST_MYSQL_URL`, a server URL (e.g.
//!   `mysql://root@127.0.0.1:3306/mysql`).
//!
//! On a server the fixture creates a uniquely named database, runs the test
//! and drops the database whether the test passed or not. Without the
//! variable the local default server is used (the ones CI runs), so a missing
//! server fails the test instead of skipping it.

use ferry_sql::SqlRepository;
use sea_orm::{ConnectionTrait, Database};
use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};
use tempfile::TempDir;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
    MySql,
}

impl Backend {
    fn server_var(self) -> Option<(&'static str, &'static str)> {
        match self {
            Backend::Sqlite => None,
            Backend::Postgres => Some((
                "FERRY_TEST_POSTGRES_URL",
                "postgres://postgres@127.0.0.1:5432/postgres",
            )),
            Backend::MySql => Some(("FERRY_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/mysql")),
        }
    }
}

/// One test's database.
pub struct Db {
    /// The URL the repository connects to.
    pub url: String,
    /// The server URL and database name to drop afterwards.
    server: Option<(String, String)>,
    _dir: Option<TempDir>,
}

impl Db {
    /// A fresh database, or `None` when the back end is not configured.
    pub async fn fresh(backend: Backend) -> Option<Db> {
        let Some((var, default_url)) = backend.server_var() else {
            let dir = tempfile::tempdir().expect("temporary directory");
            let url = format!(
                "sqlite://{}?mode=rwc",
                dir.path().join("ferry.db").display()
            );
            return Some(Db {
                url,
                server: None,
                _dir: Some(dir),
            });
        };
        let server_url = std::env::var(var).unwrap_or_else(|_| default_url.to_owned());
        let name = unique_name();
        admin_sql(&server_url, &format!("CREATE DATABASE {name}")).await;
        let url = with_database(&server_url, &name);
        Some(Db {
            url,
            server: Some((server_url, name)),
            _dir: None,
        })
    }

    /// Drops the database from its server (the temporary SQLite directory
    /// goes away on drop).
    pub async fn remove(self) {
        if let Some((server_url, name)) = &self.server {
            let force = if server_url.starts_with("postgres") {
                " WITH (FORCE)"
            } else {
                ""
            };
            admin_sql(
                server_url,
                &format!("DROP DATABASE IF EXISTS {name}{force}"),
            )
            .await;
        }
    }
}

/// Runs `case` on a fresh database, migrated when `migrated` is set. The case
/// runs in its own task so that a failing assertion still lets the database
/// be dropped before the failure is reported.
pub async fn run<F, Fut>(backend: Backend, migrated: bool, case: F)
where
    F: FnOnce(SqlRepository, String) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(db) = Db::fresh(backend).await else {
        return;
    };
    let repo = SqlRepository::connect(&db.url).await.expect("connect");
    if migrated {
        repo.migrate().await.expect("migrate");
    }
    let outcome = tokio::spawn(case(repo.clone(), db.url.clone())).await;
    let _ = repo.close().await;
    db.remove().await;
    if let Err(failure) = outcome {
        std::panic::resume_unwind(failure.into_panic());
    }
}

/// Runs one statement on the server's default database.
async fn admin_sql(server_url: &str, sql: &str) {
    let conn = Database::connect(server_url)
        .await
        .expect("connect to the test server");
    conn.execute_unprepared(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    let _ = conn.close().await;
}

/// `ferry_test_<pid>_<time>_<n>`: unique across parallel tests and runs.
fn unique_name() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("ferry_test_{}_{nanos}_{n}", std::process::id())
}

/// `server_url` with its database path replaced by `name`, query kept.
fn with_database(server_url: &str, name: &str) -> String {
    let (scheme, rest) = server_url.split_once("://").expect("a URL with ://");
    let (before_query, query) = match rest.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (rest, String::new()),
    };
    let authority = before_query.split('/').next().unwrap_or(before_query);
    format!("{scheme}://{authority}/{name}{query}")
}
