//! The `users_folders` table: one row per mount of a folder in a user's view.

use sea_orm::entity::prelude::*;

/// One stored mount.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users_folders")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub user_id: i64,
    pub folder_id: i64,
    pub virtual_path: String,
    pub quota_size: i64,
    pub quota_files: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
