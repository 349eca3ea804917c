//! The four tiers and how each stores its files (TIER-1).
//!
//! Age limits per tier live in the retention table ([`super::retention`]), per event kind; a tier
//! definition says *how* files are stored there: format, codec (with per-kind overrides — the
//! compression matrix of POL-2), size cap, backend URL and WORM.

use std::collections::BTreeMap;

use chrono::{Datelike, Days, NaiveDate, NaiveTime};
use serde::{Deserialize, Serialize};
use strata_codec::CodecSpec;
use strata_model::{EventKind, Timestamp};

use crate::layout::period::saturating_timestamp;

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

strata_model::named_enum! {
    /// How much time one consolidated file covers (TIER-4): a tier with
    /// [`consolidate`](TierDefinition::consolidate) holds one file per period, kind, source and
    /// symbol once the period has ended.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
    pub enum Consolidation [what = "consolidation period", serde] {
        /// One file per UTC day (`2024-01-15`).
        Daily = "daily",
        /// One file per ISO week, Monday to Sunday in UTC (`2024-W03`).
        Weekly = "weekly",
        /// One file per UTC month (`2024-01`).
        Monthly = "monthly",
        /// One file per UTC year (`2024`).
        Yearly = "yearly",
    }
}

/// One period of a [`Consolidation`]: the instants `[start, end)` in UTC and its label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeriodBucket {
    /// Its first instant.
    pub start: Timestamp,
    /// The first instant after it.
    pub end: Timestamp,
    /// Its name: `2024-01-15`, `2024-W03`, `2024-01` or `2024`.
    pub label: String,
}

impl Consolidation {
    /// Whether every period of `self` lies within one period of `wider` (a day in any period,
    /// a month in a year; an ISO week crosses months and years, so only a week holds it).
    pub fn nests_in(self, wider: Consolidation) -> bool {
        use Consolidation::*;
        matches!(
            (self, wider),
            (Daily, _) | (Weekly, Weekly) | (Monthly, Monthly | Yearly) | (Yearly, Yearly)
        )
    }

    /// The period that holds `at`. Periods at the ends of the [`Timestamp`] range are cut to it.
    pub fn bucket(self, at: Timestamp) -> PeriodBucket {
        let date = at.utc_date();
        let (first, label) = match self {
            Consolidation::Daily => (date, date.format("%Y-%m-%d").to_string()),
            Consolidation::Weekly => {
                let week = date.iso_week();
                let monday = date
                    .checked_sub_days(Days::new(u64::from(date.weekday().num_days_from_monday())))
                    .unwrap_or(NaiveDate::MIN);
                (monday, format!("{:04}-W{:02}", week.year(), week.week()))
            }
            Consolidation::Monthly => (
                date.with_day(1).unwrap_or(date),
                format!("{:04}-{:02}", date.year(), date.month()),
            ),
            Consolidation::Yearly => (
                NaiveDate::from_ymd_opt(date.year(), 1, 1).unwrap_or(date),
                format!("{:04}", date.year()),
            ),
        };
        let next = match self {
            Consolidation::Daily => first.checked_add_days(Days::new(1)),
            Consolidation::Weekly => first.checked_add_days(Days::new(7)),
            Consolidation::Monthly => first.checked_add_months(chrono::Months::new(1)),
            Consolidation::Yearly => first.checked_add_months(chrono::Months::new(12)),
        };
        PeriodBucket {
            start: saturating_timestamp(first.and_time(NaiveTime::MIN)),
            end: next.map_or(Timestamp::from_nanos(i64::MAX), |d| {
                saturating_timestamp(d.and_time(NaiveTime::MIN))
            }),
            label,
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
    /// With `worm`: keep every object written to the tier under S3 Object Lock retention
    /// (COMPLIANCE mode) for this many days from its write, enforced by the server itself.
    /// Needs an `s3://` backend whose bucket has Object Lock enabled; elsewhere the tier's
    /// writes are refused (`strata backend check URL --require object-lock` tells).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retain_days: Option<u32>,
    /// Merge the tier's files into one per period (TIER-4), per kind, source and symbol: the
    /// files of a period that has ended, and the files that migrate here together, which wait
    /// until their whole period is due. Not on the hot tier; on a write-once tier only on the
    /// way in (its files are never rewritten).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consolidate: Option<Consolidation>,
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
            consolidate: None,
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ts(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn buckets_are_named_and_bounded() {
        let at = ts("2024-01-01T05:00:00Z");
        // 2024-01-01 is a Monday in ISO week 1; 2023-01-01 a Sunday in 2022's week 52.
        let cases = [
            (
                Consolidation::Daily,
                at,
                "2024-01-01",
                "2024-01-01",
                "2024-01-02",
            ),
            (
                Consolidation::Weekly,
                at,
                "2024-W01",
                "2024-01-01",
                "2024-01-08",
            ),
            (
                Consolidation::Weekly,
                ts("2023-01-01T23:59:59Z"),
                "2022-W52",
                "2022-12-26",
                "2023-01-02",
            ),
            (
                Consolidation::Monthly,
                ts("2024-02-29T12:00:00Z"),
                "2024-02",
                "2024-02-01",
                "2024-03-01",
            ),
            (
                Consolidation::Yearly,
                ts("2024-12-31T23:59:59.999999999Z"),
                "2024",
                "2024-01-01",
                "2025-01-01",
            ),
        ];
        for (period, at, label, start, end) in cases {
            let bucket = period.bucket(at);
            assert_eq!(bucket.label, label, "{period} of {at}");
            assert_eq!(bucket.start, ts(start), "{period} of {at}");
            assert_eq!(bucket.end, ts(end), "{period} of {at}");
        }
    }

    proptest! {
        /// Every instant falls in its bucket; the instants of one bucket share its label and
        /// bounds; the next bucket starts where it ends.
        #[test]
        fn every_instant_is_in_its_bucket(
            nanos in -4_000_000_000_000_000_000i64..4_000_000_000_000_000_000,
            period in prop::sample::select(Consolidation::ALL.to_vec()),
        ) {
            let at = Timestamp::from_nanos(nanos);
            let bucket = period.bucket(at);
            prop_assert!(bucket.start <= at && at < bucket.end);
            prop_assert_eq!(&period.bucket(bucket.start), &bucket);
            let last = Timestamp::from_nanos(bucket.end.as_nanos() - 1);
            prop_assert_eq!(&period.bucket(last), &bucket);
            let next = period.bucket(bucket.end);
            prop_assert_eq!(next.start, bucket.end);
            prop_assert!(next.label > bucket.label);
        }
    }
}
