//! Version 1: SFTP users and REST API administrators.

use crate::columns::{big, code, create_table, id, long_text, long_text_null, name};
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        manager.create_table(users_table(backend)).await?;
        manager.create_table(admins_table(backend)).await
    }
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Username,
    Status,
    Email,
    Description,
    ExpirationDate,
    PasswordHash,
    PublicKeys,
    HomeDir,
    Uid,
    Gid,
    MaxSessions,
    QuotaSize,
    QuotaFiles,
    Permissions,
    UsedQuotaSize,
    UsedQuotaFiles,
    LastQuotaUpdate,
    UploadBandwidth,
    DownloadBandwidth,
    Filters,
    Filesystem,
    AdditionalInfo,
    CreatedAt,
    UpdatedAt,
    LastLogin,
}

#[derive(DeriveIden)]
enum Admins {
    Table,
    Id,
    Username,
    Status,
    PasswordHash,
    Email,
    Description,
    Permissions,
    Filters,
    AdditionalInfo,
    CreatedAt,
    UpdatedAt,
    LastLogin,
}

/// The unique index is declared inside `CREATE TABLE` so that each table
/// appears whole or not at all: MySQL cannot roll DDL back, and a re-run after
/// a failure then only has to create what is missing.
fn users_table(backend: DbBackend) -> TableCreateStatement {
    let text = |col| long_text(backend, col);
    create_table(backend, Users::Table)
        .col(id(Users::Id))
        .col(name(backend, Users::Username))
        .col(code(Users::Status))
        .col(text(Users::Email))
        .col(text(Users::Description))
        .col(big(Users::ExpirationDate))
        .col(long_text_null(backend, Users::PasswordHash))
        .col(text(Users::PublicKeys))
        .col(text(Users::HomeDir))
        .col(big(Users::Uid))
        .col(big(Users::Gid))
        .col(big(Users::MaxSessions))
        .col(big(Users::QuotaSize))
        .col(big(Users::QuotaFiles))
        .col(text(Users::Permissions))
        .col(big(Users::UsedQuotaSize))
        .col(big(Users::UsedQuotaFiles))
        .col(big(Users::LastQuotaUpdate))
        .col(big(Users::UploadBandwidth))
        .col(big(Users::DownloadBandwidth))
        .col(text(Users::Filters))
        .col(text(Users::Filesystem))
        .col(text(Users::AdditionalInfo))
        .col(big(Users::CreatedAt))
        .col(big(Users::UpdatedAt))
        .col(big(Users::LastLogin))
        .index(
            Index::create()
                .name("uq_users_username")
                .col(Users::Username)
                .unique(),
        )
        .take()
}

fn admins_table(backend: DbBackend) -> TableCreateStatement {
    let text = |col| long_text(backend, col);
    create_table(backend, Admins::Table)
        .col(id(Admins::Id))
        .col(name(backend, Admins::Username))
        .col(code(Admins::Status))
        .col(text(Admins::PasswordHash))
        .col(text(Admins::Email))
        .col(text(Admins::Description))
        .col(text(Admins::Permissions))
        .col(text(Admins::Filters))
        .col(text(Admins::AdditionalInfo))
        .col(big(Admins::CreatedAt))
        .col(big(Admins::UpdatedAt))
        .col(big(Admins::LastLogin))
        .index(
            Index::create()
                .name("uq_admins_username")
                .col(Admins::Username)
                .unique(),
        )
        .take()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sql(backend: DbBackend) -> String {
        let users = backend.build(&users_table(backend)).to_string();
        let admins = backend.build(&admins_table(backend)).to_string();
        format!("{users};\n{admins}")
    }

    #[test]
    fn names_are_unique_and_byte_compared_everywhere() {
        let sqlite = sql(DbBackend::Sqlite);
        let postgres = sql(DbBackend::Postgres);
        let mysql = sql(DbBackend::MySql);
        for (backend, text) in [
            ("sqlite", &sqlite),
            ("postgres", &postgres),
            ("mysql", &mysql),
        ] {
            assert!(text.contains("uq_users_username"), "{backend}: {text}");
            assert!(text.contains("uq_admins_username"), "{backend}: {text}");
            assert!(!text.contains("COLLATE \"C\"") || backend == "postgres");
        }
        assert_eq!(postgres.matches("COLLATE \"C\"").count(), 2, "{postgres}");
        assert!(mysql.contains("utf8mb4_bin"), "{mysql}");
        assert!(mysql.contains("LONGTEXT"), "{mysql}");
    }

    #[test]
    fn only_the_user_password_hash_is_nullable() {
        for backend in [DbBackend::Sqlite, DbBackend::Postgres, DbBackend::MySql] {
            let text = sql(backend);
            let nullable: Vec<&str> = text
                .split(", ")
                .filter(|col| !col.contains("NOT NULL") && col.contains("password_hash"))
                .collect();
            assert_eq!(nullable.len(), 1, "{backend:?}: {text}");
        }
    }
}
