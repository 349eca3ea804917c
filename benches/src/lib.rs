//! Data loaders shared by strata's benchmarks.
//!
//! Two real datasets, both as the bytes strata would store:
//!
//! - [`lean_spy_trades_jsonl`]: QuantConnect Lean's SPY trade ticks of 2013-10-07 (AlgoSeek
//!   data), converted to strata events and encoded as strata's hot-tier JSONL.
//! - [`binance_btcusdt_capture`]: hftbacktest's Binance USDⓈ-M BTCUSDT capture of 2024-08-08,
//!   decompressed and kept as is (`<receive ns> <websocket JSON>` lines).
//!
//! [`ingest`] holds the durable-ingest measurements (writer vs a plain `serde_json` ceiling,
//! imports through the writer).
//!
//! The full files are read from `../shared/data` beside the workspace (override with
//! `STRATA_DATA_DIR`); when they are absent (a fresh clone) the loaders fall back to the small
//! cuts committed under `testdata/` and say so in [`Dataset::is_cut`].

// Benches and their helpers may panic on bad fixtures.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod data;
pub mod ingest;
pub mod options;

pub use data::{
    all_datasets, binance_btcusdt_capture, cut_at_line, data_dir, lean_spy_trades_jsonl,
    lean_trade_csv_to_jsonl, read_single_zip_entry, target_dir, testdata_dir, Dataset,
    BINANCE_CAPTURE, BINANCE_CAPTURE_CUT, DATA_DIR_ENV, LEAN_SPY_TRADES, LEAN_SPY_TRADES_CUT,
};
pub use options::{codecs_from_env, grouped, parse_codec_list, DEFAULT_BENCH_CODECS};
