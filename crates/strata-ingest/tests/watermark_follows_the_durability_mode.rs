//! INGEST-2: the durable watermark moves as each mode promises — per batch on return, by the
//! group-commit thread on its own within its interval, by `flush()` at once.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use strata_catalog::Catalog;
use strata_core::config::{Config, DurabilityMode};
use strata_core::Profile;
use strata_ingest::{Writer, WriterOptions};
use strata_model::{Event, Payload, Timestamp};

fn open(dir: &std::path::Path, mode: DurabilityMode, interval_ms: u64) -> Writer {
    let mut config = Config::for_profile(Profile::LowLatency);
    config.durability.mode = mode;
    config.durability.group_commit_interval_ms = interval_ms;
    let catalog = Arc::new(Catalog::open(dir).unwrap());
    Writer::open(dir, config, catalog, WriterOptions::default()).unwrap()
}

fn beats(n: i64) -> Vec<Event> {
    (0..n)
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

#[test]
fn per_batch_is_durable_when_append_returns() {
    let dir = tempfile::tempdir().unwrap();
    let writer = open(dir.path(), DurabilityMode::PerBatch, 1);
    let outcome = writer.append_batch(&beats(10)).unwrap();
    assert_eq!(outcome.last_ticket, 10);
    assert!(writer.durable_watermark() >= 10);
    writer.close().unwrap();
}

#[test]
fn group_commit_makes_events_durable_without_flush() {
    let dir = tempfile::tempdir().unwrap();
    let writer = open(dir.path(), DurabilityMode::GroupCommit, 5);
    let ticket = writer.append_batch(&beats(100)).unwrap().last_ticket;
    assert!(
        writer.wait_durable(ticket, Duration::from_secs(5)),
        "the commit thread reaches ticket {ticket}"
    );
    writer.close().unwrap();
}

#[test]
fn flush_commits_at_once_under_a_long_interval() {
    let dir = tempfile::tempdir().unwrap();
    let writer = open(dir.path(), DurabilityMode::GroupCommit, 600_000);
    let ticket = writer.append_batch(&beats(3)).unwrap().last_ticket;
    assert!(
        !writer.wait_durable(ticket, Duration::from_millis(50)),
        "nothing commits before the interval"
    );
    assert_eq!(writer.flush().unwrap(), ticket);
    assert!(writer.wait_durable(ticket, Duration::ZERO));
    writer.close().unwrap();
}
