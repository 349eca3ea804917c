//! A WORM tier on S3 through the facade (issue 10, ARCH-1, BACKEND-3): on a server that cannot
//! enforce create-only writes (Garage 2.5.0) the archive tier refuses every write, naming the
//! missing capability; on a bucket with S3 Object Lock (moto) `retain_days` puts a retain-until
//! on every object it writes. The servers are the ones the backend's own tests start
//! (`crates/strata-backend/tests/support`); the `s3` scheme is registered with their endpoint
//! and credentials, as an embedding program would (the CLI reads the `AWS_*` variables).
#![cfg(feature = "s3")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use strata::archive::Archive;
use strata::backend::prelude::*;
use strata::backend::{Backend, ObjectStoreBackend, OpenOptions, RetentionMode, S3Options, Url};
use strata::policy::TierName;

#[path = "../../strata-backend/tests/support/mod.rs"]
mod support;

/// An archive in a fresh folder whose config is `toml`, with `s3://` opened through `s3`.
fn archive(toml: &str, s3: S3Options) -> (tempfile::TempDir, Archive) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("strata.toml"), toml).unwrap();
    let factory = move |url: &str, _parsed: &Url, options: &OpenOptions| {
        // The registry adds the WORM view (and its retention) itself.
        let options = options.clone().worm(false).s3(s3.clone());
        Ok(Arc::new(ObjectStoreBackend::open_with(url, &options)?) as Arc<dyn Backend>)
    };
    let archive = Archive::builder(dir.path())
        .register_backend("s3", factory)
        .unwrap()
        .open()
        .unwrap();
    (dir, archive)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_archive_tier_refuses_writes_a_server_cannot_keep_write_once() {
    let Some(garage) = support::garage_or_skip("the_archive_tier_refuses_writes") else {
        return;
    };
    let bucket = garage.bucket();
    let toml = format!(
        "[tiers.cold]\nbackend = \"s3://{bucket}/cold\"\n\n\
         [tiers.archive]\nbackend = \"s3://{bucket}/archive\"\nworm = true\n"
    );
    let (_dir, archive) = archive(&toml, garage.s3_options());
    let tier = archive.tier_backend(TierName::Archive).unwrap();
    assert!(tier.is_worm());
    let err = tier.put("2024/trades.parquet", "sealed").await.unwrap_err();
    assert!(err.is_unsupported(), "{err}");
    let message = err.to_string();
    assert!(
        message.contains("If-None-Match: * on PutObject"),
        "{message}"
    );
    assert!(
        message.contains(&format!("s3://{bucket}/archive")),
        "{message}"
    );
    assert!(!tier.exists("2024/trades.parquet").await.unwrap());
    // The cold tier is not write-once: it writes as usual on the same server.
    let cold = archive.tier_backend(TierName::Cold).unwrap();
    cold.put("2024/trades.parquet", "cold").await.unwrap();
    assert_eq!(cold.get("2024/trades.parquet").await.unwrap(), "cold");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retain_days_puts_a_retain_until_on_every_archived_object() {
    let Some(moto) = support::moto_or_skip("retain_days_puts_a_retain_until") else {
        return;
    };
    moto.create_locked_bucket("locked").unwrap();
    let toml = "[tiers.archive]\nbackend = \"s3://locked/archive\"\nworm = true\nretain_days = 7\n";
    let (_dir, archive) = archive(toml, moto.s3_options());
    let tier = archive.tier_backend(TierName::Archive).unwrap();
    let before = SystemTime::now();
    tier.put("2024/trades.parquet", "sealed").await.unwrap();
    let retention = tier
        .retention("2024/trades.parquet")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(retention.mode, RetentionMode::Compliance);
    let week = Duration::from_secs(7 * 86_400);
    let until = retention.until.duration_since(before).unwrap();
    assert!(
        until > week - Duration::from_secs(2) && until < week + Duration::from_secs(60),
        "{retention}"
    );
    assert!(tier
        .delete("2024/trades.parquet")
        .await
        .unwrap_err()
        .is_worm_violation());
}
