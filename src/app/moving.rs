//! Moving a file or a directory tree between two storages (the home and a
//! virtual folder, or two folders), where no single rename can: copy, then
//! delete the source only once the copy is complete and in place.
//!
//! The copy is written under a hidden name beside the target and renamed to
//! the target at the end, so a partial copy never shows under the target's
//! name, and a failed copy is removed while the source stays as it was.

use super::storages::Located;
use ferry_domain::{Error, ErrorKind, Result, VirtualPath};
use ferry_ports::{FileKind, OpenOptions, SetAttributes, Storage};
use futures::StreamExt;
use futures::future::BoxFuture;

/// Bytes per read and write while copying a file: memory per move is bounded
/// by this, whatever the file's size.
const CHUNK: usize = 256 * 1024;

/// Directory entries removed per listing pass, so removing a huge directory
/// holds a bounded list of names.
const REMOVE_BATCH: usize = 256;

// LIMITATION: a move between storages runs inside the client's request,
// however large the tree, and is not atomic: should removing the source fail
// part way, what is left of it stays beside the complete copy.
/// Moves `from` to `to` across storages. Without `replace` an existing
/// target is `Conflict` before anything is copied.
pub(crate) async fn move_across(from: &Located, to: &Located, replace: bool) -> Result<()> {
    let (source, target) = (from.storage.as_ref(), to.storage.as_ref());
    if !replace && target.lstat(&to.path).await.is_ok() {
        return Err(Error::conflict("the target exists"));
    }
    let staging = staging_path(&to.path)?;
    let placed = match copy_tree(source, &from.path, target, &staging).await {
        Ok(()) => target.rename(&staging, &to.path, replace).await,
        Err(e) => Err(e),
    };
    if let Err(e) = placed {
        if let Err(cleanup) = remove_tree(target, &staging).await {
            tracing::warn!(path = %staging, error = %cleanup, "cannot remove a partial copy");
        }
        return Err(e);
    }
    remove_tree(source, &from.path).await
}

/// A hidden name in the target's directory, unique to this move.
fn staging_path(target: &VirtualPath) -> Result<VirtualPath> {
    let name = target.file_name().unwrap_or("root");
    let tag: u64 = rand::random();
    target
        .parent()
        .join(&format!(".{name}.ferry-move-{tag:016x}"))
}

/// Copies the file, symlink or whole tree at `from` in `source` to `to` in
/// `target`, which must not exist.
fn copy_tree<'a>(
    source: &'a dyn Storage,
    from: &'a VirtualPath,
    target: &'a dyn Storage,
    to: &'a VirtualPath,
) -> BoxFuture<'a, Result<()>> {
    Box::pin(async move {
        let meta = source.lstat(from).await?;
        match meta.kind {
            FileKind::File => copy_file(source, from, target, to).await,
            FileKind::Symlink => target.symlink(&source.read_link(from).await?, to).await,
            FileKind::Dir => {
                target.create_dir(to, Some(meta.permissions)).await?;
                let mut entries = source.read_dir(from).await?;
                while let Some(entry) = entries.next().await {
                    let name = entry?.name;
                    copy_tree(source, &child(from, &name)?, target, &child(to, &name)?).await?;
                }
                Ok(())
            }
            FileKind::Other => Err(Error::unsupported(
                "a special file cannot be moved between folders",
            )),
        }
    })
}

/// Copies one file chunk by chunk, then its permission bits and times.
async fn copy_file(
    source: &dyn Storage,
    from: &VirtualPath,
    target: &dyn Storage,
    to: &VirtualPath,
) -> Result<()> {
    let meta = source.stat(from).await?;
    let read = OpenOptions {
        read: true,
        ..Default::default()
    };
    let write = OpenOptions {
        write: true,
        create: true,
        exclusive: true,
        permissions: Some(meta.permissions),
        ..Default::default()
    };
    let reader = source.open(from, read).await?;
    let writer = target.open(to, write).await?;
    let mut offset = 0u64;
    loop {
        let data = reader.read_at(offset, CHUNK).await?;
        if data.is_empty() {
            break;
        }
        let len = data.len() as u64;
        writer.write_at(offset, data).await?;
        offset += len;
    }
    writer.close().await?;
    reader.close().await?;
    if !target.capabilities().set_times {
        return Ok(());
    }
    let times = SetAttributes {
        times: Some((meta.atime, meta.mtime)),
        ..Default::default()
    };
    target.set_attributes(to, &times).await
}

/// Removes the file, symlink or whole tree at `path`; a missing path is
/// already removed.
fn remove_tree<'a>(storage: &'a dyn Storage, path: &'a VirtualPath) -> BoxFuture<'a, Result<()>> {
    Box::pin(async move {
        let meta = match storage.lstat(path).await {
            Ok(meta) => meta,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        if meta.kind != FileKind::Dir {
            return storage.remove_file(path).await;
        }
        loop {
            let names = first_names(storage, path).await?;
            if names.is_empty() {
                break;
            }
            for name in names {
                remove_tree(storage, &child(path, &name)?).await?;
            }
        }
        storage.remove_dir(path).await
    })
}

/// Up to [`REMOVE_BATCH`] names from directory `path`; the listing is closed
/// before any of them is removed.
async fn first_names(storage: &dyn Storage, path: &VirtualPath) -> Result<Vec<String>> {
    let entries = storage.read_dir(path).await?;
    let batch: Vec<Result<_>> = entries.take(REMOVE_BATCH).collect().await;
    batch.into_iter().map(|e| e.map(|e| e.name)).collect()
}

/// `dir/name` for a name read from a listing. A name that normalisation
/// would change cannot be addressed, so it stops the move instead of naming
/// something else.
fn child(dir: &VirtualPath, name: &str) -> Result<VirtualPath> {
    if name.is_empty() || name == "." || name == ".." || name.contains('/') {
        return Err(Error::unsupported(format!(
            "the name {name:?} cannot be moved between folders"
        )));
    }
    dir.join(name)
}
