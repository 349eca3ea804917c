//! The fixtures under `testdata/` are unedited beginnings (or, for one DBN file, a contiguous
//! run of records) of the shared data set (see `testdata/README.md`): checked whenever the
//! shared data is present, and the DBN MBO cuts can be regenerated from it (`cargo test -p strata-import --test
//! committed_fixtures_are_cuts_of_the_shared_data -- --ignored`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Read;
use std::path::Path;

use dbn::decode::{DbnDecoder, DbnMetadata, DecodeRecordRef};
use dbn::encode::{DbnEncoder, EncodeRecordRef};

use common::{shared_data, testdata};

/// The MBO cut: the first this many records of the full file.
const MBO_CUT_RECORDS: usize = 2_000;
const MBO_FULL: &str = "nautilus/databento/esh4-glbx-mdp3-20231225.mbo.dbn.zst";
const MBO_CUT: &str = "databento/esh4-glbx-mdp3-20231225.mbo.first2000.dbn.zst";
/// Records 33,680..33,700 of the full file: match event 28915, where one resting ask is filled
/// by four buyers and the feed holds byte-identical fill records.
const MBO_REPEATS_FROM: usize = 33_680;
const MBO_REPEATS_RECORDS: usize = 20;
const MBO_REPEATS_CUT: &str = "databento/esh4-glbx-mdp3-20231225.mbo.records33680-33699.dbn.zst";

fn zip_text(path: &Path) -> Vec<u8> {
    let mut archive = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    assert_eq!(archive.len(), 1, "{}", path.display());
    let mut entry = archive.by_index(0).unwrap();
    let mut text = Vec::new();
    entry.read_to_end(&mut text).unwrap();
    text
}

fn zip_entry_name(path: &Path) -> String {
    let mut archive = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let name = archive.by_index(0).unwrap().name().to_string();
    name
}

/// The first `n` records of a (compressed) DBN file, re-encoded with its metadata.
fn dbn_prefix(path: &Path, n: usize) -> Vec<u8> {
    dbn_records(path, 0, n)
}

/// Records `from..from + n` of a (compressed) DBN file, re-encoded with its metadata.
fn dbn_records(path: &Path, from: usize, n: usize) -> Vec<u8> {
    let plain = strata_codec::decompress(&std::fs::read(path).unwrap()).unwrap();
    let mut decoder = DbnDecoder::new(plain.as_slice()).unwrap();
    let metadata = decoder.metadata().clone();
    let mut out = Vec::new();
    let mut encoder = DbnEncoder::new(&mut out, &metadata).unwrap();
    for _ in 0..from {
        decoder.decode_record_ref().unwrap().unwrap();
    }
    for _ in 0..n {
        let rec = decoder.decode_record_ref().unwrap().unwrap();
        encoder.encode_record_ref(rec).unwrap();
    }
    out
}

#[test]
fn committed_cuts_are_prefixes_of_the_shared_files() {
    let Some(shared) = shared_data() else {
        eprintln!("shared data not present: nothing to compare the cuts with");
        return;
    };
    for (cut, full) in [
        (
            "lean/equity/usa/tick/spy/20131007_trade.zip",
            "lean/equity/usa/tick/spy/20131007_trade.zip",
        ),
        (
            "lean/equity/usa/tick/aig/20131009_quote.zip",
            "lean/equity/usa/tick/aig/20131009_quote.zip",
        ),
        (
            "lean/forex/fxcm/tick/eurusd/20140501_quote.zip",
            "lean/forex/fxcm/tick/eurusd/20140501_quote.zip",
        ),
    ] {
        let (cut, full) = (testdata(cut), shared.join(full));
        let (cut_text, full_text) = (zip_text(&cut), zip_text(&full));
        assert_eq!(zip_entry_name(&cut), zip_entry_name(&full));
        assert!(
            full_text.starts_with(&cut_text),
            "{} is not a prefix",
            cut.display()
        );
        assert_eq!(cut_text.iter().filter(|&&b| b == b'\n').count(), 2_000);
    }
    for same in [
        "equity/usa/minute/spy/20131007_trade.zip",
        "equity/usa/minute/spy/20131007_quote.zip",
        "equity/usa/daily/spy.zip",
    ] {
        let ours = std::fs::read(testdata(&format!("lean/{same}"))).unwrap();
        assert_eq!(
            ours,
            std::fs::read(shared.join("lean").join(same)).unwrap(),
            "{same}"
        );
    }
    for name in [
        "futures_mbp-1_2024-07-01T23-58_2024-07-02T00-02.dbn.zst",
        "futures_trades_2024-07-01T23-58_2024-07-02T00-02.dbn.zst",
        "futures_ohlcv-1m_2024-07-01T23-40_2024-07-02T00-10.dbn.zst",
    ] {
        let ours = std::fs::read(testdata(&format!("databento/{name}"))).unwrap();
        let full = shared
            .join("nautilus/databento/historical_bars_catalog/databento")
            .join(name);
        assert_eq!(ours, std::fs::read(full).unwrap(), "{name}");
    }
    let cut = strata_codec::decompress(&std::fs::read(testdata(MBO_CUT)).unwrap()).unwrap();
    assert_eq!(cut, dbn_prefix(&shared.join(MBO_FULL), MBO_CUT_RECORDS));
    let repeats =
        strata_codec::decompress(&std::fs::read(testdata(MBO_REPEATS_CUT)).unwrap()).unwrap();
    assert_eq!(
        repeats,
        dbn_records(
            &shared.join(MBO_FULL),
            MBO_REPEATS_FROM,
            MBO_REPEATS_RECORDS
        )
    );

    let capture = std::fs::read(testdata("binance/btcusdt_20240808_first3000.txt")).unwrap();
    let gz = strata_codec::decompress(
        &std::fs::read(testdata("binance/btcusdt_20240808_first3000.txt.gz")).unwrap(),
    )
    .unwrap();
    assert_eq!(gz, capture);
    let full = strata_codec::decompress(
        &std::fs::read(shared.join("hftbacktest/usdm/btcusdt_20240808.gz")).unwrap(),
    )
    .unwrap();
    assert!(full.starts_with(&capture));
}

#[test]
#[ignore = "rewrites testdata/databento/…mbo.*.dbn.zst from the shared data"]
fn regenerate_the_mbo_cuts() {
    let shared = shared_data().expect("the shared data set");
    for (name, from, n) in [
        (MBO_CUT, 0, MBO_CUT_RECORDS),
        (MBO_REPEATS_CUT, MBO_REPEATS_FROM, MBO_REPEATS_RECORDS),
    ] {
        let plain = dbn_records(&shared.join(MBO_FULL), from, n);
        let packed = strata_codec::compress("zstd:19".parse().unwrap(), &plain).unwrap();
        std::fs::write(testdata(name), &packed).unwrap();
        eprintln!(
            "wrote {name} ({} bytes, {} plain)",
            packed.len(),
            plain.len()
        );
    }
}
