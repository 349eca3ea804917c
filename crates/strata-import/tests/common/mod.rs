//! Helpers shared by the integration tests: where the fixtures are, and collecting an import.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use strata_import::{import_file, Format, ImportOptions, ImportSummary, Record, Rejected};
use strata_model::Event;

/// The workspace's committed fixtures.
pub fn testdata(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata")
        .join(rel)
}

/// The shared full data set, when it is present (`$STRATA_DATA_DIR`, else `../shared/data`
/// beside the workspace).
pub fn shared_data() -> Option<PathBuf> {
    let dir = match std::env::var_os("STRATA_DATA_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
    };
    dir.join("MANIFEST.tsv").is_file().then_some(dir)
}

/// Everything one import yields, sorted by record type.
#[derive(Debug, Default)]
pub struct Imported {
    pub events: Vec<Event>,
    pub rejected: Vec<Rejected>,
    pub skipped: Vec<(u64, String)>,
    pub gaps: Vec<strata_import::Gap>,
    pub summary: ImportSummary,
    /// The records in order (events replaced by their kind name, to keep it small).
    pub order: Vec<String>,
}

impl Imported {
    pub fn kinds(&self) -> BTreeMap<String, u64> {
        self.summary
            .events_by_kind
            .iter()
            .map(|(k, n)| (k.to_string(), *n))
            .collect()
    }
}

pub fn collect(records: impl Iterator<Item = Record>) -> Imported {
    let mut out = Imported::default();
    let mut ended = false;
    for record in records {
        assert!(!ended, "a record after End: {record:?}");
        out.summary.add(&record);
        match record {
            Record::Event(event) => {
                out.order.push(event.kind().to_string());
                out.events.push(event);
            }
            Record::Rejected(rejected) => {
                out.order.push(format!("rejected:{}", rejected.line));
                out.rejected.push(rejected);
            }
            Record::Skipped { line, reason } => {
                out.order.push(format!("skipped:{line}"));
                out.skipped.push((line, reason));
            }
            Record::Gap(gap) => {
                out.order.push(format!("gap:{}", gap.line));
                out.gaps.push(gap);
            }
            Record::Instrument(info) => {
                assert!(
                    !out.events.iter().any(|e| e.symbol == info.symbol),
                    "an instrument comes before its events: {info:?}"
                );
                out.order.push(format!("instrument:{}", info.symbol));
            }
            Record::End { .. } => ended = true,
        }
    }
    assert!(ended, "every import ends with Record::End");
    out
}

pub fn import(path: &Path, format: Format, options: &ImportOptions) -> Imported {
    collect(import_file(path, format, options).unwrap())
}
