//! The benchmark inputs: real datasets read from `../shared/data`, or the committed cuts.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use chrono::NaiveDate;
use strata_import::lean::{parse_trade_row, LeanContext, LeanResolution, LeanTickType};
use strata_model::{jsonl, Event};

/// Environment variable naming the shared data directory.
pub const DATA_DIR_ENV: &str = "STRATA_DATA_DIR";

/// Lean's SPY trade ticks of 2013-10-07, relative to the data directory.
pub const LEAN_SPY_TRADES: &str = "lean/equity/usa/tick/spy/20131007_trade.zip";
/// The committed cut of [`LEAN_SPY_TRADES`], relative to `testdata/`.
pub const LEAN_SPY_TRADES_CUT: &str = "lean/spy_20131007_trade_first5000.csv";
/// The Binance BTCUSDT capture, relative to the data directory.
pub const BINANCE_CAPTURE: &str = "hftbacktest/usdm/btcusdt_20240808.gz";
/// The committed cut of [`BINANCE_CAPTURE`], relative to `testdata/`.
pub const BINANCE_CAPTURE_CUT: &str = "binance/btcusdt_20240808_first3000.txt";

/// The shared data directory: `$STRATA_DATA_DIR`, else `../shared/data` beside the workspace.
pub fn data_dir() -> PathBuf {
    match std::env::var_os(DATA_DIR_ENV) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data")),
    }
}

/// The workspace's committed fixtures, `testdata/`.
pub fn testdata_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata"))
}

/// The workspace's `target/` directory (where the codec table saves its JSON).
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target")),
    }
}

/// One benchmark input, as bytes strata would store.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// Short stable name, used in bench ids and JSON (`lean-spy-trades-jsonl`).
    pub name: &'static str,
    /// What it is, for tables.
    pub title: &'static str,
    /// The file it was read from.
    pub source: PathBuf,
    /// True when `source` is a committed cut, not the full file.
    pub is_cut: bool,
    /// Records (events or lines) in `bytes`.
    pub records: usize,
    /// The data.
    pub bytes: Vec<u8>,
}

impl Dataset {
    /// A copy holding at most `max_bytes`, cut after the last whole line that fits.
    pub fn truncated(&self, max_bytes: usize) -> Dataset {
        let bytes = cut_at_line(&self.bytes, max_bytes).to_vec();
        let records = bytes.iter().filter(|&&b| b == b'\n').count();
        Dataset {
            bytes,
            records,
            ..self.clone()
        }
    }
}

/// Both datasets: Lean SPY trades as JSONL, then the Binance capture.
pub fn all_datasets() -> Result<Vec<Dataset>> {
    Ok(vec![lean_spy_trades_jsonl()?, binance_btcusdt_capture()?])
}

/// Lean's SPY trade ticks of 2013-10-07 as strata JSONL (the full day, or the committed cut).
pub fn lean_spy_trades_jsonl() -> Result<Dataset> {
    let full = data_dir().join(LEAN_SPY_TRADES);
    let (csv, source, is_cut) = if full.is_file() {
        (read_single_zip_entry(&full)?, full, false)
    } else {
        let cut = testdata_dir().join(LEAN_SPY_TRADES_CUT);
        let csv =
            std::fs::read_to_string(&cut).with_context(|| format!("reading {}", cut.display()))?;
        (csv, cut, true)
    };
    let date = NaiveDate::from_ymd_opt(2013, 10, 7).context("valid date")?;
    let (bytes, records) = lean_trade_csv_to_jsonl(&csv, date, "SPY")
        .with_context(|| format!("converting {}", source.display()))?;
    Ok(Dataset {
        name: "lean-spy-trades-jsonl",
        title: "Lean SPY trade ticks 2013-10-07 as strata JSONL",
        source,
        is_cut,
        records,
        bytes,
    })
}

/// The Binance USDⓈ-M BTCUSDT capture of 2024-08-08, decompressed, as is.
pub fn binance_btcusdt_capture() -> Result<Dataset> {
    let full = data_dir().join(BINANCE_CAPTURE);
    let (bytes, source, is_cut) = if full.is_file() {
        let mut bytes = Vec::new();
        strata_codec::open_file(&full)?.read_all_into(&mut bytes)?;
        (bytes, full, false)
    } else {
        let cut = testdata_dir().join(BINANCE_CAPTURE_CUT);
        (
            std::fs::read(&cut).with_context(|| format!("reading {}", cut.display()))?,
            cut,
            true,
        )
    };
    let records = bytes.iter().filter(|&&b| b == b'\n').count();
    Ok(Dataset {
        name: "binance-btcusdt-capture",
        title: "Binance USDⓈ-M BTCUSDT capture 2024-08-08 (ns + websocket JSON lines)",
        source,
        is_cut,
        records,
        bytes,
    })
}

/// The text of the one file inside a Lean zip.
pub fn read_single_zip_entry(path: &Path) -> Result<String> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut archive =
        zip::ZipArchive::new(file).with_context(|| format!("reading zip {}", path.display()))?;
    if archive.len() != 1 {
        bail!(
            "{}: expected one file in the zip, found {}",
            path.display(),
            archive.len()
        );
    }
    let mut entry = archive.by_index(0)?;
    let mut text = String::with_capacity(usize::try_from(entry.size()).unwrap_or(0));
    entry
        .read_to_string(&mut text)
        .with_context(|| format!("reading {}", path.display()))?;
    Ok(text)
}

/// Converts a Lean trade-tick CSV of one day to strata JSONL; returns the bytes and the number of
/// events.
///
/// Rows are parsed by `strata-import`'s Lean parser ([`strata_import::lean::parse_trade_row`]);
/// the events keep this loader's historical form (no sequence number), so the JSONL bytes the
/// codec measurements ran on do not change.
pub fn lean_trade_csv_to_jsonl(
    csv: &str,
    date: NaiveDate,
    symbol: &str,
) -> Result<(Vec<u8>, usize)> {
    let ctx = LeanContext::us_equity(symbol, date, LeanResolution::Tick, LeanTickType::Trade);
    let mut out = Vec::with_capacity(csv.len() * 3);
    let mut events = 0;
    for (index, line) in csv.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let event = lean_trade_event(line, &ctx)
            .with_context(|| format!("line {}: `{line}`", index + 1))?;
        jsonl::encode_into(&event, &mut out)?;
        events += 1;
    }
    Ok((out, events))
}

/// One row through the importer's parser, without the importer's row-number sequence.
fn lean_trade_event(line: &str, ctx: &LeanContext) -> Result<Event> {
    let mut event = parse_trade_row(line.trim_end(), 0, ctx).map_err(anyhow::Error::msg)?;
    event.sequence = None;
    Ok(event)
}

/// The prefix of `bytes` of at most `max_bytes`, ending after a `\n` (all of `bytes` when it
/// fits; empty when no whole line fits).
pub fn cut_at_line(bytes: &[u8], max_bytes: usize) -> &[u8] {
    if bytes.len() <= max_bytes {
        return bytes;
    }
    match bytes[..max_bytes].iter().rposition(|&b| b == b'\n') {
        Some(end) => &bytes[..=end],
        None => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SPY trades of 2013-10-07, as Lean's tick zip for that day holds them.
    fn spy_day() -> LeanContext {
        let date = NaiveDate::from_ymd_opt(2013, 10, 7).unwrap();
        LeanContext::us_equity("SPY", date, LeanResolution::Tick, LeanTickType::Trade)
    }

    #[test]
    fn lean_row_becomes_an_exact_trade_in_utc() {
        let event = lean_trade_event("14400464,1674100,100,P,20002000,0", &spy_day()).unwrap();
        // 04:00:00.464 EDT (UTC-4) is 08:00:00.464 UTC.
        assert_eq!(event.event_time.as_nanos(), 1_381_132_800_464_000_000);
        assert_eq!(event.venue.as_deref(), Some("P"));
        let trade = event.payload.trade().unwrap();
        assert_eq!(trade.price.to_string(), "167.4100");
        assert_eq!(trade.size.to_string(), "100");
        assert_eq!(trade.conditions.as_deref(), Some("20002000"));

        let line = jsonl::encode_line(&event).unwrap();
        assert!(line.ends_with(b"\n"));
        assert_eq!(jsonl::decode_line(&line).unwrap(), event);
    }

    #[test]
    fn bad_rows_are_errors() {
        for bad in [
            "",
            "abc,1,1,P,0,0",
            "1,1.5,1,P,0,0",
            "1,100",
            "1,100,x,P,0,0",
        ] {
            assert!(lean_trade_event(bad, &spy_day()).is_err(), "{bad}");
        }
    }

    #[test]
    fn committed_cuts_load() {
        let csv = std::fs::read_to_string(testdata_dir().join(LEAN_SPY_TRADES_CUT)).unwrap();
        let date = NaiveDate::from_ymd_opt(2013, 10, 7).unwrap();
        let (jsonl_bytes, events) = lean_trade_csv_to_jsonl(&csv, date, "SPY").unwrap();
        assert_eq!(events, 5_000);
        assert_eq!(jsonl_bytes.iter().filter(|&&b| b == b'\n').count(), 5_000);

        let capture = std::fs::read(testdata_dir().join(BINANCE_CAPTURE_CUT)).unwrap();
        assert_eq!(capture.iter().filter(|&&b| b == b'\n').count(), 3_000);
        assert!(capture.starts_with(b"1723161255030314667 {\"stream\":\"btcusdt@depth@0ms\""));
    }

    #[test]
    fn datasets_load_from_full_data_or_cuts() {
        for dataset in all_datasets().unwrap() {
            assert!(dataset.records > 0, "{}", dataset.name);
            assert!(dataset.bytes.ends_with(b"\n"), "{}", dataset.name);
            let small = dataset.truncated(10_000);
            assert!(small.bytes.len() <= 10_000 && small.bytes.ends_with(b"\n"));
            assert_eq!(
                small.records,
                small.bytes.iter().filter(|&&b| b == b'\n').count()
            );
        }
    }

    #[test]
    fn cuts_end_on_line_boundaries() {
        assert_eq!(cut_at_line(b"a\nbb\nccc\n", 100), b"a\nbb\nccc\n");
        assert_eq!(cut_at_line(b"a\nbb\nccc\n", 6), b"a\nbb\n");
        assert_eq!(cut_at_line(b"a\nbb\nccc\n", 5), b"a\nbb\n");
        assert_eq!(cut_at_line(b"abc", 2), b"");
    }
}
