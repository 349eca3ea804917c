//! Codec throughput on real market data (CODEC-3): compress and decompress, per codec and
//! level, on Lean SPY trades as strata JSONL and on the Binance BTCUSDT capture.
//!
//! ```text
//! cargo bench -p strata-benches --bench codecs
//! STRATA_BENCH_CODECS=lz4,zstd:3 STRATA_BENCH_BYTES=1048576 cargo bench -p strata-benches --bench codecs
//! ```
//!
//! - `STRATA_BENCH_CODECS`: comma-separated codec list (default
//!   [`DEFAULT_BENCH_CODECS`](strata_benches::DEFAULT_BENCH_CODECS)).
//! - `STRATA_BENCH_BYTES`: sample size per dataset, cut at a line boundary (default 4 MiB, `0`
//!   for the whole file). Criterion repeats each case at least ten times, so whole files at
//!   zstd 19 take minutes; the full-file figures come from the `codec-table` binary instead.
//!
//! Throughput is reported in bytes of plain data per second for both directions.

// Benches may panic on bad fixtures; `criterion_group!` generates an undocumented `pub fn`.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::Duration;

use criterion::{
    criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput,
};
use strata_benches::{all_datasets, codecs_from_env, DEFAULT_BENCH_CODECS};
use strata_codec::{compress, compress_into, decompress, Decoder};

const DEFAULT_SAMPLE_BYTES: usize = 4 << 20;

fn sample_bytes() -> usize {
    match std::env::var("STRATA_BENCH_BYTES") {
        Ok(text) => match text.trim().parse::<usize>() {
            Ok(0) => usize::MAX,
            Ok(n) => n,
            Err(_) => panic!("STRATA_BENCH_BYTES=`{text}` is not a byte count"),
        },
        Err(_) => DEFAULT_SAMPLE_BYTES,
    }
}

fn codecs(c: &mut Criterion) {
    let specs = codecs_from_env("STRATA_BENCH_CODECS", DEFAULT_BENCH_CODECS).unwrap();
    let max_bytes = sample_bytes();
    for dataset in all_datasets().unwrap() {
        let sample = dataset.truncated(max_bytes);
        eprintln!(
            "{}: {} bytes, {} records from {}{}",
            sample.name,
            sample.bytes.len(),
            sample.records,
            sample.source.display(),
            if sample.is_cut {
                " (committed cut: full data not found)"
            } else {
                ""
            },
        );
        let plain = sample.bytes.as_slice();

        let mut group = c.benchmark_group(format!("compress/{}", sample.name));
        group.throughput(Throughput::Bytes(plain.len() as u64));
        // Flat sampling: slow levels run a fixed, small number of iterations per sample.
        group.sampling_mode(SamplingMode::Flat);
        group.sample_size(10);
        group.warm_up_time(Duration::from_millis(500));
        group.measurement_time(Duration::from_secs(2));
        for &spec in &specs {
            let mut out = Vec::with_capacity(plain.len());
            group.bench_with_input(BenchmarkId::from_parameter(spec), &spec, |b, &spec| {
                b.iter(|| {
                    out.clear();
                    compress_into(spec, plain, &mut out).unwrap();
                    out.len()
                });
            });
        }
        group.finish();

        let mut group = c.benchmark_group(format!("decompress/{}", sample.name));
        group.throughput(Throughput::Bytes(plain.len() as u64));
        group.sampling_mode(SamplingMode::Flat);
        group.sample_size(10);
        group.warm_up_time(Duration::from_millis(500));
        group.measurement_time(Duration::from_secs(2));
        for &spec in &specs {
            let packed = compress(spec, plain).unwrap();
            assert!(
                decompress(&packed).unwrap() == plain,
                "{spec}: round trip changed the data"
            );
            let mut out = Vec::with_capacity(plain.len());
            group.bench_with_input(BenchmarkId::from_parameter(spec), &spec, |b, &spec| {
                b.iter(|| {
                    out.clear();
                    Decoder::new(spec.codec_family(), packed.as_slice())
                        .unwrap()
                        .read_all_into(&mut out)
                        .unwrap()
                });
            });
        }
        group.finish();
    }
}

criterion_group!(benches, codecs);
criterion_main!(benches);
