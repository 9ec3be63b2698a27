//! Ferry's repositories on sea-orm: SFTP users, their virtual folders and REST
//! API administrators stored in SQLite, PostgreSQL or MySQL/MariaDB, the back end
//! chosen by the connection URL.
//!
//! ```no_run
//! # async fn demo() -> ferry_domain::Result<()> {
//! let url = "sqlite:///var/lib/ferry/ferry.db?mode=rwc";
//! let repo = ferry_sql::SqlRepository::connect(url).await?;
//! repo.migrate().await?;
//! # Ok(()) }
//! ```
//!
//! Every database failure leaves this crate as a [`ferry_domain::Error`]
//! whose kind a client can act on (see the `error` module); stored rows are
//! decoded through the domain's validating constructors.

mod admins;
mod backup;
mod codec;
mod connect;
mod entity;
mod error;
mod folders;
mod migrate;
mod mounts;
mod users;

pub use connect::SqlOptions;
pub use error::UNAVAILABLE;

use error::db_error;
use ferry_domain::Result;
use ferry_ports::SortOrder;
use sea_orm::{DatabaseConnection, DbBackend, Order};

/// Users, folders and administrators in one SQL database. Implements
/// [`ferry_ports::UserRepository`], [`ferry_ports::FolderRepository`],
/// [`ferry_ports::AdminRepository`] and [`ferry_ports::BackupRepository`].
///
/// Clones are cheap and share one connection pool.
#[derive(Debug, Clone)]
pub struct SqlRepository {
    db: DatabaseConnection,
}

impl SqlRepository {
    /// Opens a connection pool on `url` with [`SqlOptions::default`]:
    /// `sqlite://path/ferry.db?mode=rwc` (`mode=rwc` creates the file),
    /// `sqlite::memory:`, `postgres://user:password@host/db` or
    /// `mysql://user:password@host/db`.
    ///
    /// Fails with `InvalidInput` for a malformed URL and `Unavailable` when the
    /// database cannot be reached or opened.
    pub async fn connect(url: &str) -> Result<SqlRepository> {
        Self::connect_with(url, &SqlOptions::default()).await
    }

    /// Like [`connect`](Self::connect), with explicit pool settings.
    pub async fn connect_with(url: &str, options: &SqlOptions) -> Result<SqlRepository> {
        let db = connect::open(url, options).await?;
        Ok(SqlRepository { db })
    }

    /// Brings the schema up to date with every `ferry-migrations` migration.
    /// Safe to call from several replicas at once: they take turns.
    pub async fn migrate(&self) -> Result<()> {
        migrate::run(&self.db)
            .await
            .map_err(|e| db_error(e, "database schema"))
    }

    /// Checks that the database answers; `Unavailable` when it does not.
    pub async fn ping(&self) -> Result<()> {
        self.db.ping().await.map_err(|e| db_error(e, "database"))
    }

    /// Closes every connection of the pool, waiting for those in use. Later
    /// calls on this repository or its clones fail with `Unavailable`.
    pub async fn close(&self) -> Result<()> {
        self.db
            .close_by_ref()
            .await
            .map_err(|e| db_error(e, "database"))
    }

    /// The back end's name for log lines: `sqlite`, `postgres` or `mysql`.
    pub fn backend(&self) -> &'static str {
        match self.db.get_database_backend() {
            DbBackend::Sqlite => "sqlite",
            DbBackend::Postgres => "postgres",
            DbBackend::MySql => "mysql",
            _ => "unknown",
        }
    }
}

/// The SQL direction of a listing by username.
fn order(order: SortOrder) -> Order {
    match order {
        SortOrder::Asc => Order::Asc,
        SortOrder::Desc => Order::Desc,
    }
}

/// Offsets and limits as the databases take them: signed 64-bit at most.
fn bound(n: u64) -> u64 {
    n.min(i64::MAX as u64)
}

/// `column + delta`, computed by the database and never below zero, so
/// concurrent additions all count.
fn added<C: sea_orm::sea_query::IntoColumnRef + Copy>(
    column: C,
    delta: i64,
) -> sea_orm::sea_query::SimpleExpr {
    use sea_orm::sea_query::{Expr, ExprTrait};
    let sum = Expr::col(column).add(delta);
    Expr::case(sum.clone().lt(0), 0).finally(sum).into()
}
