//! A lifecycle run for the killed-migration test: opens the archive at ROOT (made by
//! `strata-test-import`, same config) and carries out its lifecycle plan at NOW, exactly as
//! `strata lifecycle run` does; prints `DONE <migrated> <deleted> <resumed> <consolidated>`.
//! The warm tier consolidates daily, the cold tier monthly and the archive yearly (TIER-4);
//! `STRATA_TEST_IN_MEMORY_EVENTS` sets `lifecycle.in_memory_events`.
//!
//! Usage: `strata-test-lifecycle ROOT NOW`

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test helper: panics are failures

use strata_core::config::DurabilityMode;
use strata_core::policy::Consolidation;

fn main() {
    let mut args = std::env::args().skip(1);
    let root = std::path::PathBuf::from(args.next().expect("ROOT"));
    let now = strata_model::Timestamp::parse_flexible(&args.next().expect("NOW")).unwrap();
    let mut config = strata_tests::crash_test_config(DurabilityMode::GroupCommit, 2);
    config.tiers.warm.consolidate = Some(Consolidation::Daily);
    config.tiers.cold.consolidate = Some(Consolidation::Monthly);
    config.tiers.archive.consolidate = Some(Consolidation::Yearly);
    // The kill test sets it to 0 for some runs: consolidations in two passes.
    if let Ok(events) = std::env::var("STRATA_TEST_IN_MEMORY_EVENTS") {
        config.lifecycle.in_memory_events = events.parse().unwrap();
    }
    let archive = strata::archive::Archive::open(&root, config).unwrap();
    let report = archive.lifecycle_run(now, |_, _| {}).unwrap();
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    println!(
        "DONE {} {} {} {}",
        report.migrated.len(),
        report.deleted.len(),
        report.resumed,
        report.consolidated.len()
    );
}
