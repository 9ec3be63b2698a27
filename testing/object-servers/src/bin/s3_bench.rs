//! The S3 side of `bench/run`: an s3s-fs server the benchmark starts and
//! stops by PID, and a direct object_store client to compare Ferry with.
//!
//!   ferry-s3-bench serve --root DIR --port-file FILE
//!   ferry-s3-bench put --endpoint URL --key KEY --file PATH --part-size N --concurrency N
//!   ferry-s3-bench get --endpoint URL --key KEY --file PATH --block-size N --read-ahead N
//!
//! The server listens on 127.0.0.1:0 with the bucket `test` and the test
//! credentials of this crate, and writes its port to the port file. The
//! clients speak to an explicit `http://127.0.0.1:PORT` endpoint, path-style,
//! with those same credentials: nothing reads the environment, a profile or
//! a metadata address. `put` and `get` shape their requests as Ferry does for
//! an S3 user (multipart parts with a bound on those in flight; ranged reads
//! with read-ahead) and print one JSON line: bytes moved and peak RSS.
//!
//! Every process asks the kernel for SIGTERM when its parent ends, so none
//! outlives the benchmark.

use bytes::Bytes;
use clap::{Args, Parser, Subcommand};
use ferry_test_servers::{S3_ACCESS_KEY, S3_BUCKET, S3_SECRET, S3Server};
use futures::{StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as ObjectPath;
use object_store::{ClientOptions, ObjectStoreExt, PutPayload, WriteMultipart};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The smallest part S3 accepts (every part but the last).
const MIN_PART_SIZE: usize = 5 * 1024 * 1024;
/// The longest one request may take, as Ferry's default.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(300);
/// Bytes read from the local file at a time by `put`.
const READ_CHUNK: usize = 1024 * 1024;

#[derive(Parser)]
#[command(
    name = "ferry-s3-bench",
    about = "S3 server and direct client for bench/run"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serves s3s-fs over a directory on 127.0.0.1:0 until SIGTERM.
    Serve {
        /// The server's directory; the bucket is its subdirectory `test`.
        #[arg(long)]
        root: PathBuf,
        /// Where to write the port once listening.
        #[arg(long)]
        port_file: PathBuf,
    },
    /// Uploads a local file as one object, in parts as Ferry sends them.
    Put {
        #[command(flatten)]
        object: Object,
        /// Bytes per part of the multipart upload.
        #[arg(long)]
        part_size: usize,
        /// Parts in flight at once.
        #[arg(long)]
        concurrency: usize,
    },
    /// Downloads one object to a local file, in ranged reads as Ferry does.
    Get {
        #[command(flatten)]
        object: Object,
        /// Bytes per ranged read.
        #[arg(long)]
        block_size: u64,
        /// Blocks fetched ahead of the one being written.
        #[arg(long)]
        read_ahead: usize,
    },
}

#[derive(Args)]
struct Object {
    /// `http://127.0.0.1:PORT` of the server.
    #[arg(long)]
    endpoint: String,
    /// The object's key in the bucket.
    #[arg(long)]
    key: String,
    /// The local file read or written.
    #[arg(long)]
    file: PathBuf,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(error) = end_with_parent() {
        eprintln!("ferry-s3-bench: {error}");
        return ExitCode::FAILURE;
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("ferry-s3-bench: a Tokio runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let done = runtime.block_on(async {
        match cli.command {
            Command::Serve { root, port_file } => serve(&root, &port_file).await,
            Command::Put {
                object,
                part_size,
                concurrency,
            } => put(&object, part_size, concurrency).await,
            Command::Get {
                object,
                block_size,
                read_ahead,
            } => get(&object, block_size, read_ahead).await,
        }
    });
    match done {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("ferry-s3-bench: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Asks for SIGTERM when the parent ends, and ends now if it already has.
fn end_with_parent() -> Result<(), String> {
    use rustix::process::{Signal, getppid, set_parent_process_death_signal};
    let parent = getppid();
    set_parent_process_death_signal(Some(Signal::TERM))
        .map_err(|e| format!("asking for a signal at the parent's end: {e}"))?;
    if getppid() != parent {
        return Err("the parent process ended at start".into());
    }
    Ok(())
}

async fn serve(root: &Path, port_file: &Path) -> Result<(), String> {
    let server = S3Server::start_in(root).await?;
    let port = server
        .endpoint
        .rsplit_once(':')
        .map(|(_, port)| port.to_owned())
        .ok_or_else(|| format!("no port in {}", server.endpoint))?;
    // Written aside and renamed, so a reader never sees half a port.
    let partial = port_file.with_extension("partial");
    std::fs::write(&partial, format!("{port}\n"))
        .map_err(|e| format!("write {}: {e}", partial.display()))?;
    std::fs::rename(&partial, port_file)
        .map_err(|e| format!("rename to {}: {e}", port_file.display()))?;
    // SIGTERM's default action ends the process; until then, serve.
    std::future::pending::<()>().await;
    Ok(())
}

/// A client of the bucket from explicit settings only, path-style over
/// plain HTTP to a loopback endpoint.
fn client(endpoint: &str) -> Result<AmazonS3, String> {
    let loopback = endpoint
        .strip_prefix("http://127.0.0.1:")
        .is_some_and(|port| !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()));
    if !loopback {
        return Err(format!(
            "the endpoint must be http://127.0.0.1:PORT, not {endpoint:?}"
        ));
    }
    AmazonS3Builder::new()
        .with_endpoint(endpoint)
        .with_region("us-east-1")
        .with_bucket_name(S3_BUCKET)
        .with_access_key_id(S3_ACCESS_KEY)
        .with_secret_access_key(S3_SECRET)
        .with_virtual_hosted_style_request(false)
        .with_client_options(
            ClientOptions::new()
                .with_allow_http(true)
                .with_timeout(REQUEST_TIMEOUT)
                .with_connect_timeout(Duration::from_secs(10)),
        )
        .build()
        .map_err(|e| format!("S3 client: {e}"))
}

/// Sends the file as Ferry's writer does: one PUT when it is smaller than a
/// part, else a multipart upload with at most `concurrency` parts in flight.
async fn put(object: &Object, part_size: usize, concurrency: usize) -> Result<(), String> {
    if part_size < MIN_PART_SIZE {
        return Err(format!("--part-size must be at least {MIN_PART_SIZE}"));
    }
    if concurrency == 0 {
        return Err("--concurrency must be at least 1".into());
    }
    let store = client(&object.endpoint)?;
    let key = ObjectPath::from(object.key.as_str());
    let path = &object.file;
    let mut file = tokio::fs::File::open(path)
        .await
        .map_err(|e| format!("open {}: {e}", path.display()))?;
    let mut first = Vec::new();
    let mut first_len = 0;
    let mut upload: Option<WriteMultipart> = None;
    let mut total = 0u64;
    loop {
        let chunk = read_chunk(&mut file, path).await?;
        if chunk.is_empty() {
            break;
        }
        total += chunk.len() as u64;
        if let Some(upload) = upload.as_mut() {
            let room = upload.wait_for_capacity(concurrency).await;
            room.map_err(|e| format!("upload part: {e}"))?;
            upload.put(chunk);
            continue;
        }
        first_len += chunk.len();
        first.push(chunk);
        if first_len >= part_size {
            let started = store.put_multipart(&key).await;
            let started = started.map_err(|e| format!("start the upload: {e}"))?;
            let mut parts = WriteMultipart::new_with_chunk_size(started, part_size);
            first.drain(..).for_each(|data| parts.put(data));
            upload = Some(parts);
        }
    }
    match upload {
        Some(upload) => upload.finish().await.map(drop),
        None => {
            let payload: PutPayload = first.into_iter().collect();
            store.put(&key, payload).await.map(drop)
        }
    }
    .map_err(|e| format!("upload {}: {e}", object.key))?;
    report(total)
}

async fn read_chunk(file: &mut tokio::fs::File, path: &Path) -> Result<Bytes, String> {
    let mut buf = Vec::with_capacity(READ_CHUNK);
    while buf.len() < READ_CHUNK {
        let n = (&mut *file)
            .take((READ_CHUNK - buf.len()) as u64)
            .read_to_end(&mut buf)
            .await
            .map_err(|e| format!("read {}: {e}", path.display()))?;
        if n == 0 {
            break;
        }
    }
    Ok(Bytes::from(buf))
}

/// Reads the object as Ferry's reader does for a sequential client: ranged
/// GETs of `block_size`, the block being written plus `read_ahead` more in
/// flight, written to the file in order.
async fn get(object: &Object, block_size: u64, read_ahead: usize) -> Result<(), String> {
    if block_size == 0 {
        return Err("--block-size must be positive".into());
    }
    let store = client(&object.endpoint)?;
    let key = ObjectPath::from(object.key.as_str());
    let meta = store.head(&key).await;
    let size = meta.map_err(|e| format!("head {}: {e}", object.key))?.size;
    let path = &object.file;
    let mut file = tokio::fs::File::create(path)
        .await
        .map_err(|e| format!("create {}: {e}", path.display()))?;
    let store = &store;
    let key = &key;
    let blocks = futures::stream::iter((0..size).step_by(block_size as usize))
        .map(|start| async move {
            let end = (start + block_size).min(size);
            store.get_range(key, start..end).await
        })
        .buffered(1 + read_ahead)
        .map_err(|e| format!("read {}: {e}", object.key));
    futures::pin_mut!(blocks);
    let mut total = 0u64;
    while let Some(block) = blocks.try_next().await? {
        total += block.len() as u64;
        file.write_all(&block)
            .await
            .map_err(|e| format!("write {}: {e}", path.display()))?;
    }
    file.flush()
        .await
        .map_err(|e| format!("write {}: {e}", path.display()))?;
    if total != size {
        return Err(format!("read {total} bytes of {size}"));
    }
    report(total)
}

/// Prints what was moved and this process's peak RSS.
fn report(bytes: u64) -> Result<(), String> {
    let status = std::fs::read_to_string("/proc/self/status")
        .map_err(|e| format!("read /proc/self/status: {e}"))?;
    let peak_kib = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse::<u64>().ok())
        .ok_or("no VmHWM in /proc/self/status")?;
    println!("{{\"bytes\": {bytes}, \"peak_rss\": {}}}", peak_kib * 1024);
    Ok(())
}
