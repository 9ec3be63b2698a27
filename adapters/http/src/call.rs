//! One request as a handler sees it: path parameters, query, headers, the
//! authenticated admin, and a body read only on demand, under a size cap.

use crate::error::ApiError;
use crate::routes::Params;
use bytes::Bytes;
use ferry_ports::AdminContext;
use futures::StreamExt;
use futures::stream::BoxStream;
use serde::de::DeserializeOwned;
use std::net::SocketAddr;
use warp::http::header::CONTENT_LENGTH;
use warp::http::{HeaderMap, StatusCode};

/// The request body as it arrives, chunk by chunk.
pub(crate) type BodyStream = BoxStream<'static, Result<Bytes, warp::Error>>;

/// A routed request.
pub(crate) struct Call {
    /// The route's `{name}` parameters, percent-decoded.
    pub params: Params,
    /// Query pairs, percent-decoded, in order.
    pub query: Vec<(String, String)>,
    pub headers: HeaderMap,
    /// The client's socket address, when the transport knows it.
    pub peer: Option<SocketAddr>,
    /// The admin the bearer token proved, on routes that need one.
    pub admin: Option<AdminContext>,
    pub body: Option<BodyStream>,
    pub max_body_bytes: usize,
}

impl Call {
    /// The path parameter `name` declared by the route's pattern.
    pub fn param(&self, name: &str) -> Result<&str, ApiError> {
        self.params
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
            .ok_or_else(|| ApiError::internal(format!("route has no parameter {name:?}")))
    }

    /// The first value of query parameter `name`.
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The client's address; handlers that pass it to the core need it.
    pub fn peer(&self) -> Result<SocketAddr, ApiError> {
        self.peer
            .ok_or_else(|| ApiError::internal("the transport gave no client address"))
    }

    /// The authenticated admin; present on every bearer-protected route.
    pub fn admin(&self) -> Result<&AdminContext, ApiError> {
        self.admin
            .as_ref()
            .ok_or_else(|| ApiError::internal("route reached without an admin"))
    }

    /// Reads the body (at most `max_body_bytes`, else 413) and parses it as
    /// a JSON object, the only kind of body the API takes (serde would
    /// otherwise read a struct from an array); syntax or type errors are 400
    /// with serde's explanation.
    pub async fn json<T: DeserializeOwned>(&mut self) -> Result<T, ApiError> {
        let bytes = self.read_body().await?;
        let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
            ApiError::bad_request(format!("the request body is not valid JSON: {e}"))
        })?;
        if !value.is_object() {
            return Err(ApiError::bad_request(
                "the request body must be a JSON object",
            ));
        }
        serde_json::from_value(value)
            .map_err(|e| ApiError::bad_request(format!("invalid value in the request body: {e}")))
    }

    /// Reads the raw body, at most `max_body_bytes` (else 413).
    pub async fn bytes(&mut self) -> Result<Vec<u8>, ApiError> {
        self.read_body().await
    }

    async fn read_body(&mut self) -> Result<Vec<u8>, ApiError> {
        let limit = self.max_body_bytes;
        if self.declared_length().is_some_and(|len| len > limit as u64) {
            return Err(too_large(limit));
        }
        let Some(mut body) = self.body.take() else {
            return Err(ApiError::internal("the request body was read twice"));
        };
        let mut buf = Vec::new();
        while let Some(chunk) = body.next().await {
            let chunk = chunk
                .map_err(|e| ApiError::bad_request(format!("cannot read the request body: {e}")))?;
            if buf.len() + chunk.len() > limit {
                return Err(too_large(limit));
            }
            buf.extend_from_slice(&chunk);
        }
        Ok(buf)
    }

    fn declared_length(&self) -> Option<u64> {
        self.headers
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
    }
}

fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("the request body is larger than {limit} bytes"),
    )
}

/// Splits a raw query string into decoded pairs (`+` is a space).
pub(crate) fn parse_query(raw: &str) -> Vec<(String, String)> {
    raw.split('&')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let (name, value) = part.split_once('=').unwrap_or((part, ""));
            (decode_form(name), decode_form(value))
        })
        .collect()
}

fn decode_form(raw: &str) -> String {
    let spaced = raw.replace('+', " ");
    percent_decode(&spaced).unwrap_or(spaced)
}

/// Decodes `%XX` escapes; `None` when an escape is malformed or the result is
/// not UTF-8.
pub(crate) fn percent_decode(raw: &str) -> Option<String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_pairs_are_decoded() {
        let pairs = parse_query("limit=5&order=DESC&name=a%20b+c&flag&&x=%zz");
        assert_eq!(
            pairs,
            vec![
                ("limit".into(), "5".into()),
                ("order".into(), "DESC".into()),
                ("name".into(), "a b c".into()),
                ("flag".into(), "".into()),
                ("x".into(), "%zz".into()),
            ]
        );
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%2Fb").as_deref(), Some("a/b"));
        assert_eq!(percent_decode("%C3%A9").as_deref(), Some("é"));
        assert_eq!(percent_decode("%"), None);
        assert_eq!(percent_decode("%g0"), None);
        assert_eq!(percent_decode("%ff"), None);
    }
}
