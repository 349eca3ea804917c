//! A writer process for the kill test: appends the deterministic feed from `START` in batches of
//! 100 with group commit, and after every fifth batch calls `flush()` and prints
//! `ACK <last id>` — the promise that every event up to that id is durable. Runs until killed
//! (or for at most 30 s).
//!
//! Usage: `strata-test-writer ROOT START`

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
    let writer = strata_tests::open_writer(
        &root,
        strata_tests::crash_test_config(DurabilityMode::GroupCommit, 2),
    );
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
