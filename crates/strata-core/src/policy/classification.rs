//! Classification per event kind (POL-1): how precious the data is.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use strata_model::EventKind;

/// How precious a kind of data is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Classification {
    /// Never deleted by any policy, quota or cleanup.
    Critical,
    /// Kept by the retention table.
    Standard,
    /// Useful briefly (heartbeats, debug feeds); first to go.
    Transient,
    /// Rebuildable from other data (bars from trades, consolidated copies).
    Derived,
}

impl Classification {
    /// True when nothing may delete data of this class.
    pub const fn is_protected(self) -> bool {
        matches!(self, Classification::Critical)
    }
}

/// The class of each event kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassificationPolicy {
    /// The class of kinds not listed in `by_kind`.
    pub default: Classification,
    /// Per-kind classes.
    #[serde(default)]
    pub by_kind: BTreeMap<EventKind, Classification>,
}

impl ClassificationPolicy {
    /// The class of a kind.
    pub fn classify(&self, kind: EventKind) -> Classification {
        self.by_kind.get(&kind).copied().unwrap_or(self.default)
    }
}

impl Default for ClassificationPolicy {
    fn default() -> Self {
        ClassificationPolicy {
            default: Classification::Standard,
            by_kind: BTreeMap::from([
                (EventKind::Heartbeat, Classification::Transient),
                (EventKind::Bar, Classification::Derived),
            ]),
        }
    }
}
