//! The four tiers and how each stores its files (TIER-1).
//!
//! Age limits per tier live in the retention table ([`super::retention`]), per event kind; a tier
//! definition says *how* files are stored there: format, codec (with per-kind overrides — the
//! compression matrix of POL-2), size cap, backend URL and WORM.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use strata_codec::CodecSpec;
use strata_model::{EventKind, UnknownName};

/// A tier, hottest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TierName {
    /// Fresh data being written: JSONL, none or LZ4.
    Hot,
    /// Recent sealed data: JSONL with gzip or zstd.
    Warm,
    /// Older data: Parquet with zstd.
    Cold,
    /// Perpetual: Parquet with maximum zstd, write-once.
    Archive,
}

impl TierName {
    /// All tiers, hottest first.
    pub const ALL: [TierName; 4] = [
        TierName::Hot,
        TierName::Warm,
        TierName::Cold,
        TierName::Archive,
    ];

    /// The lower-case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            TierName::Hot => "hot",
            TierName::Warm => "warm",
            TierName::Cold => "cold",
            TierName::Archive => "archive",
        }
    }
}

impl fmt::Display for TierName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for TierName {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, UnknownName> {
        TierName::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| UnknownName {
                what: "tier",
                name: s.to_string(),
                expected: "hot warm cold archive",
            })
    }
}

/// A file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileFormat {
    /// JSON Lines (schema v1, `docs/SCHEMA.md`).
    Jsonl,
    /// Apache Parquet.
    Parquet,
}

impl FileFormat {
    /// The lower-case name (as serialized).
    pub const fn as_str(self) -> &'static str {
        match self {
            FileFormat::Jsonl => "jsonl",
            FileFormat::Parquet => "parquet",
        }
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
