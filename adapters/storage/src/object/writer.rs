//! Writing one object, front to back, with bounded memory.
//!
//! Bytes are accepted in file order. A write that arrives ahead of the end
//! (concurrent requests can overtake each other) waits in a small reorder
//! window until the gap before it is filled; a gap wider than the window,
//! or a write behind the end, is refused as unsupported.
//!
//! The first part is held back: a file smaller than one part, the empty one
//! included, is sent as a single PUT on close. A larger file becomes a
//! multipart upload with at most `concurrency` parts in flight, so memory
//! is about `(concurrency + 1) × part_size` plus the window, whatever the
//! file's size. Nothing is visible at the key until the upload completes on
//! close; a writer dropped before that aborts its upload.

use super::bucket::Bucket;
use bytes::Bytes;
use ferry_domain::{Error, Result};
use object_store::path::Path;
use object_store::{PutPayload, WriteMultipart};
use std::collections::BTreeMap;

/// The most writes that may wait ahead of the end.
pub const REORDER_REQUESTS: usize = 64;
/// The furthest (in bytes past the end written so far) a waiting write may reach.
pub const REORDER_BYTES: u64 = 16 * 1024 * 1024;

/// How a new object is sent.
#[derive(Debug, Clone, Copy)]
pub(crate) struct UploadShape {
    pub(crate) part_size: usize,
    pub(crate) concurrency: usize,
}

/// The state of one object being written.
pub(crate) struct Writer {
    bucket: Bucket,
    key: Path,
    shape: UploadShape,
    /// With no upload started yet, refuse to replace an existing object.
    create_only: bool,
    /// Bytes accepted in order: the offset the next write must start at.
    written: u64,
    /// Writes that arrived ahead of `written`, by offset.
    waiting: BTreeMap<u64, Bytes>,
    /// The first part, held back until it is full or the file is closed.
    first: Vec<Bytes>,
    first_len: usize,
    upload: Option<WriteMultipart>,
    /// The store failed: the upload is aborted and every later call fails.
    broken: Option<Error>,
}

impl Writer {
    pub(crate) fn new(bucket: Bucket, key: Path, shape: UploadShape, create_only: bool) -> Self {
        Self {
            bucket,
            key,
            shape,
            create_only,
            written: 0,
            waiting: BTreeMap::new(),
            first: Vec::new(),
            first_len: 0,
            upload: None,
            broken: None,
        }
    }

    /// The size the file has so far, counting writes still waiting.
    pub(crate) fn size(&self) -> u64 {
        let waiting_end = self.waiting.iter().next_back().map(|(o, d)| end(*o, d));
        waiting_end.map_or(self.written, |e| e.max(self.written))
    }

    /// Accepts `data` at `offset`, in order or within the reorder window.
    pub(crate) async fn write_at(&mut self, offset: u64, data: Bytes) -> Result<()> {
        if let Some(error) = &self.broken {
            return Err(error.clone());
        }
        if data.is_empty() {
            return Ok(());
        }
        if offset < self.written || self.overlaps_waiting(offset, &data) {
            return Err(not_at_end());
        }
        if offset > self.written {
            return self.wait(offset, data);
        }
        let sent = self.append_in_order(data).await;
        if let Err(error) = &sent {
            // A part that failed is missing from the upload: completing it
            // would store a file with a hole, so the upload is given up.
            self.broken = Some(error.clone());
            self.abort_in_background();
        }
        sent
    }

    /// Appends `data`, then every waiting write it makes contiguous.
    async fn append_in_order(&mut self, data: Bytes) -> Result<()> {
        self.append(data).await?;
        while let Some(entry) = self.waiting.first_entry() {
            if *entry.key() != self.written {
                break;
            }
            let data = entry.remove();
            self.append(data).await?;
        }
        Ok(())
    }

    /// Sends what is left and makes the object visible. A gap still open
    /// at close is refused and nothing is written.
    pub(crate) async fn commit(mut self) -> Result<()> {
        if let Some(error) = self.broken.take() {
            return Err(error);
        }
        if !self.waiting.is_empty() {
            self.abort_in_background();
            return Err(Error::unsupported(
                "the writes left a gap, which object storage cannot hold",
            ));
        }
        match self.upload.take() {
            Some(upload) => match upload.finish().await {
                Ok(_) => Ok(()),
                Err(error) => Err(self.bucket.sort(error)),
            },
            None => {
                let payload: PutPayload = std::mem::take(&mut self.first).into_iter().collect();
                self.bucket.put(&self.key, payload, self.create_only).await
            }
        }
    }

    fn overlaps_waiting(&self, offset: u64, data: &Bytes) -> bool {
        let before = self.waiting.range(..=offset).next_back();
        let after = self.waiting.range(offset..).next();
        before.is_some_and(|(o, d)| end(*o, d) > offset)
            || after.is_some_and(|(o, _)| *o < end(offset, data))
    }

    fn wait(&mut self, offset: u64, data: Bytes) -> Result<()> {
        let too_far = end(offset, &data).saturating_sub(self.written) > REORDER_BYTES;
        if too_far || self.waiting.len() >= REORDER_REQUESTS {
            return Err(not_at_end());
        }
        self.waiting.insert(offset, data);
        Ok(())
    }

    async fn append(&mut self, data: Bytes) -> Result<()> {
        self.written = end(self.written, &data);
        if let Some(upload) = self.upload.as_mut() {
            let room = upload.wait_for_capacity(self.shape.concurrency).await;
            room.map_err(|e| self.bucket.sort(e))?;
            upload.put(data);
            return Ok(());
        }
        self.first_len += data.len();
        self.first.push(data);
        if self.first_len >= self.shape.part_size {
            self.start_upload().await?;
        }
        Ok(())
    }

    async fn start_upload(&mut self) -> Result<()> {
        let upload = self.bucket.start_upload(&self.key).await?;
        let mut upload = WriteMultipart::new_with_chunk_size(upload, self.shape.part_size);
        for data in self.first.drain(..) {
            upload.put(data);
        }
        self.first_len = 0;
        self.upload = Some(upload);
        Ok(())
    }

    /// Aborts a started upload without waiting: its parts are discarded by
    /// the store and no object appears.
    // LIMITATION: Azure Blob cannot delete uncommitted blocks; they stay,
    // invisible, until Azure expires them (seven days).
    fn abort_in_background(&mut self) {
        let Some(mut upload) = self.upload.take() else {
            return;
        };
        // Without a runtime (a handle dropped at shutdown) the store's own
        // lifecycle rules must clean up the parts.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let bucket = self.bucket.clone();
            runtime.spawn(async move {
                // Parts in flight are let finish first: one cancelled after
                // its body was sent can still land once the upload is
                // aborted, and then stays behind as an orphan part.
                let _ = upload.wait_for_capacity(0).await;
                if let Err(error) = upload.abort().await {
                    let error = bucket.sort(error);
                    tracing::warn!(%error, "aborting an unfinished upload failed");
                }
            });
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.abort_in_background();
    }
}

fn end(offset: u64, data: &Bytes) -> u64 {
    offset.saturating_add(data.len() as u64)
}

fn not_at_end() -> Error {
    Error::unsupported("object storage writes a file front to back; this offset is out of reach")
}
