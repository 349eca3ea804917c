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

/// Events by the session their catalogued files name.
fn by_session(root: &Path) -> std::collections::BTreeMap<String, u64> {
    let mut counts = std::collections::BTreeMap::new();
    for m in Catalog::open(root)
        .unwrap()
        .find(&FileQuery::all())
        .unwrap()
    {
        *counts.entry(m.session_id.unwrap_or_default()).or_insert(0) += m.stats.event_count;
    }
    counts
}

/// Opens session `id`, writes `events` durably and ends without `close()`, as a crash does.
fn crash(root: &Path, id: &str, events: &[Event]) {
    let writer = open(root, id, DurabilityMode::GroupCommit);
    writer.append_batch(events).unwrap();
    writer.flush().unwrap();
    writer.abandon();
}

/// Opens session `id`, writes `events` and closes it; its recovery notes.
fn recover_as(root: &Path, id: &str, events: &[Event]) -> Vec<String> {
    let writer = open(root, id, DurabilityMode::GroupCommit);
    writer.append_batch(events).unwrap();
    writer.close().unwrap().recovery
}

/// SESSION-2: the segments a crashed session left open are sealed by the next writer under the
/// session that opened them (its list, `segments.jsonl`, synced with them), not under the
/// recovering session, and what recovery cuts from them is quarantined under it too.
#[test]
fn segments_left_open_are_sealed_under_the_session_that_opened_them() {
    let dir = tempfile::tempdir().unwrap();
    crash(dir.path(), "a", &beats(0, 10));
    let list = SessionReport::segments_path(dir.path(), "a");
    let listed = std::fs::read_to_string(&list).unwrap();
    assert_eq!(listed.lines().count(), 1, "{listed}");
    // A line a crash cut short (nothing durable was in its segment) is passed over, and a torn
    // last line of the segment is cut into the quarantine.
    std::fs::write(&list, format!("{listed}\"hot/X/heartbeat/cut")).unwrap();
    let segment: String = serde_json::from_str(listed.trim()).unwrap();
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(dir.path().join(&segment))
        .unwrap();
    std::io::Write::write_all(&mut file, b"{\"v\":\"1.3\",\"kind\":").unwrap();

    let notes = recover_as(dir.path(), "b", &beats(10, 5));
    assert!(
        notes
            .iter()
            .any(|n| n.contains("left open by a crash, under session a, which wrote it")),
        "{notes:?}"
    );
    assert_eq!(
        by_session(dir.path()),
        [("a".to_string(), 10), ("b".to_string(), 5)].into()
    );
    let torn: Vec<serde_json::Value> = std::fs::read_dir(dir.path().join("_quarantine/torn"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap())
        .collect();
    assert_eq!(torn.len(), 1);
    assert_eq!(torn[0]["session"], "a");
}

/// A session already marked interrupted whose segment a recovery could not seal (it is tried
/// again at each open) keeps it: the lists of interrupted sessions are read too.
#[test]
fn a_segment_an_earlier_recovery_left_is_still_its_sessions() {
    let dir = tempfile::tempdir().unwrap();
    crash(dir.path(), "a", &beats(0, 7));
    // What a recovery that failed to seal the segment leaves: the session marked interrupted.
    let mut report = report(dir.path(), "a");
    report.state = SessionState::Interrupted;
    report.write(dir.path()).unwrap();
    recover_as(dir.path(), "b", &beats(7, 2));
    assert_eq!(
        by_session(dir.path()),
        [("a".to_string(), 7), ("b".to_string(), 2)].into()
    );
}

/// A list that is missing, a folder or a pipe never keeps the archive from opening (nor hangs
/// it): the segment is sealed under the recovering session, which says why.
#[test]
fn a_missing_or_odd_segment_list_falls_back_to_the_recovering_session() {
    let dir = tempfile::tempdir().unwrap();
    let mut total = 0;
    for (k, odd) in ["missing", "folder", "pipe"].into_iter().enumerate() {
        let (crashed, recovering) = (format!("{odd}-crashed"), format!("{odd}-recovering"));
        crash(dir.path(), &crashed, &beats(total, 3));
        total += 3;
        let list = SessionReport::segments_path(dir.path(), &crashed);
        std::fs::remove_file(&list).unwrap();
        match odd {
            "folder" => std::fs::create_dir(&list).unwrap(),
            "pipe" => {
                let made = std::process::Command::new("mkfifo").arg(&list).status();
                assert!(made.unwrap().success());
            }
            _ => {}
        }
        let notes = recover_as(dir.path(), &recovering, &[]);
        assert!(
            notes.iter().any(|n| n.contains(&format!(
                "under this session ({recovering}): no session listed it"
            ))),
            "{odd}: {notes:?}"
        );
        if k > 0 {
            assert!(
                notes.iter().any(|n| n.contains("not a regular file")),
                "{odd}: {notes:?}"
            );
        }
        assert_eq!(by_session(dir.path()).get(&recovering), Some(&3), "{odd}");
    }
}

/// Once recovery has sealed a session's segments its list is gone, so a later segment at the
/// same path (numbers restart once the old files have left `hot/`) is sealed under the session
/// that wrote it, not the old one.
#[test]
fn a_reused_segment_path_is_not_taken_for_an_old_sessions() {
    let dir = tempfile::tempdir().unwrap();
    crash(dir.path(), "z-old", &beats(0, 4));
    let listed =
        std::fs::read_to_string(SessionReport::segments_path(dir.path(), "z-old")).unwrap();
    let segment: String = serde_json::from_str(listed.trim()).unwrap();
    recover_as(dir.path(), "b", &[]);
    assert!(
        !SessionReport::segments_path(dir.path(), "z-old").exists(),
        "the list of a session whose segments are all sealed is removed"
    );
    // The sealed files leave `hot/` (as a migration takes them).
    std::fs::remove_dir_all(dir.path().join("hot")).unwrap();
    crash(dir.path(), "c-new", &beats(4, 3));
    let again = std::fs::read_to_string(SessionReport::segments_path(dir.path(), "c-new")).unwrap();
    assert_eq!(
        serde_json::from_str::<String>(again.trim()).unwrap(),
        segment,
        "the same path"
    );
    let notes = recover_as(dir.path(), "d", &[]);
    assert!(
        notes
            .iter()
            .any(|n| n.contains("(3 events) left open by a crash, under session c-new")),
        "{notes:?}"
    );
}
