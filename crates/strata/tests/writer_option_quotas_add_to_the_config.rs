//! Quotas given to `Archive::writer` in `WriterOptions` are enforced besides the config's
//! `[[quotas]]` hard limits, never instead of them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use strata::archive::Archive;
use strata::config::Config;
use strata::ingest::WriterOptions;
use strata::model::{Decimal, Event, Payload, Timestamp, Trade};
use strata::policy::{EnforcementMode, QuotaPolicy, QuotaRule, QuotaScope};

fn trade(symbol: &str, i: i64) -> Event {
    Event::new(
        "feed",
        symbol,
        Timestamp::from_nanos(1_705_323_600_000_000_000 + i * 1_000_000),
        Payload::Trade(Trade {
            price: Decimal::from_int(470 + i),
            size: Decimal::from_int(100),
            side: None,
            trade_id: Some(i.to_string()),
            conditions: None,
        }),
    )
}

fn daily_limit(symbol: &str, events: u64) -> QuotaRule {
    QuotaRule {
        scope: QuotaScope::Symbol(symbol.into()),
        max_bytes: None,
        max_files: None,
        max_events_per_day: Some(events),
        mode: EnforcementMode::HardLimit,
    }
}

#[test]
fn the_configs_hard_limit_and_the_options_quota_are_both_enforced() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.quotas.push(daily_limit("SPY", 2));
    let archive = Archive::open(dir.path(), config).unwrap();
    let mut options = WriterOptions::default();
    options.components.quotas = Some(vec![Arc::new(daily_limit("QQQ", 1)) as Arc<dyn QuotaPolicy>]);
    let writer = archive.writer(options).unwrap();

    // The config's limit: three SPY events a day where two are allowed.
    let spy: Vec<Event> = (0..3).map(|i| trade("SPY", i)).collect();
    let err = writer.append_batch(&spy).unwrap_err();
    assert!(err.to_string().contains("SPY"), "{err}");
    // The options' limit: two QQQ events where one is allowed.
    let qqq: Vec<Event> = (0..2).map(|i| trade("QQQ", i)).collect();
    let err = writer.append_batch(&qqq).unwrap_err();
    assert!(err.to_string().contains("QQQ"), "{err}");
    // Within both, batches are written.
    assert_eq!(writer.append_batch(&spy[..2]).unwrap().accepted, 2);
    assert_eq!(writer.append_batch(&qqq[..1]).unwrap().accepted, 1);
    assert_eq!(writer.report().events, 3);
    writer.close().unwrap();
}
