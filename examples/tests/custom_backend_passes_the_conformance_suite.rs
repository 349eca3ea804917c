//! The example's throttling decorator passes the conformance suite every `Backend` must pass
//! (BACKEND-2, EXT-2), the same suite strata's own stores run: over `memory://` and over
//! `file://` in a temporary folder, throttled hard enough that it really waits. And it does
//! what it promises: bytes move no faster than the limit, each way.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure

use std::sync::Arc;
use std::time::{Duration, Instant};

use strata::backend::prelude::*;
use strata::backend::{ObjectStoreBackend, Worm};
use strata_backend::conformance;
use strata_examples::throttle::Throttled;

const MIB: u64 = 1024 * 1024;
/// Fast enough for the suite's few hundred MiB, slow enough that callers wait.
const SUITE_LIMIT: u64 = 1024 * MIB;

/// Every file under `dir`, relative to it.
fn files_on_disk(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        for entry in std::fs::read_dir(&current).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                out.push(path.strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttled_memory_backend_passes_the_conformance_suite() {
    let backend = Throttled::new(strata::backend::open("memory://").unwrap(), SUITE_LIMIT);
    let ran = conformance::run_all(&backend)
        .await
        .unwrap_or_else(|failure| panic!("throttled memory://: {failure}"));
    assert_eq!(ran, conformance::SCENARIOS);
    let stats = backend.stats();
    // The suite's puts and uploads come to about 90 MiB, and its readers read more.
    assert!(stats.bytes_written > 64 * MIB, "{stats:?}");
    assert!(stats.bytes_read > stats.bytes_written, "{stats:?}");
    assert!(
        stats.write_wait > Duration::ZERO && stats.read_wait > Duration::ZERO,
        "the throttle made callers wait: {stats:?}"
    );
    println!(
        "conformance: {} scenarios passed throttled on memory; {stats:?}",
        ran.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttled_file_backend_passes_the_conformance_suite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("file://{}", dir.path().display());
    let backend = Throttled::new(strata::backend::open(&url).unwrap(), SUITE_LIMIT);
    let ran = conformance::run_all(&backend)
        .await
        .unwrap_or_else(|failure| panic!("throttled file://: {failure}"));
    assert_eq!(ran, conformance::SCENARIOS);
    // Scenarios clean up after themselves, and nothing half-written stays on disk.
    assert_eq!(files_on_disk(dir.path()), Vec::<String>::new());
    assert!(backend.stats().write_wait > Duration::ZERO);
}

#[tokio::test]
async fn writes_and_reads_move_no_faster_than_the_limit() {
    let limit = 4 * MIB;
    let backend = Throttled::new(ObjectStoreBackend::memory(), limit).with_burst(0);
    let data = vec![7u8; (2 * MIB) as usize];

    let started = Instant::now();
    backend.put("a.bin", data.clone()).await.unwrap();
    let wrote = started.elapsed();
    let started = Instant::now();
    assert_eq!(backend.get("a.bin").await.unwrap().len(), data.len());
    let read = started.elapsed();
    // 2 MiB at 4 MiB/s: half a second each way (a little slack below for timer rounding).
    for (what, took) in [("write", wrote), ("read", read)] {
        assert!(took >= Duration::from_millis(480), "{what} took {took:?}");
        assert!(took < Duration::from_secs(5), "{what} took {took:?}");
    }

    // An upload is paced write by write, and lands whole.
    let started = Instant::now();
    let mut upload = backend.upload("b.bin").await.unwrap();
    for chunk in data.chunks(256 * 1024) {
        upload.write(chunk).await.unwrap();
    }
    upload.finish().await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(480));
    assert_eq!(
        backend.get("b.bin").await.unwrap().as_ref(),
        data.as_slice()
    );

    let stats = backend.stats();
    assert_eq!(stats.bytes_written, 2 * data.len() as u64);
    assert_eq!(stats.bytes_read, 2 * data.len() as u64);
    // Metadata moves no payload and costs nothing.
    let started = Instant::now();
    assert!(backend.exists("a.bin").await.unwrap());
    assert_eq!(backend.list("").await.unwrap().len(), 2);
    backend.delete("a.bin").await.unwrap();
    assert!(started.elapsed() < Duration::from_millis(200));
}

#[tokio::test]
async fn the_throttle_composes_with_write_once_either_way_round() {
    let shared: Arc<dyn Backend> = Arc::new(ObjectStoreBackend::memory());

    // Write-once over the throttle.
    let sealed = Worm::new(Throttled::new(Arc::clone(&shared), 64 * MIB));
    sealed.put("k", "v").await.unwrap();
    assert!(sealed.put("k", "w").await.unwrap_err().is_worm_violation());

    // The throttle over a write-once view reports it and keeps its refusals.
    let throttled = Throttled::new(Worm::new(Arc::clone(&shared)), 64 * MIB);
    assert!(throttled.is_worm());
    assert!(throttled.delete("k").await.unwrap_err().is_worm_violation());
    assert!(throttled.upload("k").await.unwrap_err().is_worm_violation());
    assert_eq!(shared.get("k").await.unwrap(), "v");
}

/// A tier's `backend` in strata.toml names a scheme of one's own, registered on the archive
/// builder (EXT-3): the archive opens the tier through it, and the opened tier passes the
/// conformance suite. Without the registration a writable archive refuses to open, naming the
/// key, the URL and the registered schemes; a read-only one opens. A tier without a URL is the
/// local folder `<root>/<tier>`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tier_named_in_the_config_opens_through_the_registered_scheme() {
    use strata::archive::Archive;
    use strata::backend::{OpenOptions, Url};
    use strata::policy::TierName;

    let dir = tempfile::tempdir().unwrap();
    let cold = dir.path().join("cold-store");
    std::fs::write(
        dir.path().join("strata.toml"),
        format!(
            "archive.root = \".\"\n\n[tiers.cold]\nbackend = \"slowfile://{}\"\n",
            cold.display()
        ),
    )
    .unwrap();
    let slowfile = |url: &str, _parsed: &Url, options: &OpenOptions| {
        let (_, rest) = url.split_once(':').expect("a URL has a scheme");
        let inner = ObjectStoreBackend::open_with(&format!("file:{rest}"), options)?;
        Ok(Arc::new(Throttled::new(inner, SUITE_LIMIT)) as Arc<dyn Backend>)
    };

    let err = Archive::builder(dir.path())
        .open()
        .err()
        .expect("refused")
        .to_string();
    assert!(
        err.starts_with(&format!(
            "tiers.cold.backend = \"slowfile://{}\": no backend is registered for `slowfile://` \
             (registered: file, memory, s3)",
            cold.display()
        )),
        "{err}"
    );
    assert!(err.contains("register_backend"), "{err}");

    let archive = Archive::builder(dir.path())
        .register_backend("slowfile", slowfile)
        .unwrap()
        .open()
        .unwrap();
    let tier = archive.tier_backend(TierName::Cold).unwrap();
    let ran = conformance::run_all(&*tier)
        .await
        .unwrap_or_else(|failure| panic!("cold tier through slowfile://: {failure}"));
    assert_eq!(ran, conformance::SCENARIOS);
    tier.put("2024/trades.parquet", "bytes").await.unwrap();
    assert!(files_on_disk(&cold).contains(&"2024/trades.parquet".to_string()));

    let warm = archive.tier_backend(TierName::Warm).unwrap();
    assert_eq!(
        archive.tier_url(TierName::Warm).unwrap(),
        Url::from_directory_path(dir.path().join("warm"))
            .unwrap()
            .to_string()
    );
    warm.put("k", "v").await.unwrap();
    assert_eq!(
        files_on_disk(&dir.path().join("warm")),
        vec!["k".to_string()]
    );
    drop(archive);

    // Reading needs no backend of one's own.
    Archive::builder(dir.path()).read_only().open().unwrap();
}

/// An archive opened by a relative path (as `strata --root strata-demo` does) opens its tiers
/// where the path points, not at a host named after its first component.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relative_root_opens_its_tiers_on_the_local_disk() {
    use strata::archive::Archive;
    use strata::policy::TierName;

    // Tests run in the package folder; a relative path beside it in the target folder.
    let relative = std::path::PathBuf::from(format!(
        "../target/strata-relative-root-{}",
        std::process::id()
    ));
    let archive = Archive::open(&relative, strata::config::Config::default()).unwrap();
    let warm = archive.tier_backend(TierName::Warm).unwrap();
    warm.put("k", "v").await.unwrap();
    let on_disk = std::fs::read_to_string(relative.join("warm/k"));
    std::fs::remove_dir_all(&relative).unwrap();
    assert_eq!(on_disk.unwrap(), "v");
}
