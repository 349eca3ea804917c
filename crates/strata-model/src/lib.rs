//! # strata-model — the events strata stores
//!
//! Everything here is plain data with no I/O:
//!
//! - [`decimal`]: [`Decimal`], the exact fixed-point number used for every price and size
//!   (MODEL-2), with exact arithmetic (checked sums and products; products, quotients and
//!   rescales rounded only by a named [`Rounding`]) and the one power-of-ten table. It never
//!   passes through a binary float.
//! - [`time`]: [`Timestamp`], nanoseconds since the Unix epoch, UTC.
//! - [`event`]: [`Event`] and its payloads — trades, best bid/offer quotes, L2 snapshots,
//!   order-book deltas, bars and heartbeats — with the metadata every event carries (MODEL-1).
//! - [`jsonl`]: the hot-tier wire form, one JSON object per line, schema v1 (MODEL-4; the
//!   schema is written down in `docs/SCHEMA.md`).
//! - [`named`]: [`named_enum!`], the one declaration of every closed set of names (event kinds,
//!   tiers, granularities, …), and its error [`UnknownName`].
//! - [`registry`]: the symbol registry with alias resolution and the source registry (MODEL-3).
//!
//! ```
//! use strata_model::{Decimal, Event, Payload, Side, Timestamp, Trade, jsonl};
//!
//! let event = Event::new(
//!     "binance",
//!     "BTCUSDT",
//!     Timestamp::from_nanos(1_723_075_200_000_000_000),
//!     Payload::Trade(Trade {
//!         price: "60123.10".parse()?,
//!         size: "0.005".parse()?,
//!         side: Some(Side::Buy),
//!         trade_id: Some("5127439283".into()),
//!         conditions: None,
//!     }),
//! );
//! let line = jsonl::encode_line(&event)?;
//! assert_eq!(jsonl::decode_line(&line)?, event);
//! assert_eq!(event.payload.trade().map(|t| t.price.to_string()), Some("60123.10".to_string()));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod decimal;
pub mod event;
pub mod jsonl;
pub mod named;
pub mod registry;
#[cfg(any(test, feature = "proptest"))]
pub mod strategy;
pub mod time;

pub use decimal::{Decimal, DecimalError, Rounding};
pub use event::{
    AssetClass, Bar, BboQuote, BookAction, BookSide, DerivativeTicker, Event, EventKind,
    L2Snapshot, Level, OpenInterest, OptionRight, OptionStyle, OrderBookDelta, Payload,
    SchemaVersion, Side, TimeBasis, Trade,
};
pub use jsonl::DecodeError;
pub use named::UnknownName;
pub use registry::{
    Contract, RegistryError, SourceInfo, SourceKind, SourceRegistry, SymbolInfo, SymbolRegistry,
};
pub use time::{Timestamp, TimestampError};
