//! Layouts (LAYOUT-1..5): where a partition's files go, and which partition a path belongs to.
//!
//! Pure functions, no I/O. A [`Layout`] renders a [`PartitionKey`] to a relative path stem and
//! parses it back; the writer appends the extension (`.jsonl`, `.jsonl.zst`, `.parquet`, …) and
//! the root.
//!
//! - [`scheme`]: the path shape — a [`NamingConvention`] (LAYOUT-1: flat, by_symbol, by_date,
//!   by_type, by_source, by_asset_class, hierarchical, canonical) or a [`Partitioning`], an
//!   ordered list of [`Dimension`]s in [`PathStyle::Plain`] or [`PathStyle::Hive`] directories
//!   (LAYOUT-2).
//! - [`period`]: [`Granularity`] (none, hourly, daily, monthly) and the [`Period`] a file
//!   covers; date text names its own granularity (`2024-01`, `2024-01-15`, `2024-01-15T13`).
//! - [`escape`]: reversible, path-safe escaping of symbols, sources and exchanges (LAYOUT-3):
//!   [`escape_segment`] / [`unescape_segment`]; no value can leave the root or produce a
//!   component over 255 bytes.
//! - [`session`]: [`SessionSplit`] cuts each exchange-local day into [`TradingSession`]s, in the
//!   exchange's time zone (LAYOUT-4): `2024-01-15.regular`.
//! - [`adaptive`]: [`AdaptiveGranularity`] picks hourly, daily or monthly files from an event
//!   rate, with its reason (LAYOUT-5).
//! - [`key`]: the [`PartitionKey`] a path encodes.
//! - [`dimension`]: the [`PartitionDimension`] trait: a value of an event for a path level; the
//!   built-in [`Dimension`]s implement it, one's own keep their values in `PartitionKey::extra`.
//! - [`naming`]: the [`Naming`] trait (EXT-1) that [`Layout`] implements, and the
//!   [`NamingRegistry`] through which a config file names an extension.
//! - [`resolved`]: the checked [`Layout`]: `project`, `render`, `parse`, `time_range`.
//! - [`settings`]: [`LayoutConfig`], the `[layout]` section of the config file.
//! - [`error`]: [`LayoutError`], the one error type here.
//!
//! ```
//! use strata_core::layout::{Granularity, Layout, NamingConvention, PartitionKey, Period};
//! use strata_model::{EventKind, Timestamp};
//!
//! let layout = Layout::new(NamingConvention::BySymbol, Granularity::Daily);
//! let time: Timestamp = "2024-01-15T14:30:00Z".parse()?;
//! let key = PartitionKey {
//!     source: Some("nasdaq".into()),
//!     symbol: Some("BRK/B".into()),
//!     kind: Some(EventKind::Trade),
//!     period: Period::containing(time, Granularity::Daily),
//!     ..PartitionKey::default()
//! };
//!
//! let stem = layout.render(&key)?;
//! assert_eq!(stem, "BRK%2FB/trade/2024-01-15");
//!
//! // Back from a file name: the key, less what this layout does not encode (the source).
//! let parsed = layout.parse(&format!("{stem}.jsonl.zst"))?;
//! assert_eq!(parsed, layout.project(&key));
//! assert_eq!(parsed.source, None);
//! assert_eq!(parsed.symbol.as_deref(), Some("BRK/B"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod adaptive;
pub mod dimension;
pub mod error;
pub mod escape;
pub mod key;
pub mod naming;
pub mod period;
pub mod resolved;
pub mod scheme;
pub mod session;
pub mod settings;

pub use adaptive::{AdaptiveGranularity, GranularityChoice};
pub use dimension::PartitionDimension;
pub use error::LayoutError;
pub use escape::{
    escape_segment, unescape_segment, value_from_segments, value_segments, CONTINUATION,
    KNOWN_EXTENSIONS, MAX_SEGMENT_BYTES,
};
pub use key::PartitionKey;
pub use naming::{Naming, NamingFactory, NamingRegistry};
pub use period::{Granularity, Period};
pub use resolved::Layout;
pub use scheme::{Dimension, NamingConvention, Partitioning, PathStyle, Scheme};
pub use session::{SessionSplit, TradingSession};
pub use settings::{LayoutConfig, NamingChoice};

#[cfg(test)]
mod tests;
