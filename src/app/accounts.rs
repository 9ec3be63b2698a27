//! SFTP users: management through the API and login over SSH.

use super::connections::ConnectionRegistry;
use super::file_session::{SetstatMode, UserFileSession};
use super::filesystems::FilesystemRules;
use super::hashing;
use super::storages::Storages;
use async_trait::async_trait;
use ferry_domain::{Error, ErrorKind, FilesystemConfig, FolderName, Result, User, Username};
use ferry_ports::{
    AdminContext, ClientInfo, Clock, FileSession, FolderRepository, Login, Page, PasswordHasher,
    SshKey, UserInput, UserManagement, UserRepository,
};
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::OnceCell;

/// What account management needs from the configuration.
#[derive(Debug, Clone)]
pub struct AccountsSettings {
    /// Users without a `home_dir` get `<users_base_dir>/<username>`.
    pub users_base_dir: PathBuf,
    /// What clients' mode, owner and time changes do.
    pub setstat_mode: SetstatMode,
}

/// The user use cases: [`UserManagement`] for admins, [`Login`] for SSH.
pub struct Accounts<R, H> {
    repo: Arc<R>,
    hasher: Arc<H>,
    filesystems: FilesystemRules,
    clock: Arc<dyn Clock>,
    settings: AccountsSettings,
    /// Where every opened file session is shown as a live connection.
    connections: Arc<ConnectionRegistry>,
    /// Verified against when the user is unknown, so that a refusal takes
    /// the same time whether or not the account exists.
    decoy_hash: OnceCell<String>,
}

/// How an SSH client proved who it is.
enum Credential<'a> {
    Password(&'a str),
    Key(&'a SshKey),
}

impl Credential<'_> {
    fn method(&self) -> &'static str {
        match self {
            Credential::Password(_) => "password",
            Credential::Key(_) => "publickey",
        }
    }
}

impl<R: UserRepository + FolderRepository, H: PasswordHasher> Accounts<R, H> {
    pub fn new(
        repo: Arc<R>,
        hasher: Arc<H>,
        filesystems: FilesystemRules,
        clock: Arc<dyn Clock>,
        settings: AccountsSettings,
        connections: Arc<ConnectionRegistry>,
    ) -> Self {
        Self {
            repo,
            hasher,
            filesystems,
            clock,
            settings,
            connections,
            decoy_hash: OnceCell::new(),
        }
    }

    fn default_home(&self, username: &Username) -> Result<String> {
        let home = self.settings.users_base_dir.join(username.as_str());
        home.to_str()
            .map(str::to_owned)
            .ok_or_else(|| Error::internal("the users base directory is not valid UTF-8"))
    }

    async fn decoy_verify(&self, password: &str) {
        let decoy = self
            .decoy_hash
            .get_or_try_init(|| hashing::hash(&self.hasher, "decoy password never matches"))
            .await;
        if let Ok(decoy) = decoy {
            hashing::verify(&self.hasher, password, decoy).await;
        }
    }

    /// Checks a credential; every refusal is the same `NotAuthenticated`, and
    /// the reason goes to the log only.
    async fn authenticate(
        &self,
        username: &str,
        credential: Credential<'_>,
        client: &ClientInfo,
    ) -> Result<User> {
        let refuse = |reason: &str| {
            tracing::info!(user = username, remote = %client.remote, method = credential.method(),
                reason, "login refused");
            Error::not_authenticated("authentication failed")
        };
        let user = match Username::parse(username) {
            Ok(name) => match self.repo.get_user(&name).await {
                Ok(user) => Some(user),
                Err(e) if e.kind() == ErrorKind::NotFound => None,
                Err(e) => return Err(e),
            },
            Err(_) => None,
        };
        let Some(user) = user else {
            if let Credential::Password(password) = credential {
                self.decoy_verify(password).await;
            }
            return Err(refuse("unknown user"));
        };
        let proved = match credential {
            Credential::Password(password) => match &user.password_hash {
                Some(stored) => hashing::verify(&self.hasher, password, stored).await,
                None => false,
            },
            Credential::Key(key) => user.has_public_key(&key.algorithm, &key.blob_base64),
        };
        if !proved {
            return Err(refuse("wrong credentials"));
        }
        if let Some(reason) = user.login_refusal(self.clock.now_ms()) {
            return Err(refuse(reason));
        }
        if !user.filters.allows_ip(client.remote.ip()) {
            return Err(refuse("client IP not allowed for this user"));
        }
        if user.filters.denies_login_method(credential.method()) {
            return Err(refuse("login method denied for this user"));
        }
        if user.filters.denied_protocols.iter().any(|p| p == "SSH") {
            return Err(refuse("protocol SSH denied for this user"));
        }
        Ok(user)
    }

    async fn open_session(&self, user: User, client: &ClientInfo) -> Result<Arc<dyn FileSession>> {
        let storages = Storages::open(self.filesystems.storage().as_ref(), &user).await?;
        if let Err(e) = self
            .repo
            .set_user_last_login(&user.username, self.clock.now_ms())
            .await
        {
            tracing::warn!(user = %user.username, error = %e, "cannot record the login time");
        }
        tracing::info!(user = %user.username, remote = %client.remote, "login");
        let live = self.connections.register(user.username.as_str(), client);
        let session = UserFileSession::registered(user, storages, live)
            .with_setstat_mode(self.settings.setstat_mode);
        Ok(Arc::new(session))
    }

    /// Applies the rules every stored user obeys: defaults, hashed password,
    /// validation.
    async fn prepare(&self, user: User, password: Option<String>) -> Result<User> {
        let user = self.prepare_alone(user, password).await?;
        self.check_folders_exist(&user).await?;
        Ok(user)
    }

    /// [`prepare`](Self::prepare) without the check that the mounted
    /// folders are stored, for a restore that brings its own folders.
    pub(crate) async fn prepare_alone(
        &self,
        mut user: User,
        password: Option<String>,
    ) -> Result<User> {
        if user.home_dir.is_empty() {
            user.home_dir = self.default_home(&user.username)?;
        }
        if let Some(password) = password.filter(|p| !p.is_empty()) {
            user.password_hash = Some(hashing::hash(&self.hasher, &password).await?);
        }
        user.updated_at = self.clock.now_ms();
        user.validate()?;
        let stored = match user.filesystem.is_object_storage() {
            true => self.stored_filesystem(&user.username).await?,
            false => None,
        };
        let context = format!("user:{}", user.username);
        self.filesystems.settle(
            &mut user.filesystem,
            stored.as_ref(),
            &context,
            &user.home_dir,
        )?;
        Ok(user)
    }

    /// The filesystem stored for `username`, if the user exists.
    async fn stored_filesystem(&self, username: &Username) -> Result<Option<FilesystemConfig>> {
        match self.repo.get_user(username).await {
            Ok(user) => Ok(Some(user.filesystem)),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Every mount names a stored folder. The repository checks again as it
    /// writes, so a folder deleted in between is caught too.
    async fn check_folders_exist(&self, user: &User) -> Result<()> {
        let names: Vec<FolderName> = user
            .virtual_folders
            .iter()
            .map(|m| m.folder.name.clone())
            .collect();
        let found = self.repo.folders_named(&names).await?;
        match names.iter().find(|n| !found.iter().any(|f| &f.name == *n)) {
            Some(missing) => Err(Error::invalid(format!(
                "virtual folder {:?} does not exist",
                missing.as_str()
            ))),
            None => Ok(()),
        }
    }
}

#[async_trait]
impl<R: UserRepository + FolderRepository, H: PasswordHasher> UserManagement for Accounts<R, H> {
    async fn list_users(&self, page: Page) -> Result<Vec<User>> {
        self.repo.list_users(page).await
    }

    async fn get_user(&self, username: &Username) -> Result<User> {
        self.repo.get_user(username).await
    }

    async fn create_user(&self, admin: &AdminContext, input: UserInput) -> Result<User> {
        let mut user = input.user;
        user.id = 0;
        user.password_hash = None;
        user.used_quota_size = 0;
        user.used_quota_files = 0;
        user.last_quota_update = 0;
        user.last_login = 0;
        user.created_at = self.clock.now_ms();
        let user = self.prepare(user, input.password).await?;
        let created = self.repo.create_user(&user).await?;
        tracing::info!(admin = %admin.username, user = %created.username, "user created");
        Ok(created)
    }

    async fn update_user(
        &self,
        admin: &AdminContext,
        username: &Username,
        input: UserInput,
    ) -> Result<User> {
        let existing = self.repo.get_user(username).await?;
        let mut user = input.user;
        user.id = existing.id;
        user.username = existing.username.clone();
        user.password_hash = existing.password_hash.clone();
        user.created_at = existing.created_at;
        user.used_quota_size = existing.used_quota_size;
        user.used_quota_files = existing.used_quota_files;
        user.last_quota_update = existing.last_quota_update;
        user.last_login = existing.last_login;
        let user = self.prepare(user, input.password).await?;
        self.repo.update_user(&user).await?;
        tracing::info!(admin = %admin.username, user = %user.username, "user updated");
        self.repo.get_user(&user.username).await
    }

    async fn delete_user(&self, admin: &AdminContext, username: &Username) -> Result<()> {
        self.repo.delete_user(username).await?;
        tracing::info!(admin = %admin.username, user = %username, "user deleted");
        Ok(())
    }
}

#[async_trait]
impl<R: UserRepository + FolderRepository, H: PasswordHasher> Login for Accounts<R, H> {
    async fn login_password(
        &self,
        username: &str,
        password: &str,
        client: &ClientInfo,
    ) -> Result<Arc<dyn FileSession>> {
        let user = self
            .authenticate(username, Credential::Password(password), client)
            .await?;
        self.open_session(user, client).await
    }

    async fn accepts_public_key(&self, username: &str, key: &SshKey, client: &ClientInfo) -> bool {
        self.authenticate(username, Credential::Key(key), client)
            .await
            .is_ok()
    }

    async fn login_public_key(
        &self,
        username: &str,
        key: &SshKey,
        client: &ClientInfo,
    ) -> Result<Arc<dyn FileSession>> {
        let user = self
            .authenticate(username, Credential::Key(key), client)
            .await?;
        self.open_session(user, client).await
    }
}
