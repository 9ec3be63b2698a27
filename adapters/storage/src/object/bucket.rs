//! The store behind an [`ObjectStorage`](super::ObjectStorage), seen through
//! Ferry's errors: every call here sorts the store's failures in one place.

use super::azure_markers::AzureMarkers;
use super::errors::{Redactions, at};
use bytes::Bytes;
use ferry_domain::Result;
use object_store::list::{PaginatedListOptions, PaginatedListResult, PaginatedListStore};
use object_store::path::Path;
use object_store::{
    MultipartUpload, ObjectMeta, ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload,
};
use std::fmt;
use std::ops::Range;
use std::sync::Arc;

/// What an object store must offer: the common operations and listings one
/// page at a time. S3, GCS and Azure clients of `object_store` all do.
pub trait ObjectBackend: ObjectStore + PaginatedListStore {}

impl<T: ObjectStore + PaginatedListStore> ObjectBackend for T {}

/// A shared store and what its errors must not reveal.
#[derive(Clone)]
pub(crate) struct Bucket {
    store: Arc<dyn ObjectBackend>,
    redactions: Arc<Redactions>,
    /// Where `<dir>/` markers go when the store's client cannot name them.
    markers: Option<Arc<AzureMarkers>>,
}

/// Without the store: a client's `Debug` can carry its configuration.
impl fmt::Debug for Bucket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Bucket")
    }
}

impl Bucket {
    pub(crate) fn new(store: Arc<dyn ObjectBackend>, redactions: Redactions) -> Self {
        Self {
            store,
            redactions: Arc::new(redactions),
            markers: None,
        }
    }

    /// The same bucket, with `<dir>/` markers going through `markers`.
    pub(crate) fn with_markers(mut self, markers: AzureMarkers) -> Self {
        self.markers = Some(Arc::new(markers));
        self
    }

    pub(crate) fn redactions(&self) -> Arc<Redactions> {
        Arc::clone(&self.redactions)
    }

    /// The modification time (seconds) of the `<dir>/` marker `marker`,
    /// `None` when there is none.
    pub(crate) async fn head_marker(&self, marker: &Path) -> Result<Option<u64>> {
        match &self.markers {
            Some(markers) => markers.head(marker.as_ref()).await,
            None => Ok(self.head(marker).await?.map(|meta| seconds(&meta))),
        }
    }

    /// Writes the empty `<dir>/` marker `marker`.
    pub(crate) async fn put_marker(&self, marker: &Path) -> Result<()> {
        match &self.markers {
            Some(markers) => markers.put(marker.as_ref()).await,
            None => self.put(marker, PutPayload::new(), false).await,
        }
    }

    /// Deletes the `<dir>/` marker `marker`; one already gone is deleted.
    pub(crate) async fn delete_marker(&self, marker: &Path) -> Result<()> {
        match &self.markers {
            Some(markers) => markers.delete(marker.as_ref()).await,
            None => self.delete(marker).await,
        }
    }

    /// The object's metadata, `None` when there is no object at `key`.
    pub(crate) async fn head(&self, key: &Path) -> Result<Option<ObjectMeta>> {
        match self.store.head(key).await {
            Ok(meta) => Ok(Some(meta)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(error) => Err(at(&self.redactions)(error)),
        }
    }

    /// Writes a whole object in one request; `create_only` refuses to
    /// replace an existing one (`Conflict`).
    pub(crate) async fn put(
        &self,
        key: &Path,
        payload: PutPayload,
        create_only: bool,
    ) -> Result<()> {
        let mode = if create_only {
            PutMode::Create
        } else {
            PutMode::Overwrite
        };
        let options = PutOptions {
            mode,
            ..Default::default()
        };
        let put = self.store.put_opts(key, payload, options).await;
        put.map(drop).map_err(at(&self.redactions))
    }

    pub(crate) async fn get_range(&self, key: &Path, range: Range<u64>) -> Result<Bytes> {
        let got = self.store.get_range(key, range).await;
        got.map_err(at(&self.redactions))
    }

    /// Deletes an object; one already gone counts as deleted, since some
    /// stores answer `NotFound` and others success.
    pub(crate) async fn delete(&self, key: &Path) -> Result<()> {
        match self.store.delete(key).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(error) => Err(at(&self.redactions)(error)),
        }
    }

    pub(crate) async fn copy(&self, from: &Path, to: &Path) -> Result<()> {
        let copied = self.store.copy(from, to).await;
        copied.map_err(at(&self.redactions))
    }

    /// One page of the keys under `prefix`; with `grouped`, keys below the
    /// next `/` come back as common prefixes.
    pub(crate) async fn list_page(
        &self,
        prefix: &str,
        grouped: bool,
        max_keys: Option<usize>,
        page_token: Option<String>,
    ) -> Result<PaginatedListResult> {
        let options = PaginatedListOptions {
            delimiter: grouped.then_some("/".into()),
            max_keys,
            page_token,
            ..Default::default()
        };
        let prefix = (!prefix.is_empty()).then_some(prefix);
        let page = self.store.list_paginated(prefix, options).await;
        page.map_err(at(&self.redactions))
    }

    pub(crate) async fn start_upload(&self, key: &Path) -> Result<Box<dyn MultipartUpload>> {
        let upload = self.store.put_multipart(key).await;
        upload.map_err(at(&self.redactions))
    }

    /// Sorts an error from a call made outside this type (an upload's parts).
    pub(crate) fn sort(&self, error: object_store::Error) -> ferry_domain::Error {
        at(&self.redactions)(error)
    }
}

/// An object's last modification, in seconds since 1970.
pub(crate) fn seconds(meta: &ObjectMeta) -> u64 {
    meta.last_modified.timestamp().max(0) as u64
}
