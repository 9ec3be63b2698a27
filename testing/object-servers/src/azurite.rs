//! Azurite, Microsoft's Azure Blob emulator: one process per test binary
//! (blob service only, in memory, on 127.0.0.1 and a port of its choosing),
//! a fresh container per test.
//!
//! Containers are created with a SharedKey-signed request, since
//! `object_store` cannot create them.

use crate::http;
use crate::process::{Launch, launch, tool};
use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use object_store::azure::{MicrosoftAzure, MicrosoftAzureBuilder};
use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The emulator's well-known account.
pub const AZURITE_ACCOUNT: &str = "devstoreaccount1";
/// The emulator's well-known account key (public, documented by Microsoft).
pub const AZURITE_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
/// The REST API version the setup requests speak.
const API_VERSION: &str = "2023-11-03";

/// The running emulator of this test process.
pub struct Azurite {
    /// `http://127.0.0.1:<port>`, without the account.
    pub endpoint: String,
    port: u16,
}

/// An empty container of its own for one test.
pub struct AzureContainer {
    /// `http://127.0.0.1:<port>`, without the account.
    pub endpoint: String,
    pub account: String,
    pub key: String,
    pub container: String,
    port: u16,
}

impl Azurite {
    /// The emulator of this process, started on first use. Panics, saying
    /// how to install it, when Azurite is missing.
    pub fn shared() -> &'static Azurite {
        static SHARED: OnceLock<Result<Azurite, String>> = OnceLock::new();
        match SHARED.get_or_init(start) {
            Ok(azurite) => azurite,
            Err(message) => panic!("{message}"),
        }
    }

    /// Creates a container with a fresh name.
    pub fn container(&self) -> AzureContainer {
        let container = crate::unique_name("c").to_ascii_lowercase();
        let path = format!("/{AZURITE_ACCOUNT}/{container}?restype=container");
        let answer = self.signed("PUT", &path, &[]);
        assert_eq!(answer.status, 201, "create container: {}", answer.body);
        AzureContainer {
            endpoint: self.endpoint.clone(),
            account: AZURITE_ACCOUNT.to_owned(),
            key: AZURITE_KEY.to_owned(),
            container,
            port: self.port,
        }
    }

    /// Sends a SharedKey-signed request without a body, retrying while the
    /// emulator does not accept connections yet.
    fn signed(&self, method: &str, path: &str, extra: &[(&str, String)]) -> http::Answer {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let headers = signed_headers(method, path, extra);
            match http::send(self.port, method, path, &headers, &[]) {
                Ok(answer) => return answer,
                Err(error) if Instant::now() > deadline => {
                    panic!("Azurite on port {} does not answer: {error}", self.port)
                }
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }
}

impl AzureContainer {
    /// A client of the container itself, for seeding and checks.
    pub fn client(&self) -> MicrosoftAzure {
        MicrosoftAzureBuilder::new()
            .with_account(&self.account)
            .with_access_key(&self.key)
            .with_container_name(&self.container)
            .with_endpoint(format!("{}/{}", self.endpoint, self.account))
            .with_allow_http(true)
            .build()
            .expect("Azure client")
    }

    /// Stores an empty blob under any key, even one `object_store` cannot
    /// name (`dir/`, as other tools write for a folder). `key` must need no
    /// percent-encoding.
    pub fn put_raw_empty(&self, key: &str) {
        let azurite = Azurite {
            endpoint: self.endpoint.clone(),
            port: self.port,
        };
        let path = format!("/{}/{}/{key}", self.account, self.container);
        let extra = [("x-ms-blob-type", "BlockBlob".to_owned())];
        let answer = azurite.signed("PUT", &path, &extra);
        assert_eq!(answer.status, 201, "put {key}: {}", answer.body);
    }

    /// A container URL whose query is an account SAS token of this
    /// container's account (blob service, read, write, delete, list, add,
    /// create), valid for an hour.
    pub fn sas_url(&self) -> String {
        const VERSION: &str = "2021-06-08";
        let expiry = (chrono::Utc::now() + chrono::Duration::hours(1))
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string();
        let (permissions, services, types, protocols) = ("rwdlac", "b", "sco", "https,http");
        // Account, permissions, services, resource types, start, expiry,
        // IP range, protocols, version and encryption scope, each on a line.
        let to_sign = format!(
            "{}\n{permissions}\n{services}\n{types}\n\n{expiry}\n\n{protocols}\n{VERSION}\n\n",
            self.account
        );
        let key_bytes = STANDARD.decode(&self.key).expect("the account key");
        let key = hmac::Key::new(hmac::HMAC_SHA256, &key_bytes);
        let signature = STANDARD.encode(hmac::sign(&key, to_sign.as_bytes()).as_ref());
        let query: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("sv", VERSION)
            .append_pair("ss", services)
            .append_pair("srt", types)
            .append_pair("sp", permissions)
            .append_pair("se", &expiry)
            .append_pair("spr", protocols)
            .append_pair("sig", &signature)
            .finish();
        format!(
            "{}/{}/{}?{query}",
            self.endpoint, self.account, self.container
        )
    }

    /// Whether a blob is stored under exactly `key`, even one `object_store`
    /// cannot name. `key` must need no percent-encoding.
    pub fn has_blob(&self, key: &str) -> bool {
        let azurite = Azurite {
            endpoint: self.endpoint.clone(),
            port: self.port,
        };
        let path = format!("/{}/{}/{key}", self.account, self.container);
        let answer = azurite.signed("GET", &path, &[]);
        match answer.status {
            200 => true,
            404 => false,
            status => panic!("get {key}: {status} {}", answer.body),
        }
    }
}

fn start() -> Result<Azurite, String> {
    let program = tool(
        "Azurite",
        "FERRY_AZURITE",
        "azurite/node_modules/.bin/azurite-blob",
    )?;
    // In memory it writes nothing (checked), so its own directory will do;
    // `--location` cannot be combined with `--inMemoryPersistence`.
    let cwd = program
        .ancestors()
        .find(|dir| dir.file_name().is_some_and(|name| name == "node_modules"))
        .and_then(|modules| modules.parent())
        .map(Path::to_path_buf)
        .unwrap_or_else(std::env::temp_dir);
    let args = [
        "--blobHost",
        "127.0.0.1",
        "--blobPort",
        "0",
        "--inMemoryPersistence",
        "--disableTelemetry",
    ];
    let port = launch(Launch {
        name: "Azurite",
        program,
        args: args.iter().map(|a| a.to_string()).collect(),
        cwd: &cwd,
        port_after: "http://127.0.0.1:",
    })?;
    Ok(Azurite {
        endpoint: format!("http://127.0.0.1:{port}"),
        port,
    })
}

/// The date, version and SharedKey authorization headers of a request
/// without a body to the emulator's account.
fn signed_headers(method: &str, path: &str, extra: &[(&str, String)]) -> Vec<(String, String)> {
    let date = chrono::Utc::now()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    let mut ms_headers: Vec<(String, String)> = extra
        .iter()
        .map(|(name, value)| (name.to_ascii_lowercase(), value.clone()))
        .collect();
    ms_headers.push(("x-ms-date".into(), date.clone()));
    ms_headers.push(("x-ms-version".into(), API_VERSION.into()));
    ms_headers.sort();
    let canonical_headers: String = ms_headers
        .iter()
        .map(|(name, value)| format!("{name}:{value}\n"))
        .collect();
    let (resource, query) = path.split_once('?').unwrap_or((path, ""));
    // The emulator's account is in the path too, so it appears twice.
    let mut canonical_resource = format!("/{AZURITE_ACCOUNT}{resource}");
    let mut params: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.to_ascii_lowercase(), v.into_owned()))
        .collect();
    params.sort();
    for (name, value) in params {
        canonical_resource.push_str(&format!("\n{name}:{value}"));
    }
    // Verb, then eleven standard headers (all empty here, Content-Length
    // included since it is 0), then the x-ms- headers and the resource.
    let to_sign = format!(
        "{method}\n{}{canonical_headers}{canonical_resource}",
        "\n".repeat(11)
    );
    let key_bytes = STANDARD.decode(AZURITE_KEY).expect("the well-known key");
    let key = hmac::Key::new(hmac::HMAC_SHA256, &key_bytes);
    let signature = STANDARD.encode(hmac::sign(&key, to_sign.as_bytes()).as_ref());
    let authorization = format!("SharedKey {AZURITE_ACCOUNT}:{signature}");
    let mut headers = vec![("Authorization".to_owned(), authorization)];
    headers.extend(ms_headers);
    headers
}
