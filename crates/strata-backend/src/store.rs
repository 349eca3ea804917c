//! [`ObjectStoreBackend`]: strata's built-in stores (`file://`, `memory://`, `s3://`) over the
//! [`object_store`] crate, and their multipart uploads.

use std::fmt;
use std::ops::Range;
use std::path::Path as FsPath;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::{self, BoxStream, StreamExt};
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{CopyMode, CopyOptions, ObjectStore, ObjectStoreExt, PutPayload};
use url::Url;

use crate::backend::{Backend, BackendKind, GetOptions, Listing, ObjectMeta, PutMode, PutOptions};
use crate::capabilities::{Capabilities, ObjectLock, Provenance, Retention};
use crate::error::{Error, Result};
use crate::key::{key_to_path, path_to_key, prefix_to_path, STAGING_DIR};
use crate::multipart::ObjectStoreUpload;
use crate::registry::{invalid_url, parse_url, OpenOptions};
use crate::upload::UploadWriter;

/// The schemes [`ObjectStoreBackend`] opens itself (each one is also registered in
/// [`BackendRegistry::new`](crate::BackendRegistry::new)).
pub const OBJECT_STORE_SCHEMES: &[&str] = &["file", "memory", "s3"];

/// A [`Backend`] over an [`object_store`] store: strata's `file://`, `memory://` and
/// (feature `s3`) `s3://` backends, or any store wrapped with
/// [`from_object_store`](Self::from_object_store).
///
/// Cheap to clone (all clones share the store). Use it through the [`Backend`] and
/// [`BackendExt`](crate::BackendExt) traits; it is not write-once itself — wrap it in
/// [`Worm`](crate::Worm) for that.
///
/// How each store keeps [`Backend`]'s promises: puts are atomic in every `object_store`
/// store (`file://` writes a temporary file and renames it, with fsync by default);
/// create-only puts use the store's conditional put (`If-None-Match: *` on S3); create-only
/// uploads are staged under [`STAGING_DIR`] and published with an atomic create-only copy.
/// One difference remains on `file://`: a key cannot be both an object and a directory of
/// other keys (`a` and `a/b`), since a file cannot be a directory.
///
/// ```
/// use strata_backend::prelude::*;
/// use strata_backend::{BackendKind, ObjectStoreBackend};
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let dir = tempfile::tempdir().unwrap();
/// let backend = ObjectStoreBackend::local(dir.path())?;
/// assert_eq!(backend.kind(), BackendKind::Local);
/// backend.put("SPY/2024-01-15.jsonl", "{}\n").await?;
/// assert!(dir.path().join("SPY").join("2024-01-15.jsonl").is_file());
/// # Ok::<(), strata_backend::Error>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct ObjectStoreBackend {
    store: Arc<dyn ObjectStore>,
    kind: BackendKind,
    url: Arc<str>,
    part_size: usize,
    max_concurrent_parts: usize,
    max_concurrent_reads: usize,
    uniform_parts: bool,
    /// The folder of a `file://` backend: where object_store's own unfinished writes
    /// (`<name>#<n>`, invisible to listings) are left by a killed process.
    local_root: Option<Arc<FsPath>>,
    /// The S3 server behind an `s3://` backend: probed for what it enforces.
    #[cfg(feature = "s3")]
    server: Option<Arc<crate::s3_server::S3Server>>,
}

impl fmt::Debug for ObjectStoreBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObjectStoreBackend")
            .field("url", &self.url)
            .field("kind", &self.kind)
            .field("part_size", &self.part_size)
            .finish_non_exhaustive()
    }
}

impl ObjectStoreBackend {
    /// Opens `url` (`file:///abs/path`, `memory://` or `s3://bucket/prefix`) with default
    /// [`OpenOptions`]. [`crate::open`] does the same through the registry and returns an
    /// `Arc<dyn Backend>`.
    ///
    /// ```
    /// use strata_backend::{Backend, BackendKind, ObjectStoreBackend};
    /// let backend = ObjectStoreBackend::open("memory://")?;
    /// assert_eq!(backend.kind(), BackendKind::Memory);
    /// # Ok::<(), strata_backend::Error>(())
    /// ```
    pub fn open(url: &str) -> Result<Self> {
        Self::open_with(url, &OpenOptions::default())
    }

    /// Opens `url` with `options`. Write-once is a decorator, so `options` must not ask for
    /// it here ([`Error::InvalidConfig`]): use [`OpenOptions::open`], which wraps the store
    /// in [`Worm`](crate::Worm), or wrap it yourself.
    pub fn open_with(url: &str, options: &OpenOptions) -> Result<Self> {
        if options.is_worm() {
            return Err(Error::InvalidConfig {
                url: url.to_owned(),
                reason: "write-once is a decorator: open the URL with OpenOptions::open \
                         (which wraps the store in Worm) or wrap the store with Worm::new"
                    .to_owned(),
            });
        }
        options.validate(url)?;
        let parsed = parse_url(url)?;
        Self::open_parsed(url, &parsed, options)
    }

    /// Opens an already checked URL of one of [`OBJECT_STORE_SCHEMES`].
    pub(crate) fn open_parsed(url: &str, parsed: &Url, options: &OpenOptions) -> Result<Self> {
        let (store, kind) = match parsed.scheme() {
            "file" => {
                let store = open_local_url(url, parsed, options)?;
                let mut backend = Self::wrap(store, BackendKind::Local, url.to_owned(), options);
                backend.local_root = parsed.to_file_path().ok().map(Arc::from);
                return Ok(backend);
            }
            "memory" => (open_memory_url(url, parsed)?, BackendKind::Memory),
            #[cfg(feature = "s3")]
            "s3" => {
                let (store, server) = open_s3_url(url, parsed, options)?;
                let mut backend = Self::wrap(store, BackendKind::S3, url.to_owned(), options);
                backend.server = Some(Arc::new(server));
                return Ok(backend);
            }
            #[cfg(not(feature = "s3"))]
            "s3" => {
                return Err(Error::FeatureDisabled {
                    url: url.to_owned(),
                    feature: "s3",
                })
            }
            other => {
                return Err(Error::UnsupportedScheme {
                    url: url.to_owned(),
                    scheme: other.to_owned(),
                    registered: OBJECT_STORE_SCHEMES.iter().map(|s| s.to_string()).collect(),
                })
            }
        };
        Ok(Self::wrap(store, kind, url.to_owned(), options))
    }

    fn wrap(
        store: Arc<dyn ObjectStore>,
        kind: BackendKind,
        url: String,
        options: &OpenOptions,
    ) -> Self {
        Self {
            store,
            kind,
            url: url.into(),
            part_size: options.part_size_bytes(),
            max_concurrent_parts: options.max_parts_in_flight(),
            max_concurrent_reads: options.max_reads_in_flight(),
            uniform_parts: options.uniform_parts_enabled(),
            local_root: None,
            #[cfg(feature = "s3")]
            server: None,
        }
    }

    /// A fresh, empty in-memory backend (same as `open("memory://")`).
    pub fn memory() -> Self {
        Self::wrap(
            Arc::new(InMemory::new()),
            BackendKind::Memory,
            "memory://".to_owned(),
            &OpenOptions::default(),
        )
    }

    /// A `file://` backend rooted at `root` (created if missing), with default options.
    pub fn local(root: impl AsRef<FsPath>) -> Result<Self> {
        let root = root.as_ref();
        let described = format!("file://{}", root.display());
        let options = OpenOptions::default();
        let store = local_store(&described, root, options.fsync_enabled())?;
        // The root exists now; describe it by its canonical `file://` URL when possible.
        let url = std::fs::canonicalize(root)
            .ok()
            .and_then(|path| Url::from_directory_path(path).ok())
            .map_or(described, String::from);
        let mut backend = Self::wrap(store, BackendKind::Local, url, &options);
        backend.local_root = Some(Arc::from(root));
        Ok(backend)
    }

    /// Wraps any `object_store` store (for stores outside this crate); `url` is only used
    /// to describe it. Such a backend should prove itself with the conformance suite
    /// (feature `conformance`).
    pub fn from_object_store(store: Arc<dyn ObjectStore>, url: impl Into<String>) -> Self {
        Self::wrap(
            store,
            BackendKind::Other,
            url.into(),
            &OpenOptions::default(),
        )
    }

    /// The underlying store.
    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// True if every part but the last has the part size (see
    /// [`OpenOptions::uniform_parts`]).
    pub fn uniform_parts(&self) -> bool {
        self.uniform_parts
    }

    /// The S3 server behind an `s3://` backend.
    #[cfg(feature = "s3")]
    pub(crate) fn server(&self) -> Option<&Arc<crate::s3_server::S3Server>> {
        self.server.as_ref()
    }

    /// How many parts of one upload may be in flight at once.
    pub fn max_concurrent_parts(&self) -> usize {
        self.max_concurrent_parts
    }

    /// Refuses a retention on `key` unless the store is an S3 bucket with Object Lock.
    async fn require_object_lock(&self, key: &str) -> Result<()> {
        if self.kind != BackendKind::S3 {
            return Err(Error::NoObjectLock {
                key: key.to_owned(),
                url: self.url.to_string(),
                why: format!(
                    "a {} store has no S3 Object Lock; keep archives that need retention in an \
                     S3 bucket with Object Lock enabled",
                    format!("{:?}", self.kind).to_lowercase()
                ),
            });
        }
        let caps = self.capabilities().await?;
        if caps.object_lock.is_enabled() {
            Ok(())
        } else {
            Err(self.no_object_lock(key, caps.object_lock))
        }
    }

    fn no_object_lock(&self, key: &str, found: ObjectLock) -> Error {
        Error::NoObjectLock {
            key: key.to_owned(),
            url: self.url.to_string(),
            why: format!(
                "Object Lock: {found}; create the bucket with Object Lock enabled \
                 (x-amz-bucket-object-lock-enabled), or write without a retention"
            ),
        }
    }

    /// Refuses a create-only `op` on `key` if the store cannot enforce it.
    async fn require_create_only(&self, op: &'static str, key: &str) -> Result<()> {
        self.capabilities()
            .await?
            .create_only()
            .map_err(|missing| Error::Unsupported {
                op,
                key: key.to_owned(),
                url: self.url.to_string(),
                missing: Box::new(missing),
            })
    }

    async fn get_whole(&self, key: &str, path: &Path) -> Result<Bytes> {
        let result = self
            .store
            .get(path)
            .await
            .map_err(|e| read_error("get", key, e))?;
        result.bytes().await.map_err(|e| read_error("get", key, e))
    }

    /// Reads the whole object into `sink` as ranges of the part size, up to
    /// `max_concurrent_reads` at once. Each range after the first is conditional on the
    /// first's ETag (`If-Match`), so a read never mixes two versions of an object: one
    /// overwritten meanwhile is read again from the start (a third change in a row falls
    /// back to a single GET, which is consistent by itself). Returns the object's size.
    async fn read_ranges(&self, key: &str, path: &Path, sink: &mut dyn Sink) -> Result<u64> {
        use object_store::GetRange;
        let part = self.part_size as u64;
        for _attempt in 0..3 {
            sink.restart().await?;
            let first = object_store::GetOptions {
                range: Some(GetRange::Bounded(0..part)),
                ..Default::default()
            };
            let result = match self.store.get_opts(path, first).await {
                Ok(result) => result,
                Err(e) => {
                    let err = read_error("get", key, e);
                    if err.is_not_found() {
                        return Err(err);
                    }
                    // An empty object has no byte 0 to start a range at.
                    break;
                }
            };
            let size = result.meta.size;
            let etag = result.meta.e_tag.clone();
            let head = result
                .bytes()
                .await
                .map_err(|e| read_error("get", key, e))?;
            let head_len = head.len() as u64;
            sink.write(head).await?;
            if head_len >= size {
                return Ok(size);
            }
            let Some(etag) = etag else {
                break;
            };
            let store = Arc::clone(&self.store);
            // Each range is a task of its own, so ranges keep arriving while the sink writes.
            let ranges = (head_len..size).step_by(self.part_size).map(move |start| {
                let store = Arc::clone(&store);
                let path = path.clone();
                let options = object_store::GetOptions {
                    range: Some(GetRange::Bounded(start..(start + part).min(size))),
                    if_match: Some(etag.clone()),
                    ..Default::default()
                };
                AbortOnDrop(tokio::spawn(async move {
                    store.get_opts(&path, options).await?.bytes().await
                }))
            });
            let mut parts = stream::iter(ranges).buffered(self.max_concurrent_reads);
            let mut changed = false;
            while let Some(part) = parts.next().await {
                let part = part.map_err(|e| {
                    Error::store_msg("get", key, format!("a range read failed: {e}"))
                })?;
                match part {
                    Ok(bytes) => sink.write(bytes).await?,
                    Err(object_store::Error::Precondition { .. }) => {
                        changed = true;
                        break;
                    }
                    Err(e) => return Err(read_error("get", key, e)),
                }
            }
            if !changed {
                return Ok(size);
            }
        }
        sink.restart().await?;
        let bytes = self.get_whole(key, path).await?;
        let size = bytes.len() as u64;
        sink.write(bytes).await?;
        Ok(size)
    }

    async fn get_range_inner(&self, key: &str, path: &Path, range: Range<u64>) -> Result<Bytes> {
        let invalid = |reason: String| Error::InvalidRange {
            key: key.to_owned(),
            start: range.start,
            end: range.end,
            reason,
        };
        if range.start >= range.end {
            return Err(invalid("the range is empty".to_owned()));
        }
        match self.store.get_range(path, range.clone()).await {
            Ok(bytes) => Ok(bytes),
            Err(e) => {
                let err = read_error("get_range", key, e);
                if err.is_not_found() {
                    return Err(err);
                }
                // Stores word "range past the end" differently; the object's size decides.
                match self.head(key).await {
                    Ok(meta) if range.start >= meta.size => Err(invalid(format!(
                        "the object is only {} bytes long",
                        meta.size
                    ))),
                    Err(not_found @ Error::NotFound { .. }) => Err(not_found),
                    _ => Err(err),
                }
            }
        }
    }
}

#[async_trait]
impl Backend for ObjectStoreBackend {
    fn url(&self) -> &str {
        &self.url
    }

    fn kind(&self) -> BackendKind {
        self.kind
    }

    fn is_worm(&self) -> bool {
        false
    }

    fn part_size(&self) -> usize {
        self.part_size
    }

    async fn put_opts(&self, key: &str, data: Bytes, options: PutOptions) -> Result<()> {
        let path = key_to_path(key)?;
        if options.mode == PutMode::CreateOnly {
            self.require_create_only("put", key).await?;
        }
        if let Some(retention) = &options.retention {
            self.require_object_lock(key).await?;
            #[cfg(feature = "s3")]
            if let Some(server) = &self.server {
                return server.put_locked(key, data, options.mode, retention).await;
            }
            return Err(self.no_object_lock(key, ObjectLock::Unsupported(format!("{retention}"))));
        }
        let mode = object_store_mode(options.mode);
        let payload = PutPayload::from(data);
        match self.store.put_opts(&path, payload, mode.into()).await {
            Ok(_) => Ok(()),
            Err(e) => Err(Error::from_store("put", key, e)),
        }
    }

    async fn get_opts(&self, key: &str, options: GetOptions) -> Result<Bytes> {
        let path = key_to_path(key)?;
        if let Some(range) = options.range {
            return self.get_range_inner(key, &path, range).await;
        }
        if self.kind == BackendKind::S3 {
            let mut whole = Vec::new();
            self.read_ranges(key, &path, &mut whole).await?;
            return Ok(Bytes::from(whole));
        }
        self.get_whole(key, &path).await
    }

    /// On S3, ranges of the part size are fetched `max_concurrent_reads` at a time and
    /// written in order as they arrive, so the network and the disk work together.
    async fn download(&self, key: &str, to: &FsPath) -> Result<u64> {
        let path = key_to_path(key)?;
        let mut file = crate::download::PartFile::create(key, to).await?;
        let filled = if self.kind == BackendKind::S3 {
            self.read_ranges(key, &path, &mut file).await
        } else {
            match self.get_whole(key, &path).await {
                Ok(bytes) => {
                    let size = bytes.len() as u64;
                    file.write(bytes).await.map(|()| size)
                }
                Err(e) => Err(e),
            }
        };
        file.finish(filled).await
    }

    async fn head(&self, key: &str) -> Result<ObjectMeta> {
        let path = key_to_path(key)?;
        let meta = self
            .store
            .head(&path)
            .await
            .map_err(|e| read_error("head", key, e))?;
        Ok(meta_from_store(key.to_owned(), meta))
    }

    fn list_stream(&self, prefix: &str) -> BoxStream<'static, Result<ObjectMeta>> {
        let prefix_path = match prefix_to_path(prefix) {
            Ok(path) => path,
            Err(e) => return stream::once(async move { Err(e) }).boxed(),
        };
        let under = prefix_path.as_ref().map(|p| format!("{}/", p.as_ref()));
        let prefix = prefix.to_owned();
        self.store
            .list(prefix_path.as_ref())
            .filter_map(move |item| {
                let out = match item {
                    Ok(meta) => path_to_key(&meta.location)
                        .filter(|key| is_under(key, under.as_deref()))
                        .map(|key| Ok(meta_from_store(key, meta))),
                    // A prefix with no objects is an empty listing, not an error.
                    Err(object_store::Error::NotFound { .. }) => None,
                    Err(e) => Some(Err(Error::from_store("list", &prefix, e))),
                };
                futures::future::ready(out)
            })
            .boxed()
    }

    /// One request per level on S3 (a delimiter listing).
    async fn list_dir(&self, prefix: &str) -> Result<Listing> {
        let prefix_path = prefix_to_path(prefix)?;
        let under = prefix_path.as_ref().map(|p| format!("{}/", p.as_ref()));
        let result = match self.store.list_with_delimiter(prefix_path.as_ref()).await {
            Ok(result) => result,
            Err(object_store::Error::NotFound { .. }) => return Ok(Listing::default()),
            Err(e) => return Err(Error::from_store("list_dir", prefix, e)),
        };
        let mut objects: Vec<ObjectMeta> = result
            .objects
            .into_iter()
            .filter_map(|meta| {
                path_to_key(&meta.location)
                    .filter(|key| is_under(key, under.as_deref()))
                    .map(|key| meta_from_store(key, meta))
            })
            .collect();
        objects.sort_by(|a, b| a.key.cmp(&b.key));
        let mut prefixes: Vec<String> = result
            .common_prefixes
            .iter()
            .filter_map(path_to_key)
            .filter(|key| is_under(key, under.as_deref()))
            .collect();
        prefixes.sort();
        Ok(Listing { objects, prefixes })
    }

    async fn delete(&self, key: &str) -> Result<()> {
        let path = key_to_path(key)?;
        match self.store.delete(&path).await {
            Ok(()) => Ok(()),
            Err(e) => match read_error("delete", key, e) {
                Error::NotFound { .. } => Ok(()),
                other => Err(other),
            },
        }
    }

    /// On S3, a create-only copy of an object below the part size reads it and puts it
    /// conditionally (servers refuse a part copy of small objects, and a conditional put is
    /// what they enforce best); larger objects are copied part-wise by the server and
    /// published with a conditional completion.
    async fn copy_opts(&self, from: &str, to: &str, options: PutOptions) -> Result<()> {
        let from_path = key_to_path(from)?;
        let to_path = key_to_path(to)?;
        if options.retention.is_some() {
            self.require_object_lock(to).await?;
        }
        if options.mode == PutMode::CreateOnly {
            self.require_create_only("copy", to).await?;
        }
        #[cfg(feature = "s3")]
        if let Some(server) = &self.server {
            if options.mode == PutMode::CreateOnly || options.retention.is_some() {
                let meta = self.head(from).await?;
                if meta.size < self.part_size as u64 {
                    let data = self.get_opts(from, GetOptions::default()).await?;
                    return self.put_opts(to, data, options).await;
                }
                return server
                    .copy_multipart(
                        from,
                        to,
                        meta.size,
                        self.part_size as u64,
                        options.mode,
                        options.retention,
                    )
                    .await;
            }
        }
        let mode = match options.mode {
            PutMode::CreateOnly => CopyMode::Create,
            PutMode::Overwrite => CopyMode::Overwrite,
        };
        let copy = CopyOptions::new().with_mode(mode);
        match self.store.copy_opts(&from_path, &to_path, copy).await {
            Ok(()) => Ok(()),
            Err(e) => Err(match read_error("copy", from, e) {
                Error::AlreadyExists { .. } => Error::AlreadyExists { key: to.to_owned() },
                other => other,
            }),
        }
    }

    /// Nothing is sent until a whole part is written: an upload that ends below the part
    /// size becomes one put (conditional for create-only). A create-only upload is refused
    /// at once if `key` already exists, and at completion if the key was taken meanwhile: on
    /// S3 it is uploaded in place and completed with `If-None-Match: *`; on `file://` and
    /// `memory://` it is staged under `.strata-staging/` and published with an atomic
    /// create-only copy.
    async fn upload_opts(&self, key: &str, options: PutOptions) -> Result<UploadWriter> {
        let path = key_to_path(key)?;
        if options.mode == PutMode::CreateOnly {
            self.require_create_only("upload", key).await?;
        }
        if options.retention.is_some() {
            self.require_object_lock(key).await?;
        }
        if options.mode == PutMode::CreateOnly {
            match self.head(key).await {
                Ok(_) => {
                    return Err(Error::AlreadyExists {
                        key: key.to_owned(),
                    })
                }
                Err(Error::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(UploadWriter::new(ObjectStoreUpload::new(
            self.clone(),
            key.to_owned(),
            path,
            options,
        )))
    }

    /// On S3, read from the object's headers; elsewhere `None` once the object is found.
    async fn retention(&self, key: &str) -> Result<Option<Retention>> {
        key_to_path(key)?;
        #[cfg(feature = "s3")]
        if let Some(server) = &self.server {
            return server.retention(key).await;
        }
        self.head(key).await.map(|_| None)
    }

    /// Reads the current retention first and refuses to shorten or weaken it, whatever the
    /// server would allow (S3 itself refuses to shorten a COMPLIANCE retention; moto, for
    /// one, does not). Two concurrent extensions may race; the server keeps whichever
    /// lands last.
    async fn extend_retention(&self, key: &str, retention: Retention) -> Result<()> {
        key_to_path(key)?;
        self.require_object_lock(key).await?;
        #[cfg(feature = "s3")]
        if let Some(server) = &self.server {
            if let Some(current) = server.retention(key).await? {
                if let Some(why) = current.shortened_by(&retention) {
                    return Err(Error::RetentionShortening {
                        key: key.to_owned(),
                        current,
                        why,
                    });
                }
            }
            return server.put_retention(key, &retention).await;
        }
        Err(self.no_object_lock(key, ObjectLock::Unsupported(format!("{retention}"))))
    }

    /// `file://` and `memory://` decide create-only writes atomically themselves
    /// ([`Provenance::Inherent`]); an `s3://` server is probed once, under a scratch key
    /// of the staging area that is removed afterwards; a store wrapped with
    /// [`from_object_store`](Self::from_object_store) is declared atomic
    /// ([`Provenance::Declared`]) — run the conformance suite on it.
    async fn capabilities(&self) -> Result<Capabilities> {
        #[cfg(feature = "s3")]
        if let Some(server) = &self.server {
            return server.probed_capabilities().await;
        }
        let mut caps = Capabilities::atomic_store();
        if self.kind == BackendKind::Other {
            caps.provenance = Provenance::Declared;
        }
        Ok(caps)
    }

    /// Deletes every object left under `.strata-staging/` by create-only uploads that never
    /// finished (a crash, a dropped writer, a failed clean-up).
    async fn purge_staging(&self) -> Result<usize> {
        let staging_root = Path::from_iter([STAGING_DIR]);
        let mut listing = self.store.list(Some(&staging_root));
        let mut stale = Vec::new();
        while let Some(item) = listing.next().await {
            match item {
                Ok(meta) => stale.push(meta.location),
                Err(object_store::Error::NotFound { .. }) => break,
                Err(e) => return Err(Error::from_store("purge_staging", STAGING_DIR, e)),
            }
        }
        for location in &stale {
            match self.store.delete(location).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(Error::from_store("purge_staging", location.as_ref(), e)),
            }
        }
        let mut purged = stale.len();
        if let Some(root) = &self.local_root {
            purged += purge_unfinished_local_writes(root)?;
        }
        Ok(purged)
    }
}

/// Removes object_store's unfinished writes under a `file://` backend's folder: a put writes
/// `<name>#<n>` and renames (or links) it into place, so a process killed in between leaves the
/// `#<n>` file, which listings skip and nothing else removes.
fn purge_unfinished_local_writes(root: &FsPath) -> Result<usize> {
    fn unfinished(name: &str) -> bool {
        name.rsplit_once('#').is_some_and(|(base, n)| {
            !base.is_empty() && !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())
        })
    }
    fn walk(dir: &FsPath, removed: &mut usize) -> std::io::Result<()> {
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        for entry in entries {
            let entry = entry?;
            let kind = entry.file_type()?;
            if kind.is_dir() {
                walk(&entry.path(), removed)?;
            } else if kind.is_file() && unfinished(&entry.file_name().to_string_lossy()) {
                match std::fs::remove_file(entry.path()) {
                    Ok(()) => *removed += 1,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(())
    }
    let mut removed = 0;
    walk(root, &mut removed).map_err(|source| Error::LocalFolder {
        path: root.to_path_buf(),
        source,
    })?;
    Ok(removed)
}

/// A spawned task that is cancelled when its handle is dropped (a read that stops early
/// does not leave its remaining ranges downloading).
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> std::future::Future for AbortOnDrop<T> {
    type Output = std::result::Result<T, tokio::task::JoinError>;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        std::pin::Pin::new(&mut self.0).poll(cx)
    }
}

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Where [`ObjectStoreBackend::read_ranges`] puts what it reads, in order.
#[async_trait]
pub(crate) trait Sink: Send {
    /// Drops what was written so far (the read starts again).
    async fn restart(&mut self) -> Result<()>;
    /// Appends the next bytes.
    async fn write(&mut self, bytes: Bytes) -> Result<()>;
}

#[async_trait]
impl Sink for Vec<u8> {
    async fn restart(&mut self) -> Result<()> {
        self.clear();
        Ok(())
    }
    async fn write(&mut self, bytes: Bytes) -> Result<()> {
        self.extend_from_slice(&bytes);
        Ok(())
    }
}

/// strata's put mode as object_store's.
pub(crate) fn object_store_mode(mode: PutMode) -> object_store::PutMode {
    match mode {
        PutMode::CreateOnly => object_store::PutMode::Create,
        PutMode::Overwrite => object_store::PutMode::Overwrite,
    }
}

fn meta_from_store(key: String, meta: object_store::ObjectMeta) -> ObjectMeta {
    ObjectMeta {
        key,
        size: meta.size,
        last_modified: SystemTime::from(meta.last_modified),
        e_tag: meta.e_tag,
    }
}

/// True if `key` lies strictly under `under` (`"{prefix}/"`), or `under` is the root.
fn is_under(key: &str, under: Option<&str>) -> bool {
    under.is_none_or(|under| key.starts_with(under))
}

/// Maps a store error of a read-like operation. On `file://`, reading `a/b` when `a` is a
/// file fails with "not a directory"; that is a missing object too, as on the other stores.
fn read_error(op: &'static str, key: &str, err: object_store::Error) -> Error {
    let not_a_directory = {
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&err);
        let mut found = false;
        while let Some(e) = source {
            if let Some(io) = e.downcast_ref::<std::io::Error>() {
                found |= io.kind() == std::io::ErrorKind::NotADirectory;
            }
            source = e.source();
        }
        found
    };
    if not_a_directory {
        Error::NotFound {
            key: key.to_owned(),
        }
    } else {
        Error::from_store(op, key, err)
    }
}

/// A staging path no other upload (in this or another process) uses.
pub(crate) fn new_staging_path() -> Path {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let unique = format!(
        "{nanos:x}-{:x}-{:x}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    Path::from_iter([STAGING_DIR, unique.as_str()])
}

// ---------------------------------------------------------------------------------------
// Opening URLs
// ---------------------------------------------------------------------------------------

fn open_local_url(url: &str, parsed: &Url, options: &OpenOptions) -> Result<Arc<dyn ObjectStore>> {
    match parsed.host_str() {
        None | Some("") | Some("localhost") => {}
        Some(host) => {
            return Err(invalid_url(
                url,
                &format!(
                    "file:// URLs take an absolute path (file:///abs/path); \
                     `{host}` was read as a host name"
                ),
            ))
        }
    }
    let root = parsed
        .to_file_path()
        .map_err(|()| invalid_url(url, "not an absolute local path"))?;
    local_store(url, &root, options.fsync_enabled())
}

#[cfg(feature = "s3")]
fn open_s3_url(
    url: &str,
    parsed: &Url,
    options: &OpenOptions,
) -> Result<(Arc<dyn ObjectStore>, crate::s3_server::S3Server)> {
    use object_store::prefix::PrefixStore;

    let bucket = match parsed.host_str() {
        Some(bucket) if !bucket.is_empty() => bucket,
        _ => {
            return Err(invalid_url(
                url,
                "an s3:// URL needs a bucket: s3://bucket/prefix",
            ))
        }
    };
    let prefix = url_prefix(url, parsed)?;
    let (store, server) = crate::s3::build_store(
        url,
        bucket,
        options.s3_options(),
        prefix.as_ref().map(|p| p.as_ref().to_owned()),
    )?;
    let store: Arc<dyn ObjectStore> = match prefix {
        None => store,
        Some(prefix) => Arc::new(PrefixStore::new(store, prefix)),
    };
    Ok((store, server))
}

fn open_memory_url(url: &str, parsed: &Url) -> Result<Arc<dyn ObjectStore>> {
    let has_host = parsed.host_str().is_some_and(|h| !h.is_empty());
    if has_host || !matches!(parsed.path(), "" | "/") {
        return Err(invalid_url(
            url,
            "memory:// takes no bucket or path; each open gives a fresh empty store",
        ));
    }
    Ok(Arc::new(InMemory::new()))
}

/// The URL's path as a validated key prefix (`None` for the root).
#[cfg(feature = "s3")]
fn url_prefix(url: &str, parsed: &Url) -> Result<Option<Path>> {
    let decoded = percent_decode(parsed.path())
        .ok_or_else(|| invalid_url(url, "the prefix is not valid UTF-8 after percent-decoding"))?;
    let trimmed = decoded.trim_start_matches('/');
    prefix_to_path(trimmed).map_err(|e| match e {
        Error::InvalidKey { reason, .. } => invalid_url(url, &format!("bad prefix: {reason}")),
        other => other,
    })
}

/// Decodes `%XX` escapes (URL paths arrive percent-encoded); `None` if the result is not
/// UTF-8.
#[cfg(feature = "s3")]
fn percent_decode(s: &str) -> Option<String> {
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .ok()
        .map(|decoded| decoded.into_owned())
}

fn local_store(url: &str, root: &FsPath, fsync: bool) -> Result<Arc<dyn ObjectStore>> {
    std::fs::create_dir_all(root).map_err(|source| Error::CreateRoot {
        path: root.to_path_buf(),
        source,
    })?;
    let store = LocalFileSystem::new_with_prefix(root)
        .map_err(|e| Error::InvalidConfig {
            url: url.to_owned(),
            reason: e.to_string(),
        })?
        .with_fsync(fsync)
        // Deleting the last object of a directory removes the empty directories above it
        // (never the root), so an archive tree does not fill up with empty folders.
        .with_automatic_cleanup(true);
    Ok(Arc::new(store))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::BackendExt;

    #[test]
    fn urls_are_checked() {
        let err = |url: &str| ObjectStoreBackend::open(url).unwrap_err();
        assert!(
            matches!(err("ftp://x/y"), Error::UnsupportedScheme { scheme, .. } if scheme == "ftp")
        );
        assert!(matches!(err("not a url"), Error::InvalidUrl { .. }));
        assert!(matches!(err("memory://bucket"), Error::InvalidUrl { .. }));
        assert!(matches!(
            err("file://relative/dir"),
            Error::InvalidUrl { .. }
        ));
        assert!(matches!(err("memory://?x=1"), Error::InvalidUrl { .. }));
        assert!(ObjectStoreBackend::open("memory://").is_ok());
        assert!(ObjectStoreBackend::open("memory:///").is_ok());
    }

    #[test]
    fn part_size_below_the_s3_minimum_is_refused() {
        let options = OpenOptions::new().part_size(1024);
        let err = ObjectStoreBackend::open_with("memory://", &options).unwrap_err();
        assert!(matches!(err, Error::InvalidConfig { .. }), "{err}");
    }

    #[test]
    fn the_typed_open_refuses_to_ignore_worm() {
        let options = OpenOptions::new().worm(true);
        let err = ObjectStoreBackend::open_with("memory://", &options).unwrap_err();
        assert!(err.to_string().contains("Worm"), "{err}");
    }

    #[cfg(not(feature = "s3"))]
    #[test]
    fn s3_without_the_feature_says_which_feature_to_enable() {
        let err = ObjectStoreBackend::open("s3://bucket/prefix").unwrap_err();
        assert!(
            matches!(err, Error::FeatureDisabled { feature: "s3", .. }),
            "{err}"
        );
        assert!(
            err.to_string().contains("feature `s3` of strata-backend"),
            "{err}"
        );
    }

    #[cfg(feature = "s3")]
    #[test]
    fn s3_urls_need_a_bucket_and_a_valid_prefix() {
        assert!(matches!(
            ObjectStoreBackend::open("s3:///prefix").unwrap_err(),
            Error::InvalidUrl { .. }
        ));
        // (`a/../b` never gets here: URL parsing already resolves it to `b`.)
        for bad in ["s3://bucket/a//b", "s3://bucket/a%5Cb", "s3://bucket/x/%07"] {
            let err = ObjectStoreBackend::open(bad).unwrap_err();
            assert!(matches!(err, Error::InvalidUrl { .. }), "{bad}: {err}");
        }
    }

    #[cfg(feature = "s3")]
    #[test]
    fn percent_decoding_of_url_prefixes() {
        assert_eq!(percent_decode("/a%20b/%C3%BC").as_deref(), Some("/a b/ü"));
        assert_eq!(percent_decode("100%").as_deref(), Some("100%"));
        assert_eq!(percent_decode("%zz").as_deref(), Some("%zz"));
        assert_eq!(percent_decode("%FF"), None);
    }

    #[test]
    fn staging_paths_are_unique_and_reserved() {
        let a = new_staging_path();
        let b = new_staging_path();
        assert_ne!(a, b);
        assert!(path_to_key(&a).is_none(), "hidden from listings");
    }

    #[tokio::test]
    async fn leftover_staged_uploads_are_hidden_and_purged() {
        let backend = ObjectStoreBackend::memory();
        backend.put("kept", "data").await.unwrap();
        // What a crash between publishing and clean-up leaves behind.
        backend
            .store()
            .put(&new_staging_path(), PutPayload::from_static(b"orphan"))
            .await
            .unwrap();
        let keys: Vec<String> = backend
            .list("")
            .await
            .unwrap()
            .into_iter()
            .map(|m| m.key)
            .collect();
        assert_eq!(keys, ["kept"]);
        assert!(backend.list_dir("").await.unwrap().prefixes.is_empty());
        // A WORM view may purge too: staged objects were never published.
        assert_eq!(
            backend.clone().write_once().purge_staging().await.unwrap(),
            1
        );
        assert_eq!(backend.purge_staging().await.unwrap(), 0);
        assert_eq!(backend.get("kept").await.unwrap(), "data");
    }

    #[test]
    fn is_under_is_segment_wise() {
        assert!(is_under("a/b/c", Some("a/b/")));
        assert!(!is_under("a/bc", Some("a/b/")));
        assert!(!is_under("a/b", Some("a/b/")));
        assert!(is_under("anything", None));
    }
}
