//! SESSION-2: a file consolidated from several writer sessions' files records which of its rows
//! each session wrote, so that a session's query, export and verification still find exactly
//! its events — in warm JSONL and cold Parquet, written in memory or in two passes, and again
//! after the mixed file itself moves on to a colder tier.
//!
//! Three sessions write interleaved trades of the same four hours (every third trade each), so
//! their hot files overlap in time and every consolidated file holds rows of all three, in
//! runs of a row or a few.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use strata::archive::Archive;
use strata::catalog::{FileManifest, FileQuery};
use strata::ingest::WriterOptions;
use strata::model::{Event, Payload, Timestamp, Trade};
use strata::policy::TierName;
use strata::query::Query;

const SESSIONS: [&str; 3] = ["capture-a", "capture-b", "capture-c"];

/// 4 hours of trades in time order, 1,500 an hour, with distinct times.
fn trades() -> Vec<Event> {
    trades_from(1_381_150_800_000_000_000) // 2013-10-07 13:00 UTC
}

/// [`trades`] from `start` (ns).
fn trades_from(start: i64) -> Vec<Event> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut ts = start;
    (0..6_000u64)
        .map(|i| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            ts += 1 + (state % 4_800_000_000) as i64;
            let mut e = Event::new(
                "lean",
                "SPY",
                Timestamp::from_nanos(ts),
                Payload::Trade(Trade {
                    price: format!("169.{:02}", state % 100).parse().unwrap(),
                    size: format!("{}", 1 + state % 900).parse().unwrap(),
                    side: None,
                    trade_id: Some(format!("t{i}")),
                    conditions: None,
                }),
            );
            e.sequence = Some(i);
            e
        })
        .collect()
}

/// Session `k`'s events: every third trade.
fn of_session(events: &[Event], k: usize) -> Vec<Event> {
    events.iter().skip(k).step_by(3).cloned().collect()
}

/// A query of every event of session `id`.
fn session_query(id: &str) -> Query {
    Query {
        session: Some(id.to_string()),
        ..Query::default()
    }
}

/// Each of [`SESSIONS`] writes its share of `events` ([`of_session`]) and closes.
fn write_sessions(archive: &Archive, events: &[Event]) {
    for (k, id) in SESSIONS.iter().enumerate() {
        let writer = archive
            .writer(WriterOptions {
                session_id: Some((*id).to_string()),
                ..WriterOptions::default()
            })
            .unwrap();
        writer.append_batch(&of_session(events, k)).unwrap();
        writer.close().unwrap();
    }
}

fn write_config(dir: &Path, in_memory_events: u64) {
    std::fs::write(
        dir.join("strata.toml"),
        format!(
            "[layout]\ngranularity = \"hourly\"\n\n[storage]\nmax_file_bytes = 16384\n\n\
             [lifecycle]\nenabled = true\nin_memory_events = {in_memory_events}\n\n\
             [tiers.warm]\nconsolidate = \"daily\"\n\n[tiers.cold]\nconsolidate = \"monthly\"\n"
        ),
    )
    .unwrap();
}

/// Runs the lifecycle at `now`; every file then is in `tier`, and is returned.
fn run(archive: &Archive, now: &str, tier: TierName) -> Vec<FileManifest> {
    let report = archive
        .lifecycle_run(Timestamp::parse_flexible(now).unwrap(), |_, _| {})
        .unwrap();
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    let files = archive.catalog().find(&FileQuery::all()).unwrap();
    assert!(
        files.iter().all(|m| m.tier == tier),
        "{:?}",
        files.iter().map(|m| &m.path).collect::<Vec<_>>()
    );
    files
}

/// Each session's query gives exactly its events, in time order; each session verifies with
/// nothing to explain; the mixed files name every session's share.
fn each_session_reads_back(archive: &Archive, events: &[Event], files: &[FileManifest]) {
    assert_eq!(files.len(), 1, "one file of the day or the month");
    let m = &files[0];
    assert_eq!(m.session_id, None, "{}", m.path);
    let ids: Vec<&str> = m.sessions.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, SESSIONS, "{}", m.path);
    for share in &m.sessions {
        assert_eq!(share.events, 2_000);
        // Interleaved: runs of a row or a few.
        assert!(share.rows.len() > 100, "{} runs", share.rows.len());
    }
    let engine = archive.query_engine().unwrap();
    for (k, id) in SESSIONS.iter().enumerate() {
        let query = session_query(id);
        let got: Vec<Event> = engine.run(&query).unwrap().map(Result::unwrap).collect();
        assert_eq!(got, of_session(events, k), "{id} from {}", m.path);
        // A slice of it: the session's rows and the time range together.
        let (from, to) = (got[300].event_time, got[900].event_time);
        let slice: Vec<Event> = engine
            .run(&query.clone().between(Some(from), Some(to)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(slice, got[300..900].to_vec(), "{id} sliced");
        let check = strata::query::sessions::verify(&engine, id).unwrap();
        assert!(check.problems.is_empty(), "{id}: {:?}", check.problems);
        assert_eq!(check.files, 1, "{id}");
        assert_eq!((check.events, check.reported), (2_000, 2_000), "{id}");
        assert!(
            check.notes.iter().all(|n| !n.contains("consolidated")),
            "{id}: {:?}",
            check.notes
        );
    }
    // Without a session: every event once, in order.
    let all: Vec<Event> = engine
        .run(&Query::default())
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(all, events);
    // The columnar form of a session's query reads its rows through the merge.
    let batches = engine
        .batches(&Query {
            session: Some(SESSIONS[1].to_string()),
            kinds: vec![strata::model::EventKind::Trade],
            ..Query::default()
        })
        .unwrap();
    let mut rows = 0;
    for batch in batches {
        rows += batch.unwrap().num_rows();
    }
    assert_eq!(rows, 2_000);
}

fn sessions_survive_consolidation(in_memory_events: u64) {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), in_memory_events);
    let archive = Archive::builder(dir.path()).open().unwrap();
    let events = trades();
    write_sessions(&archive, &events);
    let hot = archive.catalog().find(&FileQuery::all()).unwrap();
    assert!(hot.len() >= 12, "{} hot files", hot.len());
    // Hot → warm: the day's files of three sessions in one zstd JSONL file.
    let warm = run(&archive, "2013-10-12T00:00:00Z", TierName::Warm);
    each_session_reads_back(&archive, &events, &warm);
    // Warm → cold: the mixed file itself becomes the month's Parquet file, its rows re-sorted.
    let cold = run(&archive, "2013-12-15T00:00:00Z", TierName::Cold);
    each_session_reads_back(&archive, &events, &cold);
    let verify = archive.verify(true).unwrap();
    assert!(verify.is_ok(), "{verify:?}");
}

/// Hot files of three sessions straight into the month's cold Parquet file, in two passes
/// (the rows' sessions noted as they are written).
#[test]
fn consolidated_into_parquet_in_two_passes_each_session_keeps_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), 0);
    let archive = Archive::builder(dir.path()).open().unwrap();
    let events = trades();
    write_sessions(&archive, &events);
    let cold = run(&archive, "2013-12-15T00:00:00Z", TierName::Cold);
    each_session_reads_back(&archive, &events, &cold);
}

#[test]
fn consolidated_in_memory_each_session_keeps_its_rows() {
    sessions_survive_consolidation(1_000_000);
}

#[test]
fn consolidated_in_two_passes_each_session_keeps_its_rows() {
    sessions_survive_consolidation(0);
}

/// A file an older build consolidated (no session rows) consolidated again with one that has
/// them: the sessions' rows of the second are kept, and `verify` explains what the first holds
/// of each session with a note, not a problem.
#[test]
fn rows_of_no_known_session_are_noted_not_counted_missing() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), 1_000_000);
    let archive = Archive::builder(dir.path()).open().unwrap();
    let day = 86_400_000_000_000i64;
    let mut events = trades();
    events.extend(trades_from(1_381_150_800_000_000_000 + day));
    write_sessions(&archive, &events);
    let warm = run(&archive, "2013-10-12T00:00:00Z", TierName::Warm);
    assert_eq!(warm.len(), 2, "a file a day");
    // What an older build wrote for the first day: no session rows.
    let mut old = warm
        .into_iter()
        .find(|m| m.path.contains("2013-10-07"))
        .unwrap();
    old.sessions.clear();
    strata::catalog::write_sidecar(archive.root(), &old).unwrap();
    archive.catalog().register(&old).unwrap();
    let cold = run(&archive, "2013-12-15T00:00:00Z", TierName::Cold);
    assert_eq!(cold.len(), 1, "the month's file");
    let shares: u64 = cold[0].sessions.iter().map(|s| s.events).sum();
    assert_eq!(shares, 6_000, "the second day's rows");
    assert_eq!(cold[0].stats.event_count, 12_000);
    let engine = archive.query_engine().unwrap();
    for (k, id) in SESSIONS.iter().enumerate() {
        let query = session_query(id);
        let got: Vec<Event> = engine.run(&query).unwrap().map(Result::unwrap).collect();
        assert_eq!(got, of_session(&events, k)[2_000..].to_vec(), "{id}");
        let check = strata::query::sessions::verify(&engine, id).unwrap();
        assert!(check.problems.is_empty(), "{id}: {:?}", check.problems);
        assert!(
            check.notes.iter().any(|n| n.contains("older build")),
            "{id}: {:?}",
            check.notes
        );
    }
}

/// A session's query sees its segments not sealed yet (a writer still open lists them), and
/// another session's query does not.
#[test]
fn a_sessions_unsealed_segments_are_its_own() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), 1_000_000);
    let archive = Archive::builder(dir.path()).open().unwrap();
    let events = trades();
    let writer = archive
        .writer(WriterOptions {
            session_id: Some(SESSIONS[0].to_string()),
            ..WriterOptions::default()
        })
        .unwrap();
    writer.append_batch(&events[..300]).unwrap();
    writer.flush().unwrap();
    let unsealed = strata::ingest::reader::hot_files(archive.root())
        .unwrap()
        .iter()
        .filter(|p| p.to_string_lossy().ends_with(".jsonl"))
        .count();
    assert!(unsealed > 0, "a segment still open");
    let engine = archive.query_engine().unwrap();
    let of = |id: &str| -> Vec<Event> {
        engine
            .run(&session_query(id))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    assert_eq!(of(SESSIONS[0]), events[..300].to_vec());
    assert!(of(SESSIONS[1]).is_empty());
    writer.close().unwrap();
    assert_eq!(of(SESSIONS[0]), events[..300].to_vec());
}
