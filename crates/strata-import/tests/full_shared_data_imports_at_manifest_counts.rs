//! Imports every file of the shared data set in full and checks its row count against
//! `MANIFEST.tsv`, printing the import rate. Ignored by default (it reads ~5 M rows); run it in
//! release mode where `../shared/data` (or `$STRATA_DATA_DIR`) exists:
//!
//! ```text
//! cargo test -p strata-import --test full_shared_data_imports_at_manifest_counts -- --nocapture
//! ```
//!
//! MANIFEST counts lines the way `wc -l` does (newline characters). Lean's equity, forex and
//! daily CSVs have no newline after their last row, so they hold one row more than MANIFEST says
//! (SPY 2013-10-07: 250,600 newlines, 250,601 rows); the test checks that too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::time::Instant;

use strata_import::{import_file, Format, ImportOptions, ImportSummary};

use common::shared_data;

/// (file, format, MANIFEST records, whether the last row lacks a newline)
const FILES: &[(&str, Format, u64, bool)] = &[
    ("lean/equity/usa/tick/spy/20131007_trade.zip", Format::Lean, 250_600, true),
    ("lean/equity/usa/tick/spy/20131008_trade.zip", Format::Lean, 451_544, true),
    ("lean/equity/usa/tick/aig/20131009_quote.zip", Format::Lean, 1_424_011, true),
    ("lean/equity/usa/tick/aig/20131009_trade.zip", Format::Lean, 52_007, true),
    ("lean/equity/usa/daily/spy.zip", Format::Lean, 5_848, true),
    ("lean/equity/usa/minute/spy/20131007_trade.zip", Format::Lean, 827, true),
    ("lean/equity/usa/minute/spy/20131007_quote.zip", Format::Lean, 907, true),
    ("lean/forex/fxcm/tick/eurusd/20140501_quote.zip", Format::Lean, 51_052, true),
    ("lean/forex/fxcm/tick/eurusd/20140502_quote.zip", Format::Lean, 96_405, true),
    ("nautilus/databento/esh4-glbx-mdp3-20231225.mbo.dbn.zst", Format::Dbn, 68_792, false),
    ("nautilus/databento/historical_bars_catalog/databento/futures_mbp-1_2024-07-01T23-58_2024-07-02T00-02.dbn.zst", Format::Dbn, 2_288, false),
    ("nautilus/databento/historical_bars_catalog/databento/futures_trades_2024-07-01T23-58_2024-07-02T00-02.dbn.zst", Format::Dbn, 120, false),
    ("nautilus/databento/historical_bars_catalog/databento/futures_ohlcv-1m_2024-07-01T23-40_2024-07-02T00-10.dbn.zst", Format::Dbn, 60, false),
    ("hftbacktest/usdm/btcusdt_20240808.gz", Format::Binance, 93_954, false),
];

fn manifest(dir: &Path) -> BTreeMap<String, u64> {
    std::fs::read_to_string(dir.join("MANIFEST.tsv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|line| {
            let cols: Vec<&str> = line.split('\t').collect();
            (cols[0].to_string(), cols[6].parse().unwrap())
        })
        .collect()
}

fn lacks_final_newline(path: &Path) -> bool {
    let mut archive = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut text = Vec::new();
    archive.by_index(0).unwrap().read_to_end(&mut text).unwrap();
    !text.ends_with(b"\n")
}

#[test]
fn every_shared_file_imports_in_full_at_its_manifest_count() {
    // CI has the shared data beside the clone; a fresh clone without it has nothing to check.
    let Some(dir) = shared_data() else {
        println!("the shared data set is not present (set STRATA_DATA_DIR): nothing to check");
        return;
    };
    let manifest = manifest(&dir);
    println!("| file | rows | events | rejected | skipped | gaps | seconds | rows/s | events/s |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for &(rel, format, manifest_records, no_final_newline) in FILES {
        assert_eq!(
            manifest.get(rel),
            Some(&manifest_records),
            "MANIFEST row for {rel}"
        );
        let path = dir.join(rel);
        if format == Format::Lean {
            assert_eq!(lacks_final_newline(&path), no_final_newline, "{rel}");
        }
        let expected_rows = manifest_records + u64::from(no_final_newline);
        let started = Instant::now();
        let mut summary = ImportSummary::default();
        for record in import_file(&path, format, &ImportOptions::default()).unwrap() {
            summary.add(&record);
        }
        let seconds = started.elapsed().as_secs_f64();
        assert_eq!(summary.rows, expected_rows, "{rel}: {summary}");
        assert_eq!(summary.rejected, 0, "{rel}: {summary}");
        assert!(summary.gaps.is_empty(), "{rel}: {summary}");
        println!(
            "| {} | {} | {} | {} | {} | {} | {:.3} | {:.0} | {:.0} |",
            rel.rsplit('/')
                .take(2)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect::<Vec<_>>()
                .join("/"),
            summary.rows,
            summary.events(),
            summary.rejected,
            summary.skipped,
            summary.gaps.len(),
            seconds,
            summary.rows as f64 / seconds,
            summary.events() as f64 / seconds
        );
        println!("|   ↳ {summary} | | | | | | | | |");
    }
}
