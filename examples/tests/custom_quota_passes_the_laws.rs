//! The example's licence quota passes the quota laws every `QuotaPolicy` must pass (EXT-2), and
//! the writer enforces it beside the config's rules: it warns past 80 %, refuses the batch that
//! would pass the allowance and writes nothing of it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use strata::archive::Archive;
use strata::ingest::{Error, WriterOptions};
use strata_examples::data::binance_cut_events;
use strata_examples::licence_quota::LicenceQuota;

#[test]
fn the_licence_quota_passes_the_quota_laws() {
    for allowance in [0, 1, 2_000, 1_000_000, u64::MAX] {
        strata_core::laws::quota::run_all(&LicenceQuota {
            source: "binance".into(),
            events_per_day: allowance,
        });
    }
}

#[test]
fn the_writer_enforces_it_on_real_data() {
    let events = binance_cut_events().unwrap();
    assert!(events.len() > 2_500);
    let dir = tempfile::tempdir().unwrap();
    let archive = Archive::builder(dir.path())
        .quota(Arc::new(LicenceQuota {
            source: "binance".into(),
            events_per_day: 2_000,
        }))
        .open()
        .unwrap();
    assert_eq!(archive.components().quotas.len(), 1);
    let writer = archive.writer(WriterOptions::default()).unwrap();
    let (mut stored, mut refused) = (0, 0);
    for batch in events.chunks(500) {
        match writer.append_batch(batch) {
            Ok(outcome) => stored += outcome.accepted,
            Err(Error::QuotaExceeded {
                scope, limit, used, ..
            }) => {
                assert_eq!((scope.as_str(), limit), ("licence=binance", 2_000));
                assert!(used <= 2_000);
                refused += batch.len();
            }
            Err(other) => panic!("{other}"),
        }
    }
    let report = writer.close().unwrap();
    assert_eq!(
        stored, 2_000,
        "four batches of 500 fit the allowance exactly"
    );
    assert_eq!(stored + refused, events.len());
    assert!(
        report.quota_signals.iter().any(|s| s.contains("over 80 %")),
        "{:?}",
        report.quota_signals
    );
    let on_disk: u64 = archive
        .catalog()
        .find(&Default::default())
        .unwrap()
        .iter()
        .map(|m| m.stats.event_count)
        .sum();
    assert_eq!(on_disk, 2_000);
}

/// `[extensions] quotas = ["trial_licence"]` in strata.toml selects the quota the program
/// registered under that name, built from `[extensions.settings.trial_licence]`; without the
/// registration a writable archive refuses to open and says which key names what, while a
/// read-only one (which writes nothing) opens.
#[test]
fn a_config_file_names_the_registered_quota() {
    let dir = tempfile::tempdir().unwrap();
    let write_config = |settings: &str| {
        std::fs::write(
            dir.path().join("strata.toml"),
            format!(
                "archive.root = \".\"\n\n[extensions]\nquotas = [\"trial_licence\"]\n\n\
                 [extensions.settings.trial_licence]\n{settings}"
            ),
        )
        .unwrap();
    };
    write_config("source = \"binance\"\nevents_per_day = 2000\n");
    let registered = || {
        Archive::builder(dir.path())
            .register_quota("trial_licence", LicenceQuota::from_settings)
            .unwrap()
    };

    let err = Archive::builder(dir.path())
        .open()
        .err()
        .expect("refused")
        .to_string();
    assert!(
        err.starts_with("extensions.quotas = \"trial_licence\": no extension of that name"),
        "{err}"
    );
    assert!(err.contains("register_quota"), "{err}");
    let archive = registered().open().unwrap();
    assert_eq!(archive.components().quotas.len(), 1);
    assert_eq!(archive.components().quotas[0].name(), "licence=binance");
    let writer = archive.writer(WriterOptions::default()).unwrap();
    let (mut stored, mut refused) = (0, 0);
    for batch in binance_cut_events().unwrap().chunks(500) {
        match writer.append_batch(batch) {
            Ok(outcome) => stored += outcome.accepted,
            Err(Error::QuotaExceeded { scope, limit, .. }) => {
                assert_eq!((scope.as_str(), limit), ("licence=binance", 2_000));
                refused += batch.len();
            }
            Err(other) => panic!("{other}"),
        }
    }
    writer.close().unwrap();
    assert_eq!(stored, 2_000);
    assert!(refused > 0);
    drop(archive);
    // Reading needs no quota: the archive opens read-only without the registration.
    let reader = Archive::builder(dir.path()).read_only().open().unwrap();
    let on_disk: u64 = reader
        .catalog()
        .find(&Default::default())
        .unwrap()
        .iter()
        .map(|m| m.stats.event_count)
        .sum();
    assert_eq!(on_disk, 2_000);
    drop(reader);

    write_config("source = \"binance\"\n");
    let err = registered().open().err().expect("refused").to_string();
    assert_eq!(
        err,
        "extensions.quotas = \"trial_licence\": cannot be built from \
         [extensions.settings.trial_licence]: `events_per_day` (a whole number) is required"
    );
}
