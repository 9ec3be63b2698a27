//! The `users` table.

use sea_orm::entity::prelude::*;

/// One stored SFTP user.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub username: String,
    pub status: i32,
    pub email: String,
    pub description: String,
    pub expiration_date: i64,
    pub password_hash: Option<String>,
    /// JSON array of OpenSSH public key lines.
    pub public_keys: String,
    pub home_dir: String,
    pub uid: i64,
    pub gid: i64,
    pub max_sessions: i64,
    pub quota_size: i64,
    pub quota_files: i64,
    /// JSON object: virtual directory to permission list.
    pub permissions: String,
    pub used_quota_size: i64,
    pub used_quota_files: i64,
    pub last_quota_update: i64,
    pub upload_bandwidth: i64,
    pub download_bandwidth: i64,
    /// JSON object: SFTPGo's user `filters`.
    pub filters: String,
    /// JSON object: SFTPGo's `filesystem`.
    pub filesystem: String,
    pub additional_info: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub last_login: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
