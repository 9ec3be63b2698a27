//! Virtual folders: management through the API.

use super::filesystems::FilesystemRules;
use async_trait::async_trait;
use ferry_domain::{ErrorKind, Folder, FolderName, Result};
use ferry_ports::{AdminContext, FolderManagement, FolderRepository, Page};
use std::sync::Arc;

/// The folder use cases: [`FolderManagement`] for admins.
pub struct Folders<R> {
    repo: Arc<R>,
    filesystems: FilesystemRules,
}

impl<R: FolderRepository> Folders<R> {
    pub fn new(repo: Arc<R>, filesystems: FilesystemRules) -> Self {
        Self { repo, filesystems }
    }

    /// Validates `folder` and settles its filesystem against what is stored
    /// under its name, for a create, an update or a restore.
    pub(crate) async fn prepare(&self, mut folder: Folder) -> Result<Folder> {
        folder.validate()?;
        let stored = match self.repo.get_folder(&folder.name).await {
            Ok(stored) => Some(stored.filesystem),
            Err(e) if e.kind() == ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        let context = format!("folder:{}", folder.name);
        self.filesystems.settle(
            &mut folder.filesystem,
            stored.as_ref(),
            &context,
            &folder.mapped_path,
        )?;
        Ok(folder)
    }
}

#[async_trait]
impl<R: FolderRepository> FolderManagement for Folders<R> {
    async fn list_folders(&self, page: Page) -> Result<Vec<Folder>> {
        self.repo.list_folders(page).await
    }

    async fn get_folder(&self, name: &FolderName) -> Result<Folder> {
        self.repo.get_folder(name).await
    }

    async fn create_folder(&self, admin: &AdminContext, mut folder: Folder) -> Result<Folder> {
        folder.id = 0;
        folder.used_quota_size = 0;
        folder.used_quota_files = 0;
        folder.last_quota_update = 0;
        folder.users = Vec::new();
        let folder = self.prepare(folder).await?;
        let created = self.repo.create_folder(&folder).await?;
        tracing::info!(admin = %admin.username, folder = %created.name, "folder created");
        Ok(created)
    }

    async fn update_folder(
        &self,
        admin: &AdminContext,
        name: &FolderName,
        mut folder: Folder,
    ) -> Result<Folder> {
        let existing = self.repo.get_folder(name).await?;
        folder.id = existing.id;
        folder.name = existing.name;
        folder.used_quota_size = existing.used_quota_size;
        folder.used_quota_files = existing.used_quota_files;
        folder.last_quota_update = existing.last_quota_update;
        folder.users = existing.users;
        let folder = self.prepare(folder).await?;
        self.repo.update_folder(&folder).await?;
        tracing::info!(admin = %admin.username, folder = %folder.name, "folder updated");
        Ok(folder)
    }

    async fn delete_folder(&self, admin: &AdminContext, name: &FolderName) -> Result<()> {
        self.repo.delete_folder(name).await?;
        tracing::info!(admin = %admin.username, folder = %name, "folder deleted");
        Ok(())
    }
}
