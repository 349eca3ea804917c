//! An integrity policy, a seal schedule and a tier policy of one's own, named from `strata.toml`:
//! the program registers each factory under a name (`ArchiveBuilder::register_integrity`,
//! `register_seal_schedule`, `register_tier_policy`); the config's `[extensions]` section picks
//! them and gives their settings. Without the registrations the archive refuses to open for
//! writing and says which key names what.
//!
//! Real data: the committed cut of a Binance capture.
//! Run it with `cargo run -p strata-examples --example custom_policies`.

// An example may stop on the first error with a readable message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use strata::archive::Archive;
use strata::import::{import_file, Format, ImportOptions, Record};
use strata::ingest::WriterOptions;
use strata_examples::books_to_archive::BooksToArchive;
use strata_examples::event_count_seal::EventCountSeal;
use strata_examples::max_trade_size::MaxTradeSize;

const CONFIG: &str = r#"archive.root = "."

[extensions]
integrity = "max_trade_size"
seal_schedule = "event_count"
tier_policy = "books_to_archive"

[extensions.settings.max_trade_size]
max_size = "0.5"

[extensions.settings.event_count]
max_events = 1000
max_age_secs = 3600

[extensions.settings.books_to_archive]
hot_days = 7
"#;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let scratch = tempfile::tempdir()?;
    let root = scratch.path();
    std::fs::write(root.join("strata.toml"), CONFIG)?;

    let refused = Archive::builder(root)
        .open()
        .err()
        .expect("unregistered extensions refused");
    println!("without registering them: {refused}");

    let archive = Archive::builder(root)
        .register_integrity("max_trade_size", MaxTradeSize::from_settings)?
        .register_seal_schedule("event_count", EventCountSeal::from_settings)?
        .register_tier_policy("books_to_archive", BooksToArchive::from_settings)?
        .open()?;
    println!(
        "integrity: {}; seal: {}; tiers: {}",
        archive.components().integrity.name(),
        archive.components().seal_schedule.name(),
        archive.tier_policy().name()
    );

    let capture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../testdata/binance/btcusdt_20240808_first3000.txt.gz");
    let events: Vec<_> = import_file(&capture, Format::Binance, &ImportOptions::default())?
        .filter_map(|record| match record {
            Record::Event(event) => Some(event),
            _ => None,
        })
        .collect();
    let writer = archive.writer(WriterOptions::default())?;
    let outcome = writer.append_batch(&events)?;
    let report = writer.close()?;
    println!(
        "{} events: {} stored, {} refused {:?}",
        events.len(),
        outcome.accepted,
        outcome.rejected,
        report.rejected_by_reason
    );
    for file in archive.catalog().find(&Default::default())? {
        println!(
            "{} events, sealed for {}: {}",
            file.stats.event_count, file.seal_reason, file.path
        );
    }
    Ok(())
}
