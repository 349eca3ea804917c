//! # strata-import — outside formats into strata events (INGEST-6)
//!
//! Reads files in the formats market data arrives in and yields strata
//! [`Event`](strata_model::Event)s, one [`Record`] at a time, without loading a file's events
//! into memory. It does no archive I/O: the writer stores the events and quarantines the
//! rejected rows.
//!
//! - [`import_file`] / [`import_reader`]: the entry points; a file-level problem (cannot open,
//!   not a zip, bad DBN header, a mapped CSV column missing) is an [`ImportError`] naming the
//!   file; a bad row is a [`Record::Rejected`] with file, line, reason and raw text, and the
//!   import goes on. [`import_file_with`] / [`import_reader_with`] take the
//!   [`CodecRegistry`](strata_codec::CodecRegistry) to read inputs with, so a file compressed
//!   with a registered codec (bzip2, say) imports like a gzip one (the pipeline is in
//!   `pipeline.rs`; this file is the table of contents).
//! - [`Format`] and [`ImportOptions`]: what to read and the overrides (source, symbol, kind,
//!   venue, CSV mapping, Lean path overrides) — the table on [`ImportOptions`] says how each acts
//!   per format.
//! - [`Record`] and [`ImportSummary`]: what an import yields and its tally (rows, events by
//!   kind, rejected, skipped, sequence gaps), with a one-line `Display`.
//! - Per-format modules, each documenting its mapping and exposing its row-level parser (the
//!   fuzz targets drive the Lean and Binance row parsers directly, CSV and DBN through
//!   [`import_reader`], and JSONL through `strata_model::jsonl`):
//!   - [`jsonl`]: strata JSONL v1 — [`jsonl::parse_line`].
//!   - [`csv`]: CSV with a column mapping — [`csv::CsvMapping`] (compact form
//!     `time=ts:ms,price=px,size=qty`), [`csv::BoundCsvMapping::parse_record`].
//!   - [`lean`]: QuantConnect Lean tick and bar zips — [`lean::parse_trade_row`],
//!     [`lean::parse_quote_row`], [`lean::parse_bar_row`].
//!   - [`dbn`]: Databento DBN (MBO, MBP-1, trades, OHLCV) via the `dbn` crate —
//!     [`dbn::DbnContext::convert`].
//!   - [`binance`]: Binance websocket captures — [`binance::parse_line`], with sequence-gap
//!     detection on depth updates.
//!   - [`tardis`]: Tardis.dev normalized CSV — [`tardis::TardisColumns::from_header`] and
//!     [`tardis::TardisColumns::parse_row`].
//!
//! Inputs are read through `strata-codec`, so gzip, zstd and LZ4 files — and files of any
//! registered codec — are decompressed transparently (the codec is recognised from the content
//! and must agree with the name, CODEC-2); content in a compression format no registered codec
//! reads (bzip2 when none is registered) is refused, not read as plain data. Prices and sizes are exact
//! decimals from end to end; no binary float is involved.
//!
//! ```
//! use strata_import::{csv::CsvMapping, import_file, Format, ImportOptions, ImportSummary, Record};
//!
//! let dir = std::env::temp_dir().join(format!("strata-import-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! let path = dir.join("trades.csv");
//! std::fs::write(&path, "ts,px,qty\n1723161256298,60123.10,0.005\n1723161256299,oops,1\n1723161256300,60123.20,0.010\n")?;
//!
//! let options = ImportOptions {
//!     symbol: Some("BTCUSDT".into()),
//!     csv: Some("time=ts:ms,price=px,size=qty".parse::<CsvMapping>()?),
//!     ..ImportOptions::default()
//! };
//! let mut summary = ImportSummary::default();
//! let mut prices = Vec::new();
//! for record in import_file(&path, Format::Csv, &options)? {
//!     summary.add(&record);
//!     match record {
//!         Record::Event(event) => prices.push(event.payload.trade().map(|t| t.price.to_string())),
//!         Record::Rejected(rejected) => assert_eq!(rejected.line, 3), // quarantined by the writer
//!         _ => {}
//!     }
//! }
//! assert_eq!(prices, [Some("60123.10".to_string()), Some("60123.20".to_string())]);
//! assert_eq!(summary.to_string(), "3 rows: 2 events (trade 2), 1 rejected, 0 skipped, 0 gaps");
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod binance;
pub mod csv;
pub mod dbn;
pub mod error;
mod input;
pub mod jsonl;
pub mod lean;
pub mod options;
mod pipeline;
pub mod record;
pub mod tardis;
mod zipentry;

pub use error::{ImportError, Result, RowError};
pub use options::{Format, ImportOptions, LeanOverrides};
pub(crate) use pipeline::select_kind;
pub use pipeline::{
    asset_class_of, import_file, import_file_with, import_reader, import_reader_with,
    import_settings, Records,
};
pub use record::{Gap, ImportSummary, ReasonTally, Record, Rejected, CUT_MARK, READ_ERROR_PREFIX};
