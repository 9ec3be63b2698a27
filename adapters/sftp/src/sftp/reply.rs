//! Server replies (draft-ietf-secsh-filexfer-02, section 7) and the one
//! mapping from Ferry's error kinds to SSH_FXP_STATUS codes.

use super::attrs;
use super::wire::{Encoder, kind, patch_length, put_string};
use bytes::{BufMut, Bytes, BytesMut};
use ferry_domain::{Error, ErrorKind};
use ferry_ports::{DirEntry, Metadata, StatVfs};
use russh_sftp::protocol::StatusCode;
use std::borrow::Cow;
use tokio::sync::OwnedSemaphorePermit;

/// One reply on its way to the writer task. `weight` is the payload budget
/// (bytes) the request held; the writer gives it back once the reply is out.
/// `room` is the share of the session's read room a DATA reply holds; it is
/// given back when the reply is dropped, once russh has its bytes.
pub struct Reply {
    pub body: Body,
    pub weight: usize,
    pub room: Option<OwnedSemaphorePermit>,
}

/// The encoded forms a reply can take. Status and data headers are built in
/// the writer's batch buffer, so the common replies allocate nothing.
pub enum Body {
    Status {
        id: u32,
        code: StatusCode,
        message: Cow<'static, str>,
    },
    /// SSH_FXP_DATA: the header is written by the writer, the payload is
    /// passed on without a copy where it can be.
    Data { id: u32, payload: Bytes },
    /// Any other packet, fully encoded.
    Packet(Bytes),
}

impl Reply {
    pub fn status(id: u32, code: StatusCode, message: impl Into<Cow<'static, str>>) -> Self {
        Self::light(Body::Status {
            id,
            code,
            message: message.into(),
        })
    }

    pub fn ok(id: u32) -> Self {
        Self::status(id, StatusCode::Ok, "Success")
    }

    pub fn eof(id: u32) -> Self {
        Self::status(id, StatusCode::Eof, "End of file")
    }

    /// The status a failed operation answers with.
    pub fn error(id: u32, error: &Error) -> Self {
        let (code, message) = status_of(error);
        Self::status(id, code, message)
    }

    pub fn data(id: u32, payload: Bytes) -> Self {
        Self::light(Body::Data { id, payload })
    }

    pub fn packet(packet: Bytes) -> Self {
        Self::light(Body::Packet(packet))
    }

    fn light(body: Body) -> Self {
        Self {
            body,
            weight: 0,
            room: None,
        }
    }

    pub fn with_weight(mut self, weight: usize) -> Self {
        self.weight = weight;
        self
    }

    pub fn with_room(mut self, room: Option<OwnedSemaphorePermit>) -> Self {
        self.room = room;
        self
    }

    /// The size of the packet, to decide how to batch it.
    pub fn wire_len(&self) -> usize {
        match &self.body {
            Body::Status { message, .. } => 4 + 1 + 4 + 4 + 4 + message.len() + 4 + LANG.len(),
            Body::Data { payload, .. } => DATA_HEADER + payload.len(),
            Body::Packet(packet) => packet.len(),
        }
    }
}

/// Bytes before the payload of an SSH_FXP_DATA packet.
pub const DATA_HEADER: usize = 4 + 1 + 4 + 4;

const LANG: &[u8] = b"en";

/// Appends a status packet to the writer's batch buffer.
pub fn put_status(buf: &mut BytesMut, id: u32, code: StatusCode, message: &str) {
    let start = buf.len();
    buf.put_u32(0);
    buf.put_u8(kind::STATUS);
    buf.put_u32(id);
    buf.put_u32(code as u32);
    put_string(buf, message.as_bytes());
    put_string(buf, LANG);
    patch_length(buf, start);
}

/// Appends the header of an SSH_FXP_DATA packet carrying `len` bytes.
pub fn put_data_header(buf: &mut BytesMut, id: u32, len: usize) {
    let len = u32::try_from(len).unwrap_or(u32::MAX);
    buf.put_u32(len.saturating_add(9));
    buf.put_u8(kind::DATA);
    buf.put_u32(id);
    buf.put_u32(len);
}

/// Maps a failure to the status the client sees. Every kind is decided here
/// and nowhere else; server-side failures are logged with their detail.
pub fn status_of(error: &Error) -> (StatusCode, Cow<'static, str>) {
    let message = || Cow::Owned(error.message().to_owned());
    match error.kind() {
        ErrorKind::NotFound => (StatusCode::NoSuchFile, message()),
        ErrorKind::PermissionDenied | ErrorKind::NotAuthenticated => {
            (StatusCode::PermissionDenied, message())
        }
        ErrorKind::InvalidInput | ErrorKind::Conflict => (StatusCode::Failure, message()),
        ErrorKind::QuotaExceeded => (StatusCode::Failure, Cow::Borrowed("quota exceeded")),
        ErrorKind::Unsupported => (StatusCode::OpUnsupported, message()),
        ErrorKind::Unavailable => {
            tracing::warn!(error = %error, "SFTP request failed: a dependency is unavailable");
            let text = format!(
                "{}: temporarily unavailable, try again later",
                error.message()
            );
            (StatusCode::Failure, Cow::Owned(text))
        }
        ErrorKind::Internal => {
            tracing::warn!(error = %error, "SFTP request failed");
            (StatusCode::Failure, Cow::Borrowed("internal server error"))
        }
    }
}

/// SSH_FXP_VERSION with the extensions this server implements.
pub fn version(version: u32, extensions: &[(&str, &str)]) -> Bytes {
    let mut enc = Encoder::new(kind::VERSION, 128);
    enc.u32(version);
    for (name, data) in extensions {
        enc.bytes(name.as_bytes()).bytes(data.as_bytes());
    }
    enc.finish()
}

pub fn handle(id: u32, handle: &str) -> Bytes {
    let mut enc = Encoder::new(kind::HANDLE, 8 + handle.len());
    enc.u32(id).bytes(handle.as_bytes());
    enc.finish()
}

pub fn attrs(id: u32, meta: &Metadata) -> Bytes {
    let mut enc = Encoder::new(kind::ATTRS, 40);
    enc.u32(id);
    attrs::encode(enc.buffer(), meta);
    enc.finish()
}

/// SSH_FXP_NAME with one name and no attributes (REALPATH, READLINK).
pub fn single_name(id: u32, name: &str) -> Bytes {
    let mut enc = Encoder::new(kind::NAME, 24 + 2 * name.len());
    enc.u32(id)
        .u32(1)
        .bytes(name.as_bytes())
        .bytes(name.as_bytes());
    attrs::encode_empty(enc.buffer());
    enc.finish()
}

/// SSH_FXP_NAME listing directory entries with long names.
pub fn names(id: u32, entries: &[DirEntry], now: u64) -> Bytes {
    let mut enc = Encoder::new(kind::NAME, 8 + entries.len() * 128);
    enc.u32(id)
        .u32(u32::try_from(entries.len()).unwrap_or(u32::MAX));
    for entry in entries {
        let long = attrs::long_name(&entry.name, &entry.metadata, now);
        enc.bytes(entry.name.as_bytes()).bytes(long.as_bytes());
        attrs::encode(enc.buffer(), &entry.metadata);
    }
    enc.finish()
}

/// The bytes one entry adds to an SSH_FXP_NAME packet, roughly (for sizing
/// batches; the long name is estimated).
pub fn name_entry_len(entry: &DirEntry) -> usize {
    2 * entry.name.len() + 64 + 36
}

/// The reply to `statvfs@openssh.com`: eleven uint64 in OpenSSH's order.
pub fn statvfs(id: u32, st: &StatVfs) -> Bytes {
    let fields = [
        st.block_size,
        st.fragment_size,
        st.blocks,
        st.blocks_free,
        st.blocks_available,
        st.files,
        st.files_free,
        st.files_available,
        st.fs_id,
        st.flags,
        st.name_max,
    ];
    extended_u64s(id, &fields)
}

/// An SSH_FXP_EXTENDED_REPLY made of uint64 fields (statvfs, limits).
pub fn extended_u64s(id: u32, fields: &[u64]) -> Bytes {
    let mut enc = Encoder::new(kind::EXTENDED_REPLY, 4 + 8 * fields.len());
    enc.u32(id);
    for field in fields {
        enc.u64(*field);
    }
    enc.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_maps_to_the_documented_status() {
        let cases = [
            (ErrorKind::NotFound, StatusCode::NoSuchFile),
            (ErrorKind::PermissionDenied, StatusCode::PermissionDenied),
            (ErrorKind::InvalidInput, StatusCode::Failure),
            (ErrorKind::Conflict, StatusCode::Failure),
            (ErrorKind::QuotaExceeded, StatusCode::Failure),
            (ErrorKind::Unsupported, StatusCode::OpUnsupported),
            (ErrorKind::Unavailable, StatusCode::Failure),
            (ErrorKind::Internal, StatusCode::Failure),
        ];
        for (kind, code) in cases {
            let (got, _) = status_of(&Error::new(kind, "boom"));
            assert_eq!(got, code, "{kind:?}");
        }
        let (_, msg) = status_of(&Error::new(ErrorKind::QuotaExceeded, "x"));
        assert_eq!(msg, "quota exceeded");
        let (_, msg) = status_of(&Error::internal("secret detail"));
        assert_eq!(msg, "internal server error");
        let (_, msg) = status_of(&Error::unavailable("storage is down"));
        assert!(msg.contains("try again"));
    }

    #[test]
    fn status_packets_are_framed() {
        let mut buf = BytesMut::new();
        put_status(&mut buf, 7, StatusCode::Eof, "End of file");
        let len = u32::from_be_bytes(buf[..4].try_into().unwrap()) as usize;
        assert_eq!(len + 4, buf.len());
        assert_eq!(buf[4], kind::STATUS);
        assert_eq!(Reply::eof(7).wire_len(), buf.len());
    }
}
