//! Durable ingest of real trades on one core with group commit (INGEST-1/2): strata's writer
//! against a plain serde_json ceiling, plus the JSONL encoder alone.
//!
//! ```text
//! cargo bench -p strata-benches --bench ingest
//! STRATA_BENCH_EVENTS=50000 cargo bench -p strata-benches --bench ingest -- durable
//! ```
//!
//! - `durable/<input>/strata-seal-{none,lz4,gzip:6}`: a writer on a fresh folder with
//!   [`ingest_config`] (LowLatency profile: hourly files; group commit every 10 ms), the events
//!   appended in batches of 1,000; each iteration is timed from the first append until `flush()`
//!   returned a watermark covering the last event (open and close are outside the clock).
//!   Segments are sealed on the appending thread when their hour ends, inside the clock.
//! - `durable/<input>/strata-seal-none-daily`: the same with daily files, so nothing is sealed
//!   before `close()` (outside the clock).
//! - `durable/<input>/serde_json-ceiling`: the same events as a `#[derive(Serialize)]` row
//!   (byte-identical to strata's line) through serde_json into one `BufWriter<File>`, one final
//!   fsync.
//! - `encode/<input>/{strata-jsonl,serde-derive}`: the two encoders into memory, no I/O.
//!
//! Throughput is in events. `STRATA_BENCH_EVENTS` limits the events (default: the whole day,
//! 250,601 events; the committed 2,000-row cut without `../shared/data`). The `ingest-rate`
//! binary prints the same comparison as a table with CPU time per thread.

// Benches may panic on bad fixtures; `criterion_group!` generates an undocumented `pub fn`.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use strata_benches::ingest::{
    check_ceiling_bytes, ingest_config, load_events, run_serde_ceiling, run_strata,
    spy_trades_day1, SealSetting, TradeRow,
};
use strata_core::config::Config;
use strata_core::layout::Granularity;
use strata_model::jsonl;

const BATCH: usize = 1_000;
const INTERVAL_MS: u64 = 10;

fn events_limit() -> Option<usize> {
    let text = std::env::var("STRATA_BENCH_EVENTS").ok()?;
    match text.trim().parse::<usize>() {
        Ok(0) => None,
        Ok(n) => Some(n),
        Err(_) => panic!("STRATA_BENCH_EVENTS=`{text}` is not a count"),
    }
}

fn ingest(c: &mut Criterion) {
    let input = spy_trades_day1();
    let mut events = load_events(&input).unwrap();
    if let Some(n) = events_limit() {
        events.truncate(n);
    }
    check_ceiling_bytes(&events).unwrap();
    eprintln!(
        "{}: {} events from {}{}",
        input.name,
        events.len(),
        input.path.display(),
        if input.is_cut {
            " (committed cut: full data not found)"
        } else {
            ""
        }
    );

    let mut group = c.benchmark_group(format!("durable/{}", input.name));
    group.throughput(Throughput::Elements(events.len() as u64));
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(8));
    group.bench_function("serde_json-ceiling", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let dir = tempfile::tempdir().unwrap();
                total += run_serde_ceiling(&events, &dir.path().join("ceiling.jsonl"))
                    .unwrap()
                    .elapsed;
            }
            total
        });
    });
    let mut settings: Vec<(String, Config)> = SealSetting::ALL
        .iter()
        .map(|&seal| {
            (
                format!("strata-seal-{}", seal.name()),
                ingest_config(seal, INTERVAL_MS),
            )
        })
        .collect();
    let mut daily = ingest_config(SealSetting::None, INTERVAL_MS);
    daily.layout.granularity = Granularity::Daily;
    settings.push(("strata-seal-none-daily".into(), daily));
    for (name, config) in settings {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let dir = tempfile::tempdir().unwrap();
                    // The same run as `ingest-rate`: first append to durable watermark.
                    let run =
                        run_strata(&events, BATCH, config.clone(), &dir.path().join("archive"))
                            .unwrap();
                    total += run.durable;
                }
                total
            });
        });
    }
    group.finish();

    let mut group = c.benchmark_group(format!("encode/{}", input.name));
    group.throughput(Throughput::Elements(events.len() as u64));
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(5));
    let mut out = Vec::with_capacity(events.len() * 200);
    group.bench_function("strata-jsonl", |b| {
        b.iter(|| {
            out.clear();
            for event in &events {
                jsonl::encode_into(event, &mut out).unwrap();
            }
            out.len()
        });
    });
    group.bench_function("serde-derive", |b| {
        b.iter(|| {
            out.clear();
            for event in &events {
                serde_json::to_writer(&mut out, &TradeRow::of(event).unwrap()).unwrap();
                out.push(b'\n');
            }
            out.len()
        });
    });
    group.finish();
}

criterion_group!(benches, ingest);
criterion_main!(benches);
