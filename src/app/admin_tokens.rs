//! Admin tokens: Basic credentials in, a signed short-lived token out; tokens
//! checked on every request and revocable until they expire.

use super::hashing;
use async_trait::async_trait;
use ferry_domain::{Admin, AdminPermission, Error, ErrorKind, Result, UserStatus, Username};
use ferry_ports::{
    AdminContext, AdminRepository, AdminSessions, Clock, IssuedToken, PasswordHasher, TokenClaims,
    TokenRevocations, TokenSigner,
};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// The admin token use cases.
pub struct AdminTokens<A, H, S> {
    repo: Arc<A>,
    hasher: Arc<H>,
    signer: S,
    clock: Arc<dyn Clock>,
    lifetime: Duration,
    /// Tokens logged out before their expiry. A logout holds wherever this
    /// list is seen: with the in-memory list `serve` builds, in this process
    /// only (see the LIMITATION on `ferry_auth::MemoryRevocations`).
    revoked: Arc<dyn TokenRevocations>,
}

fn refused() -> Error {
    Error::not_authenticated("invalid credentials")
}

/// How long a refused admin login waits before it is answered, so that
/// guessing passwords is slow, and an unknown name answers as late as a
/// wrong password.
const REFUSAL_DELAY: Duration = Duration::from_secs(1);

async fn slow_refusal() -> Error {
    tokio::time::sleep(REFUSAL_DELAY).await;
    refused()
}

impl<A: AdminRepository, H: PasswordHasher, S: TokenSigner> AdminTokens<A, H, S> {
    /// Tokens signed by `signer` live `lifetime`; `revoked` lists the ones
    /// logged out before that.
    pub fn new(
        repo: Arc<A>,
        hasher: Arc<H>,
        signer: S,
        clock: Arc<dyn Clock>,
        lifetime: Duration,
        revoked: Arc<dyn TokenRevocations>,
    ) -> Self {
        Self {
            repo,
            hasher,
            signer,
            clock,
            lifetime,
            revoked,
        }
    }

    /// Creates the first admin when there is none, so a new install can be
    /// managed at all. Returns true when it did.
    pub async fn ensure_default_admin(&self, username: &str, password: &str) -> Result<bool> {
        if self.repo.count_admins().await? > 0 {
            return Ok(false);
        }
        let now = self.clock.now_ms();
        let admin = Admin {
            id: 0,
            status: UserStatus::Enabled,
            username: Username::parse(username)?,
            password_hash: hashing::hash(&self.hasher, password).await?,
            email: String::new(),
            description: "created at first start".into(),
            permissions: vec![AdminPermission::All],
            filters: Default::default(),
            additional_info: String::new(),
            created_at: now,
            updated_at: now,
            last_login: 0,
        };
        self.repo.create_admin(&admin).await?;
        Ok(true)
    }

    async fn find_admin(&self, username: &str) -> Result<Option<Admin>> {
        let Ok(name) = Username::parse(username) else {
            return Ok(None);
        };
        match self.repo.get_admin(&name).await {
            Ok(admin) => Ok(Some(admin)),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }
}

fn new_token_id() -> String {
    let bytes: [u8; 16] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[async_trait]
impl<A: AdminRepository, H: PasswordHasher, S: TokenSigner> AdminSessions for AdminTokens<A, H, S> {
    async fn issue_token(
        &self,
        username: &str,
        password: &str,
        client: SocketAddr,
    ) -> Result<IssuedToken> {
        let admin = match self.find_admin(username).await? {
            Some(admin) if hashing::verify(&self.hasher, password, &admin.password_hash).await => {
                admin
            }
            _ => {
                tracing::info!(admin = username, remote = %client, "admin login refused");
                return Err(slow_refusal().await);
            }
        };
        if admin.status == UserStatus::Disabled || !admin.allows_ip(client.ip()) {
            tracing::info!(admin = username, remote = %client, "admin login refused: disabled \
                or outside its allow list");
            return Err(slow_refusal().await);
        }
        let now_ms = self.clock.now_ms();
        let now = now_ms / 1000;
        let claims = TokenClaims {
            subject: admin.username.to_string(),
            token_id: new_token_id(),
            issued_at: now,
            expires_at: now + self.lifetime.as_secs() as i64,
        };
        let access_token = self.signer.sign(&claims)?;
        if let Err(e) = self
            .repo
            .set_admin_last_login(&admin.username, now_ms)
            .await
        {
            tracing::warn!(admin = %admin.username, error = %e, "cannot record the login time");
        }
        Ok(IssuedToken {
            access_token,
            expires_at: claims.expires_at,
        })
    }

    async fn authenticate(&self, token: &str, client: SocketAddr) -> Result<AdminContext> {
        let now = self.clock.now_ms() / 1000;
        let claims = self.signer.verify(token, now)?;
        if self.revoked.is_revoked(&claims.token_id, now).await? {
            return Err(Error::not_authenticated("token revoked"));
        }
        let admin = self
            .find_admin(&claims.subject)
            .await?
            .filter(|a| a.status == UserStatus::Enabled)
            .ok_or_else(|| Error::not_authenticated("invalid token"))?;
        if !admin.allows_ip(client.ip()) {
            return Err(Error::permission_denied(
                "the client IP is not allowed for this admin",
            ));
        }
        Ok(AdminContext {
            username: admin.username,
            permissions: admin.permissions,
            token_id: claims.token_id,
            token_expires_at: claims.expires_at,
        })
    }

    async fn revoke(&self, admin: &AdminContext) -> Result<()> {
        self.revoked
            .revoke(&admin.token_id, admin.token_expires_at)
            .await
    }
}
