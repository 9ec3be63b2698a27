//! Loopback throughput with OpenSSH's `sftp` (ignored by default; run with
//! `cargo test --release -p ferry-sftp --test throughput -- --ignored
//! --nocapture`, with TMPDIR on a tmpfs to take the disk out).
//!
//! Environment: FERRY_BENCH_MIB file size (default 256), FERRY_BENCH_RUNS
//! runs per cell (default 3), FERRY_BENCH_ARGS extra `sftp` arguments
//! (`-B 32768`, for instance), FERRY_BENCH_REFERENCE `user@host port key`
//! of a reference server (an OpenSSH sshd the caller started on loopback)
//! measured in the same loop, interleaved, in its start directory.

mod common;

use common::{TestServer, random_file, same_contents, text};
use std::path::Path;
use std::time::{Duration, Instant};

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Where a run goes: the server under test or the reference.
enum Target<'a> {
    Ferry(&'a TestServer),
    Reference {
        destination: String,
        port: String,
        key: String,
    },
}

impl Target<'_> {
    fn name(&self) -> &'static str {
        match self {
            Target::Ferry(_) => "ferry",
            Target::Reference { .. } => "reference",
        }
    }

    async fn timed(&self, work: &Path, batch: &str, args: &[&str]) -> Duration {
        let started = Instant::now();
        let out = match self {
            Target::Ferry(server) => server.sftp(batch, args, Duration::from_secs(600)).await,
            Target::Reference {
                destination,
                port,
                key,
            } => {
                let batch_path = work.join("reference-batch");
                std::fs::write(&batch_path, batch).unwrap();
                let mut cmd = tokio::process::Command::new("sftp");
                cmd.arg("-b").arg(&batch_path);
                cmd.args(["-F", "/dev/null", "-o", "StrictHostKeyChecking=no"]);
                cmd.args([
                    "-o",
                    "UserKnownHostsFile=/dev/null",
                    "-o",
                    "IdentitiesOnly=yes",
                ]);
                cmd.args(["-o", "LogLevel=ERROR", "-i", key, "-P", port]);
                cmd.args(args).arg(destination).current_dir(work);
                common::run(cmd, Duration::from_secs(600)).await
            }
        };
        assert!(
            out.status.success(),
            "{}: {}",
            self.name(),
            text(&out.stderr)
        );
        started.elapsed()
    }
}

fn reference() -> Option<Target<'static>> {
    let spec = std::env::var("FERRY_BENCH_REFERENCE").ok()?;
    let mut parts = spec.split_whitespace().map(str::to_owned);
    Some(Target::Reference {
        destination: parts.next()?,
        port: parts.next()?,
        key: parts.next()?,
    })
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "benchmark"]
async fn loopback_throughput() {
    let mib = env_number("FERRY_BENCH_MIB", 256);
    let runs = env_number("FERRY_BENCH_RUNS", 3);
    let extra = std::env::var("FERRY_BENCH_ARGS").unwrap_or_default();
    let server = TestServer::start().await;
    let work = server.work.path().to_owned();
    random_file(&work.join("payload"), mib << 20, 9);
    let mut targets = vec![Target::Ferry(&server)];
    targets.extend(reference());
    for cipher in ["aes128-gcm@openssh.com", "chacha20-poly1305@openssh.com"] {
        let option = format!("Ciphers={cipher}");
        let mut args = vec!["-o", option.as_str()];
        args.extend(extra.split_whitespace());
        for run in 1..=runs {
            for target in &targets {
                let up = target.timed(&work, "put payload\n", &args).await;
                let down = target.timed(&work, "get payload back\n", &args).await;
                assert!(same_contents(&work.join("payload"), &work.join("back")));
                let rate = |d: Duration| (mib << 20) as f64 / d.as_secs_f64() / 1e6;
                println!(
                    "{cipher} {} run {run}: upload {:.0} MB/s, download {:.0} MB/s ({mib} MiB)",
                    target.name(),
                    rate(up),
                    rate(down)
                );
            }
        }
    }
    server.stop().await;
}
