//! Column shapes shared by the migrations, with the few places where the
//! back ends need different spellings to behave the same.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

/// The longest account or folder name (the domain's `MAX_NAME_LEN`).
const NAME_LEN: u32 = 255;

/// A unique-indexed name column: `VARCHAR(255)` compared byte by byte.
///
/// SQLite's default `BINARY` collation already does that; PostgreSQL's default
/// collation follows the locale and MySQL's default ignores case, which would
/// make `Alice` and `alice` collide on one back end and not on another, and
/// list in a different order. MySQL tables get a binary collation in
/// [`create_table`]; PostgreSQL gets the `C` collation on the column.
pub fn name<T: IntoIden>(backend: DbBackend, col: T) -> ColumnDef {
    let mut def = ColumnDef::new(col);
    def.string_len(NAME_LEN).not_null();
    if backend == DbBackend::Postgres {
        def.extra("COLLATE \"C\"");
    }
    def
}

/// A text column that may hold a long document (JSON, free text).
///
/// MySQL's `TEXT` stops at 64 KiB, so MySQL gets `LONGTEXT`; elsewhere `TEXT`
/// has no practical limit.
pub fn long_text<T: IntoIden>(backend: DbBackend, col: T) -> ColumnDef {
    let mut def = ColumnDef::new(col);
    if backend == DbBackend::MySql {
        def.custom(Alias::new("LONGTEXT"));
    } else {
        def.text();
    }
    def.not_null();
    def
}

/// Like [`long_text`] but nullable.
pub fn long_text_null<T: IntoIden>(backend: DbBackend, col: T) -> ColumnDef {
    let mut def = long_text(backend, col);
    def.null();
    def
}

/// A `BIGINT NOT NULL` column: counters, limits and millisecond times.
pub fn big<T: IntoIden>(col: T) -> ColumnDef {
    ColumnDef::new(col).big_integer().not_null().take()
}

/// A small `INTEGER NOT NULL` code (status, provider).
pub fn code<T: IntoIden>(col: T) -> ColumnDef {
    ColumnDef::new(col).integer().not_null().take()
}

/// The auto-increment `BIGINT` primary key.
pub fn id<T: IntoIden>(col: T) -> ColumnDef {
    ColumnDef::new(col)
        .big_integer()
        .not_null()
        .auto_increment()
        .primary_key()
        .take()
}

/// Starts a `CREATE TABLE IF NOT EXISTS`, with the MySQL character set and
/// binary collation that keep names byte-compared and text in UTF-8 whatever
/// the server's defaults are.
pub fn create_table<T: IntoIden + 'static>(backend: DbBackend, table: T) -> TableCreateStatement {
    let mut stmt = Table::create();
    stmt.table(table).if_not_exists();
    if backend == DbBackend::MySql {
        stmt.engine("InnoDB")
            .character_set("utf8mb4")
            .collate("utf8mb4_bin");
    }
    stmt
}
