//! TIER-5, TIER-6: one query over every tier. Real Lean SPY trades of 2013-10-07 imported in
//! hourly files, then moved by the lifecycle to the cold tier (Parquet), while later trades sit
//! in the hot tier sealed and unsealed (a writer still open): a query gives every event once,
//! in event-time order, from all of them; a slice reads only the files that overlap it; an
//! alias finds the symbol; a limit gives the first events.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use strata::archive::Archive;
use strata::columnar::EventDigest;
use strata::import::{Format, ImportOptions};
use strata::ingest::WriterOptions;
use strata::model::{Event, EventKind, Payload, Timestamp, Trade};
use strata::policy::TierName;
use strata::query::Query;

fn ts(text: &str) -> Timestamp {
    Timestamp::parse_flexible(text).unwrap()
}

fn trade(at: Timestamp, price: &str, seq: u64) -> Event {
    let mut e = Event::new(
        "lean",
        "SPY",
        at,
        Payload::Trade(Trade {
            price: price.parse().unwrap(),
            size: "100".parse().unwrap(),
            side: None,
            trade_id: None,
            conditions: None,
        }),
    );
    e.sequence = Some(seq);
    e
}

#[test]
fn a_query_reads_every_tier_in_time_order() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("strata.toml"),
        "[layout]\ngranularity = \"hourly\"\n\n[[symbols]]\nsymbol = \"SPY\"\naliases = [\"SPDR\"]\nasset_class = \"equity\"\n",
    )
    .unwrap();
    let archive = Archive::builder(dir.path()).open().unwrap();
    let writer = archive.writer(WriterOptions::default()).unwrap();
    let spy = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/lean/equity/usa/tick/spy/20131007_trade.zip");
    archive
        .import_file(
            &writer,
            &spy,
            Format::Lean,
            &ImportOptions::default(),
            &mut |_| {},
        )
        .unwrap();
    writer.close().unwrap();

    // Everything, while it is all hot JSONL.
    let engine = archive.query_engine().unwrap();
    let hot: Vec<Event> = engine
        .run(&Query::all().symbol("SPY"))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(hot.len() > 1000, "{} events", hot.len());
    assert!(hot.windows(2).all(|w| w[0].event_time <= w[1].event_time));
    let digest = EventDigest::of(&hot);

    // To the cold tier (Parquet), then later trades: sealed, then left unsealed by a writer
    // that is still open.
    let report = archive.lifecycle_run(ts("2013-12-15"), |_, _| {}).unwrap();
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    let tiers: Vec<TierName> = archive
        .catalog()
        .find(&strata::catalog::FileQuery::all())
        .unwrap()
        .iter()
        .map(|m| m.tier)
        .collect();
    assert!(tiers.iter().all(|t| *t == TierName::Cold), "{tiers:?}");
    let later: Vec<Event> = (0..10)
        .map(|i| {
            let at =
                Timestamp::from_nanos(ts("2013-10-08T14:00:00Z").as_nanos() + i * 1_000_000_000);
            trade(at, "170.01", 1_000_000 + i as u64)
        })
        .collect();
    let writer = archive.writer(WriterOptions::default()).unwrap();
    writer.append_batch(&later[..5]).unwrap();
    writer.close().unwrap();
    let writer = archive.writer(WriterOptions::default()).unwrap();
    writer.append_batch(&later[5..]).unwrap();
    writer.flush().unwrap();

    let engine = archive.query_engine().unwrap();
    let mut run = engine.run(&Query::all().symbol("SPDR")).unwrap();
    let all: Vec<Event> = (&mut run).map(Result::unwrap).collect();
    let stats = run.stats().clone();
    assert_eq!(all.len(), hot.len() + later.len(), "{stats:?}");
    assert!(all.windows(2).all(|w| w[0].event_time <= w[1].event_time));
    assert_eq!(EventDigest::of(&all[..hot.len()]), digest);
    assert_eq!(&all[hot.len()..], &later[..]);
    assert!(
        stats.read.iter().any(|f| f.starts_with("cold/")),
        "{stats:?}"
    );
    assert!(
        stats.read.iter().any(|f| f.starts_with("hot (unsealed)")),
        "{stats:?}"
    );
    assert!(
        stats.read.iter().any(|f| f.starts_with("hot/")),
        "{stats:?}"
    );
    // Files that follow each other in time are held one at a time: memory follows the
    // overlap, not the range.
    assert!(stats.files >= 6 && stats.max_open <= 2, "{stats:?}");
    writer.close().unwrap();

    // A slice of the imported trades (their second quarter): the same events as filtering
    // everything, fewer Parquet rows read.
    let (first, last) = (
        all[0].event_time.as_nanos(),
        all[hot.len() - 1].event_time.as_nanos(),
    );
    let from = Timestamp::from_nanos(first + (last - first) / 4);
    let to = Timestamp::from_nanos(first + (last - first) / 2);
    let mut run = engine
        .run(
            &Query::all()
                .symbol("SPY")
                .kind(EventKind::Trade)
                .between(Some(from), Some(to)),
        )
        .unwrap();
    let slice: Vec<Event> = (&mut run).map(Result::unwrap).collect();
    let expected: Vec<&Event> = all
        .iter()
        .filter(|e| e.event_time >= from && e.event_time < to)
        .collect();
    assert!(!slice.is_empty());
    assert_eq!(slice.iter().collect::<Vec<_>>(), expected);
    // The catalog left out the files that end before the slice or begin after it (the pages
    // within a file are pruned too: `strata-columnar`'s `a_time_range_reads_only_its_pages`).
    let catalogued = archive
        .catalog()
        .find(&strata::catalog::FileQuery::all())
        .unwrap()
        .len();
    assert!(
        run.stats().files < catalogued,
        "{:?} of {catalogued}",
        run.stats()
    );

    // A limit: the first events.
    let first: Vec<Event> = engine
        .run(&Query::all().symbol("SPY").limit(7))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(&first[..], &all[..7]);

    // The async form gives the same events, from a tokio runtime (a slow reader holds the
    // query back through the bounded channel; dropping the stream stops it).
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let streamed: Vec<Event> = runtime.block_on(async {
        use futures::StreamExt;
        let stream = archive.query_stream(Query::all().symbol("SPY")).unwrap();
        stream.map(Result::unwrap).collect().await
    });
    assert_eq!(streamed, all);
    let first_few: Vec<Event> = runtime.block_on(async {
        use futures::StreamExt;
        let stream = archive.query_stream(Query::all().symbol("SPY")).unwrap();
        stream.take(3).map(Result::unwrap).collect().await
    });
    assert_eq!(&first_few[..], &all[..3]);
    drop(runtime);

    // Nothing for another symbol or kind.
    assert_eq!(engine.run(&Query::all().symbol("AAPL")).unwrap().count(), 0);
    assert_eq!(
        engine
            .run(&Query::all().symbol("SPY").kind(EventKind::BboQuote))
            .unwrap()
            .count(),
        0
    );
}

/// The events of a columnar query, read back from its batches.
fn batch_events(engine: &strata::query::QueryEngine, query: &Query) -> Vec<Event> {
    let mut events = Vec::new();
    for batch in engine.batches(query).unwrap() {
        let batch = batch.unwrap();
        assert!(batch.num_rows() > 0 && batch.num_rows() <= strata::query::BATCH_ROWS);
        events.extend(strata::columnar::batch_to_events(EventKind::Trade, &batch).unwrap());
    }
    events
}

/// The columnar form (Arrow batches) gives the rows of the event form, in the same order, for
/// every kind of selection: cold Parquet read as stored, hot JSONL and unsealed segments built
/// into batches, late trades that overlap a cold file merged with it, a slice, a venue, a
/// limit.
#[test]
fn the_columnar_query_gives_the_rows_of_the_event_query() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("strata.toml"),
        "[layout]\ngranularity = \"hourly\"\n",
    )
    .unwrap();
    let archive = Archive::builder(dir.path()).open().unwrap();
    let writer = archive.writer(WriterOptions::default()).unwrap();
    let spy = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/lean/equity/usa/tick/spy/20131007_trade.zip");
    archive
        .import_file(
            &writer,
            &spy,
            Format::Lean,
            &ImportOptions::default(),
            &mut |_| {},
        )
        .unwrap();
    writer.close().unwrap();
    let report = archive.lifecycle_run(ts("2013-12-15"), |_, _| {}).unwrap();
    assert!(report.failed.is_empty(), "{:?}", report.failed);

    let engine = archive.query_engine().unwrap();
    let trades = || Query::all().symbol("SPY").kind(EventKind::Trade);
    let same = |query: &Query| {
        let events: Vec<Event> = engine.run(query).unwrap().map(Result::unwrap).collect();
        let mut batches = engine.batches(query).unwrap();
        let mut from_batches = Vec::new();
        for batch in &mut batches {
            from_batches.extend(
                strata::columnar::batch_to_events(EventKind::Trade, &batch.unwrap()).unwrap(),
            );
        }
        assert_eq!(from_batches.len(), events.len(), "{query:?}");
        assert!(from_batches == events, "{query:?}: other rows or order");
        assert_eq!(batches.stats().events_returned, events.len() as u64);
        (events, batches.stats().clone())
    };

    // All cold: every batch straight from Parquet, none built from events.
    let (cold, stats) = same(&trades());
    assert!(cold.len() > 1000);
    assert!(
        stats.read.iter().all(|f| f.starts_with("cold/")),
        "{stats:?}"
    );
    assert!(stats.parquet.rows_read > 0);
    assert_eq!(stats.rows_built, 0, "{stats:?}");
    // The async form, from a tokio runtime: the same rows.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let streamed: Vec<Event> = runtime.block_on(async {
        use futures::StreamExt;
        let stream = archive.batch_stream(trades()).unwrap();
        let batches: Vec<_> = stream.map(Result::unwrap).collect().await;
        batches
            .iter()
            .flat_map(|b| strata::columnar::batch_to_events(EventKind::Trade, b).unwrap())
            .collect()
    });
    assert_eq!(streamed, cold);
    drop(runtime);

    // A slice inside the day reads fewer rows than the file holds; a limit, a venue.
    let (a, b) = (
        cold[cold.len() / 3].event_time,
        cold[cold.len() / 2].event_time,
    );
    let (slice, stats) = same(&trades().between(Some(a), Some(b)));
    assert!(!slice.is_empty() && slice.len() < cold.len());
    assert!(stats.events_scanned < cold.len() as u64, "{stats:?}");
    same(&trades().between(Some(a), None).limit(10_001));
    same(&trades().limit(7));
    let venue = cold.iter().find_map(|e| e.venue.clone()).expect("a venue");
    let mut by_venue = trades();
    by_venue.venues.push(venue);
    let (at_venue, _) = same(&by_venue);
    assert!(!at_venue.is_empty() && at_venue.len() < cold.len());

    // Late trades inside the cold day (sealed) and after it (unsealed, the writer open):
    // the cold file and the late hot file overlap and are merged.
    let late = |at: &str, i: u64| {
        let mut e = trade(ts(at), "170.015", 2_000_000 + i);
        e.source = cold[0].source.clone();
        e
    };
    let writer = archive.writer(WriterOptions::default()).unwrap();
    writer
        .append_batch(&[
            late("2013-10-07T15:00:00.0000001Z", 0),
            late("2013-10-07T15:00:00Z", 1),
        ])
        .unwrap();
    writer.close().unwrap();
    let writer = archive.writer(WriterOptions::default()).unwrap();
    writer
        .append_batch(&[late("2013-10-09T10:00:00Z", 2)])
        .unwrap();
    writer.flush().unwrap();
    let engine = archive.query_engine().unwrap();
    let trades = || Query::all().symbol("SPY").kind(EventKind::Trade);
    let same = |query: &Query| {
        let events: Vec<Event> = engine.run(query).unwrap().map(Result::unwrap).collect();
        assert_eq!(batch_events(&engine, query), events, "{query:?}");
        events
    };
    let all = same(&trades());
    assert_eq!(all.len(), cold.len() + 3);
    // The cold hours that the late hot file overlaps are built from events, the others not.
    let mut batches = engine.batches(&trades()).unwrap();
    (&mut batches).for_each(|b| drop(b.unwrap()));
    let built = batches.stats().rows_built;
    assert!(
        built > 2 && built < all.len() as u64,
        "{:?}",
        batches.stats()
    );
    assert_eq!(all.last().unwrap().sequence, Some(2_000_002));
    same(&trades().between(
        Some(ts("2013-10-07T14:59:00Z")),
        Some(ts("2013-10-07T15:01:00Z")),
    ));
    same(
        &trades()
            .between(Some(ts("2013-10-07T19:00:00Z")), None)
            .limit(50),
    );
    writer.close().unwrap();

    // Two symbols' unsealed segments whose events share instants (and meet the cold file's
    // last instant): the same order as the event form, ties included.
    let writer = archive.writer(WriterOptions::default()).unwrap();
    let last_cold = cold.last().unwrap().event_time;
    let mut tied = Vec::new();
    for (i, symbol) in ["SPY", "QQQ", "SPY", "QQQ"].iter().enumerate() {
        // One hour's segments (an event of a later hour would have the writer seal these
        // meanwhile, which changes the order of a tie between the two queries).
        let mut e = trade(last_cold, "170.02", 3_000_000 + i as u64);
        e.symbol = symbol.to_string();
        e.source = cold[0].source.clone();
        tied.push(e);
    }
    writer.append_batch(&tied).unwrap();
    writer.flush().unwrap();
    let engine = archive.query_engine().unwrap();
    let both = Query::all()
        .symbol("SPY")
        .symbol("QQQ")
        .kind(EventKind::Trade);
    let events: Vec<Event> = engine.run(&both).unwrap().map(Result::unwrap).collect();
    let columnar = batch_events(&engine, &both);
    let differ = events.iter().zip(&columnar).position(|(a, b)| a != b);
    assert!(
        differ.is_none() && events.len() == columnar.len(),
        "first difference at {differ:?}: {:?} against {:?}",
        differ.map(|i| (&events[i].symbol, events[i].sequence)),
        differ.map(|i| (&columnar[i].symbol, columnar[i].sequence)),
    );
    let from = Some(last_cold);
    let events: Vec<Event> = engine
        .run(&both.clone().between(from, None))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(events.len() >= 4, "{}", events.len());
    assert_eq!(batch_events(&engine, &both.between(from, None)), events);
    writer.close().unwrap();

    // One kind at a time.
    for query in [Query::all(), trades().kind(EventKind::BboQuote)] {
        let err = engine.batches(&query).unwrap_err();
        assert!(err.to_string().contains("one event kind"), "{err}");
    }
    // Nothing wanted: no batch.
    assert_eq!(
        engine
            .batches(&Query::all().symbol("AAPL").kind(EventKind::Trade))
            .unwrap()
            .count(),
        0
    );
}
