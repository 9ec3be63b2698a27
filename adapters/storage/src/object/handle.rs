//! An open object: a [`Reader`] or a [`Writer`] behind the port's handle.

use super::reader::Reader;
use super::writer::Writer;
use async_trait::async_trait;
use bytes::Bytes;
use ferry_domain::{Error, Result};
use ferry_ports::{FileHandle, FileKind, Metadata, SetAttributes};
use std::fmt;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::sync::Mutex;

/// Permission bits reported for files: object stores keep none.
pub(crate) const FILE_MODE: u32 = 0o644;

enum Open {
    /// Reads share the reader; it never waits on the network under a lock.
    Read(Arc<Reader>, Metadata),
    Write(Box<Writer>),
}

/// A file opened by [`ObjectStorage`](super::ObjectStorage).
///
/// Writes are serialised by the handle's lock (they must reach the upload
/// in order anyway); reads only take it to find the reader.
pub struct ObjectFile {
    open: Mutex<Option<Open>>,
}

impl ObjectFile {
    pub(crate) fn reader(reader: Reader, metadata: Metadata) -> Self {
        Self {
            open: Mutex::new(Some(Open::Read(Arc::new(reader), metadata))),
        }
    }

    pub(crate) fn writer(writer: Writer) -> Self {
        Self {
            open: Mutex::new(Some(Open::Write(Box::new(writer)))),
        }
    }
}

impl fmt::Debug for ObjectFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObjectFile").finish_non_exhaustive()
    }
}

fn closed() -> Error {
    Error::invalid("handle is closed")
}

#[async_trait]
impl FileHandle for ObjectFile {
    async fn read_at(&self, offset: u64, len: usize) -> Result<Bytes> {
        let reader = match self.open.lock().await.as_ref().ok_or_else(closed)? {
            Open::Read(reader, _) => Arc::clone(reader),
            Open::Write(_) => return Err(Error::invalid("file not opened for reading")),
        };
        reader.read_at(offset, len).await
    }

    async fn write_at(&self, offset: u64, data: Bytes) -> Result<()> {
        match self.open.lock().await.as_mut().ok_or_else(closed)? {
            Open::Write(writer) => writer.write_at(offset, data).await,
            Open::Read(..) => Err(Error::invalid("file not opened for writing")),
        }
    }

    async fn metadata(&self) -> Result<Metadata> {
        match self.open.lock().await.as_ref().ok_or_else(closed)? {
            Open::Read(_, metadata) => Ok(*metadata),
            Open::Write(writer) => Ok(file_metadata(writer.size(), now())),
        }
    }

    async fn set_attributes(&self, attributes: &SetAttributes) -> Result<()> {
        let guard = self.open.lock().await;
        let (size, writable) = match guard.as_ref().ok_or_else(closed)? {
            Open::Read(_, metadata) => (metadata.size, false),
            Open::Write(writer) => (writer.size(), true),
        };
        if attributes.size.is_some() && !writable {
            return Err(Error::invalid("file not opened for writing"));
        }
        refuse_changes(attributes, size)
    }

    async fn close(&self) -> Result<()> {
        let open = self.open.lock().await.take().ok_or_else(closed)?;
        match open {
            Open::Write(writer) => writer.commit().await,
            Open::Read(..) => Ok(()),
        }
    }
}

/// Object stores keep no modes, owners or settable times, and cannot
/// resize an object in place: any real change is unsupported. Setting the
/// size a file already has changes nothing and is accepted.
// LIMITATION: times, modes and owners cannot be set on object storage, so
// a client that preserves them (`sftp put -p`) gets an unsupported answer.
pub(crate) fn refuse_changes(attributes: &SetAttributes, size: u64) -> Result<()> {
    let same_size = SetAttributes {
        size: attributes.size.filter(|s| *s != size),
        ..*attributes
    };
    if same_size.is_empty() {
        return Ok(());
    }
    if same_size.size.is_some() {
        return Err(Error::unsupported(
            "object storage cannot change the size of a file",
        ));
    }
    if same_size.times.is_some() {
        return Err(Error::unsupported("object storage cannot set file times"));
    }
    Err(Error::unsupported(
        "object storage keeps no permissions or owners",
    ))
}

pub(crate) fn file_metadata(size: u64, mtime: u64) -> Metadata {
    Metadata {
        kind: FileKind::File,
        size,
        permissions: FILE_MODE,
        uid: 0,
        gid: 0,
        atime: mtime,
        mtime,
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
