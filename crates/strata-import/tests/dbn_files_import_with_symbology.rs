//! Databento DBN files (committed cuts of nautilus_trader's test data) import record by
//! record: MBO actions, MBP-1 quotes and trades, trades, OHLCV bars; symbols from the file's
//! symbology; prices exact; a broken record is rejected by its index and the rest imports.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;

use dbn::decode::{DbnDecoder, DbnMetadata, DecodeRecordRef};
use dbn::encode::{DbnEncoder, EncodeRecordRef};
use dbn::{MboMsg, Mbp1Msg, OhlcvMsg, TradeMsg};
use strata_import::{import_reader, Format, ImportError, ImportOptions};
use strata_model::{BookAction, BookSide, EventKind, Payload, Side};

use common::{collect, import, testdata};

const MBO: &str = "databento/esh4-glbx-mdp3-20231225.mbo.first2000.dbn.zst";
const MBP1: &str = "databento/futures_mbp-1_2024-07-01T23-58_2024-07-02T00-02.dbn.zst";
const TRADES: &str = "databento/futures_trades_2024-07-01T23-58_2024-07-02T00-02.dbn.zst";
const OHLCV: &str = "databento/futures_ohlcv-1m_2024-07-01T23-40_2024-07-02T00-10.dbn.zst";

/// The plain DBN bytes of a fixture.
fn plain(rel: &str) -> Vec<u8> {
    strata_codec::decompress(&std::fs::read(testdata(rel)).unwrap()).unwrap()
}

/// The fixture's records of type `T`, decoded with `dbn` alone (the reference).
fn raw<T: dbn::HasRType<Header = dbn::RecordHeader> + Clone>(rel: &str) -> Vec<T> {
    let bytes = plain(rel);
    let mut decoder = DbnDecoder::new(bytes.as_slice()).unwrap();
    let mut out = Vec::new();
    while let Some(rec) = decoder.decode_record_ref().unwrap() {
        out.push(rec.get::<T>().unwrap().clone());
    }
    out
}

/// `p × 1e-9` as exact text, computed independently of the importer.
fn fixed_text(p: i64) -> String {
    let text = format!("{}.{:09}", p / 1_000_000_000, p % 1_000_000_000);
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[test]
fn mbo_actions_become_deltas_trades_and_executions() {
    let records: Vec<MboMsg> = raw(MBO);
    assert_eq!(records.len(), 2_000);
    let imported = import(&testdata(MBO), Format::Dbn, &ImportOptions::default());
    assert!(
        imported.rejected.is_empty(),
        "{:?}",
        imported.rejected.first()
    );
    assert_eq!(imported.summary.rows, 2_000);

    let mut actions: BTreeMap<char, u64> = BTreeMap::new();
    for r in &records {
        *actions.entry(r.action as u8 as char).or_default() += 1;
    }
    let none_actions = actions.get(&'N').copied().unwrap_or(0);
    assert_eq!(imported.skipped.len() as u64, none_actions);
    assert_eq!(imported.events.len() as u64, 2_000 - none_actions);
    assert_eq!(
        imported.kinds().get("trade").copied().unwrap_or(0),
        actions.get(&'T').copied().unwrap_or(0)
    );

    // Every event matches its record, field by field.
    let events = records
        .iter()
        .filter(|r| r.action as u8 != b'N')
        .zip(&imported.events);
    for (r, event) in events {
        assert_eq!(event.symbol, "ESH4");
        assert_eq!(
            (event.source.as_str(), event.venue.as_deref()),
            ("databento", Some("GLBX"))
        );
        assert_eq!(event.sequence, Some(u64::from(r.sequence)));
        assert_eq!(event.event_time.as_nanos() as u64, r.hd.ts_event);
        assert_eq!(event.receive_time.as_nanos() as u64, r.ts_recv);
        match (&event.payload, r.action as u8) {
            (Payload::Trade(t), b'T') => {
                assert_eq!(t.price.to_string(), fixed_text(r.price));
                assert_eq!(t.size.to_string(), r.size.to_string());
                let side = match r.side as u8 {
                    b'B' => Some(Side::Buy),
                    b'A' => Some(Side::Sell),
                    _ => None,
                };
                assert_eq!(t.side, side);
            }
            (Payload::OrderBookDelta(d), action) => {
                let expected = match action {
                    b'A' => BookAction::Add,
                    b'M' => BookAction::Modify,
                    b'C' => BookAction::Cancel,
                    b'F' => BookAction::Execute,
                    b'R' => BookAction::Clear,
                    other => panic!("action {}", other as char),
                };
                assert_eq!(d.action, expected);
                let side = match r.side as u8 {
                    b'B' => Some(BookSide::Bid),
                    b'A' => Some(BookSide::Ask),
                    _ => None,
                };
                assert_eq!(d.side, side);
                if r.price == dbn::UNDEF_PRICE {
                    assert_eq!(d.price, None);
                } else {
                    assert_eq!(d.price.unwrap().to_string(), fixed_text(r.price));
                }
                assert_eq!(d.order_id, (r.order_id != 0).then_some(r.order_id));
                assert_eq!(d.flags, Some(r.flags.raw()));
            }
            (payload, action) => panic!("action {} became {payload:?}", action as char),
        }
    }
}

#[test]
fn mbp1_records_become_quotes_plus_trades() {
    let records: Vec<Mbp1Msg> = raw(MBP1);
    assert_eq!(records.len(), 2_288);
    let trades = records.iter().filter(|r| r.action as u8 == b'T').count() as u64;
    let imported = import(&testdata(MBP1), Format::Dbn, &ImportOptions::default());
    assert!(imported.rejected.is_empty());
    assert_eq!(imported.kinds().get("bbo_quote"), Some(&2_288));
    assert_eq!(imported.kinds().get("trade").copied().unwrap_or(0), trades);
    let quotes = imported
        .events
        .iter()
        .filter(|e| e.kind() == EventKind::BboQuote);
    for (r, event) in records.iter().zip(quotes) {
        let Payload::BboQuote(q) = &event.payload else {
            unreachable!()
        };
        let level = &r.levels[0];
        assert_eq!(
            q.bid.map(|l| l.price.to_string()),
            (level.bid_px != dbn::UNDEF_PRICE).then(|| fixed_text(level.bid_px))
        );
        assert_eq!(
            q.ask.map(|l| l.size.to_string()),
            (level.ask_px != dbn::UNDEF_PRICE).then(|| level.ask_sz.to_string())
        );
        assert_eq!(event.symbol, "ESU4");
    }
}

#[test]
fn trades_and_bars_take_symbols_from_the_symbology() {
    let records: Vec<TradeMsg> = raw(TRADES);
    let imported = import(&testdata(TRADES), Format::Dbn, &ImportOptions::default());
    assert_eq!(
        imported.summary.to_string(),
        "120 rows: 120 events (trade 120), 0 rejected, 0 skipped, 0 gaps"
    );
    for (r, event) in records.iter().zip(&imported.events) {
        let trade = event.payload.trade().unwrap();
        assert_eq!(trade.price.to_string(), fixed_text(r.price));
        assert_eq!(event.sequence, Some(u64::from(r.sequence)));
    }

    let bars: Vec<OhlcvMsg> = raw(OHLCV);
    let imported = import(&testdata(OHLCV), Format::Dbn, &ImportOptions::default());
    assert_eq!(imported.events.len(), 60);
    let mut symbols: BTreeMap<&str, usize> = BTreeMap::new();
    for (r, event) in bars.iter().zip(&imported.events) {
        *symbols.entry(event.symbol.as_str()).or_default() += 1;
        let Payload::Bar(bar) = &event.payload else {
            panic!()
        };
        assert_eq!(bar.interval_s, 60);
        // Stamped at the bar's end.
        assert_eq!(
            event.event_time.as_nanos() as u64,
            r.hd.ts_event + 60_000_000_000
        );
        assert_eq!(bar.close.to_string(), fixed_text(r.close));
        assert_eq!(bar.volume.to_string(), r.volume.to_string());
    }
    assert_eq!(
        symbols.keys().copied().collect::<Vec<_>>(),
        ["ESU4", "NQU4"]
    );
}

#[test]
fn kind_filter_skips_other_events() {
    let options = ImportOptions {
        kind: Some(EventKind::Trade),
        ..ImportOptions::default()
    };
    let imported = import(&testdata(MBP1), Format::Dbn, &options);
    assert!(imported.events.iter().all(|e| e.kind() == EventKind::Trade));
    assert_eq!(imported.skipped.len(), 2_288);
    assert!(
        imported.skipped[0].1.contains("--kind trade"),
        "{:?}",
        imported.skipped[0]
    );
}

/// The MBO cut re-encoded with record `index` (0-based) changed by `edit`.
fn edited_mbo(index: usize, edit: impl Fn(&mut MboMsg)) -> Vec<u8> {
    let bytes = plain(MBO);
    let mut decoder = DbnDecoder::new(bytes.as_slice()).unwrap();
    let metadata = decoder.metadata().clone();
    let mut out = Vec::new();
    let mut encoder = DbnEncoder::new(&mut out, &metadata).unwrap();
    let mut i = 0;
    while let Some(rec) = decoder.decode_record_ref().unwrap() {
        let mut mbo = rec.get::<MboMsg>().unwrap().clone();
        if i == index {
            edit(&mut mbo);
        }
        encoder
            .encode_record_ref(dbn::RecordRef::from(&mbo))
            .unwrap();
        i += 1;
    }
    out
}

#[test]
fn a_broken_record_is_rejected_by_index_and_the_rest_imports() {
    let bytes = edited_mbo(999, |mbo| mbo.action = b'X' as std::ffi::c_char);
    let name = "edited.mbo.dbn";
    let imported = collect(
        import_reader(
            std::io::Cursor::new(bytes),
            name,
            Format::Dbn,
            &ImportOptions::default(),
        )
        .unwrap(),
    );
    assert_eq!(imported.rejected.len(), 1);
    let rejected = &imported.rejected[0];
    assert_eq!((rejected.file.as_str(), rejected.line), (name, 1_000));
    assert!(
        rejected.reason.contains("action 'X'"),
        "{}",
        rejected.reason
    );
    assert!(rejected.raw.contains("MboMsg"), "{}", rejected.raw);
    assert_eq!(imported.summary.rows, 2_000);
    // Records after it still import.
    let after = imported
        .order
        .iter()
        .position(|o| o == "rejected:1000")
        .unwrap();
    assert!(
        imported.order[after + 1..]
            .iter()
            .filter(|o| !o.starts_with("skipped"))
            .count()
            > 900
    );
}

#[test]
fn truncated_and_foreign_inputs_fail_clearly() {
    let bytes = plain(MBO);
    let cut = bytes[..bytes.len() - 20].to_vec();
    let imported = collect(
        import_reader(
            std::io::Cursor::new(cut),
            "cut.dbn",
            Format::Dbn,
            &ImportOptions::default(),
        )
        .unwrap(),
    );
    let last = imported.rejected.last().unwrap();
    assert!(last.stopped_import(), "{last:?}");
    assert_eq!(last.line, 2_000);
    assert!(imported.summary.stopped_early);

    let err = match import_reader(
        std::io::Cursor::new(b"not dbn at all".to_vec()),
        "x.dbn",
        Format::Dbn,
        &ImportOptions::default(),
    ) {
        Err(err) => err,
        Ok(_) => panic!("foreign bytes imported"),
    };
    assert!(matches!(err, ImportError::Dbn { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with("x.dbn: not a readable DBN stream"),
        "{err}"
    );

    let mut header_only = bytes[..40].to_vec();
    header_only.truncate(40);
    let err = match import_reader(
        std::io::Cursor::new(header_only),
        "short.dbn",
        Format::Dbn,
        &ImportOptions::default(),
    ) {
        Err(err) => err,
        Ok(_) => panic!("a cut header imported"),
    };
    assert!(err.to_string().starts_with("short.dbn: "), "{err}");
}

#[test]
fn the_asset_class_comes_from_the_dataset() {
    use strata_model::AssetClass;
    let o = ImportOptions::default();
    for rel in [MBO, MBP1, TRADES, OHLCV] {
        let path = testdata(rel);
        let name = path.display().to_string();
        // All four are CME Globex (GLBX.MDP3) files.
        assert_eq!(
            strata_import::asset_class_of(&name, Format::Dbn, &o),
            Some(AssetClass::Future),
            "{rel}"
        );
    }
    assert_eq!(
        strata_import::dbn::asset_class_of_dataset("OPRA.PILLAR"),
        Some(AssetClass::Option)
    );
    assert_eq!(
        strata_import::dbn::asset_class_of_dataset("XNAS.ITCH"),
        Some(AssetClass::Equity)
    );
    assert_eq!(strata_import::dbn::asset_class_of_dataset("NOPE.X"), None);
    // Not a DBN file: no class, no panic.
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.dbn");
    std::fs::write(&junk, b"DBN\x02\xff\xff\xff\xffgarbage").unwrap();
    assert_eq!(
        strata_import::asset_class_of(&junk.display().to_string(), Format::Dbn, &o),
        None
    );
}
