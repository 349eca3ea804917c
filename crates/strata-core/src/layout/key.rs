//! The partition key: everything a path can say about the events in a file.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use strata_model::{AssetClass, EventKind};

use super::{Period, TradingSession};

/// Which partition a file belongs to.
///
/// The writer fills every field it knows ([`Layout::key_for_event`](super::Layout::key_for_event)
/// does it for one event); a layout then keeps only the fields its paths encode
/// ([`Layout::project`](super::Layout::project)), and [`Layout::parse`](super::Layout::parse)
/// returns exactly that projection.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartitionKey {
    /// The source id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The instrument's asset class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asset_class: Option<AssetClass>,
    /// The canonical symbol.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub symbol: Option<String>,
    /// The event kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<EventKind>,
    /// The exchange or venue code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exchange: Option<String>,
    /// The period the file covers, at whatever granularity wrote it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<Period>,
    /// The trading session, for daily periods of a session-split layout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<TradingSession>,
    /// Values of dimensions of one's own ([`PartitionDimension`](super::PartitionDimension)s),
    /// by dimension name; empty for the built-in layouts.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, String>,
}
