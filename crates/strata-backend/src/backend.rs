//! [`Backend`]: one async handle over an object store, opened from a URL.

use std::fmt;
use std::ops::Range;
use std::path::Path as FsPath;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use futures::stream::{self, BoxStream, StreamExt};
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{CopyMode, CopyOptions, ObjectStore, ObjectStoreExt, PutPayload};
use url::Url;

use crate::error::{Error, Result, WormOp};
use crate::key::{key_to_path, path_to_key, prefix_to_path, STAGING_DIR};
use crate::s3::S3Options;
use crate::upload::UploadWriter;

/// The smallest multipart part size accepted (S3's minimum for every part but the last).
pub const MIN_PART_SIZE: usize = 5 * 1024 * 1024;

/// The part size used unless [`OpenOptions::part_size`] says otherwise.
pub const DEFAULT_PART_SIZE: usize = MIN_PART_SIZE;

/// How many parts of one upload may be in flight at once unless configured otherwise.
pub const DEFAULT_MAX_CONCURRENT_PARTS: usize = 4;

/// Which kind of store a [`Backend`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BackendKind {
    /// `file:///abs/path`: a directory on a local filesystem.
    Local,
    /// `memory://`: a process-local in-memory store (tests).
    Memory,
    /// `s3://bucket/prefix`: S3 or an S3-compatible object store.
    S3,
    /// A store supplied with [`Backend::from_object_store`].
    Other,
}

/// What a write does when an object already exists under its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum PutMode {
    /// Atomically replace the existing object (refused on a WORM backend).
    #[default]
    Overwrite,
    /// Fail with [`Error::AlreadyExists`] and leave the existing object untouched.
    CreateOnly,
}

/// Options for [`Backend::put_opts`], [`Backend::upload_opts`] and copies.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PutOptions {
    /// What to do when the key already holds an object.
    pub mode: PutMode,
}

impl PutOptions {
    /// Overwrite an existing object (the default).
    pub fn overwrite() -> Self {
        Self::default().with_mode(PutMode::Overwrite)
    }

    /// Refuse to replace an existing object.
    pub fn create_only() -> Self {
        Self::default().with_mode(PutMode::CreateOnly)
    }

    /// Sets the mode.
    pub fn with_mode(mut self, mode: PutMode) -> Self {
        self.mode = mode;
        self
    }
}

/// What a backend knows about one stored object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    /// The key, relative to the backend's URL, exactly as it was put.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// When the object was last written.
    pub last_modified: SystemTime,
    /// The store's entity tag, if it has one (changes whenever the content changes).
    pub e_tag: Option<String>,
}

impl ObjectMeta {
    fn from_store(key: String, meta: object_store::ObjectMeta) -> Self {
        Self {
            key,
            size: meta.size,
            last_modified: SystemTime::from(meta.last_modified),
            e_tag: meta.e_tag,
        }
    }
}

/// One level of a listing: the objects directly under a prefix, and its sub-prefixes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listing {
    /// Objects directly under the prefix, sorted by key.
    pub objects: Vec<ObjectMeta>,
    /// Sub-prefixes ("directories") directly under the prefix, sorted, without trailing `/`.
    pub prefixes: Vec<String>,
}

/// How to open a [`Backend`]; [`Backend::open`] uses the defaults.
#[derive(Debug, Clone)]
pub struct OpenOptions {
    worm: bool,
    fsync: bool,
    part_size: usize,
    max_concurrent_parts: usize,
    s3: S3Options,
}

impl Default for OpenOptions {
    fn default() -> Self {
        Self {
            worm: false,
            fsync: true,
            part_size: DEFAULT_PART_SIZE,
            max_concurrent_parts: DEFAULT_MAX_CONCURRENT_PARTS,
            s3: S3Options::default(),
        }
    }
}

impl OpenOptions {
    /// The defaults: not WORM, fsync on, 5 MiB parts, 4 parts in flight.
    pub fn new() -> Self {
        Self::default()
    }

    /// Open the backend write-once (see [`Backend::write_once`]).
    pub fn worm(mut self, worm: bool) -> Self {
        self.worm = worm;
        self
    }

    /// `file://` only: fsync each written file and its directory before a write returns
    /// (default on, so an acknowledged write survives a power loss).
    pub fn fsync(mut self, fsync: bool) -> Self {
        self.fsync = fsync;
        self
    }

    /// Part size of multipart uploads, at least [`MIN_PART_SIZE`].
    pub fn part_size(mut self, bytes: usize) -> Self {
        self.part_size = bytes;
        self
    }

    /// How many parts of one upload may be in flight at once (at least 1).
    pub fn max_concurrent_parts(mut self, parts: usize) -> Self {
        self.max_concurrent_parts = parts;
        self
    }

    /// Settings for `s3://` URLs (ignored by other schemes).
    pub fn s3(mut self, options: S3Options) -> Self {
        self.s3 = options;
        self
    }

    /// Opens the backend named by `url`: `file:///abs/path` (the directory is created),
    /// `memory://` (a fresh, empty store) or `s3://bucket/prefix` (feature `s3`).
    pub fn open(&self, url: &str) -> Result<Backend> {
        self.check(url)?;
        let parsed = Url::parse(url).map_err(|e| Error::InvalidUrl {
            url: url.to_owned(),
            reason: e.to_string(),
        })?;
        if parsed.query().is_some() || parsed.fragment().is_some() {
            return Err(invalid_url(url, "a backend URL takes no query or fragment"));
        }
        let (store, kind) = match parsed.scheme() {
            "file" => (self.open_local_url(url, &parsed)?, BackendKind::Local),
            "memory" => (open_memory_url(url, &parsed)?, BackendKind::Memory),
            "s3" => (self.open_s3_url(url, &parsed)?, BackendKind::S3),
            other => {
                return Err(Error::UnsupportedScheme {
                    url: url.to_owned(),
                    scheme: other.to_owned(),
                })
            }
        };
        Ok(self.wrap(store, kind, url.to_owned()))
    }

    fn check(&self, url: &str) -> Result<()> {
        if self.part_size < MIN_PART_SIZE {
            return Err(Error::InvalidConfig {
                url: url.to_owned(),
                reason: format!(
                    "part size {} is below the minimum of {MIN_PART_SIZE} bytes (5 MiB)",
                    self.part_size
                ),
            });
        }
        if self.max_concurrent_parts == 0 {
            return Err(Error::InvalidConfig {
                url: url.to_owned(),
                reason: "max_concurrent_parts must be at least 1".to_owned(),
            });
        }
        Ok(())
    }

    fn wrap(&self, store: Arc<dyn ObjectStore>, kind: BackendKind, url: String) -> Backend {
        Backend {
            store,
            kind,
            url: url.into(),
            worm: self.worm,
            part_size: self.part_size,
            max_concurrent_parts: self.max_concurrent_parts,
        }
    }

    fn open_local_url(&self, url: &str, parsed: &Url) -> Result<Arc<dyn ObjectStore>> {
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
        local_store(url, &root, self.fsync)
    }

    #[cfg(feature = "s3")]
    fn open_s3_url(&self, url: &str, parsed: &Url) -> Result<Arc<dyn ObjectStore>> {
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
        let store = crate::s3::build_store(url, bucket, &self.s3)?;
        Ok(match prefix {
            None => store,
            Some(prefix) => Arc::new(PrefixStore::new(store, prefix)),
        })
    }

    #[cfg(not(feature = "s3"))]
    fn open_s3_url(&self, url: &str, _parsed: &Url) -> Result<Arc<dyn ObjectStore>> {
        Err(Error::FeatureDisabled {
            url: url.to_owned(),
            feature: "s3",
        })
    }
}

fn invalid_url(url: &str, reason: &str) -> Error {
    Error::InvalidUrl {
        url: url.to_owned(),
        reason: reason.to_owned(),
    }
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

/// Decodes `%XX` escapes (URL paths arrive percent-encoded).
#[cfg(feature = "s3")]
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = |at: usize| bytes.get(at).and_then(|&d| char::from(d).to_digit(16));
        let escaped = match (b, hex(i + 1), hex(i + 2)) {
            // Both digits are < 16, so the value always fits a byte.
            (b'%', Some(hi), Some(lo)) => u8::try_from(hi * 16 + lo).ok(),
            _ => None,
        };
        match escaped {
            Some(value) => {
                out.push(value);
                i += 3;
            }
            None => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
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

/// An object store holding strata's files, opened from a URL.
///
/// Cheap to clone (all clones share the store). Every method takes keys relative to the URL
/// (see [`crate::key`] for what a key may be) and is async.
///
/// Guarantees on every backend (checked by [`crate::conformance`]):
/// - **atomic visibility**: a reader sees either no object or a complete one — never a
///   partial write, also while a multipart upload is in flight or an object is overwritten;
/// - **create-only** writes ([`PutMode::CreateOnly`]) are decided atomically by the store;
///   losing writers get [`Error::AlreadyExists`] and the object is left untouched;
/// - **delete is idempotent**: deleting a missing key succeeds (S3 semantics, applied to
///   every backend, so retried lifecycle steps are harmless);
/// - `get`, `head` and `get_range` of a missing key fail with [`Error::NotFound`];
/// - listings return keys byte-for-byte as they were put, sorted, and only keys strictly
///   under the prefix (segment-wise: `a/b` lists `a/b/x`, never `a/bc`).
///
/// One difference remains on `file://`: a key cannot be both an object and a directory of
/// other keys (`a` and `a/b`), since a file cannot be a directory.
#[derive(Clone)]
pub struct Backend {
    store: Arc<dyn ObjectStore>,
    kind: BackendKind,
    url: Arc<str>,
    worm: bool,
    part_size: usize,
    max_concurrent_parts: usize,
}

impl fmt::Debug for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Backend")
            .field("url", &self.url)
            .field("kind", &self.kind)
            .field("worm", &self.worm)
            .field("part_size", &self.part_size)
            .finish_non_exhaustive()
    }
}

impl Backend {
    /// Opens `url` with default [`OpenOptions`].
    ///
    /// ```
    /// let backend = strata_backend::Backend::open("memory://")?;
    /// assert_eq!(backend.kind(), strata_backend::BackendKind::Memory);
    /// # Ok::<(), strata_backend::Error>(())
    /// ```
    pub fn open(url: &str) -> Result<Self> {
        OpenOptions::default().open(url)
    }

    /// A fresh, empty in-memory backend (same as `open("memory://")`).
    pub fn memory() -> Self {
        OpenOptions::default().wrap(
            Arc::new(InMemory::new()),
            BackendKind::Memory,
            "memory://".to_owned(),
        )
    }

    /// A `file://` backend rooted at `root` (created if missing), with default options.
    pub fn local(root: impl AsRef<FsPath>) -> Result<Self> {
        let root = root.as_ref();
        let described = format!("file://{}", root.display());
        let store = local_store(&described, root, OpenOptions::default().fsync)?;
        // The root exists now; describe it by its canonical `file://` URL when possible.
        let url = std::fs::canonicalize(root)
            .ok()
            .and_then(|path| Url::from_directory_path(path).ok())
            .map_or(described, String::from);
        Ok(OpenOptions::default().wrap(store, BackendKind::Local, url))
    }

    /// Wraps any `object_store` store (for backends outside this crate); `url` is only used
    /// to describe it. Such a backend should prove itself with [`crate::conformance`].
    pub fn from_object_store(store: Arc<dyn ObjectStore>, url: impl Into<String>) -> Self {
        OpenOptions::default().wrap(store, BackendKind::Other, url.into())
    }

    /// A write-once (WORM) view of the same store: every write is create-only, and
    /// overwrites and deletes fail with [`Error::WormViolation`]. There is no way back to a
    /// writable view from a WORM one.
    pub fn write_once(&self) -> Self {
        Self {
            worm: true,
            ..self.clone()
        }
    }

    /// True if this handle is write-once.
    pub fn is_worm(&self) -> bool {
        self.worm
    }

    /// The kind of store.
    pub fn kind(&self) -> BackendKind {
        self.kind
    }

    /// The URL the backend was opened from.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Part size of multipart uploads, in bytes.
    pub fn part_size(&self) -> usize {
        self.part_size
    }

    pub(crate) fn max_concurrent_parts(&self) -> usize {
        self.max_concurrent_parts
    }

    pub(crate) fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// Stores `data` under `key`, replacing any existing object (create-only on WORM).
    pub async fn put(&self, key: &str, data: impl Into<Bytes>) -> Result<()> {
        self.put_opts(key, data, PutOptions::default()).await
    }

    /// Stores `data` under `key` as `options` say. The object appears atomically.
    ///
    /// On a WORM backend every put is create-only: an existing object gives
    /// [`Error::WormViolation`] for [`PutMode::Overwrite`] and [`Error::AlreadyExists`] for
    /// [`PutMode::CreateOnly`].
    pub async fn put_opts(
        &self,
        key: &str,
        data: impl Into<Bytes>,
        options: PutOptions,
    ) -> Result<()> {
        let path = key_to_path(key)?;
        let mode = if self.is_create_only(options.mode) {
            object_store::PutMode::Create
        } else {
            object_store::PutMode::Overwrite
        };
        let payload = PutPayload::from(data.into());
        match self.store.put_opts(&path, payload, mode.into()).await {
            Ok(_) => Ok(()),
            Err(e) => Err(self.refused_write(key, options.mode, Error::from_store("put", key, e))),
        }
    }

    /// Reads the whole object.
    pub async fn get(&self, key: &str) -> Result<Bytes> {
        let path = key_to_path(key)?;
        let result = self
            .store
            .get(&path)
            .await
            .map_err(|e| read_error("get", key, e))?;
        result.bytes().await.map_err(|e| read_error("get", key, e))
    }

    /// Reads bytes `range.start..range.end` of the object; a range running past the end is
    /// cut at the end. An empty range, or one starting at or past the end, is
    /// [`Error::InvalidRange`].
    pub async fn get_range(&self, key: &str, range: Range<u64>) -> Result<Bytes> {
        let path = key_to_path(key)?;
        let invalid = |reason: String| Error::InvalidRange {
            key: key.to_owned(),
            start: range.start,
            end: range.end,
            reason,
        };
        if range.start >= range.end {
            return Err(invalid("the range is empty".to_owned()));
        }
        match self.store.get_range(&path, range.clone()).await {
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

    /// The object's metadata.
    pub async fn head(&self, key: &str) -> Result<ObjectMeta> {
        let path = key_to_path(key)?;
        let meta = self
            .store
            .head(&path)
            .await
            .map_err(|e| read_error("head", key, e))?;
        Ok(ObjectMeta::from_store(key.to_owned(), meta))
    }

    /// True if an object is stored under `key`.
    pub async fn exists(&self, key: &str) -> Result<bool> {
        match self.head(key).await {
            Ok(_) => Ok(true),
            Err(Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Every object under `prefix` (recursively), sorted by key. `""` lists everything;
    /// `"a/b"` and `"a/b/"` both list the keys starting with `a/b/`.
    pub async fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>> {
        let mut objects = Vec::new();
        let mut listing = self.list_stream(prefix);
        while let Some(meta) = listing.next().await {
            objects.push(meta?);
        }
        objects.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(objects)
    }

    /// Like [`Backend::list`] but streamed and unsorted, for very large prefixes.
    pub fn list_stream(&self, prefix: &str) -> BoxStream<'static, Result<ObjectMeta>> {
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
                        .map(|key| Ok(ObjectMeta::from_store(key, meta))),
                    // A prefix with no objects is an empty listing, not an error.
                    Err(object_store::Error::NotFound { .. }) => None,
                    Err(e) => Some(Err(Error::from_store("list", &prefix, e))),
                };
                futures::future::ready(out)
            })
            .boxed()
    }

    /// One level under `prefix`: the objects directly in it and its sub-prefixes.
    pub async fn list_dir(&self, prefix: &str) -> Result<Listing> {
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
                    .map(|key| ObjectMeta::from_store(key, meta))
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

    /// Deletes the object. Deleting a missing key succeeds; a WORM backend refuses.
    pub async fn delete(&self, key: &str) -> Result<()> {
        let path = key_to_path(key)?;
        if self.worm {
            return Err(Error::WormViolation {
                key: key.to_owned(),
                op: WormOp::Delete,
            });
        }
        match self.store.delete(&path).await {
            Ok(()) => Ok(()),
            Err(e) => match read_error("delete", key, e) {
                Error::NotFound { .. } => Ok(()),
                other => Err(other),
            },
        }
    }

    /// Copies `from` to `to` inside the backend, replacing `to` (create-only on WORM).
    pub async fn copy(&self, from: &str, to: &str) -> Result<()> {
        self.copy_opts(from, to, PutOptions::default()).await
    }

    /// Copies `from` to `to` unless `to` exists ([`Error::AlreadyExists`], `to` untouched).
    pub async fn copy_if_not_exists(&self, from: &str, to: &str) -> Result<()> {
        self.copy_opts(from, to, PutOptions::create_only()).await
    }

    /// Copies `from` to `to` as `options` say. A missing `from` is [`Error::NotFound`].
    pub async fn copy_opts(&self, from: &str, to: &str, options: PutOptions) -> Result<()> {
        let from_path = key_to_path(from)?;
        let to_path = key_to_path(to)?;
        let mode = if self.is_create_only(options.mode) {
            CopyMode::Create
        } else {
            CopyMode::Overwrite
        };
        let copy = CopyOptions::new().with_mode(mode);
        match self.store.copy_opts(&from_path, &to_path, copy).await {
            Ok(()) => Ok(()),
            Err(e) => Err(match read_error("copy", from, e) {
                Error::AlreadyExists { .. } => self.refused_write(
                    to,
                    options.mode,
                    Error::AlreadyExists { key: to.to_owned() },
                ),
                other => other,
            }),
        }
    }

    /// Starts a multipart upload to `key`, replacing any existing object when finished
    /// (create-only on WORM). See [`UploadWriter`].
    pub async fn upload(&self, key: &str) -> Result<UploadWriter> {
        self.upload_opts(key, PutOptions::default()).await
    }

    /// Starts a multipart upload to `key` as `options` say.
    ///
    /// Nothing is visible under `key` until [`UploadWriter::finish`] returns. A create-only
    /// upload (or any upload on WORM) is refused at once if `key` already exists; otherwise
    /// it is staged under `.strata-staging/` and published with an atomic create-only copy,
    /// so it still cannot replace an object that appeared while it was uploading.
    pub async fn upload_opts(&self, key: &str, options: PutOptions) -> Result<UploadWriter> {
        let path = key_to_path(key)?;
        let create_only = self.is_create_only(options.mode);
        if create_only && self.exists(key).await? {
            return Err(self.refused_write(
                key,
                options.mode,
                Error::AlreadyExists {
                    key: key.to_owned(),
                },
            ));
        }
        let staging = create_only.then(new_staging_path);
        let target = staging.as_ref().unwrap_or(&path);
        let upload = self
            .store
            .put_multipart(target)
            .await
            .map_err(|e| Error::from_store("upload", key, e))?;
        Ok(UploadWriter::new(
            self.clone(),
            key.to_owned(),
            path,
            options.mode,
            staging,
            upload,
        ))
    }

    /// Deletes every object left under `.strata-staging/` by create-only uploads that never
    /// finished (a crash, a dropped writer, a failed clean-up); returns how many. Only call it
    /// when no upload is in flight on this backend. Works on WORM views too: staged objects
    /// were never published.
    pub async fn purge_staging(&self) -> Result<usize> {
        let staging_root = staging_root();
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
        Ok(stale.len())
    }

    /// True if a write in `mode` must not replace an existing object here.
    pub(crate) fn is_create_only(&self, mode: PutMode) -> bool {
        self.worm || mode == PutMode::CreateOnly
    }

    /// Turns the store's "already exists" into a WORM refusal when the caller asked to
    /// overwrite on a WORM backend.
    pub(crate) fn refused_write(&self, key: &str, requested: PutMode, err: Error) -> Error {
        match err {
            Error::AlreadyExists { .. } if self.worm && requested == PutMode::Overwrite => {
                Error::WormViolation {
                    key: key.to_owned(),
                    op: WormOp::Overwrite,
                }
            }
            other => other,
        }
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

fn staging_root() -> Path {
    Path::from_iter([STAGING_DIR])
}

/// A staging path no other upload (in this or another process) uses.
fn new_staging_path() -> Path {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked() {
        let err = |url: &str| Backend::open(url).unwrap_err();
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
        assert!(Backend::open("memory://").is_ok());
        assert!(Backend::open("memory:///").is_ok());
    }

    #[test]
    fn part_size_below_the_s3_minimum_is_refused() {
        let err = OpenOptions::new()
            .part_size(1024)
            .open("memory://")
            .unwrap_err();
        assert!(matches!(err, Error::InvalidConfig { .. }), "{err}");
    }

    #[cfg(not(feature = "s3"))]
    #[test]
    fn s3_without_the_feature_says_which_feature_to_enable() {
        let err = Backend::open("s3://bucket/prefix").unwrap_err();
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
            Backend::open("s3:///prefix").unwrap_err(),
            Error::InvalidUrl { .. }
        ));
        // (`a/../b` never gets here: URL parsing already resolves it to `b`.)
        for bad in ["s3://bucket/a//b", "s3://bucket/a%5Cb", "s3://bucket/x/%07"] {
            let err = Backend::open(bad).unwrap_err();
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
        let backend = Backend::memory();
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
        assert_eq!(backend.write_once().purge_staging().await.unwrap(), 1);
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
