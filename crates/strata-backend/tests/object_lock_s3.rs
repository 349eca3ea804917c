//! S3 Object Lock where the server has it (issue 10, ARCH-1): a WORM view with retention sets
//! a retain-until on every object it writes; the server itself then refuses to delete or change
//! the locked version until that date; retention can be extended, never shortened.
//!
//! The server is moto 5.2.1 (started by `support::MotoServer`) with a bucket created with
//! Object Lock enabled. Version-level requests (list versions, delete or read one version) go
//! to moto directly (it does not check signatures): the backend does not expose versions.
#![cfg(all(feature = "s3", feature = "conformance"))]
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use strata_backend::prelude::*;
use strata_backend::{
    Backend, Error, OpenOptions, PutOptions, Retention, RetentionMode, Worm, WormOp,
};

mod support;
use support::{moto_or_skip, MotoServer};

const LOCKED: &str = "locked-archive";

fn open(moto: &MotoServer, url: &str, options: OpenOptions) -> Arc<dyn Backend> {
    options
        .s3(moto.s3_options())
        .open(url)
        .unwrap_or_else(|e| panic!("open {url}: {e}"))
}

/// The version ids of `key` (a full key in the bucket), newest first, delete markers left out.
fn versions(moto: &MotoServer, bucket: &str, key: &str) -> Vec<String> {
    let (status, body) = moto
        .raw("GET", &format!("/{bucket}?versions&prefix={key}"), &[], b"")
        .unwrap();
    assert_eq!(status, 200, "{body}");
    body.split("<Version>")
        .skip(1)
        .filter_map(|entry| {
            let id = entry
                .split("<VersionId>")
                .nth(1)?
                .split("</VersionId>")
                .next()?;
            Some(id.to_owned())
        })
        .collect()
}

/// Sends `method` for one version of `key` (a full key in the bucket) straight to moto.
fn on_version(
    moto: &MotoServer,
    method: &str,
    bucket: &str,
    key: &str,
    version: &str,
) -> (u16, String) {
    moto.raw(
        method,
        &format!("/{bucket}/{key}?versionId={version}"),
        &[],
        b"",
    )
    .unwrap()
}

/// Retain-until dates are kept in whole seconds.
fn whole_seconds(time: SystemTime) -> u64 {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worm_tier_with_retention_is_locked_by_the_server_itself() {
    let Some(moto) = moto_or_skip("a_worm_tier_with_retention_is_locked_by_the_server_itself")
    else {
        return;
    };
    moto.create_locked_bucket(LOCKED).unwrap();
    let url = format!("s3://{LOCKED}/archive");
    let writable = open(&moto, &url, OpenOptions::new());
    let caps = writable.capabilities().await.unwrap();
    assert!(caps.object_lock.is_enabled(), "{caps}");
    assert!(caps.create_only().is_ok(), "{caps}");

    // The archive tier as the config opens it: write-once, 1 day of COMPLIANCE retention.
    let day = Duration::from_secs(86_400);
    let worm = open(
        &moto,
        &url,
        OpenOptions::new().worm_retention(RetentionMode::Compliance, day),
    );
    assert!(worm.is_worm());
    let before = SystemTime::now();
    worm.put("2024/sealed.parquet", "sealed data")
        .await
        .unwrap();
    let retention = worm
        .retention("2024/sealed.parquet")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(retention.mode, RetentionMode::Compliance);
    // Never shorter than asked: the date is rounded up to the next whole second.
    let until = whole_seconds(retention.until);
    assert!(
        until > whole_seconds(before + day) && until <= whole_seconds(SystemTime::now() + day) + 1,
        "{retention}"
    );

    // Uploads (one put, and multipart) and copies are locked too.
    let mut small = worm.upload("2024/small.parquet").await.unwrap();
    small.write(b"small").await.unwrap();
    small.finish().await.unwrap();
    let mut large = worm.upload("2024/large.parquet").await.unwrap();
    large
        .write(&vec![42u8; writable.part_size() + 10])
        .await
        .unwrap();
    assert_eq!(large.finish().await.unwrap().parts, 2);
    worm.copy("2024/sealed.parquet", "2024/copied.parquet")
        .await
        .unwrap();
    // Above the part size a copy is made part-wise by the server, locked from its start.
    worm.copy("2024/large.parquet", "2024/large-copy.parquet")
        .await
        .unwrap();
    assert_eq!(
        writable.get("2024/large-copy.parquet").await.unwrap().len(),
        writable.part_size() + 10
    );
    // Nothing was staged: on S3 a create-only upload completes in place with
    // If-None-Match: *, so no staged copy (or, on this versioned bucket, its non-current
    // version) is left behind.
    assert!(versions(&moto, LOCKED, "archive/.strata-staging").is_empty());
    for key in ["small", "large", "copied", "large-copy"] {
        let key = format!("2024/{key}.parquet");
        let retention = worm.retention(&key).await.unwrap();
        assert!(
            matches!(retention, Some(r) if r.mode == RetentionMode::Compliance && whole_seconds(r.until) >= whole_seconds(before + day)),
            "{key}: {retention:?}"
        );
    }

    // Extended: allowed. Shortened or weakened: refused, and nothing changes.
    let longer = Retention::compliance(retention.until + Duration::from_secs(3_600));
    worm.extend_retention("2024/sealed.parquet", longer)
        .await
        .unwrap();
    let now = worm
        .retention("2024/sealed.parquet")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(whole_seconds(now.until), whole_seconds(longer.until));
    for (shorter, word) in [
        (Retention::compliance(retention.until), "earlier"),
        (Retention::governance(longer.until), "GOVERNANCE"),
    ] {
        let err = writable
            .extend_retention("2024/sealed.parquet", shorter)
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::RetentionShortening { .. }) && err.to_string().contains(word),
            "{err}"
        );
    }
    let still = worm
        .retention("2024/sealed.parquet")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(whole_seconds(still.until), whole_seconds(longer.until));

    // The server refuses to delete the locked version, through any client.
    let key = "archive/2024/sealed.parquet";
    let ids = versions(&moto, LOCKED, key);
    assert_eq!(ids.len(), 1, "{ids:?}");
    let locked = &ids[0];
    let (status, body) = on_version(&moto, "DELETE", LOCKED, key, locked);
    assert_eq!(status, 403, "the server deleted a locked version: {body}");
    assert!(body.contains("AccessDenied"), "{body}");

    // strata refuses overwrites and deletes through the WORM view; a writable handle that
    // overwrites or deletes only adds a version or a delete marker: the locked version stays
    // whole and readable.
    assert!(matches!(
        worm.put("2024/sealed.parquet", "changed").await,
        Err(Error::WormViolation {
            op: WormOp::Overwrite,
            ..
        })
    ));
    writable
        .put("2024/sealed.parquet", "changed by a writable handle")
        .await
        .unwrap();
    writable.delete("2024/sealed.parquet").await.unwrap();
    let (status, body) = on_version(&moto, "GET", LOCKED, key, locked);
    assert_eq!((status, body.as_str()), (200, "sealed data"));
    assert_eq!(on_version(&moto, "DELETE", LOCKED, key, locked).0, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lock_ends_at_its_retain_until_date_and_strata_refuses_to_shorten_it() {
    let Some(moto) = moto_or_skip("the_lock_ends_at_its_retain_until_date") else {
        return;
    };
    moto.create_locked_bucket(LOCKED).unwrap();
    let url = format!("s3://{LOCKED}/short");
    let worm = Worm::new(open(&moto, &url, OpenOptions::new()))
        .with_retention(RetentionMode::Compliance, Duration::from_secs(3));
    worm.put("brief", "kept three seconds").await.unwrap();
    let key = "short/brief";
    let id = versions(&moto, LOCKED, key).remove(0);
    let delete = || on_version(&moto, "DELETE", LOCKED, key, &id).0;
    assert_eq!(delete(), 403, "deleted before its retain-until date");
    let until = worm.retention("brief").await.unwrap().unwrap().until;

    // moto 5.2.1 itself accepts a shorter COMPLIANCE date (AWS S3 refuses it): the refusal
    // below is strata's own, made before any request reaches the server.
    let err = worm
        .extend_retention("brief", Retention::compliance(SystemTime::now()))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::RetentionShortening { .. }), "{err}");

    let wait =
        until.duration_since(SystemTime::now()).unwrap_or_default() + Duration::from_millis(1_500);
    tokio::time::sleep(wait).await;
    assert_eq!(
        delete(),
        204,
        "the version stayed locked after its retain-until date"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_without_object_lock_is_refused_and_writes_nothing() {
    let Some(moto) = moto_or_skip("retention_without_object_lock_is_refused") else {
        return;
    };
    // A bucket without Object Lock.
    let url = "s3://strata-conformance/plain";
    let worm = open(
        &moto,
        url,
        OpenOptions::new().worm_retention(RetentionMode::Compliance, Duration::from_secs(60)),
    );
    let err = worm.put("sealed", "data").await.unwrap_err();
    assert!(matches!(err, Error::NoObjectLock { .. }), "{err}");
    assert!(
        err.to_string().contains("not enabled on this bucket"),
        "{err}"
    );
    let writable = open(&moto, url, OpenOptions::new());
    assert!(!writable.exists("sealed").await.unwrap());
    let err = writable
        .put_opts(
            "sealed",
            "data".into(),
            PutOptions::create_only().with_retention(Retention::compliance(SystemTime::now())),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NoObjectLock { .. }), "{err}");
    assert!(writable
        .retention("missing")
        .await
        .unwrap_err()
        .is_not_found());

    // A local directory has no Object Lock either.
    let dir = tempfile::tempdir().unwrap();
    let local = strata_backend::ObjectStoreBackend::local(dir.path()).unwrap();
    let err = local
        .clone()
        .write_once()
        .with_retention(RetentionMode::Compliance, Duration::from_secs(60))
        .put("sealed", "data")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no S3 Object Lock"), "{err}");
    assert!(!local.exists("sealed").await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bucket_with_default_retention_is_not_probed_by_writing() {
    let Some(moto) = moto_or_skip("a_bucket_with_default_retention_is_not_probed") else {
        return;
    };
    moto.create_locked_bucket("retained").unwrap();
    let config = "<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled>\
                  <Rule><DefaultRetention><Mode>COMPLIANCE</Mode><Days>2</Days>\
                  </DefaultRetention></Rule></ObjectLockConfiguration>";
    let (status, body) = moto
        .raw("PUT", "/retained?object-lock", &[], config.as_bytes())
        .unwrap();
    assert_eq!(status, 200, "{body}");

    // Every probe object would be kept two days: the probe writes nothing, so create-only
    // writes are not known to be enforced and are refused.
    let backend = open(&moto, "s3://retained/t", OpenOptions::new());
    let caps = backend.capabilities().await.unwrap();
    assert_eq!(
        caps.object_lock,
        strata_backend::ObjectLock::Enabled {
            default_retention: Some((RetentionMode::Compliance, 2))
        }
    );
    let missing = caps.create_only().unwrap_err();
    assert!(
        missing.to_string().contains("declare_conditional_writes"),
        "{missing}"
    );
    let (status, body) = moto.raw("GET", "/retained?versions", &[], b"").unwrap();
    assert_eq!(status, 200);
    assert!(!body.contains("<Version>"), "the probe wrote: {body}");
    let err = backend
        .put_opts("x", "data".into(), PutOptions::create_only())
        .await
        .unwrap_err();
    assert!(err.is_unsupported(), "{err}");

    // Declared by the user (who knows the server): allowed, and said to be declared.
    let declared = OpenOptions::new()
        .worm_retention(RetentionMode::Compliance, Duration::from_secs(3 * 86_400))
        .s3(moto.s3_options().declare_conditional_writes(true))
        .open("s3://retained/t")
        .unwrap();
    let caps = declared.capabilities().await.unwrap();
    assert_eq!(caps.provenance, strata_backend::Provenance::Declared);
    declared.put("sealed", "data").await.unwrap();
    let retention = declared.retention("sealed").await.unwrap().unwrap();
    assert_eq!(retention.mode, RetentionMode::Compliance);
    assert!(matches!(
        declared.put("sealed", "again").await,
        Err(Error::WormViolation { .. })
    ));
}
