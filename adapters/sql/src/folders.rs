//! [`FolderRepository`] on the `folders` table; a folder's users come from
//! the mounts in `users_folders`.

use crate::SqlRepository;
use crate::codec::{folder_from_row, folder_to_row};
use crate::entity::folders::{Column, Entity, Model};
use crate::error::{db_error, not_found};
use crate::mounts;
use async_trait::async_trait;
use ferry_domain::{Folder, FolderName, QuotaUsage, Result, UsageMode};
use ferry_ports::{FolderRepository, Page};
use sea_orm::ActiveValue::NotSet;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

fn what(name: &FolderName) -> String {
    format!("folder \"{name}\"")
}

/// Decodes `rows` and adds each folder's users.
pub(crate) async fn with_users<C: ConnectionTrait>(
    db: &C,
    rows: Vec<Model>,
) -> Result<Vec<Folder>> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut users = mounts::users_of(db, &ids).await?;
    rows.into_iter()
        .map(|row| {
            let mut folder = folder_from_row(row)?;
            folder.users = users.remove(&folder.id).unwrap_or_default();
            Ok(folder)
        })
        .collect()
}

#[async_trait]
impl FolderRepository for SqlRepository {
    async fn list_folders(&self, page: Page) -> Result<Vec<Folder>> {
        let rows = Entity::find()
            .order_by(Column::Name, crate::order(page.order))
            .offset(crate::bound(page.offset))
            .limit(crate::bound(page.limit))
            .all(&self.db)
            .await
            .map_err(|e| db_error(e, "folders"))?;
        with_users(&self.db, rows).await
    }

    async fn get_folder(&self, name: &FolderName) -> Result<Folder> {
        let row = Entity::find()
            .filter(Column::Name.eq(name.as_str()))
            .one(&self.db)
            .await
            .map_err(|e| db_error(e, &what(name)))?;
        let row = row.ok_or_else(|| not_found(&what(name)))?;
        let mut folders = with_users(&self.db, vec![row]).await?;
        folders.pop().ok_or_else(|| not_found(&what(name)))
    }

    async fn folders_named(&self, names: &[FolderName]) -> Result<Vec<Folder>> {
        let rows = mounts::named(&self.db, names).await?;
        with_users(&self.db, rows).await
    }

    /// The unique index on `name` decides a race between two creations.
    async fn create_folder(&self, folder: &Folder) -> Result<Folder> {
        let inserted = Entity::insert(folder_to_row(folder)?)
            .exec(&self.db)
            .await
            .map_err(|e| db_error(e, &what(&folder.name)))?;
        Ok(Folder {
            id: inserted.last_insert_id,
            users: Vec::new(),
            ..folder.clone()
        })
    }

    async fn update_folder(&self, folder: &Folder) -> Result<()> {
        let what = what(&folder.name);
        let mut row = folder_to_row(folder)?;
        row.name = NotSet;
        // Counted by lookup, not by the rows the update reports: MySQL
        // reports 0 for a row stored with identical values.
        let id: Option<i64> = Entity::find()
            .select_only()
            .column(Column::Id)
            .filter(Column::Name.eq(folder.name.as_str()))
            .into_tuple()
            .one(&self.db)
            .await
            .map_err(|e| db_error(e, &what))?;
        let id = id.ok_or_else(|| not_found(&what))?;
        Entity::update_many()
            .set(row)
            .filter(Column::Id.eq(id))
            .exec(&self.db)
            .await
            .map_err(|e| db_error(e, &what))?;
        Ok(())
    }

    /// Every mount of the folder goes with it (the foreign key cascades).
    async fn delete_folder(&self, name: &FolderName) -> Result<()> {
        let deleted = Entity::delete_many()
            .filter(Column::Name.eq(name.as_str()))
            .exec(&self.db)
            .await
            .map_err(|e| db_error(e, &what(name)))?;
        if deleted.rows_affected == 0 {
            return Err(not_found(&what(name)));
        }
        Ok(())
    }

    async fn update_folder_usage(
        &self,
        name: &FolderName,
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
            .filter(Column::Name.eq(name.as_str()))
            .exec(&self.db)
            .await
            .map_err(|e| db_error(e, &what(name)))?;
        if updated.rows_affected == 0 {
            return Err(not_found(&what(name)));
        }
        Ok(())
    }
}
