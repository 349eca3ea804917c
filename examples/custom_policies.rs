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

use strata::archive::Archive;
use strata::ingest::WriterOptions;
use strata_examples::custom_policies;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let scratch = tempfile::tempdir()?;
    let root = scratch.path();
    std::fs::write(root.join("strata.toml"), custom_policies::CONFIG_TOML)?;

    let refused = Archive::builder(root)
        .open()
        .err()
        .expect("unregistered extensions refused");
    println!("without registering them: {refused}");

    let archive = custom_policies::register(Archive::builder(root))?.open()?;
    println!(
        "integrity: {}; seal: {}; tiers: {}",
        archive.components().integrity.name(),
        archive.components().seal_schedule.name(),
        archive.tier_policy().name()
    );

    let events = strata_examples::data::binance_cut_events()?;
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
