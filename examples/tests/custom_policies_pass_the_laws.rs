//! The example integrity policy, seal schedule and tier policy pass their traits' laws (EXT-2),
//! and a `strata.toml` names them (`[extensions]`, EXT-3): on the committed cut of a Binance
//! capture the policy refuses exactly the oversize trades, every file holds at most the
//! schedule's event count, and the archive places files by the named tier policy. Without the
//! registrations a writable archive refuses to open, naming the key; a read-only one opens.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::Duration;

use strata::archive::Archive;
use strata::extension::serde_json::json;
use strata::ingest::WriterOptions;
use strata::model::{Decimal, EventKind, Payload};
use strata::policy::{Classification, FileFacts, IntegrityChecks, TierAction, TierName};
use strata_core::laws::integrity::Claims;
use strata_examples::books_to_archive::BooksToArchive;
use strata_examples::custom_policies::{self, CONFIG_TOML};
use strata_examples::data::binance_cut_events;
use strata_examples::event_count_seal::{EventCountSeal, DEFAULT_MAX_BYTES};
use strata_examples::max_trade_size::MaxTradeSize;

#[test]
fn the_example_policies_pass_the_laws() {
    // The laws' ordinary feed trades size 1, so a limit below 1 would refuse it by design.
    for max_size in ["1", "2.5", "1000000"] {
        let policy = MaxTradeSize {
            checks: IntegrityChecks::default(),
            max_size: max_size.parse().unwrap(),
        };
        strata_core::laws::integrity::run_all_claiming(
            &policy,
            Claims::of(&IntegrityChecks::default()),
        );
    }
    for (max_events, max_bytes, secs) in [
        (1, 1, 0),
        (1, 1 << 20, 1),
        (1_000, DEFAULT_MAX_BYTES, 60),
        (u64::MAX, DEFAULT_MAX_BYTES, 3_600),
    ] {
        strata_core::laws::seal::run_all(&EventCountSeal {
            max_events,
            max_bytes,
            max_age: Duration::from_secs(secs),
        });
    }
    for hot_days in [0, 1, 7, 365, u64::MAX] {
        strata_core::laws::tier::run_all(&BooksToArchive { hot_days });
    }
}

#[test]
fn the_tier_policy_sends_books_to_archive_and_the_rest_to_warm() {
    let policy = BooksToArchive { hot_days: 7 };
    let facts = |kind, age_days, tier| FileFacts {
        kind,
        classification: Classification::Standard,
        age_days,
        tier,
        held: false,
        worm_locked: false,
    };
    let action = |f: FileFacts| policy.decide(&f).0;
    use strata::policy::TierPolicy;
    assert_eq!(
        action(facts(EventKind::Trade, 3, TierName::Hot)),
        TierAction::Stay
    );
    assert_eq!(
        action(facts(EventKind::OrderBookDelta, 8, TierName::Hot)),
        TierAction::Migrate(TierName::Archive)
    );
    assert_eq!(
        action(facts(EventKind::Trade, 8, TierName::Hot)),
        TierAction::Migrate(TierName::Warm)
    );
    assert_eq!(
        action(facts(EventKind::Trade, 8, TierName::Cold)),
        TierAction::Stay
    );
}

fn registered(dir: &Path) -> strata::builder::ArchiveBuilder {
    custom_policies::register(Archive::builder(dir)).unwrap()
}

#[test]
fn a_config_file_names_them_and_the_writer_runs_them_on_real_data() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("strata.toml"), CONFIG_TOML).unwrap();
    let archive = registered(dir.path()).open().unwrap();
    let components = archive.components();
    assert_eq!(
        components.integrity.name(),
        "integrity_checks, trades up to 0.5"
    );
    assert_eq!(components.seal_schedule.name(), "1000 events, age 3600 s");
    assert_eq!(
        archive.tier_policy().name(),
        "books to archive after 7 days"
    );

    let events = binance_cut_events().unwrap();
    let max: Decimal = "0.5".parse().unwrap();
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
    let files = archive.catalog().find(&Default::default()).unwrap();
    let counts: Vec<u64> = files.iter().map(|m| m.stats.event_count).collect();
    assert_eq!(counts.iter().sum::<u64>(), outcome.accepted as u64);
    assert!(counts.iter().all(|&n| n <= 1_000), "{counts:?}");
    assert!(counts.contains(&1_000), "{counts:?}");
    assert!(
        files.iter().any(|m| m.seal_reason.as_str() == "size"),
        "a file sealed for its event count"
    );
}

#[test]
fn unregistered_names_and_refused_settings_are_errors_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("strata.toml"), CONFIG_TOML).unwrap();
    let err = Archive::builder(dir.path())
        .open()
        .err()
        .expect("refused")
        .to_string();
    assert!(
        err.starts_with("extensions.integrity = \"max_trade_size\": no extension of that name"),
        "{err}"
    );
    assert!(err.contains("register_integrity"), "{err}");
    // An archive written with them opens read-only without them: reading needs none.
    drop(registered(dir.path()).open().unwrap());
    let reader = Archive::builder(dir.path()).read_only().open().unwrap();
    assert!(reader
        .catalog()
        .find(&Default::default())
        .unwrap()
        .is_empty());

    std::fs::write(
        dir.path().join("strata.toml"),
        CONFIG_TOML.replace("max_events = 1000", "max_events = 0"),
    )
    .unwrap();
    let err = registered(dir.path())
        .open()
        .err()
        .expect("refused")
        .to_string();
    assert_eq!(
        err,
        "extensions.seal_schedule = \"event_count\": cannot be built from \
         [extensions.settings.event_count]: `max_events` must be at least 1"
    );
    assert_eq!(
        MaxTradeSize::from_settings(&json!({ "max_size": "-1" }))
            .err()
            .as_deref(),
        Some("`max_size` = \"-1\" is negative")
    );
    let err = Archive::builder(dir.path())
        .register_integrity("Max", MaxTradeSize::from_settings)
        .expect_err("refused")
        .to_string();
    assert!(err.contains("lowercase"), "{err}");
}
