//! The `s3://` backend against Garage 2.5.0, a production S3-compatible server: one node in a
//! temporary directory on free loopback ports, started by `support::GarageServer`.
//!
//! Nothing is skipped silently: if Garage cannot be found or started the tests fail and say how
//! to install it. Set `STRATA_SKIP_GARAGE=1` to skip them on purpose (they then say so loudly).
//! `STRATA_GARAGE` is the path of the garage binary (default
//! `~/.cache/strata-ci/garage-2.5.0/bin/garage`, then `garage` on `PATH`);
//! `STRATA_GARAGE_LOG=dir` keeps each server's log there.
#![cfg(all(feature = "s3", feature = "conformance"))]
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure

use strata_backend::conformance::{self, Verdict};
use strata_backend::prelude::*;
use strata_backend::{BackendKind, Error, ObjectMeta, PutOptions, Support};

mod support;
use support::garage_or_skip;

const MIB: usize = 1024 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garage_serves_the_backend() {
    let Some(garage) = garage_or_skip("garage_serves_the_backend") else {
        return;
    };
    println!(
        "Garage at {} (bucket {}, key {}) started in {:?}",
        garage.endpoint(),
        garage.bucket(),
        garage.credentials().0,
        garage.startup_time()
    );
    let backend = garage.backend("tier%20cold/ü");
    assert_eq!(backend.kind(), BackendKind::S3);
    let log = || garage.output();

    // Plain put and get, including a key with a space and unicode.
    let odd_key = "AAPL/2024 01 15/ünïcødé €.jsonl";
    backend
        .put("AAPL/2024-01-15.jsonl", "hot data")
        .await
        .unwrap();
    backend.put(odd_key, "odd key data").await.unwrap();
    backend.put("MSFT/2024-01-15.jsonl", "msft").await.unwrap();
    assert_eq!(
        &backend.get("AAPL/2024-01-15.jsonl").await.unwrap()[..],
        b"hot data"
    );
    assert_eq!(&backend.get(odd_key).await.unwrap()[..], b"odd key data");
    assert_eq!(&backend.get_range(odd_key, 4..7).await.unwrap()[..], b"key");

    // A multipart upload of 6 MiB: two parts at the default 5 MiB part size.
    let big: Vec<u8> = (0..6 * MIB).map(|i| (i % 251) as u8).collect();
    let mut upload = backend.upload("AAPL/big.bin").await.unwrap();
    for chunk in big.chunks(MIB) {
        upload.write(chunk).await.unwrap();
    }
    let summary = upload
        .finish()
        .await
        .unwrap_or_else(|e| panic!("multipart upload to Garage: {e}\nGarage log:\n{}", log()));
    assert_eq!(summary.key, "AAPL/big.bin");
    assert_eq!(summary.size, (6 * MIB) as u64);
    assert_eq!(summary.parts, 2);
    let read_back = backend.get("AAPL/big.bin").await.unwrap();
    assert_eq!(read_back.len(), big.len());
    assert!(
        read_back[..] == big[..],
        "multipart object read back differs"
    );

    // Listings are sorted, relative to the prefix, and carry sizes.
    let keys = |listing: &[ObjectMeta]| listing.iter().map(|m| m.key.clone()).collect::<Vec<_>>();
    let all = backend.list("").await.unwrap();
    assert_eq!(
        keys(&all),
        [
            "AAPL/2024 01 15/ünïcødé €.jsonl",
            "AAPL/2024-01-15.jsonl",
            "AAPL/big.bin",
            "MSFT/2024-01-15.jsonl",
        ]
    );
    let sizes: Vec<u64> = all.iter().map(|m| m.size).collect();
    assert_eq!(sizes, [12, 8, (6 * MIB) as u64, 4]);
    assert_eq!(
        keys(&backend.list("AAPL/2024 01 15").await.unwrap()),
        [odd_key]
    );
    // The bucket root sees the prefix decoded from the URL (`%20` is a space).
    let root = garage.backend("");
    assert_eq!(
        keys(&root.list("").await.unwrap())[0],
        "tier cold/ü/AAPL/2024 01 15/ünïcødé €.jsonl"
    );

    // Deletes; a deleted object is NotFound, and the listing shrinks.
    backend.delete(odd_key).await.unwrap();
    backend.delete("AAPL/big.bin").await.unwrap();
    assert!(matches!(
        backend.get(odd_key).await,
        Err(Error::NotFound { .. })
    ));
    assert!(!backend.exists("AAPL/big.bin").await.unwrap());
    assert_eq!(
        keys(&backend.list("").await.unwrap()),
        ["AAPL/2024-01-15.jsonl", "MSFT/2024-01-15.jsonl"]
    );
    println!(
        "Garage served puts, gets, a {} MiB multipart upload, listings and deletes",
        big.len() / MIB
    );
}

/// The scenarios that exercise create-only writes: on Garage 2.5.0, which ignores
/// `If-None-Match: *`, each must end refused as designed; every other one must pass.
const NEED_CREATE_ONLY: &[&str] = &[
    "overwrite_and_create_only",
    "create_only_race",
    "copy",
    "create_only_uploads",
    "atomic_put_visibility",
    "atomic_multipart_visibility",
    "worm_refusals",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garage_runs_the_conformance_suite_and_refuses_what_it_cannot_enforce() {
    let Some(garage) = garage_or_skip("garage_runs_the_conformance_suite") else {
        return;
    };
    let backend = garage.backend("suite/ü");
    let caps = backend.capabilities().await.unwrap();
    println!("Garage {}:\n{caps}", support::GARAGE_VERSION);
    assert_eq!(caps.conditional_put, Support::Ignored, "{caps}");
    assert_eq!(caps.conditional_complete, Support::Ignored, "{caps}");
    assert!(!caps.object_lock.is_enabled(), "{caps}");
    assert!(!caps.empty_part.is_yes(), "{caps}");
    assert!(!caps.small_part_copy.is_yes(), "{caps}");

    let outcomes = conformance::run_all_verdicts(&*backend)
        .await
        .unwrap_or_else(|failure| panic!("{failure}\nGarage log:\n{}", garage.output()));
    assert_eq!(outcomes.len(), conformance::SCENARIOS.len());
    for outcome in &outcomes {
        println!("{:<28} {}", outcome.scenario, outcome.verdict.word());
        let refused = matches!(outcome.verdict, Verdict::RefusedAsDesigned(_));
        assert_eq!(
            refused,
            NEED_CREATE_ONLY.contains(&outcome.scenario),
            "{}: {:?}",
            outcome.scenario,
            outcome.verdict
        );
    }
    // The probe left nothing behind, and neither did the suite.
    let root = garage.backend("");
    assert!(root.list("").await.unwrap().is_empty());
    assert_eq!(root.purge_staging().await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garage_refusals_name_the_missing_capability_and_write_nothing() {
    let Some(garage) = garage_or_skip("garage_refusals_name_the_missing_capability") else {
        return;
    };
    let backend = garage.backend("archive");
    let err = backend
        .put_opts("sealed.parquet", "data".into(), PutOptions::create_only())
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(err.is_unsupported(), "{message}");
    for expected in [
        "refusing to put `sealed.parquet` create-only",
        "If-None-Match: * on PutObject",
        "ignored",
        "use a server that enforces conditional writes",
    ] {
        assert!(message.contains(expected), "{expected:?} not in {message}");
    }
    // Through a WORM view too: nothing is reported written once.
    let worm = backend.clone().write_once();
    assert!(worm
        .put("sealed.parquet", "data")
        .await
        .unwrap_err()
        .is_unsupported());
    assert!(!backend.exists("sealed.parquet").await.unwrap());
    // Plain writes still work, and small, empty and part-sized uploads need no empty part
    // or small part copy.
    backend.put("plain", "x").await.unwrap();
    backend.copy("plain", "plain-copy").await.unwrap();
    for size in [0, 1, 3_000, 5 * MIB] {
        let key = format!("uploads/{size}");
        let mut upload = backend.upload(&key).await.unwrap();
        upload.write(&vec![7u8; size]).await.unwrap();
        let summary = upload.finish().await.unwrap();
        assert_eq!(summary.size, size as u64);
        assert_eq!(backend.get(&key).await.unwrap().len(), size);
    }
}
