//! A write over a `soft_limit` or `drop_oldest` quota starts the cleanup at once (QUOTA-2): the
//! writer keeps writing, the lifecycle plan's quota deletions are carried out on a thread of the
//! archive's, audited, and taken off the writer's quotas — so a hard limit the writer would
//! have reached lets the next batch in. Protected (critical) data is never among them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::Duration;

use strata::archive::Archive;
use strata::catalog::{FileManifest, FileQuery};
use strata::config::Config;
use strata::ingest::WriterOptions;
use strata::model::{jsonl, Decimal, Event, EventKind, Payload, Timestamp, Trade};
use strata::policy::{Classification, EnforcementMode, QuotaRule, QuotaScope};

const DAY: i64 = 86_400_000_000_000;

/// 14:30 UTC three days before the test started: young enough that retention deletes nothing,
/// so every deletion here is a quota's (taken once, so a run across midnight keeps its days).
fn day0() -> i64 {
    static DAY0: std::sync::LazyLock<i64> = std::sync::LazyLock::new(|| {
        let now = Timestamp::now().as_nanos();
        now - now % DAY - 3 * DAY + 52_200_000_000_000
    });
    *DAY0
}

fn trade(day: i64, i: i64) -> Event {
    Event::new(
        "feed",
        "SPY",
        Timestamp::from_nanos(day0() + day * DAY + i * 1_000_000),
        Payload::Trade(Trade {
            price: Decimal::from_int(170 + i % 7),
            size: Decimal::from_int(100 + i),
            side: None,
            trade_id: Some(format!("{day}-{i}")),
            conditions: None,
        }),
    )
}

fn heartbeat(day: i64, i: i64) -> Event {
    Event::new(
        "feed",
        "SPY",
        Timestamp::from_nanos(day0() + day * DAY + i * 1_000_000),
        Payload::Heartbeat,
    )
}

/// Writes `events` in one session of an archive opened with `config`, sealed by the close.
fn write_with(root: &Path, config: Config, events: &[Event]) {
    let archive = Archive::open(root, config).unwrap();
    let writer = archive.writer(WriterOptions::default()).unwrap();
    writer.append_batch(events).unwrap();
    writer.close().unwrap();
}

fn files(archive: &Archive) -> Vec<FileManifest> {
    archive.catalog().find(&FileQuery::all()).unwrap()
}

fn of_kind(files: &[FileManifest], kind: EventKind) -> Vec<&FileManifest> {
    files
        .iter()
        .filter(|m| m.stats.kinds.contains_key(&kind))
        .collect()
}

fn quota(mode: EnforcementMode, max_bytes: u64) -> QuotaRule {
    QuotaRule {
        scope: QuotaScope::Global,
        max_bytes: Some(max_bytes),
        max_files: None,
        max_events_per_day: None,
        mode,
    }
}

fn deletions_audited(root: &Path) -> Vec<String> {
    strata::lifecycle::AuditLog::new(root)
        .entries()
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "delete")
        .map(|e| e.subject)
        .collect()
}

#[test]
fn a_soft_limit_starts_cleanup_of_transient_data_and_writing_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    // Three days of trades and heartbeats, written before any quota.
    let old: Vec<Event> = (0..3)
        .flat_map(|day| (0..50).flat_map(move |i| [trade(day, i), heartbeat(day, i)]))
        .collect();
    write_with(root, Config::default(), &old);

    let mut config = Config::default();
    config
        .classification
        .by_kind
        .insert(EventKind::Trade, Classification::Critical);
    config.quotas.push(quota(EnforcementMode::SoftLimit, 1));
    config.lifecycle.cleanup_interval_secs = 0;
    let archive = Archive::open(root, config).unwrap();
    let before = files(&archive);
    let beats = of_kind(&before, EventKind::Heartbeat);
    assert_eq!(beats.len(), 3, "{before:?}");
    assert_eq!(of_kind(&before, EventKind::Trade).len(), 3);
    let freed: u64 = beats.iter().map(|m| m.size_bytes).sum();
    let beat_paths: Vec<String> = beats.iter().map(|m| m.path.clone()).collect();

    let writer = archive.writer(WriterOptions::default()).unwrap();
    let new: Vec<Event> = (0..20).map(|i| trade(3, i)).collect();
    // Over the soft limit: written all the same, and the cleanup starts.
    assert_eq!(writer.append_batch(&new[..10]).unwrap().accepted, 10);
    assert!(archive.wait_for_cleanup(Duration::from_secs(60)));
    let status = archive.cleanup_status();
    assert_eq!(status.finished, 1, "{status:?}");
    assert_eq!(status.files_deleted, 3, "{status:?}");
    assert_eq!(status.bytes_freed, freed);
    // The critical trades keep the scope over its limit: said, not deleted.
    let last = status.last.unwrap();
    assert!(last.contains("stays over"), "{last}");

    let after = files(&archive);
    assert!(
        of_kind(&after, EventKind::Heartbeat).is_empty(),
        "{after:?}"
    );
    assert_eq!(of_kind(&after, EventKind::Trade).len(), 3);
    for path in &beat_paths {
        assert!(!root.join(path).exists(), "{path} is still on disk");
    }
    let mut audited = deletions_audited(root);
    audited.sort();
    assert_eq!(audited, beat_paths);

    // Writing goes on; the next cleanup finds nothing more it may delete.
    assert_eq!(writer.append_batch(&new[10..]).unwrap().accepted, 10);
    assert!(archive.wait_for_cleanup(Duration::from_secs(60)));
    assert_eq!(archive.cleanup_status().files_deleted, 3);
    let report = writer.close().unwrap();
    assert!(
        report
            .quota_signals
            .iter()
            .any(|s| s.starts_with("quota cleanup deleted 3 file(s)")),
        "{:?}",
        report.quota_signals
    );
    assert_eq!(
        of_kind(&files(&archive), EventKind::Trade).len(),
        4,
        "the new day's trades are sealed too"
    );
}

#[test]
fn drop_oldest_frees_room_that_a_hard_limit_then_lets_the_writer_use() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let old: Vec<Event> = (0..3)
        .flat_map(|day| (0..400).map(move |i| trade(day, i)))
        .collect();
    write_with(root, Config::default(), &old);
    let stored: u64 = {
        let archive = Archive::open(root, Config::default()).unwrap();
        files(&archive).iter().map(|m| m.size_bytes).sum()
    };
    let batch = |n: i64| -> Vec<Event> { (n * 5..n * 5 + 5).map(|i| trade(3, i)).collect() };
    let bytes: u64 = batch(0)
        .iter()
        .map(|e| jsonl::encode_line(e).unwrap().len() as u64)
        .sum();

    let mut config = Config::default();
    // Over by one byte with what the catalog holds: the oldest day goes.
    config
        .quotas
        .push(quota(EnforcementMode::DropOldest, stored - 1));
    // Room for one batch and a half beyond what was stored.
    config
        .quotas
        .push(quota(EnforcementMode::HardLimit, stored + bytes * 3 / 2));
    config.lifecycle.cleanup_interval_secs = 0;
    let archive = Archive::open(root, config).unwrap();
    let oldest = files(&archive)
        .into_iter()
        .min_by_key(|m| m.stats.first_event_time)
        .unwrap();
    assert!(
        oldest.size_bytes > bytes / 2,
        "the test needs the oldest file ({} bytes) to free more than half a batch ({bytes})",
        oldest.size_bytes
    );

    let writer = archive.writer(WriterOptions::default()).unwrap();
    assert_eq!(writer.append_batch(&batch(0)).unwrap().accepted, 5);
    assert!(archive.wait_for_cleanup(Duration::from_secs(60)));
    let status = archive.cleanup_status();
    assert_eq!(status.files_deleted, 1, "{status:?}");
    assert_eq!(status.bytes_freed, oldest.size_bytes);
    assert!(!root.join(&oldest.path).exists());
    assert_eq!(files(&archive).len(), 2);
    assert_eq!(deletions_audited(root), vec![oldest.path.clone()]);
    // Without the freed bytes taken off, this batch would pass the hard limit.
    assert_eq!(writer.append_batch(&batch(1)).unwrap().accepted, 5);
    assert_eq!(writer.report().events, 10);
    writer.close().unwrap();
}

#[test]
fn with_cleanup_on_quota_off_the_next_lifecycle_run_does_it() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let old: Vec<Event> = (0..20).map(|i| heartbeat(0, i)).collect();
    write_with(root, Config::default(), &old);
    let mut config = Config::default();
    config.quotas.push(quota(EnforcementMode::SoftLimit, 1));
    config.lifecycle.cleanup_on_quota = false;
    let archive = Archive::open(root, config).unwrap();
    let writer = archive.writer(WriterOptions::default()).unwrap();
    writer.append_batch(&[heartbeat(1, 0)]).unwrap();
    writer.close().unwrap();
    assert!(archive.wait_for_cleanup(Duration::from_secs(1)));
    assert_eq!(archive.cleanup_status().finished, 0);
    assert_eq!(of_kind(&files(&archive), EventKind::Heartbeat).len(), 2);
    // By hand, the same deletions.
    let cleanup = archive.quota_cleanup(Timestamp::now()).unwrap();
    assert_eq!(cleanup.deleted.len(), 2, "{}", cleanup.summary());
    assert!(files(&archive).is_empty());
}

/// A tier policy whose every decision panics, as a broken custom one might.
#[derive(Debug)]
struct Panicking;

impl strata::policy::TierPolicy for Panicking {
    fn name(&self) -> String {
        "panicking".into()
    }

    fn decide(&self, _file: &strata::policy::FileFacts) -> (strata::policy::TierAction, String) {
        panic!("a broken tier policy")
    }
}

#[test]
fn a_request_sooner_than_the_interval_waits_and_the_end_of_the_session_serves_it() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write_with(root, Config::default(), &[heartbeat(0, 0)]);
    let mut config = Config::default();
    config.quotas.push(quota(EnforcementMode::SoftLimit, 1));
    config.lifecycle.cleanup_interval_secs = 3600;
    let archive = Archive::open(root, config.clone()).unwrap();
    let writer = archive.writer(WriterOptions::default()).unwrap();
    writer.append_batch(&[heartbeat(1, 0)]).unwrap();
    assert!(archive.wait_for_cleanup(Duration::from_secs(60)));
    assert_eq!(archive.cleanup_status().files_deleted, 1);
    // The session's heartbeats are sealed by its close; the next session's first batch asks
    // again within the hour: left pending, not run and not forgotten.
    writer.close().unwrap();
    let writer = archive.writer(WriterOptions::default()).unwrap();
    writer.append_batch(&[heartbeat(2, 0)]).unwrap();
    let status = archive.cleanup_status();
    assert_eq!(status.finished, 1, "{status:?}");
    assert!(status.pending, "{status:?}");
    assert_eq!(of_kind(&files(&archive), EventKind::Heartbeat).len(), 1);
    // The end of the session serves it at once, and sees what the close sealed: the day-1 file
    // and this session's own day-2 file.
    writer.close().unwrap();
    let status = archive.finish_cleanup(&writer);
    assert_eq!(status.finished, 2, "{status:?}");
    assert!(!status.pending);
    assert_eq!(status.files_deleted, 3, "{status:?}");
    assert!(of_kind(&files(&archive), EventKind::Heartbeat).is_empty());
    // Nothing asked since: the next call runs nothing.
    assert_eq!(archive.finish_cleanup(&writer).finished, 2);

    // A cleanup that panics ends as an error: nothing deleted, nothing left running, and the
    // end of the session does not wait for ever.
    write_with(root, Config::default(), &[heartbeat(4, 0)]);
    let archive = Archive::builder(root)
        .config(config)
        .tier_policy(std::sync::Arc::new(Panicking))
        .open()
        .unwrap();
    let writer = archive.writer(WriterOptions::default()).unwrap();
    writer.append_batch(&[heartbeat(3, 0)]).unwrap();
    assert!(archive.wait_for_cleanup(Duration::from_secs(60)));
    let status = archive.cleanup_status();
    assert!(!status.running);
    let last = status.last.unwrap();
    assert!(last.contains("panicked: a broken tier policy"), "{last}");
    assert_eq!(writer.append_batch(&[heartbeat(3, 1)]).unwrap().accepted, 1);
    writer.close().unwrap();
    let status = archive.finish_cleanup(&writer);
    assert!(!status.running);
    assert!(status.last.unwrap().contains("panicked"));
}

#[test]
fn a_hold_placed_after_the_plan_was_made_keeps_its_files() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write_with(
        root,
        Config::default(),
        &[heartbeat(0, 0), heartbeat(1, 0), trade(0, 0)],
    );
    let mut config = Config::default();
    config.quotas.push(quota(EnforcementMode::DropOldest, 1));
    let archive = Archive::open(root, config).unwrap();
    let plan = archive.lifecycle_plan(Timestamp::now()).unwrap();
    let deletions: Vec<&str> = plan
        .decisions
        .iter()
        .filter(|d| d.action == strata::policy::lifecycle::LifecycleAction::Delete)
        .map(|d| d.path.as_str())
        .collect();
    assert_eq!(deletions.len(), 3, "{plan:?}");
    // A hold on the heartbeats lands while the plan is being carried out.
    archive
        .holds()
        .add(
            strata::policy::lifecycle::Hold {
                name: "case-7".into(),
                scope: strata::policy::lifecycle::HoldScope {
                    kinds: vec![EventKind::Heartbeat],
                    ..Default::default()
                },
                reason: "placed mid-run".into(),
            },
            Timestamp::now(),
        )
        .unwrap();
    let backends = strata::policy::TierName::ALL
        .iter()
        .map(|&t| (t, archive.tier_backend(t).unwrap()))
        .collect();
    let report = strata::lifecycle::Executor::new(root, archive.catalog(), backends)
        .unwrap()
        .run(&plan, |_, _| {})
        .unwrap();
    // The trade goes; both heartbeat files stay, kept by the hold, not failed.
    assert_eq!(report.deleted.len(), 1, "{report:?}");
    assert!(report.deleted[0].contains("/trade/"), "{report:?}");
    assert!(report.failed.is_empty(), "{report:?}");
    assert_eq!(report.held.len(), 2, "{report:?}");
    for (path, hold) in &report.held {
        assert!(path.contains("/heartbeat/"), "{path}");
        assert_eq!(hold, "case-7");
        assert!(root.join(path).exists(), "{path}");
    }
    // Audited: the deletion of the trade, nothing of the heartbeats.
    assert_eq!(deletions_audited(root), vec![report.deleted[0].clone()]);
    assert_eq!(of_kind(&files(&archive), EventKind::Heartbeat).len(), 2);
    // The next plan protects them by the hold.
    let next = archive.lifecycle_plan(Timestamp::now()).unwrap();
    assert!(next
        .decisions
        .iter()
        .all(|d| d.action != strata::policy::lifecycle::LifecycleAction::Delete));
}
