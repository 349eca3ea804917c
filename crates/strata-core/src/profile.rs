//! Profiles (POL-5): bundles of defaults for a use. A profile only fills keys the user left
//! out — it never overrides a value the user wrote (see [`crate::config`] for the layering).

use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

strata_model::named_enum! {
    /// A bundle of defaults; [`as_str`](Self::as_str) is its name in config and on the command
    /// line. `FromStr` is written out below: it also reads `-` for `_` (`low-latency`).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
    pub enum Profile [serde] {
        /// Balanced: daily files, manifests and checksums, sealed files zstd-compressed (level 1:
        /// on the measured codec table it is six times faster than gzip 6 at a similar ratio, so
        /// sealing keeps up with ingest above 1 M events/s).
        #[default]
        Research = "research",
        /// Fastest capture: no compression, hourly files, short group-commit interval, no Parquet
        /// sink.
        LowLatency = "low_latency",
        /// Keep everything long and small: lifecycle tiering on, checksums, Parquet sink; hot
        /// files sealed with zstd 1 (fast enough to keep up with ingest), recompressed with zstd 9
        /// in the warm tier.
        Archival = "archival",
    }
}

impl Profile {
    /// The keys this profile fills, as a partial config tree.
    pub fn overlay(self) -> Value {
        match self {
            Profile::Research => json!({
                "layout": { "granularity": "daily" },
                "storage": { "compress": true, "codec": "zstd:1", "manifests": true, "checksums": true },
                "sinks": { "jsonl": true, "parquet": false },
                "durability": { "mode": "group_commit", "group_commit_interval_ms": 50 },
                "lifecycle": { "enabled": true },
            }),
            Profile::LowLatency => json!({
                "layout": { "granularity": "hourly" },
                "storage": { "compress": false, "codec": "none", "manifests": true, "checksums": true },
                "sinks": { "jsonl": true, "parquet": false },
                "durability": { "mode": "group_commit", "group_commit_interval_ms": 5 },
                "lifecycle": { "enabled": false },
            }),
            Profile::Archival => json!({
                "layout": { "granularity": "daily" },
                "storage": { "compress": true, "codec": "zstd:1", "manifests": true, "checksums": true },
                "sinks": { "jsonl": true, "parquet": true },
                "durability": { "mode": "per_batch" },
                "lifecycle": { "enabled": true },
                "tiers": { "warm": { "codec": "zstd:9" } },
            }),
        }
    }
}

impl FromStr for Profile {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let name = s.replace('-', "_");
        match Profile::ALL.iter().find(|p| p.as_str() == name) {
            Some(&profile) => Ok(profile),
            None => Err(format!(
                "unknown profile `{s}`; expected research, low-latency or archival"
            )),
        }
    }
}
