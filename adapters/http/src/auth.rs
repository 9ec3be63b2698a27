//! Who is calling: HTTP Basic credentials for the token endpoint (RFC 7617)
//! and bearer tokens (RFC 6750) for everything else, checked against the
//! route's [`Access`].

use crate::AppState;
use crate::error::{ApiError, BEARER_CHALLENGE};
use crate::routes::Access;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ferry_ports::AdminContext;
use std::net::SocketAddr;
use warp::http::HeaderMap;
use warp::http::header::AUTHORIZATION;

/// A username and password from an `Authorization: Basic` header.
pub(crate) struct BasicCredentials {
    pub username: String,
    pub password: String,
}

/// The Basic credentials, or `None` when the header is missing or malformed.
pub(crate) fn basic_credentials(headers: &HeaderMap) -> Option<BasicCredentials> {
    let encoded = scheme_value(headers, "Basic")?;
    let decoded = STANDARD.decode(encoded).ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (username, password) = decoded.split_once(':')?;
    Some(BasicCredentials {
        username: username.to_owned(),
        password: password.to_owned(),
    })
}

/// The bearer token, or `None` when the header is missing or malformed.
pub(crate) fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    scheme_value(headers, "Bearer")
}

/// The credentials after `scheme` (matched case-insensitively) in the
/// `Authorization` header.
fn scheme_value<'h>(headers: &'h HeaderMap, scheme: &str) -> Option<&'h str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (given, rest) = value.trim().split_once(' ')?;
    let rest = rest.trim();
    (given.eq_ignore_ascii_case(scheme) && !rest.is_empty()).then_some(rest)
}

/// Checks what `access` demands; returns the admin a bearer token proved.
pub(crate) async fn authorize(
    state: &AppState,
    access: Access,
    headers: &HeaderMap,
    peer: Option<SocketAddr>,
) -> Result<Option<AdminContext>, ApiError> {
    let needed = match access {
        Access::Public | Access::AdminCredentials => return Ok(None),
        Access::AnyAdmin => None,
        Access::Permission(perm) => Some(perm),
    };
    let token = bearer_token(headers)
        .ok_or_else(|| ApiError::unauthorized("a bearer token is required", BEARER_CHALLENGE))?;
    let peer = peer.ok_or_else(|| ApiError::internal("the transport gave no client address"))?;
    let admin = state
        .services
        .sessions
        .authenticate(token, peer)
        .await
        .map_err(|e| ApiError::from(e).with_challenge(BEARER_CHALLENGE))?;
    if let Some(perm) = needed.filter(|p| !admin.has_permission(*p)) {
        return Err(ApiError::forbidden(format!(
            "the admin permission {:?} is required",
            perm.as_str()
        )));
    }
    Ok(Some(admin))
}

#[cfg(test)]
mod tests {
    use super::*;
    use warp::http::HeaderValue;

    fn headers(value: &str) -> HeaderMap {
        let mut map = HeaderMap::new();
        map.insert(AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        map
    }

    #[test]
    fn basic_is_parsed() {
        // "admin:pa:ss" in base64.
        let creds = basic_credentials(&headers("basic YWRtaW46cGE6c3M=")).unwrap();
        assert_eq!(
            (creds.username.as_str(), creds.password.as_str()),
            ("admin", "pa:ss")
        );
        assert!(basic_credentials(&headers("Basic !!!")).is_none());
        // "nocolon"
        assert!(basic_credentials(&headers("Basic bm9jb2xvbg==")).is_none());
        assert!(basic_credentials(&headers("Bearer YWRtaW46cGE6c3M=")).is_none());
        assert!(basic_credentials(&HeaderMap::new()).is_none());
    }

    #[test]
    fn bearer_is_parsed() {
        assert_eq!(bearer_token(&headers("Bearer abc.def")), Some("abc.def"));
        assert_eq!(bearer_token(&headers("bearer   abc ")), Some("abc"));
        assert_eq!(bearer_token(&headers("Bearer ")), None);
        assert_eq!(bearer_token(&headers("Basic abc")), None);
        assert_eq!(bearer_token(&headers("Bearerabc")), None);
    }
}
