//! The warp filter that routes, authorizes and logs every request; the TCP
//! front ([`front`](crate::front)) serves it.

use crate::auth::authorize;
use crate::call::{BodyStream, Call, parse_query};
use crate::error::ApiError;
use crate::routes::Router;
use crate::{ApiServices, AppState, HttpSettings};
use bytes::Buf;
use ferry_domain::Username;
use futures::StreamExt;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use warp::Filter;
use warp::http::{HeaderMap, Method, StatusCode};
use warp::path::FullPath;
use warp::reply::Response;

/// The client's socket address, which the TCP front (warp does not run the
/// server itself) inserts into each request's extensions. It wins over the
/// address warp's own server records, for the filter served another way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerAddr(pub SocketAddr);

/// The whole API as one warp filter. It never rejects: unknown paths,
/// wrong methods and every failure become SFTPGo-style JSON replies.
pub fn routes(
    services: ApiServices,
    settings: HttpSettings,
) -> impl Filter<Extract = (Response,), Error = Infallible> + Clone {
    let state = Arc::new(AppState { services, settings });
    let router = Arc::new(Router::new());
    let raw_query = warp::query::raw().or(warp::any().map(String::new)).unify();
    let peer = warp::ext::optional::<PeerAddr>()
        .and(warp::addr::remote())
        .map(|ext: Option<PeerAddr>, remote: Option<SocketAddr>| ext.map(|p| p.0).or(remote));
    warp::any()
        .map(move || (state.clone(), router.clone()))
        .and(warp::method())
        .and(warp::path::full())
        .and(raw_query)
        .and(warp::header::headers_cloned())
        .and(peer)
        .and(warp::body::stream())
        .then(
            |(state, router), method, path: FullPath, query: String, headers, peer, body| {
                let request = Incoming {
                    method,
                    path: path.as_str().to_owned(),
                    query,
                    headers,
                    peer,
                    body: boxed_body(body),
                };
                dispatch(state, router, request)
            },
        )
        .or_else(|rejection: warp::Rejection| async move {
            // Only reached if warp could not hand over the body.
            let error = ApiError::internal(format!("request rejected by warp: {rejection:?}"));
            Ok::<_, Infallible>((error.into_response(),))
        })
}

/// A request before routing.
struct Incoming {
    method: Method,
    path: String,
    query: String,
    headers: HeaderMap,
    peer: Option<SocketAddr>,
    body: BodyStream,
}

fn boxed_body<S, B>(body: S) -> BodyStream
where
    S: futures::Stream<Item = Result<B, warp::Error>> + Send + 'static,
    B: Buf,
{
    body.map(|chunk| chunk.map(|mut buf| buf.copy_to_bytes(buf.remaining())))
        .boxed()
}

/// Routes, authorizes and runs one request, and logs it. From an allowed
/// proxy, the client its headers name stands in for the socket peer.
async fn dispatch(state: Arc<AppState>, router: Arc<Router>, mut request: Incoming) -> Response {
    let started = Instant::now();
    let proxies = &state.settings.proxy_allowed;
    request.peer = request
        .peer
        .map(|peer| proxies.client(peer, &request.headers));
    let method = request.method.clone();
    let path = request.path.clone();
    let peer = request.peer;
    let (response, admin) = match handle(state, &router, request).await {
        Ok(done) => done,
        Err(error) => (error.into_response(), None),
    };
    log_request(
        &method,
        &path,
        response.status(),
        started.elapsed(),
        peer,
        admin,
    );
    response
}

async fn handle(
    state: Arc<AppState>,
    router: &Router,
    request: Incoming,
) -> Result<(Response, Option<Username>), ApiError> {
    let (route, params) = router.find(&request.method, &request.path)?;
    let admin = authorize(&state, route.info.access, &request.headers, request.peer).await?;
    let admin_name = admin.as_ref().map(|a| a.username.clone());
    let call = Call {
        params,
        query: parse_query(&request.query),
        headers: request.headers,
        peer: request.peer,
        admin,
        body: Some(request.body),
        max_body_bytes: state.settings.max_body_bytes,
    };
    match route.call(state, call).await {
        Ok(response) => Ok((response, admin_name)),
        Err(error) => Ok((error.into_response(), admin_name)),
    }
}

/// One line per request; never the query string, which may carry secrets.
fn log_request(
    method: &Method,
    path: &str,
    status: StatusCode,
    elapsed: Duration,
    peer: Option<SocketAddr>,
    admin: Option<Username>,
) {
    let duration_ms = elapsed.as_secs_f64() * 1000.0;
    let client = peer.map_or_else(|| "-".to_owned(), |p| p.ip().to_string());
    let admin = admin.as_ref().map_or("-", Username::as_str);
    let status = status.as_u16();
    if status >= 500 {
        tracing::warn!(%method, path, status, duration_ms, client, admin, "http request");
    } else {
        tracing::info!(%method, path, status, duration_ms, client, admin, "http request");
    }
}
