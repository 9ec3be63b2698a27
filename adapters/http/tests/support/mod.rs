//! In-memory fakes of the inbound ports and a small harness around
//! `warp::test`.
#![allow(dead_code)]

mod admins;
mod backups;
pub mod connections;
mod folders;
mod health;
pub mod quotas;

pub use admins::FakeAdmins;
pub use backups::FakeBackups;
pub use connections::FakeConnections;
pub use folders::FakeFolders;
pub use health::FakeHealth;
pub use quotas::FakeQuotas;

use async_trait::async_trait;
use ferry_domain::{AdminPermission, Error, Result, User, Username};
use ferry_http::{ApiServices, HttpSettings};
use ferry_ports::{
    AdminContext, AdminSessions, IssuedToken, Page, SortOrder, UserInput, UserManagement,
};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use warp::Filter;
use warp::http::{HeaderMap, StatusCode};
use warp::reply::Response;

/// The only admin the fake knows: `root` / `secret`, with `*`.
pub const ADMIN: &str = "root";
pub const ADMIN_PASSWORD: &str = "secret";
/// `expires_at` of every issued token: 2023-11-14T22:13:20Z.
pub const TOKEN_EXPIRY: i64 = 1_700_000_000;
/// A token whose admin may only connect from 10.0.0.1.
pub const IP_BOUND_TOKEN: &str = "ip-bound";
/// The username whose lookup fails inside the fake with a secret detail.
pub const BROKEN_USER: &str = "broken";
pub const SECRET_DETAIL: &str = "db-password-hunter2";

/// Admin tokens kept in memory.
#[derive(Default)]
pub struct FakeSessions {
    tokens: Mutex<HashMap<String, (AdminContext, Option<IpAddr>)>>,
    revoked: Mutex<HashSet<String>>,
    next: Mutex<u64>,
    /// Every client address the port was given, in order.
    pub peers: Mutex<Vec<SocketAddr>>,
}

impl FakeSessions {
    /// Registers `token` for an admin holding exactly `permissions`.
    pub fn grant(&self, token: &str, permissions: Vec<AdminPermission>) {
        self.insert(token, permissions, None);
    }

    fn insert(&self, token: &str, permissions: Vec<AdminPermission>, ip: Option<IpAddr>) {
        let admin = AdminContext {
            username: Username::parse(ADMIN).unwrap(),
            permissions,
            token_id: token.to_owned(),
            token_expires_at: TOKEN_EXPIRY,
        };
        self.tokens
            .lock()
            .unwrap()
            .insert(token.to_owned(), (admin, ip));
    }
}

#[async_trait]
impl AdminSessions for FakeSessions {
    async fn issue_token(
        &self,
        username: &str,
        password: &str,
        client: SocketAddr,
    ) -> Result<IssuedToken> {
        self.peers.lock().unwrap().push(client);
        if username != ADMIN || password != ADMIN_PASSWORD {
            return Err(Error::not_authenticated("invalid credentials"));
        }
        let token = {
            let mut next = self.next.lock().unwrap();
            *next += 1;
            format!("token-{next}")
        };
        self.insert(&token, vec![AdminPermission::All], None);
        Ok(IssuedToken {
            access_token: token,
            expires_at: TOKEN_EXPIRY,
        })
    }

    async fn authenticate(&self, token: &str, client: SocketAddr) -> Result<AdminContext> {
        self.peers.lock().unwrap().push(client);
        if self.revoked.lock().unwrap().contains(token) {
            return Err(Error::not_authenticated("token revoked"));
        }
        let (admin, ip) = self
            .tokens
            .lock()
            .unwrap()
            .get(token)
            .cloned()
            .ok_or_else(|| Error::not_authenticated("invalid token"))?;
        if ip.is_some_and(|ip| ip != client.ip()) {
            return Err(Error::permission_denied(
                "login from this IP is not allowed",
            ));
        }
        Ok(admin)
    }

    async fn revoke(&self, admin: &AdminContext) -> Result<()> {
        self.revoked.lock().unwrap().insert(admin.token_id.clone());
        Ok(())
    }
}

/// Users kept in memory, with the core's rules reduced to what the API
/// tests need: default home, password "hashing", validation, conflicts.
#[derive(Default)]
pub struct FakeUsers {
    users: Mutex<BTreeMap<String, User>>,
    /// The last page asked for.
    pub last_page: Mutex<Option<Page>>,
}

impl FakeUsers {
    pub fn stored(&self, name: &str) -> Option<User> {
        self.users.lock().unwrap().get(name).cloned()
    }
}

#[async_trait]
impl UserManagement for FakeUsers {
    async fn list_users(&self, page: Page) -> Result<Vec<User>> {
        *self.last_page.lock().unwrap() = Some(page);
        let users = self.users.lock().unwrap();
        let mut all: Vec<User> = users.values().cloned().collect();
        if page.order == SortOrder::Desc {
            all.reverse();
        }
        Ok(all
            .into_iter()
            .skip(page.offset as usize)
            .take(page.limit as usize)
            .collect())
    }

    async fn get_user(&self, username: &Username) -> Result<User> {
        if username.as_str() == BROKEN_USER {
            return Err(Error::internal(SECRET_DETAIL));
        }
        self.stored(username.as_str())
            .ok_or_else(|| Error::not_found(format!("user {:?} does not exist", username.as_str())))
    }

    async fn create_user(&self, _admin: &AdminContext, input: UserInput) -> Result<User> {
        let mut user = complete(input)?;
        let mut users = self.users.lock().unwrap();
        if users.contains_key(user.username.as_str()) {
            return Err(Error::conflict("the username is taken"));
        }
        user.id = users.len() as i64 + 1;
        user.created_at = 1;
        users.insert(user.username.as_str().to_owned(), user.clone());
        Ok(user)
    }

    async fn update_user(
        &self,
        _admin: &AdminContext,
        username: &Username,
        input: UserInput,
    ) -> Result<User> {
        let mut users = self.users.lock().unwrap();
        let old = users
            .get(username.as_str())
            .cloned()
            .ok_or_else(|| Error::not_found("no such user"))?;
        let keep_password = input.password.is_none();
        let mut user = complete(input)?;
        user.id = old.id;
        user.created_at = old.created_at;
        if keep_password {
            user.password_hash = old.password_hash;
        }
        users.insert(username.as_str().to_owned(), user.clone());
        Ok(user)
    }

    async fn delete_user(&self, _admin: &AdminContext, username: &Username) -> Result<()> {
        self.users
            .lock()
            .unwrap()
            .remove(username.as_str())
            .map(|_| ())
            .ok_or_else(|| Error::not_found("no such user"))
    }
}

fn complete(input: UserInput) -> Result<User> {
    let mut user = input.user;
    if user.home_dir.is_empty() {
        user.home_dir = format!("/srv/ferry/{}", user.username);
    }
    user.password_hash = input.password.map(|p| format!("$fake${p}"));
    user.validate()?;
    Ok(user)
}

/// The API over the fakes, plus a way to call it.
pub struct Harness<F> {
    pub api: F,
    pub sessions: Arc<FakeSessions>,
    pub users: Arc<FakeUsers>,
    pub peer: SocketAddr,
}

/// A reply, with its body parsed as JSON when it is JSON.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
    pub json: Value,
}

pub fn services(sessions: &Arc<FakeSessions>, users: &Arc<FakeUsers>) -> ApiServices {
    ApiServices {
        sessions: sessions.clone(),
        users: users.clone(),
        folders: Arc::new(FakeFolders::default()),
        admins: Arc::new(FakeAdmins::default()),
        health: Arc::new(FakeHealth::default()),
        connections: Arc::new(FakeConnections::default()),
        quotas: Arc::new(FakeQuotas::default()),
        backups: Arc::new(FakeBackups::default()),
    }
}

pub fn harness() -> Harness<impl Filter<Extract = (Response,), Error = Infallible> + Clone> {
    let sessions = Arc::new(FakeSessions::default());
    let users = Arc::new(FakeUsers::default());
    sessions.grant("all", vec![AdminPermission::All]);
    sessions.insert(
        IP_BOUND_TOKEN,
        vec![AdminPermission::All],
        Some([10, 0, 0, 1].into()),
    );
    let settings = HttpSettings {
        version: "9.9.9".into(),
        features: vec!["+sqlite".into()],
        ..HttpSettings::default()
    };
    Harness {
        api: ferry_http::routes(services(&sessions, &users), settings),
        sessions,
        users,
        peer: SocketAddr::new(Ipv4Addr::LOCALHOST.into(), 40_000),
    }
}

impl<F> Harness<F>
where
    F: Filter<Extract = (Response,), Error = Infallible> + Clone + Send + Sync + 'static,
{
    /// A request from the harness's client address.
    pub fn request(&self, method: &str, path: &str) -> warp::test::RequestBuilder {
        warp::test::request()
            .method(method)
            .path(path)
            .remote_addr(self.peer)
    }

    pub async fn send(&self, request: warp::test::RequestBuilder) -> Reply {
        let response = request.reply(&self.api).await;
        let text = String::from_utf8_lossy(response.body()).into_owned();
        Reply {
            status: response.status(),
            headers: response.headers().clone(),
            json: serde_json::from_str(&text).unwrap_or(Value::Null),
            text,
        }
    }

    /// `method path` with bearer `token` and an optional JSON body.
    pub async fn call(&self, method: &str, path: &str, token: &str, body: Option<Value>) -> Reply {
        let mut request = self
            .request(method, path)
            .header("authorization", format!("Bearer {token}"));
        if let Some(body) = body {
            request = request.json(&body);
        }
        self.send(request).await
    }
}

/// A valid new user called `name`.
pub fn new_user(name: &str) -> Value {
    serde_json::json!({
        "username": name,
        "status": 1,
        "password": "pw-of-".to_owned() + name,
        "permissions": {"/": ["*"]},
    })
}
