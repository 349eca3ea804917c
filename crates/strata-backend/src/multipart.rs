//! [`ObjectStoreBackend`]'s uploads: portable across S3 servers.
//!
//! - Nothing is sent until a whole part is written: an upload that ends below the part size
//!   (an empty one too) becomes one plain put — no multipart upload, no empty part (which
//!   Garage refuses), one request instead of three.
//! - Parts grow so the 10,000-part limit of S3 is never reached: the part size doubles
//!   every 1,000 parts (from 5 MiB: about 5 TB in 10,000 parts), capped at S3's 5 GiB.
//! - A create-only upload that needs parts is, on S3, uploaded in place and completed with
//!   `If-None-Match: *` (and locked from its start when a retention is asked); elsewhere it
//!   is staged under `.strata-staging/` and published with an atomic create-only copy. One
//!   that fits a part is a conditional put.
//! - With [`OpenOptions::uniform_parts`](crate::OpenOptions::uniform_parts) every part but
//!   the last has the same size (Cloudflare R2 requires it), and an upload past 10,000 parts
//!   is refused naming the part size to raise.

use std::fmt;

use async_trait::async_trait;
use bytes::Bytes;
use object_store::path::Path;
use object_store::{
    CopyMode, CopyOptions, MultipartUpload, ObjectStore, ObjectStoreExt, PutPayloadMut,
};
use tokio::task::JoinSet;

use crate::backend::{Backend, PutMode, PutOptions};
use crate::error::{Error, Result};
use crate::store::{new_staging_path, object_store_mode, ObjectStoreBackend};
use crate::upload::{Upload, UploadSummary};

/// S3's largest part.
pub const MAX_PART_SIZE: u64 = 5 * 1024 * 1024 * 1024;

/// S3's most parts in one upload.
pub const MAX_PARTS: u64 = 10_000;

/// How many parts are cut at one size before the size doubles.
const PARTS_PER_SIZE: u64 = 1_000;

/// The size of part `index` (0-based) of an upload whose first parts are `base` bytes: `base`
/// doubled every 1,000 parts, at most [`MAX_PART_SIZE`].
///
/// ```
/// use strata_backend::multipart::{part_size_for, MAX_PART_SIZE};
/// let mib = 1024 * 1024;
/// assert_eq!(part_size_for(5 * mib, 0), 5 * mib);
/// assert_eq!(part_size_for(5 * mib, 1_000), 10 * mib);
/// assert_eq!(part_size_for(5 * mib, 9_999), 2_560 * mib);
/// assert_eq!(part_size_for(64 * mib, 9_999), MAX_PART_SIZE);
/// ```
pub fn part_size_for(base: u64, index: u64) -> u64 {
    let doublings = u32::try_from(index / PARTS_PER_SIZE).unwrap_or(u32::MAX);
    base.checked_shl(doublings)
        .filter(|size| size >> doublings == base)
        .unwrap_or(MAX_PART_SIZE)
        .min(MAX_PART_SIZE)
}

/// The largest object an upload with parts of `base` bytes can hold within [`MAX_PARTS`].
pub fn max_upload_size(base: u64) -> u64 {
    (0..MAX_PARTS).map(|i| part_size_for(base, i)).sum()
}

/// A multipart upload on the server, once the first part is cut.
struct Running {
    /// Where a create-only upload is staged before its atomic create-only publication.
    staging: Option<Path>,
    upload: Box<dyn MultipartUpload>,
    tasks: JoinSet<object_store::Result<()>>,
}

/// An [`ObjectStoreBackend`]'s upload (see the [module](self)).
pub(crate) struct ObjectStoreUpload {
    backend: ObjectStoreBackend,
    key: String,
    destination: Path,
    options: PutOptions,
    /// The part being filled.
    buffer: PutPayloadMut,
    /// `None` until the first part is cut.
    running: Option<Running>,
    /// Parts cut so far.
    parts: u64,
    written: u64,
    /// A write failed and the upload was aborted.
    failed: bool,
}

impl fmt::Debug for ObjectStoreUpload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObjectStoreUpload")
            .field("backend", &self.backend.url())
            .field("key", &self.key)
            .field("mode", &self.options.mode)
            .field("parts", &self.parts)
            .field("written", &self.written)
            .field("failed", &self.failed)
            .finish()
    }
}

fn failed_earlier(key: &str) -> Error {
    Error::store_msg(
        "upload",
        key,
        "an earlier write of this upload failed and the upload was aborted",
    )
}

impl ObjectStoreUpload {
    pub(crate) fn new(
        backend: ObjectStoreBackend,
        key: String,
        destination: Path,
        options: PutOptions,
    ) -> Self {
        Self {
            backend,
            key,
            destination,
            options,
            buffer: PutPayloadMut::new(),
            running: None,
            parts: 0,
            written: 0,
            failed: false,
        }
    }

    fn current_part_size(&self) -> usize {
        let base = self.backend.part_size() as u64;
        if self.backend.uniform_parts() {
            return self.backend.part_size();
        }
        let size = part_size_for(base, self.parts);
        usize::try_from(size).unwrap_or(usize::MAX)
    }

    /// Hands the full buffer to the server as the next part, starting the upload first if
    /// needed, and waits while too many parts are in flight.
    async fn cut_part(&mut self) -> Result<()> {
        if self.parts >= MAX_PARTS {
            let too_many = Err(self.too_many_parts());
            return self.check(too_many).await;
        }
        if self.running.is_none() {
            let running = start(&self.backend, &self.key, &self.destination, &self.options).await;
            self.running = Some(self.check(running).await?);
        }
        let part = std::mem::take(&mut self.buffer).freeze();
        let max = self.backend.max_concurrent_parts();
        let Some(running) = self.running.as_mut() else {
            return Err(failed_earlier(&self.key));
        };
        running.tasks.spawn(running.upload.put_part(part));
        self.parts += 1;
        let waited = wait_for(&mut running.tasks, max).await;
        self.check(waited).await
    }

    fn too_many_parts(&self) -> Error {
        Error::store_msg(
            "upload",
            &self.key,
            format!(
                "the upload needs more than {MAX_PARTS} parts of {} bytes, S3's limit: open \
                 the backend with a larger OpenOptions::part_size",
                self.current_part_size()
            ),
        )
    }

    /// On an error, aborts the upload and remembers the failure.
    async fn check<T>(&mut self, result: Result<T>) -> Result<T> {
        if result.is_err() {
            self.failed = true;
            if let Some(mut running) = self.running.take() {
                running.tasks.shutdown().await;
                if let Err(e) = running.upload.abort().await {
                    tracing::warn!(key = self.key, error = %e, "could not abort a failed upload");
                }
            }
        }
        result
    }

    fn room(&self) -> usize {
        self.current_part_size()
            .saturating_sub(self.buffer.content_length())
    }
}

/// Starts the multipart upload: on S3, create-only or locked ones through strata's own
/// requests, in place; elsewhere create-only ones staged. (A free function: the upload is
/// not `Sync`, so no reference to it may be held across an await.)
async fn start(
    backend: &ObjectStoreBackend,
    key: &str,
    destination: &Path,
    options: &PutOptions,
) -> Result<Running> {
    let mode = options.mode;
    #[cfg(feature = "s3")]
    if let Some(server) = backend.server() {
        if mode == PutMode::CreateOnly || options.retention.is_some() {
            let upload = server.start_multipart(key, mode, options.retention).await?;
            return Ok(Running {
                staging: None,
                upload: Box::new(upload),
                tasks: JoinSet::new(),
            });
        }
    }
    let staging = (mode == PutMode::CreateOnly).then(new_staging_path);
    let target = staging.as_ref().unwrap_or(destination);
    let upload = backend
        .store()
        .put_multipart(target)
        .await
        .map_err(|e| Error::from_store("upload", key, e))?;
    Ok(Running {
        staging,
        upload,
        tasks: JoinSet::new(),
    })
}

/// Waits until at most `max` parts are in flight; the first failed part is the error.
async fn wait_for(tasks: &mut JoinSet<object_store::Result<()>>, max: usize) -> Result<()> {
    while tasks.len() > max {
        match tasks.join_next().await {
            Some(Ok(Ok(()))) | None => {}
            Some(Ok(Err(e))) => return Err(Error::from_store("upload", "", e)),
            Some(Err(join)) => {
                return Err(Error::store_msg(
                    "upload",
                    "",
                    format!("a part upload task failed: {join}"),
                ))
            }
        }
    }
    Ok(())
}

/// Names the key in an error that came from a part task.
fn with_key(err: Error, key: &str) -> Error {
    match err {
        Error::Store { op, key: k, source } if k.is_empty() => Error::Store {
            op,
            key: key.to_owned(),
            source,
        },
        other => other,
    }
}

#[async_trait]
impl Upload for ObjectStoreUpload {
    fn key(&self) -> &str {
        &self.key
    }

    fn bytes_written(&self) -> u64 {
        self.written
    }

    async fn write(&mut self, mut data: &[u8]) -> Result<()> {
        if self.failed {
            return Err(failed_earlier(&self.key));
        }
        while !data.is_empty() {
            let take = data.len().min(self.room());
            self.buffer.extend_from_slice(&data[..take]);
            self.written += take as u64;
            data = &data[take..];
            if self.room() == 0 {
                let key = self.key.clone();
                self.cut_part().await.map_err(|e| with_key(e, &key))?;
            }
        }
        Ok(())
    }

    async fn write_bytes(&mut self, mut data: Bytes) -> Result<()> {
        if self.failed {
            return Err(failed_earlier(&self.key));
        }
        while !data.is_empty() {
            let take = data.len().min(self.room());
            self.buffer.push(data.split_to(take));
            self.written += take as u64;
            if self.room() == 0 {
                let key = self.key.clone();
                self.cut_part().await.map_err(|e| with_key(e, &key))?;
            }
        }
        Ok(())
    }

    async fn finish(mut self: Box<Self>) -> Result<UploadSummary> {
        if self.failed {
            return Err(failed_earlier(&self.key));
        }
        let key = std::mem::take(&mut self.key);
        let Some(mut running) = self.running.take() else {
            // Below one part (or empty): one plain put, conditional for create-only.
            let payload = std::mem::take(&mut self.buffer).freeze();
            if self.options.retention.is_some() {
                // Locked by the put itself.
                self.backend
                    .put_opts(&key, Bytes::from(payload), self.options.clone())
                    .await?;
                return Ok(UploadSummary {
                    parts: u64::from(self.written > 0),
                    size: self.written,
                    key,
                });
            }
            let mode = object_store_mode(self.options.mode);
            self.backend
                .store()
                .put_opts(&self.destination, payload, mode.into())
                .await
                .map_err(|e| Error::from_store("upload", &key, e))?;
            return Ok(UploadSummary {
                parts: u64::from(self.written > 0),
                size: self.written,
                key,
            });
        };
        if !self.buffer.is_empty() {
            if self.parts >= MAX_PARTS {
                let err = self.too_many_parts();
                running.tasks.shutdown().await;
                if let Err(abort) = running.upload.abort().await {
                    tracing::warn!(key, error = %abort, "could not abort a failed upload");
                }
                return Err(err);
            }
            let part = std::mem::take(&mut self.buffer).freeze();
            running.tasks.spawn(running.upload.put_part(part));
            self.parts += 1;
        }
        let target_key = running
            .staging
            .as_ref()
            .map_or(key.clone(), |s| s.as_ref().to_owned());
        let done = match wait_for(&mut running.tasks, 0).await {
            Ok(()) => running
                .upload
                .complete()
                .await
                .map_err(|e| Error::from_store("upload", &target_key, e)),
            Err(e) => Err(with_key(e, &target_key)),
        };
        if let Err(e) = done {
            running.tasks.shutdown().await;
            if let Err(abort) = running.upload.abort().await {
                tracing::warn!(key, error = %abort, "could not abort a failed upload");
            }
            return Err(e);
        }
        if let Some(staging) = running.staging.take() {
            publish(&self.backend, &key, &self.destination, &staging).await?;
        }
        Ok(UploadSummary {
            key,
            size: self.written,
            parts: self.parts,
        })
    }

    async fn abort(mut self: Box<Self>) -> Result<()> {
        match self.running.take() {
            Some(mut running) => {
                running.tasks.shutdown().await;
                running
                    .upload
                    .abort()
                    .await
                    .map_err(|e| Error::from_store("upload abort", &self.key, e))
            }
            // Nothing was sent, or a failed write already aborted the upload.
            None => Ok(()),
        }
    }
}

/// Publishes a staged upload under `key` with an atomic create-only copy, then removes the
/// staged copy. (A free function: the upload is not `Sync`, so no reference to it may be
/// held across an await.)
async fn publish(
    backend: &ObjectStoreBackend,
    key: &str,
    destination: &Path,
    staging: &Path,
) -> Result<()> {
    let store = backend.store();
    let copy = CopyOptions::new().with_mode(CopyMode::Create);
    let published = store.copy_opts(staging, destination, copy).await;
    if let Err(e) = store.delete(staging).await {
        // The object is (or is not) published either way; a leftover staged copy is
        // invisible to readers and removed by `purge_staging`.
        tracing::warn!(
            backend = backend.url(),
            staging = staging.as_ref(),
            error = %e,
            "could not remove a staged upload"
        );
    }
    published.map_err(|e| Error::from_store("upload", key, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_grow_so_ten_thousand_hold_terabytes() {
        let mib = 1024 * 1024;
        assert_eq!(part_size_for(5 * mib, 999), 5 * mib);
        assert_eq!(part_size_for(5 * mib, 2_000), 20 * mib);
        assert_eq!(part_size_for(5 * mib, u64::MAX), MAX_PART_SIZE);
        assert_eq!(part_size_for(u64::MAX, 5_000), MAX_PART_SIZE);
        // 5 MiB parts: 1000 × 5 MiB × (2^10 − 1) ≈ 5.36 TB.
        let most = max_upload_size(5 * mib);
        assert_eq!(most, 1_000 * 5 * mib * 1_023);
        assert!(most > 5_000_000_000_000, "{most}");
    }
}
