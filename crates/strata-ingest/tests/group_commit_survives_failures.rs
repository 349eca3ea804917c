//! INGEST-2: group commit holds up when things go wrong around it — a seal schedule or a
//! durability listener that panics fails the writer instead of leaving waiters waiting for
//! ever; a listener may call the writer back; appends racing `close()` are either in the final
//! commit or refused; a commit that could not hand its bytes to the OS publishes no watermark;
//! the schedule's seal cause reaches the manifest.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use strata_catalog::{Catalog, FileQuery};
use strata_core::config::{Config, DurabilityMode};
use strata_core::policy::{SealCause, SealDecision, SealSchedule, SegmentFacts};
use strata_core::Profile;
use strata_ingest::{reader, Components, Error, Writer, WriterOptions};
use strata_model::{Decimal, Event, Payload, Timestamp, Trade};

/// How long a test waits for what must happen at once before calling it a hang.
const HANG: Duration = Duration::from_secs(30);

fn open_with(
    root: &Path,
    mode: DurabilityMode,
    interval_ms: u64,
    schedule: Option<Arc<dyn SealSchedule>>,
) -> Writer {
    let mut config = Config::for_profile(Profile::LowLatency);
    config.durability.mode = mode;
    config.durability.group_commit_interval_ms = interval_ms;
    let catalog = Arc::new(Catalog::open(root).unwrap());
    let options = WriterOptions {
        components: Components {
            seal_schedule: schedule,
            ..Components::default()
        },
        ..WriterOptions::default()
    };
    Writer::open(root, config, catalog, options).unwrap()
}

fn trade(symbol: &str, i: u64) -> Event {
    Event::new(
        "s",
        symbol,
        Timestamp::from_nanos(1_700_000_000_000_000_000 + i as i64 * 1_000),
        Payload::Trade(Trade {
            price: Decimal::from_int(100),
            size: Decimal::from_int(1),
            side: None,
            trade_id: Some(i.to_string()),
            conditions: None,
        }),
    )
}

fn id_of(event: &Event) -> String {
    match &event.payload {
        Payload::Trade(t) => t.trade_id.clone().unwrap_or_default(),
        other => panic!("not a trade: {other:?}"),
    }
}

/// Runs `f` on its own thread; its answer, or a failure if it has none within [`HANG`].
fn within<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(HANG)
        .unwrap_or_else(|_| panic!("{what}: no answer within {HANG:?} (hangs)"))
}

/// Panics when asked with a segment's age (the periodic check on the group-commit thread);
/// keeps every segment open on the append path.
#[derive(Debug)]
struct PanicsOnTheCheck;

impl SealSchedule for PanicsOnTheCheck {
    fn name(&self) -> String {
        "panics on the check".into()
    }
    fn decide(&self, s: &SegmentFacts) -> Option<SealDecision> {
        assert!(s.open_for.is_none(), "the schedule broke on the check");
        None
    }
    fn check_every(&self) -> Duration {
        Duration::from_millis(1)
    }
}

#[test]
fn a_panicking_seal_schedule_on_the_commit_thread_fails_waiters_instead_of_hanging() {
    let dir = tempfile::tempdir().unwrap();
    let writer = open_with(
        dir.path(),
        DurabilityMode::GroupCommit,
        2,
        Some(Arc::new(PanicsOnTheCheck)),
    );
    let (tx, told) = mpsc::channel::<String>();
    let tx = std::sync::Mutex::new(tx);
    writer.on_durable(move |_, failed| {
        if let Some(message) = failed {
            let _ = tx.lock().unwrap().send(message.to_string());
        }
    });
    // The commit thread may commit an event before its periodic check panics; after the panic
    // nothing more becomes durable, and the wait says why instead of waiting for ever.
    let mut failed = None;
    for i in 0..3 {
        let ticket = writer.append(&trade("A", i)).unwrap().last_ticket;
        let w = writer.clone();
        match within("waiting for durability", move || {
            w.wait_durable_checked(ticket, Duration::from_secs(3_600))
        }) {
            Ok(true) => continue,
            Ok(false) => panic!("timed out waiting an hour"),
            Err(e) => {
                failed = Some(e);
                break;
            }
        }
    }
    let e = failed.expect("the commit thread's panic fails the writer");
    assert!(matches!(e, Error::Panicked { .. }), "{e}");
    let text = e.to_string();
    assert!(
        text.contains("seal schedule `panics on the check`")
            && text.contains("the schedule broke on the check"),
        "{text}"
    );
    // The listeners are told too (an async waiter wakes with the error).
    let message = told.recv_timeout(HANG).unwrap();
    assert!(message.contains("panics on the check"), "{message}");
    assert!(!writer.wait_durable(writer.durable_watermark() + 1, Duration::from_secs(3_600)));
    assert!(matches!(writer.flush(), Err(Error::Panicked { .. })));
    // The writer still closes (and says it failed).
    assert!(writer.close().is_err());
}

/// Panics on the append path once a segment holds two events.
#[derive(Debug)]
struct PanicsOnAppend;

impl SealSchedule for PanicsOnAppend {
    fn name(&self) -> String {
        "panics on append".into()
    }
    fn decide(&self, s: &SegmentFacts) -> Option<SealDecision> {
        assert!(s.events < 2, "two events are too many");
        None
    }
    fn check_every(&self) -> Duration {
        Duration::from_secs(60)
    }
}

#[test]
fn a_panicking_seal_schedule_on_the_append_path_fails_the_append_and_the_writer() {
    let dir = tempfile::tempdir().unwrap();
    let writer = open_with(
        dir.path(),
        DurabilityMode::GroupCommit,
        600_000,
        Some(Arc::new(PanicsOnAppend)),
    );
    let first = writer.append(&trade("A", 0)).unwrap().last_ticket;
    let e = writer.append(&trade("A", 1)).unwrap_err();
    assert!(
        e.to_string().contains("seal schedule `panics on append`")
            && e.to_string().contains("two events are too many"),
        "{e}"
    );
    // The event accepted before the panic is not acknowledged as durable either: the writer
    // is failed, and its waiters hear so at once.
    let w = writer.clone();
    let waited = within("waiting for durability", move || {
        w.wait_durable_checked(first, Duration::from_secs(3_600))
    });
    assert!(matches!(waited, Err(Error::Panicked { .. })), "{waited:?}");
    assert!(writer.failure().is_some());
    assert!(writer.close().is_err());
}

#[test]
fn a_panicking_listener_fails_the_writer_and_the_other_listeners_are_told() {
    let dir = tempfile::tempdir().unwrap();
    let writer = open_with(dir.path(), DurabilityMode::PerBatch, 1, None);
    writer.on_durable(|ticket, _| assert!(ticket < 2, "listener broke at {ticket}"));
    let (tx, told) = mpsc::channel::<(u64, Option<String>)>();
    let tx = std::sync::Mutex::new(tx);
    writer.on_durable(move |ticket, failed| {
        let _ = tx
            .lock()
            .unwrap()
            .send((ticket, failed.map(str::to_string)));
    });
    assert_eq!(writer.append(&trade("A", 0)).unwrap().last_ticket, 1);
    let e = writer.append(&trade("A", 1)).unwrap_err();
    assert!(
        e.to_string().contains("a durability listener") && e.to_string().contains("broke at 2"),
        "{e}"
    );
    let heard: Vec<(u64, Option<String>)> = told.try_iter().collect();
    assert!(
        heard.iter().any(|(t, f)| *t == 2 && f.is_none()),
        "{heard:?}"
    );
    assert!(
        heard
            .iter()
            .any(|(_, f)| f.as_deref().is_some_and(|f| f.contains("broke at 2"))),
        "the second listener hears of the failure: {heard:?}"
    );
    let w = writer.clone();
    let waited = within("waiting for durability", move || {
        w.wait_durable_checked(3, Duration::from_secs(3_600))
    });
    assert!(matches!(waited, Err(Error::Panicked { .. })), "{waited:?}");
    assert!(writer.close().is_err());
}

#[test]
fn a_listener_may_call_the_writer_back() {
    let dir = tempfile::tempdir().unwrap();
    let writer = open_with(dir.path(), DurabilityMode::PerBatch, 1, None);
    let again = writer.clone();
    let appended = Arc::new(AtomicBool::new(false));
    let registered = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(AtomicUsize::new(0));
    let (tx, nested) = mpsc::channel::<(u64, bool)>();
    let tx = std::sync::Mutex::new(tx);
    {
        let (appended, registered, seen) = (appended.clone(), registered.clone(), seen.clone());
        writer.on_durable(move |ticket, _| {
            // Reads the writer, registers another listener and appends (in per_batch mode the
            // append commits, and so calls the listeners again) from inside a listener.
            let watermark = again.durable_watermark();
            assert!(watermark >= ticket);
            let _ = again.report();
            if ticket >= 1 && !registered.swap(true, Ordering::SeqCst) {
                let seen = seen.clone();
                again.on_durable(move |_, _| {
                    seen.fetch_add(1, Ordering::SeqCst);
                });
            }
            if ticket >= 1 && !appended.swap(true, Ordering::SeqCst) {
                let outcome = again.append(&trade("A", 100)).unwrap();
                let durable = again.durable_watermark() >= outcome.last_ticket;
                let _ = tx.lock().unwrap().send((outcome.last_ticket, durable));
            }
        });
    }
    let w = writer.clone();
    let first = within(
        "an append whose commit calls a re-entrant listener",
        move || w.append(&trade("A", 0)).unwrap().last_ticket,
    );
    assert_eq!(first, 1);
    assert_eq!(nested.recv_timeout(HANG).unwrap(), (2, true));
    assert!(seen.load(Ordering::SeqCst) >= 1);
    let w = writer.clone();
    within("a flush after re-entrant listeners", move || {
        w.flush().unwrap()
    });
    writer.close().unwrap();
    let stored: usize = reader::hot_files(dir.path())
        .unwrap()
        .iter()
        .map(|f| reader::read_events(f).unwrap().len())
        .sum();
    assert_eq!(stored, 2);
}

#[test]
fn a_listener_may_close_the_writer() {
    // In per_batch mode the listener runs inside the append's own commit; in group_commit mode
    // on the committer thread, which close() would otherwise wait for.
    for mode in [DurabilityMode::PerBatch, DurabilityMode::GroupCommit] {
        let dir = tempfile::tempdir().unwrap();
        let writer = open_with(dir.path(), mode, 1, None);
        let again = writer.clone();
        let once = AtomicBool::new(false);
        let (tx, closed) = mpsc::channel::<bool>();
        let tx = std::sync::Mutex::new(tx);
        writer.on_durable(move |ticket, _| {
            if ticket >= 1 && !once.swap(true, Ordering::SeqCst) {
                let report = again.close();
                let _ = tx.lock().unwrap().send(report.is_ok());
            }
        });
        let w = writer.clone();
        let appended = within("an append whose listener closes the writer", move || {
            w.append(&trade("A", 0)).map(|o| o.last_ticket)
        });
        assert_eq!(appended.unwrap(), 1, "{mode:?}");
        assert!(
            closed.recv_timeout(HANG).unwrap(),
            "{mode:?}: close() failed"
        );
        assert!(
            matches!(writer.append(&trade("A", 1)), Err(Error::Closed)),
            "{mode:?}"
        );
        let stored: usize = reader::hot_files(dir.path())
            .unwrap()
            .iter()
            .map(|f| reader::read_events(f).unwrap().len())
            .sum();
        assert_eq!(stored, 1, "{mode:?}");
    }
}

#[test]
fn appends_racing_close_are_either_in_the_final_commit_or_refused() {
    let mut total = 0;
    for round in 0..6u64 {
        let dir = tempfile::tempdir().unwrap();
        let writer = open_with(dir.path(), DurabilityMode::GroupCommit, 1, None);
        let closed = Arc::new(AtomicBool::new(false));
        let threads: Vec<_> = (0..6u64)
            .map(|t| {
                let writer = writer.clone();
                let closed = closed.clone();
                std::thread::spawn(move || {
                    let mut ok = Vec::new();
                    let mut late_ok = 0;
                    // Batches big enough that encoding them (before the state lock) takes a
                    // while: an append can pass a check of `closed` made outside the lock long
                    // before it writes.
                    for b in 0u64.. {
                        let after_close = closed.load(Ordering::SeqCst);
                        let symbol = ["A", "B"][(b % 2) as usize];
                        let batch: Vec<Event> = (0..5_000)
                            .map(|i| trade(symbol, (t << 40) + b * 5_000 + i))
                            .collect();
                        match writer.append_batch(&batch) {
                            Ok(outcome) => {
                                assert_eq!(outcome.accepted, batch.len());
                                ok.extend(batch.iter().map(id_of));
                                late_ok += usize::from(after_close);
                            }
                            Err(Error::Closed) => break,
                            Err(e) => panic!("append: {e}"),
                        }
                    }
                    (ok, late_ok)
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(5 + round * 7));
        writer.close().unwrap();
        closed.store(true, Ordering::SeqCst);
        let mut accepted = BTreeSet::new();
        for thread in threads {
            let (ok, late_ok) = thread.join().unwrap();
            assert_eq!(
                late_ok, 0,
                "round {round}: appends began after close() and succeeded"
            );
            accepted.extend(ok);
        }
        total += accepted.len();
        // Everything acknowledged is in a sealed, catalogued file (nothing plain left behind).
        let catalog = Catalog::open(dir.path()).unwrap();
        let sealed = catalog.find(&FileQuery::all()).unwrap();
        let mut stored = BTreeSet::new();
        for manifest in &sealed {
            for event in reader::read_events(&dir.path().join(&manifest.path)).unwrap() {
                stored.insert(id_of(&event));
            }
        }
        let missing: Vec<_> = accepted.difference(&stored).collect();
        assert!(
            missing.is_empty(),
            "round {round}: {} acknowledged events are not in the sealed files: {:?}",
            missing.len(),
            &missing[..missing.len().min(5)]
        );
        assert_eq!(
            reader::hot_files(dir.path()).unwrap().len(),
            sealed.len(),
            "round {round}: a plain segment was left unsealed"
        );
    }
    assert!(total > 0, "no append got in before close() in any round");
}

#[test]
fn a_long_append_that_began_before_close_is_refused_or_kept_never_lost() {
    let dir = tempfile::tempdir().unwrap();
    let writer = open_with(dir.path(), DurabilityMode::GroupCommit, 1, None);
    writer.append(&trade("A", 0)).unwrap();
    // Encoding this batch (outside the state lock) takes far longer than `close()` does: the
    // append passes its first check of `closed` long before it can write.
    let batch: Vec<Event> = (1..400_001).map(|i| trade("B", i)).collect();
    let w = writer.clone();
    let (started, began) = mpsc::channel();
    let appender = std::thread::spawn(move || {
        let _ = started.send(());
        let outcome = w.append_batch(&batch);
        (outcome, std::time::Instant::now())
    });
    began.recv().unwrap();
    std::thread::sleep(Duration::from_millis(5));
    writer.close().unwrap();
    let closed_at = std::time::Instant::now();
    let (outcome, returned_at) = appender.join().unwrap();
    let catalog = Catalog::open(dir.path()).unwrap();
    let sealed: usize = catalog
        .find(&FileQuery::all())
        .unwrap()
        .iter()
        .map(|m| m.stats.event_count as usize)
        .sum();
    match outcome {
        Err(Error::Closed) => assert_eq!(sealed, 1),
        Ok(outcome) => {
            assert!(
                returned_at < closed_at,
                "an append returned Ok after close() did"
            );
            assert_eq!(
                sealed,
                1 + outcome.accepted,
                "acknowledged events were not sealed"
            );
        }
        Err(e) => panic!("append: {e}"),
    }
}

#[test]
fn a_commit_that_cannot_hand_bytes_to_the_os_fails_and_publishes_no_watermark() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::for_profile(Profile::LowLatency);
    config.durability.mode = DurabilityMode::GroupCommit;
    config.durability.group_commit_interval_ms = 600_000;
    // Small files: the first partition's segments are retired (waiting for the commit's fsync)
    // while the second's bytes are still buffered.
    config.storage.max_file_bytes = 300;
    let catalog = Arc::new(Catalog::open(dir.path()).unwrap());
    let writer = Writer::open(dir.path(), config, catalog, WriterOptions::default()).unwrap();
    let a: Vec<Event> = (0..20).map(|i| trade("A", i)).collect();
    writer.append_batch(&a).unwrap();
    let last = writer.append(&trade("B", 100)).unwrap().last_ticket;
    assert_eq!(writer.durable_watermark(), 0);
    writer.inject_commit_drain_failure();
    let e = writer.flush().unwrap_err();
    assert!(
        matches!(&e, Error::SyncFailed { reason } if reason.contains("injected fault")),
        "{e}"
    );
    // The files taken for that commit were never synced: no later commit may cover them.
    let again = writer.flush().unwrap_err();
    assert!(matches!(again, Error::SyncFailed { .. }), "{again}");
    assert_eq!(writer.durable_watermark(), 0);
    assert!(!writer.wait_durable(last, Duration::from_secs(3_600)));
    let _ = writer.close();
}

/// Seals every third event on the append path, giving the cause `age` (a schedule of one's
/// own may seal for either cause without the clock).
#[derive(Debug)]
struct ThreeAndOld;

impl SealSchedule for ThreeAndOld {
    fn name(&self) -> String {
        "three and old".into()
    }
    fn decide(&self, s: &SegmentFacts) -> Option<SealDecision> {
        (s.events >= 3).then(|| SealDecision {
            cause: SealCause::Age,
            reason: format!("{} events are old enough", s.events),
        })
    }
    fn check_every(&self) -> Duration {
        Duration::from_secs(60)
    }
}

#[test]
fn the_schedules_seal_cause_on_the_append_path_reaches_the_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let writer = open_with(
        dir.path(),
        DurabilityMode::PerBatch,
        1,
        Some(Arc::new(ThreeAndOld)),
    );
    let events: Vec<Event> = (0..7).map(|i| trade("A", i)).collect();
    writer.append_batch(&events).unwrap();
    writer.close().unwrap();
    let catalog = Catalog::open(dir.path()).unwrap();
    let mut reasons: Vec<(u64, String)> = catalog
        .find(&FileQuery::all())
        .unwrap()
        .into_iter()
        .map(|m| (m.stats.event_count, m.seal_reason))
        .collect();
    reasons.sort();
    assert_eq!(
        reasons,
        vec![
            (1, "shutdown".to_string()),
            (3, "age".to_string()),
            (3, "age".to_string()),
        ]
    );
}
