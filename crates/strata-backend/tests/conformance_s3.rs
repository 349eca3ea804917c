//! The shared conformance suite on `s3://`, against a real S3-protocol server: moto's
//! standalone server (`pip install 'moto[server]'`), started on a free loopback port by
//! `support::MotoServer`.
//!
//! Nothing is skipped silently: if moto cannot be started the tests fail and say how to
//! install it. Set `STRATA_SKIP_S3=1` to skip them on purpose (they then say so loudly).
//! `STRATA_PYTHON` picks the Python interpreter (default `python3`); `STRATA_MOTO_LOG=dir`
//! keeps moto's access logs there.
#![cfg(all(feature = "s3", feature = "conformance"))]
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure

use std::time::Duration;

use strata_backend::prelude::*;
use strata_backend::{conformance, BackendKind, OpenOptions, S3Options};

mod support;
use support::{free_port, moto_or_skip};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_backend_passes_the_conformance_suite() {
    let Some(moto) = moto_or_skip("s3_backend_passes_the_conformance_suite") else {
        return;
    };
    // A prefix with a space and unicode checks that prefixes round-trip like keys.
    let backend = moto.backend("tier%20cold/ü");
    assert_eq!(backend.kind(), BackendKind::S3);
    // moto enforces conditional puts and completions: create-only writes are allowed.
    let caps = backend.capabilities().await.unwrap();
    println!("moto:\n{caps}");
    assert!(caps.create_only().is_ok(), "{caps}");
    let outcomes = conformance::run_all_verdicts(&*backend)
        .await
        .unwrap_or_else(|failure| panic!("s3://: {failure}\nmoto output:\n{}", moto.output()));
    let ran: Vec<_> = outcomes.iter().map(|o| o.scenario).collect();
    assert_eq!(ran, conformance::SCENARIOS);
    for outcome in &outcomes {
        println!("{:<28} {}", outcome.scenario, outcome.verdict.word());
        assert_eq!(
            outcome.verdict,
            conformance::Verdict::Passed,
            "{}",
            outcome.scenario
        );
    }
    println!(
        "conformance: {} scenarios passed on s3 (moto answered {} requests)",
        ran.len(),
        moto.requests_served()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_prefixes_keep_tiers_apart() {
    let Some(moto) = moto_or_skip("s3_prefixes_keep_tiers_apart") else {
        return;
    };
    let bucket_root = moto.backend("");
    let hot = moto.backend("hot");
    let cold = moto.backend("cold");
    hot.put("AAPL/2024-01-15.jsonl", "hot data").await.unwrap();
    cold.put("AAPL/2024-01-15.parquet", "cold data")
        .await
        .unwrap();

    // Keys are relative to each URL's prefix; each tier sees only its own objects.
    let keys = |listing: Vec<strata_backend::ObjectMeta>| {
        listing.into_iter().map(|m| m.key).collect::<Vec<_>>()
    };
    assert_eq!(keys(hot.list("").await.unwrap()), ["AAPL/2024-01-15.jsonl"]);
    assert_eq!(
        keys(cold.list("").await.unwrap()),
        ["AAPL/2024-01-15.parquet"]
    );
    assert_eq!(
        keys(bucket_root.list("").await.unwrap()),
        ["cold/AAPL/2024-01-15.parquet", "hot/AAPL/2024-01-15.jsonl"]
    );
    assert!(matches!(
        hot.get("AAPL/2024-01-15.parquet").await,
        Err(strata_backend::Error::NotFound { .. })
    ));
    // The bucket root itself passes the suite too (no prefix at all).
    let ran = conformance::run_all(&*bucket_root)
        .await
        .unwrap_or_else(|failure| panic!("s3:// bucket root: {failure}"));
    println!(
        "conformance: {} scenarios passed on s3 (bucket root)",
        ran.len()
    );
}

#[tokio::test]
async fn s3_errors_name_the_server_problem() {
    // A closed port: the error comes back (after the client's retries) as a Store error,
    // never as NotFound.
    let port = free_port().unwrap();
    let options = S3Options::new()
        .endpoint(format!("http://127.0.0.1:{port}"))
        .region("us-east-1")
        .credentials("k", "s")
        .allow_http(true)
        .path_style()
        .max_retries(0)
        .retry_timeout(Duration::from_secs(1));
    let backend = OpenOptions::new()
        .s3(options)
        .open("s3://no-server/prefix")
        .unwrap_or_else(|e| panic!("{e}"));
    let err = backend.get("k").await.unwrap_err();
    assert!(
        matches!(err, strata_backend::Error::Store { op: "get", .. }),
        "{err}"
    );
}
