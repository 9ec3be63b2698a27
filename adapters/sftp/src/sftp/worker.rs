//! The workers that turn requests into `FileSession` and `FileHandle` calls:
//! one path queue per session and one queue per open handle, each run in
//! arrival order (draft-ietf-secsh-filexfer-02, section 6.1: requests on
//! the same file keep their order; different files may interleave).

use super::attrs;
use super::reply::{self, Reply};
use super::request::{HandleOp, PathOp};
use super::session::{Job, PathJob, Shared, WorkerGuard};
use ferry_domain::{Error, Result};
use ferry_ports::{DirEntry, DirStream, FileHandle, OpenOptions};
use futures::StreamExt;
use russh_sftp::protocol::{FileAttributes, OpenFlags, StatusCode};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc::{self, UnboundedReceiver};
use tokio::sync::{AcquireError, OwnedSemaphorePermit};

/// Most entries in one SSH_FXP_NAME reply to READDIR.
const DIR_BATCH_ENTRIES: usize = 100;
/// Rough cap on one READDIR reply, far below the client's packet limit.
const DIR_BATCH_BYTES: usize = 64 * 1024;

/// Runs path requests one after the other. OPEN and OPENDIR start the
/// handle workers, which inherit `guard`.
// LIMITATION: path requests are not ordered against requests still queued
// on handles (a RENAME pipelined behind WRITEs to the same file may run
// first); OpenSSH's client waits for its writes before such requests.
pub async fn paths(shared: Arc<Shared>, mut jobs: UnboundedReceiver<PathJob>, guard: WorkerGuard) {
    while let Some(job) = jobs.recv().await {
        if shared.is_aborted() {
            break;
        }
        let reply = path_op(&shared, job.id, job.op, &guard).await;
        shared.deliver(reply).await;
    }
}

async fn path_op(shared: &Arc<Shared>, id: u32, op: PathOp, guard: &WorkerGuard) -> Reply {
    let fs = &shared.fs;
    let result = match op {
        PathOp::Open { path, flags, attrs } => {
            open_file(shared, id, &path, flags, &attrs, guard).await
        }
        PathOp::OpenDir(path) => open_dir(shared, id, &path, guard).await,
        PathOp::Stat(path) => fs.stat(&path).await.map(|m| attrs_reply(id, &m)),
        PathOp::Lstat(path) => fs.lstat(&path).await.map(|m| attrs_reply(id, &m)),
        PathOp::SetStat(path, attrs) => set_stat(shared, &path, &attrs)
            .await
            .map(|()| Reply::ok(id)),
        PathOp::Remove(path) => fs.remove(&path).await.map(|()| Reply::ok(id)),
        PathOp::MkDir(path, attrs) => {
            let mode = attrs::create_permissions(&attrs);
            fs.mkdir(&path, mode).await.map(|()| Reply::ok(id))
        }
        PathOp::RmDir(path) => fs.rmdir(&path).await.map(|()| Reply::ok(id)),
        PathOp::RealPath(path) => fs.realpath(&path).map(|p| name_reply(id, &p)),
        PathOp::ExpandPath(path) => expand_path(shared, &path).map(|p| name_reply(id, &p)),
        PathOp::Rename { from, to, replace } => {
            fs.rename(&from, &to, replace).await.map(|()| Reply::ok(id))
        }
        PathOp::ReadLink(path) => fs.readlink(&path).await.map(|t| name_reply(id, &t)),
        PathOp::Symlink { target, link } => {
            fs.symlink(&target, &link).await.map(|()| Reply::ok(id))
        }
        PathOp::StatVfs(path) => fs
            .statvfs(&path)
            .await
            .map(|st| packet(reply::statvfs(id, &st))),
        PathOp::Limits => Ok(limits_reply(shared, id)),
    };
    result.unwrap_or_else(|error| refusal(id, &error))
}

fn refusal(id: u32, error: &Error) -> Reply {
    tracing::debug!(kind = ?error.kind(), message = error.message(), "SFTP request refused");
    Reply::error(id, error)
}

fn packet(bytes: bytes::Bytes) -> Reply {
    Reply::packet(bytes)
}

fn attrs_reply(id: u32, meta: &ferry_ports::Metadata) -> Reply {
    packet(reply::attrs(id, meta))
}

fn name_reply(id: u32, name: &str) -> Reply {
    packet(reply::single_name(id, name))
}

/// `limits@openssh.com`: the sizes OpenSSH's own server announces.
fn limits_reply(shared: &Shared, id: u32) -> Reply {
    let limits = &shared.limits;
    let fields = [
        limits.announced_packet_len as u64,
        u64::from(limits.max_read_len),
        u64::from(limits.max_read_len),
        limits.max_open_handles as u64,
    ];
    packet(reply::extended_u64s(id, &fields))
}

/// `expand-path@openssh.com`: `~` is the user's home, which is `/`.
fn expand_path(shared: &Shared, path: &str) -> Result<String> {
    let expanded = match path.strip_prefix('~') {
        Some("") => "/".to_owned(),
        Some(rest) if rest.starts_with('/') => rest.to_owned(),
        Some(_) => return Err(Error::unsupported("other users' home directories")),
        None => path.to_owned(),
    };
    shared.fs.realpath(&expanded)
}

async fn set_stat(shared: &Shared, path: &str, attrs: &FileAttributes) -> Result<()> {
    let set = attrs::to_set_attributes(attrs);
    if set.is_empty() {
        return Ok(());
    }
    shared.fs.set_attributes(path, &set).await
}

fn open_options(flags: OpenFlags, attrs: &FileAttributes) -> OpenOptions {
    let write = flags.contains(OpenFlags::WRITE);
    let create = flags.contains(OpenFlags::CREATE);
    OpenOptions {
        // As OpenSSH: a request for neither reading nor writing reads.
        read: flags.contains(OpenFlags::READ) || !write,
        write,
        append: flags.contains(OpenFlags::APPEND),
        create,
        truncate: flags.contains(OpenFlags::TRUNCATE),
        exclusive: create && flags.contains(OpenFlags::EXCLUDE),
        permissions: attrs::create_permissions(attrs),
    }
}

fn check_handle_room(shared: &Shared) -> Result<()> {
    if shared.open_handles() >= shared.limits.max_open_handles {
        return Err(Error::conflict("too many open handles"));
    }
    Ok(())
}

async fn open_file(
    shared: &Arc<Shared>,
    id: u32,
    path: &str,
    flags: OpenFlags,
    attrs: &FileAttributes,
    guard: &WorkerGuard,
) -> Result<Reply> {
    check_handle_room(shared)?;
    let file = shared.fs.open(path, open_options(flags, attrs)).await?;
    start_handle(shared, id, Open::File(file), guard)
}

async fn open_dir(shared: &Arc<Shared>, id: u32, path: &str, guard: &WorkerGuard) -> Result<Reply> {
    check_handle_room(shared)?;
    let stream = shared.fs.read_dir(path).await?;
    let dir = Dir {
        stream,
        held: None,
        finished: false,
    };
    start_handle(shared, id, Open::Dir(Box::new(dir)), guard)
}

/// Gives the open object its own queue and worker, and the client a handle.
fn start_handle(shared: &Arc<Shared>, id: u32, open: Open, guard: &WorkerGuard) -> Result<Reply> {
    let (queue, jobs) = mpsc::unbounded_channel();
    let Some(handle) = shared.insert(queue) else {
        return Err(Error::invalid("the session is closing"));
    };
    tokio::spawn(handle_worker(shared.clone(), open, jobs, guard.clone()));
    Ok(packet(reply::handle(id, &handle)))
}

/// What a handle refers to.
enum Open {
    File(Arc<dyn FileHandle>),
    Dir(Box<Dir>),
}

/// A directory being listed: the stream, and an entry (or error) read ahead
/// that did not fit in the previous reply.
struct Dir {
    stream: DirStream,
    held: Option<Result<DirEntry>>,
    finished: bool,
}

/// Runs one handle's requests in order. When the queue closes (CLOSE, or
/// the session ended) the object is dropped: a handle that was not closed
/// is released without being committed.
async fn handle_worker(
    shared: Arc<Shared>,
    mut open: Open,
    mut jobs: UnboundedReceiver<Job>,
    _guard: WorkerGuard,
) {
    while let Some(job) = jobs.recv().await {
        if shared.is_aborted() {
            break;
        }
        let Ok(room) = read_room(&shared, &job.op).await else {
            break;
        };
        let reply = match &mut open {
            Open::File(file) => file_op(file.as_ref(), job.id, job.op).await,
            Open::Dir(dir) => dir_op(dir, job.id, job.op).await,
        };
        let reply = reply.with_weight(job.weight).with_room(room);
        shared.deliver(reply).await;
    }
}

/// Waits until the session has room for the data a READ asks for; the
/// reply holds that room until russh has taken it. Only this waits, never
/// the reader, so requests keep being accepted meanwhile. An error means
/// the session is gone.
async fn read_room(
    shared: &Shared,
    op: &HandleOp,
) -> std::result::Result<Option<OwnedSemaphorePermit>, AcquireError> {
    let HandleOp::Read { len, .. } = op else {
        return Ok(None);
    };
    // The reader caps `len` at `max_read_len`, which the room always holds.
    let want = (*len).min(u32::try_from(shared.limits.max_reply_bytes).unwrap_or(u32::MAX));
    let room = shared.read_room.clone().acquire_many_owned(want).await?;
    Ok(Some(room))
}

async fn file_op(file: &dyn FileHandle, id: u32, op: HandleOp) -> Reply {
    let result = match op {
        HandleOp::Read { offset, len } => match file.read_at(offset, len as usize).await {
            Ok(data) if data.is_empty() => Ok(Reply::eof(id)),
            Ok(payload) => Ok(Reply::data(id, payload)),
            Err(error) => Err(error),
        },
        HandleOp::Write { offset, data } => {
            file.write_at(offset, data).await.map(|()| Reply::ok(id))
        }
        HandleOp::Close => file.close().await.map(|()| Reply::ok(id)),
        HandleOp::Fstat => file.metadata().await.map(|m| attrs_reply(id, &m)),
        HandleOp::Fsetstat(attrs) => {
            let set = attrs::to_set_attributes(&attrs);
            if set.is_empty() {
                Ok(Reply::ok(id))
            } else {
                file.set_attributes(&set).await.map(|()| Reply::ok(id))
            }
        }
        HandleOp::Readdir => Ok(Reply::status(
            id,
            StatusCode::Failure,
            "not a directory handle",
        )),
    };
    result.unwrap_or_else(|error| refusal(id, &error))
}

async fn dir_op(dir: &mut Dir, id: u32, op: HandleOp) -> Reply {
    match op {
        HandleOp::Readdir => match dir.next_batch().await {
            Ok(entries) if entries.is_empty() => Reply::eof(id),
            Ok(entries) => packet(reply::names(id, &entries, unix_now())),
            Err(error) => refusal(id, &error),
        },
        HandleOp::Close => {
            dir.finished = true;
            Reply::ok(id)
        }
        _ => Reply::status(id, StatusCode::Failure, "not a file handle"),
    }
}

impl Dir {
    /// Up to one reply's worth of entries; empty once the listing is done.
    /// An error is reported alone, after the entries read before it.
    async fn next_batch(&mut self) -> Result<Vec<DirEntry>> {
        let mut entries = Vec::new();
        let mut size = 0;
        while entries.len() < DIR_BATCH_ENTRIES {
            let item = match self.held.take() {
                Some(item) => item,
                None if self.finished => break,
                None => match self.stream.next().await {
                    Some(item) => item,
                    None => {
                        self.finished = true;
                        break;
                    }
                },
            };
            let entry = match item {
                Ok(entry) => entry,
                Err(error) if entries.is_empty() => return Err(error),
                Err(error) => {
                    self.held = Some(Err(error));
                    break;
                }
            };
            let len = reply::name_entry_len(&entry);
            if !entries.is_empty() && size + len > DIR_BATCH_BYTES {
                self.held = Some(Ok(entry));
                break;
            }
            size += len;
            entries.push(entry);
        }
        Ok(entries)
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
