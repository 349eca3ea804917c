//! Opening backends by URL: [`OpenOptions`], and the [`BackendRegistry`] that maps each URL
//! scheme to a [`BackendFactory`] — `file`, `memory` and `s3` built in, any other added by
//! the user.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use url::Url;

use std::time::Duration;

use crate::backend::{
    Backend, DEFAULT_MAX_CONCURRENT_PARTS, DEFAULT_MAX_CONCURRENT_READS, DEFAULT_PART_SIZE,
    MIN_PART_SIZE,
};
use crate::capabilities::RetentionMode;
use crate::error::{Error, Result};
use crate::s3::S3Options;
use crate::store::{ObjectStoreBackend, OBJECT_STORE_SCHEMES};
use crate::worm::Worm;

/// Opens `url` with default [`OpenOptions`] through the built-in schemes (`file:///abs/path`,
/// `memory://`, `s3://bucket/prefix` with feature `s3`).
///
/// ```
/// use strata_backend::prelude::*;
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let backend = strata_backend::open("memory://")?;
/// backend.put("k", "v").await?;
/// assert_eq!(backend.get("k").await?, "v");
/// # Ok::<(), strata_backend::Error>(())
/// # }).unwrap();
/// ```
pub fn open(url: &str) -> Result<Arc<dyn Backend>> {
    OpenOptions::default().open(url)
}

/// How to open a backend; [`open`] uses the defaults.
#[derive(Debug, Clone)]
pub struct OpenOptions {
    uniform_parts: bool,
    worm: bool,
    worm_retention: Option<(RetentionMode, Duration)>,
    fsync: bool,
    part_size: usize,
    max_concurrent_parts: usize,
    max_concurrent_reads: usize,
    s3: S3Options,
}

impl Default for OpenOptions {
    fn default() -> Self {
        Self {
            uniform_parts: false,
            worm: false,
            worm_retention: None,
            fsync: true,
            part_size: DEFAULT_PART_SIZE,
            max_concurrent_parts: DEFAULT_MAX_CONCURRENT_PARTS,
            max_concurrent_reads: DEFAULT_MAX_CONCURRENT_READS,
            s3: S3Options::default(),
        }
    }
}

impl OpenOptions {
    /// The defaults: not WORM, fsync on, 5 MiB parts, 4 parts in flight for uploads, 10 ranges
    /// in flight for reads.
    pub fn new() -> Self {
        Self::default()
    }

    /// Open the backend write-once: the opened backend is wrapped in [`Worm`], whatever its
    /// scheme.
    pub fn worm(mut self, worm: bool) -> Self {
        self.worm = worm;
        self
    }

    /// Open the backend write-once with S3 Object Lock retention: [`worm`](Self::worm), and
    /// every object written is retained in `mode` for `period` from its write
    /// ([`Worm::with_retention`]). Needs an `s3://` bucket with Object Lock enabled; other
    /// stores refuse the writes.
    pub fn worm_retention(mut self, mode: RetentionMode, period: Duration) -> Self {
        self.worm = true;
        self.worm_retention = Some((mode, period));
        self
    }

    /// The retention a write-once backend sets on what it writes, if any.
    pub fn worm_retention_rule(&self) -> Option<(RetentionMode, Duration)> {
        self.worm_retention
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

    /// Give every part of an upload but the last the same size (Cloudflare R2 requires it);
    /// an upload is then limited to 10,000 parts of [`part_size`](Self::part_size). By
    /// default the part size doubles every 1,000 parts, which S3 allows.
    pub fn uniform_parts(mut self, uniform: bool) -> Self {
        self.uniform_parts = uniform;
        self
    }

    /// How many part-size ranges of one S3 read (`get` of a whole object, `download`) may be
    /// in flight at once (at least 1; default 10).
    pub fn max_concurrent_reads(mut self, ranges: usize) -> Self {
        self.max_concurrent_reads = ranges;
        self
    }

    /// How many ranges of one read may be in flight at once.
    pub fn max_reads_in_flight(&self) -> usize {
        self.max_concurrent_reads
    }

    /// True if parts keep one size.
    pub fn uniform_parts_enabled(&self) -> bool {
        self.uniform_parts
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

    /// True if the backend is to be opened write-once.
    pub fn is_worm(&self) -> bool {
        self.worm
    }

    /// True if `file://` writes are fsynced.
    pub fn fsync_enabled(&self) -> bool {
        self.fsync
    }

    /// The multipart part size asked for, in bytes.
    pub fn part_size_bytes(&self) -> usize {
        self.part_size
    }

    /// How many parts of one upload may be in flight at once.
    pub fn max_parts_in_flight(&self) -> usize {
        self.max_concurrent_parts
    }

    /// The settings for `s3://` URLs.
    pub fn s3_options(&self) -> &S3Options {
        &self.s3
    }

    /// Checks the settings every backend shares (part size, parts in flight).
    pub fn validate(&self, url: &str) -> Result<()> {
        if self.part_size < MIN_PART_SIZE {
            return Err(Error::InvalidConfig {
                url: url.to_owned(),
                reason: format!(
                    "part size {} is below the minimum of {MIN_PART_SIZE} bytes (5 MiB)",
                    self.part_size
                ),
            });
        }
        if self.max_concurrent_reads == 0 {
            return Err(Error::InvalidConfig {
                url: url.to_owned(),
                reason: "max_concurrent_reads must be at least 1".to_owned(),
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

    /// Opens the backend named by `url` through the built-in schemes: `file:///abs/path`
    /// (the directory is created), `memory://` (a fresh, empty store) or
    /// `s3://bucket/prefix` (feature `s3`). Use [`BackendRegistry::open_with`] for schemes
    /// of your own.
    pub fn open(&self, url: &str) -> Result<Arc<dyn Backend>> {
        BackendRegistry::new().open_with(url, self)
    }
}

/// Opens backends of one URL scheme; registered in a [`BackendRegistry`].
///
/// Any `Fn(&str, &Url, &OpenOptions) -> Result<Arc<dyn Backend>>` closure is a factory. It
/// gets the URL as given, the URL parsed (its scheme is the one the factory was registered
/// for; no query or fragment), and the options, which the registry has
/// [validated](OpenOptions::validate). It need not apply [`OpenOptions::worm`]: the registry
/// wraps what it returns in [`Worm`] when asked.
pub trait BackendFactory: Send + Sync {
    /// Opens the backend `url` names.
    fn open(&self, url: &str, parsed: &Url, options: &OpenOptions) -> Result<Arc<dyn Backend>>;
}

impl fmt::Debug for dyn BackendFactory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BackendFactory")
    }
}

impl<F> BackendFactory for F
where
    F: Fn(&str, &Url, &OpenOptions) -> Result<Arc<dyn Backend>> + Send + Sync,
{
    fn open(&self, url: &str, parsed: &Url, options: &OpenOptions) -> Result<Arc<dyn Backend>> {
        self(url, parsed, options)
    }
}

/// The factory of the built-in schemes: an [`ObjectStoreBackend`].
fn object_store_factory(
    url: &str,
    parsed: &Url,
    options: &OpenOptions,
) -> Result<Arc<dyn Backend>> {
    Ok(Arc::new(ObjectStoreBackend::open_parsed(
        url, parsed, options,
    )?))
}

/// URL scheme → [`BackendFactory`]: how strata opens a backend URL (a tier's `backend` in
/// the config, for one), and where a user adds a scheme of their own (EXT-1).
///
/// [`BackendRegistry::new`] (also `Default`) knows `file`, `memory` and `s3` (without feature
/// `s3`, opening an `s3://` URL is [`Error::FeatureDisabled`] naming the feature). An unknown
/// scheme is [`Error::UnsupportedScheme`], which names the registered ones.
///
/// ```
/// use std::sync::Arc;
/// use strata_backend::prelude::*;
/// use strata_backend::{BackendRegistry, Error, ObjectStoreBackend, OpenOptions};
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let mut registry = BackendRegistry::new();
/// // `scratch://` opens a fresh in-memory store.
/// registry.register("scratch", |_url: &str, _parsed: &strata_backend::Url, _options: &OpenOptions| {
///     Ok(Arc::new(ObjectStoreBackend::memory()) as Arc<dyn Backend>)
/// })?;
/// let backend = registry.open("scratch://tmp")?;
/// backend.put("k", "v").await?;
///
/// let err = registry.open("ftp://host/dir").unwrap_err();
/// assert!(matches!(err, Error::UnsupportedScheme { .. }));
/// assert!(err.to_string().contains("file, memory, s3, scratch"), "{err}");
/// # Ok::<(), Error>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct BackendRegistry {
    factories: BTreeMap<String, Arc<dyn BackendFactory>>,
}

impl fmt::Debug for BackendRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BackendRegistry")
            .field("schemes", &self.factories.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Default for BackendRegistry {
    fn default() -> Self {
        Self::new()
    }
}

impl BackendRegistry {
    /// The built-in schemes: `file`, `memory` and `s3`.
    pub fn new() -> Self {
        let mut registry = Self::empty();
        for scheme in OBJECT_STORE_SCHEMES {
            registry
                .factories
                .insert((*scheme).to_owned(), Arc::new(object_store_factory));
        }
        registry
    }

    /// A registry without any scheme.
    pub fn empty() -> Self {
        Self {
            factories: BTreeMap::new(),
        }
    }

    /// Registers `factory` for `scheme` (case-insensitive; letters, digits, `+`, `-`, `.`,
    /// starting with a letter) and returns the factory it replaces, if any — a built-in
    /// scheme may be replaced. A malformed scheme is [`Error::InvalidScheme`].
    pub fn register(
        &mut self,
        scheme: &str,
        factory: impl BackendFactory + 'static,
    ) -> Result<Option<Arc<dyn BackendFactory>>> {
        let scheme = checked_scheme(scheme)?;
        Ok(self.factories.insert(scheme, Arc::new(factory)))
    }

    /// True if `scheme` has a factory.
    pub fn contains(&self, scheme: &str) -> bool {
        self.factories.contains_key(&scheme.to_ascii_lowercase())
    }

    /// The registered schemes, sorted.
    pub fn schemes(&self) -> impl Iterator<Item = &str> + '_ {
        self.factories.keys().map(String::as_str)
    }

    /// Checks, without opening anything, what [`open_with`](Self::open_with) checks before it
    /// calls a factory: the options suit the URL, the URL parses (no query or fragment) and
    /// its scheme is registered ([`Error::UnsupportedScheme`] names the registered ones). For
    /// checking a config before any data is written.
    pub fn check(&self, url: &str, options: &OpenOptions) -> Result<()> {
        self.factory_for(url, options).map(|_| ())
    }

    fn factory_for(
        &self,
        url: &str,
        options: &OpenOptions,
    ) -> Result<(Url, &Arc<dyn BackendFactory>)> {
        options.validate(url)?;
        let parsed = parse_url(url)?;
        match self.factories.get(parsed.scheme()) {
            Some(factory) => Ok((parsed, factory)),
            None => Err(Error::UnsupportedScheme {
                url: url.to_owned(),
                scheme: parsed.scheme().to_owned(),
                registered: self.schemes().map(str::to_owned).collect(),
            }),
        }
    }

    /// Opens `url` with default [`OpenOptions`].
    pub fn open(&self, url: &str) -> Result<Arc<dyn Backend>> {
        self.open_with(url, &OpenOptions::default())
    }

    /// Opens `url` with the factory of its scheme, wrapped in [`Worm`] when `options` ask for
    /// write-once.
    pub fn open_with(&self, url: &str, options: &OpenOptions) -> Result<Arc<dyn Backend>> {
        let (parsed, factory) = self.factory_for(url, options)?;
        let backend = factory.open(url, &parsed, options)?;
        Ok(if options.is_worm() {
            let worm = Worm::new(backend);
            Arc::new(match options.worm_retention_rule() {
                Some((mode, period)) => worm.with_retention(mode, period),
                None => worm,
            })
        } else {
            backend
        })
    }
}

/// `scheme` lowercased, if it is a valid URL scheme (RFC 3986).
fn checked_scheme(scheme: &str) -> Result<String> {
    let invalid = |reason: &'static str| Error::InvalidScheme {
        scheme: scheme.to_owned(),
        reason,
    };
    let mut chars = scheme.chars();
    match chars.next() {
        None => return Err(invalid("a scheme must not be empty")),
        Some(c) if !c.is_ascii_alphabetic() => {
            return Err(invalid("a scheme must start with an ASCII letter"))
        }
        Some(_) => {}
    }
    if !chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')) {
        return Err(invalid(
            "a scheme may only hold ASCII letters, digits, `+`, `-` and `.` (no `://`)",
        ));
    }
    Ok(scheme.to_ascii_lowercase())
}

/// Parses a backend URL; a backend URL takes no query or fragment.
pub(crate) fn parse_url(url: &str) -> Result<Url> {
    let parsed = Url::parse(url).map_err(|e| Error::InvalidUrl {
        url: url.to_owned(),
        reason: e.to_string(),
    })?;
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(invalid_url(url, "a backend URL takes no query or fragment"));
    }
    Ok(parsed)
}

pub(crate) fn invalid_url(url: &str, reason: &str) -> Error {
    Error::InvalidUrl {
        url: url.to_owned(),
        reason: reason.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BackendExt, BackendKind};

    #[test]
    fn unknown_schemes_name_the_registered_ones() {
        let err = open("ftp://x/y").unwrap_err();
        assert!(
            matches!(&err, Error::UnsupportedScheme { scheme, registered, .. }
                if scheme == "ftp" && registered == &["file", "memory", "s3"]),
            "{err}"
        );
        let msg = err.to_string();
        assert!(msg.contains("`ftp://`"), "{msg}");
        assert!(msg.contains("registered: file, memory, s3"), "{msg}");
        let err = BackendRegistry::empty().open("memory://").unwrap_err();
        assert!(err.to_string().contains("registered: none"), "{err}");
    }

    #[test]
    fn urls_and_options_are_checked_before_any_factory_runs() {
        assert!(matches!(open("not a url"), Err(Error::InvalidUrl { .. })));
        assert!(matches!(
            open("memory://?x=1"),
            Err(Error::InvalidUrl { .. })
        ));
        assert!(matches!(
            open("memory://bucket"),
            Err(Error::InvalidUrl { .. })
        ));
        let err = OpenOptions::new()
            .part_size(1024)
            .open("memory://")
            .unwrap_err();
        assert!(matches!(err, Error::InvalidConfig { .. }), "{err}");
        let err = OpenOptions::new()
            .max_concurrent_parts(0)
            .open("memory://")
            .unwrap_err();
        assert!(matches!(err, Error::InvalidConfig { .. }), "{err}");
    }

    #[tokio::test]
    async fn a_user_scheme_is_opened_by_its_factory_and_can_be_worm() {
        let mut registry = BackendRegistry::new();
        let factory = |url: &str, parsed: &Url, _options: &OpenOptions| {
            assert_eq!(parsed.scheme(), "scratch");
            let store = object_store::memory::InMemory::new();
            Ok(
                Arc::new(ObjectStoreBackend::from_object_store(Arc::new(store), url))
                    as Arc<dyn Backend>,
            )
        };
        assert!(registry.register("Scratch", factory).unwrap().is_none());
        assert!(registry.contains("scratch") && registry.contains("SCRATCH"));
        assert_eq!(
            registry.schemes().collect::<Vec<_>>(),
            ["file", "memory", "s3", "scratch"]
        );
        let backend = registry.open("scratch://anything").unwrap();
        assert_eq!(backend.url(), "scratch://anything");
        assert_eq!(backend.kind(), BackendKind::Other);
        backend.put("k", "v").await.unwrap();

        let worm = registry
            .open_with("scratch://anything", &OpenOptions::new().worm(true))
            .unwrap();
        assert!(worm.is_worm());
        worm.put("k", "v").await.unwrap();
        assert!(worm.delete("k").await.unwrap_err().is_worm_violation());
    }

    #[test]
    fn a_built_in_scheme_can_be_replaced_and_bad_schemes_are_refused() {
        let mut registry = BackendRegistry::new();
        let previous = registry
            .register("memory", |_: &str, _: &Url, _: &OpenOptions| {
                Err(Error::store_msg("open", "", "replaced"))
            })
            .unwrap();
        assert!(previous.is_some());
        assert!(registry.open("memory://").is_err());
        for bad in ["", "1abc", "s3://", "a b"] {
            let err = registry
                .register(bad, |_: &str, _: &Url, _: &OpenOptions| {
                    Err(Error::store_msg("open", "", "never"))
                })
                .unwrap_err();
            assert!(matches!(err, Error::InvalidScheme { .. }), "{bad:?}: {err}");
        }
    }

    #[test]
    fn the_worm_option_wraps_every_scheme() {
        let backend = OpenOptions::new().worm(true).open("memory://").unwrap();
        assert!(backend.is_worm());
        assert_eq!(backend.kind(), BackendKind::Memory);
        assert!(!open("memory://").unwrap().is_worm());
    }
}
