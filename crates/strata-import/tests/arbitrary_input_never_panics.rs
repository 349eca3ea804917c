//! The fuzz targets' properties, run as property tests on every `cargo test`: arbitrary or
//! damaged input to every importer gives a file-level error or records ending with `End` —
//! never a panic or a hang.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use proptest::prelude::*;
use strata_import::binance::{parse_line, BinanceContext};
use strata_import::{import_reader, Format, ImportOptions, Record};

use common::testdata;

/// Runs an import of `bytes` to the end, checking that it ends with `End` exactly once.
fn run(bytes: Vec<u8>, name: &str, format: Format, options: &ImportOptions) {
    let Ok(records) = import_reader(std::io::Cursor::new(bytes), name, format, options) else {
        return;
    };
    let mut ended = false;
    for record in records {
        assert!(!ended, "a record after End");
        ended = matches!(record, Record::End { .. });
    }
    assert!(ended);
}

fn dbn_fixture(index: usize) -> Vec<u8> {
    let name = [
        "databento/futures_trades_2024-07-01T23-58_2024-07-02T00-02.dbn.zst",
        "databento/futures_ohlcv-1m_2024-07-01T23-40_2024-07-02T00-10.dbn.zst",
        "databento/esh4-glbx-mdp3-20231225.mbo.first2000.dbn.zst",
    ][index % 3];
    let mut bytes = strata_codec::decompress(&std::fs::read(testdata(name)).unwrap()).unwrap();
    bytes.truncate(16 * 1024);
    bytes
}

/// 256 cases per property; set `STRATA_FUZZ_CASES` for a longer run.
fn cases() -> u32 {
    std::env::var("STRATA_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(256)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn arbitrary_bytes_as_dbn(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        run(bytes.clone(), "fuzz.dbn", Format::Dbn, &ImportOptions::default());
        let mut prefixed = b"DBN\x03".to_vec();
        prefixed.extend_from_slice(&bytes);
        run(prefixed, "fuzz.dbn", Format::Dbn, &ImportOptions::default());
    }

    #[test]
    fn damaged_dbn_files(file in 0usize..3, flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8), cut in any::<prop::sample::Index>()) {
        let mut bytes = dbn_fixture(file);
        for (at, value) in flips {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        let end = cut.index(bytes.len() + 1);
        bytes.truncate(end.max(1));
        run(bytes, "damaged.dbn", Format::Dbn, &ImportOptions::default());
    }

    #[test]
    fn arbitrary_binance_lines(line in ".{0,200}", json in r#"\{("[a-zA-Z]{1,12}":(-?[0-9]{1,20}|"[0-9.]{0,12}"|\[\[("[0-9.]{0,6}",?){0,3}\]\]|true|null),?){0,10}\}"#) {
        let ctx = BinanceContext::default();
        let _ = parse_line(&line, &ctx);
        let _ = parse_line(&format!("1 {json}"), &ctx);
        let _ = parse_line(&format!("1 {{\"stream\":\"x\",\"data\":{json}}}"), &ctx);
    }

    #[test]
    fn arbitrary_csv_bodies(body in prop::collection::vec(any::<u8>(), 0..400)) {
        let options = ImportOptions {
            symbol: Some("X".into()),
            csv: Some("time=ts:ms,price=px,size=qty,side=side".parse().unwrap()),
            ..ImportOptions::default()
        };
        let mut bytes = b"ts,px,qty,side\n".to_vec();
        bytes.extend_from_slice(&body);
        run(bytes, "fuzz.csv", Format::Csv, &options);
        run(body, "fuzz.jsonl", Format::Jsonl, &ImportOptions::default());
    }

    #[test]
    fn arbitrary_lean_text(body in "([0-9 ,.:x-]{0,40}\n){0,10}") {
        for name in [
            "equity/usa/tick/spy/20131103_trade.csv",
            "equity/usa/tick/aig/20131009_quote.csv",
            "forex/fxcm/tick/eurusd/20140501_quote.csv",
            "equity/usa/minute/spy/20131007_quote.csv",
            "equity/usa/daily/spy.csv",
        ] {
            run(body.clone().into_bytes(), name, Format::Lean, &ImportOptions::default());
        }
        run(body.into_bytes(), "equity/usa/tick/spy/20131007_trade.zip", Format::Lean, &ImportOptions::default());
    }

    #[test]
    fn arbitrary_tardis_rows(body in "([a-z0-9 ,.e+\"-]{0,60}\n){0,8}", raw in prop::collection::vec(any::<u8>(), 0..300)) {
        for header in [
            "exchange,symbol,timestamp,local_timestamp,id,side,price,amount",
            "exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount",
            "exchange,symbol,timestamp,local_timestamp,asks[0].price,asks[0].amount,bids[0].price,bids[0].amount,asks[1].price,asks[1].amount,bids[1].price,bids[1].amount",
            "exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount",
            "exchange,symbol,timestamp,local_timestamp,funding_timestamp,funding_rate,predicted_funding_rate,open_interest,last_price,index_price,mark_price",
        ] {
            run(format!("{header}\n{body}").into_bytes(), "x_trades.csv", Format::Tardis, &ImportOptions::default());
        }
        run(raw, "x.csv.gz", Format::Tardis, &ImportOptions::default());
    }
}
