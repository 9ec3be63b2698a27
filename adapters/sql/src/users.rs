//! [`UserRepository`] on the `users` table.

use crate::SqlRepository;
use crate::codec::{user_from_row, user_to_row};
use crate::entity::users::{Column, Entity};
use crate::error::{db_error, not_found};
use async_trait::async_trait;
use ferry_domain::{QuotaUsage, Result, UsageMode, User, Username};
use ferry_ports::{Page, UserRepository};
use sea_orm::ActiveValue::NotSet;
use sea_orm::sea_query::{Expr, ExprTrait, SimpleExpr};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

fn what(username: &Username) -> String {
    format!("user \"{username}\"")
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
        rows.into_iter().map(user_from_row).collect()
    }

    async fn get_user(&self, username: &Username) -> Result<User> {
        let row = Entity::find()
            .filter(Column::Username.eq(username.as_str()))
            .one(&self.db)
            .await
            .map_err(|e| db_error(e, &what(username)))?;
        row.map_or_else(|| Err(not_found(&what(username))), user_from_row)
    }

    /// The unique index on `username` decides a race between two creations:
    /// the loser's insert fails with a unique violation, mapped to `Conflict`.
    async fn create_user(&self, user: &User) -> Result<User> {
        let row = user_to_row(user)?;
        let inserted = Entity::insert(row)
            .exec(&self.db)
            .await
            .map_err(|e| db_error(e, &what(&user.username)))?;
        Ok(User {
            id: inserted.last_insert_id,
            ..user.clone()
        })
    }

    // LIMITATION: the port asks for a full replacement, so an update also
    // writes back `used_quota_*`, `last_quota_update` and `last_login` as the
    // caller read them; a login or quota change landing between that read and
    // this write is lost. Once the port has atomic quota and login updates,
    // this statement should leave those columns alone.
    async fn update_user(&self, user: &User) -> Result<()> {
        let mut row = user_to_row(user)?;
        row.username = NotSet;
        let updated = Entity::update_many()
            .set(row)
            .filter(Column::Username.eq(user.username.as_str()))
            .exec(&self.db)
            .await
            .map_err(|e| db_error(e, &what(&user.username)))?;
        if updated.rows_affected == 0 {
            return Err(not_found(&what(&user.username)));
        }
        Ok(())
    }

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
                added(Column::UsedQuotaSize, usage.size),
                added(Column::UsedQuotaFiles, usage.files),
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

/// `column + delta`, computed by the database and never below zero.
pub(crate) fn added(column: Column, delta: i64) -> SimpleExpr {
    let sum = Expr::col(column).add(delta);
    Expr::case(sum.clone().lt(0), 0).finally(sum).into()
}
