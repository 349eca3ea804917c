//! A quota strata does not ship: a vendor trial licence's daily allowance
//! (`strata_examples::licence_quota`), added on the archive builder beside the config's own
//! `[[quotas]]`. The writer warns past 80 % and refuses the batch that would pass the allowance;
//! the refused batch is not written, so the feed handler keeps it.
//!
//! Real data: the committed cut of a Binance capture, appended in batches of 500 events.
//! Run it with `cargo run -p strata-examples --example custom_quota`.

// An example may stop on the first error with a readable message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use strata::archive::Archive;
use strata::ingest::{Error as IngestError, WriterOptions};
use strata_examples::licence_quota::LicenceQuota;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let scratch = tempfile::tempdir()?;
    let events = strata_examples::data::binance_cut_events()?;

    let archive = Archive::builder(scratch.path())
        .quota(Arc::new(LicenceQuota {
            source: "binance".into(),
            events_per_day: 2_000,
        }))
        .open()?;
    let writer = archive.writer(WriterOptions::default())?;
    let mut stored = 0;
    for batch in events.chunks(500) {
        match writer.append_batch(batch) {
            Ok(outcome) => {
                stored += outcome.accepted;
                println!("batch of {}: stored ({stored} so far)", batch.len());
            }
            Err(IngestError::QuotaExceeded {
                scope, limit, used, ..
            }) => {
                println!(
                    "batch of {}: refused by {scope} ({used} of {limit} used today)",
                    batch.len()
                );
            }
            Err(other) => return Err(other.into()),
        }
    }
    let report = writer.close()?;
    println!(
        "stored {stored} of {}; quota signals: {:?}",
        events.len(),
        report.quota_signals
    );
    Ok(())
}
