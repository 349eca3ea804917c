//! INGEST-7/INGEST-8 at the library level: a second writer is refused; an import's events are
//! stored only when it commits; a rolled-back import leaves nothing, not even in the live streams'
//! integrity checks; import ids are never reused; stray files in `_staging/` stop nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::Arc;

use strata_catalog::Catalog;
use strata_core::config::{Config, DurabilityMode};
use strata_core::Profile;
use strata_ingest::{
    AppendOptions, Error, ImportEnd, ImportKey, ImportStart, ImportTally, Ledger, Writer,
    WriterOptions,
};
use strata_model::{Decimal, Event, Payload, Timestamp, Trade};

fn open(root: &Path, session: &str) -> Result<Writer, Error> {
    let mut config = Config::for_profile(Profile::LowLatency);
    config.durability.mode = DurabilityMode::PerBatch;
    let catalog = Arc::new(Catalog::open(root).unwrap());
    Writer::open(
        root,
        config,
        catalog,
        WriterOptions {
            session_id: Some(session.into()),
            ..WriterOptions::default()
        },
    )
}

fn trade(i: i64) -> Event {
    let mut e = Event::new(
        "s",
        "X",
        Timestamp::from_nanos(1_700_000_000_000_000_000 + i),
        Payload::Trade(Trade {
            price: Decimal::new(100 + i, 2).unwrap(),
            size: Decimal::from_int(1),
            side: None,
            trade_id: Some(i.to_string()),
            conditions: None,
        }),
    );
    e.sequence = Some(i as u64);
    e
}

fn stored(root: &Path) -> usize {
    strata_ingest::reader::hot_files(root)
        .unwrap()
        .iter()
        .map(|f| strata_ingest::reader::read_events(f).unwrap().len())
        .sum()
}

fn staged(id: strata_ingest::ImportId) -> AppendOptions {
    AppendOptions {
        import: Some(id),
        ..AppendOptions::default()
    }
}

#[test]
fn a_second_writer_in_the_same_process_is_refused_until_the_first_closes() {
    let dir = tempfile::tempdir().unwrap();
    let first = open(dir.path(), "one").unwrap();
    let err = open(dir.path(), "two").err().expect("refused");
    assert!(matches!(err, Error::Locked { .. }), "{err}");
    assert!(err.to_string().contains("session one"), "{err}");
    first.close().unwrap();
    open(dir.path(), "two").unwrap().close().unwrap();
}

#[test]
fn staged_events_are_stored_only_by_the_commit_and_once() {
    let dir = tempfile::tempdir().unwrap();
    let writer = open(dir.path(), "s").unwrap();
    let key = ImportKey::new("c0ffee", "v1;format=test");
    let ImportStart::Started(id) = writer.begin_import("in", Some(&key)).unwrap() else {
        panic!("a new input starts");
    };
    let events: Vec<Event> = (0..50).map(trade).collect();
    let outcome = writer.append_batch_with(&events, staged(id)).unwrap();
    assert_eq!(
        (outcome.accepted, outcome.last_ticket),
        (50, 0),
        "no ticket"
    );
    assert_eq!(stored(dir.path()), 0, "nothing in hot/ before the commit");
    let ImportEnd::Committed { events, .. } = writer
        .commit_import(id, &key, ImportTally::default())
        .unwrap()
    else {
        panic!("committed");
    };
    assert_eq!(events, 50);
    // The same key again is a no-op.
    let ImportStart::AlreadyImported(done) = writer.begin_import("in", Some(&key)).unwrap() else {
        panic!("already imported");
    };
    assert_eq!(done.events, 50);
    writer.close().unwrap();
    assert_eq!(stored(dir.path()), 50);
    assert!(Ledger::load(dir.path())
        .unwrap()
        .committed(&key.digest())
        .is_some());
}

#[test]
fn a_rolled_back_import_leaves_nothing_and_the_live_checks_as_they_were() {
    let dir = tempfile::tempdir().unwrap();
    let writer = open(dir.path(), "s").unwrap();
    assert_eq!(writer.append(&trade(1)).unwrap().accepted, 1);
    let ImportStart::Started(id) = writer.begin_import("in", None).unwrap() else {
        panic!("starts");
    };
    // The import's own checks: an event the live stream holds is no duplicate in it.
    let outcome = writer
        .append_batch_with(&[trade(1), trade(2)], staged(id))
        .unwrap();
    assert_eq!(outcome.accepted, 2);
    writer.abort_import(id, "test").unwrap();
    // The live stream still remembers event 1 (a replay is refused), and event 2 is new to it.
    assert_eq!(writer.append(&trade(1)).unwrap().rejected, 1);
    assert_eq!(writer.append(&trade(2)).unwrap().accepted, 1);
    let report = writer.close().unwrap();
    assert_eq!(report.imports_rolled_back.len(), 1);
    assert_eq!(stored(dir.path()), 2);
    assert!(!dir.path().join("_staging/s-0001").exists());
}

#[test]
fn import_ids_are_never_reused_and_stray_staging_files_stop_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let key = ImportKey::new("aa", "v1");
    for round in 0..2 {
        let writer = open(dir.path(), "daily").unwrap();
        let ImportStart::Started(id) = writer.begin_import("in", None).unwrap() else {
            panic!("starts");
        };
        writer
            .append_batch_with(&[trade(10 + round)], staged(id))
            .unwrap();
        if round == 0 {
            let other = ImportKey::new(format!("bb{round}"), "v1");
            writer
                .commit_import(id, &other, ImportTally::default())
                .unwrap();
            writer.close().unwrap();
        } else {
            // A crash before the commit: the staged import of the reused session id must be
            // rolled back, not mistaken for round 0's committed import.
            writer.abandon();
        }
    }
    std::fs::write(dir.path().join("_staging/stray.txt"), b"editor backup").unwrap();
    let writer = open(dir.path(), "daily").unwrap();
    let report = writer.report();
    assert!(
        report
            .recovery
            .iter()
            .any(|n| n.contains("rolled back unfinished import daily-0002")),
        "{:?}",
        report.recovery
    );
    assert!(report.recovery.iter().any(|n| n.contains("stray.txt")));
    writer.close().unwrap();
    assert_eq!(stored(dir.path()), 1, "only round 0's committed event");
    let ledger = Ledger::load(dir.path()).unwrap();
    assert!(ledger.knows("daily-0001") && ledger.knows("daily-0002"));
    assert!(ledger.committed(&key.digest()).is_none());
}

#[test]
fn only_the_files_a_commit_names_are_moved_into_place() {
    let dir = tempfile::tempdir().unwrap();
    let writer = open(dir.path(), "s").unwrap();
    let ImportStart::Started(id) = writer.begin_import("in", None).unwrap() else {
        panic!("starts");
    };
    writer.append_batch_with(&[trade(1)], staged(id)).unwrap();
    writer
        .commit_import(id, &ImportKey::new("aa", "v1"), ImportTally::default())
        .unwrap();
    writer.close().unwrap();
    // A file planted in a staging folder named after that committed import.
    let planted = dir
        .path()
        .join("_staging/s-0001/hot/FAKE/trade/2023-11-14_000001.jsonl");
    std::fs::create_dir_all(planted.parent().unwrap()).unwrap();
    std::fs::write(
        &planted,
        strata_model::jsonl::encode_line(&trade(99)).unwrap(),
    )
    .unwrap();
    let writer = open(dir.path(), "t").unwrap();
    writer.close().unwrap();
    assert!(
        !dir.path().join("hot/FAKE").exists(),
        "a planted file was published"
    );
    assert!(!dir.path().join("_staging/s-0001").exists());
    assert_eq!(stored(dir.path()), 1);
}

/// SESSION-2: an import committed in the ledger whose writer stopped before its files were
/// sealed — still staged, or already moved into `hot/` — is finished by the next writer, and its
/// files are sealed under the session that imported it (from the ledger), not the one that
/// finished it.
#[test]
fn a_committed_import_finished_by_the_next_writer_stays_its_sessions() {
    for published in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let writer = open(dir.path(), "s").unwrap();
        let ImportStart::Started(id) = writer.begin_import("in", None).unwrap() else {
            panic!("starts");
        };
        writer
            .append_batch_with(&[trade(1), trade(2)], staged(id))
            .unwrap();
        writer.flush().unwrap();
        // Stopped after the commit record: the record written by hand.
        writer.abandon();
        let staging = dir.path().join("_staging");
        let folder = std::fs::read_dir(&staging)
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        let import_id = folder.file_name().unwrap().to_string_lossy().into_owned();
        let files: Vec<String> = strata_ingest::reader::files_under(&folder)
            .unwrap()
            .iter()
            .map(|f| {
                f.strip_prefix(&folder)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/")
            })
            .collect();
        assert_eq!(files.len(), 1, "{files:?}");
        if published {
            // Moved into `hot/` (the commit's last step before sealing), not sealed.
            let to = dir.path().join(&files[0]);
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::rename(folder.join(&files[0]), &to).unwrap();
            std::fs::remove_dir_all(&folder).unwrap();
        }
        let commit = strata_ingest::imports::LedgerRecord::Commit {
            id: import_id.clone(),
            key: "k".into(),
            content_sha256: "0".repeat(64),
            settings: "v1".into(),
            input: "in".into(),
            session: "s".into(),
            at: "2026-12-05T00:00:00Z".into(),
            events: 2,
            rows: 2,
            rejected: 0,
            note: None,
            files,
        };
        let ledger = dir.path().join(strata_ingest::imports::LEDGER_FILE);
        let mut text = std::fs::read(&ledger).unwrap();
        text.extend(serde_json::to_vec(&commit).unwrap());
        text.push(b'\n');
        std::fs::write(&ledger, text).unwrap();

        let writer = open(dir.path(), "t").unwrap();
        let closed = writer.close().unwrap();
        assert!(
            published
                || closed
                    .recovery
                    .iter()
                    .any(|n| n.contains(&format!("finished committed import {import_id}"))),
            "{:?}",
            closed.recovery
        );
        assert!(
            closed
                .recovery
                .iter()
                .any(|n| n.contains("under session s, which wrote it")),
            "{:?}",
            closed.recovery
        );
        let files = Catalog::open(dir.path())
            .unwrap()
            .find(&strata_catalog::FileQuery::all())
            .unwrap();
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].stats.event_count, 2);
        assert_eq!(
            files[0].session_id.as_deref(),
            Some("s"),
            "published: {published}"
        );
    }
}
