//! [`BackupRepository`]: every account read at once, and a restore written
//! in one transaction.

use crate::SqlRepository;
use crate::codec::{admin_from_row, admin_to_row, folder_to_row, user_to_row};
use crate::entity::{admins, folders, users};
use crate::error::db_error;
use crate::folders::with_users;
use crate::mounts;
use crate::users::with_mounts;
use async_trait::async_trait;
use ferry_domain::{Admin, Folder, Result, User};
use ferry_ports::{Applied, BackupRepository, RestoreApplied, RestoreBatch, Snapshot};
use sea_orm::ActiveValue::NotSet;
use sea_orm::{
    ColumnTrait, DatabaseTransaction, EntityTrait, Iterable, PrimaryKeyToColumn, QueryFilter,
    QueryOrder, QuerySelect, TransactionTrait,
};

#[async_trait]
impl BackupRepository for SqlRepository {
    async fn read_all(&self) -> Result<Snapshot> {
        let txn = self.db.begin().await.map_err(|e| db_error(e, "backup"))?;
        let folder_rows = folders::Entity::find()
            .order_by_asc(folders::Column::Name)
            .all(&txn)
            .await
            .map_err(|e| db_error(e, "folders"))?;
        let folders = with_users(&txn, folder_rows).await?;
        let user_rows = users::Entity::find()
            .order_by_asc(users::Column::Username)
            .all(&txn)
            .await
            .map_err(|e| db_error(e, "users"))?;
        let users = with_mounts(&txn, user_rows).await?;
        let admin_rows = admins::Entity::find()
            .order_by_asc(admins::Column::Username)
            .all(&txn)
            .await
            .map_err(|e| db_error(e, "admins"))?;
        txn.commit().await.map_err(|e| db_error(e, "backup"))?;
        let admins = admin_rows
            .into_iter()
            .map(admin_from_row)
            .collect::<Result<_>>()?;
        Ok(Snapshot {
            folders,
            users,
            admins,
        })
    }

    /// Dropping the transaction without a commit (any `?` below) rolls it
    /// back.
    async fn write_batch(&self, batch: &RestoreBatch) -> Result<RestoreApplied> {
        let txn = self.db.begin().await.map_err(|e| db_error(e, "restore"))?;
        let mut applied = RestoreApplied::default();
        for folder in &batch.folders {
            write_folder(&txn, folder, batch.update_existing, &mut applied.folders).await?;
        }
        for user in &batch.users {
            write_user(&txn, user, batch.update_existing, &mut applied.users).await?;
        }
        for admin in &batch.admins {
            write_admin(&txn, admin, batch.update_existing, &mut applied.admins).await?;
        }
        txn.commit().await.map_err(|e| db_error(e, "restore"))?;
        Ok(applied)
    }
}

async fn write_folder(
    txn: &DatabaseTransaction,
    folder: &Folder,
    update_existing: bool,
    applied: &mut Applied,
) -> Result<()> {
    let name = folder.name.as_str();
    let what = format!("folder \"{name}\"");
    let existing = id_of::<folders::Entity>(txn, folders::Column::Name, name, &what).await?;
    let mut row = folder_to_row(folder)?;
    match existing {
        None => {
            folders::Entity::insert(row)
                .exec(txn)
                .await
                .map_err(|e| db_error(e, &what))?;
            applied.added.push(name.to_owned());
        }
        Some(_) if !update_existing => applied.kept.push(name.to_owned()),
        Some(id) => {
            row.name = NotSet;
            row.used_quota_size = NotSet;
            row.used_quota_files = NotSet;
            row.last_quota_update = NotSet;
            folders::Entity::update_many()
                .set(row)
                .filter(folders::Column::Id.eq(id))
                .exec(txn)
                .await
                .map_err(|e| db_error(e, &what))?;
            applied.updated.push(name.to_owned());
        }
    }
    Ok(())
}

async fn write_user(
    txn: &DatabaseTransaction,
    user: &User,
    update_existing: bool,
    applied: &mut Applied,
) -> Result<()> {
    let name = user.username.as_str();
    let what = format!("user \"{name}\"");
    let existing = id_of::<users::Entity>(txn, users::Column::Username, name, &what).await?;
    let mut row = user_to_row(user)?;
    let id = match existing {
        None => {
            let inserted = users::Entity::insert(row)
                .exec(txn)
                .await
                .map_err(|e| db_error(e, &what))?;
            applied.added.push(name.to_owned());
            inserted.last_insert_id
        }
        Some(_) if !update_existing => {
            applied.kept.push(name.to_owned());
            return Ok(());
        }
        Some(id) => {
            // What the store owns stays as stored.
            row.username = NotSet;
            row.created_at = NotSet;
            row.last_login = NotSet;
            row.used_quota_size = NotSet;
            row.used_quota_files = NotSet;
            row.last_quota_update = NotSet;
            users::Entity::update_many()
                .set(row)
                .filter(users::Column::Id.eq(id))
                .exec(txn)
                .await
                .map_err(|e| db_error(e, &what))?;
            applied.updated.push(name.to_owned());
            id
        }
    };
    mounts::store(txn, id, &user.virtual_folders)
        .await
        .map_err(|e| named(&what, e))?;
    Ok(())
}

/// The id of the row whose `key` column is `name`, if there is one.
async fn id_of<E: EntityTrait>(
    txn: &DatabaseTransaction,
    key: E::Column,
    name: &str,
    what: &str,
) -> Result<Option<i64>> {
    let id = E::PrimaryKey::iter()
        .next()
        .map(|pk| pk.into_column())
        .ok_or_else(|| ferry_domain::Error::internal(format!("{what}: table has no key")))?;
    E::find()
        .select_only()
        .column(id)
        .filter(key.eq(name))
        .into_tuple()
        .one(txn)
        .await
        .map_err(|e| db_error(e, what))
}

/// The error with the user it is about named first.
fn named(what: &str, e: ferry_domain::Error) -> ferry_domain::Error {
    let named = ferry_domain::Error::new(e.kind(), format!("{what}: {}", e.message()));
    match e.detail() {
        Some(detail) => named.with_detail(detail),
        None => named,
    }
}

async fn write_admin(
    txn: &DatabaseTransaction,
    admin: &Admin,
    update_existing: bool,
    applied: &mut Applied,
) -> Result<()> {
    let name = admin.username.as_str();
    let what = format!("admin \"{name}\"");
    let existing = id_of::<admins::Entity>(txn, admins::Column::Username, name, &what).await?;
    let mut row = admin_to_row(admin)?;
    match existing {
        None => {
            admins::Entity::insert(row)
                .exec(txn)
                .await
                .map_err(|e| db_error(e, &what))?;
            applied.added.push(name.to_owned());
        }
        Some(_) if !update_existing => applied.kept.push(name.to_owned()),
        Some(id) => {
            row.username = NotSet;
            row.created_at = NotSet;
            row.last_login = NotSet;
            admins::Entity::update_many()
                .set(row)
                .filter(admins::Column::Id.eq(id))
                .exec(txn)
                .await
                .map_err(|e| db_error(e, &what))?;
            applied.updated.push(name.to_owned());
        }
    }
    Ok(())
}
