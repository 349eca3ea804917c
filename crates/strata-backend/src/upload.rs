//! Streaming (multipart) uploads of large objects: the [`Upload`] trait a backend
//! implements, and [`UploadWriter`], the handle callers write to.

use std::fmt;

use async_trait::async_trait;
use bytes::Bytes;

use crate::error::Result;

/// What a finished upload wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadSummary {
    /// The key written.
    pub key: String,
    /// Bytes written.
    pub size: u64,
    /// Parts uploaded (0 for an empty object).
    pub parts: u64,
}

/// One multipart upload in progress, as a backend implements it; callers hold it as an
/// [`UploadWriter`], which [`Backend::upload_opts`](crate::Backend::upload_opts) returns.
///
/// Implementations must publish nothing under the key before [`finish`](Upload::finish)
/// returns, and then the whole object at once. A decorator wraps the inner backend's
/// [`UploadWriter`] in its own `Upload` (see [`Worm`](crate::Worm) and
/// `examples/custom_backend.rs`).
#[async_trait]
pub trait Upload: Send + fmt::Debug {
    /// The key being written.
    fn key(&self) -> &str;

    /// Bytes accepted so far.
    fn bytes_written(&self) -> u64;

    /// Appends `data` (copied).
    async fn write(&mut self, data: &[u8]) -> Result<()>;

    /// Appends `data` without copying it; the default calls [`write`](Upload::write).
    async fn write_bytes(&mut self, data: Bytes) -> Result<()> {
        self.write(&data).await
    }

    /// Uploads what is buffered, completes the upload and publishes the object atomically.
    async fn finish(self: Box<Self>) -> Result<UploadSummary>;

    /// Cancels the upload; nothing is published and uploaded parts are discarded.
    async fn abort(self: Box<Self>) -> Result<()>;
}

/// A multipart upload in progress, from [`BackendExt::upload`](crate::BackendExt::upload)
/// or [`Backend::upload_opts`](crate::Backend::upload_opts).
///
/// Data is cut into parts of [`Backend::part_size`](crate::Backend::part_size) bytes that
/// (on strata's stores) upload in the background while you keep writing; `write` waits when
/// too many are pending. Nothing is visible under the key until [`finish`](Self::finish)
/// returns; the object then appears whole, atomically.
///
/// A create-only upload (or any upload on WORM) fails at `finish` with
/// [`Error::AlreadyExists`](crate::Error::AlreadyExists) (or
/// [`Error::WormViolation`](crate::Error::WormViolation) for an overwrite on WORM) if the key
/// was taken while it was uploading; the existing object is left untouched.
///
/// Call [`abort`](Self::abort) to give up. Dropping the writer without `finish` or `abort`
/// also publishes nothing, but may leave server-side parts (S3 keeps incomplete multipart
/// uploads until a lifecycle rule removes them) or a staged object under `.strata-staging/`
/// (see [`Backend::purge_staging`](crate::Backend::purge_staging)).
///
/// ```
/// use strata_backend::prelude::*;
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let backend = strata_backend::open("memory://")?;
/// let mut upload = backend.upload("big/object.bin").await?;
/// upload.write(b"first chunk, ").await?;
/// upload.write(b"second chunk").await?;
/// let summary = upload.finish().await?;
/// assert_eq!(summary.size, 25);
/// assert_eq!(backend.get("big/object.bin").await?.as_ref(), b"first chunk, second chunk");
/// # Ok::<(), strata_backend::Error>(())
/// # }).unwrap();
/// ```
pub struct UploadWriter {
    inner: Box<dyn Upload>,
}

impl fmt::Debug for UploadWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

impl UploadWriter {
    /// Wraps a backend's upload.
    pub fn new(upload: impl Upload + 'static) -> Self {
        Self::from_box(Box::new(upload))
    }

    /// Wraps an already boxed upload.
    pub fn from_box(upload: Box<dyn Upload>) -> Self {
        Self { inner: upload }
    }

    /// The backend's upload, for a decorator that wraps it.
    pub fn into_inner(self) -> Box<dyn Upload> {
        self.inner
    }

    /// The key being written.
    pub fn key(&self) -> &str {
        self.inner.key()
    }

    /// Bytes accepted so far.
    pub fn bytes_written(&self) -> u64 {
        self.inner.bytes_written()
    }

    /// Appends `data` (copied into the part buffer).
    pub async fn write(&mut self, data: &[u8]) -> Result<()> {
        self.inner.write(data).await
    }

    /// Appends `data` without copying it.
    pub async fn write_bytes(&mut self, data: Bytes) -> Result<()> {
        self.inner.write_bytes(data).await
    }

    /// Uploads what is buffered, completes the upload and publishes the object atomically;
    /// see the [type's documentation](Self) for create-only and WORM uploads.
    pub async fn finish(self) -> Result<UploadSummary> {
        self.inner.finish().await
    }

    /// Cancels the upload; nothing is published and uploaded parts are discarded.
    pub async fn abort(self) -> Result<()> {
        self.inner.abort().await
    }
}
