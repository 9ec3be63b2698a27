//! Ferry's database schema as forward-only sea-orm migrations, written once
//! with the schema builder so the same steps run on SQLite, PostgreSQL and
//! MySQL/MariaDB.
//!
//! Conventions every migration follows:
//! - times are `BIGINT` Unix milliseconds, 0 for never;
//! - structured values (permission maps, filters, filesystem settings, key
//!   lists) are JSON documents in text columns, so no back end needs a JSON type;
//! - names compare and sort byte by byte on every back end (see
//!   `columns::name`), so uniqueness and listing order do not depend on the
//!   server's collation.
//!
//! sea-orm-migration records what ran in its own `seaql_migrations` table.

use sea_orm_migration::prelude::*;

/// Re-exported so callers can run [`Migrator`] without naming
/// sea-orm-migration themselves.
pub use sea_orm_migration::MigratorTrait;

mod columns;
mod m20250601_000001_accounts;
mod m20251204_000002_folders;

/// Every migration of Ferry's schema, oldest first.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20250601_000001_accounts::Migration),
            Box::new(m20251204_000002_folders::Migration),
        ]
    }
}
