//! Reading one object with ranged GETs and read-ahead.
//!
//! The object is read in fixed blocks. A read fetches the blocks it needs
//! and starts fetching the next few in the background, so a sequential
//! client finds its data already there. Only the blocks around the last
//! read are kept, so memory stays at a few blocks whatever the file's size.

use super::bucket::Bucket;
use super::errors::task_failed;
use bytes::{Bytes, BytesMut};
use ferry_domain::Result;
use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use object_store::path::Path;
use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};
use tokio::task::AbortHandle;

/// The most one `read_at` returns; a client asking for more gets a short read.
pub const MAX_READ: usize = 16 * 1024 * 1024;

/// How an object is read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReadShape {
    pub(crate) block_size: u64,
    /// Blocks fetched ahead of the one being read.
    pub(crate) ahead: u64,
}

type Fetch = Shared<BoxFuture<'static, Result<Bytes>>>;

/// One block being fetched or fetched.
struct Block {
    fetch: Fetch,
    abort: AbortHandle,
}

/// The state of one object being read.
pub(crate) struct Reader {
    bucket: Bucket,
    key: Path,
    size: u64,
    shape: ReadShape,
    blocks: Mutex<BTreeMap<u64, Block>>,
}

impl Reader {
    pub(crate) fn new(bucket: Bucket, key: Path, size: u64, shape: ReadShape) -> Self {
        Self {
            bucket,
            key,
            size,
            shape,
            blocks: Mutex::new(BTreeMap::new()),
        }
    }

    /// Up to `len` bytes from `offset`; empty at or past the end.
    pub(crate) async fn read_at(&self, offset: u64, len: usize) -> Result<Bytes> {
        let len = len.min(MAX_READ) as u64;
        let end = offset.saturating_add(len).min(self.size);
        if offset >= end {
            return Ok(Bytes::new());
        }
        let fetches = self.fetches(offset, end);
        let mut out = BytesMut::with_capacity((end - offset) as usize);
        for (index, fetch) in fetches {
            let block = match fetch.await {
                Ok(block) => block,
                Err(error) => return Err(self.forget(index, error)),
            };
            let start = index * self.shape.block_size;
            let from = offset.saturating_sub(start) as usize;
            let to = ((end - start) as usize).min(block.len());
            if from >= to {
                // The object shrank under us: what is left ends here.
                break;
            }
            out.extend_from_slice(&block[from..to]);
        }
        Ok(out.freeze())
    }

    /// The blocks covering `offset..end`, started if needed, plus the
    /// read-ahead; blocks far from this read are dropped.
    fn fetches(&self, offset: u64, end: u64) -> Vec<(u64, Fetch)> {
        let size = self.shape.block_size;
        let (first, last) = (offset / size, (end - 1) / size);
        let last_block = (self.size - 1) / size;
        let keep_to = (last + self.shape.ahead).min(last_block);
        let mut blocks = self.blocks.lock().unwrap_or_else(PoisonError::into_inner);
        // Keep one block behind: requests in flight may arrive slightly out of order.
        let keep_from = first.saturating_sub(1);
        // A dropped block's fetch is not aborted: a read still waiting for it
        // keeps its own reference and gets its data.
        blocks.retain(|index, _| (keep_from..=keep_to).contains(index));
        for index in first..=keep_to {
            blocks.entry(index).or_insert_with(|| self.start(index));
        }
        (first..=last)
            .map(|index| (index, blocks[&index].fetch.clone()))
            .collect()
    }

    /// Drops a failed block so that the next read fetches it again.
    fn forget(&self, index: u64, error: ferry_domain::Error) -> ferry_domain::Error {
        let mut blocks = self.blocks.lock().unwrap_or_else(PoisonError::into_inner);
        blocks.remove(&index);
        error
    }

    fn start(&self, index: u64) -> Block {
        let start = index * self.shape.block_size;
        let end = (start + self.shape.block_size).min(self.size);
        let (bucket, key) = (self.bucket.clone(), self.key.clone());
        let task = tokio::spawn(async move { bucket.get_range(&key, start..end).await });
        let abort = task.abort_handle();
        let fetch = task
            .map(|joined| joined.unwrap_or_else(|e| Err(task_failed(e))))
            .boxed()
            .shared();
        Block { fetch, abort }
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        let blocks = self
            .blocks
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner);
        for block in blocks.values() {
            block.abort.abort();
        }
    }
}
