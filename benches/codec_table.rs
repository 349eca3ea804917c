//! Measures codecs on both real datasets with `strata_codec::measure_one`, prints a Markdown table
//! per dataset and the advisor's answers, and saves the measurements as JSON for policies.
//!
//! ```text
//! cargo run --release -p strata-benches --bin codec-table
//! cargo run --release -p strata-benches --bin codec-table -- --codecs lz4,zstd:3 --min-time-ms 200
//! ```
//!
//! Options:
//! - `--codecs LIST`: comma-separated specs, or `all` for every level of every codec (default: none,
//!   lz4, gzip 1–9, zstd 1–22, and zstd 3, 9, 19, 22 with long-distance matching).
//! - `--min-time-ms N`: minimum time each codec is repeated for, per direction (default 1000).
//! - `--max-bytes N`: cut each dataset to its first N bytes at a line boundary (default: whole).
//! - `--json PATH`: where to save the measurements (default `target/codec-measurements.json`), a
//!   JSON array of `strata_codec::MeasurementReport`, one per dataset.
//! - `--ratio R`, `--speed S`: advisor questions to answer, repeatable (default ratio 5 and 10,
//!   speed 100 and 20 MB/s).

// Benches and their helpers may panic on bad fixtures.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use strata_benches::{all_datasets, grouped, parse_codec_list, target_dir, Dataset};
use strata_codec::{
    fastest_with_ratio_at_least, measure_one, smallest_at_speed_at_least, CodecSpec, Measurement,
    MeasurementReport,
};

const USAGE: &str = "\
usage: codec-table [--codecs LIST|all] [--min-time-ms N] [--max-bytes N] [--json PATH]
                   [--ratio R]... [--speed S]...
Measures codecs on Lean SPY trades as strata JSONL and on the Binance BTCUSDT capture, prints
Markdown tables and the advisor's answers, and saves the measurements as JSON.";

struct Options {
    codecs: Vec<CodecSpec>,
    min_time: Duration,
    max_bytes: Option<usize>,
    json: PathBuf,
    ratios: Vec<f64>,
    speeds: Vec<f64>,
}

fn default_codecs() -> Vec<CodecSpec> {
    let mut specs = vec![CodecSpec::None, CodecSpec::Lz4];
    specs.extend((1..=9).map(|level| CodecSpec::Gzip { level }));
    specs.extend((1..=22).map(|level| CodecSpec::Zstd { level, long: false }));
    specs.extend([3, 9, 19, 22].map(|level| CodecSpec::Zstd { level, long: true }));
    specs
}

fn parse_args() -> Result<Options> {
    let mut options = Options {
        codecs: default_codecs(),
        min_time: Duration::from_millis(1000),
        max_bytes: None,
        json: target_dir().join("codec-measurements.json"),
        ratios: Vec::new(),
        speeds: Vec::new(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().with_context(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--codecs" => {
                let list = value()?;
                options.codecs = if list == "all" {
                    CodecSpec::every_level()
                } else {
                    parse_codec_list(&list)?
                };
            }
            "--min-time-ms" => {
                options.min_time = Duration::from_millis(value()?.parse().context("--min-time-ms")?)
            }
            "--max-bytes" => options.max_bytes = Some(value()?.parse().context("--max-bytes")?),
            "--json" => options.json = PathBuf::from(value()?),
            "--ratio" => options.ratios.push(value()?.parse().context("--ratio")?),
            "--speed" => options.speeds.push(value()?.parse().context("--speed")?),
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => bail!("unknown option `{other}` (try --help)"),
        }
    }
    if options.ratios.is_empty() {
        options.ratios = vec![5.0, 10.0];
    }
    if options.speeds.is_empty() {
        options.speeds = vec![100.0, 20.0];
    }
    Ok(options)
}

fn codec_and_level(spec: CodecSpec) -> (String, String) {
    match spec {
        CodecSpec::None => ("none".into(), "–".into()),
        CodecSpec::Lz4 => ("lz4 (frame)".into(), "–".into()),
        CodecSpec::Gzip { level } => ("gzip".into(), level.to_string()),
        CodecSpec::Zstd { level, long: false } => ("zstd".into(), level.to_string()),
        CodecSpec::Zstd { level, long: true } => ("zstd long".into(), level.to_string()),
    }
}

fn print_table(dataset: &Dataset, measurements: &[Measurement], options: &Options) {
    println!("### {}\n", dataset.title);
    println!(
        "Input: {} bytes, {} records, from `{}`{}.\n",
        grouped(dataset.bytes.len() as u64),
        grouped(dataset.records as u64),
        dataset.source.display(),
        if dataset.is_cut {
            " (a committed cut: the full data was not found)"
        } else {
            ""
        },
    );
    println!("| codec | level | ratio | compressed bytes | compress MB/s | decompress MB/s |");
    println!("|---|---:|---:|---:|---:|---:|");
    for m in measurements {
        let (codec, level) = match m.codec.spec() {
            Some(spec) => codec_and_level(spec),
            None => (
                m.codec.name().to_string(),
                m.codec.level().map_or("–".into(), |l| l.to_string()),
            ),
        };
        println!(
            "| {codec} | {level} | {:.2} | {} | {:.1} | {:.1} |",
            m.ratio(),
            grouped(m.output_bytes),
            m.compress_mb_s,
            m.decompress_mb_s
        );
    }
    println!("\nAdvisor:\n");
    for &ratio in &options.ratios {
        match fastest_with_ratio_at_least(measurements, ratio) {
            Some(advice) => println!(
                "- fastest with ratio ≥ {ratio}: **{}**. {}",
                advice.codec(),
                advice.reason
            ),
            None => {
                println!("- fastest with ratio ≥ {ratio}: none of the measured codecs reaches it.")
            }
        }
    }
    for &speed in &options.speeds {
        match smallest_at_speed_at_least(measurements, speed) {
            Some(advice) => println!(
                "- smallest at ≥ {speed} MB/s: **{}**. {}",
                advice.codec(),
                advice.reason
            ),
            None => {
                println!("- smallest at ≥ {speed} MB/s: none of the measured codecs is that fast.")
            }
        }
    }
    println!();
}

fn main() -> Result<()> {
    let options = parse_args()?;
    let started = chrono::Utc::now();
    let clock = Instant::now();
    let mut reports = Vec::new();
    let mut tables = Vec::new();
    for dataset in all_datasets()? {
        let dataset = match options.max_bytes {
            Some(max) => dataset.truncated(max),
            None => dataset,
        };
        eprintln!(
            "{}: {} bytes from {}",
            dataset.name,
            dataset.bytes.len(),
            dataset.source.display()
        );
        let mut measurements = Vec::with_capacity(options.codecs.len());
        for &spec in &options.codecs {
            let m = measure_one(&dataset.bytes, spec, options.min_time)
                .with_context(|| format!("{} with {spec}", dataset.name))?;
            eprintln!(
                "  {spec:>13}: ratio {:6.2}, compress {:8.1} MB/s, decompress {:8.1} MB/s  [{:.0?} elapsed]",
                m.ratio(),
                m.compress_mb_s,
                m.decompress_mb_s,
                clock.elapsed()
            );
            measurements.push(m);
        }
        reports.push(MeasurementReport {
            dataset: dataset.name.to_string(),
            sample_bytes: dataset.bytes.len() as u64,
            min_duration_ms: u64::try_from(options.min_time.as_millis()).unwrap_or(u64::MAX),
            measurements: measurements.clone(),
        });
        tables.push((dataset, measurements));
    }

    println!(
        "Measured {} UTC in {:.0} s; each codec repeated for at least {} ms per direction, one \
         thread, in-process; MB = 10^6 bytes of plain data.\n",
        started.format("%Y-%m-%d %H:%M"),
        clock.elapsed().as_secs_f64(),
        options.min_time.as_millis()
    );
    for (dataset, measurements) in &tables {
        print_table(dataset, measurements, &options);
    }

    if let Some(dir) = options.json.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(&options.json, serde_json::to_vec_pretty(&reports)?)
        .with_context(|| format!("writing {}", options.json.display()))?;
    eprintln!("measurements saved to {}", options.json.display());
    Ok(())
}
