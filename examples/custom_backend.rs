//! A storage backend decorator of your own, plugged in: `strata_examples::throttle::Throttled`
//! implements `strata::backend::Backend` by wrapping another backend and limiting how many
//! bytes per second move through it. This program
//!
//! 1. writes and reads the same objects on a local `file://` backend without and with the
//!    throttle, and prints the timings (the throttled run takes as long as the limit says);
//! 2. streams a multipart upload through the throttle;
//! 3. registers a URL scheme, `slowfile://`, whose factory opens a throttled local folder —
//!    the way a config file can name a backend of your own;
//! 4. stacks strata's write-once decorator on top, which still refuses overwrites.
//!
//! Run it with `cargo run -p strata-examples --example custom_backend`. The decorator passes
//! the backend conformance suite: `examples/tests/custom_backend_passes_the_conformance_suite.rs`.

// An example may stop on the first error with a readable message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use strata::backend::prelude::*;
use strata::backend::{BackendRegistry, ObjectStoreBackend, OpenOptions, Url, Worm};
use strata_examples::throttle::Throttled;

const MIB: u64 = 1024 * 1024;
/// The limit of the throttled runs: 16 MiB/s each way.
const LIMIT: u64 = 16 * MIB;
const OBJECTS: usize = 8;
const OBJECT_SIZE: usize = MIB as usize;

/// A deterministic 1 MiB object per index (market data would do as well; the throttle only
/// counts bytes).
fn object(index: usize) -> Vec<u8> {
    (0..OBJECT_SIZE)
        .map(|i| (i.wrapping_mul(31) ^ index) as u8)
        .collect()
}

fn mib_per_s(bytes: u64, elapsed: Duration) -> f64 {
    bytes as f64 / MIB as f64 / elapsed.as_secs_f64().max(1e-9)
}

/// Puts every object, then reads every one back and checks it; returns (write, read) times.
async fn round_trip(backend: &dyn Backend, prefix: &str) -> (Duration, Duration) {
    let started = Instant::now();
    for i in 0..OBJECTS {
        backend
            .put(&format!("{prefix}/object-{i}.bin"), object(i))
            .await
            .expect("put");
    }
    let wrote = started.elapsed();
    let started = Instant::now();
    for i in 0..OBJECTS {
        let back = backend
            .get(&format!("{prefix}/object-{i}.bin"))
            .await
            .expect("get");
        assert_eq!(back.as_ref(), object(i).as_slice(), "object {i} reads back");
    }
    (wrote, started.elapsed())
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let local = ObjectStoreBackend::local(dir.path()).expect("a local backend");
    let total = (OBJECTS * OBJECT_SIZE) as u64;
    println!(
        "{OBJECTS} objects of {} MiB on {}; throttle limit {} MiB/s each way",
        OBJECT_SIZE as u64 / MIB,
        local.url(),
        LIMIT / MIB
    );

    // 1. The same work without and with the throttle.
    let (wrote, read) = round_trip(&local, "plain").await;
    println!(
        "  unthrottled: write {:>7.3} s ({:>8.1} MiB/s), read {:>7.3} s ({:>8.1} MiB/s)",
        wrote.as_secs_f64(),
        mib_per_s(total, wrote),
        read.as_secs_f64(),
        mib_per_s(total, read)
    );
    let throttled = Throttled::new(local.clone(), LIMIT);
    let (wrote, read) = round_trip(&throttled, "throttled").await;
    println!(
        "  throttled:   write {:>7.3} s ({:>8.1} MiB/s), read {:>7.3} s ({:>8.1} MiB/s)",
        wrote.as_secs_f64(),
        mib_per_s(total, wrote),
        read.as_secs_f64(),
        mib_per_s(total, read)
    );
    let expected = Duration::from_secs_f64(total as f64 / LIMIT as f64);
    assert!(
        wrote >= expected.mul_f64(0.9) && read >= expected.mul_f64(0.9),
        "the throttle holds the limit: {total} bytes at {LIMIT} B/s take at least {expected:?}"
    );

    // 2. A multipart upload, paced write by write.
    let started = Instant::now();
    let mut upload = throttled
        .upload("throttled/upload.bin")
        .await
        .expect("upload");
    for i in 0..6 {
        upload.write(&object(100 + i)).await.expect("write");
    }
    let summary = upload.finish().await.expect("finish");
    let elapsed = started.elapsed();
    println!(
        "  throttled upload: {} MiB in {} parts, {:.3} s ({:.1} MiB/s)",
        summary.size / MIB,
        summary.parts,
        elapsed.as_secs_f64(),
        mib_per_s(summary.size, elapsed)
    );
    let stats = throttled.stats();
    println!(
        "  throttle stats: {} MiB written (waited {:.3} s), {} MiB read (waited {:.3} s)",
        stats.bytes_written / MIB,
        stats.write_wait.as_secs_f64(),
        stats.bytes_read / MIB,
        stats.read_wait.as_secs_f64()
    );

    // 3. A URL scheme of our own: `slowfile:///path` is a local folder behind the throttle.
    let mut registry = BackendRegistry::new();
    registry
        .register(
            "slowfile",
            |url: &str, _parsed: &Url, options: &OpenOptions| {
                // `slowfile:///path` → `file:///path` (the registry checked the scheme).
                let (_, rest) = url.split_once(':').expect("a URL has a scheme");
                let inner = ObjectStoreBackend::open_with(&format!("file:{rest}"), options)?;
                Ok(Arc::new(Throttled::new(inner, LIMIT)) as Arc<dyn Backend>)
            },
        )
        .expect("a valid scheme");
    let url = format!("slowfile://{}", dir.path().join("by-url").display());
    let by_url = registry.open(&url).expect("open slowfile://");
    let started = Instant::now();
    by_url
        .put("from-the-registry.bin", object(7))
        .await
        .expect("put");
    println!(
        "  {url}: put 1 MiB in {:.3} s; registered schemes: {}",
        started.elapsed().as_secs_f64(),
        registry.schemes().collect::<Vec<_>>().join(", ")
    );
    assert!(dir
        .path()
        .join("by-url")
        .join("from-the-registry.bin")
        .is_file());

    // 4. Decorators stack: write-once over the throttle.
    let archive = Worm::new(Arc::clone(&by_url));
    archive
        .put("sealed/2024-01-15.jsonl", "{}\n")
        .await
        .expect("a new key");
    let refused = archive
        .put("sealed/2024-01-15.jsonl", "changed")
        .await
        .unwrap_err();
    println!("  write-once over the throttle: {refused}");
    assert!(refused.is_worm_violation());
    println!("done: every object read back identical");
}
