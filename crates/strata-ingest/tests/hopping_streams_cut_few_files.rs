//! A stream whose events hop between partitions — late events of earlier days mixed with the
//! current day's, a replay out of order — does not cut a file at every hop: the writer seals a
//! partition's segment at a partition boundary only when the stream moves past every partition
//! it has entered (a feed in time order seals each day as it ends, as before).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use strata_catalog::{Catalog, FileQuery};
use strata_core::config::Config;
use strata_core::layout::Granularity;
use strata_core::Profile;
use strata_ingest::{Writer, WriterOptions};
use strata_model::{Decimal, Event, Payload, Timestamp, Trade};

fn trade(ts: i64, i: i64) -> Event {
    Event::new(
        "feed",
        "SPY",
        Timestamp::from_nanos(ts),
        Payload::Trade(Trade {
            price: Decimal::new(16_850 + i % 100, 2).unwrap(),
            size: Decimal::from_int(1 + i % 7),
            side: None,
            trade_id: None,
            conditions: None,
        }),
    )
}

/// Writes `events` in one session of a daily layout; the sealed files' event counts.
fn files_of(events: &[Event]) -> Vec<u64> {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::for_profile(Profile::Research);
    config.layout.granularity = Granularity::Daily;
    let catalog = Arc::new(Catalog::open(dir.path()).unwrap());
    let writer = Writer::open(dir.path(), config, catalog, WriterOptions::default()).unwrap();
    for chunk in events.chunks(100) {
        writer.append_batch(chunk).unwrap();
    }
    writer.close().unwrap();
    Catalog::open(dir.path())
        .unwrap()
        .find(&FileQuery::all())
        .unwrap()
        .iter()
        .map(|m| m.stats.event_count)
        .collect()
}

#[test]
fn events_hopping_between_days_make_a_few_files_not_one_per_hop() {
    let day = 86_400_000_000_000i64;
    let start = 1_381_156_200_000_000_000i64; // 2013-10-07 14:30 UTC
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let events: Vec<Event> = (0..6_000i64)
        .map(|i| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let d = [0, 1, 28, 29][(state % 4) as usize];
            trade(start + d * day + i * 1_000_000, i)
        })
        .collect();
    let files = files_of(&events);
    assert_eq!(files.iter().sum::<u64>(), 6_000);
    // Four days: at most two files each (a day sealed when the stream first moved past it,
    // and what came for it later). One file per hop was some 2,000.
    assert!(files.len() <= 8, "{} files", files.len());

    // In time order: a file a day, each sealed as the stream moves past it.
    let mut in_order = events.clone();
    in_order.sort_by_key(|e| e.event_time);
    let files = files_of(&in_order);
    assert_eq!(files.len(), 4, "{files:?}");
    assert_eq!(files.iter().sum::<u64>(), 6_000);
}
