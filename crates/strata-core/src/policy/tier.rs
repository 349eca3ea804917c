//! The four tiers and how each stores its files (TIER-1).
//!
//! Age limits per tier live in the retention table ([`super::retention`]), per event kind; a tier
//! definition says *how* files are stored there: format, codec (with per-kind overrides — the
//! compression matrix of POL-2), size cap, backend URL and WORM.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use strata_codec::CodecSpec;
use strata_model::EventKind;

strata_model::named_enum! {
    /// A tier, hottest first (also in `ALL`); [`as_str`](Self::as_str) is the lower-case name.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
    pub enum TierName [what = "tier", serde] {
        /// Fresh data being written: JSONL, none or LZ4.
        Hot = "hot",
        /// Recent sealed data: JSONL with gzip or zstd.
        Warm = "warm",
        /// Older data: Parquet with zstd.
        Cold = "cold",
        /// Perpetual: Parquet with maximum zstd, write-once.
        Archive = "archive",
    }
}

strata_model::named_enum! {
    /// A file format; [`as_str`](Self::as_str) is the lower-case name (as serialized).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
    pub enum FileFormat [what = "file format", serde] {
        /// JSON Lines (schema v1, `docs/SCHEMA.md`).
        Jsonl = "jsonl",
        /// Apache Parquet.
        Parquet = "parquet",
    }
}

/// How one tier stores its files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TierDefinition {
    /// File format in this tier.
    pub format: FileFormat,
    /// Codec for files in this tier.
    pub codec: CodecSpec,
    /// Per-kind codec overrides (the compression matrix).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub codec_by_kind: BTreeMap<EventKind, CodecSpec>,
    /// Size cap for the tier, in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_bytes: Option<u64>,
    /// Backend URL (`file:///…`, `s3://bucket/prefix`, `memory://`); unset means
    /// `<archive root>/<tier name>` on the local disk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend: Option<String>,
    /// Write-once objects: create-only puts, no delete before retention ends (ARCH-1).
    #[serde(default)]
    pub worm: bool,
    /// With `worm`: keep every object written to the tier under S3 Object Lock retention
    /// (COMPLIANCE mode) for this many days from its write, enforced by the server itself.
    /// Needs an `s3://` backend whose bucket has Object Lock enabled; elsewhere the tier's
    /// writes are refused (`strata backend check URL --require object-lock` tells).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retain_days: Option<u32>,
}

impl TierDefinition {
    /// The codec for a kind, honouring the per-kind matrix.
    pub fn codec_for(&self, kind: EventKind) -> CodecSpec {
        self.codec_by_kind.get(&kind).copied().unwrap_or(self.codec)
    }
}

/// The four tier definitions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tiers {
    /// Hot tier.
    pub hot: TierDefinition,
    /// Warm tier.
    pub warm: TierDefinition,
    /// Cold tier.
    pub cold: TierDefinition,
    /// Archive tier.
    pub archive: TierDefinition,
}

impl Tiers {
    /// The definition of one tier.
    pub fn get(&self, tier: TierName) -> &TierDefinition {
        match tier {
            TierName::Hot => &self.hot,
            TierName::Warm => &self.warm,
            TierName::Cold => &self.cold,
            TierName::Archive => &self.archive,
        }
    }
}

impl Default for Tiers {
    fn default() -> Self {
        let def = |format, codec, worm| TierDefinition {
            format,
            codec,
            codec_by_kind: BTreeMap::new(),
            max_bytes: None,
            backend: None,
            worm,
            retain_days: None,
        };
        Tiers {
            hot: def(FileFormat::Jsonl, CodecSpec::None, false),
            warm: def(
                FileFormat::Jsonl,
                CodecSpec::Zstd {
                    level: 3,
                    long: false,
                },
                false,
            ),
            cold: def(
                FileFormat::Parquet,
                CodecSpec::Zstd {
                    level: 9,
                    long: false,
                },
                false,
            ),
            archive: def(
                FileFormat::Parquet,
                CodecSpec::Zstd {
                    level: 19,
                    long: false,
                },
                true,
            ),
        }
    }
}
