//! Version 2: virtual folders and the users' mounts of them.

use crate::columns::{big, create_table, id, long_text, name};
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        manager.create_table(folders_table(backend)).await?;
        manager.create_table(mounts_table(backend)).await
    }
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Folders {
    Table,
    Id,
    Name,
    MappedPath,
    Description,
    UsedQuotaSize,
    UsedQuotaFiles,
    LastQuotaUpdate,
    Filesystem,
}

/// One row per mount of a folder in a user's view.
#[derive(DeriveIden)]
enum UsersFolders {
    Table,
    Id,
    UserId,
    FolderId,
    VirtualPath,
    QuotaSize,
    QuotaFiles,
}

fn folders_table(backend: DbBackend) -> TableCreateStatement {
    let text = |col| long_text(backend, col);
    create_table(backend, Folders::Table)
        .col(id(Folders::Id))
        .col(name(backend, Folders::Name))
        .col(text(Folders::MappedPath))
        .col(text(Folders::Description))
        .col(big(Folders::UsedQuotaSize))
        .col(big(Folders::UsedQuotaFiles))
        .col(big(Folders::LastQuotaUpdate))
        .col(text(Folders::Filesystem))
        .index(
            Index::create()
                .name("uq_folders_name")
                .col(Folders::Name)
                .unique(),
        )
        .take()
}

/// Deleting a user or a folder deletes its mounts with it, in the same
/// statement, so no mount can name something that is gone.
fn mounts_table(backend: DbBackend) -> TableCreateStatement {
    create_table(backend, UsersFolders::Table)
        .col(id(UsersFolders::Id))
        .col(big(UsersFolders::UserId))
        .col(big(UsersFolders::FolderId))
        .col(long_text(backend, UsersFolders::VirtualPath))
        .col(big(UsersFolders::QuotaSize))
        .col(big(UsersFolders::QuotaFiles))
        .index(
            Index::create()
                .name("uq_users_folders_user_folder")
                .col(UsersFolders::UserId)
                .col(UsersFolders::FolderId)
                .unique(),
        )
        .foreign_key(
            ForeignKey::create()
                .name("fk_users_folders_user")
                .from(UsersFolders::Table, UsersFolders::UserId)
                .to(Users::Table, Users::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .foreign_key(
            ForeignKey::create()
                .name("fk_users_folders_folder")
                .from(UsersFolders::Table, UsersFolders::FolderId)
                .to(Folders::Table, Folders::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .take()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mounts_cascade_from_users_and_folders() {
        for backend in [DbBackend::Sqlite, DbBackend::Postgres, DbBackend::MySql] {
            let sql = backend.build(&mounts_table(backend)).to_string();
            assert_eq!(sql.matches("ON DELETE CASCADE").count(), 2, "{sql}");
            let folders = backend.build(&folders_table(backend)).to_string();
            assert!(folders.contains("uq_folders_name"), "{folders}");
        }
    }
}
