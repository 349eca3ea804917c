//! # strata-columnar — strata's events as Parquet
//!
//! The cold and archive tiers hold Parquet files that DuckDB, pyarrow, Spark and Polars read as
//! they are, and that strata reads back to the very events it wrote (MODEL-2, TIER-2, TIER-6):
//!
//! - one file per event kind, sorted by event time, with an Arrow schema per kind
//!   ([`columns`]): times as `timestamp[ns, UTC]`, prices and sizes as exact `DECIMAL`
//!   (never a float; [`plan`] says how each column's scale is chosen), book levels as lists of
//!   `{price, size}` structs, strings dictionary-encoded;
//! - encodings chosen per column for market data: delta for times and sequences, dictionary for
//!   low-cardinality strings and prices, BYTE_STREAM_SPLIT for varied prices and order ids, delta
//!   byte arrays for trade ids; zstd; page-level statistics and the page index on every column,
//!   bloom filters on request ([`ParquetOptions`]);
//! - a footer key `strata` ([`FileMeta`]) with the kind, the event count, an order-independent
//!   [`EventDigest`] and the time range, so a file can be checked against its source without
//!   trusting the writer.
//!
//! ```
//! use strata_columnar::{read_events, write_events, ParquetOptions};
//! use strata_model::{Event, EventKind, Payload, Timestamp, Trade};
//!
//! let trade = |ns, price: &str| Event::new("lean", "SPY", Timestamp::from_nanos(ns), Payload::Trade(Trade {
//!     price: price.parse().unwrap(), size: "100".parse().unwrap(),
//!     side: None, trade_id: None, conditions: None,
//! }));
//! let mut events = vec![trade(2, "170.2"), trade(1, "170.25")];
//! let (bytes, summary) = write_events(EventKind::Trade, &mut events, Vec::new(), &ParquetOptions::default())?;
//! let (meta, back) = read_events(bytes::Bytes::from(bytes))?;
//! assert_eq!(back, events); // sorted by time, each price at the scale it was written
//! assert_eq!(meta, summary.meta);
//! assert_eq!(back[1].payload.trade().unwrap().price.to_string(), "170.2");
//! # Ok::<(), strata_columnar::Error>(())
//! ```

pub mod columns;
mod convert;
mod digest;
mod error;
mod meta;
pub mod plan;
mod read;
mod write;

pub use columns::{batch_to_events, events_to_batch};
pub use convert::{jsonl_to_parquet, Converted, Converter};
pub use digest::EventDigest;
pub use error::{Error, Result};
pub use meta::{FileMeta, META_KEY};
pub use plan::DecimalStorage;
pub use read::{file_meta, read_events, read_ipc, BatchReader, EventReader, Pruning};
pub use write::{write_events, EventWriter, FileBuilder, FilePlan, FileSummary, ParquetOptions};
