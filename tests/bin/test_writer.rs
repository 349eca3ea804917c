//! A writer process for the kill test: appends the deterministic feed from `START` in batches of
//! 100 with group commit, and after every fifth batch calls `flush()` and prints
//! `ACK <last id>` — the promise that every event up to that id is durable. Runs until killed
//! (or for at most 30 s).
//!
//! Usage: `strata-test-writer ROOT START [WAIT_MS]` — with `WAIT_MS`, waits that long for another
//! writer's lock; a writer that does not get it prints `LOCKED <error>` and exits with 3.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test helper: panics are failures

use std::io::Write;
use std::time::{Duration, Instant};

use strata_core::config::DurabilityMode;

fn main() {
    let mut args = std::env::args().skip(1);
    let root = std::path::PathBuf::from(args.next().expect("ROOT"));
    let start: u64 = args
        .next()
        .expect("START")
        .parse()
        .expect("START is a number");
    let wait_ms: u64 = args
        .next()
        .map_or(0, |s| s.parse().expect("WAIT_MS is a number"));
    let catalog = std::sync::Arc::new(strata_catalog::Catalog::open(&root).unwrap());
    let writer = match strata_ingest::Writer::open(
        &root,
        strata_tests::crash_test_config(DurabilityMode::GroupCommit, 2),
        catalog,
        strata_ingest::WriterOptions {
            lock_wait: Duration::from_millis(wait_ms),
            ..strata_ingest::WriterOptions::default()
        },
    ) {
        Ok(writer) => writer,
        Err(e @ strata_ingest::Error::Locked { .. }) => {
            println!("LOCKED {e}");
            std::process::exit(3);
        }
        Err(e) => panic!("open: {e}"),
    };
    let stdout = std::io::stdout();
    println!("READY");
    stdout.lock().flush().unwrap();
    let began = Instant::now();
    let mut id = start;
    let mut batch_no = 0u64;
    while began.elapsed() < Duration::from_secs(30) {
        let batch: Vec<_> = (id..id + 100).map(strata_tests::event).collect();
        let outcome = writer.append_batch(&batch).unwrap();
        assert_eq!(outcome.accepted, 100, "the feed has no bad events");
        id += 100;
        batch_no += 1;
        if batch_no.is_multiple_of(5) {
            writer.flush().unwrap();
            let mut out = stdout.lock();
            writeln!(out, "ACK {}", id - 1).unwrap();
            out.flush().unwrap();
        }
    }
}
