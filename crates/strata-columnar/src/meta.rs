//! What strata records in each Parquet file's footer (key `strata`).

use crate::digest::EventDigest;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use strata_model::EventKind;

/// The footer key of strata's metadata.
pub const META_KEY: &str = "strata";

/// strata's metadata of one Parquet file: enough to check it against its source or its catalog
/// entry without reading a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileMeta {
    /// The kind of every event in it.
    pub kind: EventKind,
    /// Its event count and order-independent digest.
    pub digest: EventDigest,
    /// The first and last event time (ns), `None` when empty.
    pub time_range: Option<(i64, i64)>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    format: u32,
    kind: String,
    events: u64,
    digest: String,
    sorted_by: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    min_ts: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_ts: Option<i64>,
}

impl FileMeta {
    /// The JSON held in the footer.
    pub fn to_json(&self) -> String {
        let wire = Wire {
            format: 1,
            kind: self.kind.as_str().to_string(),
            events: self.digest.events,
            digest: self.digest.hex(),
            sorted_by: "ts".into(),
            min_ts: self.time_range.map(|r| r.0),
            max_ts: self.time_range.map(|r| r.1),
        };
        serde_json::to_string(&wire).unwrap_or_default()
    }

    /// Reads what [`to_json`](Self::to_json) wrote.
    pub fn from_json(text: &str) -> Result<Self> {
        let wire: Wire = serde_json::from_str(text)
            .map_err(|e| Error::NotStrata(format!("footer `{META_KEY}`: {e}")))?;
        if wire.format != 1 {
            return Err(Error::NotStrata(format!(
                "footer format {} (this build reads 1)",
                wire.format
            )));
        }
        let kind = wire
            .kind
            .parse()
            .map_err(|e| Error::NotStrata(format!("footer kind: {e}")))?;
        let digest = EventDigest::from_hex(wire.events, &wire.digest)
            .ok_or_else(|| Error::NotStrata(format!("footer digest `{}`", wire.digest)))?;
        let time_range = match (wire.min_ts, wire.max_ts) {
            (Some(a), Some(b)) => Some((a, b)),
            (None, None) => None,
            _ => {
                return Err(Error::NotStrata(
                    "footer has one end of its time range".into(),
                ))
            }
        };
        Ok(FileMeta {
            kind,
            digest,
            time_range,
        })
    }
}
