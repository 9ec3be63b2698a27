//! The route table: every route of the API, the access it needs and its
//! handler, in one list. Adding an endpoint is adding one line to [`table`].

use crate::AppState;
use crate::call::{Call, percent_decode};
use crate::error::ApiError;
use crate::handlers::{admins, backup, connections, docs, folders, quotas, system, users};
use ferry_domain::AdminPermission;
use futures::future::BoxFuture;
use std::future::Future;
use std::sync::Arc;
use warp::http::Method;
use warp::http::header::{ALLOW, HeaderValue};
use warp::reply::Response;

/// What a caller must prove to use a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Nothing (the health check, the API's documentation).
    Public,
    /// HTTP Basic admin credentials, which the handler itself checks (the
    /// token endpoint).
    AdminCredentials,
    /// A valid admin bearer token, whatever the admin's permissions.
    AnyAdmin,
    /// A valid admin bearer token whose admin holds this permission or `*`.
    Permission(AdminPermission),
}

/// A route as seen from outside: method, path pattern (`{name}` marks a
/// parameter) and the access it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteInfo {
    /// The HTTP method.
    pub method: Method,
    /// The path, with `{name}` for each parameter (`/api/v2/users/{username}`).
    pub pattern: &'static str,
    /// What the caller must prove.
    pub access: Access,
}

/// A route's `{name}` parameters with their decoded values.
pub(crate) type Params = Vec<(&'static str, String)>;

type Handler = Box<dyn Fn(Arc<AppState>, Call) -> HandlerFuture + Send + Sync>;
type HandlerFuture = BoxFuture<'static, Result<Response, ApiError>>;

/// A route with its handler.
pub(crate) struct Route {
    pub info: RouteInfo,
    segments: Vec<Segment>,
    handler: Handler,
}

enum Segment {
    Literal(&'static str),
    Param(&'static str),
}

/// Every route of the API. One line per route, so the table stays readable.
#[rustfmt::skip]
fn table() -> Vec<Route> {
    use Access::*;
    use AdminPermission::*;
    use Method as M;
    vec![
        Route::new(M::GET, "/healthz", Public, system::healthz),
        Route::new(M::GET, "/api/v2/openapi.json", Public, docs::openapi_json),
        Route::new(M::GET, "/openapi", Public, docs::ui_page),
        Route::new(M::GET, "/openapi/", Public, docs::ui_page),
        Route::new(M::GET, "/openapi/{file}", Public, docs::ui_asset),
        Route::new(M::GET, "/api/v2/token", AdminCredentials, system::token),
        Route::new(M::GET, "/api/v2/logout", AnyAdmin, system::logout),
        Route::new(M::GET, "/api/v2/version", AnyAdmin, system::version),
        Route::new(M::GET, "/api/v2/status", Permission(ViewStatus), system::status),
        Route::new(M::GET, "/api/v2/dumpdata", Permission(All), backup::dump),
        Route::new(M::GET, "/api/v2/loaddata", Permission(All), backup::load_file),
        Route::new(M::POST, "/api/v2/loaddata", Permission(All), backup::load_body),
        Route::new(M::GET, "/api/v2/users", Permission(ViewUsers), users::list),
        Route::new(M::POST, "/api/v2/users", Permission(AddUsers), users::create),
        Route::new(M::GET, "/api/v2/users/{username}", Permission(ViewUsers), users::get),
        Route::new(M::PUT, "/api/v2/users/{username}", Permission(EditUsers), users::update),
        Route::new(M::DELETE, "/api/v2/users/{username}", Permission(DelUsers), users::delete),
        Route::new(M::GET, "/api/v2/folders", Permission(ManageFolders), folders::list),
        Route::new(M::POST, "/api/v2/folders", Permission(ManageFolders), folders::create),
        Route::new(M::GET, "/api/v2/folders/{name}", Permission(ManageFolders), folders::get),
        Route::new(M::PUT, "/api/v2/folders/{name}", Permission(ManageFolders), folders::update),
        Route::new(M::DELETE, "/api/v2/folders/{name}", Permission(ManageFolders),
            folders::delete),
        Route::new(M::PUT, "/api/v2/admin/changepwd", AnyAdmin, admins::change_password),
        Route::new(M::GET, "/api/v2/admin/profile", AnyAdmin, admins::get_profile),
        Route::new(M::PUT, "/api/v2/admin/profile", AnyAdmin, admins::update_profile),
        Route::new(M::GET, "/api/v2/admins", Permission(All), admins::list),
        Route::new(M::POST, "/api/v2/admins", Permission(All), admins::create),
        Route::new(M::GET, "/api/v2/admins/{username}", Permission(All), admins::get),
        Route::new(M::PUT, "/api/v2/admins/{username}", Permission(All), admins::update),
        Route::new(M::DELETE, "/api/v2/admins/{username}", Permission(All), admins::delete),
        Route::new(M::GET, "/api/v2/connections", Permission(ViewConns), connections::list),
        Route::new(M::DELETE, "/api/v2/connections/{connectionID}", Permission(CloseConns),
            connections::close),
        Route::new(M::GET, "/api/v2/quotas/users/scans", Permission(QuotaScans),
            quotas::user_scans),
        Route::new(M::POST, "/api/v2/quotas/users/{username}/scan", Permission(QuotaScans),
            quotas::start_user_scan),
        Route::new(M::PUT, "/api/v2/quotas/users/{username}/usage", Permission(EditUsers),
            quotas::update_user_usage),
        Route::new(M::GET, "/api/v2/quotas/folders/scans", Permission(QuotaScans),
            quotas::folder_scans),
        Route::new(M::POST, "/api/v2/quotas/folders/{name}/scan", Permission(QuotaScans),
            quotas::start_folder_scan),
        Route::new(M::PUT, "/api/v2/quotas/folders/{name}/usage", Permission(ManageFolders),
            quotas::update_folder_usage),
    ]
}

/// Every route of the API with the access it needs, for documentation and
/// tests.
pub fn route_table() -> Vec<RouteInfo> {
    table().into_iter().map(|r| r.info).collect()
}

impl Route {
    fn new<F, Fut>(method: Method, pattern: &'static str, access: Access, handler: F) -> Self
    where
        F: Fn(Arc<AppState>, Call) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Response, ApiError>> + Send + 'static,
    {
        let segments = split(pattern)
            .map(
                |s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    Some(name) => Segment::Param(name),
                    None => Segment::Literal(s),
                },
            )
            .collect();
        Self {
            info: RouteInfo {
                method,
                pattern,
                access,
            },
            segments,
            handler: Box::new(move |state, call| Box::pin(handler(state, call))),
        }
    }

    pub fn call(&self, state: Arc<AppState>, call: Call) -> HandlerFuture {
        (self.handler)(state, call)
    }

    /// The decoded parameters when `path` fits this route's pattern.
    fn match_path(&self, path: &str) -> Option<Params> {
        let mut parts = split(path);
        let mut params = Vec::new();
        for segment in &self.segments {
            let part = parts.next()?;
            match segment {
                Segment::Literal(lit) if *lit == part => {}
                Segment::Literal(_) => return None,
                Segment::Param(_) if part.is_empty() => return None,
                Segment::Param(name) => params.push((*name, percent_decode(part)?)),
            }
        }
        parts.next().is_none().then_some(params)
    }
}

fn split(path: &str) -> std::str::Split<'_, char> {
    path.strip_prefix('/').unwrap_or(path).split('/')
}

/// Finds the route for a request.
pub(crate) struct Router {
    routes: Vec<Route>,
}

impl Router {
    pub fn new() -> Self {
        Self { routes: table() }
    }

    /// The route and its parameters; 404 for an unknown path, 405 (with
    /// `Allow`) for a known path and another method.
    pub fn find(&self, method: &Method, path: &str) -> Result<(&Route, Params), ApiError> {
        let mut allowed: Vec<&str> = Vec::new();
        for route in &self.routes {
            let Some(params) = route.match_path(path) else {
                continue;
            };
            if route.info.method == *method {
                return Ok((route, params));
            }
            allowed.push(route.info.method.as_str());
        }
        if allowed.is_empty() {
            return Err(ApiError::not_found(format!("no such endpoint: {path}")));
        }
        let allow = allowed.join(", ");
        let error = ApiError::new(
            warp::http::StatusCode::METHOD_NOT_ALLOWED,
            format!("method {method} is not allowed here; allowed: {allow}"),
        );
        Err(match HeaderValue::from_str(&allow) {
            Ok(value) => error.with_header(ALLOW, value),
            Err(_) => error,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_extracted_and_decoded() {
        let router = Router::new();
        let (route, params) = router
            .find(&Method::GET, "/api/v2/users/a%2Eb")
            .map_err(|e| e.status())
            .unwrap();
        assert_eq!(route.info.pattern, "/api/v2/users/{username}");
        assert_eq!(params, vec![("username", "a.b".to_owned())]);
    }

    #[test]
    fn unknown_paths_and_methods() {
        let router = Router::new();
        let status = |m: Method, p: &str| router.find(&m, p).err().map(|e| e.status().as_u16());
        assert_eq!(status(Method::GET, "/api/v2/nope"), Some(404));
        assert_eq!(status(Method::GET, "/api/v2/users/"), Some(404));
        assert_eq!(status(Method::GET, "/api/v2/users/a/b"), Some(404));
        assert_eq!(status(Method::PATCH, "/api/v2/users"), Some(405));
        assert_eq!(status(Method::GET, "/api/v2/users"), None);
    }

    #[test]
    fn patterns_are_unique() {
        let routes = route_table();
        for (i, a) in routes.iter().enumerate() {
            for b in &routes[i + 1..] {
                assert!(a.method != b.method || a.pattern != b.pattern, "{a:?}");
            }
        }
    }
}
