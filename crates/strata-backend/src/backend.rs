//! The [`Backend`] trait (the primitives every store implements), the [`BackendExt`]
//! conveniences built on them, and the types they exchange.

use std::fmt;
use std::future::Future;
use std::ops::Range;
use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::{BoxStream, StreamExt};

use crate::capabilities::{Capabilities, Provenance, Retention};
use crate::error::{Error, Result};
use crate::upload::UploadWriter;
use crate::worm::Worm;

/// The smallest multipart part size accepted (S3's minimum for every part but the last).
pub const MIN_PART_SIZE: usize = 5 * 1024 * 1024;

/// The part size used unless [`OpenOptions::part_size`](crate::OpenOptions::part_size) says
/// otherwise.
pub const DEFAULT_PART_SIZE: usize = MIN_PART_SIZE;

/// How many parts of one upload may be in flight at once unless configured otherwise.
pub const DEFAULT_MAX_CONCURRENT_PARTS: usize = 4;

/// How many ranges of one S3 read (`get`, `download`) may be in flight at once unless
/// configured otherwise (more than for uploads: measured against boto3 on Garage,
/// `docs/PERFORMANCE.md`).
pub const DEFAULT_MAX_CONCURRENT_READS: usize = 10;

/// Which kind of store a [`Backend`] talks to in the end (decorators report their inner
/// store's kind).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BackendKind {
    /// `file:///abs/path`: a directory on a local filesystem.
    Local,
    /// `memory://`: a process-local in-memory store (tests).
    Memory,
    /// `s3://bucket/prefix`: S3 or an S3-compatible object store.
    S3,
    /// Any other store: one supplied with
    /// [`ObjectStoreBackend::from_object_store`](crate::ObjectStoreBackend::from_object_store)
    /// or a [`Backend`] implemented outside this crate.
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

/// Options for [`Backend::put_opts`], [`Backend::upload_opts`] and [`Backend::copy_opts`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PutOptions {
    /// What to do when the key already holds an object.
    pub mode: PutMode,
    /// An S3 Object Lock retention for the written object: set with the put itself, or right
    /// after an upload or copy completes. A store without Object Lock refuses the write
    /// ([`Error::NoObjectLock`]) before writing anything.
    pub retention: Option<Retention>,
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

    /// Keeps the written object under `retention` (S3 Object Lock).
    pub fn with_retention(mut self, retention: Retention) -> Self {
        self.retention = Some(retention);
        self
    }
}

/// Options for [`Backend::get_opts`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct GetOptions {
    /// Read only bytes `start..end` (cut at the object's end); `None` reads the whole object.
    ///
    /// An empty range, or one starting at or past the end, is [`Error::InvalidRange`].
    pub range: Option<Range<u64>>,
}

impl GetOptions {
    /// The whole object.
    pub fn new() -> Self {
        Self::default()
    }

    /// Bytes `range.start..range.end` only.
    pub fn with_range(mut self, range: Range<u64>) -> Self {
        self.range = Some(range);
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

/// One level of a listing: the objects directly under a prefix, and its sub-prefixes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listing {
    /// Objects directly under the prefix, sorted by key.
    pub objects: Vec<ObjectMeta>,
    /// Sub-prefixes ("directories") directly under the prefix, sorted, without trailing `/`.
    pub prefixes: Vec<String>,
}

/// Where strata's bytes live: the async primitives every store implements (EXT-1).
///
/// strata's own stores are [`ObjectStoreBackend`](crate::ObjectStoreBackend)s (`file://`,
/// `memory://`, `s3://`, opened by URL through a [`BackendRegistry`](crate::BackendRegistry));
/// [`Worm`] is a decorator over any backend. The trait is object safe: tiers hold an
/// `Arc<dyn Backend>`, and the [`conformance`](crate#modules) suite takes a `&dyn Backend`.
/// The everyday calls (`put`, `get`, `get_range`, `exists`, `list`, `copy`, `upload`, …) are
/// in [`BackendExt`], implemented for every backend: `use strata_backend::prelude::*;`.
///
/// Keys are relative to the backend's URL and follow the rules of [`crate::key`] (check them
/// with [`validate_key`](crate::key::validate_key); a malformed key is
/// [`Error::InvalidKey`] before any I/O). Every implementation must keep these promises,
/// which the conformance suite checks:
/// - **atomic visibility**: a reader sees either no object or a complete one — never a
///   partial write, also while a multipart upload is in flight or an object is overwritten;
/// - **create-only** writes ([`PutMode::CreateOnly`]) are decided atomically: exactly one of
///   racing writers wins, the others get [`Error::AlreadyExists`] and change nothing;
/// - **delete is idempotent**: deleting a missing key succeeds (S3 semantics, so retried
///   lifecycle steps are harmless);
/// - `get_opts`, `head` and ranged reads of a missing key fail with [`Error::NotFound`]
///   naming the caller's key;
/// - listings return keys byte-for-byte as they were put, and only keys strictly under the
///   prefix (segment-wise: `a/b` lists `a/b/x`, never `a/bc`), never staging objects.
///
/// # Writing a decorator
///
/// Wrap another backend and forward what you do not change; the futures must be `Send`, and
/// [`async_trait`](macro@async_trait) writes them. Forward [`list_dir`](Backend::list_dir),
/// [`purge_staging`](Backend::purge_staging) and [`capabilities`](Backend::capabilities)
/// too, or the inner store's versions are replaced by the defaults (and the decorator
/// declares guarantees its store may not give). `examples/custom_backend.rs` in the repository is a complete
/// throttling decorator that passes the conformance suite.
///
/// ```
/// use std::sync::Arc;
/// use strata_backend::prelude::*;
/// use strata_backend::{
///     async_trait, BackendKind, BoxStream, Bytes, Capabilities, GetOptions, ObjectMeta,
///     PutOptions, Result, UploadWriter,
/// };
///
/// /// Logs every write, changes nothing.
/// #[derive(Debug)]
/// struct Logged<B>(B);
///
/// #[async_trait]
/// impl<B: Backend> Backend for Logged<B> {
///     fn url(&self) -> &str { self.0.url() }
///     fn kind(&self) -> BackendKind { self.0.kind() }
///     fn is_worm(&self) -> bool { self.0.is_worm() }
///     fn part_size(&self) -> usize { self.0.part_size() }
///     async fn put_opts(&self, key: &str, data: Bytes, options: PutOptions) -> Result<()> {
///         println!("put {key} ({} bytes)", data.len());
///         self.0.put_opts(key, data, options).await
///     }
///     async fn get_opts(&self, key: &str, options: GetOptions) -> Result<Bytes> {
///         self.0.get_opts(key, options).await
///     }
///     async fn head(&self, key: &str) -> Result<ObjectMeta> { self.0.head(key).await }
///     fn list_stream(&self, prefix: &str) -> BoxStream<'static, Result<ObjectMeta>> {
///         self.0.list_stream(prefix)
///     }
///     async fn delete(&self, key: &str) -> Result<()> { self.0.delete(key).await }
///     async fn copy_opts(&self, from: &str, to: &str, options: PutOptions) -> Result<()> {
///         self.0.copy_opts(from, to, options).await
///     }
///     async fn upload_opts(&self, key: &str, options: PutOptions) -> Result<UploadWriter> {
///         self.0.upload_opts(key, options).await
///     }
///     async fn capabilities(&self) -> Result<Capabilities> { self.0.capabilities().await }
/// }
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let backend: Arc<dyn Backend> = Arc::new(Logged(strata_backend::open("memory://")?));
/// backend.put("a/b.txt", "hello").await?;
/// assert_eq!(backend.get("a/b.txt").await?, "hello");
/// # Ok::<(), strata_backend::Error>(())
/// # }).unwrap();
/// ```
#[async_trait]
pub trait Backend: Send + Sync + fmt::Debug {
    /// The URL the backend was opened from (a description; decorators forward their inner
    /// backend's).
    fn url(&self) -> &str;

    /// The kind of store at the bottom.
    fn kind(&self) -> BackendKind;

    /// True if this handle is write-once (WORM): every write is create-only, and overwrites
    /// and deletes fail with [`Error::WormViolation`]. See [`Worm`].
    fn is_worm(&self) -> bool;

    /// Part size of multipart uploads, in bytes.
    fn part_size(&self) -> usize;

    /// Stores `data` under `key` as `options` say. The object appears atomically.
    ///
    /// [`PutMode::CreateOnly`] onto an existing key is [`Error::AlreadyExists`] and changes
    /// nothing. On a WORM backend every put is create-only: an existing object gives
    /// [`Error::WormViolation`] for [`PutMode::Overwrite`].
    async fn put_opts(&self, key: &str, data: Bytes, options: PutOptions) -> Result<()>;

    /// Reads the object, or the range `options` ask for (cut at the object's end; an empty
    /// range or one starting at or past the end is [`Error::InvalidRange`]).
    async fn get_opts(&self, key: &str, options: GetOptions) -> Result<Bytes>;

    /// The object's metadata.
    async fn head(&self, key: &str) -> Result<ObjectMeta>;

    /// Every object under `prefix` (recursively), streamed in no particular order. `""`
    /// lists everything; `"a/b"` and `"a/b/"` both list the keys starting with `a/b/`. A
    /// prefix without objects is an empty stream; a malformed prefix is one
    /// [`Error::InvalidKey`]. [`BackendExt::list`] collects and sorts.
    fn list_stream(&self, prefix: &str) -> BoxStream<'static, Result<ObjectMeta>>;

    /// One level under `prefix`: the objects directly in it and its sub-prefixes, sorted.
    ///
    /// The default derives it from [`list_stream`](Backend::list_stream); stores with a
    /// delimiter listing (S3's `ListObjectsV2` with `/`) should override it.
    async fn list_dir(&self, prefix: &str) -> Result<Listing> {
        list_dir_from_stream(self.list_stream(prefix), prefix).await
    }

    /// Deletes the object. Deleting a missing key succeeds; a WORM backend refuses
    /// ([`Error::WormViolation`]), also for a missing key.
    async fn delete(&self, key: &str) -> Result<()>;

    /// Copies `from` to `to` inside the backend as `options` say. A missing `from` is
    /// [`Error::NotFound`] naming `from`; a create-only copy onto an existing `to` is
    /// [`Error::AlreadyExists`] naming `to`, with `to` untouched.
    async fn copy_opts(&self, from: &str, to: &str, options: PutOptions) -> Result<()>;

    /// Starts a multipart upload to `key` as `options` say; see [`UploadWriter`].
    ///
    /// Nothing is visible under `key` until [`UploadWriter::finish`] returns. A create-only
    /// upload (or any upload on WORM) is refused at once if `key` already exists, and again
    /// at `finish` if the key was taken meanwhile.
    async fn upload_opts(&self, key: &str, options: PutOptions) -> Result<UploadWriter>;

    /// Deletes what unfinished uploads left in the backend's staging area (a crash, a dropped
    /// writer); returns how many objects. Only call it when no upload is in flight. The
    /// default, for backends that stage nothing, returns 0.
    async fn purge_staging(&self) -> Result<usize> {
        Ok(0)
    }

    /// What the store enforces ([`Capabilities`]); create-only writes (and so WORM) are
    /// refused with [`Error::Unsupported`] where
    /// [`Capabilities::create_only`] says they cannot be guaranteed.
    ///
    /// An `s3://` backend probes its server at the first call (or the first create-only
    /// write) and keeps the answer. The default declares a store that decides create-only
    /// writes atomically ([`Provenance::Declared`]); the conformance suite holds an
    /// implementation to what it declares, and a decorator must forward this method.
    async fn capabilities(&self) -> Result<Capabilities> {
        let mut caps = Capabilities::atomic_store();
        caps.provenance = Provenance::Declared;
        Ok(caps)
    }

    /// Copies the object into the local file `to` and returns its size. The file appears
    /// whole (written beside it under a temporary name, then renamed) and is replaced if it
    /// exists; nothing is left at `to` on failure. The default reads the object with
    /// [`get_opts`](Backend::get_opts); `s3://` fetches ranges concurrently and writes them
    /// as they arrive.
    async fn download(&self, key: &str, to: &std::path::Path) -> Result<u64> {
        let bytes = self.get_opts(key, GetOptions::default()).await?;
        let mut file = crate::download::PartFile::create(key, to).await?;
        let size = bytes.len() as u64;
        let filled = file.write(bytes).await.map(|()| size);
        file.finish(filled).await
    }

    /// The object's S3 Object Lock retention, or `None` if it has none. A missing key is
    /// [`Error::NotFound`]. The default (stores without Object Lock) checks that the object
    /// exists and returns `None`.
    async fn retention(&self, key: &str) -> Result<Option<Retention>> {
        self.head(key).await.map(|_| None)
    }

    /// Sets or extends the object's retention; never shortens or weakens it
    /// ([`Error::RetentionShortening`], ARCH-1). A store without Object Lock is
    /// [`Error::NoObjectLock`] (the default).
    async fn extend_retention(&self, key: &str, retention: Retention) -> Result<()> {
        let _ = retention;
        Err(Error::NoObjectLock {
            key: key.to_owned(),
            url: self.url().to_owned(),
            why: "the backend has no S3 Object Lock".to_owned(),
        })
    }
}

/// The default [`Backend::list_dir`]: one level of a recursive listing.
async fn list_dir_from_stream(
    mut stream: BoxStream<'static, Result<ObjectMeta>>,
    prefix: &str,
) -> Result<Listing> {
    let trimmed = prefix.strip_suffix('/').unwrap_or(prefix);
    let under = if trimmed.is_empty() {
        String::new()
    } else {
        format!("{trimmed}/")
    };
    let mut objects = Vec::new();
    let mut prefixes = std::collections::BTreeSet::new();
    while let Some(meta) = stream.next().await {
        let meta = meta?;
        let Some(rest) = meta.key.strip_prefix(under.as_str()) else {
            continue;
        };
        match rest.split_once('/') {
            Some((dir, _)) => {
                prefixes.insert(format!("{under}{dir}"));
            }
            None => objects.push(meta),
        }
    }
    objects.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(Listing {
        objects,
        prefixes: prefixes.into_iter().collect(),
    })
}

/// The everyday calls, built on the [`Backend`] primitives; implemented for every backend
/// (`T: Backend + ?Sized`, so also for `dyn Backend`, `&dyn Backend` and `Arc<dyn Backend>`).
///
/// ```
/// use strata_backend::prelude::*;
/// use strata_backend::{Error, PutOptions};
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let backend = strata_backend::open("memory://")?;
/// backend.put("AAPL/trade/2024-01-15.jsonl", "{\"px\":\"187.44\"}\n").await?;
/// assert!(backend.exists("AAPL/trade/2024-01-15.jsonl").await?);
/// assert_eq!(backend.get_range("AAPL/trade/2024-01-15.jsonl", 2..4).await?, "px");
/// backend.copy("AAPL/trade/2024-01-15.jsonl", "copies/a.jsonl").await?;
/// let again = backend.copy_if_not_exists("AAPL/trade/2024-01-15.jsonl", "copies/a.jsonl").await;
/// assert!(matches!(again, Err(Error::AlreadyExists { .. })));
/// assert_eq!(backend.list("").await?.len(), 2);
/// # Ok::<(), Error>(())
/// # }).unwrap();
/// ```
pub trait BackendExt: Backend {
    /// Stores `data` under `key`, replacing any existing object (create-only on WORM).
    fn put<'a>(
        &'a self,
        key: &'a str,
        data: impl Into<Bytes>,
    ) -> impl Future<Output = Result<()>> + Send + 'a {
        self.put_opts(key, data.into(), PutOptions::default())
    }

    /// Reads the whole object.
    fn get<'a>(&'a self, key: &'a str) -> impl Future<Output = Result<Bytes>> + Send + 'a {
        self.get_opts(key, GetOptions::default())
    }

    /// Reads bytes `range.start..range.end` of the object; a range running past the end is
    /// cut at the end. An empty range, or one starting at or past the end, is
    /// [`Error::InvalidRange`].
    fn get_range<'a>(
        &'a self,
        key: &'a str,
        range: Range<u64>,
    ) -> impl Future<Output = Result<Bytes>> + Send + 'a {
        self.get_opts(key, GetOptions::default().with_range(range))
    }

    /// True if an object is stored under `key`.
    fn exists<'a>(&'a self, key: &'a str) -> impl Future<Output = Result<bool>> + Send + 'a {
        async move {
            match self.head(key).await {
                Ok(_) => Ok(true),
                Err(Error::NotFound { .. }) => Ok(false),
                Err(e) => Err(e),
            }
        }
    }

    /// Every object under `prefix` (recursively), sorted by key. `""` lists everything;
    /// `"a/b"` and `"a/b/"` both list the keys starting with `a/b/`.
    fn list(&self, prefix: &str) -> impl Future<Output = Result<Vec<ObjectMeta>>> + Send + 'static {
        let mut listing = self.list_stream(prefix);
        async move {
            let mut objects = Vec::new();
            while let Some(meta) = listing.next().await {
                objects.push(meta?);
            }
            objects.sort_by(|a, b| a.key.cmp(&b.key));
            Ok(objects)
        }
    }

    /// Copies `from` to `to`, replacing `to` (create-only on WORM).
    fn copy<'a>(
        &'a self,
        from: &'a str,
        to: &'a str,
    ) -> impl Future<Output = Result<()>> + Send + 'a {
        self.copy_opts(from, to, PutOptions::default())
    }

    /// Copies `from` to `to` unless `to` exists ([`Error::AlreadyExists`], `to` untouched).
    fn copy_if_not_exists<'a>(
        &'a self,
        from: &'a str,
        to: &'a str,
    ) -> impl Future<Output = Result<()>> + Send + 'a {
        self.copy_opts(from, to, PutOptions::create_only())
    }

    /// Starts a multipart upload to `key` that replaces any existing object when finished
    /// (create-only on WORM). See [`UploadWriter`].
    fn upload<'a>(
        &'a self,
        key: &'a str,
    ) -> impl Future<Output = Result<UploadWriter>> + Send + 'a {
        self.upload_opts(key, PutOptions::default())
    }

    /// A write-once (WORM) view of this backend: [`Worm::new(self)`](Worm::new). Handles
    /// are cheap to clone (`Arc<dyn Backend>`, [`ObjectStoreBackend`](crate::ObjectStoreBackend)),
    /// so clone first to keep a writable one.
    fn write_once(self) -> Worm<Self>
    where
        Self: Sized,
    {
        Worm::new(self)
    }
}

impl<T: Backend + ?Sized> BackendExt for T {}

/// Forwards every [`Backend`] method through a pointer type.
macro_rules! forward_backend {
    ($($ptr:ty),+) => {$(
        #[async_trait]
        impl<T: Backend + ?Sized> Backend for $ptr {
            fn url(&self) -> &str {
                (**self).url()
            }
            fn kind(&self) -> BackendKind {
                (**self).kind()
            }
            fn is_worm(&self) -> bool {
                (**self).is_worm()
            }
            fn part_size(&self) -> usize {
                (**self).part_size()
            }
            async fn put_opts(&self, key: &str, data: Bytes, options: PutOptions) -> Result<()> {
                (**self).put_opts(key, data, options).await
            }
            async fn get_opts(&self, key: &str, options: GetOptions) -> Result<Bytes> {
                (**self).get_opts(key, options).await
            }
            async fn head(&self, key: &str) -> Result<ObjectMeta> {
                (**self).head(key).await
            }
            fn list_stream(&self, prefix: &str) -> BoxStream<'static, Result<ObjectMeta>> {
                (**self).list_stream(prefix)
            }
            async fn list_dir(&self, prefix: &str) -> Result<Listing> {
                (**self).list_dir(prefix).await
            }
            async fn delete(&self, key: &str) -> Result<()> {
                (**self).delete(key).await
            }
            async fn copy_opts(&self, from: &str, to: &str, options: PutOptions) -> Result<()> {
                (**self).copy_opts(from, to, options).await
            }
            async fn upload_opts(&self, key: &str, options: PutOptions) -> Result<UploadWriter> {
                (**self).upload_opts(key, options).await
            }
            async fn purge_staging(&self) -> Result<usize> {
                (**self).purge_staging().await
            }
            async fn capabilities(&self) -> Result<Capabilities> {
                (**self).capabilities().await
            }
            async fn retention(&self, key: &str) -> Result<Option<Retention>> {
                (**self).retention(key).await
            }
            async fn download(&self, key: &str, to: &std::path::Path) -> Result<u64> {
                (**self).download(key, to).await
            }
            async fn extend_retention(&self, key: &str, retention: Retention) -> Result<()> {
                (**self).extend_retention(key, retention).await
            }
        }
    )+};
}

forward_backend!(&T, Box<T>, Arc<T>);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ObjectStoreBackend;

    fn meta(key: &str) -> Result<ObjectMeta> {
        Ok(ObjectMeta {
            key: key.to_owned(),
            size: 1,
            last_modified: SystemTime::UNIX_EPOCH,
            e_tag: None,
        })
    }

    #[tokio::test]
    async fn the_default_list_dir_groups_one_level() {
        let keys = ["a.txt", "a/1", "a/2", "a/sub/3", "ab/4", "b/5"];
        let stream = || futures::stream::iter(keys.map(meta)).boxed();
        let top = list_dir_from_stream(stream(), "").await.unwrap();
        assert_eq!(top.prefixes, ["a", "ab", "b"]);
        assert_eq!(top.objects.len(), 1);
        for prefix in ["a", "a/"] {
            let a = list_dir_from_stream(stream(), prefix).await.unwrap();
            assert_eq!(a.prefixes, ["a/sub"]);
            let keys: Vec<_> = a.objects.iter().map(|m| m.key.as_str()).collect();
            assert_eq!(keys, ["a/1", "a/2"]);
        }
    }

    #[tokio::test]
    async fn pointers_to_backends_are_backends() {
        let store = ObjectStoreBackend::memory();
        let shared: Arc<dyn Backend> = Arc::new(store.clone());
        let boxed: Box<dyn Backend> = Box::new(store.clone());
        let borrowed: &dyn Backend = &store;
        shared.put("k", "v").await.unwrap();
        assert_eq!(boxed.get("k").await.unwrap(), "v");
        assert!(borrowed.exists("k").await.unwrap());
        // The forwarding impl for `Arc<T>` itself.
        assert_eq!(
            Backend::list_dir(&shared, "").await.unwrap().objects.len(),
            1
        );
        assert_eq!(shared.url(), "memory://");
    }
}
