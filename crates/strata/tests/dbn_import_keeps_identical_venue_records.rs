//! INGEST-4 / INGEST-6: a vendor file's identical records are distinct events, a live feed's are
//! replays. CME's MBO feed (as Databento records it) fills one resting order several times in one
//! match event with byte-identical records; importing the file keeps every one of them, while the
//! same events appended as a live feed are refused as duplicates (the writer's default).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use strata::archive::Archive;
use strata::config::Config;
use strata::import::{Format, ImportOptions};
use strata::ingest::{reader, WriterOptions};
use strata::model::{BookAction, Event, Payload};

/// Records 33,680..33,700 of the ESH4 MBO file of 2023-12-25 (see `testdata/README.md`).
fn cut() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/databento/esh4-glbx-mdp3-20231225.mbo.records33680-33699.dbn.zst")
}

fn stored(root: &std::path::Path) -> Vec<Event> {
    let mut events = Vec::new();
    for path in reader::hot_files(root).unwrap() {
        events.extend(reader::read_events(&path).unwrap());
    }
    events
}

/// Fills of resting order 6412776637223 in match event (sequence) 28915.
fn fills_of_the_resting_ask(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter(|e| e.sequence == Some(28915))
        .filter_map(|e| match &e.payload {
            Payload::OrderBookDelta(d)
                if d.action == BookAction::Execute && d.order_id == Some(6_412_776_637_223) =>
            {
                d.size.map(|s| s.to_string())
            }
            _ => None,
        })
        .collect()
}

#[test]
fn importing_the_file_keeps_every_record_a_live_append_refuses_the_repeats() {
    let dir = tempfile::tempdir().unwrap();
    let archive = Archive::open(dir.path(), Config::default()).unwrap();
    let writer = archive.writer(WriterOptions::default()).unwrap();
    let import = archive
        .import_file(
            &writer,
            &cut(),
            Format::Dbn,
            &ImportOptions::default(),
            &mut |_| {},
        )
        .unwrap();
    let report = writer.close().unwrap();
    // 20 records, none of them action N: 20 events, none refused.
    assert_eq!(import.summary.rows, 20);
    assert_eq!((import.accepted, import.refused), (20, 0));
    assert_eq!((report.events, report.rejected), (20, 0));
    let events = stored(dir.path());
    assert_eq!(events.len(), 20);
    // Four buyers fill the resting ask for 1, 1, 4 and 1 lots: three fill records are identical.
    assert_eq!(fills_of_the_resting_ask(&events), ["1", "1", "4", "1"]);
    let trades = events
        .iter()
        .filter(|e| e.sequence == Some(28915) && matches!(e.payload, Payload::Trade(_)))
        .count();
    assert_eq!(trades, 4);

    // The same events as a live feed: identical ones are replays and go to the quarantine.
    let live = tempfile::tempdir().unwrap();
    let archive = Archive::open(live.path(), Config::default()).unwrap();
    let writer = archive.writer(WriterOptions::default()).unwrap();
    let outcome = writer.append_batch(&events).unwrap();
    let report = writer.close().unwrap();
    assert_eq!((outcome.accepted, outcome.rejected), (16, 4));
    assert_eq!(report.rejected_by_reason.get("duplicate"), Some(&4));
    assert_eq!(fills_of_the_resting_ask(&stored(live.path())), ["1", "4"]);
}
