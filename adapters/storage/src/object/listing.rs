//! Directory listings: one page of keys at a time, each page turned into
//! entries before the next is asked for, to the end of the listing.

use super::bucket::Bucket;
use super::handle::file_metadata;
use super::keys::child_name;
use ferry_domain::Result;
use ferry_ports::{DirEntry, DirStream, FileKind, Metadata};
use futures::StreamExt;
use futures::stream;
use object_store::list::PaginatedListResult;

/// Permission bits reported for directories.
pub(crate) const DIR_MODE: u32 = 0o755;

/// Where a listing is between pages.
enum Cursor {
    First,
    Next(String),
    Done,
}

/// Streams the entries directly under `dir_prefix`.
pub(crate) fn stream(bucket: Bucket, dir_prefix: String) -> DirStream {
    let pages = stream::unfold(Cursor::First, move |cursor| {
        let (bucket, prefix) = (bucket.clone(), dir_prefix.clone());
        async move {
            let token = match cursor {
                Cursor::First => None,
                Cursor::Next(token) => Some(token),
                Cursor::Done => return None,
            };
            match bucket.list_page(&prefix, true, None, token).await {
                Ok(page) => {
                    let next = page.page_token.clone().map_or(Cursor::Done, Cursor::Next);
                    Some((entries(&prefix, page), next))
                }
                // The error ends the listing: it is reported once.
                Err(error) => Some((vec![Err(error)], Cursor::Done)),
            }
        }
    });
    Box::pin(pages.flat_map(stream::iter))
}

fn entries(prefix: &str, page: PaginatedListResult) -> Vec<Result<DirEntry>> {
    let result = page.result;
    let dirs = result.common_prefixes.iter().filter_map(|location| {
        let name = child_name(prefix, location.as_ref())?;
        Some(entry(name, dir_metadata(0)))
    });
    let files = result.objects.iter().filter_map(|object| {
        let name = child_name(prefix, object.location.as_ref())?;
        let mtime = object.last_modified.timestamp().max(0) as u64;
        Some(entry(name, file_metadata(object.size, mtime)))
    });
    dirs.chain(files).map(Ok).collect()
}

fn entry(name: &str, metadata: Metadata) -> DirEntry {
    DirEntry {
        name: name.to_owned(),
        metadata,
    }
}

// LIMITATION: object stores keep no times for directories: a directory
// without a marker object, and every directory in a listing, reports the
// Unix epoch as its modification time.
pub(crate) fn dir_metadata(mtime: u64) -> Metadata {
    Metadata {
        kind: FileKind::Dir,
        size: 0,
        permissions: DIR_MODE,
        uid: 0,
        gid: 0,
        atime: mtime,
        mtime,
    }
}
