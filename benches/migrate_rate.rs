//! Migration rate end to end (TIER-2, issue 11): hot-tier JSONL files of real trades moved to the
//! cold tier as Parquet — read, checked against their SHA-256, converted, written, read back and
//! compared, sidecar and index written, the source removed — in events per second, printed as
//! the table of `docs/PERFORMANCE.md` ("Migration, end to end").
//!
//! ```text
//! cargo run --release -p strata-benches --bin migrate-rate
//! target/release/migrate-rate --reps 5
//! ```
//!
//! Each repetition imports the Lean SPY trades of 2013-10-07 (250,601 events; the committed cut
//! without `../shared/data`) into a fresh archive with the default config (hourly files: zstd 1
//! sealed JSONL), then times `Archive::lifecycle_run` at 2013-12-01, when the default retention
//! places the day in the cold tier (Parquet, zstd 9), and once more at 2015-01-01 (cold →
//! archive, zstd 19, write-once). The median of the repetitions is printed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use strata::archive::Archive;
use strata::import::{Format, ImportOptions};
use strata::ingest::WriterOptions;
use strata_benches::ingest::spy_trades_day1;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let mut reps = 3;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--reps" => reps = args.next().unwrap().parse().unwrap(),
            other => panic!("unknown option {other}"),
        }
    }
    let input = spy_trades_day1();
    if input.is_cut {
        eprintln!("note: the committed cut of the SPY day, not the full file");
    }
    let mut rates: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    let mut files = [0usize; 2];
    let mut events = 0u64;
    for _ in 0..reps {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("archive");
        strata::archive::init(&root, strata::Profile::Research, false).unwrap();
        let archive = Archive::open_dir(&root).unwrap();
        let writer = archive.writer(WriterOptions::default()).unwrap();
        let done = archive
            .import_file(
                &writer,
                &input.path,
                Format::Lean,
                &ImportOptions::default(),
                &mut |_| {},
            )
            .unwrap();
        writer.close().unwrap();
        events = done.accepted;
        for (stage, now) in ["2013-12-01", "2015-01-01"].iter().enumerate() {
            let now = strata::model::Timestamp::parse_flexible(now).unwrap();
            let started = Instant::now();
            let report = archive.lifecycle_run(now, |_, _| {}).unwrap();
            let seconds = started.elapsed().as_secs_f64();
            assert!(report.failed.is_empty(), "{:?}", report.failed);
            assert_eq!(report.events_moved, events);
            files[stage] = report.migrated.len();
            rates[stage].push(events as f64 / seconds);
        }
    }
    println!("| migration | files | events | events/s (median of {reps}) |");
    println!("|---|---|---|---|");
    for (stage, what) in [
        "hot JSONL (zstd 1) → cold Parquet (zstd 9)",
        "cold Parquet → archive Parquet (zstd 19, write-once)",
    ]
    .iter()
    .enumerate()
    {
        println!(
            "| {what} | {} | {events} | {:.2} M |",
            files[stage],
            median(rates[stage].clone()) / 1e6
        );
    }
}
