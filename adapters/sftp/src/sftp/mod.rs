//! An SFTP version 3 server (draft-ietf-secsh-filexfer-02 plus OpenSSH's
//! extensions) with its own packet loop: the reader decodes and routes
//! requests as the connection's handler receives them, workers run them (one queue per handle, one for paths) and send
//! their replies, through a writer task when the writer is busy, so a reply
//! waiting for the client's window never stops the session from reading.

mod attrs;
mod reply;
mod request;
mod session;
mod wire;
mod worker;
mod writer;

pub use session::{Session, start};

/// The limits one SFTP session enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLimits {
    /// Longest packet accepted; a longer one closes the channel.
    pub max_packet_len: usize,
    /// Packet length announced through `limits@openssh.com`.
    pub announced_packet_len: usize,
    /// Longest READ served (and the announced read and write lengths).
    pub max_read_len: u32,
    /// Requests held at once before new ones are refused with FAILURE.
    pub max_requests: usize,
    /// Payload bytes (write data, requested read lengths) held at once.
    pub max_bytes: usize,
    /// File bytes read and not yet handed to russh: a READ waits for room
    /// (its requested length) before its data is read, so a session's
    /// replies waiting for the client's window stay this size. Never less
    /// than `max_read_len`.
    pub max_reply_bytes: usize,
    /// Handles open at once.
    pub max_open_handles: usize,
}
