#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Events → Parquet → events: the same events, re-encoding to byte-identical JSONL, for every
//! kind (MODEL-2, TIER-2); and the same through record batches and Arrow IPC files.

use bytes::Bytes;
use parquet::basic::{Encoding, LogicalType, Type as PhysicalType};
use parquet::file::reader::{FileReader, SerializedFileReader};
use proptest::prelude::*;
use strata_columnar::{
    batch_to_events, events_to_batch, jsonl_to_parquet, read_events, read_ipc, write_events,
    BatchReader, DecimalStorage, EventDigest, EventReader, EventWriter, FilePlan, ParquetOptions,
};
use strata_model::strategy::event_of;
use strata_model::{jsonl, Event, EventKind, Payload, Timestamp, Trade};

fn lines(events: &[Event]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in events {
        jsonl::encode_into(e, &mut out).unwrap();
    }
    out
}

fn round_trip(kind: EventKind, mut events: Vec<Event>) -> Result<(), TestCaseError> {
    let digest_before = EventDigest::of(&events);
    let options = ParquetOptions {
        row_group_rows: 7,
        page_rows: 3,
        bloom_filters: true,
        ..ParquetOptions::default()
    };
    let (bytes, summary) = write_events(kind, &mut events, Vec::new(), &options).unwrap();
    // `write_events` sorted them (stably) by event time.
    prop_assert!(events
        .windows(2)
        .all(|w| w[0].event_time <= w[1].event_time));
    let parquet_bytes = bytes.clone();
    let (meta, back) = read_events(Bytes::from(bytes)).unwrap();
    prop_assert_eq!(&meta, &summary.meta);
    prop_assert_eq!(meta.kind, kind);
    prop_assert_eq!(meta.digest, digest_before);
    prop_assert_eq!(EventDigest::of(&back), digest_before);
    // Byte for byte: the JSONL of what came back is the JSONL of what went in.
    prop_assert_eq!(lines(&back), lines(&events));
    prop_assert_eq!(&back, &events);
    // As record batches, read as stored: the same rows.
    let (batches, _) = BatchReader::in_range(Bytes::from(parquet_bytes), None, None).unwrap();
    let mut from_batches = Vec::new();
    for batch in batches {
        from_batches.extend(batch_to_events(kind, &batch.unwrap()).unwrap());
    }
    prop_assert_eq!(&from_batches, &events);
    // Built into one batch from the events, and back.
    let batch = events_to_batch(kind, &events).unwrap();
    prop_assert_eq!(&batch_to_events(kind, &batch).unwrap(), &events);
    // Arrow IPC (Feather v2): the same events and footer metadata.
    let mut plan = FilePlan::new(kind);
    for e in &events {
        plan.observe(e).unwrap();
    }
    let mut ipc = EventWriter::ipc(&plan, Vec::new()).unwrap();
    for e in &events {
        ipc.write(e).unwrap();
    }
    let (ipc_bytes, ipc_summary) = ipc.finish().unwrap();
    let (ipc_meta, from_ipc) = read_ipc(std::io::Cursor::new(ipc_bytes)).unwrap();
    prop_assert_eq!(&ipc_meta, &ipc_summary.meta);
    prop_assert_eq!(ipc_meta.digest, digest_before);
    prop_assert_eq!(lines(&from_ipc), lines(&events));
    prop_assert_eq!(from_ipc, events);
    Ok(())
}

macro_rules! per_kind {
    ($($name:ident => $kind:ident),* $(,)?) => {$(
        proptest! {
            #![proptest_config(ProptestConfig::with_cases(64))]
            #[test]
            fn $name(events in proptest::collection::vec(event_of(EventKind::$kind), 0..40)) {
                round_trip(EventKind::$kind, events)?;
            }
        }
    )*};
}

per_kind! {
    trades_round_trip => Trade,
    quotes_round_trip => BboQuote,
    snapshots_round_trip => L2Snapshot,
    deltas_round_trip => OrderBookDelta,
    bars_round_trip => Bar,
    heartbeats_round_trip => Heartbeat,
    open_interest_round_trips => OpenInterest,
    tickers_round_trip => DerivativeTicker,
}

fn trade(ns: i64, price: &str, size: &str) -> Event {
    Event::new(
        "lean",
        "SPY",
        Timestamp::from_nanos(ns),
        Payload::Trade(Trade {
            price: price.parse().unwrap(),
            size: size.parse().unwrap(),
            side: None,
            trade_id: Some(format!("{ns}")),
            conditions: None,
        }),
    )
}

fn column<'a>(
    reader: &'a SerializedFileReader<Bytes>,
    name: &str,
) -> &'a parquet::file::metadata::ColumnChunkMetaData {
    let rg = reader.metadata().row_group(0);
    rg.columns()
        .iter()
        .find(|c| c.column_path().string() == name)
        .unwrap_or_else(|| panic!("no column {name}"))
}

#[test]
fn prices_are_exact_decimals_and_times_are_utc_nanoseconds() {
    let mut events: Vec<Event> = (0..1000)
        .map(|i| trade(1_000 + i, &format!("170.{:02}", i % 7), "100"))
        .collect();
    events.push(trade(5_000, "170.5", "0.25"));
    let (bytes, summary) = write_events(
        EventKind::Trade,
        &mut events,
        Vec::new(),
        &ParquetOptions::default(),
    )
    .unwrap();
    assert_eq!(
        summary.decimals,
        vec![
            (
                "price",
                DecimalStorage::Numeric {
                    precision: 18,
                    scale: 2,
                    scale_column: true
                }
            ),
            (
                "size",
                DecimalStorage::Numeric {
                    precision: 18,
                    scale: 2,
                    scale_column: true
                }
            ),
        ]
    );
    let reader = SerializedFileReader::new(Bytes::from(bytes)).unwrap();
    let schema = reader.metadata().file_metadata().schema_descr();
    let price = schema
        .columns()
        .iter()
        .find(|c| c.name() == "price")
        .unwrap();
    assert_eq!(price.physical_type(), PhysicalType::INT64);
    assert_eq!(price.logical_type_ref(), Some(&LogicalType::decimal(2, 18)));
    let ts = schema.columns().iter().find(|c| c.name() == "ts").unwrap();
    assert_eq!(
        ts.logical_type_ref(),
        Some(&LogicalType::timestamp(
            true,
            parquet::basic::TimeUnit::NANOS
        ))
    );
    // Encodings chosen per column: deltas for times, dictionary for 8 distinct prices in 1001.
    let encodings = |name| -> Vec<Encoding> { column(&reader, name).encodings().collect() };
    assert!(
        encodings("ts").contains(&Encoding::DELTA_BINARY_PACKED),
        "{:?}",
        encodings("ts")
    );
    assert!(
        encodings("price").contains(&Encoding::RLE_DICTIONARY),
        "{:?}",
        encodings("price")
    );
    assert!(encodings("trade_id").contains(&Encoding::DELTA_BYTE_ARRAY));
    // Statistics and the page index are there for pruning.
    assert!(column(&reader, "ts").statistics().is_some());
    assert!(column(&reader, "ts").column_index_range().is_some());
    assert!(column(&reader, "ts").offset_index_range().is_some());
}

#[test]
fn varied_prices_use_byte_stream_split() {
    let mut events: Vec<Event> = (0..1000)
        .map(|i| trade(i, &format!("{}.{:03}", 100 + i, i % 997), "1"))
        .collect();
    let (bytes, _) = write_events(
        EventKind::Trade,
        &mut events,
        Vec::new(),
        &ParquetOptions::default(),
    )
    .unwrap();
    let reader = SerializedFileReader::new(Bytes::from(bytes)).unwrap();
    let encodings: Vec<Encoding> = column(&reader, "price").encodings().collect();
    assert!(
        encodings.contains(&Encoding::BYTE_STREAM_SPLIT),
        "{encodings:?}"
    );
}

#[test]
fn values_that_cannot_share_a_scale_are_kept_as_text() {
    let mut events = vec![
        trade(1, "12345678901234567890123456789012345678", "1"),
        trade(2, "0.00000000000000000000000000000000000001", "1"),
    ];
    let (bytes, summary) = write_events(
        EventKind::Trade,
        &mut events,
        Vec::new(),
        &ParquetOptions::default(),
    )
    .unwrap();
    assert_eq!(summary.decimals[0].1, DecimalStorage::Text);
    let (_, back) = read_events(Bytes::from(bytes)).unwrap();
    assert_eq!(back, events);
}

#[test]
fn jsonl_converts_per_kind_and_names_a_bad_line() {
    let mut input = lines(&[trade(3, "1.5", "2"), trade(1, "1.25", "3")]);
    input.extend_from_slice(b"\n");
    let heartbeat = Event::new("x", "SPY", Timestamp::from_nanos(2), Payload::Heartbeat);
    input.extend(lines(std::slice::from_ref(&heartbeat)));
    let out = jsonl_to_parquet("day.jsonl", &input, &ParquetOptions::default()).unwrap();
    assert_eq!(out.len(), 2);
    assert_eq!(out[0].summary.meta.kind, EventKind::Trade);
    assert_eq!(out[0].summary.meta.digest.events, 2);
    assert_eq!(out[0].summary.meta.time_range, Some((1, 3)));
    assert_eq!(out[1].summary.meta.kind, EventKind::Heartbeat);
    let (_, back) = read_events(Bytes::from(out[1].bytes.clone())).unwrap();
    assert_eq!(back, vec![heartbeat]);

    input.extend_from_slice(b"{\"v\":\"1.3\",\"kind\":\"trade\"}\n");
    let err = jsonl_to_parquet("day.jsonl", &input, &ParquetOptions::default()).unwrap_err();
    assert!(err.to_string().starts_with("day.jsonl line 5:"), "{err}");
}

#[test]
fn a_damaged_file_is_an_error_not_events() {
    let mut events: Vec<Event> = (0..100).map(|i| trade(i, "1.5", "2")).collect();
    let (bytes, _) = write_events(
        EventKind::Trade,
        &mut events,
        Vec::new(),
        &ParquetOptions::default(),
    )
    .unwrap();
    // Cut: no footer.
    assert!(read_events(Bytes::from(bytes[..bytes.len() / 2].to_vec())).is_err());
    // Not strata's: a Parquet file without the `strata` footer key is refused by name.
    let other = {
        let batch = arrow_array::RecordBatch::try_from_iter([(
            "x",
            std::sync::Arc::new(arrow_array::Int64Array::from(vec![1i64])) as arrow_array::ArrayRef,
        )])
        .unwrap();
        let mut w = parquet::arrow::ArrowWriter::try_new(Vec::new(), batch.schema(), None).unwrap();
        w.write(&batch).unwrap();
        w.into_inner().unwrap()
    };
    let err = read_events(Bytes::from(other)).err().unwrap();
    assert!(err.to_string().contains("no `strata` key"), "{err}");
}

#[test]
fn an_out_of_order_event_is_refused_by_the_streaming_writer() {
    let a = trade(5, "1", "1");
    let b = trade(4, "1", "1");
    let mut plan = strata_columnar::FilePlan::new(EventKind::Trade);
    plan.observe(&a).unwrap();
    plan.observe(&b).unwrap();
    let mut w =
        strata_columnar::EventWriter::new(&plan, Vec::new(), &ParquetOptions::default()).unwrap();
    w.write(&a).unwrap();
    let err = w.write(&b).unwrap_err();
    assert!(err.to_string().contains("row 1 has ts 4"), "{err}");
    // And a value the plan did not see is refused, naming the column.
    let c = trade(6, "1.123", "1");
    let err = w.write(&c).unwrap_err();
    assert!(err.to_string().contains("column `price`"), "{err}");
}

#[test]
fn a_time_range_reads_only_its_pages() {
    // 1,000 trades a second apart, in row groups of 300 rows and pages of 50.
    let mut events: Vec<Event> = (0..1000)
        .map(|i| trade(1_000_000_000 * (i + 1), "10.5", "1"))
        .collect();
    let options = ParquetOptions {
        row_group_rows: 300,
        page_rows: 50,
        ..ParquetOptions::default()
    };
    let (bytes, summary) =
        write_events(EventKind::Trade, &mut events, Vec::new(), &options).unwrap();
    assert_eq!(summary.row_groups, 4);
    let bytes = Bytes::from(bytes);
    let second = |s: i64| s * 1_000_000_000;
    for (from, to) in [
        (Some(second(420)), Some(second(480))),
        (Some(second(950)), None),
        (None, Some(second(3))),
        (Some(second(5000)), None),
    ] {
        let (reader, pruning) = EventReader::in_range(bytes.clone(), from, to).unwrap();
        let read: Vec<Event> = reader.map(Result::unwrap).collect();
        // Every event of the range is among those read, and the rest is little more than the
        // pages around its ends.
        let wanted: Vec<&Event> = events
            .iter()
            .filter(|e| {
                let ts = e.event_time.as_nanos();
                from.is_none_or(|f| ts >= f) && to.is_none_or(|t| ts < t)
            })
            .collect();
        let got: Vec<&Event> = read
            .iter()
            .filter(|e| {
                let ts = e.event_time.as_nanos();
                from.is_none_or(|f| ts >= f) && to.is_none_or(|t| ts < t)
            })
            .collect();
        assert_eq!(got, wanted, "{from:?}..{to:?}");
        assert_eq!(pruning.rows, 1000);
        assert_eq!(pruning.rows_read, read.len() as u64, "{from:?}..{to:?}");
        assert!(
            pruning.rows_read <= wanted.len() as u64 + 100,
            "{pruning:?} for {} wanted",
            wanted.len()
        );
        assert!(pruning.row_groups_read <= 2, "{pruning:?}");
    }
    // Unbounded: everything.
    let (reader, pruning) = EventReader::in_range(bytes, None, None).unwrap();
    assert_eq!(reader.count(), 1000);
    assert_eq!((pruning.row_groups_read, pruning.rows_read), (4, 1000));
}

/// A row group that holds none of the symbols asked for is not read (TIER-6): its `symbol`
/// statistics rule out a symbol outside its least and greatest, its bloom filter (when written)
/// one between them that it does not hold.
#[test]
fn row_groups_without_the_symbol_are_not_read() {
    // Row group 1: AAA and ZZZ alternating; row group 2: QQQ only.
    let mut events: Vec<Event> = (0..200)
        .map(|i| {
            let mut e = trade(1_000_000_000 * (i + 1), "10.5", "1");
            e.symbol = match (i < 100, i % 2) {
                (true, 0) => "AAA",
                (true, _) => "ZZZ",
                (false, _) => "QQQ",
            }
            .into();
            e
        })
        .collect();
    for bloom_filters in [true, false] {
        let options = ParquetOptions {
            row_group_rows: 100,
            bloom_filters,
            ..ParquetOptions::default()
        };
        let (bytes, summary) =
            write_events(EventKind::Trade, &mut events, Vec::new(), &options).unwrap();
        assert_eq!(summary.row_groups, 2);
        let bytes = Bytes::from(bytes);
        let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        // (symbols, groups read with bloom filters, without)
        for (symbols, with_bloom, without) in [
            (s(&["QQQ"]), 1, 2),
            (s(&["MMM"]), 0, 1),
            (s(&["AAA"]), 1, 1),
            (s(&["ZZZ", "QQQ"]), 2, 2),
            (s(&["ZZZZ"]), 0, 0),
            (s(&[]), 2, 2),
        ] {
            let (reader, pruning) =
                EventReader::in_range_of(bytes.clone(), None, None, &symbols).unwrap();
            let read: Vec<Event> = reader.map(Result::unwrap).collect();
            let expected = if bloom_filters { with_bloom } else { without };
            assert_eq!(
                pruning.row_groups_read, expected,
                "bloom {bloom_filters}, {symbols:?}: {pruning:?}"
            );
            assert_eq!(
                pruning.row_groups_symbol_skipped,
                2 - expected,
                "{symbols:?}"
            );
            // Every wanted event is among those read.
            for e in events
                .iter()
                .filter(|e| symbols.is_empty() || symbols.contains(&e.symbol))
            {
                assert!(read.contains(e), "{symbols:?}: {e:?} not read");
            }
        }
    }
}
