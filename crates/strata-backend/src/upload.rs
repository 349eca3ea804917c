//! Streaming (multipart) uploads of large objects: [`UploadWriter`].

use std::fmt;

use bytes::Bytes;
use object_store::path::Path;
use object_store::{CopyMode, CopyOptions, MultipartUpload, ObjectStoreExt, WriteMultipart};

use crate::backend::{Backend, PutMode};
use crate::error::{Error, Result};

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

/// A multipart upload in progress, from [`Backend::upload`] or [`Backend::upload_opts`].
///
/// Data is cut into parts of [`Backend::part_size`] bytes that upload in the background
/// while you keep writing (a few parts at most are in flight; `write` waits when that many
/// are pending). Nothing is visible under the key until [`finish`](Self::finish) returns;
/// the object then appears whole, atomically.
///
/// Call [`abort`](Self::abort) to give up. Dropping the writer without `finish` or `abort`
/// also publishes nothing, but may leave server-side parts (S3 keeps incomplete multipart
/// uploads until a lifecycle rule removes them) or a staged object under `.strata-staging/`
/// (see [`Backend::purge_staging`]).
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let backend = strata_backend::Backend::memory();
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
    backend: Backend,
    key: String,
    destination: Path,
    mode: PutMode,
    /// Where a create-only upload is staged before its atomic create-only publication.
    staging: Option<Path>,
    /// `None` once a write failed (the upload was then aborted).
    writer: Option<WriteMultipart>,
    written: u64,
}

impl fmt::Debug for UploadWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UploadWriter")
            .field("backend", &self.backend.url())
            .field("key", &self.key)
            .field("mode", &self.mode)
            .field("staged", &self.staging.is_some())
            .field("written", &self.written)
            .field("failed", &self.writer.is_none())
            .finish()
    }
}

impl UploadWriter {
    pub(crate) fn new(
        backend: Backend,
        key: String,
        destination: Path,
        mode: PutMode,
        staging: Option<Path>,
        upload: Box<dyn MultipartUpload>,
    ) -> Self {
        let writer = WriteMultipart::new_with_chunk_size(upload, backend.part_size());
        Self {
            backend,
            key,
            destination,
            mode,
            staging,
            writer: Some(writer),
            written: 0,
        }
    }

    /// The key being written.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Bytes accepted so far.
    pub fn bytes_written(&self) -> u64 {
        self.written
    }

    /// Appends `data` (copied into the part buffer).
    pub async fn write(&mut self, data: &[u8]) -> Result<()> {
        self.wait_for_capacity().await?;
        if let Some(writer) = self.writer.as_mut() {
            writer.write(data);
            self.written += data.len() as u64;
        }
        Ok(())
    }

    /// Appends `data` without copying it.
    pub async fn write_bytes(&mut self, data: Bytes) -> Result<()> {
        self.wait_for_capacity().await?;
        if let Some(writer) = self.writer.as_mut() {
            self.written += data.len() as u64;
            writer.put(data);
        }
        Ok(())
    }

    /// Uploads what is buffered, completes the upload and publishes the object atomically.
    ///
    /// A create-only upload (or any upload on WORM) fails with [`Error::AlreadyExists`]
    /// (or [`Error::WormViolation`] for an overwrite on WORM) if the key was taken while it
    /// was uploading; the existing object is left untouched.
    pub async fn finish(mut self) -> Result<UploadSummary> {
        let writer = self.writer.take().ok_or_else(|| self.failed_earlier())?;
        let target_key = self
            .staging
            .as_ref()
            .map_or(self.key.as_str(), |s| s.as_ref());
        // On failure `WriteMultipart::finish` aborts the upload itself.
        writer
            .finish()
            .await
            .map_err(|e| Error::from_store("upload", target_key, e))?;
        if let Some(staging) = self.staging.take() {
            publish(
                &self.backend,
                &self.key,
                &self.destination,
                self.mode,
                &staging,
            )
            .await?;
        }
        let part_size = self.backend.part_size() as u64;
        Ok(UploadSummary {
            key: std::mem::take(&mut self.key),
            size: self.written,
            parts: self.written.div_ceil(part_size),
        })
    }

    /// Cancels the upload; nothing is published and uploaded parts are discarded.
    pub async fn abort(mut self) -> Result<()> {
        match self.writer.take() {
            Some(writer) => writer
                .abort()
                .await
                .map_err(|e| Error::from_store("upload abort", &self.key, e)),
            // A failed write already aborted the upload.
            None => Ok(()),
        }
    }

    /// Applies back-pressure; on a failed part, aborts the upload and reports the error.
    async fn wait_for_capacity(&mut self) -> Result<()> {
        let max = self.backend.max_concurrent_parts();
        let Some(writer) = self.writer.as_mut() else {
            return Err(self.failed_earlier());
        };
        if let Err(e) = writer.wait_for_capacity(max).await {
            if let Some(writer) = self.writer.take() {
                if let Err(abort) = writer.abort().await {
                    tracing::warn!(key = self.key, error = %abort, "could not abort a failed upload");
                }
            }
            return Err(Error::from_store("upload", &self.key, e));
        }
        Ok(())
    }

    fn failed_earlier(&self) -> Error {
        Error::store_msg(
            "upload",
            &self.key,
            "an earlier write of this upload failed and the upload was aborted",
        )
    }
}

/// Publishes a staged upload under `key` with an atomic create-only copy, then removes the
/// staged copy. (A free function: `UploadWriter` is not `Sync`, so no `&UploadWriter` may be
/// held across an await.)
async fn publish(
    backend: &Backend,
    key: &str,
    destination: &Path,
    mode: PutMode,
    staging: &Path,
) -> Result<()> {
    let store = backend.store();
    let copy = CopyOptions::new().with_mode(CopyMode::Create);
    let published = store.copy_opts(staging, destination, copy).await;
    if let Err(e) = store.delete(staging).await {
        // The object is (or is not) published either way; a leftover staged copy is
        // invisible to readers and removed by `Backend::purge_staging`.
        tracing::warn!(
            backend = backend.url(),
            staging = staging.as_ref(),
            error = %e,
            "could not remove a staged upload"
        );
    }
    published.map_err(|e| backend.refused_write(key, mode, Error::from_store("upload", key, e)))
}
