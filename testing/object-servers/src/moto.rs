//! moto, a second S3 implementation (Python): one server per test binary on
//! 127.0.0.1 and a port of its choosing, a fresh bucket per test.
//!
//! moto accepts any credentials, so a test of wrong credentials belongs on
//! [`S3Server`](crate::S3Server), which checks signatures.

use crate::http;
use crate::process::{Launch, launch, tool};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The running moto server of this test process.
pub struct Moto {
    /// `http://127.0.0.1:<port>`, for path-style requests.
    pub endpoint: String,
    port: u16,
}

/// An empty bucket of its own for one test.
pub struct MotoBucket {
    pub endpoint: String,
    pub bucket: String,
    pub access_key: String,
    pub secret: String,
}

impl Moto {
    /// The server of this process, started on first use. Panics, saying
    /// how to install it, when moto is missing.
    pub fn shared() -> &'static Moto {
        static SHARED: OnceLock<Result<Moto, String>> = OnceLock::new();
        match SHARED.get_or_init(start) {
            Ok(moto) => moto,
            Err(message) => panic!("{message}"),
        }
    }

    /// Creates a bucket with a fresh name.
    pub fn bucket(&self) -> MotoBucket {
        let bucket = crate::unique_name("b").to_ascii_lowercase();
        let deadline = Instant::now() + Duration::from_secs(20);
        let answer = loop {
            match http::send(self.port, "PUT", &format!("/{bucket}"), &[], &[]) {
                Ok(answer) => break answer,
                Err(error) if Instant::now() > deadline => {
                    panic!("moto on port {} does not answer: {error}", self.port)
                }
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        };
        assert_eq!(answer.status, 200, "create bucket: {}", answer.body);
        MotoBucket {
            endpoint: self.endpoint.clone(),
            bucket,
            access_key: "ferry-moto-key".into(),
            secret: "ferry-moto-secret".into(),
        }
    }
}

impl MotoBucket {
    /// A client of the bucket itself, for seeding and checks.
    pub fn client(&self) -> AmazonS3 {
        AmazonS3Builder::new()
            .with_endpoint(&self.endpoint)
            .with_allow_http(true)
            .with_region("us-east-1")
            .with_bucket_name(&self.bucket)
            .with_access_key_id(&self.access_key)
            .with_secret_access_key(&self.secret)
            .build()
            .expect("S3 client")
    }
}

fn start() -> Result<Moto, String> {
    let program = tool("moto", "FERRY_MOTO", "moto/bin/moto_server")?;
    let scratch = std::env::temp_dir();
    let args = ["-H", "127.0.0.1", "-p", "0"];
    let port = launch(Launch {
        name: "moto",
        program,
        args: args.iter().map(|a| a.to_string()).collect(),
        cwd: &scratch,
        port_after: "http://127.0.0.1:",
    })?;
    Ok(Moto {
        endpoint: format!("http://127.0.0.1:{port}"),
        port,
    })
}
