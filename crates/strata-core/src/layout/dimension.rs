//! Partition dimensions (EXT-1): what value of an event a path level holds. The built-in
//! [`Dimension`]s are fields of the [`PartitionKey`]; a [`PartitionDimension`] of one's own keeps
//! its value in [`PartitionKey::extra`] under its name, for a [`Naming`](super::Naming) that
//! writes it (the naming laws then check it round-trips through the path like any field).

use std::fmt;

use strata_model::{AssetClass, Event};

use super::{Dimension, PartitionKey};

/// A dimension files can be partitioned by.
pub trait PartitionDimension: fmt::Debug + Send + Sync {
    /// Its name: the key of its value in [`PartitionKey::extra`], and the Hive key of its level.
    fn name(&self) -> &str;

    /// The value of `event` in this dimension (`asset_class` as the symbol registry resolved it);
    /// `None` when the event has none.
    fn value_of(&self, event: &Event, asset_class: Option<AssetClass>) -> Option<String>;
}

impl PartitionDimension for Dimension {
    fn name(&self) -> &str {
        self.as_str()
    }

    fn value_of(&self, event: &Event, asset_class: Option<AssetClass>) -> Option<String> {
        match self {
            Dimension::Date => Some(event.event_time.utc_date().format("%Y-%m-%d").to_string()),
            Dimension::Symbol => Some(event.symbol.clone()),
            Dimension::EventType => Some(event.kind().as_str().to_string()),
            Dimension::Source => Some(event.source.clone()),
            Dimension::AssetClass => asset_class.map(|class| class.to_string()),
            Dimension::Exchange => event.venue.clone(),
        }
    }
}

impl PartitionKey {
    /// Records the value of each of `dimensions` for `event` in [`extra`](Self::extra) (a
    /// dimension the event has no value for is left out).
    pub fn with_dimensions(
        mut self,
        dimensions: &[&dyn PartitionDimension],
        event: &Event,
        asset_class: Option<AssetClass>,
    ) -> Self {
        for dimension in dimensions {
            if let Some(value) = dimension.value_of(event, asset_class) {
                self.extra.insert(dimension.name().to_string(), value);
            }
        }
        self
    }
}
