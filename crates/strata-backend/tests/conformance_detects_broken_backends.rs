//! The conformance suite must catch broken backends, not just bless working ones: each
//! store, and each `Backend` decorator, here has one deliberate flaw, and the scenario meant
//! to catch it must fail. A decorator without flaws that forwards only the required methods
//! (so `list_dir` and `purge_staging` are the trait's defaults) passes the whole suite.
#![cfg(feature = "conformance")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::{BoxStream, StreamExt};
use strata_backend::object_store::memory::InMemory;
use strata_backend::object_store::path::Path;
use strata_backend::object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    ObjectStoreExt, PutMode, PutMultipartOptions, PutOptions, PutPayload, PutResult, Result,
};
use strata_backend::{conformance, Backend, BackendExt, ObjectStoreBackend};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flaw {
    /// Large puts first store half the object for a while.
    TornPuts,
    /// Create-only puts check, wait, then overwrite (a classic check-then-act race).
    RacyCreateOnly,
    /// Listings return keys percent-encoded instead of as they were put.
    EncodedListing,
}

#[derive(Debug)]
struct Flawed {
    inner: InMemory,
    flaw: Flaw,
}

impl fmt::Display for Flawed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Flawed({:?})", self.flaw)
    }
}

#[async_trait]
impl ObjectStore for Flawed {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> Result<PutResult> {
        match self.flaw {
            Flaw::TornPuts if payload.content_length() > 1024 => {
                let whole = Bytes::from(payload);
                let half = whole.slice(..whole.len() / 2);
                self.inner.put(location, half.into()).await?;
                tokio::time::sleep(Duration::from_millis(30)).await;
                self.inner.put(location, whole.into()).await
            }
            Flaw::RacyCreateOnly if opts.mode == PutMode::Create => {
                if self.inner.head(location).await.is_ok() {
                    return Err(strata_backend::object_store::Error::AlreadyExists {
                        path: location.to_string(),
                        source: "exists".into(),
                    });
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
                self.inner.put(location, payload).await
            }
            _ => self.inner.put_opts(location, payload, opts).await,
        }
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        self.inner.get_opts(location, options).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        let encode = self.flaw == Flaw::EncodedListing;
        self.inner
            .list(prefix)
            .map(move |item| {
                item.map(|mut meta| {
                    if encode {
                        // `Path::from` percent-encodes `%`, `~`, `#`, … a second time.
                        meta.location = Path::from(meta.location.as_ref());
                    }
                    meta
                })
            })
            .boxed()
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
}

fn flawed(flaw: Flaw) -> ObjectStoreBackend {
    let store = Flawed {
        inner: InMemory::new(),
        flaw,
    };
    ObjectStoreBackend::from_object_store(Arc::new(store), format!("flawed://{flaw:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn torn_puts_fail_the_atomic_visibility_scenario() {
    let failure = conformance::run_all(&flawed(Flaw::TornPuts))
        .await
        .unwrap_err();
    assert_eq!(failure.scenario, "atomic_put_visibility", "{failure}");
    assert!(failure.detail.contains("partial"), "{failure}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racy_create_only_fails_the_race_scenario() {
    let failure = conformance::create_only_race(&flawed(Flaw::RacyCreateOnly))
        .await
        .unwrap_err();
    assert!(failure.detail.contains("exactly one must"), "{failure}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn re_encoded_listings_fail_the_unusual_keys_scenario() {
    let failure = conformance::unusual_keys(&flawed(Flaw::EncodedListing))
        .await
        .unwrap_err();
    assert!(failure.detail.contains("as they were put"), "{failure}");
}

// ---------------------------------------------------------------------------------------
// Decorators: flaws above the store, written against strata's own `Backend` trait.
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DecoratorFlaw {
    /// None: forwards the required methods only.
    Sound,
    /// Create-only puts overwrite.
    IgnoresCreateOnly,
    /// Ranged reads return the whole object.
    IgnoresRanges,
    /// Deletes report success and delete nothing.
    SilentDelete,
    /// Says its store cannot enforce create-only writes, yet performs them.
    DisownsCreateOnly,
}

#[derive(Debug)]
struct Decorated {
    inner: Arc<dyn Backend>,
    flaw: DecoratorFlaw,
}

#[async_trait]
impl Backend for Decorated {
    fn url(&self) -> &str {
        self.inner.url()
    }
    fn kind(&self) -> strata_backend::BackendKind {
        self.inner.kind()
    }
    fn is_worm(&self) -> bool {
        self.inner.is_worm()
    }
    fn part_size(&self) -> usize {
        self.inner.part_size()
    }
    async fn put_opts(
        &self,
        key: &str,
        data: Bytes,
        options: strata_backend::PutOptions,
    ) -> strata_backend::Result<()> {
        let options = if self.flaw == DecoratorFlaw::IgnoresCreateOnly {
            strata_backend::PutOptions::overwrite()
        } else {
            options
        };
        self.inner.put_opts(key, data, options).await
    }
    async fn get_opts(
        &self,
        key: &str,
        options: strata_backend::GetOptions,
    ) -> strata_backend::Result<Bytes> {
        let options = if self.flaw == DecoratorFlaw::IgnoresRanges {
            strata_backend::GetOptions::new()
        } else {
            options
        };
        self.inner.get_opts(key, options).await
    }
    async fn head(&self, key: &str) -> strata_backend::Result<strata_backend::ObjectMeta> {
        self.inner.head(key).await
    }
    fn list_stream(
        &self,
        prefix: &str,
    ) -> BoxStream<'static, strata_backend::Result<strata_backend::ObjectMeta>> {
        self.inner.list_stream(prefix)
    }
    async fn delete(&self, key: &str) -> strata_backend::Result<()> {
        if self.flaw == DecoratorFlaw::SilentDelete {
            return Ok(());
        }
        self.inner.delete(key).await
    }
    async fn copy_opts(
        &self,
        from: &str,
        to: &str,
        options: strata_backend::PutOptions,
    ) -> strata_backend::Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
    async fn upload_opts(
        &self,
        key: &str,
        options: strata_backend::PutOptions,
    ) -> strata_backend::Result<strata_backend::UploadWriter> {
        self.inner.upload_opts(key, options).await
    }
    async fn capabilities(&self) -> strata_backend::Result<strata_backend::Capabilities> {
        let mut caps = self.inner.capabilities().await?;
        if self.flaw == DecoratorFlaw::DisownsCreateOnly {
            caps.conditional_put = strata_backend::Support::Ignored;
        }
        Ok(caps)
    }
}

fn decorated(flaw: DecoratorFlaw) -> Decorated {
    Decorated {
        inner: strata_backend::open("memory://").unwrap(),
        flaw,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sound_decorator_with_the_default_list_dir_passes_the_suite() {
    let backend = decorated(DecoratorFlaw::Sound);
    let ran = conformance::run_all(&backend)
        .await
        .unwrap_or_else(|failure| panic!("{failure}"));
    assert_eq!(ran, conformance::SCENARIOS);
    // The same decorator over `file://`, where the default `list_dir` meets real folders.
    let dir = tempfile::tempdir().unwrap();
    let backend = Decorated {
        inner: Arc::new(ObjectStoreBackend::local(dir.path()).unwrap()),
        flaw: DecoratorFlaw::Sound,
    };
    conformance::run_all(&backend)
        .await
        .unwrap_or_else(|failure| panic!("file://: {failure}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decorator_ignoring_create_only_fails_the_suite() {
    let failure = conformance::run_all(&decorated(DecoratorFlaw::IgnoresCreateOnly))
        .await
        .unwrap_err();
    assert_eq!(failure.scenario, "overwrite_and_create_only", "{failure}");
    assert!(
        failure.detail.contains("expected AlreadyExists"),
        "{failure}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decorator_ignoring_ranges_fails_the_suite() {
    let failure = conformance::run_all(&decorated(DecoratorFlaw::IgnoresRanges))
        .await
        .unwrap_err();
    assert_eq!(failure.scenario, "ranged_get", "{failure}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decorator_whose_deletes_do_nothing_fails_the_suite() {
    let failure = conformance::run_all(&decorated(DecoratorFlaw::SilentDelete))
        .await
        .unwrap_err();
    assert_eq!(failure.scenario, "put_get", "{failure}");
    assert!(failure.detail.contains("still listed"), "{failure}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backend_that_performs_writes_its_capabilities_disown_fails_the_suite() {
    // Its capabilities say create-only writes cannot be guaranteed: the suite expects every
    // one refused (`Error::Unsupported`) and nothing written, not a write that happens to work.
    let failure = conformance::run_all(&decorated(DecoratorFlaw::DisownsCreateOnly))
        .await
        .unwrap_err();
    assert_eq!(failure.scenario, "overwrite_and_create_only", "{failure}");
    assert!(failure.detail.contains("expected Unsupported"), "{failure}");
}

#[tokio::test]
async fn the_suite_refuses_a_worm_backend() {
    let worm = decorated(DecoratorFlaw::Sound).write_once();
    let failure = conformance::run_all(&worm).await.unwrap_err();
    assert_eq!(failure.scenario, "run_all");
}
