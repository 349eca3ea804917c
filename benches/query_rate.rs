//! Query rate (TIER-5, issue 12): one symbol's trades read in event-time order by strata's query
//! and by DuckDB (one thread) over the same files, with each process's peak memory, printed as
//! the table of `docs/PERFORMANCE.md` ("Query").
//!
//! ```text
//! cargo run --release -p strata-benches --bin query-rate
//! target/release/query-rate --reps 5
//! target/release/query-rate --exports-only  # the export table alone
//! target/release/query-rate --case cold-day batches target/strata-bench-query/cold  # one side
//! ```
//!
//! Input: the Lean SPY trades of 2013-10-07 (250,601 events; the committed cut without
//! `../shared/data`) imported into an archive with the Research profile (one daily hot file, zstd 1
//! sealed JSONL), and a copy whose lifecycle moved the day to the cold tier (Parquet, zstd 9),
//! both kept under `target/strata-bench-query/`. Cases:
//!
//! - `cold-slice`: the 30 minutes 14:00–14:30 UTC from the cold tier (Parquet);
//! - `cold-day`: the whole day from the cold tier;
//! - `hot-slice`: the same 30 minutes from the hot tier (JSONL), DuckDB through `read_json`.
//!
//! Each side runs in its own process under `/usr/bin/time -v` (peak resident memory of the whole
//! process) and times its repetitions itself (the median; start-up not timed): strata in its
//! columnar form (`QueryEngine::batches`, Arrow record batches, summing the price column) and
//! its event form (`QueryEngine::run`'s events, summing the prices), DuckDB materialises an Arrow
//! table (`to_arrow_table`, `benches/query_ref.py`). Both results are checked to hold the same number of rows.
//!
//! Then the export rates: the cold day's trades exported in each format (`export_rates`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use strata::archive::Archive;
use strata::import::{Format, ImportOptions};
use strata::ingest::WriterOptions;
use strata::model::{EventKind, Payload, Timestamp};
use strata::query::Query;
use strata_benches::ingest::{median, spy_trades_day1};

fn ts(text: &str) -> Timestamp {
    Timestamp::parse_flexible(text).unwrap()
}

/// The cases: name, tier, time range.
fn cases() -> Vec<(
    &'static str,
    &'static str,
    Option<Timestamp>,
    Option<Timestamp>,
)> {
    let (from, to) = (ts("2013-10-07T14:00:00Z"), ts("2013-10-07T14:30:00Z"));
    vec![
        ("cold-slice", "cold", Some(from), Some(to)),
        ("cold-day", "cold", None, None),
        ("hot-slice", "hot", Some(from), Some(to)),
    ]
}

/// The two archives (made once): hot as imported, and cold after the lifecycle.
fn archives() -> (PathBuf, PathBuf) {
    let base = strata_benches::target_dir().join("strata-bench-query");
    let (hot, cold) = (base.join("hot"), base.join("cold"));
    if hot.join("_catalog").exists() && cold.join("_catalog").exists() {
        return (hot, cold);
    }
    let _ = std::fs::remove_dir_all(&base);
    let input = spy_trades_day1();
    if input.is_cut {
        eprintln!("note: the committed cut of the SPY day, not the full file");
    }
    strata::archive::init(&hot, strata::Profile::Research, false).unwrap();
    let archive = Archive::open_dir(&hot).unwrap();
    let writer = archive.writer(WriterOptions::default()).unwrap();
    archive
        .import_file(
            &writer,
            &input.path,
            Format::Lean,
            &ImportOptions::default(),
            &mut |_| {},
        )
        .unwrap();
    writer.close().unwrap();
    drop(archive);
    copy_dir(&hot, &cold);
    let archive = Archive::open_dir(&cold).unwrap();
    let report = archive.lifecycle_run(ts("2013-12-01"), |_, _| {}).unwrap();
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    (hot, cold)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// The data files of an archive's tier: `*.parquet` or `*.jsonl*`, without sidecars.
fn data_files(root: &Path, tier: &str) -> Vec<String> {
    let archive = Archive::open_dir(root).unwrap();
    archive
        .catalog()
        .find(&strata::catalog::FileQuery::all())
        .unwrap()
        .into_iter()
        .filter(|m| m.tier.as_str() == tier)
        .map(|m| m.data_path(root).display().to_string())
        .collect()
}

/// In the child: runs one case `reps` times in strata's columnar form (Arrow batches, summing
/// the price column) and prints `{"rows":N,"seconds":S}`.
fn run_case_batches(root: &Path, from: Option<Timestamp>, to: Option<Timestamp>, reps: usize) {
    use arrow_array::cast::AsArray;
    use arrow_array::types::Decimal128Type;
    let archive = Archive::open_dir(root).unwrap();
    let engine = archive.query_engine().unwrap();
    let query = Query::all()
        .symbol("SPY")
        .kind(EventKind::Trade)
        .between(from, to);
    let mut seconds = Vec::new();
    let mut rows = 0;
    for _ in 0..reps {
        let started = Instant::now();
        let (mut n, mut sum) = (0usize, 0i128);
        for batch in engine.batches(&query).unwrap() {
            let batch = batch.unwrap();
            let price = batch
                .column_by_name("price")
                .unwrap()
                .as_primitive::<Decimal128Type>();
            sum = price.values().iter().fold(sum, |s, v| s.wrapping_add(*v));
            n += batch.num_rows();
        }
        seconds.push(started.elapsed().as_secs_f64());
        std::hint::black_box(sum);
        rows = n;
    }
    println!("{{\"rows\":{rows},\"seconds\":{}}}", median(&mut seconds));
}

/// In the child: runs one case `reps` times and prints `{"rows":N,"seconds":S}`.
fn run_case(root: &Path, from: Option<Timestamp>, to: Option<Timestamp>, reps: usize) {
    let archive = Archive::open_dir(root).unwrap();
    let engine = archive.query_engine().unwrap();
    let query = Query::all()
        .symbol("SPY")
        .kind(EventKind::Trade)
        .between(from, to);
    let mut seconds = Vec::new();
    let mut rows = 0;
    for _ in 0..reps {
        let started = Instant::now();
        // Each event is looked at (its price summed) and let go, as a reader of the stream
        // does; the sum keeps the work from being optimised away.
        let (mut n, mut sum) = (0usize, 0i128);
        for event in engine.run(&query).unwrap() {
            if let Payload::Trade(t) = event.unwrap().payload {
                sum = sum.wrapping_add(t.price.mantissa());
            }
            n += 1;
        }
        seconds.push(started.elapsed().as_secs_f64());
        std::hint::black_box(sum);
        rows = n;
    }
    println!("{{\"rows\":{rows},\"seconds\":{}}}", median(&mut seconds));
}

/// Runs `command` under `/usr/bin/time -v`: its last stdout line as JSON, and its peak RSS in MB.
fn measured(command: Command) -> (serde_json::Value, f64) {
    let program = command.get_program().to_owned();
    let args: Vec<_> = command.get_args().map(|a| a.to_owned()).collect();
    let out = Command::new("/usr/bin/time")
        .arg("-v")
        .arg(&program)
        .args(&args)
        .output()
        .expect("/usr/bin/time");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{program:?} failed: {stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().unwrap_or_default();
    let kb: f64 = stderr
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("Maximum resident set size (kbytes): ")
        })
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(f64::NAN);
    (serde_json::from_str(last).unwrap(), kb / 1024.0)
}

/// Export rates (EXPORT-1): the cold SPY day's trades exported by `strata::query::export` in
/// each format, the median of `reps` runs, printed as the table of `docs/PERFORMANCE.md`
/// ("Export").
fn export_rates(cold: &Path, reps: usize) {
    use strata::query::export::{export, ExportFormat, ExportOptions};
    let archive = Archive::open_dir(cold).unwrap();
    let engine = archive.query_engine().unwrap();
    let query = Query::all().symbol("SPY").kind(EventKind::Trade);
    let base = strata_benches::target_dir().join("strata-bench-export");
    println!();
    println!("| format | events | events/s | bytes | bytes/event |");
    println!("|---|---|---|---|---|");
    for (name, format, gzip) in [
        ("jsonl", ExportFormat::Jsonl, false),
        ("jsonl --gzip", ExportFormat::Jsonl, true),
        ("csv", ExportFormat::Csv, false),
        ("csv --gzip", ExportFormat::Csv, true),
        ("parquet", ExportFormat::Parquet, false),
        ("arrow", ExportFormat::Arrow, false),
        ("pg-copy", ExportFormat::Postgres, false),
        ("sql", ExportFormat::Sql, false),
        ("lean (equity ticks)", ExportFormat::Lean, false),
    ] {
        let lean = (format == ExportFormat::Lean).then(|| strata::query::lean::LeanTarget {
            security_type: strata::import::lean::LeanSecurityType::Equity,
            market: "usa".into(),
            quote_resolution: None,
        });
        let options = ExportOptions {
            gzip,
            lean,
            ..ExportOptions::new(format)
        };
        let mut seconds = Vec::new();
        let (mut events, mut bytes) = (0u64, 0u64);
        for _ in 0..reps {
            let _ = std::fs::remove_dir_all(&base);
            let started = Instant::now();
            let manifest = export(&engine, &query, Default::default(), &options, &base).unwrap();
            seconds.push(started.elapsed().as_secs_f64());
            events = manifest.events;
            bytes = manifest.files.iter().map(|f| f.bytes).sum();
        }
        let _ = std::fs::remove_dir_all(&base);
        let rate = events as f64 / median(&mut seconds);
        println!(
            "| {name} | {events} | {:.2} M | {bytes} | {:.1} |",
            rate / 1e6,
            bytes as f64 / events.max(1) as f64
        );
    }
}

fn main() {
    let mut reps = 3usize;
    let mut child: Option<(String, String, PathBuf)> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--reps" => reps = args.next().unwrap().parse().unwrap(),
            "--exports-only" => {
                let (_, cold) = archives();
                export_rates(&cold, reps);
                return;
            }
            "--case" => {
                child = Some((
                    args.next().unwrap(),
                    args.next().unwrap(),
                    PathBuf::from(args.next().unwrap()),
                ))
            }
            other => panic!("unknown option {other}"),
        }
    }
    if let Some((name, form, root)) = child {
        let (_, _, from, to) = cases().into_iter().find(|c| c.0 == name).unwrap();
        match form.as_str() {
            "events" => run_case(&root, from, to, reps),
            "batches" => run_case_batches(&root, from, to, reps),
            other => panic!("unknown form {other}"),
        }
        return;
    }
    let (hot, cold) = archives();
    let me = std::env::current_exe().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("query_ref.py");
    println!("| case | form | rows | strata rows/s | DuckDB rows/s | strata / DuckDB | strata peak RSS | DuckDB peak RSS |");
    println!("|---|---|---|---|---|---|---|---|");
    for (name, tier, from, to) in cases() {
        let root = if tier == "cold" { &cold } else { &hot };
        let mut forms = Vec::new();
        for form in ["batches", "events"] {
            let mut strata_cmd = Command::new(&me);
            strata_cmd
                .args(["--reps", &reps.to_string(), "--case", name, form])
                .arg(root);
            forms.push((form, measured(strata_cmd)));
        }
        let mut duck = Command::new("python3");
        duck.arg(&script).args([
            "--symbol",
            "SPY",
            "--kind",
            "trade",
            "--reps",
            &reps.to_string(),
        ]);
        if let Some(from) = from {
            duck.args(["--from", &from.as_nanos().to_string()]);
        }
        if let Some(to) = to {
            duck.args(["--to", &to.as_nanos().to_string()]);
        }
        let files = data_files(root, tier);
        if tier == "cold" {
            duck.arg("--parquet").args(&files);
        } else {
            // The scales of the day's prices and sizes, for DuckDB's DECIMAL columns.
            let archive = Archive::open_dir(root).unwrap();
            let (mut price, mut size) = (0u8, 0u8);
            for e in archive
                .query_engine()
                .unwrap()
                .run(&Query::all().symbol("SPY"))
                .unwrap()
            {
                if let Payload::Trade(t) = e.unwrap().payload {
                    price = price.max(t.price.scale());
                    size = size.max(t.size.scale());
                }
            }
            duck.args([
                "--scale",
                &format!("price={price}"),
                "--scale",
                &format!("size={size}"),
            ]);
            duck.arg("--jsonl").args(&files);
        }
        let (duck_out, duck_mb) = measured(duck);
        for (form, (strata_out, strata_mb)) in forms {
            let rows = strata_out["rows"].as_u64().unwrap();
            assert_eq!(
                Some(rows),
                duck_out["rows"].as_u64(),
                "{name} ({form}): row counts differ"
            );
            let strata_rate = rows as f64 / strata_out["seconds"].as_f64().unwrap();
            let duck_rate = rows as f64 / duck_out["seconds"].as_f64().unwrap();
            println!(
                "| {name} | {form} | {rows} | {:.2} M | {:.2} M | {:.2}× | {strata_mb:.0} MB | {duck_mb:.0} MB |",
                strata_rate / 1e6,
                duck_rate / 1e6,
                strata_rate / duck_rate
            );
        }
    }
    export_rates(&cold, reps);
}
