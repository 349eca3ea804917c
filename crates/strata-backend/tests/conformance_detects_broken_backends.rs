//! The conformance suite must catch broken backends, not just bless working ones: each
//! store here has one deliberate flaw, and the scenario meant to catch it must fail.
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
use strata_backend::{conformance, Backend};

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

fn flawed(flaw: Flaw) -> Backend {
    let store = Flawed {
        inner: InMemory::new(),
        flaw,
    };
    Backend::from_object_store(Arc::new(store), format!("flawed://{flaw:?}"))
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
