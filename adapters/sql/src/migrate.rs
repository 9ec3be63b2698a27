//! Applying the schema migrations when several replicas may start at once.
//!
//! Two replicas migrating the same database together would both create the
//! tables and both record the migration, and one of them would fail. Each back
//! end therefore takes a lock first, so the second replica waits and then
//! finds nothing left to do.

use ferry_migrations::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, DbErr, SqliteTransactionMode, Statement,
    TransactionOptions, TransactionTrait,
};

/// The PostgreSQL advisory lock key: "ferrymig" in ASCII.
const PG_LOCK_KEY: i64 = 0x6665_7272_796d_6967;
/// The MySQL named lock.
const MYSQL_LOCK: &str = "ferry_migrations";
/// How long a MySQL replica waits for another one's migration, in seconds.
const MYSQL_LOCK_WAIT_SECS: u32 = 300;

/// Applies every pending migration under the back end's lock.
pub async fn run(db: &DatabaseConnection) -> Result<(), DbErr> {
    match db.get_database_backend() {
        DbBackend::Postgres => postgres(db).await,
        DbBackend::MySql => mysql(db).await,
        DbBackend::Sqlite => sqlite(db).await,
        other => Err(DbErr::Custom(format!("no migration lock for {other:?}"))),
    }
}

/// PostgreSQL runs DDL in transactions: one transaction holds the advisory
/// lock and every migration, and commits them together.
async fn postgres(db: &DatabaseConnection) -> Result<(), DbErr> {
    let txn = db.begin().await?;
    txn.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({PG_LOCK_KEY})"))
        .await?;
    Migrator::up(&txn, None).await?;
    txn.commit().await
}

/// SQLite's `BEGIN IMMEDIATE` takes the database's write lock at once, and
/// SQLite DDL is transactional too.
async fn sqlite(db: &DatabaseConnection) -> Result<(), DbErr> {
    let options = TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    };
    let txn = db.begin_with_options(options).await?;
    Migrator::up(&txn, None).await?;
    txn.commit().await
}

/// MySQL commits DDL implicitly, so a transaction cannot hold the work back;
/// it is used only to pin one connection, because `GET_LOCK` belongs to the
/// session. The lock is released whatever the migration's outcome.
async fn mysql(db: &DatabaseConnection) -> Result<(), DbErr> {
    let txn = db.begin().await?;
    let sql = format!("SELECT GET_LOCK('{MYSQL_LOCK}', {MYSQL_LOCK_WAIT_SECS}) AS got");
    let row = txn
        .query_one_raw(Statement::from_string(DbBackend::MySql, sql))
        .await?;
    let got: Option<i64> = match row {
        Some(row) => row.try_get("", "got")?,
        None => None,
    };
    if got != Some(1) {
        return Err(DbErr::Custom(format!(
            "another replica held the migration lock for over {MYSQL_LOCK_WAIT_SECS} s"
        )));
    }
    let outcome = Migrator::up(&txn, None).await;
    let released = txn
        .execute_unprepared(&format!("DO RELEASE_LOCK('{MYSQL_LOCK}')"))
        .await;
    outcome?;
    released?;
    txn.commit().await
}
