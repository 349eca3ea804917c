//! How fast refused rows reach the quarantine, against good rows (issue 8: "write rejects in
//! batches, durably, at ≥ 50 % of the good-row rate"), printed as the Markdown table of
//! `docs/PERFORMANCE.md` ("Quarantine").
//!
//! ```text
//! cargo run --release -p strata-benches --bin reject-rate
//! target/release/reject-rate --reps 5
//! ```
//!
//! Per repetition, each on a fresh temporary folder (`TMPDIR` chooses where):
//!
//! - **import, good rows**: Lean SPY 2013-10-07 (250,601 trades) through
//!   `strata::archive::Archive::import_file`, as `strata ingest` runs it (hash, stage, commit);
//! - **import, every row rejected**: the same day's CSV with every price replaced by `x` (the
//!   importer rejects each row, naming the column), imported the same way: every row goes to
//!   the import's quarantine, which its commit makes durable;
//!
//! The live path (`Writer::append_batch`) fsyncs a batch's refused events once per batch too;
//! it is not measured here.
//!
//! Rows/s = rows handled ÷ time; the ratio is the refused rate over the good rate of the same
//! path and repetition.

// A measuring program: a failure is a panic with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};

use strata_benches::ingest::{
    ingest_config, load_events, median, run_import_into_writer, spy_trades_day1, InputFile,
    SealSetting,
};
use strata_import::Format;

fn thousands(n: f64) -> String {
    strata_benches::grouped(n.round() as u64)
}

/// The day's CSV with every price column (the second) replaced by `x`.
fn every_row_bad(spy: &InputFile, dir: &std::path::Path) -> InputFile {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&spy.path).unwrap()).unwrap();
    let mut csv = String::new();
    zip.by_index(0).unwrap().read_to_string(&mut csv).unwrap();
    let folder = dir.join("equity/usa/tick/spy");
    std::fs::create_dir_all(&folder).unwrap();
    let path = folder.join("20131007_trade.csv");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    for line in csv.lines() {
        let mut fields = line.splitn(3, ',');
        let (ms, _price, rest) = (fields.next().unwrap(), fields.next(), fields.next());
        writeln!(out, "{ms},x,{}", rest.unwrap_or_default()).unwrap();
    }
    out.flush().unwrap();
    InputFile {
        name: "lean-spy-2013-10-07, every price `x`",
        path,
        format: Format::Lean,
        is_cut: spy.is_cut,
    }
}

fn main() {
    let mut reps = 3usize;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--reps" => reps = args.next().and_then(|s| s.parse().ok()).expect("--reps N"),
            other => {
                panic!("unknown option {other} (see the doc comment of benches/reject_rate.rs)")
            }
        }
    }
    let spy = spy_trades_day1();
    let events = load_events(&spy).unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let bad = every_row_bad(&spy, scratch.path());
    println!(
        "reject-rate: {} UTC, {} events from {}{}",
        chrono::Utc::now().format("%Y-%m-%d %H:%M"),
        events.len(),
        spy.path.display(),
        if spy.is_cut { " (a committed cut)" } else { "" }
    );
    let config = || ingest_config(SealSetting::Zstd1, 10);
    let (mut import_good, mut import_bad) = (Vec::new(), Vec::new());
    for rep in 0..reps {
        let dir = tempfile::tempdir().unwrap();
        let good = run_import_into_writer(&spy, 1000, config(), &dir.path().join("good")).unwrap();
        assert_eq!(good.events as usize, events.len());
        let refused =
            run_import_into_writer(&bad, 1000, config(), &dir.path().join("bad")).unwrap();
        assert_eq!(
            (refused.events, refused.not_imported as usize),
            (0, events.len())
        );
        import_good.push(good.events as f64 / good.elapsed.as_secs_f64());
        import_bad.push(refused.not_imported as f64 / refused.elapsed.as_secs_f64());

        println!(
            "rep {rep}: import good {} rows/s, rejected {} rows/s",
            thousands(import_good[rep]),
            thousands(import_bad[rep]),
        );
    }
    let row = |name: &str, good: &mut Vec<f64>, bad: &mut Vec<f64>| {
        let ratios: Vec<f64> = bad.iter().zip(good.iter()).map(|(b, g)| b / g).collect();
        let (g, b) = (median(good), median(bad));
        let (lo, hi) = ratios
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), r| {
                (lo.min(*r), hi.max(*r))
            });
        println!(
            "| {name} | {} | {} | {:.2} ({lo:.2}–{hi:.2}) |",
            thousands(g),
            thousands(b),
            b / g
        );
    };
    println!("\n| path | good rows/s (median of {reps}) | refused rows/s (median) | refused ÷ good (min–max per repetition) |");
    println!("|---|---:|---:|---:|");
    row(
        "import (`Archive::import_file`, staged, committed)",
        &mut import_good,
        &mut import_bad,
    );
}
