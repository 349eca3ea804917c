//! Quickstart: events → partition paths → JSONL → codec → backend, and back, verified.
//!
//! Uses only the public API of the `strata` facade. Run it with
//! `cargo run -p strata-examples --example quickstart` (add a folder to keep the files).

// An example may stop on the first error with a readable message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use strata::backend::{BackendExt, ObjectStoreBackend};
use strata::codec::{self, CodecSpec};
use strata::config::Config;
use strata::model::{
    jsonl, AssetClass, BboQuote, Decimal, Event, Level, Payload, Side, Timestamp, Trade,
};
use strata::Profile;

fn dec(text: &str) -> Decimal {
    text.parse().expect("literal decimals are valid")
}

fn sample_events() -> Vec<Event> {
    let t0 = Timestamp::parse_flexible("2024-01-15T14:30:00Z")
        .unwrap()
        .as_nanos();
    let mut events = Vec::new();
    for i in 0..1_000i64 {
        let ts = Timestamp::from_nanos(t0 + i * 86_400_000_000_000 / 700); // spans two days
        let mut trade = Event::new(
            "example",
            if i % 2 == 0 { "SPY" } else { "BRK/B" },
            ts,
            Payload::Trade(Trade {
                price: Decimal::new(4_700_000 + i, 4).unwrap(),
                size: dec("100"),
                side: Some(if i % 3 == 0 { Side::Buy } else { Side::Sell }),
                trade_id: Some(i.to_string()),
                conditions: None,
            }),
        );
        trade.sequence = Some(i as u64);
        events.push(trade);
        events.push(Event::new(
            "example",
            "SPY",
            ts,
            Payload::BboQuote(BboQuote {
                bid: Some(Level {
                    price: dec("470.01"),
                    size: dec("300"),
                }),
                ask: Some(Level {
                    price: dec("470.02"),
                    size: dec("0.5"),
                }),
            }),
        ));
    }
    events
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let keep = std::env::args().nth(1);
    let scratch = tempfile::tempdir()?;
    let root = keep
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| scratch.path().to_path_buf());

    // The Research profile: by_symbol layout, daily files, sealed files gzip-compressed.
    let config = Config::for_profile(Profile::Research);
    let layout = config.layout.resolve()?;
    let codec: CodecSpec = if config.storage.compress {
        config.storage.codec
    } else {
        CodecSpec::None
    };
    let backend = ObjectStoreBackend::local(&root)?;

    // Route every event to its partition's file and encode it as a JSON line.
    let events = sample_events();
    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for event in &events {
        let key = layout.key_for_event(event, Some(AssetClass::Equity), layout.granularity());
        let path = format!("{}.jsonl{}", layout.render(&key)?, codec.extension());
        jsonl::encode_into(event, files.entry(path).or_default())?;
    }
    for (path, plain) in &files {
        backend.put(path, codec::compress(codec, plain)?).await?;
    }

    // Read everything back: the codec is sniffed from the content and checked against the name.
    let mut read_back = Vec::new();
    for object in backend.list("").await? {
        let packed = backend.get(&object.key).await?;
        codec::check_extension(&object.key, &packed)?;
        let plain = codec::decompress(&packed)?;
        let key = layout.parse(&object.key)?;
        println!(
            "{:<40} {:>7} bytes ({} plain)  symbol={:?} kind={:?} period={:?}",
            object.key,
            object.size,
            plain.len(),
            key.symbol.as_deref().unwrap_or("-"),
            key.kind.map(|k| k.as_str()),
            key.period.map(|p| p.to_string()),
        );
        for line in plain.split_inclusive(|&b| b == b'\n') {
            read_back.push(jsonl::decode_line(line)?);
        }
    }

    let sort_key = |e: &Event| (e.symbol.clone(), e.kind(), e.event_time, e.sequence);
    let mut expected = events.clone();
    expected.sort_by_key(sort_key);
    read_back.sort_by_key(sort_key);
    assert_eq!(read_back, expected, "every event comes back identical");
    println!(
        "{} events in {} files under {}, codec {codec}: all read back identical",
        events.len(),
        files.len(),
        root.display()
    );
    Ok(())
}
