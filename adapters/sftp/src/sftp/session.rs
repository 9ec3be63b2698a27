//! One SFTP session on one SSH channel: the reader that decodes requests and
//! routes them, the state the workers share, and the orderly end.
//!
//! The reader runs inside russh's session task, as the connection's handler
//! receives data, so it never waits: replies go to the writer task through
//! an unbounded queue, requests to worker queues. What
//! bounds memory is the admission budget (requests and payload bytes held),
//! checked before a request is queued.

use super::reply::{self, Reply};
use super::request::{self, DecodeError, HandleId, HandleOp, PathOp, Request};
use super::wire::{Framer, Oversized};
use super::writer::{self, Budget};
use super::{SessionLimits, worker};
use ferry_ports::FileSession;
use russh::ChannelId;
use russh::server::Handle;
use russh_sftp::protocol::{StatusCode, VERSION};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::mpsc::{self, UnboundedSender};
use tokio::sync::{Notify, Semaphore};
use tracing::{debug, info};

/// A request bound for a handle's queue.
pub struct Job {
    pub id: u32,
    /// Budget bytes the request holds, returned with its reply.
    pub weight: usize,
    pub op: HandleOp,
}

/// A request bound for the path queue.
pub struct PathJob {
    pub id: u32,
    pub op: PathOp,
}

/// Keeps the session's end waiting until every worker has dropped it.
pub type WorkerGuard = mpsc::Sender<()>;

/// How the reader stopped.
#[derive(Debug, PartialEq, Eq)]
enum End {
    /// The client sent EOF: finish what was asked, then close.
    Eof,
    /// The channel is gone: abandon queued work.
    Closed,
    /// The client breaks the protocol's limits: close the channel.
    Refused(&'static str),
}

/// What the reader and the workers share.
pub struct Shared {
    pub fs: Arc<dyn FileSession>,
    pub limits: SessionLimits,
    /// Room for file data read and not yet handed to russh (bytes).
    pub read_room: Arc<Semaphore>,
    /// Declared before `replies`, so it is dropped first: the writer task
    /// takes the channel back once `replies` closes.
    output: Arc<writer::Shared>,
    replies: UnboundedSender<Reply>,
    table: Mutex<Option<HandleTable>>,
    aborted: AtomicBool,
}

#[derive(Default)]
struct HandleTable {
    queues: HashMap<HandleId, UnboundedSender<Job>>,
    next: HandleId,
}

impl Shared {
    pub fn send(&self, reply: Reply) {
        self.output.queue();
        // The writer is gone only when the channel is; nothing to tell then.
        let _ = self.replies.send(reply);
    }

    /// Sends `reply` from the calling worker when the writer is idle,
    /// through the writer task otherwise.
    pub async fn deliver(&self, reply: Reply) {
        if let Some(reply) = self.output.try_send(reply).await {
            self.send(reply);
        }
    }

    /// True once the channel is gone: queued work is dropped, not done.
    pub fn is_aborted(&self) -> bool {
        self.aborted.load(Ordering::Acquire)
    }

    fn table(&self) -> MutexGuard<'_, Option<HandleTable>> {
        self.table
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn open_handles(&self) -> usize {
        self.table().as_ref().map_or(0, |t| t.queues.len())
    }

    /// Registers a handle's queue and returns the handle's client string;
    /// `None` when the session is ending.
    pub fn insert(&self, queue: UnboundedSender<Job>) -> Option<String> {
        let mut guard = self.table();
        let table = guard.as_mut()?;
        table.next += 1;
        let id = table.next;
        table.queues.insert(id, queue);
        Some(format!("{id:x}"))
    }

    /// Queues `job` on its handle; gives it back when the handle is unknown.
    /// A CLOSE takes the handle out of the table: later requests on it fail.
    fn route(&self, handle: HandleId, job: Job) -> Result<(), Job> {
        let mut guard = self.table();
        let Some(table) = guard.as_mut() else {
            return Err(job);
        };
        let queue = if matches!(job.op, HandleOp::Close) {
            table.queues.remove(&handle)
        } else {
            table.queues.get(&handle).cloned()
        };
        match queue {
            Some(queue) => queue.send(job).map_err(|failed| failed.0),
            None => Err(job),
        }
    }

    /// Ends every handle: their workers finish (or drop) what is queued and
    /// release the handle without committing it.
    fn close_table(&self) {
        self.table().take();
    }
}

/// One SFTP session on one SSH channel. The connection's handler feeds it
/// what the client sends, in russh's session task: packets are decoded and
/// routed there, without a hop through a task of their own. Dropping it
/// (the channel or the connection closed) abandons queued work.
pub struct Session {
    /// `None` once the session stopped reading.
    reader: Option<Reader>,
    /// Taken by the task that ends the channel.
    ending: Option<Ending>,
    /// Notified when the channel is gone, for an end that is still sending.
    closed: Arc<Notify>,
}

/// Starts SFTP on channel `id` of the connection `ssh`. `guard` is held
/// until every worker of the session has ended.
pub fn start(
    fs: Arc<dyn FileSession>,
    ssh: Handle,
    id: ChannelId,
    limits: SessionLimits,
    guard: mpsc::Sender<()>,
) -> Session {
    let (reply_tx, reply_rx) = mpsc::unbounded_channel();
    let budget = Arc::new(Budget::default());
    let out = writer::Output::new(ssh.clone(), id);
    let output = Arc::new(writer::Shared::new(out, budget.clone()));
    let writer = tokio::spawn(writer::run(output.clone(), reply_rx));
    let shared = Arc::new(Shared {
        fs,
        limits,
        read_room: Arc::new(Semaphore::new(limits.max_reply_bytes)),
        output,
        replies: reply_tx,
        table: Mutex::new(Some(HandleTable::default())),
        aborted: AtomicBool::new(false),
    });
    let (workers, all_done) = mpsc::channel::<()>(1);
    let (path_tx, path_rx) = mpsc::unbounded_channel();
    tokio::spawn(worker::paths(shared.clone(), path_rx, workers));
    let closed = Arc::new(Notify::new());
    Session {
        reader: Some(Reader {
            framer: Framer::new(limits.max_packet_len),
            shared,
            budget,
            paths: path_tx,
            packets: Vec::with_capacity(16),
            version_sent: false,
        }),
        ending: Some(Ending {
            writer,
            all_done,
            closed: closed.clone(),
            ssh,
            id,
            _guard: guard,
        }),
        closed,
    }
}

impl Session {
    /// Takes bytes the client sent on the channel.
    pub fn data(&mut self, data: &[u8]) {
        let Some(reader) = &mut self.reader else {
            return;
        };
        if let Err(end) = reader.feed(data) {
            self.end(end);
        }
    }

    /// The client sent EOF: what it asked for is finished, then the
    /// channel is closed.
    pub fn eof(&mut self) {
        self.end(End::Eof);
    }

    fn end(&mut self, end: End) {
        let Some(reader) = self.reader.take() else {
            return;
        };
        reader.stop(&end);
        drop(reader);
        let Some(ending) = self.ending.take() else {
            return;
        };
        // Without a runtime (it is shutting down) the workers end as their
        // queues close; dropping `ending` releases its guard.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(ending.finish(end));
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.end(End::Closed);
        self.closed.notify_one();
    }
}

/// What is left of a session once its reader has stopped.
struct Ending {
    writer: tokio::task::JoinHandle<Result<(), russh::Error>>,
    all_done: mpsc::Receiver<()>,
    closed: Arc<Notify>,
    ssh: Handle,
    id: ChannelId,
    _guard: mpsc::Sender<()>,
}

impl Ending {
    /// Waits for every worker (so no handle outlives the session) and ends
    /// the channel the way the reader's end calls for.
    async fn finish(mut self, end: End) {
        match end {
            End::Eof => {
                let abort = self.writer.abort_handle();
                // Replies still queued go out unless the channel dies
                // meanwhile; the writer ends once every worker has.
                let flushed = tokio::select! {
                    result = self.writer => matches!(result, Ok(Ok(()))),
                    () = self.closed.notified() => false,
                };
                abort.abort();
                while self.all_done.recv().await.is_some() {}
                if flushed {
                    let _ = self.ssh.exit_status_request(self.id, 0).await;
                    let _ = self.ssh.eof(self.id).await;
                    let _ = self.ssh.close(self.id).await;
                }
            }
            End::Closed => {
                self.writer.abort();
                while self.all_done.recv().await.is_some() {}
            }
            End::Refused(reason) => {
                self.writer.abort();
                info!(reason, "closing SFTP channel");
                let close = self.ssh.close(self.id);
                let _ = tokio::time::timeout(Duration::from_secs(5), close).await;
                while self.all_done.recv().await.is_some() {}
            }
        }
    }
}

/// Decodes packets and routes them; owns the admission budget's input side.
struct Reader {
    framer: Framer,
    shared: Arc<Shared>,
    budget: Arc<Budget>,
    paths: UnboundedSender<PathJob>,
    /// Packets framed from one chunk, kept to reuse its allocation.
    packets: Vec<bytes::Bytes>,
    version_sent: bool,
}

/// Whether a request may be queued.
enum Admission {
    Accepted,
    /// Answered with FAILURE already.
    Rejected,
}

impl Reader {
    /// Decodes and routes the packets `data` completes.
    fn feed(&mut self, data: &[u8]) -> Result<(), End> {
        let mut packets = std::mem::take(&mut self.packets);
        let fed = self.framer.feed(data, &mut packets);
        let mut routed = Ok(());
        for packet in packets.drain(..) {
            if routed.is_ok() {
                routed = self.dispatch(packet);
            }
        }
        self.packets = packets;
        if let Err(Oversized(len)) = fed {
            debug!(len, "SFTP packet over the size limit");
            return Err(End::Refused("packet too large"));
        }
        routed
    }

    /// Stops intake: the path queue and every handle queue close, so the
    /// workers end once they have drained (or, after an abort, dropped) them.
    fn stop(&self, end: &End) {
        if *end != End::Eof {
            self.shared.aborted.store(true, Ordering::Release);
            // Workers waiting for room stop waiting: their work is dropped.
            self.shared.read_room.close();
        }
        self.shared.close_table();
    }

    fn dispatch(&mut self, packet: bytes::Bytes) -> Result<(), End> {
        let request = request::decode(packet);
        // SFTP v3 section 4: the client's first packet is INIT.
        if !self.version_sent && !matches!(request, Ok(Request::Init { .. })) {
            debug!("an SFTP request before SSH_FXP_INIT");
            return Err(End::Refused("request before SSH_FXP_INIT"));
        }
        match request {
            Ok(Request::Init { version }) => self.init(version),
            Ok(Request::Handle(id, handle, op)) => self.on_handle(id, &handle, op)?,
            Ok(Request::Path(id, op)) => {
                if let Admission::Accepted = self.admit(id, 0)? {
                    let _ = self.paths.send(PathJob { id, op });
                }
            }
            Ok(Request::Unsupported(id)) => {
                self.answer(id, StatusCode::OpUnsupported, "operation unsupported")?;
            }
            Err(DecodeError::Malformed(id)) => {
                self.answer(id, StatusCode::BadMessage, "malformed request")?;
            }
            Err(DecodeError::NoId) => debug!("ignoring an SFTP packet too short to answer"),
        }
        Ok(())
    }

    fn init(&mut self, client_version: u32) {
        if self.version_sent {
            debug!("ignoring a repeated SSH_FXP_INIT");
            return;
        }
        self.version_sent = true;
        debug!(client_version, "SFTP session initialised");
        self.budget.requests.fetch_add(1, Ordering::AcqRel);
        let packet = reply::version(VERSION, request::EXTENSIONS);
        self.shared.send(Reply::packet(packet));
    }

    /// Answers at once with a status, within the request budget.
    fn answer(&mut self, id: u32, code: StatusCode, message: &'static str) -> Result<(), End> {
        if let Admission::Accepted = self.admit(id, 0)? {
            self.shared.send(Reply::status(id, code, message));
        }
        Ok(())
    }

    fn on_handle(&mut self, id: u32, handle: &[u8], mut op: HandleOp) -> Result<(), End> {
        let weight = match &mut op {
            HandleOp::Read { len, .. } => {
                *len = (*len).min(self.shared.limits.max_read_len);
                *len as usize
            }
            HandleOp::Write { data, .. } => data.len(),
            _ => 0,
        };
        if let Admission::Rejected = self.admit(id, weight)? {
            return Ok(());
        }
        let job = Job { id, weight, op };
        let routed = match parse_handle(handle) {
            Some(handle) => self.shared.route(handle, job),
            None => Err(job),
        };
        if let Err(job) = routed {
            let reply = Reply::status(job.id, StatusCode::Failure, "invalid handle");
            self.shared.send(reply.with_weight(job.weight));
        }
        Ok(())
    }

    /// Counts a request in, or answers FAILURE when the session holds too
    /// much. A client that keeps sending while never reading its replies
    /// piles up refusals too; past twice the cap the channel is closed.
    fn admit(&mut self, id: u32, weight: usize) -> Result<Admission, End> {
        let limits = &self.shared.limits;
        let held = self.budget.requests.load(Ordering::Acquire);
        if held >= limits.max_requests.saturating_mul(2) {
            return Err(End::Refused("client does not read its replies"));
        }
        self.budget.requests.fetch_add(1, Ordering::AcqRel);
        let bytes = self.budget.bytes.load(Ordering::Acquire);
        // One request alone is always let through, however large.
        let over_bytes = bytes > 0 && bytes.saturating_add(weight) > limits.max_bytes;
        if held >= limits.max_requests || over_bytes {
            debug!(held, bytes, "SFTP request over the session's budget");
            let message = "too many outstanding requests";
            self.shared
                .send(Reply::status(id, StatusCode::Failure, message));
            return Ok(Admission::Rejected);
        }
        self.budget.bytes.fetch_add(weight, Ordering::AcqRel);
        Ok(Admission::Accepted)
    }
}

/// Handles are the lowercase hexadecimal numbers [`Shared::insert`] hands
/// out; any other spelling names no handle.
fn parse_handle(raw: &[u8]) -> Option<HandleId> {
    let canonical = matches!(raw.first(), Some(b'1'..=b'9' | b'a'..=b'f'))
        && raw.len() <= 16
        && raw.iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    if !canonical {
        return None;
    }
    let text = std::str::from_utf8(raw).ok()?;
    HandleId::from_str_radix(text, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_parse_back() {
        assert_eq!(parse_handle(b"1f"), Some(31));
        assert_eq!(parse_handle(b""), None);
        assert_eq!(parse_handle(b"zz"), None);
        assert_eq!(parse_handle(b"+1"), None);
        assert_eq!(parse_handle(b"01"), None);
        assert_eq!(parse_handle(b"1F"), None);
        assert_eq!(parse_handle(&[b'1'; 17]), None);
    }
}
