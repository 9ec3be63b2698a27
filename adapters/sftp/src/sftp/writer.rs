//! The writer half of an SFTP session. A worker whose reply finds the writer
//! idle sends it itself; otherwise the reply is queued for the writer task,
//! which coalesces what is queued into one SSH data message. Either way the
//! reader never waits for the client's window. Large read payloads go out
//! without a copy. A DATA reply gives its read room back (see
//! `SessionLimits::max_reply_bytes`) when it is dropped here, once russh
//! has taken its bytes.

use super::reply::{Body, Reply, put_data_header, put_status};
use bytes::{Bytes, BytesMut};
use russh::ChannelId;
use russh::server::Handle;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::mpsc::UnboundedReceiver;

/// Replies are gathered up to one SSH packet's worth (OpenSSH's channel
/// packet size) before they are handed to russh.
const BATCH_BYTES: usize = 32 * 1024;

/// Most replies taken from the queue before the budget is given back.
const BATCH_REPLIES: usize = 256;

/// What the session holds: requests admitted and not yet answered, and the
/// payload bytes they carry or asked for. The reader adds, the writer
/// subtracts once a reply has left.
#[derive(Debug, Default)]
pub struct Budget {
    pub requests: AtomicUsize,
    pub bytes: AtomicUsize,
}

impl Budget {
    fn release(&self, requests: usize, bytes: usize) {
        self.requests.fetch_sub(requests, Ordering::AcqRel);
        self.bytes.fetch_sub(bytes, Ordering::AcqRel);
    }
}

/// Where reply bytes go: russh's session queue.
///
/// Bytes are handed over with `Handle::data`, not the channel's own writer:
/// the channel's writer waits for window itself, in this task, and passes
/// at most one SSH packet (32 KiB for OpenSSH) per message, so every window
/// adjustment took a round trip through two tasks before data moved again.
/// russh's session keeps what the window does not take yet and sends it as
/// soon as the adjustment arrives, in the same task that read it; while it
/// holds such data it takes no new messages, so this task waits there and
/// at most its queue (`event_buffer_size` messages) is held.
// LIMITATION: while one channel's client does not open its window, russh
// holds every channel's output on that connection, so SFTP sessions
// multiplexed over one SSH connection stall together.
pub struct Output {
    ssh: Handle,
    id: ChannelId,
}

impl Output {
    pub fn new(ssh: Handle, id: ChannelId) -> Self {
        Self { ssh, id }
    }

    async fn data(&self, bytes: Bytes) -> Result<(), russh::Error> {
        self.ssh
            .data(self.id, bytes)
            .await
            .map_err(|_| russh::Error::SendError)
    }
}

/// Sends replies until every sender is gone.
pub async fn run(
    shared: Arc<Shared>,
    mut replies: UnboundedReceiver<Reply>,
) -> Result<(), russh::Error> {
    while let Some(first) = replies.recv().await {
        let mut writer = shared.writer.lock().await;
        let mut next = Some(first);
        let mut taken = 0;
        while let Some(reply) = next.take() {
            shared.queued.fetch_sub(1, Ordering::AcqRel);
            writer.append(reply).await?;
            taken += 1;
            if taken < BATCH_REPLIES {
                next = replies.try_recv().ok();
            }
        }
        writer.flush().await?;
    }
    Ok(())
}

/// The writer, shared by its task and the workers: a worker whose reply
/// finds the writer idle and nothing queued sends it itself, which saves
/// the reply a hop through the writer task.
pub struct Shared {
    writer: tokio::sync::Mutex<Writer>,
    /// Replies queued for the writer task and not yet taken.
    queued: AtomicUsize,
}

impl Shared {
    pub fn new(output: Output, budget: Arc<Budget>) -> Self {
        let writer = Writer {
            output,
            budget,
            out: BytesMut::with_capacity(BATCH_BYTES),
            pending: (0, 0),
        };
        Self {
            writer: tokio::sync::Mutex::new(writer),
            queued: AtomicUsize::new(0),
        }
    }

    /// Counts a reply about to be queued for the writer task.
    pub fn queue(&self) {
        self.queued.fetch_add(1, Ordering::AcqRel);
    }

    /// Sends `reply` at once when the writer is idle with nothing queued;
    /// gives it back otherwise.
    pub async fn try_send(&self, reply: Reply) -> Option<Reply> {
        if self.queued.load(Ordering::Acquire) > 0 {
            return Some(reply);
        }
        let Ok(mut writer) = self.writer.try_lock() else {
            return Some(reply);
        };
        // A failure means the channel is gone; the writer task sees it too.
        if writer.append(reply).await.is_ok() {
            let _ = writer.flush().await;
        }
        None
    }
}

/// The channel, the batch being gathered and the budget of the replies in
/// it, given back once they are handed to russh.
struct Writer {
    output: Output,
    budget: Arc<Budget>,
    out: BytesMut,
    /// Replies (count, payload bytes) in `out`, not yet sent.
    pending: (usize, usize),
}

impl Writer {
    async fn append(&mut self, reply: Reply) -> Result<(), russh::Error> {
        if self.out.len() + reply.wire_len().min(BATCH_BYTES) > BATCH_BYTES {
            self.flush().await?;
        }
        let weight = reply.weight;
        match reply.body {
            Body::Status { id, code, message } => put_status(&mut self.out, id, code, &message),
            Body::Packet(packet) if packet.len() >= BATCH_BYTES => {
                self.output.data(packet).await?;
                self.budget.release(1, weight);
                return Ok(());
            }
            Body::Packet(packet) => self.out.extend_from_slice(&packet),
            Body::Data { id, payload } => {
                // The header shares an SSH packet with the start of the
                // payload; the rest is passed on as it came from storage.
                put_data_header(&mut self.out, id, payload.len());
                let room = BATCH_BYTES
                    .saturating_sub(self.out.len())
                    .min(payload.len());
                self.out.extend_from_slice(&payload[..room]);
                if room < payload.len() {
                    self.flush().await?;
                    self.output.data(payload.slice(room..)).await?;
                    self.budget.release(1, weight);
                    return Ok(());
                }
            }
        }
        self.pending.0 += 1;
        self.pending.1 += weight;
        Ok(())
    }

    async fn flush(&mut self) -> Result<(), russh::Error> {
        if !self.out.is_empty() {
            self.output.data(self.out.split().freeze()).await?;
        }
        let (count, weight) = std::mem::take(&mut self.pending);
        self.budget.release(count, weight);
        Ok(())
    }
}
