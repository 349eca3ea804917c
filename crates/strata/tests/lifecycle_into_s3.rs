//! Tiers on any backend (issue 11, TIER-2, BACKEND-1): an archive whose warm and cold tiers are
//! `s3://` prefixes on a real S3-protocol server (moto) and whose archive tier is write-once on a
//! bucket with Object Lock. Real trades and quotes imported into the hot tier are migrated by
//! `Archive::lifecycle_run` into S3 (JSONL recompressed, then Parquet), read back from the
//! server and compared before each source goes; the objects and sidecars are on the server,
//! the index names them, their events equal what was imported, and a second run has nothing to
//! do.
#![cfg(feature = "s3")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure

use std::path::Path;
use std::sync::Arc;

use strata::archive::Archive;
use strata::backend::prelude::*;
use strata::backend::{Backend, ObjectStoreBackend, OpenOptions, S3Options, Url};
use strata::catalog::FileQuery;
use strata::import::{Format, ImportOptions};
use strata::ingest::WriterOptions;
use strata::model::{jsonl, Timestamp};
use strata::policy::{FileFormat, TierName};

#[path = "../../strata-backend/tests/support/mod.rs"]
mod support;

fn open(root: &Path, s3: S3Options) -> Archive {
    let factory = move |url: &str, _parsed: &Url, options: &OpenOptions| {
        let options = options.clone().worm(false).s3(s3.clone());
        Ok(Arc::new(ObjectStoreBackend::open_with(url, &options)?) as Arc<dyn Backend>)
    };
    Archive::builder(root)
        .register_backend("s3", factory)
        .unwrap()
        .open()
        .unwrap()
}

/// Every catalogued event, as sorted JSONL lines, read through each file's tier backend.
fn content(archive: &Archive, rt: &tokio::runtime::Runtime) -> Vec<String> {
    let mut lines = Vec::new();
    for m in archive.catalog().find(&FileQuery::all()).unwrap() {
        let (tier, key) = m.path.split_once('/').unwrap();
        let backend = archive.tier_backend(tier.parse().unwrap()).unwrap();
        let bytes = rt.block_on(backend.get(key)).unwrap();
        let events = match m.format {
            FileFormat::Jsonl => strata::codec::decompress(&bytes)
                .unwrap()
                .split(|&b| b == b'\n')
                .filter(|l| !l.is_empty())
                .map(|l| jsonl::decode_line(l).unwrap())
                .collect::<Vec<_>>(),
            FileFormat::Parquet => strata::columnar::read_events(bytes).unwrap().1,
        };
        lines.extend(
            events
                .iter()
                .map(|e| String::from_utf8(jsonl::encode_line(e).unwrap()).unwrap()),
        );
    }
    lines.sort();
    lines
}

#[test]
fn migrations_into_s3_tiers_keep_every_event_and_read_back() {
    let Some(moto) = support::moto_or_skip("migrations_into_s3_tiers") else {
        return;
    };
    moto.create_bucket("tiers").unwrap();
    moto.create_locked_bucket("vault").unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("strata.toml"),
        "[tiers.warm]\nbackend = \"s3://tiers/warm\"\n\n\
         [tiers.cold]\nbackend = \"s3://tiers/cold\"\n\n\
         [tiers.archive]\nbackend = \"s3://vault/archive\"\nworm = true\nretain_days = 1\n",
    )
    .unwrap();
    let archive = open(dir.path(), moto.s3_options());
    let writer = archive.writer(WriterOptions::default()).unwrap();
    let testdata = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/lean");
    for file in [
        "equity/usa/tick/spy/20131007_trade.zip",
        "forex/fxcm/tick/eurusd/20140501_quote.zip",
    ] {
        archive
            .import_file(
                &writer,
                &testdata.join(file),
                Format::Lean,
                &ImportOptions::default(),
                &mut |_| {},
            )
            .unwrap();
    }
    writer.close().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let imported = content(&archive, &rt);
    assert!(imported.len() > 3000, "{}", imported.len());

    // 2014-05-10: the SPY day (2013-10-07) goes to the cold tier (Parquet), the EURUSD day
    // (2014-05-01) to warm (JSONL, zstd 3); then 2015-01-01: SPY from cold to the write-once
    // archive tier (another bucket, Object Lock), EURUSD from warm to cold — S3 to S3.
    for (stage, (now, tiers)) in [
        ("2014-05-10", vec!["cold", "warm"]),
        ("2015-01-01", vec!["archive", "cold"]),
    ]
    .into_iter()
    .enumerate()
    {
        let now = Timestamp::parse_flexible(now).unwrap();
        let report = archive.lifecycle_run(now, |_, _| {}).unwrap();
        assert!(report.failed.is_empty(), "{:?}", report.failed);
        assert!(!report.migrated.is_empty());
        let files = archive.catalog().find(&FileQuery::all()).unwrap();
        let mut seen: Vec<&str> = files.iter().map(|m| m.tier.as_str()).collect();
        seen.sort();
        seen.dedup();
        assert_eq!(seen, tiers, "{files:?}");
        assert_eq!(
            content(&archive, &rt),
            imported,
            "the events differ at {now}"
        );
        for m in &files {
            let (tier, key) = m.path.split_once('/').unwrap();
            let backend = archive.tier_backend(tier.parse().unwrap()).unwrap();
            // The object and its sidecar are on the server; its checksum is the manifest's.
            let bytes = rt.block_on(backend.get(key)).unwrap();
            assert_eq!(
                strata::catalog::sha256_bytes(&bytes),
                m.sha256,
                "{}",
                m.path
            );
            let sidecar = rt
                .block_on(backend.get(&strata::catalog::manifest::sidecar_key(key)))
                .unwrap();
            let on_server = strata::catalog::parse_manifest(&sidecar).unwrap();
            assert_eq!(on_server.path, m.path);
            // Lineage back to the hot file it came from, one entry per migration.
            let lineage = &on_server.lineage;
            assert!(lineage[0].parent_path.starts_with("hot/"), "{lineage:?}");
            assert!(lineage.iter().all(|l| l.operation.starts_with("migrate ")));
            let steps = if stage == 0 { 1 } else { 2 };
            assert_eq!(lineage.len(), steps, "{}: {lineage:?}", m.path);
            if m.tier == TierName::Archive {
                // Write-once with a retain-until on the server, which refuses to delete it.
                assert!(
                    rt.block_on(backend.retention(key)).unwrap().is_some(),
                    "{}",
                    m.path
                );
                assert!(rt.block_on(backend.delete(key)).is_err());
            }
        }
        // Nothing left in the hot folder but what stays hot.
        let again = archive.lifecycle_run(now, |_, _| {}).unwrap();
        assert!(
            again.migrated.is_empty() && again.failed.is_empty(),
            "{again:?}"
        );
    }
}
