//! The SFTP version 3 wire format (draft-ietf-secsh-filexfer-02, sections 3
//! and 4): big-endian integers, length-prefixed strings and packets framed by
//! a `uint32` length. Decoding slices the received buffer instead of copying.

use bytes::{Buf, BufMut, Bytes, BytesMut};

/// Packet types (draft-02 section 3).
pub mod kind {
    pub const INIT: u8 = 1;
    pub const VERSION: u8 = 2;
    pub const OPEN: u8 = 3;
    pub const CLOSE: u8 = 4;
    pub const READ: u8 = 5;
    pub const WRITE: u8 = 6;
    pub const LSTAT: u8 = 7;
    pub const FSTAT: u8 = 8;
    pub const SETSTAT: u8 = 9;
    pub const FSETSTAT: u8 = 10;
    pub const OPENDIR: u8 = 11;
    pub const READDIR: u8 = 12;
    pub const REMOVE: u8 = 13;
    pub const MKDIR: u8 = 14;
    pub const RMDIR: u8 = 15;
    pub const REALPATH: u8 = 16;
    pub const STAT: u8 = 17;
    pub const RENAME: u8 = 18;
    pub const READLINK: u8 = 19;
    pub const SYMLINK: u8 = 20;
    pub const STATUS: u8 = 101;
    pub const HANDLE: u8 = 102;
    pub const DATA: u8 = 103;
    pub const NAME: u8 = 104;
    pub const ATTRS: u8 = 105;
    pub const EXTENDED: u8 = 200;
    pub const EXTENDED_REPLY: u8 = 201;
}

/// The packet could not be decoded: too short or a string was not UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Malformed;

/// Reads the fields of one packet body, slicing the shared buffer.
pub struct Decoder {
    buf: Bytes,
}

impl Decoder {
    pub fn new(buf: Bytes) -> Self {
        Self { buf }
    }

    pub fn u8(&mut self) -> Result<u8, Malformed> {
        self.buf.try_get_u8().map_err(|_| Malformed)
    }

    pub fn u32(&mut self) -> Result<u32, Malformed> {
        self.buf.try_get_u32().map_err(|_| Malformed)
    }

    pub fn u64(&mut self) -> Result<u64, Malformed> {
        self.buf.try_get_u64().map_err(|_| Malformed)
    }

    /// A `string` as raw bytes, without copying.
    pub fn bytes(&mut self) -> Result<Bytes, Malformed> {
        let len = self.u32()? as usize;
        if self.buf.len() < len {
            return Err(Malformed);
        }
        Ok(self.buf.split_to(len))
    }

    /// A `string` that must be UTF-8 (paths, extension names).
    // LIMITATION: the ports take paths as `&str`, so a path that is not
    // UTF-8 makes the request malformed (BAD_MESSAGE).
    pub fn string(&mut self) -> Result<String, Malformed> {
        let raw = self.bytes()?;
        String::from_utf8(raw.to_vec()).map_err(|_| Malformed)
    }
}

/// Builds one packet: `uint32 length`, `byte type`, then the fields. The
/// length is patched in by [`finish`](Self::finish).
pub struct Encoder {
    buf: BytesMut,
}

impl Encoder {
    pub fn new(kind: u8, capacity: usize) -> Self {
        let mut buf = BytesMut::with_capacity(capacity + 5);
        buf.put_u32(0);
        buf.put_u8(kind);
        Self { buf }
    }

    pub fn u32(&mut self, value: u32) -> &mut Self {
        self.buf.put_u32(value);
        self
    }

    pub fn u64(&mut self, value: u64) -> &mut Self {
        self.buf.put_u64(value);
        self
    }

    pub fn bytes(&mut self, value: &[u8]) -> &mut Self {
        put_string(&mut self.buf, value);
        self
    }

    pub fn finish(mut self) -> Bytes {
        patch_length(&mut self.buf, 0);
        self.buf.freeze()
    }

    /// Appends the packet to `out` instead of allocating its own buffer.
    pub fn buffer(&mut self) -> &mut BytesMut {
        &mut self.buf
    }
}

/// Appends an SFTP `string`: `uint32 length` then the bytes. A value longer
/// than `u32::MAX` cannot occur here (packets are capped far below that).
pub fn put_string(buf: &mut BytesMut, value: &[u8]) {
    buf.put_u32(u32::try_from(value.len()).unwrap_or(u32::MAX));
    buf.put_slice(value);
}

/// Writes the length of the packet that starts at `start` in `buf` into its
/// first four bytes.
pub fn patch_length(buf: &mut BytesMut, start: usize) {
    let len = buf.len().saturating_sub(start + 4);
    let len = u32::try_from(len).unwrap_or(u32::MAX).to_be_bytes();
    if let Some(slot) = buf.get_mut(start..start + 4) {
        slot.copy_from_slice(&len);
    }
}

/// Splits the byte stream of a channel into SFTP packets.
///
/// The complete packets at the front of a received chunk are copied out in
/// one block and sliced from it; a packet spanning chunks is gathered once
/// into a buffer of its exact size.
pub struct Framer {
    partial: BytesMut,
    max_len: usize,
}

/// The client announced a packet longer than the session accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Oversized(pub usize);

impl Framer {
    pub fn new(max_len: usize) -> Self {
        Self {
            partial: BytesMut::new(),
            max_len,
        }
    }

    /// Adds a received chunk; complete packet bodies (type byte onward) are
    /// pushed to `out`.
    pub fn feed(&mut self, mut chunk: &[u8], out: &mut Vec<Bytes>) -> Result<(), Oversized> {
        while !chunk.is_empty() {
            if self.partial.is_empty() {
                self.split_whole(&mut chunk, out)?;
                if !chunk.is_empty() {
                    self.start_partial(&mut chunk)?;
                }
            } else {
                self.fill_partial(&mut chunk, out)?;
            }
        }
        Ok(())
    }

    /// Takes every complete packet off the front of `chunk`.
    fn split_whole(&self, chunk: &mut &[u8], out: &mut Vec<Bytes>) -> Result<(), Oversized> {
        let mut whole = 0;
        while let Some(len) = chunk.get(whole..).and_then(announced_len) {
            self.check(len)?;
            if chunk.len() - whole < 4 + len {
                break;
            }
            whole += 4 + len;
        }
        if whole == 0 {
            return Ok(());
        }
        let mut block = Bytes::copy_from_slice(&chunk[..whole]);
        *chunk = &chunk[whole..];
        while let Some(len) = announced_len(&block) {
            block.advance(4);
            out.push(block.split_to(len));
        }
        Ok(())
    }

    /// Starts gathering a packet that continues in later chunks.
    fn start_partial(&mut self, chunk: &mut &[u8]) -> Result<(), Oversized> {
        let capacity = match announced_len(chunk) {
            Some(len) => {
                self.check(len)?;
                4 + len
            }
            None => 4,
        };
        self.partial = BytesMut::with_capacity(capacity);
        self.partial.put_slice(chunk);
        *chunk = &[];
        Ok(())
    }

    /// Moves bytes from `chunk` into the packet being gathered.
    fn fill_partial(&mut self, chunk: &mut &[u8], out: &mut Vec<Bytes>) -> Result<(), Oversized> {
        if self.partial.len() < 4 {
            let take = (4 - self.partial.len()).min(chunk.len());
            self.partial.put_slice(&chunk[..take]);
            *chunk = &chunk[take..];
            let Some(len) = announced_len(&self.partial) else {
                return Ok(());
            };
            self.check(len)?;
            self.partial.reserve(len);
        }
        let total = announced_len(&self.partial).map_or(0, |len| len + 4);
        let take = total.saturating_sub(self.partial.len()).min(chunk.len());
        self.partial.put_slice(&chunk[..take]);
        *chunk = &chunk[take..];
        if self.partial.len() == total {
            let mut packet = std::mem::take(&mut self.partial).freeze();
            packet.advance(4);
            out.push(packet);
        }
        Ok(())
    }

    fn check(&self, len: usize) -> Result<(), Oversized> {
        if len > self.max_len {
            return Err(Oversized(len));
        }
        Ok(())
    }
}

/// The length a packet header announces, once its four bytes are there.
fn announced_len(buf: &[u8]) -> Option<usize> {
    let head: [u8; 4] = buf.get(..4)?.try_into().ok()?;
    Some(u32::from_be_bytes(head) as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(body: &[u8]) -> Vec<u8> {
        let mut out = (body.len() as u32).to_be_bytes().to_vec();
        out.extend_from_slice(body);
        out
    }

    #[test]
    fn splits_packets_in_any_chunking() {
        let mut stream = packet(b"\x01abc");
        stream.extend(packet(b""));
        stream.extend(packet(&[7u8; 300]));
        for size in [1, 2, 3, 5, 64, 1000] {
            let mut framer = Framer::new(1024);
            let mut out = Vec::new();
            for chunk in stream.chunks(size) {
                framer.feed(chunk, &mut out).unwrap();
            }
            assert_eq!(out.len(), 3, "chunk size {size}");
            assert_eq!(&out[0][..], b"\x01abc");
            assert!(out[1].is_empty());
            assert_eq!(&out[2][..], &[7u8; 300][..]);
        }
    }

    #[test]
    fn refuses_oversized_packets() {
        let mut framer = Framer::new(16);
        let mut out = Vec::new();
        let big = packet(&[0u8; 17]);
        assert_eq!(framer.feed(&big, &mut out), Err(Oversized(17)));
    }

    #[test]
    fn decoder_rejects_short_strings() {
        let mut dec = Decoder::new(Bytes::from_static(b"\x00\x00\x00\x05abc"));
        assert_eq!(dec.bytes(), Err(Malformed));
    }
}
