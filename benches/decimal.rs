//! Decimal parse and text speed (issue 8, MODEL-2): strata's `Decimal` against `rust_decimal`
//! on the prices and sizes of the real Binance capture (`../shared/data/hftbacktest`), plus the
//! long texts vendors also write (float artifacts such as `0.0038217599999999996`, large
//! notionals). Run: `cargo bench -p strata-benches --bench decimal`.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Write as _;
use std::hint::black_box;
use std::io::BufRead;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

/// Every quoted decimal of the first lines of the Binance capture (prices like `"58710.20"`,
/// sizes like `"0.014"`), or a small built-in set when the shared data is absent.
fn capture_texts() -> Vec<String> {
    let path = strata_benches::data_dir().join("hftbacktest/usdm/btcusdt_20240808.gz");
    let Ok(file) = std::fs::File::open(&path) else {
        return ["58710.20", "0.014", "61496.50", "1.211", "0.000", "60123.1"]
            .iter()
            .map(|s| (*s).to_string())
            .collect();
    };
    let mut out = Vec::new();
    let reader = std::io::BufReader::new(flate2::read::GzDecoder::new(file));
    for line in reader.lines().take(20_000) {
        let line = line.unwrap();
        for piece in line.split('"') {
            let numeric = !piece.is_empty()
                && piece.contains('.')
                && piece
                    .bytes()
                    .all(|b| b.is_ascii_digit() || b == b'.' || b == b'-');
            if numeric {
                out.push(piece.to_string());
            }
        }
        if out.len() >= 200_000 {
            break;
        }
    }
    out
}

/// Texts near the limits: 17 to 28 significant digits (what `rust_decimal` can also hold).
fn long_texts() -> Vec<String> {
    [
        "0.0038217599999999996",
        "0.30000000000000004",
        "1234567890123.4567890123",
        "9999999999999999999.99",
        "-0.000000000000000000000001",
        "71234.123456789012345678",
    ]
    .iter()
    .map(|s| (*s).to_string())
    .collect()
}

fn bench_set(c: &mut Criterion, name: &str, texts: &[String]) {
    if let Some(t) = texts
        .iter()
        .find(|t| t.parse::<strata_model::Decimal>().is_err())
    {
        eprintln!("decimal/{name}: skipped, strata cannot hold `{t}`");
        return;
    }
    let mut group = c.benchmark_group(format!("decimal/{name}"));
    group.throughput(Throughput::Elements(texts.len() as u64));
    group.bench_function("strata parse", |b| {
        b.iter(|| {
            for t in texts {
                black_box(t.parse::<strata_model::Decimal>().unwrap());
            }
        });
    });
    group.bench_function("rust_decimal parse", |b| {
        b.iter(|| {
            for t in texts {
                black_box(t.parse::<rust_decimal::Decimal>().unwrap());
            }
        });
    });
    let ours: Vec<strata_model::Decimal> = texts.iter().map(|t| t.parse().unwrap()).collect();
    let theirs: Vec<rust_decimal::Decimal> = texts.iter().map(|t| t.parse().unwrap()).collect();
    for (t, (a, b)) in texts.iter().zip(ours.iter().zip(&theirs)) {
        assert_eq!(&a.to_string(), t, "strata keeps the text");
        assert_eq!(&b.to_string(), t, "rust_decimal keeps the text");
    }
    let mut buf = String::with_capacity(64);
    group.bench_function("strata text", |b| {
        b.iter(|| {
            for d in &ours {
                buf.clear();
                write!(buf, "{d}").unwrap();
                black_box(&buf);
            }
        });
    });
    group.bench_function("rust_decimal text", |b| {
        b.iter(|| {
            for d in &theirs {
                buf.clear();
                write!(buf, "{d}").unwrap();
                black_box(&buf);
            }
        });
    });
    group.finish();
}

fn decimals(c: &mut Criterion) {
    let capture = capture_texts();
    eprintln!("capture corpus: {} decimal texts", capture.len());
    bench_set(c, "capture", &capture);
    bench_set(c, "long", &long_texts());
}

criterion_group!(benches, decimals);
criterion_main!(benches);
