//! Tardis.dev normalized CSV, every data type the downloadable datasets define (trades,
//! liquidations, quotes, book_ticker, book_snapshot_5/25, incremental_book_L2,
//! derivative_ticker), gzipped as Tardis.dev serves them.
//!
//! `../shared/data` holds no Tardis.dev file and this machine cannot download one, so each file
//! here is synthetic but reproduces the vendor's layout exactly: the header rows are Tardis.dev's
//! documented column lists (docs.tardis.dev, "Downloadable CSV files → Data types"), the file
//! names follow its `{exchange}_{data_type}_{date}_{symbol}.csv.gz` naming, times are
//! microseconds, empty cells stand for values the exchange did not send, and numbers are written
//! the way Tardis.dev's JavaScript export prints them (`5e-7`, float artifacts).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;

use strata_import::{import_file, Format, ImportError, ImportOptions};
use strata_model::{jsonl, BookAction, BookSide, EventKind, Payload, Side, TimeBasis};

use common::{import, Imported};

fn gz(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
    let path = dir.path().join(name);
    let packed = strata_codec::compress("gzip:6".parse().unwrap(), text.as_bytes()).unwrap();
    std::fs::write(&path, packed).unwrap();
    path
}

fn tardis(dir: &tempfile::TempDir, name: &str, text: &str) -> Imported {
    let got = import(
        &gz(dir, name, text),
        Format::Tardis,
        &ImportOptions::default(),
    );
    // Whatever the type, every event round-trips through strata JSONL exactly.
    for event in &got.events {
        let line = jsonl::encode_line(event).unwrap();
        assert_eq!(&jsonl::decode_line(&line).unwrap(), event);
        assert_eq!(event.source, "tardis");
    }
    got
}

const TRADES: &str = "\
exchange,symbol,timestamp,local_timestamp,id,side,price,amount
deribit,BTC-PERPETUAL,1585699209920000,1585699209934201,4157432,sell,6423,2040
deribit,BTC-PERPETUAL,1585699209920000,1585699209934201,4157432,sell,6423,2040
bitmex,XBTUSD,1585699210000000,1585699210001000,,unknown,6423.5,0.30000000000000004
binance,BTCUSDT,1585699211000000,1585699211001000,77,buy,6424.01,5e-7
";

#[test]
fn trades_keep_ids_sides_and_every_digit() {
    let dir = tempfile::tempdir().unwrap();
    let got = tardis(
        &dir,
        "deribit_trades_2020-04-01_BTC-PERPETUAL.csv.gz",
        TRADES,
    );
    assert!(got.rejected.is_empty(), "{:?}", got.rejected);
    assert_eq!(got.events.len(), 4);
    assert_eq!(got.summary.rows, 4);
    let first = &got.events[0];
    assert_eq!(first.venue.as_deref(), Some("deribit"));
    assert_eq!(first.symbol, "BTC-PERPETUAL");
    assert_eq!(first.event_time.as_nanos(), 1_585_699_209_920_000_000);
    assert_eq!(first.receive_time.as_nanos(), 1_585_699_209_934_201_000);
    assert_eq!(first.time_basis, TimeBasis::Venue);
    // The header is line 1: the first row is line 2, and its line is its sequence.
    assert_eq!(first.sequence, Some(2));
    let t = first.payload.trade().unwrap();
    assert_eq!(
        (t.price.to_string(), t.size.to_string(), t.side),
        ("6423".into(), "2040".into(), Some(Side::Sell))
    );
    assert_eq!(t.trade_id.as_deref(), Some("4157432"));
    // Two identical rows are two events: the line keeps them apart.
    assert_ne!(got.events[0], got.events[1]);
    let t = got.events[2].payload.trade().unwrap();
    assert_eq!((t.trade_id.as_deref(), t.side), (None, None));
    assert_eq!(t.size.to_string(), "0.30000000000000004");
    assert_eq!(t.conditions, None);
    let t = got.events[3].payload.trade().unwrap();
    assert_eq!(t.size.to_string(), "0.0000005");
}

#[test]
fn liquidations_are_trades_marked_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let got = tardis(
        &dir,
        "binance-futures_liquidations_2024-01-01_BTCUSDT.csv.gz",
        "exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n\
         binance-futures,BTCUSDT,1704067205123000,1704067205130000,,sell,42283.1,0.004\n",
    );
    let t = got.events[0].payload.trade().unwrap();
    assert_eq!(t.conditions.as_deref(), Some("liquidation"));
    assert_eq!(t.side, Some(Side::Sell));
}

#[test]
fn quotes_and_book_tickers_become_bbo_quotes_with_empty_sides_absent() {
    let dir = tempfile::tempdir().unwrap();
    let text = "\
exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount
huobi-dm-swap,BTC-USD,1585699201147000,1585699202147000,86,6423,6422.9,112
deribit,BTC-24SEP21-90000-C,1585699203000000,1585699203100000,,,0.0005,10
";
    for name in [
        "huobi-dm-swap_quotes_2020-04-01_BTC-USD.csv.gz",
        "binance-futures_book_ticker_2020-04-01_BTCUSDT.csv.gz",
    ] {
        let got = tardis(&dir, name, text);
        assert!(got.rejected.is_empty(), "{:?}", got.rejected);
        let Payload::BboQuote(q) = &got.events[0].payload else {
            panic!()
        };
        let (bid, ask) = (q.bid.unwrap(), q.ask.unwrap());
        assert_eq!(
            (bid.price.to_string(), bid.size.to_string()),
            ("6422.9".into(), "112".into())
        );
        assert_eq!(
            (ask.price.to_string(), ask.size.to_string()),
            ("6423".into(), "86".into())
        );
        let Payload::BboQuote(q) = &got.events[1].payload else {
            panic!()
        };
        assert_eq!(q.ask, None);
        assert_eq!(q.bid.unwrap().price.to_string(), "0.0005");
    }
}

/// A `book_snapshot_N` header as Tardis.dev writes it: asks then bids, level by level.
fn snapshot_header(depth: usize) -> String {
    let mut header = String::from("exchange,symbol,timestamp,local_timestamp");
    for i in 0..depth {
        header.push_str(&format!(
            ",asks[{i}].price,asks[{i}].amount,bids[{i}].price,bids[{i}].amount"
        ));
    }
    header
}

#[test]
fn book_snapshots_of_any_depth_keep_their_levels_and_stop_where_the_book_ends() {
    let dir = tempfile::tempdir().unwrap();
    let five = format!(
        "{}\n{}\n",
        snapshot_header(5),
        "binance-futures,BTCUSDT,1598918403696000,1598918403810979,11657.08,1.714,11657.07,10.896,11657.54,5.4,11656.97,0.2,11657.56,0.238,11655.78,0.2,11657.61,0.077,11655.77,0.98,11657.92,0.918,11655.68,0.111"
    );
    let got = tardis(
        &dir,
        "binance-futures_book_snapshot_5_2020-09-01_BTCUSDT.csv.gz",
        &five,
    );
    assert!(got.rejected.is_empty(), "{:?}", got.rejected);
    let Payload::L2Snapshot(book) = &got.events[0].payload else {
        panic!()
    };
    assert_eq!((book.bids.len(), book.asks.len()), (5, 5));
    assert_eq!(book.asks[0].price.to_string(), "11657.08");
    assert_eq!(book.bids[4].size.to_string(), "0.111");

    // 25 levels, but the book (an illiquid option) has 2 asks and 1 bid.
    let mut row = String::from("deribit,BTC-24SEP21-90000-C,1585699203000000,1585699203100000");
    for i in 0..25 {
        let (ask, bid) = match i {
            0 => (",0.0105,12.5", ",0.0095,3"),
            1 => (",0.011,1", ",,"),
            _ => (",,", ",,"),
        };
        row.push_str(ask);
        row.push_str(bid);
    }
    let thin = format!("{}\n{row}\n", snapshot_header(25));
    let got = tardis(
        &dir,
        "deribit_book_snapshot_25_2020-04-01_OPTIONS.csv.gz",
        &thin,
    );
    assert!(got.rejected.is_empty(), "{:?}", got.rejected);
    let Payload::L2Snapshot(book) = &got.events[0].payload else {
        panic!()
    };
    assert_eq!((book.bids.len(), book.asks.len()), (1, 2));
    assert_eq!(book.asks[1].price.to_string(), "0.011");

    // A level after an empty one, or half a level, is a rejected row naming the column.
    let bad = format!(
        "{}\n{}\n{}\n",
        snapshot_header(2),
        "x,Y,1585699203000000,1585699203100000,,,9,1,11,1,8,1",
        "x,Y,1585699203000000,1585699203100000,10,1,9,,11,1,8,1"
    );
    let got = tardis(&dir, "bad_book_snapshot_2.csv.gz", &bad);
    assert_eq!(got.rejected.len(), 2);
    assert!(
        got.rejected[0]
            .reason
            .contains("`asks[1].price` holds 11 after an empty level"),
        "{}",
        got.rejected[0].reason
    );
    assert!(
        got.rejected[1].reason.contains("`bids[0].amount` is empty"),
        "{}",
        got.rejected[1].reason
    );
}

#[test]
fn incremental_book_l2_clears_the_book_at_each_snapshot_and_keeps_every_update() {
    let dir = tempfile::tempdir().unwrap();
    // Buffered updates before the first snapshot, the day's snapshot, updates (one removing a
    // level), then a reconnect's snapshot.
    let text = "\
exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount
deribit,BTC-PERPETUAL,1585699200100000,1585699200150000,false,bid,6420,100
deribit,BTC-PERPETUAL,1585699200245000,1585699200355684,true,ask,6421.5,18640
deribit,BTC-PERPETUAL,1585699200245000,1585699200355684,true,ask,6422,1190
deribit,BTC-PERPETUAL,1585699200245000,1585699200355684,True,bid,6421,560
deribit,BTC-PERPETUAL,1585699200400000,1585699200401000,false,ask,6421.5,0
deribit,BTC-PERPETUAL,1585699200400000,1585699200401000,false,bid,6421,600
deribit,BTC-PERPETUAL,1585699300000000,1585699300100000,true,ask,6430,10
deribit,BTC-PERPETUAL,1585699300000000,1585699300100000,true,bid,6429.5,20
";
    let got = tardis(
        &dir,
        "deribit_incremental_book_L2_2020-04-01_BTC-PERPETUAL.csv.gz",
        text,
    );
    assert!(got.rejected.is_empty(), "{:?}", got.rejected);
    assert_eq!(got.summary.rows, 8);
    let actions: Vec<(BookAction, Option<BookSide>, Option<String>)> = got
        .events
        .iter()
        .map(|e| {
            let Payload::OrderBookDelta(d) = &e.payload else {
                panic!()
            };
            (d.action, d.side, d.size.map(|s| s.to_string()))
        })
        .collect();
    use BookAction::*;
    use BookSide::*;
    let s = |x: &str| Some(x.to_string());
    assert_eq!(
        actions,
        vec![
            (Modify, Some(Bid), s("100")),
            (Clear, None, None),
            (Add, Some(Ask), s("18640")),
            (Add, Some(Ask), s("1190")),
            (Add, Some(Bid), s("560")),
            (Cancel, Some(Ask), s("0")),
            (Modify, Some(Bid), s("600")),
            (Clear, None, None),
            (Add, Some(Ask), s("10")),
            (Add, Some(Bid), s("20")),
        ]
    );
    // The clear takes the time and line of the snapshot's first row.
    assert_eq!(got.events[1].event_time, got.events[2].event_time);
    assert_eq!(got.events[1].sequence, Some(3));
    assert_ne!(got.events[1], got.events[7]);
}

#[test]
fn derivative_tickers_keep_funding_mark_index_and_open_interest() {
    let dir = tempfile::tempdir().unwrap();
    let text = "\
exchange,symbol,timestamp,local_timestamp,funding_timestamp,funding_rate,predicted_funding_rate,open_interest,last_price,index_price,mark_price
binance-futures,BTCUSDT,1580515202348000,1580515202497335,,,,,9364.51,,
binance-futures,BTCUSDT,1580515500000000,1580515501000000,1580544000000000,0.00004405208333333333,-1.2e-7,34653.577,9364.51,9361.2,9360.0
dydx-v4,BTC-USD,1743465600448717,1743465600448717,,,,,,,
";
    let got = tardis(
        &dir,
        "binance-futures_derivative_ticker_2020-02-01_BTCUSDT.csv.gz",
        text,
    );
    assert!(got.rejected.is_empty(), "{:?}", got.rejected);
    assert_eq!(got.events.len(), 2);
    assert_eq!(
        got.skipped.len(),
        1,
        "the row with no field is skipped, not stored"
    );
    let Payload::DerivativeTicker(t) = &got.events[1].payload else {
        panic!()
    };
    assert_eq!(got.events[1].kind(), EventKind::DerivativeTicker);
    assert_eq!(
        t.funding_rate.unwrap().to_string(),
        "0.00004405208333333333"
    );
    assert_eq!(t.predicted_funding_rate.unwrap().to_string(), "-0.00000012");
    assert_eq!(t.open_interest.unwrap().to_string(), "34653.577");
    assert_eq!(t.index_price.unwrap().to_string(), "9361.2");
    assert_eq!(t.mark_price.unwrap().to_string(), "9360.0");
    assert_eq!(
        t.funding_time.unwrap().as_nanos(),
        1_580_544_000_000_000_000
    );
}

#[test]
fn bad_rows_are_rejected_with_line_and_column_and_the_rest_imports() {
    let dir = tempfile::tempdir().unwrap();
    let text = "\
exchange,symbol,timestamp,local_timestamp,id,side,price,amount
deribit,BTC-PERPETUAL,1585699209920000,1585699209934201,1,sell,6423,2040
deribit,BTC-PERPETUAL,1585699209920000,1585699209934201,2,sideways,6423,1
deribit,BTC-PERPETUAL,1585699209920000,1585699209934201,3,buy,64x3,1
deribit,BTC-PERPETUAL,1585699209920000,1585699209934201,4,buy,6423
deribit,BTC-PERPETUAL,1585699209920000,1585699209934201,5,buy,6424,1
";
    let got = tardis(&dir, "deribit_trades_2020-04-01_BTC-PERPETUAL.csv.gz", text);
    assert_eq!(got.events.len(), 2);
    let lines: Vec<u64> = got.rejected.iter().map(|r| r.line).collect();
    assert_eq!(lines, [3, 4, 5]);
    assert!(got.rejected[0].reason.contains("column `side`: `sideways`"));
    assert!(got.rejected[1].reason.contains("column `price`"));
    assert_eq!(got.rejected[2].reason, "the row has 7 fields, the header 8");
    assert!(got.rejected[0].file.ends_with("BTC-PERPETUAL.csv.gz"));
    assert!(got.rejected[2].raw.ends_with(",4,buy,6423"));
}

#[test]
fn an_empty_download_imports_nothing_and_a_foreign_header_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    // Tardis.dev serves an empty gzip for a day without data.
    let got = tardis(&dir, "deribit_trades_2020-04-01_ETH-PERPETUAL.csv.gz", "");
    assert_eq!((got.events.len(), got.summary.rows), (0, 0));

    let path = gz(
        &dir,
        "deribit_options_chain_2020-04-01_OPTIONS.csv.gz",
        "exchange,symbol,timestamp,local_timestamp,type,strike_price,expiration,open_interest\n",
    );
    let Err(err) = import_file(&path, Format::Tardis, &ImportOptions::default()) else {
        panic!("an options_chain file is refused")
    };
    assert!(matches!(err, ImportError::TardisHeader { line: 1, .. }));
    let text = err.to_string();
    assert!(text.contains("OPTIONS.csv.gz:1:"), "{text}");
    assert!(text.contains("options_chain"), "{text}");
}

#[test]
fn symbol_renames_one_instrument_and_refuses_to_merge_two() {
    let dir = tempfile::tempdir().unwrap();
    let two = "exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n\
               binance,BTCUSDT,1585699209920000,1585699209934201,1,buy,6423,1\n\
               binance,ETHUSDT,1585699209930000,1585699209944201,2,buy,130,1\n\
               binance,BTCUSDT,1585699209940000,1585699209954201,3,buy,6424,1\n";
    let path = gz(&dir, "binance_trades_2020-04-01_MIXED.csv.gz", two);
    let options = ImportOptions {
        symbol: Some("XBT".into()),
        ..ImportOptions::default()
    };
    let got = import(&path, Format::Tardis, &options);
    assert_eq!(got.events.len(), 2);
    assert!(got.events.iter().all(|e| e.symbol == "XBT"));
    assert_eq!(got.rejected.len(), 1);
    assert_eq!(got.rejected[0].line, 3);
    assert!(
        got.rejected[0]
            .reason
            .contains("more than one symbol (`BTCUSDT`, then `ETHUSDT`)"),
        "{}",
        got.rejected[0].reason
    );
    // A damaged first row names no symbol for the file: the rows after it still import.
    let damaged = "exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n\
                   binance,ETHUSDT,1585699209920000\n\
                   binance,BTCUSDT,1585699209930000,1585699209944201,2,buy,6423,1\n";
    let path = gz(&dir, "binance_trades_2020-04-01_BTCUSDT.csv.gz", damaged);
    let got = import(&path, Format::Tardis, &options);
    assert_eq!((got.events.len(), got.rejected.len()), (1, 1));
    assert!(
        got.rejected[0].reason.contains("fields"),
        "{}",
        got.rejected[0].reason
    );
    // No symbol column: --symbol names the instrument; without it the file is refused whole.
    let bare = "exchange,timestamp,local_timestamp,id,side,price,amount\n\
                binance,1585699209920000,1585699209934201,1,buy,6423,1\n";
    let path = gz(&dir, "bare_trades.csv.gz", bare);
    let got = import(&path, Format::Tardis, &options);
    assert_eq!(got.events.len(), 1);
    assert_eq!(got.events[0].symbol, "XBT");
    let Err(err) = import_file(&path, Format::Tardis, &ImportOptions::default()) else {
        panic!("no symbol column and no --symbol")
    };
    assert!(
        err.to_string()
            .contains("no `symbol` column; pass --symbol"),
        "{err}"
    );
}

#[test]
fn files_joined_end_to_end_skip_the_repeated_header() {
    let dir = tempfile::tempdir().unwrap();
    let joined = format!("{TRADES}{TRADES}");
    let got = tardis(
        &dir,
        "deribit_trades_2020-04-0x_BTC-PERPETUAL.csv.gz",
        &joined,
    );
    assert!(got.rejected.is_empty(), "{:?}", got.rejected);
    assert_eq!(got.events.len(), 8);
    assert_eq!(
        got.skipped,
        [(
            6,
            "the header row again (files joined end to end)".to_string()
        )]
    );
}

#[test]
fn options_override_symbol_and_select_a_kind() {
    let dir = tempfile::tempdir().unwrap();
    let path = gz(
        &dir,
        "deribit_trades_2020-04-01_BTC-PERPETUAL.csv.gz",
        TRADES,
    );
    let options = ImportOptions {
        symbol: Some("BTC-PERP".into()),
        source: Some("tardis-deribit".into()),
        ..ImportOptions::default()
    };
    let got = import(&path, Format::Tardis, &options);
    assert!(got
        .events
        .iter()
        .all(|e| e.symbol == "BTC-PERP" && e.source == "tardis-deribit"));
    let options = ImportOptions {
        kind: Some(EventKind::BboQuote),
        ..ImportOptions::default()
    };
    let got = import(&path, Format::Tardis, &options);
    assert_eq!((got.events.len(), got.skipped.len()), (0, 4));
}

/// Real values in Tardis.dev's layout: the committed cut of the real Binance USDⓈ-M capture
/// (`testdata/binance/btcusdt_20240808_first3000.txt.gz`: 469 trades, 2,296 book tickers, 234
/// depth updates) is imported, written out as Tardis.dev writes the same streams (`trades`,
/// `book_ticker`, `incremental_book_L2`; receive times cut to microseconds, as Tardis.dev keeps
/// them), and imported back: every price, size, side, trade id and time comes back exactly.
#[test]
fn a_real_capture_written_as_tardis_csv_imports_back_exactly() {
    let capture = common::testdata("binance/btcusdt_20240808_first3000.txt.gz");
    let original = import(&capture, Format::Binance, &ImportOptions::default());
    assert!(original.rejected.is_empty());
    let us = |t: strata_model::Timestamp| t.as_nanos().div_euclid(1_000);
    let mut trades =
        String::from("exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n");
    let mut quotes = String::from(
        "exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount\n",
    );
    let mut book =
        String::from("exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount\n");
    let (mut want_trades, mut want_quotes, mut want_deltas) = (vec![], vec![], vec![]);
    for e in &original.events {
        let head = format!(
            "binance-futures,{},{},{}",
            e.symbol,
            us(e.event_time),
            us(e.receive_time)
        );
        match &e.payload {
            Payload::Trade(t) => {
                let side = t.side.map_or("unknown", Side::as_str);
                let id = t.trade_id.as_deref().unwrap_or("");
                trades.push_str(&format!("{head},{id},{side},{},{}\n", t.price, t.size));
                want_trades.push(e);
            }
            Payload::BboQuote(q) => {
                let (bid, ask) = (q.bid.unwrap(), q.ask.unwrap());
                quotes.push_str(&format!(
                    "{head},{},{},{},{}\n",
                    ask.size, ask.price, bid.price, bid.size
                ));
                want_quotes.push(e);
            }
            Payload::OrderBookDelta(d) => {
                book.push_str(&format!(
                    "{head},false,{},{},{}\n",
                    d.side.unwrap(),
                    d.price.unwrap(),
                    d.size.unwrap()
                ));
                want_deltas.push(e);
            }
            _ => {}
        }
    }
    assert_eq!(
        (want_trades.len(), want_quotes.len()),
        (469, 2296),
        "the cut's trades and book tickers"
    );
    let dir = tempfile::tempdir().unwrap();
    let same_times = |a: &strata_model::Event, b: &strata_model::Event| {
        assert_eq!(a.event_time, b.event_time);
        assert_eq!(us(a.receive_time) * 1_000, b.receive_time.as_nanos());
        assert_eq!(a.symbol, b.symbol);
        assert_eq!(b.venue.as_deref(), Some("binance-futures"));
    };
    let got = tardis(
        &dir,
        "binance-futures_trades_2024-08-08_BTCUSDT.csv.gz",
        &trades,
    );
    assert!(got.rejected.is_empty(), "{:?}", got.rejected);
    assert_eq!(got.events.len(), want_trades.len());
    for (a, b) in want_trades.iter().zip(&got.events) {
        same_times(a, b);
        assert_eq!(a.payload, b.payload, "price, size, side and id as written");
    }
    let got = tardis(
        &dir,
        "binance-futures_book_ticker_2024-08-08_BTCUSDT.csv.gz",
        &quotes,
    );
    assert!(got.rejected.is_empty(), "{:?}", got.rejected);
    assert_eq!(got.events.len(), want_quotes.len());
    for (a, b) in want_quotes.iter().zip(&got.events) {
        same_times(a, b);
        assert_eq!(a.payload, b.payload);
    }
    let got = tardis(
        &dir,
        "binance-futures_incremental_book_L2_2024-08-08_BTCUSDT.csv.gz",
        &book,
    );
    assert!(got.rejected.is_empty(), "{:?}", got.rejected);
    assert_eq!(got.events.len(), want_deltas.len());
    for (a, b) in want_deltas.iter().zip(&got.events) {
        same_times(a, b);
        // Binance sends the new total per level, as Tardis.dev does: modify, or cancel at 0.
        assert_eq!(a.payload, b.payload);
    }
}
