//! INGEST-5: sealing reads each file once, refuses a file whose bytes differ from what was
//! written, runs on the writer's background thread, and reports its failures without losing data.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::Arc;

use strata_catalog::{Catalog, FileQuery, StatsAccumulator};
use strata_codec::CodecSpec;
use strata_core::config::{Config, DurabilityMode};
use strata_core::layout::PartitionKey;
use strata_core::Profile;
use strata_ingest::seal::{seal_file, ContentCheck, SealContext, SealJob, SealReason, Sealed};
use strata_ingest::session::SessionReport;
use strata_ingest::{reader, Error, Writer, WriterOptions};
use strata_model::{jsonl, Decimal, Event, Payload, Timestamp, Trade};

const HOUR: i64 = 3_600_000_000_000;
/// 2023-11-14 22:00:00 UTC, the start of an hour.
const T0: i64 = 1_699_999_200_000_000_000;

fn trade(i: i64, at: i64) -> Event {
    let mut e = Event::new(
        "test",
        "SPY",
        Timestamp::from_nanos(at),
        Payload::Trade(Trade {
            price: Decimal::new(4_000_000 + i, 4).unwrap(),
            size: Decimal::new(100, 0).unwrap(),
            side: None,
            trade_id: None,
            conditions: None,
        }),
    );
    e.sequence = Some(i as u64 + 1);
    e
}

/// A plain segment of `n` trades in the first hour, as the writer would leave it, and the job
/// that seals it.
fn plain_segment(root: &Path, n: i64) -> SealJob {
    let rel = "hot/test/SPY_000001.jsonl".to_string();
    let path = root.join(&rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut bytes = Vec::new();
    let mut stats = StatsAccumulator::new();
    for i in 0..n {
        let e = trade(i, T0 + i);
        jsonl::encode_into(&e, &mut bytes).unwrap();
        stats.add(&e);
    }
    std::fs::write(&path, &bytes).unwrap();
    SealJob {
        path,
        rel,
        partition: PartitionKey::default(),
        stats,
        content: ContentCheck::of(&bytes),
        reason: SealReason::Size,
    }
}

/// Seals `job` with manifests and checksums on, compressing with `codec` unless it is none.
fn seal(root: &Path, catalog: &Catalog, codec: CodecSpec, job: SealJob) -> Result<Sealed, Error> {
    let ctx = SealContext {
        root,
        compress: (codec != CodecSpec::None).then_some(codec),
        manifests: true,
        checksums: true,
        catalog,
        session_id: "s",
    };
    seal_file(&ctx, job)
}

const CODECS: [CodecSpec; 3] = [
    CodecSpec::None,
    CodecSpec::Lz4,
    CodecSpec::Zstd {
        level: 3,
        long: false,
    },
];

#[test]
fn a_sealed_file_is_hashed_as_stored_and_listed_everywhere() {
    for codec in CODECS {
        let dir = tempfile::tempdir().unwrap();
        let catalog = Catalog::open(dir.path()).unwrap();
        let job = plain_segment(dir.path(), 500);
        let path = job.path.clone();
        let sealed = seal(dir.path(), &catalog, codec, job).unwrap();
        let stored = std::fs::read(&sealed.path).unwrap();
        assert_eq!(
            sealed.manifest.sha256,
            strata_catalog::sha256_bytes(&stored),
            "{codec}"
        );
        assert_eq!(sealed.manifest.size_bytes, stored.len() as u64, "{codec}");
        assert_eq!(sealed.manifest.stats.event_count, 500, "{codec}");
        assert_eq!(
            path.exists(),
            codec == CodecSpec::None,
            "{codec}: plain segment kept only uncompressed"
        );
        let listed =
            std::fs::read_to_string(path.parent().unwrap().join("checksums.sha256")).unwrap();
        let name = sealed
            .path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert_eq!(
            listed,
            format!("{}  {name}\n", sealed.manifest.sha256),
            "{codec}"
        );
        assert_eq!(
            catalog.find(&FileQuery::all()).unwrap(),
            vec![sealed.manifest.clone()]
        );
        assert_eq!(
            reader::read_events(&sealed.path).unwrap().len(),
            500,
            "{codec}"
        );
    }
}

#[test]
fn a_file_that_differs_from_what_was_written_is_not_sealed() {
    for codec in CODECS {
        // One flipped byte, and one lost tail (same XXH3 would need a collision).
        for damage in ["flip", "truncate"] {
            let dir = tempfile::tempdir().unwrap();
            let catalog = Catalog::open(dir.path()).unwrap();
            let job = plain_segment(dir.path(), 500);
            let (path, content) = (job.path.clone(), job.content);
            let mut bytes = std::fs::read(&path).unwrap();
            match damage {
                "flip" => bytes[1234] ^= 0x20,
                _ => bytes.truncate(bytes.len() - 10),
            }
            std::fs::write(&path, &bytes).unwrap();
            let err = seal(dir.path(), &catalog, codec, job).unwrap_err();
            let Error::Corrupt {
                path: bad,
                expected,
                actual,
            } = &err
            else {
                panic!("{codec} {damage}: expected Corrupt, got {err}");
            };
            assert_eq!(bad, &path);
            assert_eq!(*expected, content);
            assert_eq!(*actual, ContentCheck::of(&bytes));
            let message = err.to_string();
            assert!(
                message.contains("SPY_000001.jsonl") && message.contains("not sealed"),
                "{message}"
            );
            // Nothing says "sealed": no sidecar, no checksum line, no catalog entry, no
            // compressed copy or temporary file; the plain segment is still there.
            let folder = path.parent().unwrap();
            let mut names: Vec<String> = std::fs::read_dir(folder)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            assert_eq!(
                names,
                vec!["SPY_000001.jsonl".to_string()],
                "{codec} {damage}"
            );
            assert!(catalog.find(&FileQuery::all()).unwrap().is_empty());
        }
    }
}

fn open_writer(root: &Path) -> Writer {
    let mut config = Config::for_profile(Profile::LowLatency);
    config.durability.mode = DurabilityMode::GroupCommit;
    let catalog = Arc::new(Catalog::open(root).unwrap());
    Writer::open(root, config, catalog, WriterOptions::default()).unwrap()
}

/// Events of hours 0..hours, `per_hour` each.
fn hours(hours: i64, per_hour: i64) -> Vec<Event> {
    (0..hours * per_hour)
        .map(|i| trade(i, T0 + (i / per_hour) * HOUR + i % per_hour))
        .collect()
}

#[test]
fn wait_sealed_makes_boundary_seals_visible_before_close() {
    let dir = tempfile::tempdir().unwrap();
    let writer = open_writer(dir.path());
    writer.append_batch(&hours(4, 1000)).unwrap();
    writer.wait_sealed().unwrap();
    assert_eq!(writer.seal_backlog(), 0);
    let catalog = Catalog::open(dir.path()).unwrap();
    let files = catalog.find(&FileQuery::all()).unwrap();
    assert_eq!(
        files.len(),
        3,
        "hours 0..3 sealed at their boundary, hour 3 still open"
    );
    assert!(files.iter().all(|m| m.seal_reason == "partition_boundary"));
    let report = writer.report();
    assert_eq!((report.files_sealed, report.files_verified), (3, 3));
    let report = writer.close().unwrap();
    assert_eq!((report.files_sealed, report.files_verified), (4, 4));
    assert!(report.seal_failures.is_empty());
    assert_eq!(
        Catalog::open(dir.path())
            .unwrap()
            .find(&FileQuery::all())
            .unwrap()
            .len(),
        4
    );
}

#[test]
fn a_seal_whose_listing_fails_is_sealed_reported_and_finished_by_the_next_open() {
    let dir = tempfile::tempdir().unwrap();
    let writer = open_writer(dir.path());
    let events = hours(3, 500);
    writer.append_batch(&events[..500]).unwrap();
    writer.flush().unwrap();
    // Every segment of this test lands in one folder; a folder named `checksums.sha256` in it
    // makes step 4 (the checksum line) of every seal there fail — after the sidecar, so each
    // file is sealed and the rest of its steps still run.
    let hot = reader::hot_files(dir.path()).unwrap();
    assert_eq!(hot.len(), 1);
    let folder = hot[0].parent().unwrap().to_path_buf();
    let blocker = folder.join("checksums.sha256");
    std::fs::create_dir(&blocker).unwrap();

    writer.append_batch(&events[500..]).unwrap();
    let err = writer.wait_sealed().unwrap_err();
    let Error::Seal { count, first } = &err else {
        panic!("expected Seal, got {err}")
    };
    assert_eq!(*count, 2, "hours 0 and 1 sealed at their boundaries: {err}");
    assert!(matches!(**first, Error::SealUnfinished { .. }), "{first}");
    assert!(first.to_string().contains("checksums.sha256"), "{first}");
    // Returned once; the report keeps them.
    writer.wait_sealed().unwrap();
    let report = writer.report();
    assert_eq!((report.seal_failures.len(), report.files_sealed), (2, 2));
    let catalog = Catalog::open(dir.path()).unwrap();
    assert_eq!(
        catalog.find(&FileQuery::all()).unwrap().len(),
        2,
        "indexed all the same"
    );

    // The seal at close ends the same way: close writes the report, then says so.
    let err = writer.close().unwrap_err();
    assert!(matches!(err, Error::Seal { count: 1, .. }), "{err}");
    let mut reports = SessionReport::list(dir.path()).unwrap();
    assert_eq!(reports.len(), 1);
    let report = reports.pop().unwrap().unwrap();
    assert_eq!(report.seal_failures.len(), 3, "{:?}", report.seal_failures);
    assert_eq!((report.events, report.files_sealed), (1500, 3));

    // With the obstacle gone, the next open writes the missing checksum lines.
    std::fs::remove_dir(&blocker).unwrap();
    let writer = open_writer(dir.path());
    let report = writer.close().unwrap();
    assert!(report.seal_failures.is_empty());
    assert_eq!(catalog.find(&FileQuery::all()).unwrap().len(), 3);
    let mut stored: Vec<u64> = Vec::new();
    for path in reader::hot_files(dir.path()).unwrap() {
        stored.extend(
            reader::read_events(&path)
                .unwrap()
                .iter()
                .map(|e| e.sequence.unwrap()),
        );
    }
    stored.sort_unstable();
    assert_eq!(stored, (1..=1500).collect::<Vec<u64>>());
    let listed = std::fs::read_to_string(&blocker).unwrap();
    assert_eq!(listed.lines().count(), 3, "{listed}");
}

#[test]
fn bytes_changed_on_disk_after_the_writer_wrote_them_are_not_sealed() {
    let dir = tempfile::tempdir().unwrap();
    let writer = open_writer(dir.path());
    let events = hours(2, 500);
    writer.append_batch(&events[..500]).unwrap();
    writer.flush().unwrap();
    // Hour 0's bytes are with the OS; change one digit of one price behind the writer's back.
    let hot = reader::hot_files(dir.path()).unwrap();
    assert_eq!(hot.len(), 1);
    let mut bytes = std::fs::read(&hot[0]).unwrap();
    let key = b"\"price\":\"";
    let at = bytes.windows(key.len()).position(|w| w == key).unwrap() + key.len();
    assert!(bytes[at].is_ascii_digit());
    bytes[at] = if bytes[at] == b'9' {
        b'8'
    } else {
        bytes[at] + 1
    };
    std::fs::write(&hot[0], &bytes).unwrap();

    // Hour 1 seals hour 0, which no longer holds what was written.
    writer.append_batch(&events[500..]).unwrap();
    let err = writer.wait_sealed().unwrap_err();
    let Error::Seal { count: 1, first } = &err else {
        panic!("expected one Seal failure, got {err}")
    };
    let Error::Corrupt {
        path,
        expected,
        actual,
    } = &**first
    else {
        panic!("expected Corrupt, got {first}")
    };
    assert_eq!(path, &hot[0]);
    assert_eq!(expected.len, actual.len);
    assert_ne!(expected.xxh3, actual.xxh3);
    let catalog = Catalog::open(dir.path()).unwrap();
    assert!(catalog.find(&FileQuery::all()).unwrap().is_empty());
    assert!(!strata_catalog::sidecar_path_for(&hot[0]).exists());
    writer.abandon();
}
