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
    /// A fixed naming convention, or the name of a registered naming extension; by_symbol when
    /// neither this nor `partitioning` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub naming: Option<NamingChoice>,
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

/// What `naming` names: a built-in convention, or a naming registered by name (see
/// [`NamingRegistry`](super::NamingRegistry)).
///
/// Read from a string: a built-in convention's name, else an extension's name. Anything else is
/// an error naming the value and the accepted forms (the config names the key).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(untagged)]
pub enum NamingChoice {
    /// One of the eight built-in conventions.
    Convention(NamingConvention),
    /// The name a naming extension was registered under.
    Extension(String),
}

impl<'de> Deserialize<'de> for NamingChoice {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Choice;
        impl serde::de::Visitor<'_> for Choice {
            type Value = NamingChoice;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string: a built-in naming (")?;
                for (i, convention) in NamingConvention::ALL.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    f.write_str(convention.as_str())?;
                }
                f.write_str(
                    ") or the name a naming extension is registered under (lowercase letters, \
                     digits and `_`)",
                )
            }

            fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<NamingChoice, E> {
                Ok(match name.parse::<NamingConvention>() {
                    Ok(convention) => NamingChoice::Convention(convention),
                    Err(_) => NamingChoice::Extension(name.to_string()),
                })
            }
        }
        deserializer.deserialize_str(Choice)
    }
}

impl From<NamingConvention> for NamingChoice {
    fn from(convention: NamingConvention) -> Self {
        NamingChoice::Convention(convention)
    }
}

impl LayoutConfig {
    /// The checked built-in layout these settings describe; an error when `naming` names an
    /// extension (resolve those with a [`NamingRegistry`](super::NamingRegistry)).
    pub fn resolve(&self) -> Result<Layout, LayoutError> {
        Layout::from_config(self)
    }

    /// The extension `naming` names, if it names one.
    pub fn extension(&self) -> Option<&str> {
        match &self.naming {
            Some(NamingChoice::Extension(name)) => Some(name),
            _ => None,
        }
    }

    /// Checks the settings describe a layout; the error names the setting at fault. A naming
    /// extension is checked for its name's shape here and for its registration when the archive
    /// opens (only the program that registers it knows it).
    pub fn validate(&self) -> Result<(), LayoutError> {
        match self.extension() {
            Some(name) => {
                let shaped = !name.is_empty()
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
                if !shaped {
                    return Err(LayoutError::UnknownNaming {
                        name: name.to_string(),
                        registered: "none".into(),
                    });
                }
                if self.partitioning.is_some() {
                    return Err(LayoutError::InvalidConfig {
                        key: "partitioning",
                        reason: "set either `naming` or `partitioning`, not both".into(),
                    });
                }
                Ok(())
            }
            None => self.resolve().map(|_| ()),
        }
    }
}
