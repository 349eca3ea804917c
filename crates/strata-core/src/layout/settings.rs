//! The layout section of strata's config file: plain data, checked by [`LayoutConfig::resolve`].

use serde::{Deserialize, Serialize};

use super::{
    AdaptiveGranularity, Granularity, Layout, LayoutError, NamingConvention, Partitioning,
    SessionSplit,
};

/// How files are named and partitioned, as written in config.
///
/// Give `naming` or `partitioning` (neither means `naming = "by_symbol"`); every other key is
/// optional:
///
/// ```toml
/// [layout]
/// naming = "by_source"            # flat | by_symbol | by_date | by_type | by_source |
///                                 # by_asset_class | hierarchical | canonical
/// granularity = "daily"           # none | hourly | daily | monthly
///
/// [layout.session_split]          # optional: pre / regular / after files per local day
/// timezone = "America/New_York"
///
/// [layout.adaptive]               # optional: hourly when busy, monthly when quiet
/// hourly_above_events_per_day = 5_000_000
/// monthly_below_events_per_day = 10_000
/// ```
///
/// or, instead of `naming`:
///
/// ```toml
/// [layout]
/// partitioning = { dimensions = ["source", "symbol", "event_type", "date"], style = "hive" }
/// ```
///
/// The default leaves `naming` unset (meaning by_symbol) so that a config layered over the
/// defaults may set `partitioning` without contradicting them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayoutConfig {
    /// A fixed naming convention; by_symbol when neither this nor `partitioning` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub naming: Option<NamingConvention>,
    /// An ordered list of dimensions, instead of a naming convention.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partitioning: Option<Partitioning>,
    /// How much time one file covers (the default when adaptive granularity is on).
    #[serde(default)]
    pub granularity: Granularity,
    /// Split daily files by trading session (needs `granularity = "daily"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_split: Option<SessionSplit>,
    /// Pick hourly, daily or monthly files per partition from its event rate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adaptive: Option<AdaptiveGranularity>,
}

impl LayoutConfig {
    /// The checked layout these settings describe.
    pub fn resolve(&self) -> Result<Layout, LayoutError> {
        Layout::from_config(self)
    }

    /// Checks the settings describe a layout; the error names the setting at fault.
    pub fn validate(&self) -> Result<(), LayoutError> {
        self.resolve().map(|_| ())
    }
}
