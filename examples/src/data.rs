//! The real data the examples run on: small cuts of vendor files committed under `testdata/`
//! (their provenance is in `testdata/README.md`).

use std::path::PathBuf;

use strata::import::{import_file, Format, ImportError, ImportOptions, Record};
use strata::model::Event;

/// The first 3,000 lines of hftbacktest's Binance USDⓈ-M BTCUSDT capture of 2024-08-08, gzip.
pub fn binance_cut_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../testdata/binance/btcusdt_20240808_first3000.txt.gz")
}

/// Every event of [`binance_cut_path`] (16,439: trades, quotes, book deltas and a snapshot),
/// through strata's Binance importer.
pub fn binance_cut_events() -> Result<Vec<Event>, ImportError> {
    Ok(import_file(
        &binance_cut_path(),
        Format::Binance,
        &ImportOptions::default(),
    )?
    .filter_map(|record| match record {
        Record::Event(event) => Some(event),
        _ => None,
    })
    .collect())
}
