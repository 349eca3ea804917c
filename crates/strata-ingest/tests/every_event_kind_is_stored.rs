//! One stream per (source, symbol, kind), for every kind strata has: a writer given one event of
//! each kind for one symbol stores each in its own file and reads each back unchanged. (The
//! writer once kept a fixed six route slots per symbol, so the seventh and eighth kinds, open
//! interest and derivative tickers, panicked on append.)

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use strata_catalog::Catalog;
use strata_core::config::Config;
use strata_core::Profile;
use strata_ingest::{reader, Writer, WriterOptions};
use strata_model::{
    Bar, BboQuote, BookAction, DerivativeTicker, Event, EventKind, L2Snapshot, Level, OpenInterest,
    OrderBookDelta, Payload, Timestamp, Trade,
};

fn payload(kind: EventKind) -> Payload {
    let d = |t: &str| t.parse().unwrap();
    let level = Level {
        price: d("10.5"),
        size: d("3"),
    };
    match kind {
        EventKind::Trade => Payload::Trade(Trade {
            price: d("10.5"),
            size: d("1"),
            side: None,
            trade_id: None,
            conditions: None,
        }),
        EventKind::BboQuote => Payload::BboQuote(BboQuote {
            bid: Some(level),
            ask: None,
        }),
        EventKind::L2Snapshot => Payload::L2Snapshot(L2Snapshot {
            bids: vec![level],
            asks: vec![],
        }),
        EventKind::OrderBookDelta => Payload::OrderBookDelta(OrderBookDelta {
            action: BookAction::Clear,
            side: None,
            price: None,
            size: None,
            order_id: None,
            flags: None,
        }),
        EventKind::Bar => Payload::Bar(Bar {
            interval_s: 60,
            open: d("1"),
            high: d("2"),
            low: d("1"),
            close: d("2"),
            volume: d("5"),
            trades: None,
            vwap: None,
        }),
        EventKind::Heartbeat => Payload::Heartbeat,
        EventKind::OpenInterest => Payload::OpenInterest(OpenInterest { value: d("1200") }),
        EventKind::DerivativeTicker => Payload::DerivativeTicker(DerivativeTicker {
            mark_price: Some(d("10.4")),
            funding_rate: Some(d("-0.0000005")),
            ..DerivativeTicker::default()
        }),
    }
}

#[test]
fn one_event_of_every_kind_is_stored_and_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config::for_profile(Profile::LowLatency);
    let catalog = Arc::new(Catalog::open(dir.path()).unwrap());
    let writer = Writer::open(dir.path(), config, catalog, WriterOptions::default()).unwrap();
    let events: Vec<Event> = EventKind::ALL
        .iter()
        .map(|&kind| {
            Event::new(
                "s",
                "X",
                Timestamp::from_nanos(1_700_000_000_000_000_000),
                payload(kind),
            )
        })
        .collect();
    let outcome = writer.append_batch(&events).unwrap();
    assert_eq!(outcome.last_ticket, EventKind::ALL.len() as u64);
    writer.close().unwrap();

    let mut stored = Vec::new();
    for file in reader::hot_files(dir.path()).unwrap() {
        stored.extend(reader::read_events(&file).unwrap());
    }
    stored.sort_by_key(|e| EventKind::ALL.iter().position(|&k| k == e.kind()));
    assert_eq!(stored, events);
}
