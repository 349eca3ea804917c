//! # strata-import — outside formats into strata events (INGEST-6)
//!
//! Reads files in the formats market data arrives in and yields strata
//! [`Event`]s, one [`Record`] at a time, without loading a file's events
//! into memory. It does no archive I/O: the writer stores the events and quarantines the
//! rejected rows.
//!
//! - [`import_file`] / [`import_reader`]: the entry points; a file-level problem (cannot open,
//!   not a zip, bad DBN header, a mapped CSV column missing) is an [`ImportError`] naming the
//!   file; a bad row is a [`Record::Rejected`] with file, line, reason and raw text, and the
//!   import goes on.
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
//! Inputs are read through `strata-codec`, so gzip, zstd and LZ4 files are decompressed
//! transparently (the codec is recognised from the content, CODEC-2). Prices and sizes are exact
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
pub mod record;
pub mod tardis;
mod zipentry;

use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use strata_model::{Event, EventKind};

pub use error::{ImportError, Result, RowError};
pub use options::{Format, ImportOptions, LeanOverrides};
pub use record::{Gap, ImportSummary, ReasonTally, Record, Rejected, CUT_MARK, READ_ERROR_PREFIX};

use input::{Ended, Input, LineImport};

/// The records of one import, in input order, ending with [`Record::End`].
pub type Records = Box<dyn Iterator<Item = Record> + Send>;

/// Imports the file at `path` as `format`, streaming: rows are read and parsed as the iterator
/// is advanced.
///
/// Compressed files (`.gz`, `.zst`, `.lz4`) are decompressed transparently. For
/// [`Format::Lean`], a `.zip` must be a zip archive (each file entry is read in turn); any other
/// name is read as the CSV itself, with what the path cannot tell supplied by
/// [`ImportOptions::lean`].
pub fn import_file(path: &Path, format: Format, options: &ImportOptions) -> Result<Records> {
    let name = path.display().to_string();
    if format == Format::Lean {
        let ctx = lean::context_for(&name, options)?;
        if is_zip_name(&name) {
            let opener = Box::new(zipentry::FileOpener(path.to_path_buf()));
            return Ok(Box::new(Ended::new(lean::LeanImport::zip(
                opener, &name, ctx,
            )?)));
        }
        let input = input::open_decoded(path)?;
        return lean_csv(input, &name, ctx, options);
    }
    let input = input::open_decoded(path)?;
    import_decoded(input, &name, format, options)
}

/// Imports from any reader, as [`import_file`] does for a file; `name` stands for the file in
/// errors and rejections (and, for Lean, is the path whose layout tells what the data holds).
/// A Lean zip read this way is held in memory (a zip needs random access); its rows still
/// stream.
pub fn import_reader<R: Read + Send + 'static>(
    reader: R,
    name: &str,
    format: Format,
    options: &ImportOptions,
) -> Result<Records> {
    if format == Format::Lean {
        let ctx = lean::context_for(name, options)?;
        let mut reader = reader;
        let mut bytes = Vec::new();
        reader
            .read_to_end(&mut bytes)
            .map_err(|source| ImportError::Open {
                file: name.to_string(),
                source,
            })?;
        if bytes.starts_with(b"PK\x03\x04") || is_zip_name(name) {
            let opener = Box::new(zipentry::BytesOpener(Arc::from(bytes)));
            return Ok(Box::new(Ended::new(lean::LeanImport::zip(
                opener, name, ctx,
            )?)));
        }
        let input = input::decoded_reader(std::io::Cursor::new(bytes), name)?;
        return lean_csv(input, name, ctx, options);
    }
    let input = input::decoded_reader(reader, name)?;
    import_decoded(input, name, format, options)
}

/// The import settings that decide what events an input becomes, in one canonical line: with the
/// input's content hash, the key under which the import ledger remembers an import (INGEST-8).
/// Two imports with equal settings of equal bytes store the same events. `name` is the input's
/// path (or name): for Lean it tells the security type, market, symbol, date and tick type.
///
/// ```
/// use strata_import::{import_settings, Format, ImportOptions};
///
/// let a = import_settings("x.dbn.zst", Format::Dbn, &ImportOptions::default()).unwrap();
/// let b = import_settings("y.dbn.zst", Format::Dbn, &ImportOptions::default()).unwrap();
/// assert_eq!(a, b); // the name does not matter outside Lean
/// let c = import_settings("x.dbn.zst", Format::Dbn, &ImportOptions {
///     source: Some("cme".into()),
///     ..ImportOptions::default()
/// }).unwrap();
/// assert_ne!(a, c);
/// ```
pub fn import_settings(name: &str, format: Format, options: &ImportOptions) -> Result<String> {
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    let mut out = format!(
        "v1;format={};source={};symbol={};kind={};venue={};csv={}",
        format.as_str(),
        options.source_for(format),
        opt(&options.symbol),
        options.kind.map_or("", EventKind::as_str),
        opt(&options.venue),
        options
            .csv
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
    );
    if format == Format::Lean {
        let ctx = lean::context_for(name, options)?;
        let f = ctx.file();
        out.push_str(&format!(
            ";lean={:?}/{}/{:?}/{}/{}/{:?};tz={}",
            f.security_type,
            f.market,
            f.resolution,
            f.symbol,
            f.date.map(|d| d.to_string()).unwrap_or_default(),
            f.tick_type,
            ctx.time_zone(),
        ));
    }
    Ok(out)
}

/// The asset class an input's instruments belong to, as far as the format and the name tell:
/// a Lean path names its security type (`equity/usa/tick/spy/…` is equity; CFDs are `other`,
/// strata having no class for them), Binance captures are crypto. `None` when the input does
/// not say (JSONL, CSV, DBN: the symbol registry decides, else `other`).
///
/// ```
/// use strata_import::{asset_class_of, Format, ImportOptions};
/// use strata_model::AssetClass;
///
/// let o = ImportOptions::default();
/// let lean = "data/equity/usa/tick/spy/20131007_trade.zip";
/// assert_eq!(asset_class_of(lean, Format::Lean, &o), Some(AssetClass::Equity));
/// assert_eq!(asset_class_of("btcusdt.gz", Format::Binance, &o), Some(AssetClass::Crypto));
/// assert_eq!(asset_class_of("deribit_trades_2020-04-01_BTC-PERPETUAL.csv.gz", Format::Tardis, &o), Some(AssetClass::Crypto));
/// assert_eq!(asset_class_of("x.jsonl", Format::Jsonl, &o), None);
/// ```
pub fn asset_class_of(
    name: &str,
    format: Format,
    options: &ImportOptions,
) -> Option<strata_model::AssetClass> {
    match format {
        Format::Lean => {
            let ctx = lean::context_for(name, options).ok()?;
            Some(ctx.file().security_type.asset_class())
        }
        Format::Binance | Format::Tardis => Some(strata_model::AssetClass::Crypto),
        Format::Dbn => dbn::dataset_of_file(Path::new(name))
            .as_deref()
            .and_then(dbn::asset_class_of_dataset),
        _ => None,
    }
}

/// A Lean CSV stream (not a zip): for futures and options its name must say which contract it
/// holds, unless `--symbol` names the instrument.
fn lean_csv(
    input: Input,
    name: &str,
    ctx: lean::LeanContext,
    options: &ImportOptions,
) -> Result<Records> {
    let contract = match ctx.file().contract_of_entry(name) {
        // `--symbol` names what the CSV holds.
        _ if options.symbol.is_some() => None,
        Ok(contract) => contract,
        Err(reason) => {
            return Err(ImportError::LeanPath {
                file: name.to_string(),
                reason: format!("{reason}; set --symbol to import it as one instrument"),
            })
        }
    };
    Ok(Box::new(Ended::new(lean::LeanImport::csv(
        input, name, ctx, contract,
    ))))
}

fn is_zip_name(name: &str) -> bool {
    name.to_ascii_lowercase().ends_with(".zip")
}

/// The importers that read a decompressed byte stream.
fn import_decoded(
    input: Input,
    name: &str,
    format: Format,
    options: &ImportOptions,
) -> Result<Records> {
    Ok(match format {
        Format::Jsonl => {
            let lines = jsonl::JsonlLines {
                file: name.to_string(),
                overrides: jsonl::JsonlOverrides::from_options(options),
                kind: options.kind,
            };
            Box::new(Ended::new(LineImport::new(input, name, lines)))
        }
        Format::Csv => Box::new(Ended::new(csv::CsvImport::new(input, name, options)?)),
        Format::Binance => {
            let ctx = binance::BinanceContext {
                source: options.source_for(Format::Binance),
                venue: "BINANCE".into(),
                symbol: options.symbol.clone(),
            };
            let lines = binance::BinanceLines::new(name, ctx, options.kind);
            Box::new(Ended::new(LineImport::new(input, name, lines)))
        }
        Format::Dbn => Box::new(Ended::new(dbn::DbnImport::new(input, name, options)?)),
        Format::Tardis => {
            let mut input = std::io::BufReader::with_capacity(input::READ_BUFFER, input);
            let Some((columns, header_line)) = tardis::read_header(&mut input, name)? else {
                // Tardis.dev serves an empty file for a day without data: nothing to import.
                return Ok(Box::new(std::iter::once(Record::End { rows: 0 })));
            };
            if !columns.names_symbols() && options.symbol.is_none() {
                return Err(ImportError::TardisHeader {
                    file: name.to_string(),
                    line: header_line,
                    reason: "the header has no `symbol` column; pass --symbol".into(),
                });
            }
            let ctx = tardis::TardisContext {
                source: options.source_for(Format::Tardis),
                symbol: options.symbol.clone(),
                venue: options.venue.clone(),
            };
            let lines = tardis::TardisLines::new(name, columns, ctx, options.kind);
            Box::new(Ended::new(
                LineImport::new(Box::new(input), name, lines).after_lines(header_line),
            ))
        }
        Format::Lean => {
            let ctx = lean::context_for(name, options)?;
            return lean_csv(input, name, ctx, options);
        }
    })
}

/// `event` as a record, or a skip when `--kind` selected another kind.
pub(crate) fn select_kind(event: Event, kind: Option<EventKind>, line: u64) -> Record {
    match kind {
        Some(kind) if kind != event.kind() => Record::Skipped {
            line,
            reason: format!("{} event not selected (--kind {kind})", event.kind()),
        },
        _ => Record::Event(event),
    }
}
