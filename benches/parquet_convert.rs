//! JSONL → Parquet conversion on real market data, strata against DuckDB and pyarrow (issue 11,
//! TIER-1/TIER-6), printed as the Markdown tables of `docs/PERFORMANCE.md` ("JSONL → Parquet").
//!
//! ```text
//! cargo run --release -p strata-benches --bin parquet-convert
//! target/release/parquet-convert --reps 3 --tools duckdb,pyarrow
//! target/release/parquet-convert --tools "" --no-archive   # strata alone, cold tier only
//! target/release/parquet-convert --only dbn-mbo             # inputs whose name-kind holds this
//! ```
//!
//! Inputs: the Lean SPY trades of 2013-10-07, the Lean AIG quotes of 2013-10-09, the Binance
//! USDⓈ-M BTCUSDT capture of 2024-08-08 (trades, best bid/offer, depth deltas) and the Databento
//! ESH4 MBO file, each imported by strata and written as strata JSONL, one file per kind, in
//! `target/strata-bench-parquet/`. Each tool then converts the same file, one thread each:
//!
//! - strata: read the file, decode, sort by event time, write Parquet (zstd 3, the cold tier;
//!   zstd 19, the archive tier, is measured for size), then read it back and compare the count
//!   and digest with the source (not timed);
//! - DuckDB and pyarrow: `benches/parquet_ref.py` (`SET threads=1`, explicit column types,
//!   decimals as DECIMAL(18, s), `ORDER BY ts`, zstd), which checks its own output's count and
//!   price sum.
//!
//! Rows/s is the median over `--reps` (default 3) runs of each tool; bytes per event is the
//! output file size over the event count.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use strata_benches::data::{data_dir, target_dir};
use strata_benches::ingest::{load_events, spy_trades_day1, InputFile};
use strata_columnar::{jsonl_to_parquet, read_events, EventDigest, ParquetOptions};
use strata_import::Format;
use strata_model::{jsonl, Event, EventKind};

struct Input {
    name: String,
    kind: EventKind,
    path: PathBuf,
    events: u64,
    digest: EventDigest,
}

fn inputs(dir: &Path) -> Vec<Input> {
    let mut files = vec![spy_trades_day1()];
    for (name, path, format) in [
        (
            "lean-aig-2013-10-09",
            "lean/equity/usa/tick/aig/20131009_quote.zip",
            Format::Lean,
        ),
        (
            "dbn-mbo-esh4-2023-12-25",
            "nautilus/databento/esh4-glbx-mdp3-20231225.mbo.dbn.zst",
            Format::Dbn,
        ),
    ] {
        let path = data_dir().join(path);
        if path.is_file() {
            files.push(InputFile {
                name,
                path,
                format,
                is_cut: false,
            });
        } else {
            eprintln!("skipping {name}: {} not found", path.display());
        }
    }
    let capture = strata_benches::data::binance_btcusdt_capture().expect("the Binance capture");
    let capture_path = dir.join("binance-capture.txt");
    std::fs::write(&capture_path, &capture.bytes).unwrap();
    files.push(InputFile {
        name: "binance-btcusdt-2024-08-08",
        path: capture_path,
        format: Format::Binance,
        is_cut: capture.is_cut,
    });
    let mut out = Vec::new();
    for file in files {
        if file.is_cut {
            eprintln!(
                "note: {} is the committed cut, not the full file",
                file.name
            );
        }
        let events = load_events(&file).unwrap();
        let mut by_kind: BTreeMap<EventKind, Vec<Event>> = BTreeMap::new();
        for e in events {
            by_kind.entry(e.kind()).or_default().push(e);
        }
        for (kind, events) in by_kind {
            if events.len() < 1000 {
                continue;
            }
            let path = dir.join(format!("{}-{}.jsonl", file.name, kind));
            let mut bytes = Vec::new();
            for e in &events {
                jsonl::encode_into(e, &mut bytes).unwrap();
            }
            std::fs::write(&path, bytes).unwrap();
            out.push(Input {
                name: file.name.to_string(),
                kind,
                path,
                events: events.len() as u64,
                digest: EventDigest::of(&events),
            });
        }
    }
    out
}

struct Run {
    seconds: f64,
    bytes: u64,
}

fn strata(input: &Input, options: &ParquetOptions, out: &Path) -> Run {
    let start = Instant::now();
    let bytes = std::fs::read(&input.path).unwrap();
    let files = jsonl_to_parquet(&input.path.display().to_string(), &bytes, options).unwrap();
    assert_eq!(files.len(), 1);
    std::fs::write(out, &files[0].bytes).unwrap();
    let seconds = start.elapsed().as_secs_f64();
    // Not timed: the file holds the very events of the source.
    let (meta, back) = read_events(std::fs::File::open(out).unwrap()).unwrap();
    assert_eq!(meta.digest, input.digest, "{}", out.display());
    assert_eq!(EventDigest::of(&back), input.digest, "{}", out.display());
    Run {
        seconds,
        bytes: std::fs::metadata(out).unwrap().len(),
    }
}

fn reference(input: &Input, tools: &str, dir: &Path) -> BTreeMap<String, Run> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("parquet_ref.py");
    let output = Command::new("python3")
        .arg(&script)
        .args(["--input".as_ref(), input.path.as_os_str()])
        .args(["--kind", input.kind.as_str(), "--tools", tools])
        .args(["--out".as_ref(), dir.as_os_str()])
        .output()
        .expect("python3");
    assert!(
        output.status.success(),
        "{} failed: {}",
        script.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let mut runs = BTreeMap::new();
    for line in String::from_utf8(output.stdout).unwrap().lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["rows"].as_u64(), Some(input.events), "{line}");
        runs.insert(
            v["tool"].as_str().unwrap().to_string(),
            Run {
                seconds: v["seconds"].as_f64().unwrap(),
                bytes: v["bytes"].as_u64().unwrap(),
            },
        );
    }
    runs
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let mut reps = 3;
    let mut tools = String::from("duckdb,pyarrow");
    let mut archive_level = Some(ParquetOptions::archive());
    let mut only: Option<String> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--reps" => reps = args.next().unwrap().parse().unwrap(),
            "--tools" => tools = args.next().unwrap(),
            "--no-archive" => archive_level = None,
            "--only" => only = Some(args.next().unwrap()),
            other => panic!("unknown option {other}"),
        }
    }
    let dir = target_dir().join("strata-bench-parquet");
    std::fs::create_dir_all(&dir).unwrap();
    let mut inputs = inputs(&dir);
    if let Some(only) = &only {
        inputs.retain(|i| format!("{}-{}", i.name, i.kind).contains(only.as_str()));
    }
    let tool_names: Vec<&str> = tools.split(',').filter(|t| !t.is_empty()).collect();

    println!(
        "| input | kind | events | strata rows/s | {} | strata / DuckDB |",
        tool_names
            .iter()
            .map(|t| format!("{t} rows/s"))
            .collect::<Vec<_>>()
            .join(" | ")
    );
    println!("|---|---|---|---|{}---|", "---|".repeat(tool_names.len()));
    let mut sizes = Vec::new();
    for input in &inputs {
        let cold = ParquetOptions::default();
        let mut strata_s = Vec::new();
        let mut ref_s: BTreeMap<String, Vec<f64>> = BTreeMap::new();
        let mut ref_bytes = BTreeMap::new();
        let mut cold_bytes = 0;
        for _ in 0..reps {
            let run = strata(input, &cold, &dir.join("strata-cold.parquet"));
            strata_s.push(run.seconds);
            cold_bytes = run.bytes;
            if !tool_names.is_empty() {
                for (tool, run) in reference(input, &tools, &dir) {
                    ref_s.entry(tool.clone()).or_default().push(run.seconds);
                    ref_bytes.insert(tool, run.bytes);
                }
            }
        }
        let archive = archive_level.as_ref().map_or(0, |options| {
            strata(input, options, &dir.join("strata-archive.parquet")).bytes
        });
        let rate = |s: f64| input.events as f64 / s;
        let strata_rate = rate(median(strata_s));
        let ref_rates: BTreeMap<&str, f64> = ref_s
            .iter()
            .map(|(t, s)| (t.as_str(), rate(median(s.clone()))))
            .collect();
        let cols: Vec<String> = tool_names
            .iter()
            .map(|t| {
                ref_rates
                    .get(t)
                    .map_or("–".into(), |r| format!("{:.2} M", r / 1e6))
            })
            .collect();
        let ratio = ref_rates
            .get("duckdb")
            .map_or("–".into(), |d| format!("{:.2}×", strata_rate / d));
        println!(
            "| {} | {} | {} | {:.2} M | {} | {} |",
            input.name,
            input.kind,
            input.events,
            strata_rate / 1e6,
            cols.join(" | "),
            ratio
        );
        sizes.push((input, cold_bytes, archive, ref_bytes));
    }
    println!();
    println!("| input | kind | strata cold (zstd 3) B/event | strata archive (zstd 19) B/event | {} | archive / smaller reference |", tool_names.iter().map(|t| format!("{t} B/event")).collect::<Vec<_>>().join(" | "));
    println!("|---|---|---|---|{}---|", "---|".repeat(tool_names.len()));
    for (input, cold, archive, refs) in sizes {
        let per = |b: u64| b as f64 / input.events as f64;
        let cols: Vec<String> = tool_names
            .iter()
            .map(|t| {
                refs.get(*t)
                    .map_or("–".into(), |b| format!("{:.2}", per(*b)))
            })
            .collect();
        let smaller = refs.values().copied().min();
        let ratio = smaller.map_or("–".into(), |s| {
            format!("{:.2}", archive as f64 / s as f64)
        });
        println!(
            "| {} | {} | {:.2} | {:.2} | {} | {} |",
            input.name,
            input.kind,
            per(cold),
            per(archive),
            cols.join(" | "),
            ratio
        );
    }
}
