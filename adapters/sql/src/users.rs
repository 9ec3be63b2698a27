//! [`UserRepository`] on the `users` table, with each user's mounts in
//! `users_folders`.

use crate::SqlRepository;
use crate::codec::{user_from_row, user_to_row};
use crate::entity::users::{Column, Entity, Model};
use crate::error::{db_error, not_found};
use crate::mounts;
use async_trait::async_trait;
use ferry_domain::{QuotaUsage, Result, UsageMode, User, Username};
use ferry_ports::{Page, UserRepository};
use sea_orm::ActiveValue::NotSet;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    TransactionTrait,
};

fn what(username: &Username) -> String {
    format!("user \"{username}\"")
}

/// Decodes `rows` and adds each user's mounts.
pub(crate) async fn with_mounts<C: ConnectionTrait>(db: &C, rows: Vec<Model>) -> Result<Vec<User>> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut mounts = mounts::load(db, &ids).await?;
    rows.into_iter()
        .map(|row| {
            let mut user = user_from_row(row)?;
            user.virtual_folders = mounts.remove(&user.id).unwrap_or_default();
            Ok(user)
        })
        .collect()
}

#[async_trait]
impl UserRepository for SqlRepository {
    async fn list_users(&self, page: Page) -> Result<Vec<User>> {
        let rows = Entity::find()
            .order_by(Column::Username, crate::order(page.order))
            .offset(crate::bound(page.offset))
            .limit(crate::bound(page.limit))
            .all(&self.db)
            .await
            .map_err(|e| db_error(e, "users"))?;
        with_mounts(&self.db, rows).await
    }

    async fn get_user(&self, username: &Username) -> Result<User> {
        let row = Entity::find()
            .filter(Column::Username.eq(username.as_str()))
            .one(&self.db)
            .await
            .map_err(|e| db_error(e, &what(username)))?;
        let row = row.ok_or_else(|| not_found(&what(username)))?;
        let mut users = with_mounts(&self.db, vec![row]).await?;
        users.pop().ok_or_else(|| not_found(&what(username)))
    }

    /// The unique index on `username` decides a race between two creations:
    /// the loser's insert fails with a unique violation, mapped to `Conflict`.
    async fn create_user(&self, user: &User) -> Result<User> {
        let what = what(&user.username);
        let row = user_to_row(user)?;
        let txn = self.db.begin().await.map_err(|e| db_error(e, &what))?;
        let inserted = Entity::insert(row)
            .exec(&txn)
            .await
            .map_err(|e| db_error(e, &what))?;
        let id = inserted.last_insert_id;
        let virtual_folders = mounts::store(&txn, id, &user.virtual_folders).await?;
        txn.commit().await.map_err(|e| db_error(e, &what))?;
        Ok(User {
            id,
            virtual_folders,
            ..user.clone()
        })
    }

    // LIMITATION: the port asks for a full replacement, so an update also
    // writes back `used_quota_*`, `last_quota_update` and `last_login` as the
    // caller read them; a login or quota change landing between that read and
    // this write is lost. Once the port has atomic quota and login updates,
    // this statement should leave those columns alone.
    async fn update_user(&self, user: &User) -> Result<()> {
        let what = what(&user.username);
        let mut row = user_to_row(user)?;
        row.username = NotSet;
        let txn = self.db.begin().await.map_err(|e| db_error(e, &what))?;
        let id: Option<i64> = Entity::find()
            .select_only()
            .column(Column::Id)
            .filter(Column::Username.eq(user.username.as_str()))
            .into_tuple()
            .one(&txn)
            .await
            .map_err(|e| db_error(e, &what))?;
        let id = id.ok_or_else(|| not_found(&what))?;
        Entity::update_many()
            .set(row)
            .filter(Column::Id.eq(id))
            .exec(&txn)
            .await
            .map_err(|e| db_error(e, &what))?;
        mounts::store(&txn, id, &user.virtual_folders).await?;
        txn.commit().await.map_err(|e| db_error(e, &what))
    }

    /// The user's mounts go with it (the foreign key cascades).
    async fn delete_user(&self, username: &Username) -> Result<()> {
        let deleted = Entity::delete_many()
            .filter(Column::Username.eq(username.as_str()))
            .exec(&self.db)
            .await
            .map_err(|e| db_error(e, &what(username)))?;
        if deleted.rows_affected == 0 {
            return Err(not_found(&what(username)));
        }
        Ok(())
    }

    async fn update_user_usage(
        &self,
        username: &Username,
        mode: UsageMode,
        usage: QuotaUsage,
        at_ms: i64,
    ) -> Result<()> {
        let (size, files) = match mode {
            UsageMode::Reset => (Expr::value(usage.size), Expr::value(usage.files)),
            UsageMode::Add => (
                crate::added(Column::UsedQuotaSize, usage.size),
                crate::added(Column::UsedQuotaFiles, usage.files),
            ),
        };
        let updated = Entity::update_many()
            .col_expr(Column::UsedQuotaSize, size)
            .col_expr(Column::UsedQuotaFiles, files)
            .col_expr(Column::LastQuotaUpdate, Expr::value(at_ms))
            .filter(Column::Username.eq(username.as_str()))
            .exec(&self.db)
            .await
            .map_err(|e| db_error(e, &what(username)))?;
        if updated.rows_affected == 0 {
            return Err(not_found(&what(username)));
        }
        Ok(())
    }

    async fn set_user_last_login(&self, username: &Username, at_ms: i64) -> Result<()> {
        Entity::update_many()
            .col_expr(Column::LastLogin, Expr::value(at_ms))
            .filter(Column::Username.eq(username.as_str()))
            .exec(&self.db)
            .await
            .map_err(|e| db_error(e, &what(username)))?;
        Ok(())
    }
}
