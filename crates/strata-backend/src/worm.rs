//! [`Worm`]: the write-once (WORM) decorator over any [`Backend`] (BACKEND-3, ARCH-1).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;

use crate::backend::{Backend, BackendKind, GetOptions, Listing, ObjectMeta, PutMode, PutOptions};
use crate::capabilities::{Capabilities, Retention, RetentionMode};
use crate::error::{Error, Result, WormOp};
use crate::key::validate_key;
use crate::upload::{Upload, UploadSummary, UploadWriter};

/// A write-once view of a backend: every write is create-only, and overwrites and deletes
/// fail with [`Error::WormViolation`] — puts, copies and uploads onto an existing key (also
/// one taken while an upload was running), and every delete, even of a missing key.
/// Reads, listings and [`purge_staging`](Backend::purge_staging) (staged objects were never
/// published) pass through.
///
/// A create-only write ([`PutMode::CreateOnly`]) onto an existing key stays
/// [`Error::AlreadyExists`]: the caller asked not to overwrite and nothing was refused on
/// WORM grounds. There is no way back from a `Worm` to its writable backend.
///
/// These refusals are made here, above the store, and rest on the store's create-only
/// writes: on a store that cannot enforce them (see
/// [`Capabilities::create_only`](crate::Capabilities::create_only)) every write through the
/// view is refused with [`Error::Unsupported`], so nothing is ever reported written once
/// that could be overwritten. [`with_retention`](Worm::with_retention) adds the stronger
/// guarantee of the store itself: S3 Object Lock keeps each object version from deletion and
/// change until its retain-until date, whoever asks. On a local disk (`file://`) each file
/// written through the view is made read-only (no write permission for anyone), so other
/// programs cannot change it in place either; that stops any process but root's from opening
/// it for writing, and a folder's own permissions still decide who may remove it.
///
/// `Worm<B>` wraps any backend `B`: an `Arc<dyn Backend>` ([`WormBackend`], what
/// [`OpenOptions::worm`](crate::OpenOptions::worm) gives), a concrete backend, or a
/// `&dyn Backend`; [`BackendExt::write_once`](crate::BackendExt::write_once) is a shorthand.
///
/// ```
/// use strata_backend::prelude::*;
/// use strata_backend::{Error, Worm, WormOp};
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let backend = strata_backend::open("memory://")?;
/// let archive = Worm::new(backend.clone());
/// archive.put("2024/sealed.parquet", "data").await?;
/// let again = archive.put("2024/sealed.parquet", "changed").await;
/// assert!(matches!(again, Err(Error::WormViolation { op: WormOp::Overwrite, .. })));
/// assert!(archive.delete("2024/sealed.parquet").await.unwrap_err().is_worm_violation());
/// assert_eq!(backend.get("2024/sealed.parquet").await?, "data");
/// # Ok::<(), Error>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct Worm<B = Arc<dyn Backend>> {
    inner: B,
    retention: Option<(RetentionMode, Duration)>,
}

/// A write-once view of a shared backend.
pub type WormBackend = Worm<Arc<dyn Backend>>;

impl<B: Backend> Worm<B> {
    /// The write-once view of `inner`.
    pub fn new(inner: B) -> Self {
        Self {
            inner,
            retention: None,
        }
    }

    /// Keeps every object written through this view under S3 Object Lock retention in
    /// `mode` for `period` from its write (set by the put itself; right after an upload or
    /// copy completes). Writes fail with [`Error::NoObjectLock`], writing nothing, on a store
    /// without Object Lock.
    pub fn with_retention(mut self, mode: RetentionMode, period: Duration) -> Self {
        self.retention = Some((mode, period));
        self
    }

    /// The retention this view sets on what it writes, if any.
    pub fn retention_rule(&self) -> Option<(RetentionMode, Duration)> {
        self.retention
    }

    /// Create-only, with this view's retention from now.
    fn write_options(&self, key: &str) -> Result<PutOptions> {
        let options = PutOptions::create_only();
        Ok(match self.retention {
            Some((mode, period)) => {
                let until = SystemTime::now().checked_add(period).ok_or_else(|| {
                    Error::store_msg("put", key, "the retention period is out of range")
                })?;
                options.with_retention(Retention { mode, until })
            }
            None => options,
        })
    }
}

/// Turns the inner store's "already exists" into a WORM refusal when the caller asked to
/// overwrite.
fn refused(key: &str, requested: PutMode, err: Error) -> Error {
    match err {
        Error::AlreadyExists { .. } if requested == PutMode::Overwrite => Error::WormViolation {
            key: key.to_owned(),
            op: WormOp::Overwrite,
        },
        other => other,
    }
}

#[async_trait]
impl<B: Backend> Backend for Worm<B> {
    fn url(&self) -> &str {
        self.inner.url()
    }

    fn kind(&self) -> BackendKind {
        self.inner.kind()
    }

    fn is_worm(&self) -> bool {
        true
    }

    fn part_size(&self) -> usize {
        self.inner.part_size()
    }

    async fn put_opts(&self, key: &str, data: Bytes, options: PutOptions) -> Result<()> {
        self.inner
            .put_opts(key, data, self.write_options(key)?)
            .await
            .map_err(|e| refused(key, options.mode, e))?;
        read_only_on_disk(&self.inner, key)
    }

    async fn get_opts(&self, key: &str, options: GetOptions) -> Result<Bytes> {
        self.inner.get_opts(key, options).await
    }

    async fn head(&self, key: &str) -> Result<ObjectMeta> {
        self.inner.head(key).await
    }

    fn list_stream(&self, prefix: &str) -> BoxStream<'static, Result<ObjectMeta>> {
        self.inner.list_stream(prefix)
    }

    async fn list_dir(&self, prefix: &str) -> Result<Listing> {
        self.inner.list_dir(prefix).await
    }

    async fn delete(&self, key: &str) -> Result<()> {
        validate_key(key)?;
        Err(Error::WormViolation {
            key: key.to_owned(),
            op: WormOp::Delete,
        })
    }

    async fn copy_opts(&self, from: &str, to: &str, options: PutOptions) -> Result<()> {
        self.inner
            .copy_opts(from, to, self.write_options(to)?)
            .await
            .map_err(|e| refused(to, options.mode, e))?;
        read_only_on_disk(&self.inner, to)
    }

    async fn upload_opts(&self, key: &str, options: PutOptions) -> Result<UploadWriter> {
        let upload = self
            .inner
            .upload_opts(key, self.write_options(key)?)
            .await
            .map_err(|e| refused(key, options.mode, e))?;
        Ok(UploadWriter::new(WormUpload {
            inner: upload.into_inner(),
            mode: options.mode,
            local: self.local_path(key),
        }))
    }

    async fn purge_staging(&self) -> Result<usize> {
        self.inner.purge_staging().await
    }

    async fn capabilities(&self) -> Result<Capabilities> {
        self.inner.capabilities().await
    }

    async fn retention(&self, key: &str) -> Result<Option<Retention>> {
        self.inner.retention(key).await
    }

    async fn download(&self, key: &str, to: &std::path::Path) -> Result<u64> {
        self.inner.download(key, to).await
    }

    /// Extending is allowed through a WORM view (it only keeps objects longer); shortening
    /// is refused as everywhere.
    async fn extend_retention(&self, key: &str, retention: Retention) -> Result<()> {
        self.inner.extend_retention(key, retention).await
    }
}

/// On a local disk, the file `key` names, made read-only: what [`Worm`] writes is never
/// changed in place.
fn read_only_on_disk<B: Backend>(inner: &B, key: &str) -> Result<()> {
    match local_file(inner, key) {
        Some(path) => make_read_only(&path),
        None => Ok(()),
    }
}

/// The file of `key` under a `file://` backend's folder; `None` for any other backend.
pub fn local_file<B: Backend + ?Sized>(inner: &B, key: &str) -> Option<std::path::PathBuf> {
    if inner.kind() != BackendKind::Local {
        return None;
    }
    let root = url::Url::parse(inner.url()).ok()?.to_file_path().ok()?;
    Some(key.split('/').fold(root, |path, part| path.join(part)))
}

fn make_read_only(path: &std::path::Path) -> Result<()> {
    let io = |source| Error::LocalFolder {
        path: path.to_path_buf(),
        source,
    };
    let mut permissions = std::fs::metadata(path).map_err(io)?.permissions();
    if !permissions.readonly() {
        permissions.set_readonly(true);
        std::fs::set_permissions(path, permissions).map_err(io)?;
    }
    Ok(())
}

impl<B: Backend> Worm<B> {
    fn local_path(&self, key: &str) -> Option<std::path::PathBuf> {
        local_file(&self.inner, key)
    }
}

/// An upload through a WORM view: one the caller asked to overwrite that loses the key to
/// another writer at `finish` is a WORM refusal; on a local disk the finished file is made
/// read-only.
#[derive(Debug)]
struct WormUpload {
    inner: Box<dyn Upload>,
    mode: PutMode,
    local: Option<std::path::PathBuf>,
}

#[async_trait]
impl Upload for WormUpload {
    fn key(&self) -> &str {
        self.inner.key()
    }

    fn bytes_written(&self) -> u64 {
        self.inner.bytes_written()
    }

    async fn write(&mut self, data: &[u8]) -> Result<()> {
        self.inner.write(data).await
    }

    async fn write_bytes(&mut self, data: Bytes) -> Result<()> {
        self.inner.write_bytes(data).await
    }

    async fn finish(self: Box<Self>) -> Result<UploadSummary> {
        let key = self.inner.key().to_owned();
        let summary = match self.mode {
            PutMode::Overwrite => self
                .inner
                .finish()
                .await
                .map_err(|e| refused(&key, PutMode::Overwrite, e))?,
            PutMode::CreateOnly => self.inner.finish().await?,
        };
        if let Some(path) = &self.local {
            make_read_only(path)?;
        }
        Ok(summary)
    }

    async fn abort(self: Box<Self>) -> Result<()> {
        self.inner.abort().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BackendExt, ObjectStoreBackend};

    #[tokio::test]
    async fn a_worm_view_refuses_overwrites_and_deletes_and_says_so() {
        let backend = ObjectStoreBackend::memory();
        let worm = backend.clone().write_once();
        assert!(worm.is_worm() && !backend.is_worm());
        worm.put("k", "v").await.unwrap();
        let err = worm.put("k", "w").await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "refusing to overwrite object `k`: the backend is write-once (WORM)"
        );
        let err = worm.delete("k").await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "refusing to delete object `k`: the backend is write-once (WORM)"
        );
        // A malformed key is still InvalidKey, not a WORM refusal.
        assert!(matches!(
            worm.delete("../k").await,
            Err(Error::InvalidKey { .. })
        ));
        assert_eq!(backend.get("k").await.unwrap(), "v");
        // A WORM view of a WORM view is still one.
        let twice = Worm::new(worm);
        assert!(twice.put("k", "x").await.unwrap_err().is_worm_violation());
    }

    #[tokio::test]
    async fn an_absurd_retention_period_is_an_error_not_a_panic() {
        let backend = ObjectStoreBackend::memory();
        let worm = backend
            .clone()
            .write_once()
            .with_retention(RetentionMode::Compliance, Duration::MAX);
        let err = worm.put("k", "v").await.unwrap_err();
        assert!(err.to_string().contains("out of range"), "{err}");
        assert!(!backend.exists("k").await.unwrap());
    }

    #[tokio::test]
    async fn what_a_worm_view_writes_on_a_local_disk_is_read_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let url = url::Url::from_directory_path(dir.path()).unwrap();
        let backend = crate::open(url.as_str()).unwrap();
        let worm = Worm::new(backend.clone());
        worm.put("a/put.parquet", "1").await.unwrap();
        worm.copy_if_not_exists("a/put.parquet", "a/copy.parquet")
            .await
            .unwrap();
        for mode in [PutMode::CreateOnly, PutMode::Overwrite] {
            let key = format!("b/upload-{mode:?}.parquet");
            let mut upload = worm
                .upload_opts(
                    &key,
                    PutOptions {
                        mode,
                        ..PutOptions::default()
                    },
                )
                .await
                .unwrap();
            upload.write(b"data").await.unwrap();
            upload.finish().await.unwrap();
        }
        // What the plain backend writes keeps its ordinary mode.
        backend.put("c/plain.jsonl", "2").await.unwrap();
        let mode = |p: &str| {
            std::fs::metadata(dir.path().join(p))
                .unwrap()
                .permissions()
                .mode()
        };
        for key in [
            "a/put.parquet",
            "a/copy.parquet",
            "b/upload-CreateOnly.parquet",
            "b/upload-Overwrite.parquet",
        ] {
            assert_eq!(mode(key) & 0o222, 0, "{key} is writable: {:o}", mode(key));
            assert_eq!(
                worm.get(key).await.unwrap().len(),
                if key.starts_with('b') { 4 } else { 1 }
            );
        }
        assert_ne!(mode("c/plain.jsonl") & 0o200, 0);
        // Refusals stay refusals.
        assert!(worm
            .put("a/put.parquet", "x")
            .await
            .unwrap_err()
            .is_worm_violation());
        assert!(worm
            .delete("a/put.parquet")
            .await
            .unwrap_err()
            .is_worm_violation());
    }

    #[tokio::test]
    async fn worm_over_a_shared_backend() {
        let shared: Arc<dyn Backend> = Arc::new(ObjectStoreBackend::memory());
        let worm: WormBackend = Worm::new(Arc::clone(&shared));
        worm.put("a", "1").await.unwrap();
        assert!(worm.copy("a", "a").await.unwrap_err().is_worm_violation());
        assert!(matches!(
            worm.copy_if_not_exists("a", "a").await,
            Err(Error::AlreadyExists { .. })
        ));
        assert_eq!(worm.url(), "memory://");
        assert_eq!(worm.kind(), BackendKind::Memory);
    }
}
