//! What a path is made of: a fixed naming convention (LAYOUT-1) or an ordered list of
//! partition dimensions (LAYOUT-2).

use std::collections::HashSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::LayoutError;

strata_model::named_enum! {
    /// A fixed path shape (LAYOUT-1), named in config by [`as_str`](Self::as_str).
    /// `{date}` disappears, with its separator, at granularity none.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
    pub enum NamingConvention [what = "naming convention", serde] {
        /// `{symbol}_{type}_{date}`: one file name, no directories.
        Flat = "flat",
        /// `{symbol}/{type}/{date}`.
        #[default]
        BySymbol = "by_symbol",
        /// `{date}/{symbol}/{type}`.
        ByDate = "by_date",
        /// `{type}/{symbol}/{date}`.
        ByType = "by_type",
        /// `{source}/{symbol}/{type}/{date}`.
        BySource = "by_source",
        /// `{asset_class}/{symbol}/{type}/{date}`.
        ByAssetClass = "by_asset_class",
        /// `{source}/{asset_class}/{symbol}/{type}/{date}`.
        Hierarchical = "hierarchical",
        /// `{yyyy}/{mm}/{dd}/{source}/{symbol}/{type}`: the date split into levels (`{yyyy}/{mm}`
        /// monthly, `{yyyy}/{mm}/{dd}/{hh}` hourly).
        Canonical = "canonical",
    }
}

impl NamingConvention {
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

strata_model::named_enum! {
    /// One field of a partition key that a path can encode. Its name ([`as_str`](Self::as_str))
    /// is used in config and as the Hive key (`event_type=trade`).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
    pub enum Dimension [what = "dimension", serde] {
        /// The period (and session), as date text.
        Date = "date",
        /// The canonical symbol.
        Symbol = "symbol",
        /// The event kind (`trade`, `bbo_quote`, …).
        EventType = "event_type",
        /// The source id.
        Source = "source",
        /// The asset class (`equity`, `future`, …).
        AssetClass = "asset_class",
        /// The exchange or venue code.
        Exchange = "exchange",
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
