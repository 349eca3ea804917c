//! QUOTA-2: threads appending batches at once never pass a HardLimit together; a refused batch
//! writes nothing (the caller keeps every event) and says which quota, limit and usage refused it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use proptest::prelude::*;
use strata_catalog::Catalog;
use strata_core::config::{Config, DurabilityMode};
use strata_core::policy::{EnforcementMode, QuotaRule, QuotaScope};
use strata_core::Profile;
use strata_ingest::{Error, Writer, WriterOptions};
use strata_model::{Decimal, Event, Payload, Timestamp, Trade};

fn trade(thread: usize, i: usize) -> Event {
    let mut e = Event::new(
        "q",
        if i.is_multiple_of(2) { "AAA" } else { "BBB" },
        Timestamp::from_nanos(1_705_323_600_000_000_000 + i as i64 * 1_000),
        Payload::Trade(Trade {
            price: Decimal::new(100 + i as i64, 2).unwrap(),
            size: Decimal::from_int(1),
            side: None,
            trade_id: Some(format!("{thread}-{i}")),
            conditions: None,
        }),
    );
    e.sequence = Some(i as u64);
    e
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn concurrent_batches_stay_within_a_hard_limit(
        limit in 1u64..400,
        threads in 2usize..6,
        batch_sizes in proptest::collection::vec(1usize..40, 4..12),
        by_bytes in any::<bool>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::for_profile(Profile::LowLatency);
        config.durability.mode = DurabilityMode::None;
        // Events in scope `symbol=AAA` only: BBB events are never refused.
        let bytes_limit = limit * 150;
        config.quotas = vec![QuotaRule {
            scope: QuotaScope::Symbol("AAA".into()),
            max_bytes: by_bytes.then_some(bytes_limit),
            max_files: None,
            max_events_per_day: (!by_bytes).then_some(limit),
            mode: EnforcementMode::HardLimit,
        }];
        let catalog = Arc::new(Catalog::open(dir.path()).unwrap());
        let writer = Writer::open(dir.path(), config, catalog, WriterOptions::default()).unwrap();
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let writer = writer.clone();
                let batch_sizes = batch_sizes.clone();
                std::thread::spawn(move || {
                    let mut accepted = 0usize;
                    let mut next = 0usize;
                    for size in batch_sizes {
                        let batch: Vec<Event> = (next..next + size).map(|i| trade(t, i)).collect();
                        next += size;
                        match writer.append_batch(&batch) {
                            Ok(outcome) => accepted += outcome.accepted,
                            Err(Error::QuotaExceeded { scope, limit_name, .. }) => {
                                assert_eq!(scope, "symbol=AAA");
                                assert!(["max_bytes", "max_events_per_day"].contains(&limit_name));
                            }
                            Err(other) => panic!("unexpected error {other}"),
                        }
                    }
                    accepted
                })
            })
            .collect();
        let accepted: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
        let report = writer.close().unwrap();
        prop_assert_eq!(report.events as usize, accepted);
        let stored: Vec<Event> = strata_ingest::reader::hot_files(dir.path())
            .unwrap()
            .iter()
            .flat_map(|f| strata_ingest::reader::read_events(f).unwrap())
            .collect();
        prop_assert_eq!(stored.len(), accepted, "exactly the accepted events are stored");
        let aaa: Vec<&Event> = stored.iter().filter(|e| e.symbol == "AAA").collect();
        if by_bytes {
            let bytes: usize = aaa.iter().map(|e| strata_model::jsonl::encode_line(e).unwrap().len()).sum();
            prop_assert!(bytes as u64 <= bytes_limit, "{} bytes stored > limit {}", bytes, bytes_limit);
        } else {
            prop_assert!(aaa.len() as u64 <= limit, "{} events stored > limit {}", aaa.len(), limit);
        }
    }
}
