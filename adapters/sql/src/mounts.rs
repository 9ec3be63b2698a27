//! Users' mounts of virtual folders: written with their user, in the same
//! transaction, and read back with their folders filled in.

use crate::codec::{folder_from_row, mount_from_row, mount_to_row};
use crate::entity::{folders, users, users_folders};
use crate::error::db_error;
use ferry_domain::{Error, Folder, FolderName, Result, Username, VirtualFolder};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use std::collections::HashMap;

const WHAT: &str = "virtual folders";

/// The error for a mount of a folder that does not exist.
pub fn missing_folder(name: &FolderName) -> Error {
    Error::invalid(format!("virtual folder {:?} does not exist", name.as_str()))
}

/// Every mount of the users `user_ids`, by user id, in stored order.
pub async fn load<C: ConnectionTrait>(
    db: &C,
    user_ids: &[i64],
) -> Result<HashMap<i64, Vec<VirtualFolder>>> {
    let mut by_user: HashMap<i64, Vec<VirtualFolder>> = HashMap::new();
    if user_ids.is_empty() {
        return Ok(by_user);
    }
    let rows = users_folders::Entity::find()
        .filter(users_folders::Column::UserId.is_in(user_ids.iter().copied()))
        .order_by_asc(users_folders::Column::Id)
        .all(db)
        .await
        .map_err(|e| db_error(e, WHAT))?;
    let folder_ids: Vec<i64> = rows.iter().map(|r| r.folder_id).collect();
    let folders = folders_by_id(db, &folder_ids).await?;
    for row in rows {
        let folder = folders
            .get(&row.folder_id)
            .cloned()
            .ok_or_else(|| Error::internal(format!("mount {} names no stored folder", row.id)))?;
        let user_id = row.user_id;
        let mount = mount_from_row(row, folder)?;
        by_user.entry(user_id).or_default().push(mount);
    }
    Ok(by_user)
}

async fn folders_by_id<C: ConnectionTrait>(db: &C, ids: &[i64]) -> Result<HashMap<i64, Folder>> {
    let rows = folders::Entity::find()
        .filter(folders::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await
        .map_err(|e| db_error(e, WHAT))?;
    rows.into_iter()
        .map(|row| folder_from_row(row).map(|f| (f.id, f)))
        .collect()
}

/// Replaces user `user_id`'s mounts with `mounts` and returns them with
/// their folders filled in; `InvalidInput` when one names a missing folder.
/// Run it inside the transaction that writes the user.
pub async fn store<C: ConnectionTrait>(
    db: &C,
    user_id: i64,
    mounts: &[VirtualFolder],
) -> Result<Vec<VirtualFolder>> {
    users_folders::Entity::delete_many()
        .filter(users_folders::Column::UserId.eq(user_id))
        .exec(db)
        .await
        .map_err(|e| db_error(e, WHAT))?;
    if mounts.is_empty() {
        return Ok(Vec::new());
    }
    let names: Vec<FolderName> = mounts.iter().map(|m| m.folder.name.clone()).collect();
    let found: HashMap<FolderName, Folder> = named(db, &names)
        .await?
        .into_iter()
        .map(|row| folder_from_row(row).map(|f| (f.name.clone(), f)))
        .collect::<Result<_>>()?;
    let mut stored = Vec::with_capacity(mounts.len());
    for mount in mounts {
        let folder = found
            .get(&mount.folder.name)
            .cloned()
            .ok_or_else(|| missing_folder(&mount.folder.name))?;
        stored.push(VirtualFolder {
            folder,
            ..mount.clone()
        });
    }
    let rows = stored.iter().map(|m| mount_to_row(user_id, m.folder.id, m));
    users_folders::Entity::insert_many(rows)
        .exec(db)
        .await
        .map_err(|e| db_error(e, WHAT))?;
    Ok(stored)
}

/// The rows of the stored folders among `names`, in name order.
pub async fn named<C: ConnectionTrait>(
    db: &C,
    names: &[FolderName],
) -> Result<Vec<folders::Model>> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    folders::Entity::find()
        .filter(folders::Column::Name.is_in(names.iter().map(FolderName::as_str)))
        .order_by_asc(folders::Column::Name)
        .all(db)
        .await
        .map_err(|e| db_error(e, WHAT))
}

/// The names of the users that mount each of `folder_ids`, in name order.
pub async fn users_of<C: ConnectionTrait>(
    db: &C,
    folder_ids: &[i64],
) -> Result<HashMap<i64, Vec<Username>>> {
    let mut by_folder: HashMap<i64, Vec<Username>> = HashMap::new();
    if folder_ids.is_empty() {
        return Ok(by_folder);
    }
    let pairs: Vec<(i64, i64)> = users_folders::Entity::find()
        .select_only()
        .column(users_folders::Column::FolderId)
        .column(users_folders::Column::UserId)
        .filter(users_folders::Column::FolderId.is_in(folder_ids.iter().copied()))
        .into_tuple()
        .all(db)
        .await
        .map_err(|e| db_error(e, WHAT))?;
    let user_ids: Vec<i64> = pairs.iter().map(|(_, user)| *user).collect();
    let names = usernames(db, &user_ids).await?;
    for (folder, user) in pairs {
        if let Some(name) = names.get(&user) {
            by_folder.entry(folder).or_default().push(name.clone());
        }
    }
    by_folder.values_mut().for_each(|users| users.sort());
    Ok(by_folder)
}

async fn usernames<C: ConnectionTrait>(db: &C, ids: &[i64]) -> Result<HashMap<i64, Username>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(i64, String)> = users::Entity::find()
        .select_only()
        .column(users::Column::Id)
        .column(users::Column::Username)
        .filter(users::Column::Id.is_in(ids.iter().copied()))
        .into_tuple()
        .all(db)
        .await
        .map_err(|e| db_error(e, WHAT))?;
    rows.into_iter()
        .map(|(id, name)| {
            Username::parse(&name)
                .map(|n| (id, n))
                .map_err(|e| Error::internal(format!("stored row {id} of table users: {e}")))
        })
        .collect()
}
