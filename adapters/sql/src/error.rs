//! The one place where database failures become Ferry's error kinds.
//!
//! - `Unavailable`: connection refused or lost, pool timed out or closed,
//!   server shutting down or out of connections, lock and deadlock timeouts,
//!   SQLite busy, locked or unable to open its file;
//! - `Conflict`: a unique-key or foreign-key violation;
//! - `NotFound`: a record that is not there;
//! - `InvalidInput`: malformed connection settings;
//! - `Internal`: anything else.
//!
//! The database's own text goes into the error's detail (for the log), never
//! into the message a client sees.

use ferry_domain::{Error, ErrorKind};
use sea_orm::sqlx::error::DatabaseError;
use sea_orm::{DbErr, RuntimeErr, SqlErr, sqlx};

/// The client-facing message of every `Unavailable` database error.
pub const UNAVAILABLE: &str = "data provider unavailable";

/// Maps a database error met while working on `what` (`user "alice"`, ...).
pub fn db_error(err: DbErr, what: &str) -> Error {
    // A row that names another one removed in the meantime (a mount of a
    // folder deleted while its user was being written).
    if let Some(SqlErr::ForeignKeyConstraintViolation(_)) = err.sql_err() {
        return Error::conflict(format!("{what}: an object it refers to no longer exists"))
            .with_detail(err);
    }
    match classify(&err) {
        ErrorKind::Unavailable => Error::unavailable(UNAVAILABLE).with_detail(err),
        ErrorKind::Conflict => Error::conflict(format!("{what} already exists")).with_detail(err),
        ErrorKind::NotFound => not_found(what).with_detail(err),
        ErrorKind::InvalidInput => {
            Error::invalid("invalid data provider configuration").with_detail(err)
        }
        _ => Error::internal(err),
    }
}

/// The error for a missing record, worded like a mapped database error.
pub fn not_found(what: &str) -> Error {
    Error::not_found(format!("{what} does not exist"))
}

/// Which kind a sea-orm error is.
fn classify(err: &DbErr) -> ErrorKind {
    if let Some(SqlErr::UniqueConstraintViolation(_)) = err.sql_err() {
        return ErrorKind::Conflict;
    }
    match err {
        DbErr::ConnectionAcquire(_) => ErrorKind::Unavailable,
        DbErr::RecordNotFound(_) | DbErr::RecordNotUpdated => ErrorKind::NotFound,
        DbErr::Conn(RuntimeErr::SqlxError(e))
        | DbErr::Exec(RuntimeErr::SqlxError(e))
        | DbErr::Query(RuntimeErr::SqlxError(e)) => classify_sqlx(e),
        // sea-orm's own connection errors: "Disconnected" and the like.
        DbErr::Conn(_) => ErrorKind::Unavailable,
        _ => ErrorKind::Internal,
    }
}

fn classify_sqlx(err: &sqlx::Error) -> ErrorKind {
    match err {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => ErrorKind::Unavailable,
        sqlx::Error::Configuration(_) => ErrorKind::InvalidInput,
        sqlx::Error::Database(db) if db.is_unique_violation() => ErrorKind::Conflict,
        sqlx::Error::Database(db) if is_transient(db.as_ref()) => ErrorKind::Unavailable,
        _ => ErrorKind::Internal,
    }
}

/// True for server-side errors that a retry may cure: the server is going
/// away, out of connections, or a lock could not be taken in time.
fn is_transient(db: &dyn DatabaseError) -> bool {
    if let Some(sqlite) = db.try_downcast_ref::<sqlx::sqlite::SqliteError>() {
        return sqlite_transient(sqlite);
    }
    #[cfg(feature = "mysql")]
    if let Some(mysql) = db.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>() {
        // too many connections, server shutdown, lock wait timeout,
        // deadlock, connection killed (MariaDB)
        if matches!(mysql.number(), 1040 | 1053 | 1205 | 1213 | 1927) {
            return true;
        }
    }
    db.code().is_some_and(|state| sqlstate_transient(&state))
}

/// SQLite primary result codes (the low byte of the extended code): BUSY,
/// LOCKED, IOERR, FULL, CANTOPEN.
fn sqlite_transient(err: &sqlx::sqlite::SqliteError) -> bool {
    let code = err.code().and_then(|c| c.parse::<i32>().ok()).unwrap_or(0);
    matches!(code & 0xff, 5 | 6 | 10 | 13 | 14)
}

/// SQLSTATE classes shared by PostgreSQL and MySQL: 08 connection exception,
/// 53 insufficient resources, 57 operator intervention (shutdown, cancel),
/// and 40001/40P01 serialization failure and deadlock.
fn sqlstate_transient(state: &str) -> bool {
    state.starts_with("08")
        || state.starts_with("53")
        || state.starts_with("57")
        || state == "40001"
        || state == "40P01"
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;
    use std::sync::Arc;

    fn sqlx_err(err: sqlx::Error) -> DbErr {
        DbErr::Query(RuntimeErr::SqlxError(Arc::new(err)))
    }

    #[test]
    fn lost_connections_are_unavailable() {
        let refused = io::Error::new(io::ErrorKind::ConnectionRefused, "refused");
        for err in [
            sqlx_err(sqlx::Error::Io(refused)),
            sqlx_err(sqlx::Error::PoolTimedOut),
            DbErr::ConnectionAcquire(sea_orm::ConnAcquireErr::Timeout),
            DbErr::Conn(RuntimeErr::Internal("Disconnected".into())),
        ] {
            let mapped = db_error(err, "user \"a\"");
            assert_eq!(mapped.kind(), ErrorKind::Unavailable);
            assert_eq!(mapped.message(), UNAVAILABLE);
        }
    }

    #[test]
    fn not_found_and_other_errors() {
        let missing = db_error(DbErr::RecordNotUpdated, "admin \"b\"");
        assert_eq!(missing.kind(), ErrorKind::NotFound);
        assert_eq!(missing.message(), "admin \"b\" does not exist");

        let other = db_error(sqlx_err(sqlx::Error::Protocol("secret detail".into())), "x");
        assert_eq!(other.kind(), ErrorKind::Internal);
        assert!(!other.message().contains("secret detail"));
        assert!(other.detail().is_some_and(|d| d.contains("secret detail")));
    }

    #[test]
    fn sqlstates() {
        for transient in ["08006", "08S01", "53300", "57P01", "40001", "40P01"] {
            assert!(sqlstate_transient(transient), "{transient}");
        }
        for other in ["23505", "42P01", "HY000", "22001"] {
            assert!(!sqlstate_transient(other), "{other}");
        }
    }
}
