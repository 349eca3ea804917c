//! SESSION-1: a session's report says where it is — `running` from the moment the writer opens
//! (with checkpoints of its counters), `closed` after `close()`, and `interrupted` once a later
//! writer finds it ended without `close()`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use strata_catalog::{Catalog, FileQuery};
use strata_core::config::{Config, DurabilityMode};
use strata_core::Profile;
use strata_ingest::session::{SessionReport, SessionState};
use strata_ingest::{Writer, WriterOptions};
use strata_model::{Event, Payload, Timestamp};

fn open(root: &Path, id: &str, mode: DurabilityMode) -> Writer {
    let mut config = Config::for_profile(Profile::LowLatency);
    config.durability.mode = mode;
    config.storage.max_file_age_secs = 1;
    let catalog = Arc::new(Catalog::open(root).unwrap());
    let options = WriterOptions {
        session_id: Some(id.into()),
        ..WriterOptions::default()
    };
    Writer::open(root, config, catalog, options).unwrap()
}

fn beats(from: i64, n: i64) -> Vec<Event> {
    (from..from + n)
        .map(|i| {
            Event::new(
                "s",
                "X",
                Timestamp::from_nanos(1_700_000_000_000_000_000 + i),
                Payload::Heartbeat,
            )
        })
        .collect()
}

fn report(root: &Path, id: &str) -> SessionReport {
    SessionReport::read(&SessionReport::path(root, id)).unwrap()
}

#[test]
fn running_then_closed() {
    let dir = tempfile::tempdir().unwrap();
    let writer = open(dir.path(), "a", DurabilityMode::GroupCommit);
    assert_eq!(report(dir.path(), "a").state, SessionState::Running);
    writer.append_batch(&beats(0, 10)).unwrap();
    writer.close().unwrap();
    let closed = report(dir.path(), "a");
    assert_eq!((closed.state, closed.events), (SessionState::Closed, 10));
    assert!(closed.checkpoint_at.is_empty() && !closed.finished_at.is_empty());
}

#[test]
fn a_session_that_ended_without_close_is_found_interrupted_with_its_last_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let writer = open(dir.path(), "a", DurabilityMode::GroupCommit);
    writer.append_batch(&beats(0, 10)).unwrap();
    writer.flush().unwrap();
    writer.checkpoint().unwrap();
    writer.append_batch(&beats(10, 5)).unwrap();
    writer.flush().unwrap();
    writer.abandon(); // what a crash does: no close(), no final report

    let crashed = report(dir.path(), "a");
    assert_eq!(crashed.state, SessionState::Running);
    assert_eq!(crashed.events, 10, "the counters of the last checkpoint");
    assert!(!crashed.checkpoint_at.is_empty());

    let writer = open(dir.path(), "b", DurabilityMode::GroupCommit);
    let found = report(dir.path(), "a");
    assert_eq!(found.state, SessionState::Interrupted);
    assert_eq!(found.interruption.len(), 1);
    assert!(
        found.interruption[0].contains("found by session b")
            && found.interruption[0].contains("sealed"),
        "{:?}",
        found.interruption
    );
    let closed = writer.close().unwrap();
    assert!(
        closed
            .recovery
            .iter()
            .any(|n| n == "session a ended without close(): marked interrupted"),
        "{:?}",
        closed.recovery
    );
    // Found once: a third session leaves it as it is.
    let writer = open(dir.path(), "c", DurabilityMode::GroupCommit);
    writer.close().unwrap();
    assert_eq!(report(dir.path(), "a").interruption.len(), 1);
    let states: Vec<(String, SessionState)> = SessionReport::list(dir.path())
        .unwrap()
        .into_iter()
        .map(|r| r.unwrap())
        .map(|r| (r.id, r.state))
        .collect();
    assert_eq!(
        states,
        [
            ("a".to_string(), SessionState::Interrupted),
            ("b".to_string(), SessionState::Closed),
            ("c".to_string(), SessionState::Closed),
        ]
    );
}

#[test]
fn reports_written_before_states_existed_read_as_closed() {
    let old = r#"{"id":"x","tags":[],"started_at":"","finished_at":"","duration_ms":0,"events":3,
        "by_symbol":{},"by_kind":{},"by_source":{},"rejected":0,"rejected_by_reason":{},
        "skipped":0,"gaps":[],"gap_count":0,"bytes_written":0,"files_sealed":0,"bytes_sealed":0,
        "files_verified":0,"quota_signals":[],"recovery":[]}"#;
    let report: SessionReport = serde_json::from_str(old).unwrap();
    assert_eq!((report.state, report.events), (SessionState::Closed, 3));
}

#[test]
fn per_batch_writers_seal_aged_segments_too() {
    let dir = tempfile::tempdir().unwrap();
    let writer = open(dir.path(), "a", DurabilityMode::PerBatch);
    writer.append_batch(&beats(0, 10)).unwrap();
    // max_file_age_secs = 1; the background thread checks once a second.
    let catalog = Catalog::open(dir.path()).unwrap();
    let mut sealed = Vec::new();
    for _ in 0..100 {
        std::thread::sleep(Duration::from_millis(50));
        writer.wait_sealed().unwrap();
        sealed = catalog.find(&FileQuery::all()).unwrap();
        if !sealed.is_empty() {
            break;
        }
    }
    assert_eq!(sealed.len(), 1, "sealed for age within 5 s");
    assert_eq!(sealed[0].seal_reason, "age");
    writer.close().unwrap();
}

#[test]
fn state_names_are_the_serialized_names() {
    for state in [
        SessionState::Running,
        SessionState::Closed,
        SessionState::Interrupted,
    ] {
        assert_eq!(serde_json::to_value(state).unwrap(), state.as_str());
    }
}

/// SESSION-2: the segments a crashed session left open are sealed by the next writer under the
/// session that opened them (its list, `segments.jsonl`, synced with them), not under the
/// recovering session; a segment no session listed (an older build's) falls back to it.
#[test]
fn segments_left_open_are_sealed_under_the_session_that_opened_them() {
    let dir = tempfile::tempdir().unwrap();
    let by_session = |root: &Path| {
        let mut counts = std::collections::BTreeMap::new();
        for m in Catalog::open(root)
            .unwrap()
            .find(&FileQuery::all())
            .unwrap()
        {
            *counts.entry(m.session_id.unwrap_or_default()).or_insert(0) += m.stats.event_count;
        }
        counts
    };
    let writer = open(dir.path(), "a", DurabilityMode::GroupCommit);
    writer.append_batch(&beats(0, 10)).unwrap();
    writer.flush().unwrap();
    writer.abandon();
    let listed = std::fs::read_to_string(SessionReport::segments_path(dir.path(), "a")).unwrap();
    assert_eq!(listed.lines().count(), 1, "{listed}");
    // A line a crash cut short (nothing durable was in its segment) is passed over.
    std::fs::write(
        SessionReport::segments_path(dir.path(), "a"),
        format!("{listed}\"hot/X/heartbeat/cut"),
    )
    .unwrap();

    let writer = open(dir.path(), "b", DurabilityMode::GroupCommit);
    writer.append_batch(&beats(10, 5)).unwrap();
    let closed = writer.close().unwrap();
    assert!(
        closed
            .recovery
            .iter()
            .any(|n| n.contains("left open by a crash, under session a, which opened it")),
        "{:?}",
        closed.recovery
    );
    assert_eq!(
        by_session(dir.path()),
        [("a".to_string(), 10), ("b".to_string(), 5)].into()
    );

    // A session that listed nothing (as before sessions listed their segments): its segment
    // is sealed under the recovering session, which says so.
    let writer = open(dir.path(), "c", DurabilityMode::GroupCommit);
    writer.append_batch(&beats(15, 3)).unwrap();
    writer.flush().unwrap();
    writer.abandon();
    std::fs::remove_file(SessionReport::segments_path(dir.path(), "c")).unwrap();
    let writer = open(dir.path(), "d", DurabilityMode::GroupCommit);
    let closed = writer.close().unwrap();
    assert!(
        closed
            .recovery
            .iter()
            .any(|n| n.contains("under this session (d): no session listed it")),
        "{:?}",
        closed.recovery
    );
    assert_eq!(
        by_session(dir.path()),
        [
            ("a".to_string(), 10),
            ("b".to_string(), 5),
            ("d".to_string(), 3)
        ]
        .into()
    );
}
