//! EXT-3: a config file names the integrity policy, seal schedule and tier policy a program
//! registered (`[extensions]` in strata.toml), with settings of their own; the writer then
//! runs them. On the committed cut of a Binance capture (`testdata/README.md`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::Arc;

use strata::archive::Archive;
use strata::config::Config;
use strata::extension::ExtensionSettings;
use strata::import::{import_file, Format, ImportOptions, Record};
use strata::ingest::WriterOptions;
use strata::model::{Decimal, Event, Payload};
use strata::policy::integrity::{Candidate, Rejection, StreamFacts, Verdict};
use strata::policy::{IntegrityChecks, IntegrityPolicy, RetentionPlacement, SealRules, TierPolicy};

/// The built-in checks, and no trade larger than `max_size`.
#[derive(Debug)]
struct MaxTradeSize {
    checks: IntegrityChecks,
    max_size: Decimal,
}

impl IntegrityPolicy for MaxTradeSize {
    fn name(&self) -> String {
        format!("{} + trades up to {}", self.checks.name(), self.max_size)
    }
    fn memory(&self) -> usize {
        self.checks.memory()
    }
    fn verdict(&self, stream: &StreamFacts, candidate: &Candidate<'_>) -> Verdict {
        match &candidate.event.payload {
            Payload::Trade(t) if t.size.cmp_value(self.max_size).is_gt() => {
                Verdict::Reject(Rejection::Other {
                    class: "oversize_trade".into(),
                    reason: format!("size {} over {}", t.size, self.max_size),
                })
            }
            _ => self.checks.verdict(stream, candidate),
        }
    }
}

fn events() -> Vec<Event> {
    let capture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/binance/btcusdt_20240808_first3000.txt.gz");
    import_file(&capture, Format::Binance, &ImportOptions::default())
        .unwrap()
        .filter_map(|r| match r {
            Record::Event(e) => Some(e),
            _ => None,
        })
        .collect()
}

const CONFIG: &str = r#"archive.root = "."

[extensions]
integrity = "max_trade_size"
seal_schedule = "small_files"
tier_policy = "default_placement"

[extensions.settings.max_trade_size]
max_size = "0.01"

[extensions.settings.small_files]
max_file_bytes = 65536
"#;

#[test]
fn the_config_names_integrity_seal_and_tier_extensions() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("strata.toml"), CONFIG).unwrap();
    let placement: Arc<dyn TierPolicy> = Arc::new(RetentionPlacement {
        retention: Config::default().retention,
        classification: Config::default().classification,
    });
    let ours = placement.clone();
    let archive = Archive::builder(dir.path())
        .register_integrity("max_trade_size", |settings: &ExtensionSettings| {
            let max_size = settings
                .get("max_size")
                .and_then(|v| v.as_str())
                .ok_or("`max_size` (a decimal string) is required")?
                .parse::<Decimal>()
                .map_err(|e| format!("`max_size`: {e}"))?;
            Ok(Arc::new(MaxTradeSize {
                checks: IntegrityChecks::default(),
                max_size,
            }))
        })
        .unwrap()
        .register_seal_schedule("small_files", |settings| {
            let max_file_bytes = settings
                .get("max_file_bytes")
                .and_then(|v| v.as_u64())
                .ok_or("`max_file_bytes` (a whole number) is required")?;
            Ok(Arc::new(SealRules {
                max_file_bytes,
                max_file_age: std::time::Duration::from_secs(3600),
            }))
        })
        .unwrap()
        .register_tier_policy("default_placement", move |_| Ok(ours.clone()))
        .unwrap()
        .open()
        .unwrap();
    assert!(archive
        .components()
        .integrity
        .name()
        .ends_with("trades up to 0.01"));
    assert_eq!(
        archive.components().seal_schedule.name(),
        "size 65536 bytes, age 3600 s"
    );
    assert!(Arc::ptr_eq(archive.tier_policy(), &placement));

    let events = events();
    let max = "0.01".parse::<Decimal>().unwrap();
    let oversize = events
        .iter()
        .filter(|e| matches!(&e.payload, Payload::Trade(t) if t.size.cmp_value(max).is_gt()))
        .count();
    assert!(oversize > 0 && oversize < events.len(), "{oversize}");

    let writer = archive.writer(WriterOptions::default()).unwrap();
    let outcome = writer.append_batch(&events).unwrap();
    let report = writer.close().unwrap();
    assert_eq!(outcome.rejected, oversize);
    assert_eq!(
        report.rejected_by_reason.get("oversize_trade").copied(),
        Some(oversize as u64)
    );
    assert!(
        report.files_sealed >= 2,
        "{} bytes in files of at most 64 KiB: {} sealed",
        report.bytes_written,
        report.files_sealed
    );
}

#[test]
fn an_unregistered_name_or_refused_settings_is_an_error_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("strata.toml"), CONFIG).unwrap();
    let err = Archive::builder(dir.path())
        .open()
        .err()
        .expect("refused")
        .to_string();
    assert!(
        err.starts_with("extensions.integrity = \"max_trade_size\": no extension of that name"),
        "{err}"
    );
    // Reading needs none of them: an archive written with them opens read-only without.
    Archive::builder(dir.path())
        .integrity(Arc::new(IntegrityChecks::default()))
        .seal_schedule(Arc::new(SealRules {
            max_file_bytes: 1 << 20,
            max_file_age: std::time::Duration::from_secs(60),
        }))
        .tier_policy(Arc::new(RetentionPlacement {
            retention: Config::default().retention,
            classification: Config::default().classification,
        }))
        .open()
        .unwrap();
    let reader = Archive::builder(dir.path()).read_only().open().unwrap();
    assert!(reader
        .catalog()
        .find(&Default::default())
        .unwrap()
        .is_empty());

    let err = Archive::builder(dir.path())
        .register_integrity("max_trade_size", |_| Err("`max_size` is required".into()))
        .unwrap()
        .open()
        .err()
        .expect("refused")
        .to_string();
    assert_eq!(
        err,
        "extensions.integrity = \"max_trade_size\": cannot be built from \
         [extensions.settings.max_trade_size]: `max_size` is required"
    );
    let err = Archive::builder(dir.path())
        .register_integrity("Max", |_| Err("unused".into()))
        .unwrap_err()
        .to_string();
    assert!(err.contains("lowercase"), "{err}");
}
