//! TIER-3, TIER-4: an operation left open because finishing it fails (here: the hot tier
//! refuses deletes, as a read-only folder or a flaky store would) keeps what it owns out of
//! later runs. A consolidation of a day's hourly files writes and catalogues its warm file,
//! then cannot remove its sources; the next plan — made without knowing that — wants the day's
//! warm file merged again with the same hourly files. That run must take nothing twice; once
//! deletes work again, the open operation is finished and every event is there exactly once.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use strata::archive::Archive;
use strata::backend::{async_trait, Backend, BoxStream};
use strata::catalog::FileQuery;
use strata::import::{Format, ImportOptions};
use strata::ingest::WriterOptions;
use strata::model::Timestamp;
use strata::policy::TierName;

/// A backend whose deletes fail while `refuse` is set.
#[derive(Debug)]
struct RefusingDeletes {
    inner: Arc<dyn Backend>,
    refuse: Arc<AtomicBool>,
}

#[async_trait]
impl Backend for RefusingDeletes {
    fn url(&self) -> &str {
        self.inner.url()
    }
    fn kind(&self) -> strata::backend::BackendKind {
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
        options: strata::backend::PutOptions,
    ) -> strata::backend::Result<()> {
        self.inner.put_opts(key, data, options).await
    }
    async fn get_opts(
        &self,
        key: &str,
        options: strata::backend::GetOptions,
    ) -> strata::backend::Result<Bytes> {
        self.inner.get_opts(key, options).await
    }
    async fn head(&self, key: &str) -> strata::backend::Result<strata::backend::ObjectMeta> {
        self.inner.head(key).await
    }
    fn list_stream(
        &self,
        prefix: &str,
    ) -> BoxStream<'static, strata::backend::Result<strata::backend::ObjectMeta>> {
        self.inner.list_stream(prefix)
    }
    async fn delete(&self, key: &str) -> strata::backend::Result<()> {
        if self.refuse.load(Ordering::SeqCst) {
            return Err(strata::backend::Error::LocalFolder {
                path: key.into(),
                source: std::io::Error::new(
                    std::io::ErrorKind::PermissionDenied,
                    "deletes refused by the test",
                ),
            });
        }
        self.inner.delete(key).await
    }
    async fn copy_opts(
        &self,
        from: &str,
        to: &str,
        options: strata::backend::PutOptions,
    ) -> strata::backend::Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
    async fn upload_opts(
        &self,
        key: &str,
        options: strata::backend::PutOptions,
    ) -> strata::backend::Result<strata::backend::UploadWriter> {
        self.inner.upload_opts(key, options).await
    }
}

fn events(archive: &Archive) -> (u64, usize, usize) {
    let files = archive.catalog().find(&FileQuery::all()).unwrap();
    let warm = files.iter().filter(|m| m.tier == TierName::Warm).count();
    let hot = files.iter().filter(|m| m.tier == TierName::Hot).count();
    (files.iter().map(|m| m.stats.event_count).sum(), hot, warm)
}

#[test]
fn an_operation_left_open_keeps_its_files_out_of_later_runs() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("strata.toml"),
        "[layout]\ngranularity = \"hourly\"\n\n[tiers.warm]\nconsolidate = \"daily\"\n",
    )
    .unwrap();
    let archive = Archive::builder(dir.path()).open().unwrap();
    let writer = archive.writer(WriterOptions::default()).unwrap();
    let spy = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/lean/equity/usa/tick/spy/20131007_trade.zip");
    archive
        .import_file(
            &writer,
            &spy,
            Format::Lean,
            &ImportOptions::default(),
            &mut |_| {},
        )
        .unwrap();
    writer.close().unwrap();
    let (total, hourly, _) = events(&archive);
    assert!(hourly >= 4, "{hourly} hourly files");

    let refuse = Arc::new(AtomicBool::new(true));
    let mut backends = BTreeMap::new();
    for &tier in TierName::ALL {
        let backend = archive.tier_backend(tier).unwrap();
        let backend: Arc<dyn Backend> = if tier == TierName::Hot {
            Arc::new(RefusingDeletes {
                inner: backend,
                refuse: Arc::clone(&refuse),
            })
        } else {
            backend
        };
        backends.insert(tier, backend);
    }
    let executor =
        strata::lifecycle::Executor::new(dir.path(), archive.catalog(), backends).unwrap();
    let now = Timestamp::parse_flexible("2013-10-10").unwrap();

    // The day's hourly files arrive in warm as one file; their removal is refused, so the
    // operation stays open with the warm file catalogued beside its sources.
    let report = executor
        .run(&archive.lifecycle_plan(now).unwrap(), |_, _| {})
        .unwrap();
    assert!(!report.failed.is_empty());
    assert!(report.consolidated.is_empty());
    let (_, hot, warm) = events(&archive);
    assert_eq!((hot, warm), (hourly, 1));
    // A query meanwhile reads every event once: the hourly files the warm file was made from
    // are left out (TIER-5), though both are catalogued.
    let engine = archive.query_engine().unwrap();
    let mut queried = engine.run(&strata::query::Query::all()).unwrap();
    let n = (&mut queried).map(Result::unwrap).count() as u64;
    assert_eq!(n, total, "{:?}", queried.stats());
    assert_eq!(queried.stats().files, 1, "{:?}", queried.stats());
    drop(queried);

    // The next plan wants the warm file and the hourly files merged again; the run takes
    // none of them, since the open operation owns them.
    let plan = archive.lifecycle_plan(now).unwrap();
    assert!(plan.actions().count() > hourly, "{:?}", plan.counts());
    let report = executor.run(&plan, |_, _| {}).unwrap();
    let (_, hot, warm) = events(&archive);
    assert_eq!((hot, warm), (hourly, 1), "nothing new was written");
    assert!(report.consolidated.is_empty(), "{:?}", report.consolidated);
    assert!(report
        .failed
        .iter()
        .any(|(_, why)| why.contains("an unfinished operation holds it")));

    // Deletes work again: the open operation is finished, and nothing is there twice.
    refuse.store(false, Ordering::SeqCst);
    let report = executor
        .run(&archive.lifecycle_plan(now).unwrap(), |_, _| {})
        .unwrap();
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    assert_eq!(report.resumed, 1);
    assert_eq!(events(&archive), (total, 0, 1));
    let warm = archive.catalog().find(&FileQuery::all()).unwrap();
    assert!(!warm[0].path.contains("-1."), "{}", warm[0].path);
    let again = executor
        .run(&archive.lifecycle_plan(now).unwrap(), |_, _| {})
        .unwrap();
    assert_eq!(
        again.resumed + again.migrated.len() + again.consolidated.len(),
        0
    );
}
