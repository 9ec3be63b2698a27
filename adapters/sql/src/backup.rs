//! [`BackupRepository`]: every account read at once, and a restore written
//! in one transaction.

use crate::SqlRepository;
use crate::codec::{admin_from_row, admin_to_row, user_from_row, user_to_row};
use crate::entity::{admins, users};
use crate::error::db_error;
use async_trait::async_trait;
use ferry_domain::{Admin, Result, User};
use ferry_ports::{Applied, BackupRepository, RestoreBatch};
use sea_orm::ActiveValue::NotSet;
use sea_orm::{
    ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, TransactionTrait,
};

#[async_trait]
impl BackupRepository for SqlRepository {
    async fn read_all(&self) -> Result<(Vec<User>, Vec<Admin>)> {
        let txn = self.db.begin().await.map_err(|e| db_error(e, "backup"))?;
        let user_rows = users::Entity::find()
            .order_by_asc(users::Column::Username)
            .all(&txn)
            .await
            .map_err(|e| db_error(e, "users"))?;
        let admin_rows = admins::Entity::find()
            .order_by_asc(admins::Column::Username)
            .all(&txn)
            .await
            .map_err(|e| db_error(e, "admins"))?;
        txn.commit().await.map_err(|e| db_error(e, "backup"))?;
        let users = user_rows
            .into_iter()
            .map(user_from_row)
            .collect::<Result<_>>()?;
        let admins = admin_rows
            .into_iter()
            .map(admin_from_row)
            .collect::<Result<_>>()?;
        Ok((users, admins))
    }

    /// Dropping the transaction without a commit (any `?` below) rolls it
    /// back.
    async fn write_batch(&self, batch: &RestoreBatch) -> Result<(Applied, Applied)> {
        let txn = self.db.begin().await.map_err(|e| db_error(e, "restore"))?;
        let mut users_applied = Applied::default();
        for user in &batch.users {
            write_user(&txn, user, batch.update_existing, &mut users_applied).await?;
        }
        let mut admins_applied = Applied::default();
        for admin in &batch.admins {
            write_admin(&txn, admin, batch.update_existing, &mut admins_applied).await?;
        }
        txn.commit().await.map_err(|e| db_error(e, "restore"))?;
        Ok((users_applied, admins_applied))
    }
}

async fn write_user(
    txn: &DatabaseTransaction,
    user: &User,
    update_existing: bool,
    applied: &mut Applied,
) -> Result<()> {
    let what = format!("user \"{}\"", user.username);
    let existing = users::Entity::find()
        .filter(users::Column::Username.eq(user.username.as_str()))
        .one(txn)
        .await
        .map_err(|e| db_error(e, &what))?;
    let mut row = user_to_row(user)?;
    match existing {
        None => {
            users::Entity::insert(row)
                .exec(txn)
                .await
                .map_err(|e| db_error(e, &what))?;
            applied.added.push(user.username.clone());
        }
        Some(_) if !update_existing => applied.kept.push(user.username.clone()),
        Some(_) => {
            // What the store owns stays as stored.
            row.username = NotSet;
            row.created_at = NotSet;
            row.last_login = NotSet;
            row.used_quota_size = NotSet;
            row.used_quota_files = NotSet;
            row.last_quota_update = NotSet;
            users::Entity::update_many()
                .set(row)
                .filter(users::Column::Username.eq(user.username.as_str()))
                .exec(txn)
                .await
                .map_err(|e| db_error(e, &what))?;
            applied.updated.push(user.username.clone());
        }
    }
    Ok(())
}

async fn write_admin(
    txn: &DatabaseTransaction,
    admin: &Admin,
    update_existing: bool,
    applied: &mut Applied,
) -> Result<()> {
    let what = format!("admin \"{}\"", admin.username);
    let existing = admins::Entity::find()
        .filter(admins::Column::Username.eq(admin.username.as_str()))
        .one(txn)
        .await
        .map_err(|e| db_error(e, &what))?;
    let mut row = admin_to_row(admin)?;
    match existing {
        None => {
            admins::Entity::insert(row)
                .exec(txn)
                .await
                .map_err(|e| db_error(e, &what))?;
            applied.added.push(admin.username.clone());
        }
        Some(_) if !update_existing => applied.kept.push(admin.username.clone()),
        Some(_) => {
            row.username = NotSet;
            row.created_at = NotSet;
            row.last_login = NotSet;
            admins::Entity::update_many()
                .set(row)
                .filter(admins::Column::Username.eq(admin.username.as_str()))
                .exec(txn)
                .await
                .map_err(|e| db_error(e, &what))?;
            applied.updated.push(admin.username.clone());
        }
    }
    Ok(())
}
