//! Folders kept in memory, with the core's rules reduced to validation and
//! conflicts.

use async_trait::async_trait;
use ferry_domain::{Error, Folder, FolderName, Result};
use ferry_ports::{AdminContext, FolderManagement, Page, SortOrder};
use std::collections::BTreeMap;
use std::sync::Mutex;

#[derive(Default)]
pub struct FakeFolders {
    folders: Mutex<BTreeMap<String, Folder>>,
}

impl FakeFolders {
    fn missing(name: &FolderName) -> Error {
        Error::not_found(format!("folder {:?} does not exist", name.as_str()))
    }
}

#[async_trait]
impl FolderManagement for FakeFolders {
    async fn list_folders(&self, page: Page) -> Result<Vec<Folder>> {
        let mut all: Vec<Folder> = self.folders.lock().unwrap().values().cloned().collect();
        if page.order == SortOrder::Desc {
            all.reverse();
        }
        let (skip, take) = (page.offset as usize, page.limit as usize);
        Ok(all.into_iter().skip(skip).take(take).collect())
    }

    async fn get_folder(&self, name: &FolderName) -> Result<Folder> {
        let folders = self.folders.lock().unwrap();
        folders
            .get(name.as_str())
            .cloned()
            .ok_or_else(|| Self::missing(name))
    }

    async fn create_folder(&self, _admin: &AdminContext, mut folder: Folder) -> Result<Folder> {
        folder.validate()?;
        let mut folders = self.folders.lock().unwrap();
        if folders.contains_key(folder.name.as_str()) {
            return Err(Error::conflict("the folder name is taken"));
        }
        folder.id = folders.len() as i64 + 1;
        folders.insert(folder.name.as_str().to_owned(), folder.clone());
        Ok(folder)
    }

    async fn update_folder(
        &self,
        _admin: &AdminContext,
        name: &FolderName,
        mut folder: Folder,
    ) -> Result<Folder> {
        folder.validate()?;
        let mut folders = self.folders.lock().unwrap();
        let old = folders
            .get(name.as_str())
            .ok_or_else(|| Self::missing(name))?;
        folder.id = old.id;
        folders.insert(name.as_str().to_owned(), folder.clone());
        Ok(folder)
    }

    async fn delete_folder(&self, _admin: &AdminContext, name: &FolderName) -> Result<()> {
        let mut folders = self.folders.lock().unwrap();
        folders
            .remove(name.as_str())
            .map(drop)
            .ok_or_else(|| Self::missing(name))
    }
}
