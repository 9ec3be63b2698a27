//! Opening databases: what cannot be reached or opened fails as unavailable,
//! a URL that cannot be right fails as invalid input, SQLite runs in WAL mode.

use crate::expect_kind;
use ferry_domain::ErrorKind;
use ferry_sql::{SqlOptions, SqlRepository, UNAVAILABLE};
use std::time::Duration;

fn quick() -> SqlOptions {
    SqlOptions {
        acquire_timeout: Duration::from_secs(1),
        ..SqlOptions::default()
    }
}

/// A loopback port that nothing listens on (it was free a moment ago).
#[allow(dead_code)]
fn refused_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    listener.local_addr().expect("local address").port()
}

#[tokio::test]
async fn sqlite_in_a_missing_directory_is_unavailable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing").join("ferry.db");
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let err = expect_kind(SqlRepository::connect(&url).await, ErrorKind::Unavailable);
    assert_eq!(err.message(), UNAVAILABLE);
    assert!(err.detail().is_some());
}

#[cfg(feature = "postgres")]
#[tokio::test]
async fn a_refused_postgres_port_is_unavailable() {
    let url = format!(
        "postgres://ferry:hunter2@127.0.0.1:{}/ferry",
        refused_port()
    );
    let err = expect_kind(
        SqlRepository::connect_with(&url, &quick()).await,
        ErrorKind::Unavailable,
    );
    assert_eq!(err.message(), UNAVAILABLE);
    assert!(!err.to_string().contains("hunter2"));
}

#[cfg(feature = "mysql")]
#[tokio::test]
async fn a_refused_mysql_port_is_unavailable() {
    let url = format!("mysql://ferry:hunter2@127.0.0.1:{}/ferry", refused_port());
    let err = expect_kind(
        SqlRepository::connect_with(&url, &quick()).await,
        ErrorKind::Unavailable,
    );
    assert!(!err.to_string().contains("hunter2"));
}

#[tokio::test]
async fn malformed_urls_are_invalid_input() {
    for url in [
        "oracle://db/ferry",
        "ferry.db",
        "sqlite://x.db?mode=sideways",
    ] {
        let err = expect_kind(
            SqlRepository::connect_with(url, &quick()).await,
            ErrorKind::InvalidInput,
        );
        assert!(!err.message().is_empty(), "{url}");
    }
}

#[tokio::test]
async fn an_in_memory_database_works_across_the_pool() {
    use crate::sample::{name, user};
    use ferry_ports::UserRepository;
    let repo = SqlRepository::connect("sqlite::memory:").await.unwrap();
    repo.migrate().await.unwrap();
    repo.create_user(&user("mem")).await.unwrap();
    assert_eq!(
        repo.get_user(&name("mem")).await.unwrap().username,
        name("mem")
    );
    assert_eq!(repo.backend(), "sqlite");
}

/// WAL is a property of the file: a plain connection opened afterwards sees it.
#[tokio::test]
async fn sqlite_files_are_put_in_wal_mode() {
    use sea_orm::{ConnectionTrait, Database, DbBackend, Statement};
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("ferry.db").display()
    );
    let repo = SqlRepository::connect(&url).await.unwrap();
    repo.migrate().await.unwrap();
    repo.close().await.unwrap();

    let raw = Database::connect(&url).await.unwrap();
    let pragma = Statement::from_string(DbBackend::Sqlite, "PRAGMA journal_mode");
    let row = raw.query_one_raw(pragma).await.unwrap().unwrap();
    let mode: String = row.try_get_by_index(0).unwrap();
    assert_eq!(mode, "wal");
}
