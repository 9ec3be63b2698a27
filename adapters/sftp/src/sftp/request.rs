//! Decoding of client requests (draft-ietf-secsh-filexfer-02, sections 4 to
//! 8, and OpenSSH's PROTOCOL extensions) into typed values.

use super::attrs;
use super::wire::{Decoder, Malformed, kind};
use bytes::Bytes;
use russh_sftp::extensions;
use russh_sftp::protocol::{FileAttributes, OpenFlags};

/// A handle as the session knows it: the number behind the opaque string.
pub type HandleId = u64;

/// A request on an open handle; runs in that handle's queue, in order.
#[derive(Debug)]
pub enum HandleOp {
    Read { offset: u64, len: u32 },
    Write { offset: u64, data: Bytes },
    Close,
    Fstat,
    Fsetstat(FileAttributes),
    Readdir,
}

/// A request naming paths; runs in the session's path queue, in order.
#[derive(Debug)]
pub enum PathOp {
    Open {
        path: String,
        flags: OpenFlags,
        attrs: FileAttributes,
    },
    OpenDir(String),
    Stat(String),
    Lstat(String),
    SetStat(String, FileAttributes),
    Remove(String),
    MkDir(String, FileAttributes),
    RmDir(String),
    RealPath(String),
    Rename {
        from: String,
        to: String,
        replace: bool,
    },
    ReadLink(String),
    Symlink {
        target: String,
        link: String,
    },
    StatVfs(String),
    ExpandPath(String),
    Limits,
}

/// One decoded packet.
#[derive(Debug)]
pub enum Request {
    Init {
        version: u32,
    },
    Handle(u32, Bytes, HandleOp),
    Path(u32, PathOp),
    /// A packet or extension the server does not implement.
    Unsupported(u32),
}

/// Why a packet could not become a request.
#[derive(Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// Not even a type and request id: nothing can be answered.
    NoId,
    /// The request id was read but the rest is malformed.
    Malformed(u32),
}

/// Decodes one packet body (type byte onward).
pub fn decode(packet: Bytes) -> Result<Request, DecodeError> {
    let mut dec = Decoder::new(packet);
    let kind = dec.u8().map_err(|_| DecodeError::NoId)?;
    if kind == kind::INIT {
        let version = dec.u32().map_err(|_| DecodeError::NoId)?;
        return Ok(Request::Init { version });
    }
    let id = dec.u32().map_err(|_| DecodeError::NoId)?;
    decode_body(kind, id, &mut dec).map_err(|Malformed| DecodeError::Malformed(id))
}

fn decode_body(kind: u8, id: u32, dec: &mut Decoder) -> Result<Request, Malformed> {
    let on_handle = |dec: &mut Decoder, op: fn(&mut Decoder) -> Result<HandleOp, Malformed>| {
        let handle = dec.bytes()?;
        Ok(Request::Handle(id, handle, op(dec)?))
    };
    let path = |op: PathOp| Ok(Request::Path(id, op));
    match kind {
        kind::READ => on_handle(dec, |d| {
            Ok(HandleOp::Read {
                offset: d.u64()?,
                len: d.u32()?,
            })
        }),
        kind::WRITE => on_handle(dec, |d| {
            Ok(HandleOp::Write {
                offset: d.u64()?,
                data: d.bytes()?,
            })
        }),
        kind::CLOSE => on_handle(dec, |_| Ok(HandleOp::Close)),
        kind::FSTAT => on_handle(dec, |_| Ok(HandleOp::Fstat)),
        kind::FSETSTAT => on_handle(dec, |d| Ok(HandleOp::Fsetstat(attrs::decode(d)?))),
        kind::READDIR => on_handle(dec, |_| Ok(HandleOp::Readdir)),
        kind::OPEN => path(PathOp::Open {
            path: dec.string()?,
            flags: OpenFlags::from_bits_retain(dec.u32()?),
            attrs: attrs::decode(dec)?,
        }),
        kind::OPENDIR => path(PathOp::OpenDir(dec.string()?)),
        kind::STAT => path(PathOp::Stat(dec.string()?)),
        kind::LSTAT => path(PathOp::Lstat(dec.string()?)),
        kind::SETSTAT => path(PathOp::SetStat(dec.string()?, attrs::decode(dec)?)),
        kind::REMOVE => path(PathOp::Remove(dec.string()?)),
        kind::MKDIR => path(PathOp::MkDir(dec.string()?, attrs::decode(dec)?)),
        kind::RMDIR => path(PathOp::RmDir(dec.string()?)),
        kind::REALPATH => path(PathOp::RealPath(dec.string()?)),
        kind::READLINK => path(PathOp::ReadLink(dec.string()?)),
        kind::RENAME => path(PathOp::Rename {
            from: dec.string()?,
            to: dec.string()?,
            replace: false,
        }),
        // OpenSSH's client and server swap the draft's order: the first
        // string is the link's target, the second the link to create.
        kind::SYMLINK => path(PathOp::Symlink {
            target: dec.string()?,
            link: dec.string()?,
        }),
        kind::EXTENDED => decode_extended(id, dec),
        _ => Ok(Request::Unsupported(id)),
    }
}

/// SSH_FXP_EXTENDED: `string request` then request-specific data.
fn decode_extended(id: u32, dec: &mut Decoder) -> Result<Request, Malformed> {
    let name = dec.bytes()?;
    let op = match &name[..] {
        b"posix-rename@openssh.com" => PathOp::Rename {
            from: dec.string()?,
            to: dec.string()?,
            replace: true,
        },
        name if name == extensions::STATVFS.as_bytes() => PathOp::StatVfs(dec.string()?),
        name if name == extensions::LIMITS.as_bytes() => PathOp::Limits,
        name if name == extensions::EXPAND_PATH.as_bytes() => PathOp::ExpandPath(dec.string()?),
        _ => return Ok(Request::Unsupported(id)),
    };
    Ok(Request::Path(id, op))
}

/// The extensions announced in SSH_FXP_VERSION, with their versions.
pub const EXTENSIONS: &[(&str, &str)] = &[
    ("posix-rename@openssh.com", "1"),
    (extensions::STATVFS, "2"),
    (extensions::LIMITS, "1"),
    (extensions::EXPAND_PATH, "1"),
];

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::{BufMut, BytesMut};

    fn string(buf: &mut BytesMut, s: &[u8]) {
        buf.put_u32(s.len() as u32);
        buf.put_slice(s);
    }

    #[test]
    fn decodes_a_write_without_copying_its_data() {
        let mut buf = BytesMut::new();
        buf.put_u8(kind::WRITE);
        buf.put_u32(9);
        string(&mut buf, b"1f");
        buf.put_u64(4096);
        string(&mut buf, b"payload");
        let packet = buf.freeze();
        let Ok(Request::Handle(9, handle, HandleOp::Write { offset, data })) =
            decode(packet.clone())
        else {
            panic!("not a write");
        };
        assert_eq!(
            (&handle[..], offset, &data[..]),
            (&b"1f"[..], 4096, &b"payload"[..])
        );
        let start = packet.as_ptr() as usize;
        assert!((data.as_ptr() as usize) > start);
    }

    #[test]
    fn symlink_follows_openssh_order() {
        let mut buf = BytesMut::new();
        buf.put_u8(kind::SYMLINK);
        buf.put_u32(1);
        string(&mut buf, b"target");
        string(&mut buf, b"link");
        let Ok(Request::Path(1, PathOp::Symlink { target, link })) = decode(buf.freeze()) else {
            panic!("not a symlink");
        };
        assert_eq!((target.as_str(), link.as_str()), ("target", "link"));
    }

    #[test]
    fn malformed_packets_keep_their_id() {
        let mut buf = BytesMut::new();
        buf.put_u8(kind::STAT);
        buf.put_u32(77);
        buf.put_u32(100);
        assert_eq!(
            decode(buf.freeze()).unwrap_err(),
            DecodeError::Malformed(77)
        );
        assert_eq!(
            decode(Bytes::from_static(&[kind::STAT, 0])).unwrap_err(),
            DecodeError::NoId
        );
    }

    #[test]
    fn unknown_extensions_are_unsupported() {
        let mut buf = BytesMut::new();
        buf.put_u8(kind::EXTENDED);
        buf.put_u32(3);
        string(&mut buf, b"nope@example.com");
        assert!(matches!(decode(buf.freeze()), Ok(Request::Unsupported(3))));
    }
}
