//! What a path is made of: a fixed naming convention (LAYOUT-1) or an ordered list of
//! partition dimensions (LAYOUT-2).

use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use strata_model::UnknownName;

use super::LayoutError;

/// A fixed path shape (LAYOUT-1). `{date}` disappears, with its separator, at granularity none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NamingConvention {
    /// `{symbol}_{type}_{date}`: one file name, no directories.
    Flat,
    /// `{symbol}/{type}/{date}`.
    #[default]
    BySymbol,
    /// `{date}/{symbol}/{type}`.
    ByDate,
    /// `{type}/{symbol}/{date}`.
    ByType,
    /// `{source}/{symbol}/{type}/{date}`.
    BySource,
    /// `{asset_class}/{symbol}/{type}/{date}`.
    ByAssetClass,
    /// `{source}/{asset_class}/{symbol}/{type}/{date}`.
    Hierarchical,
    /// `{yyyy}/{mm}/{dd}/{source}/{symbol}/{type}`: the date split into levels (`{yyyy}/{mm}`
    /// monthly, `{yyyy}/{mm}/{dd}/{hh}` hourly).
    Canonical,
}

impl NamingConvention {
    /// Every convention.
    pub const ALL: &'static [NamingConvention] = &[
        NamingConvention::Flat,
        NamingConvention::BySymbol,
        NamingConvention::ByDate,
        NamingConvention::ByType,
        NamingConvention::BySource,
        NamingConvention::ByAssetClass,
        NamingConvention::Hierarchical,
        NamingConvention::Canonical,
    ];

    /// The name used in config.
    pub const fn as_str(self) -> &'static str {
        match self {
            NamingConvention::Flat => "flat",
            NamingConvention::BySymbol => "by_symbol",
            NamingConvention::ByDate => "by_date",
            NamingConvention::ByType => "by_type",
            NamingConvention::BySource => "by_source",
            NamingConvention::ByAssetClass => "by_asset_class",
            NamingConvention::Hierarchical => "hierarchical",
            NamingConvention::Canonical => "canonical",
        }
    }

    /// The fields of the path, in order.
    pub const fn dimensions(self) -> &'static [Dimension] {
        use Dimension::{AssetClass, Date, EventType, Source, Symbol};
        match self {
            NamingConvention::Flat | NamingConvention::BySymbol => &[Symbol, EventType, Date],
            NamingConvention::ByDate => &[Date, Symbol, EventType],
            NamingConvention::ByType => &[EventType, Symbol, Date],
            NamingConvention::BySource => &[Source, Symbol, EventType, Date],
            NamingConvention::ByAssetClass => &[AssetClass, Symbol, EventType, Date],
            NamingConvention::Hierarchical => &[Source, AssetClass, Symbol, EventType, Date],
            NamingConvention::Canonical => &[Date, Source, Symbol, EventType],
        }
    }
}

impl fmt::Display for NamingConvention {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for NamingConvention {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, UnknownName> {
        NamingConvention::ALL
            .iter()
            .copied()
            .find(|n| n.as_str() == s)
            .ok_or_else(|| UnknownName {
                what: "naming convention",
                name: s.to_string(),
                expected: "flat by_symbol by_date by_type by_source by_asset_class hierarchical \
                       canonical",
            })
    }
}

/// One field of a partition key that a path can encode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    /// The period (and session), as date text.
    Date,
    /// The canonical symbol.
    Symbol,
    /// The event kind (`trade`, `bbo_quote`, …).
    EventType,
    /// The source id.
    Source,
    /// The asset class (`equity`, `future`, …).
    AssetClass,
    /// The exchange or venue code.
    Exchange,
}

impl Dimension {
    /// Every dimension.
    pub const ALL: &'static [Dimension] = &[
        Dimension::Date,
        Dimension::Symbol,
        Dimension::EventType,
        Dimension::Source,
        Dimension::AssetClass,
        Dimension::Exchange,
    ];

    /// The name used in config and as the Hive key (`event_type=trade`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Dimension::Date => "date",
            Dimension::Symbol => "symbol",
            Dimension::EventType => "event_type",
            Dimension::Source => "source",
            Dimension::AssetClass => "asset_class",
            Dimension::Exchange => "exchange",
        }
    }
}

impl fmt::Display for Dimension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Dimension {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, UnknownName> {
        Dimension::ALL
            .iter()
            .copied()
            .find(|d| d.as_str() == s)
            .ok_or_else(|| UnknownName {
                what: "dimension",
                name: s.to_string(),
                expected: "date symbol event_type source asset_class exchange",
            })
    }
}

/// How partition directories are named.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PathStyle {
    /// The value alone: `AAPL/trade/2024-01-15`.
    #[default]
    Plain,
    /// `name=value` directories, which DuckDB, Spark, Trino and pyarrow read as columns:
    /// `symbol=AAPL/event_type=trade/2024-01-15`. The file stem (the last dimension) stays
    /// plain, because those engines take partition columns from directories only.
    Hive,
}

/// An ordered list of dimensions (LAYOUT-2): each is one directory level, except the last,
/// which is the file stem.
///
/// ```toml
/// [layout]
/// partitioning = { dimensions = ["source", "symbol", "date"], style = "hive" }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Partitioning {
    /// The dimensions, outermost first; at least one, each at most once.
    pub dimensions: Vec<Dimension>,
    /// Plain or Hive-style directory names.
    #[serde(default)]
    pub style: PathStyle,
}

impl Partitioning {
    /// A checked partitioning: refuses an empty or repeating dimension list.
    pub fn new(dimensions: Vec<Dimension>, style: PathStyle) -> Result<Self, LayoutError> {
        let partitioning = Partitioning { dimensions, style };
        partitioning.validate()?;
        Ok(partitioning)
    }

    /// Checks the dimension list is not empty and names no dimension twice.
    pub fn validate(&self) -> Result<(), LayoutError> {
        if self.dimensions.is_empty() {
            return Err(LayoutError::EmptyPartitioning);
        }
        let mut seen = HashSet::new();
        match self.dimensions.iter().find(|d| !seen.insert(**d)) {
            Some(&dimension) => Err(LayoutError::DuplicateDimension { dimension }),
            None => Ok(()),
        }
    }
}

/// The shape of a layout's paths: a naming convention or a partitioning.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// A fixed naming convention.
    Naming(NamingConvention),
    /// A list of dimensions.
    Partitioned(Partitioning),
}

impl Scheme {
    /// The dimensions this scheme writes, in path order (with the date, whatever the
    /// granularity).
    pub fn dimensions(&self) -> &[Dimension] {
        match self {
            Scheme::Naming(naming) => naming.dimensions(),
            Scheme::Partitioned(partitioning) => &partitioning.dimensions,
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scheme::Naming(naming) => f.write_str(naming.as_str()),
            Scheme::Partitioned(p) => {
                let style = match p.style {
                    PathStyle::Plain => "plain",
                    PathStyle::Hive => "hive",
                };
                let names: Vec<&str> = p.dimensions.iter().map(|d| d.as_str()).collect();
                write!(f, "{style}[{}]", names.join(","))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitioning_rejects_empty_and_repeated_dimensions() {
        let err = Partitioning::new(vec![], PathStyle::Plain).unwrap_err();
        assert_eq!(err, LayoutError::EmptyPartitioning);
        assert!(err.to_string().contains("at least one dimension"));
        let dims = vec![Dimension::Symbol, Dimension::Date, Dimension::Symbol];
        let err = Partitioning::new(dims, PathStyle::Hive).unwrap_err();
        assert_eq!(
            err.to_string(),
            "dimension `symbol` appears more than once in the partitioning; list each once"
        );
    }

    #[test]
    fn names_round_trip_through_text_and_serde() {
        for n in NamingConvention::ALL {
            assert_eq!(n.as_str().parse::<NamingConvention>().unwrap(), *n);
            assert_eq!(serde_json::to_value(n).unwrap(), n.as_str());
        }
        for d in Dimension::ALL {
            assert_eq!(d.as_str().parse::<Dimension>().unwrap(), *d);
            assert_eq!(serde_json::to_value(d).unwrap(), d.as_str());
        }
        let err = "by_venue"
            .parse::<NamingConvention>()
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("unknown naming convention `by_venue`"),
            "{err}"
        );
    }

    #[test]
    fn partitioning_config_refuses_unknown_keys() {
        let p: Partitioning = toml::from_str("dimensions = [\"symbol\", \"date\"]").unwrap();
        assert_eq!(p.style, PathStyle::Plain);
        let err =
            toml::from_str::<Partitioning>("dimensions = [\"symbol\"]\nhive = true").unwrap_err();
        assert!(err.to_string().contains("unknown field `hive`"), "{err}");
        let err = toml::from_str::<Partitioning>("dimensions = [\"ticker\"]").unwrap_err();
        assert!(
            err.to_string().contains("unknown variant `ticker`"),
            "{err}"
        );
    }
}
