//! TIER-4: a consolidation into Parquet too large to gather in memory
//! (`lifecycle.in_memory_events`) is written in two passes — plan, then stream the sources in
//! event-time order, overlapping sources together — and gives the very file the one-pass way
//! gives: the same events in the same order, the same statistics, nothing lost or twice.
//!
//! The hot files overlap in time on purpose: the events of each hour arrive shuffled and the
//! hour's file is cut every few KiB, so each segment spans most of its hour.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use strata::archive::Archive;
use strata::catalog::{FileManifest, FileQuery};
use strata::columnar::{read_events, EventDigest};
use strata::ingest::WriterOptions;
use strata::model::{Event, Payload, Timestamp, Trade};
use strata::policy::TierName;

/// 4 hours of trades, the first three hours' shuffled (their files overlap), the last's in
/// order (its files follow each other), with prices at scales 2 and 4 (a per-row scale column)
/// and an odd size now and then.
fn trades() -> Vec<Event> {
    let start = 1_381_150_800_000_000_000i64; // 2013-10-07 13:00 UTC
    let hour = 3_600_000_000_000i64;
    let mut events = Vec::new();
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for h in 0..4 {
        let mut hour_events = Vec::new();
        for i in 0..1500u64 {
            let ts = start + h * hour + (next() % hour as u64) as i64;
            let price = if i % 7 == 0 {
                format!("169.{:04}", next() % 10_000)
            } else {
                format!("169.{:02}", next() % 100)
            };
            let size = if i % 97 == 0 {
                "0.5".to_string()
            } else {
                format!("{}", 1 + next() % 900)
            };
            let mut e = Event::new(
                "lean",
                "SPY",
                Timestamp::from_nanos(ts),
                Payload::Trade(Trade {
                    price: price.parse().unwrap(),
                    size: size.parse().unwrap(),
                    side: None,
                    trade_id: Some(format!("t{h}-{i}")),
                    conditions: None,
                }),
            );
            e.sequence = Some(h as u64 * 10_000 + i);
            hour_events.push(e);
        }
        if h == 3 {
            hour_events.sort_by_key(|e| e.event_time);
        }
        events.extend(hour_events);
    }
    events
}

/// Where the test consolidates: the cold tier (Parquet) monthly at 2013-12-15, or the warm
/// tier (zstd JSONL) daily at 2013-10-12.
#[derive(Clone, Copy)]
enum Into {
    ColdParquet,
    WarmJsonl,
}

/// An archive of `events` in hourly hot files cut every 16 KiB, consolidated as `into` says,
/// with `in_memory_events` set; returns the archive and its files.
fn consolidated(
    dir: &Path,
    events: &[Event],
    into: Into,
    in_memory_events: u64,
) -> (Archive, Vec<FileManifest>) {
    let (tier, period, now, tier_name) = match into {
        Into::ColdParquet => ("cold", "monthly", "2013-12-15T00:00:00Z", TierName::Cold),
        Into::WarmJsonl => ("warm", "daily", "2013-10-12T00:00:00Z", TierName::Warm),
    };
    std::fs::write(
        dir.join("strata.toml"),
        format!(
            "[layout]\ngranularity = \"hourly\"\n\n[storage]\nmax_file_bytes = 16384\n\n\
             [lifecycle]\nenabled = true\nin_memory_events = {in_memory_events}\n\n\
             [tiers.{tier}]\nconsolidate = \"{period}\"\n"
        ),
    )
    .unwrap();
    let archive = Archive::builder(dir).open().unwrap();
    let writer = archive.writer(WriterOptions::default()).unwrap();
    writer.append_batch(events).unwrap();
    writer.close().unwrap();
    let hot = archive.catalog().find(&FileQuery::all()).unwrap();
    assert!(hot.len() >= 12, "{} hot files", hot.len());
    let overlapping = hot.iter().enumerate().any(|(i, a)| {
        hot[i + 1..].iter().any(|b| {
            a.stats.first_event_time <= b.stats.last_event_time
                && b.stats.first_event_time <= a.stats.last_event_time
        })
    });
    assert!(overlapping, "hot files that overlap in time");
    let report = archive
        .lifecycle_run(Timestamp::parse_flexible(now).unwrap(), |_, _| {})
        .unwrap();
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    let files = archive.catalog().find(&FileQuery::all()).unwrap();
    assert!(
        files.iter().all(|m| m.tier == tier_name),
        "{:?}",
        files.iter().map(|m| &m.path).collect::<Vec<_>>()
    );
    (archive, files)
}

/// A file's events, as its tier holds them.
fn read(archive: &Archive, m: &FileManifest) -> Vec<Event> {
    let bytes = std::fs::read(archive.root().join(&m.path)).unwrap();
    if m.path.ends_with(".parquet") {
        let (meta, events) = read_events(bytes::Bytes::from(bytes)).unwrap();
        assert_eq!(meta.digest, EventDigest::of(&events));
        events
    } else {
        let plain = strata::codec::decompress(&bytes).unwrap();
        plain
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| strata::model::jsonl::decode_line(l).unwrap())
            .collect()
    }
}

#[test]
fn two_passes_write_what_one_pass_writes_in_parquet() {
    same_either_way(Into::ColdParquet);
}

#[test]
fn two_passes_write_what_one_pass_writes_in_jsonl() {
    same_either_way(Into::WarmJsonl);
}

fn same_either_way(into: Into) {
    let events = trades();
    let digest = EventDigest::of(&events);
    let (one_dir, two_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (one, one_files) = consolidated(one_dir.path(), &events, into, 1_000_000);
    let (two, two_files) = consolidated(two_dir.path(), &events, into, 0);
    // 13:00–17:00 UTC of one day: one file of the day or of the month.
    assert_eq!(one_files.len(), 1);
    assert_eq!(two_files.len(), 1);
    let one_events = read(&one, &one_files[0]);
    let two_events = read(&two, &two_files[0]);
    // Every event once, in event-time order, and the two ways agree event for event (equal
    // times in the same order).
    assert_eq!(EventDigest::of(&one_events), digest);
    assert_eq!(EventDigest::of(&two_events), digest);
    assert!(two_events
        .windows(2)
        .all(|w| w[0].event_time <= w[1].event_time));
    assert_eq!(two_events, one_events);
    if let Into::WarmJsonl = into {
        // Line for line: both ways keep each source line as it was.
        let plain = |archive: &Archive, m: &FileManifest| {
            strata::codec::decompress(&std::fs::read(archive.root().join(&m.path)).unwrap())
                .unwrap()
        };
        assert!(plain(&one, &one_files[0]) == plain(&two, &two_files[0]));
    }
    assert_eq!(two_files[0].stats, one_files[0].stats);
    assert_eq!(two_files[0].path, one_files[0].path);
    // Its lineage names every hot segment.
    assert!(
        two_files[0].lineage.len() >= 12,
        "{:?}",
        two_files[0].lineage
    );
    // And the archive verifies.
    let verify = two.verify(true).unwrap();
    assert!(verify.is_ok(), "{verify:?}");
    assert_eq!(verify.events, events.len() as u64);
}
