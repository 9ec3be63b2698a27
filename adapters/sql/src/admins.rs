//! [`AdminRepository`] on the `admins` table.

use crate::SqlRepository;
use crate::codec::{admin_from_row, admin_to_row};
use crate::entity::admins::{Column, Entity};
use crate::error::{db_error, not_found};
use async_trait::async_trait;
use ferry_domain::{Admin, Result, Username};
use ferry_ports::{AdminRepository, Page};
use sea_orm::ActiveValue::NotSet;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};

fn what(username: &Username) -> String {
    format!("admin \"{username}\"")
}

#[async_trait]
impl AdminRepository for SqlRepository {
    async fn list_admins(&self, page: Page) -> Result<Vec<Admin>> {
        let rows = Entity::find()
            .order_by(Column::Username, crate::order(page.order))
            .offset(crate::bound(page.offset))
            .limit(crate::bound(page.limit))
            .all(&self.db)
            .await
            .map_err(|e| db_error(e, "admins"))?;
        rows.into_iter().map(admin_from_row).collect()
    }

    async fn get_admin(&self, username: &Username) -> Result<Admin> {
        let row = Entity::find()
            .filter(Column::Username.eq(username.as_str()))
            .one(&self.db)
            .await
            .map_err(|e| db_error(e, &what(username)))?;
        row.map_or_else(|| Err(not_found(&what(username))), admin_from_row)
    }

    /// The unique index on `username` decides a race between two creations:
    /// the loser's insert fails with a unique violation, mapped to `Conflict`.
    async fn create_admin(&self, admin: &Admin) -> Result<Admin> {
        let row = admin_to_row(admin)?;
        let inserted = Entity::insert(row)
            .exec(&self.db)
            .await
            .map_err(|e| db_error(e, &what(&admin.username)))?;
        Ok(Admin {
            id: inserted.last_insert_id,
            ..admin.clone()
        })
    }

    async fn update_admin(&self, admin: &Admin) -> Result<()> {
        let mut row = admin_to_row(admin)?;
        row.username = NotSet;
        let updated = Entity::update_many()
            .set(row)
            .filter(Column::Username.eq(admin.username.as_str()))
            .exec(&self.db)
            .await
            .map_err(|e| db_error(e, &what(&admin.username)))?;
        if updated.rows_affected == 0 {
            return Err(not_found(&what(&admin.username)));
        }
        Ok(())
    }

    async fn delete_admin(&self, username: &Username) -> Result<()> {
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

    async fn count_admins(&self) -> Result<u64> {
        Entity::find()
            .count(&self.db)
            .await
            .map_err(|e| db_error(e, "admins"))
    }

    async fn set_admin_last_login(&self, username: &Username, at_ms: i64) -> Result<()> {
        Entity::update_many()
            .col_expr(Column::LastLogin, Expr::value(at_ms))
            .filter(Column::Username.eq(username.as_str()))
            .exec(&self.db)
            .await
            .map_err(|e| db_error(e, &what(username)))?;
        Ok(())
    }
}
