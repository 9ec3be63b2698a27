//! A **fake** of the Google Cloud Storage XML API, in memory, inside the
//! test process, on 127.0.0.1:0. It is not an emulator: it covers what
//! `object_store`'s GCS client sends and answers as GCS documents it, and
//! nothing more.
//!
//! Covered, on `/{bucket}/{percent-encoded key}`:
//! - `PUT` (with `x-goog-if-generation-match`, `0` meaning "must not
//!   exist"), `PUT` with `x-goog-copy-source: {bucket}/{encoded key}`;
//! - `GET` and `HEAD`, with `Range` (`bytes=a-b`, `bytes=a-`, `bytes=-n`),
//!   `If-Match` and `If-None-Match`; `416` for a range past the end;
//! - `DELETE` (`404` for a missing key, as GCS answers);
//! - multipart uploads: `POST ?uploads`, `PUT ?partNumber&uploadId`,
//!   `POST ?uploadId` (the parts named in the body, in order; every part
//!   but the last at least 5 MiB), `DELETE ?uploadId`;
//! - `GET /{bucket}?list-type=2` with `prefix`, `delimiter`, `max-keys`
//!   (at most 1000), `continuation-token` and `start-after`.
//!
//! Every object answer carries `ETag`, `Last-Modified` and
//! `x-goog-generation`. ETags are derived from the content's SHA-256, not
//! MD5 as in GCS, so no test may rely on their form. There is one bucket
//! and no authentication: clients send an empty bearer token (see
//! [`gcs_service_account_json`]).

use aws_lc_rs::digest;
use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderMap, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use object_store::ClientOptions;
use object_store::gcp::{GoogleCloudStorage, GoogleCloudStorageBuilder};
use percent_encoding::percent_decode_str;
use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::fmt::Write as _;
use std::ops::Bound;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::task::JoinHandle;

/// The bucket every [`GcsFake`] has.
const BUCKET: &str = "test";
/// The smallest part GCS accepts, except the last of an upload.
const MIN_PART: usize = 5 * 1024 * 1024;
/// The most keys one listing page returns.
const MAX_KEYS: usize = 1000;

/// A service-account key that makes `object_store` talk to `base_url` with
/// an empty bearer token: no OAuth, so no token request leaves the machine.
pub fn gcs_service_account_json(base_url: &str) -> String {
    format!(
        r#"{{"gcs_base_url":"{base_url}","disable_oauth":true,"client_email":"","private_key":"","private_key_id":""}}"#
    )
}

/// A running fake with one empty bucket; stops when dropped. Runs on the
/// Tokio runtime that started it.
pub struct GcsFake {
    /// `http://127.0.0.1:<port>`, the `gcs_base_url`.
    pub base_url: String,
    pub bucket: String,
    state: Arc<Mutex<State>>,
    accept: JoinHandle<()>,
}

impl Drop for GcsFake {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

struct Object {
    data: Bytes,
    generation: u64,
    modified: DateTime<Utc>,
    etag: String,
}

struct Upload {
    key: String,
    parts: BTreeMap<u32, (String, Bytes)>,
}

#[derive(Default)]
struct State {
    objects: BTreeMap<String, Object>,
    uploads: HashMap<String, Upload>,
    generations: u64,
}

impl State {
    fn store(&mut self, key: String, data: Bytes) -> &Object {
        self.generations += 1;
        let object = Object {
            etag: etag(&[&data]),
            data,
            generation: self.generations,
            modified: Utc::now(),
        };
        self.objects.insert(key.clone(), object);
        &self.objects[&key]
    }
}

type Answer = Response<Full<Bytes>>;

impl GcsFake {
    pub async fn start() -> GcsFake {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let base_url = format!("http://{}", listener.local_addr().expect("address"));
        let state = Arc::new(Mutex::new(State::default()));
        let shared = Arc::clone(&state);
        let accept = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let state = Arc::clone(&shared);
                let service = hyper::service::service_fn(move |request| {
                    let state = Arc::clone(&state);
                    async move { Ok::<_, Infallible>(handle(&state, request).await) }
                });
                let connection = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(socket), service);
                tokio::spawn(connection);
            }
        });
        GcsFake {
            base_url,
            bucket: BUCKET.to_owned(),
            state,
            accept,
        }
    }

    /// The service-account key for this fake.
    pub fn service_account_json(&self) -> String {
        gcs_service_account_json(&self.base_url)
    }

    /// A client of the bucket itself, for seeding and checks.
    pub fn client(&self) -> GoogleCloudStorage {
        GoogleCloudStorageBuilder::new()
            .with_bucket_name(&self.bucket)
            .with_service_account_key(self.service_account_json())
            .with_client_options(ClientOptions::new().with_allow_http(true))
            .build()
            .expect("GCS client")
    }

    /// Stores an object under any key, even one `object_store` cannot
    /// name (`dir/`, as the Cloud Console writes for a folder).
    pub fn insert_raw(&self, key: &str, data: &[u8]) {
        lock(&self.state).store(key.to_owned(), Bytes::copy_from_slice(data));
    }

    /// Whether an object exists under exactly `key`.
    pub fn contains(&self, key: &str) -> bool {
        lock(&self.state).objects.contains_key(key)
    }

    /// Multipart uploads started and neither completed nor aborted.
    pub fn open_uploads(&self) -> usize {
        lock(&self.state).uploads.len()
    }

    /// Forgets every open upload, as when they expire: their parts then fail.
    pub fn forget_uploads(&self) {
        lock(&self.state).uploads.clear();
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// What a request asks, with its body read.
struct Call {
    method: Method,
    key: Option<String>,
    query: HashMap<String, String>,
    headers: HeaderMap,
    body: Bytes,
}

async fn handle(state: &Mutex<State>, request: Request<Incoming>) -> Answer {
    let (parts, body) = request.into_parts();
    let body = match body.collect().await {
        Ok(body) => body.to_bytes(),
        Err(_) => return error(StatusCode::BAD_REQUEST, "IncompleteBody"),
    };
    let path = parts.uri.path().trim_start_matches('/');
    let (bucket, key) = match path.split_once('/') {
        Some((bucket, key)) => (bucket, Some(key)),
        None => (path, None),
    };
    if decode(bucket).as_deref() != Some(BUCKET) {
        return error(StatusCode::NOT_FOUND, "NoSuchBucket");
    }
    let key = match key.map(decode) {
        Some(None) => return error(StatusCode::BAD_REQUEST, "InvalidURI"),
        Some(Some(key)) if !key.is_empty() => Some(key),
        _ => None,
    };
    let query = form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
        .into_owned()
        .collect();
    let call = Call {
        method: parts.method,
        key,
        query,
        headers: parts.headers,
        body,
    };
    let mut state = lock(state);
    route(&mut state, call)
}

fn route(state: &mut State, call: Call) -> Answer {
    let has = |name: &str| call.query.contains_key(name);
    let Some(key) = call.key.clone() else {
        if call.method == Method::GET && has("list-type") {
            return list(state, &call.query);
        }
        return error(StatusCode::BAD_REQUEST, "NotImplemented");
    };
    match call.method {
        Method::PUT if has("uploadId") && has("partNumber") => put_part(state, &key, &call),
        Method::PUT if call.headers.contains_key("x-goog-copy-source") => copy(state, key, &call),
        Method::PUT => put(state, key, &call),
        Method::POST if has("uploads") => initiate(state, key),
        Method::POST if has("uploadId") => complete(state, key, &call),
        Method::GET | Method::HEAD => get(state, &key, &call),
        Method::DELETE if has("uploadId") => abort(state, &call),
        Method::DELETE => match state.objects.remove(&key) {
            Some(_) => empty(StatusCode::NO_CONTENT),
            None => error(StatusCode::NOT_FOUND, "NoSuchKey"),
        },
        _ => error(StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed"),
    }
}

/// Checks `x-goog-if-generation-match` against the object now at `key`.
fn generation_matches(state: &State, key: &str, headers: &HeaderMap) -> bool {
    let Some(wanted) = headers.get("x-goog-if-generation-match") else {
        return true;
    };
    let current = state.objects.get(key).map_or(0, |o| o.generation);
    wanted.to_str().ok().and_then(|w| w.parse::<u64>().ok()) == Some(current)
}

fn put(state: &mut State, key: String, call: &Call) -> Answer {
    if !generation_matches(state, &key, &call.headers) {
        return error(StatusCode::PRECONDITION_FAILED, "PreconditionFailed");
    }
    let object = state.store(key, call.body.clone());
    with_object_headers(Response::builder(), object)
        .body(Full::default())
        .unwrap_or_else(|_| empty(StatusCode::INTERNAL_SERVER_ERROR))
}

fn copy(state: &mut State, key: String, call: &Call) -> Answer {
    let source = call
        .headers
        .get("x-goog-copy-source")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim_start_matches('/').split_once('/'))
        .and_then(|(bucket, key)| Some((decode(bucket)?, decode(key)?)));
    let Some((bucket, source)) = source else {
        return error(StatusCode::BAD_REQUEST, "InvalidArgument");
    };
    if bucket != BUCKET {
        return error(StatusCode::NOT_FOUND, "NoSuchBucket");
    }
    let Some(data) = state.objects.get(&source).map(|o| o.data.clone()) else {
        return error(StatusCode::NOT_FOUND, "NoSuchKey");
    };
    if !generation_matches(state, &key, &call.headers) {
        return error(StatusCode::PRECONDITION_FAILED, "PreconditionFailed");
    }
    let object = state.store(key, data);
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><CopyObjectResult><LastModified>{}\
         </LastModified><ETag>{}</ETag></CopyObjectResult>",
        rfc3339(object.modified),
        escape(&object.etag)
    );
    xml(with_object_headers(Response::builder(), object), body)
}

fn get(state: &State, key: &str, call: &Call) -> Answer {
    let head = call.method == Method::HEAD;
    let Some(object) = state.objects.get(key) else {
        return if head {
            empty(StatusCode::NOT_FOUND)
        } else {
            error(StatusCode::NOT_FOUND, "NoSuchKey")
        };
    };
    let header = |name: &str| call.headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(wanted) = header("if-match")
        && !etag_listed(wanted, &object.etag)
    {
        return error(StatusCode::PRECONDITION_FAILED, "PreconditionFailed");
    }
    if let Some(unwanted) = header("if-none-match")
        && etag_listed(unwanted, &object.etag)
    {
        return with_object_headers(Response::builder(), object)
            .status(StatusCode::NOT_MODIFIED)
            .body(Full::default())
            .unwrap_or_else(|_| empty(StatusCode::INTERNAL_SERVER_ERROR));
    }
    let size = object.data.len();
    let (status, range) = match header("range") {
        None => (StatusCode::OK, 0..size),
        Some(range) => match byte_range(range, size) {
            Some(range) => (StatusCode::PARTIAL_CONTENT, range),
            None => {
                return Response::builder()
                    .status(StatusCode::RANGE_NOT_SATISFIABLE)
                    .header("content-range", format!("bytes */{size}"))
                    .body(Full::default())
                    .unwrap_or_else(|_| empty(StatusCode::INTERNAL_SERVER_ERROR));
            }
        },
    };
    let mut builder = with_object_headers(Response::builder(), object)
        .header("content-length", range.len())
        .status(status);
    if status == StatusCode::PARTIAL_CONTENT {
        let last = range.end - 1;
        builder = builder.header(
            "content-range",
            format!("bytes {}-{last}/{size}", range.start),
        );
    }
    let body = if head {
        Bytes::new()
    } else {
        object.data.slice(range)
    };
    builder
        .body(Full::new(body))
        .unwrap_or_else(|_| empty(StatusCode::INTERNAL_SERVER_ERROR))
}

/// Whether an `If-Match` / `If-None-Match` value names `etag`.
fn etag_listed(value: &str, etag: &str) -> bool {
    value
        .split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || tag.trim_start_matches("W/") == etag)
}

/// The byte range a `Range` header asks of an object of `size` bytes;
/// `None` when it cannot be satisfied.
fn byte_range(header: &str, size: usize) -> Option<std::ops::Range<usize>> {
    let spec = header.trim().strip_prefix("bytes=")?;
    let (first, last) = spec.split_once('-')?;
    let (start, end) = if first.is_empty() {
        let suffix: usize = last.parse().ok()?;
        (size.saturating_sub(suffix), size)
    } else {
        let start: usize = first.parse().ok()?;
        let end = match last {
            "" => size,
            last => last.parse::<usize>().ok()?.saturating_add(1).min(size),
        };
        (start, end)
    };
    (start < end).then_some(start..end)
}

fn initiate(state: &mut State, key: String) -> Answer {
    state.generations += 1;
    let id = format!("upload-{}", state.generations);
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><InitiateMultipartUploadResult>\
         <Bucket>{BUCKET}</Bucket><Key>{}</Key><UploadId>{id}</UploadId>\
         </InitiateMultipartUploadResult>",
        escape(&key)
    );
    let upload = Upload {
        key,
        parts: BTreeMap::new(),
    };
    state.uploads.insert(id, upload);
    xml(Response::builder(), body)
}

/// The upload a call names, if it exists and belongs to `key`.
fn upload_of<'a>(state: &'a mut State, key: &str, call: &Call) -> Option<&'a mut Upload> {
    let upload = state.uploads.get_mut(call.query.get("uploadId")?)?;
    (upload.key == key).then_some(upload)
}

fn put_part(state: &mut State, key: &str, call: &Call) -> Answer {
    let number = call.query.get("partNumber").and_then(|n| n.parse().ok());
    let Some(number) = number.filter(|n| (1..=10_000).contains(n)) else {
        return error(StatusCode::BAD_REQUEST, "InvalidArgument");
    };
    let Some(upload) = upload_of(state, key, call) else {
        return error(StatusCode::NOT_FOUND, "NoSuchUpload");
    };
    let tag = etag(&[&call.body]);
    upload
        .parts
        .insert(number, (tag.clone(), call.body.clone()));
    Response::builder()
        .header("etag", tag)
        .body(Full::default())
        .unwrap_or_else(|_| empty(StatusCode::INTERNAL_SERVER_ERROR))
}

fn complete(state: &mut State, key: String, call: &Call) -> Answer {
    let Some(upload) = upload_of(state, &key, call) else {
        return error(StatusCode::NOT_FOUND, "NoSuchUpload");
    };
    let body = String::from_utf8_lossy(&call.body);
    let named = between_all(&body, "<Part>", "</Part>");
    if named.is_empty() {
        return error(StatusCode::BAD_REQUEST, "MalformedXML");
    }
    let mut chosen = Vec::new();
    for part in &named {
        let number = between_all(part, "<PartNumber>", "</PartNumber>");
        let tag = between_all(part, "<ETag>", "</ETag>");
        let number: Option<u32> = number.first().and_then(|n| n.trim().parse().ok());
        let stored = number.and_then(|n| upload.parts.get(&n));
        match (stored, tag.first()) {
            (Some((stored, data)), Some(tag)) if unescape(tag) == *stored => chosen.push(data),
            _ => return error(StatusCode::BAD_REQUEST, "InvalidPart"),
        }
    }
    let last = chosen.len() - 1;
    if chosen[..last].iter().any(|data| data.len() < MIN_PART) {
        return error(StatusCode::BAD_REQUEST, "EntityTooSmall");
    }
    let mut data = Vec::with_capacity(chosen.iter().map(|d| d.len()).sum());
    for part in chosen {
        data.extend_from_slice(part);
    }
    if let Some(id) = call.query.get("uploadId") {
        state.uploads.remove(id);
    }
    let object = state.store(key.clone(), Bytes::from(data));
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><CompleteMultipartUploadResult>\
         <Location>/{BUCKET}/{0}</Location><Bucket>{BUCKET}</Bucket><Key>{0}</Key>\
         <ETag>{1}</ETag></CompleteMultipartUploadResult>",
        escape(&key),
        escape(&object.etag)
    );
    let builder = Response::builder().header("x-goog-generation", object.generation);
    xml(builder, body)
}

fn abort(state: &mut State, call: &Call) -> Answer {
    let id = call.query.get("uploadId").cloned().unwrap_or_default();
    match state.uploads.remove(&id) {
        Some(_) => empty(StatusCode::NO_CONTENT),
        None => error(StatusCode::NOT_FOUND, "NoSuchUpload"),
    }
}

/// Where a listing resumes: after a key, or after every key of a common prefix.
enum Resume {
    After(String),
    PastPrefix(String),
}

fn list(state: &State, query: &HashMap<String, String>) -> Answer {
    let prefix = query.get("prefix").map_or("", String::as_str);
    let delimiter = query
        .get("delimiter")
        .map(String::as_str)
        .filter(|d| !d.is_empty());
    let max = query
        .get("max-keys")
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(MAX_KEYS)
        .min(MAX_KEYS);
    let resume = match query.get("continuation-token") {
        Some(token) => match unhex(token) {
            Some(text) if text.starts_with('p') => Some(Resume::PastPrefix(text[1..].to_owned())),
            Some(text) if text.starts_with('k') => Some(Resume::After(text[1..].to_owned())),
            _ => return error(StatusCode::BAD_REQUEST, "InvalidArgument"),
        },
        None => query.get("start-after").cloned().map(Resume::After),
    };
    let start = match &resume {
        Some(Resume::After(key) | Resume::PastPrefix(key)) if key.as_str() >= prefix => {
            Bound::Excluded(key.clone())
        }
        _ => Bound::Included(prefix.to_owned()),
    };

    let (mut contents, mut prefixes) = (String::new(), Vec::<String>::new());
    let (mut count, mut last, mut truncated) = (0, None, false);
    for (key, object) in state.objects.range((start, Bound::Unbounded)) {
        if !key.starts_with(prefix) {
            break;
        }
        if let Some(Resume::PastPrefix(done)) = &resume
            && key.starts_with(done.as_str())
        {
            continue;
        }
        let rest = &key[prefix.len()..];
        let common = delimiter.and_then(|d| {
            rest.find(d)
                .map(|at| format!("{prefix}{}", &rest[..at + d.len()]))
        });
        if let Some(common) = &common
            && prefixes.last() == Some(common)
        {
            continue;
        }
        if count == max {
            truncated = true;
            break;
        }
        count += 1;
        match common {
            Some(common) => {
                last = Some(format!("p{common}"));
                prefixes.push(common);
            }
            None => {
                last = Some(format!("k{key}"));
                let _ = write!(
                    contents,
                    "<Contents><Key>{}</Key><Size>{}</Size><LastModified>{}</LastModified>\
                     <ETag>{}</ETag><Generation>{}</Generation></Contents>",
                    escape(key),
                    object.data.len(),
                    rfc3339(object.modified),
                    escape(&object.etag),
                    object.generation
                );
            }
        }
    }
    let mut body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListBucketResult \
         xmlns=\"http://doc.s3.amazonaws.com/2006-03-01\"><Name>{BUCKET}</Name>\
         <Prefix>{}</Prefix><KeyCount>{count}</KeyCount><MaxKeys>{max}</MaxKeys>\
         <IsTruncated>{truncated}</IsTruncated>{contents}",
        escape(prefix)
    );
    for common in &prefixes {
        let _ = write!(
            body,
            "<CommonPrefixes><Prefix>{}</Prefix></CommonPrefixes>",
            escape(common)
        );
    }
    if truncated && let Some(last) = last {
        let _ = write!(
            body,
            "<NextContinuationToken>{}</NextContinuationToken>",
            hex(last.as_bytes())
        );
    }
    body.push_str("</ListBucketResult>");
    xml(Response::builder(), body)
}

// ---- answers and encodings --------------------------------------------------

fn with_object_headers(
    builder: hyper::http::response::Builder,
    object: &Object,
) -> hyper::http::response::Builder {
    builder
        .header("etag", &object.etag)
        .header("last-modified", http_date(object.modified))
        .header("x-goog-generation", object.generation)
        .header("x-goog-metageneration", 1)
        .header("x-goog-stored-content-length", object.data.len())
        .header("content-type", "application/octet-stream")
        .header("accept-ranges", "bytes")
}

fn xml(builder: hyper::http::response::Builder, body: String) -> Answer {
    builder
        .header("content-type", HeaderValue::from_static("application/xml"))
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_else(|_| empty(StatusCode::INTERNAL_SERVER_ERROR))
}

fn empty(status: StatusCode) -> Answer {
    let mut answer = Response::new(Full::default());
    *answer.status_mut() = status;
    answer
}

fn error(status: StatusCode, code: &str) -> Answer {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code>\
         <Message>{code}</Message></Error>"
    );
    let builder = Response::builder().status(status);
    xml(builder, body)
}

/// A quoted ETag from the content's SHA-256.
fn etag(chunks: &[&Bytes]) -> String {
    let mut context = digest::Context::new(&digest::SHA256);
    for chunk in chunks {
        context.update(chunk);
    }
    format!("\"{}\"", hex(&context.finish().as_ref()[..16]))
}

fn http_date(time: DateTime<Utc>) -> String {
    time.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

fn rfc3339(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn decode(raw: &str) -> Option<String> {
    percent_decode_str(raw)
        .decode_utf8()
        .ok()
        .map(|text| text.into_owned())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

fn unhex(text: &str) -> Option<String> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect();
    String::from_utf8(bytes?).ok()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Every text between `open` and the next `close`, in order.
fn between_all<'a>(text: &'a str, open: &str, close: &str) -> Vec<&'a str> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some((_, after)) = rest.split_once(open) {
        let Some((inside, next)) = after.split_once(close) else {
            break;
        };
        found.push(inside);
        rest = next;
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_follow_rfc_9110() {
        assert_eq!(byte_range("bytes=0-9", 100), Some(0..10));
        assert_eq!(byte_range("bytes=95-200", 100), Some(95..100));
        assert_eq!(byte_range("bytes=90-", 100), Some(90..100));
        assert_eq!(byte_range("bytes=-10", 100), Some(90..100));
        assert_eq!(byte_range("bytes=-200", 100), Some(0..100));
        assert_eq!(byte_range("bytes=100-", 100), None);
        assert_eq!(byte_range("bytes=0-0", 0), None);
        assert_eq!(byte_range("items=0-1", 100), None);
    }

    #[test]
    fn tokens_and_escapes_round_trip() {
        let key = "k a/b&<c>\"'ü";
        assert_eq!(unhex(&hex(key.as_bytes())).as_deref(), Some(key));
        assert_eq!(unescape(&escape(key)), key);
        assert_eq!(between_all("<a>1</a><a>2</a>", "<a>", "</a>"), ["1", "2"]);
    }
}
