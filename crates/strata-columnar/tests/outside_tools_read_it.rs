#![allow(clippy::unwrap_used, clippy::expect_used)]
//! DuckDB and pyarrow read strata's Parquet files as they are (TIER-6, MODEL-2): every price
//! and size is a DECIMAL (never a float), times are timestamps, and the counts and exact sums
//! they compute equal strata's. The files hold real data (the committed cuts of the Lean SPY
//! trades, AIG quotes and SPY daily bars, the Binance capture and the Databento MBO file) and every other kind, with mixed
//! scales, absent values and book levels. DuckDB and pyarrow are installed by `.ci/run`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use strata_columnar::{jsonl_to_parquet, read_events, ParquetOptions};
use strata_import::{import_file, Format, ImportOptions, Record};
use strata_model::strategy::event_of;
use strata_model::{jsonl, Decimal, Event, EventKind};

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata")
}

fn real_events() -> Vec<Event> {
    let mut events = Vec::new();
    for (path, format) in [
        ("lean/equity/usa/tick/spy/20131007_trade.zip", Format::Lean),
        ("lean/equity/usa/tick/aig/20131009_quote.zip", Format::Lean),
        ("lean/equity/usa/daily/spy.zip", Format::Lean),
        ("binance/btcusdt_20240808_first3000.txt", Format::Binance),
        (
            "databento/esh4-glbx-mdp3-20231225.mbo.first2000.dbn.zst",
            Format::Dbn,
        ),
    ] {
        let options = ImportOptions::default();
        for record in import_file(&testdata().join(path), format, &options).unwrap() {
            if let Record::Event(e) = record {
                events.push(e);
            }
        }
    }
    events
}

/// A few hundred events of every kind, from the property-test strategies (hostile strings,
/// mixed scales, 38-digit values, absent fields).
fn generated_events() -> Vec<Event> {
    use proptest::strategy::{Strategy, ValueTree};
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let mut events: Vec<Event> = Vec::new();
    for &kind in EventKind::ALL {
        while events.iter().filter(|e| e.kind() == kind).count() < 60 {
            let e = event_of(kind).new_tree(&mut runner).unwrap().current();
            // Sums of 38-digit values overflow every tool's DECIMAL(38): those are checked by
            // the round-trip tests, and by the two 30-digit trades below.
            let mut narrow = true;
            strata_columnar::columns::visit_decimals(&e.payload, |_, d| {
                narrow &= d.is_none_or(|d| d.mantissa().unsigned_abs() < 10u128.pow(18));
            });
            if narrow {
                events.push(e);
            }
        }
    }
    for price in ["12345678901234567890123456.7890", "-0.0001"] {
        let mut e = events
            .iter()
            .find(|e| e.kind() == EventKind::Trade)
            .unwrap()
            .clone();
        if let strata_model::Payload::Trade(t) = &mut e.payload {
            t.price = price.parse().unwrap();
        }
        events.push(e);
    }
    events
}

/// Exact sums of each decimal column, as strata computes them, with the names the script uses.
fn strata_sums(events: &[Event]) -> BTreeMap<String, Decimal> {
    let mut sums = BTreeMap::new();
    let kind = events[0].kind();
    for e in events {
        strata_columnar::columns::visit_decimals(&e.payload, |slot, value| {
            if let Some(d) = value {
                let name = strata_columnar::columns::decimal_columns(kind)[slot].to_string();
                let sum = sums.entry(name).or_insert(Decimal::ZERO);
                *sum = sum.checked_add(d).expect("sums of test data fit");
            }
        });
    }
    sums
}

#[test]
fn duckdb_and_pyarrow_read_strata_parquet_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let mut input = Vec::new();
    for e in real_events().iter().chain(&generated_events()) {
        jsonl::encode_into(e, &mut input).unwrap();
    }
    let files = jsonl_to_parquet("input.jsonl", &input, &ParquetOptions::default()).unwrap();
    assert_eq!(files.len(), EventKind::ALL.len(), "a file per kind");
    let mut expected = BTreeMap::new();
    for file in &files {
        let name = format!("{}.parquet", file.summary.meta.kind);
        std::fs::write(dir.path().join(&name), &file.bytes).unwrap();
        let (_, events) = read_events(bytes::Bytes::from(file.bytes.clone())).unwrap();
        expected.insert(
            name,
            (
                events.len() as u64,
                strata_sums(&events),
                file.summary.clone(),
            ),
        );
    }

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/outside_tools.py");
    let python = std::env::var("STRATA_PYTHON").unwrap_or_else(|_| "python3".into());
    let output = Command::new(&python)
        .arg(&script)
        .arg(dir.path())
        .output()
        .unwrap_or_else(|e| panic!("{python} does not run ({e}); set STRATA_PYTHON"));
    assert!(
        output.status.success(),
        "{} failed (DuckDB and pyarrow are installed by .ci/run: pip install duckdb==2.0.1 pyarrow==26.0.1): {}",
        script.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let mut seen = 0;
    for line in String::from_utf8(output.stdout).unwrap().lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let file = v["file"].as_str().unwrap();
        let tool = v["tool"].as_str().unwrap();
        let (rows, sums, summary) = &expected[file];
        assert_eq!(v["rows"].as_u64(), Some(*rows), "{tool} {file} rows");
        let types = v["types"].as_object().unwrap();
        for (column, storage) in &summary.decimals {
            if *storage == strata_columnar::DecimalStorage::Text || column.contains('.') {
                continue;
            }
            let ty = types[*column].as_str().unwrap().to_lowercase();
            assert!(
                ty.starts_with("decimal"),
                "{tool} {file}: `{column}` is {ty}, not a decimal"
            );
        }
        for column in ["ts", "recv_ts"] {
            let ty = types[column].as_str().unwrap().to_lowercase();
            assert!(
                ty.contains("timestamp"),
                "{tool} {file}: `{column}` is {ty}"
            );
        }
        for (column, sum) in sums {
            let storage = summary
                .decimals
                .iter()
                .find(|(c, _)| *c == column.as_str())
                .map(|(_, s)| *s)
                .unwrap();
            if storage == strata_columnar::DecimalStorage::Text {
                continue; // text columns are exact but not numeric: nothing to sum
            }
            let theirs: Decimal = v["sums"][column]
                .as_str()
                .unwrap_or_else(|| panic!("{tool} {file}: no sum of `{column}`: {line}"))
                .parse()
                .unwrap();
            assert!(
                theirs.eq_value(*sum),
                "{tool} {file}: sum of `{column}` is {theirs}, strata's is {sum}"
            );
        }
        seen += 1;
    }
    assert_eq!(seen, 2 * files.len(), "both tools read every file");
}
