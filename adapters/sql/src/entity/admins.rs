//! The `admins` table.

use sea_orm::entity::prelude::*;

/// One stored REST API administrator.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "admins")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub username: String,
    pub status: i32,
    pub password_hash: String,
    pub email: String,
    pub description: String,
    /// JSON array of admin permission names.
    pub permissions: String,
    /// JSON object: SFTPGo's admin `filters`.
    pub filters: String,
    pub additional_info: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub last_login: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
