//! Every QuantConnect Lean data file that Lean's layout defines — security type × resolution ×
//! file kind (trade, quote, open interest) — written here in Lean's own layout and imported.
//!
//! What Lean defines, and how it names and fills each file, is taken from Lean itself:
//!
//! - **Which combinations.** Forex and CFDs are quote data only (`Data/forex/readme.md`,
//!   `Data/cfd/readme.md`); open interest exists for futures and options only
//!   (`Data/future/readme.md`, `Data/option/readme.md`); indices are trade data only
//!   (`LeanData.GenerateLine` writes only trade ticks and trade bars for them); US equities have
//!   hour and daily *trade* bars only (`Data/equity/readme.md`, `LeanData.IsValidConfiguration`).
//!   Every type has all five resolutions (`LeanData.GenerateLine`).
//! - **Paths and entry names.** `LeanData.GenerateRelativeZipFileDirectory`,
//!   `GenerateZipFileName` and `GenerateZipEntryName`: e.g. `equity/usa/tick/spy/…_trade.zip`
//!   holding `20240102_spy_Trade_Tick.csv`, `crypto/coinbase/daily/btcusd_quote.zip` holding
//!   `btcusd.csv`, `option/usa/daily/aapl_2024_openinterest_american.zip` holding one CSV per
//!   contract, `futureoption/cme/hour/es/20240315/es_2024_quote_american.zip`, and crypto
//!   perpetuals tagged `_perp` (`…_minute_trade_perp.csv`).
//! - **Columns.** What `LeanData.GenerateLine` writes and the readers (`Tick`, `TradeBar`,
//!   `QuoteBar`, `OpenInterest`) parse: prices ×10,000 for equities, equity options and index
//!   options (`Scale`, `LeanData.OptionUseScaleFactor`), plain decimals written normalized (no
//!   trailing zeros) otherwise; quote bars are `time, bid OHLC, bid size, ask OHLC, ask size` for
//!   every type, forex and CFDs included (`QuoteBar.ParseQuote` reads both sizes).
//!
//! Each file gets 2–3 rows per CSV (two contracts per zip for futures and options); the import
//! must reject nothing, yield one event of the expected kind per row, in order, with the time
//! (bars at their end, in the data's time zone) and every price and size the row holds. The
//! combinations strata does not read completely today are listed in [`KNOWN_GAPS`] with what
//! goes wrong: the matrix test asserts that they still fail that way (so a fix is noticed) and
//! that everything else passes. Run with `--nocapture` to see the matrix as markdown.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use chrono::{Days, NaiveDate, NaiveDateTime, TimeDelta, TimeZone};
use chrono_tz::Tz;
use strata_import::lean::{LeanResolution as Res, LeanSecurityType as Ty, LeanTickType as Kind};
use strata_import::{import_file, Format, ImportOptions};
use strata_model::{Contract, Event, EventKind, OptionRight, OptionStyle, Payload, Timestamp};

use common::collect;

const TYPES: [Ty; 10] = [
    Ty::Equity,
    Ty::Forex,
    Ty::Cfd,
    Ty::Crypto,
    Ty::Future,
    Ty::Option,
    Ty::Index,
    Ty::CryptoFuture,
    Ty::IndexOption,
    Ty::FutureOption,
];
const RESOLUTIONS: [Res; 5] = [Res::Tick, Res::Second, Res::Minute, Res::Hour, Res::Daily];
const KINDS: [Kind; 3] = [Kind::Trade, Kind::Quote, Kind::OpenInterest];

/// The trading date of every file (a Tuesday in winter: New York is UTC-5, Chicago UTC-6).
const DATE: &str = "20240102";

/// Combinations Lean defines that strata does not read completely today: (type, resolutions,
/// kind, a piece of the failure the matrix test expects). Remove an entry when it is fixed.
const KNOWN_GAPS: &[(Ty, &[Res], Kind, &str)] = &[
    // None left. Fixed with this test: forex and CFD quote bars are read with their sizes
    // (11 columns; strata read 9 and kept the ask low as the ask price, silently), and crypto
    // perpetuals' entries tagged `perp` import under the plain symbol (strata refused them).
];

/// True when Lean's data layout has files of `kind` for `ty` at `res`.
fn lean_defines(ty: Ty, res: Res, kind: Kind) -> bool {
    match kind {
        Kind::Trade => !matches!(ty, Ty::Forex | Ty::Cfd),
        Kind::Quote => match ty {
            Ty::Index => false,
            Ty::Equity => !matches!(res, Res::Hour | Res::Daily),
            _ => true,
        },
        Kind::OpenInterest => matches!(
            ty,
            Ty::Future | Ty::Option | Ty::IndexOption | Ty::FutureOption
        ),
    }
}

fn known_gap(ty: Ty, res: Res, kind: Kind) -> Option<&'static str> {
    KNOWN_GAPS
        .iter()
        .find(|(t, r, k, _)| *t == ty && r.contains(&res) && *k == kind)
        .map(|(_, _, _, needle)| *needle)
}

/// How Lean stores one security type here.
struct Spec {
    market: &'static str,
    /// The ticker in paths and entry names (the underlying, or the option ticker, for options).
    ticker: &'static str,
    /// The data time zone (Lean's market-hours database `dataTimeZone`).
    tz: Tz,
    /// Prices are integers ×10,000.
    scaled: bool,
    /// The exchange column of tick rows, for the types whose tick rows have one.
    exchange: Option<&'static str>,
    /// The zip name's option style (`_american`), for options.
    style: &'static str,
}

fn spec(ty: Ty) -> Spec {
    use chrono_tz::America::{Chicago, New_York};
    use chrono_tz::UTC;
    let s = |market, ticker, tz, scaled, exchange, style| Spec {
        market,
        ticker,
        tz,
        scaled,
        exchange,
        style,
    };
    match ty {
        Ty::Equity => s("usa", "spy", New_York, true, Some("P"), ""),
        // Oanda's data is in UTC (`Data/forex/readme.md`).
        Ty::Forex => s("oanda", "eurusd", UTC, false, None, ""),
        Ty::Cfd => s("oanda", "xauusd", UTC, false, None, ""),
        Ty::Crypto => s("coinbase", "btcusd", UTC, false, None, ""),
        Ty::Future => s("cme", "es", UTC, false, Some("CME"), ""),
        Ty::Option => s("usa", "aapl", New_York, true, Some("C"), "_american"),
        Ty::Index => s("usa", "spx", Chicago, false, None, ""),
        Ty::CryptoFuture => s("binance", "btcusdt", UTC, false, None, ""),
        Ty::IndexOption => s("usa", "spxw", New_York, true, Some("C"), "_european"),
        Ty::FutureOption => s("cme", "es", UTC, false, Some("CME"), "_american"),
    }
}

fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y%m%d").unwrap()
}

/// The CSVs of one zip: the part of the entry name after the tick type (`_202403_20240315`,
/// `_american_call_1900000_20240119`, `_perp`, or nothing), the contract strata should describe,
/// and the symbol its events should carry.
fn contracts(ty: Ty) -> Vec<(&'static str, Option<Contract>, String)> {
    let future = |root: &str, expiry| Contract::future(root, date(expiry));
    let option = |underlying: String, right, strike: &str, style| {
        Contract::option(
            underlying,
            date("20240119"),
            right,
            strike.parse().unwrap(),
            Some(style),
        )
    };
    let with_symbol = |tag, c: Contract| (tag, Some(c.clone()), c.symbol());
    match ty {
        Ty::Future => vec![
            with_symbol("_202403_20240315", future("ES", "20240315")),
            with_symbol("_202406_20240621", future("ES", "20240621")),
        ],
        Ty::Option => vec![
            with_symbol(
                "_american_call_1900000_20240119",
                option(
                    "AAPL".into(),
                    OptionRight::Call,
                    "190",
                    OptionStyle::American,
                ),
            ),
            with_symbol(
                "_american_put_1855000_20240119",
                option(
                    "AAPL".into(),
                    OptionRight::Put,
                    "185.5",
                    OptionStyle::American,
                ),
            ),
        ],
        Ty::IndexOption => vec![
            with_symbol(
                "_european_call_47000000_20240119",
                option(
                    "SPXW".into(),
                    OptionRight::Call,
                    "4700",
                    OptionStyle::European,
                ),
            ),
            with_symbol(
                "_european_put_46500000_20240119",
                option(
                    "SPXW".into(),
                    OptionRight::Put,
                    "4650",
                    OptionStyle::European,
                ),
            ),
        ],
        Ty::FutureOption => {
            let es = future("ES", "20240315").symbol();
            vec![
                with_symbol(
                    "_american_call_47000000_20240119",
                    option(es.clone(), OptionRight::Call, "4700", OptionStyle::American),
                ),
                with_symbol(
                    "_american_put_46500000_20240119",
                    option(es, OptionRight::Put, "4650", OptionStyle::American),
                ),
            ]
        }
        Ty::CryptoFuture => vec![("_perp", None, "BTCUSDT".into())],
        _ => vec![("", None, spec(ty).ticker.to_ascii_uppercase())],
    }
}

fn is_hour_or_daily(res: Res) -> bool {
    matches!(res, Res::Hour | Res::Daily)
}

/// The zip's path under the data folder (`LeanData.GenerateRelativeZipFilePath`).
fn zip_path(ty: Ty, res: Res, kind: Kind) -> String {
    let Spec {
        market,
        ticker: t,
        style,
        ..
    } = spec(ty);
    let dir = format!("{ty}/{market}/{res}");
    let year = &DATE[..4];
    if is_hour_or_daily(res) {
        match ty {
            Ty::Equity | Ty::Index | Ty::Forex | Ty::Cfd => format!("{dir}/{t}.zip"),
            Ty::Crypto | Ty::Future | Ty::CryptoFuture => format!("{dir}/{t}_{kind}.zip"),
            Ty::Option | Ty::IndexOption => format!("{dir}/{t}_{year}_{kind}{style}.zip"),
            // The underlying future's expiry is a folder at every resolution.
            Ty::FutureOption => format!("{dir}/{t}/20240315/{t}_{year}_{kind}{style}.zip"),
        }
    } else {
        let folder = match ty {
            Ty::FutureOption => format!("{t}/20240315"),
            _ => t.to_string(),
        };
        format!("{dir}/{folder}/{DATE}_{kind}{style}.zip")
    }
}

/// A CSV's name inside the zip (`LeanData.GenerateZipEntryName`).
fn entry_name(ty: Ty, res: Res, kind: Kind, tag: &str) -> String {
    let t = spec(ty).ticker;
    let single = matches!(
        ty,
        Ty::Equity | Ty::Index | Ty::Forex | Ty::Cfd | Ty::Crypto
    );
    if ty == Ty::Equity && res == Res::Tick {
        // `{date}_{symbol}_{tickType}_{resolution}.csv` with the enum names as .NET prints them.
        let kind = match kind {
            Kind::Trade => "Trade",
            _ => "Quote",
        };
        return format!("{DATE}_{t}_{kind}_Tick.csv");
    }
    match (is_hour_or_daily(res), single) {
        (true, true) => format!("{t}.csv"),
        (true, false) => format!("{t}_{kind}{tag}.csv"),
        (false, true) => format!("{DATE}_{t}_{res}_{kind}.csv"),
        (false, false) => format!("{DATE}_{t}_{res}_{kind}{tag}.csv"),
    }
}

/// What one row must become.
#[derive(Debug, Clone, PartialEq)]
enum Want {
    Trade {
        price: String,
        size: String,
        /// `None`: not checked (the row has no exchange column).
        venue: Option<Option<String>>,
    },
    Bar {
        interval_s: u32,
        ohlcv: [String; 5],
    },
    /// (price, size) of each side.
    Quote {
        bid: (String, String),
        ask: (String, String),
    },
    OpenInterest(String),
}

/// A price in cents, as Lean writes it (raw) and as strata must give it back.
fn price(spec: &Spec, cents: i64) -> (String, String) {
    let (whole, frac) = (cents / 100, cents % 100);
    if spec.scaled {
        ((cents * 100).to_string(), format!("{whole}.{frac:02}00"))
    } else {
        // Lean's `ToCsv` normalizes decimals: 101.50 is written `101.5`.
        let text = format!("{whole}.{frac:02}");
        let text = text.trim_end_matches('0').trim_end_matches('.').to_string();
        (text.clone(), text)
    }
}

/// A size: whole shares/contracts for the scaled types, a decimal quantity otherwise.
fn size(spec: &Spec, n: i64) -> String {
    if spec.scaled {
        (100 * n).to_string()
    } else {
        format!("{n}.5")
    }
}

/// The rows of one CSV: (text, expected event time, expected payload).
fn rows(
    ty: Ty,
    res: Res,
    kind: Kind,
    entry_index: i64,
    count: i64,
) -> Vec<(String, Timestamp, Want)> {
    let spec = spec(ty);
    let day = date(DATE);
    let midnight = day.and_hms_opt(0, 0, 0).unwrap();
    let utc = |local: NaiveDateTime| {
        Timestamp::from_datetime(&spec.tz.from_local_datetime(&local).single().unwrap()).unwrap()
    };
    (0..count)
        .map(|i| {
            // The row's time (bar start) as written, and as a local wall-clock time.
            let (time, local) = match res {
                Res::Tick | Res::Second | Res::Minute => {
                    let step = match res {
                        Res::Tick => 250,
                        Res::Second => 1_000,
                        _ => 60_000,
                    };
                    let ms = 34_200_000 + step * i; // 09:30 local
                    (ms.to_string(), midnight + TimeDelta::milliseconds(ms))
                }
                Res::Hour => {
                    let local = midnight + TimeDelta::hours(10 + i);
                    (local.format("%Y%m%d %H:%M").to_string(), local)
                }
                Res::Daily => {
                    let local = midnight + TimeDelta::days(i);
                    (local.format("%Y%m%d %H:%M").to_string(), local)
                }
            };
            // Bars are stamped at their end: a daily bar at the next local midnight.
            let end = match res {
                Res::Tick => local,
                Res::Second => local + TimeDelta::seconds(1),
                Res::Minute => local + TimeDelta::minutes(1),
                Res::Hour => local + TimeDelta::hours(1),
                Res::Daily => local.checked_add_days(Days::new(1)).unwrap(),
            };
            let base = 10_125 + 100 * i + 1_000 * entry_index;
            let p = |offset| price(&spec, base + offset);
            let n = 1 + i + 10 * entry_index;
            let (text, at, want) = match (res, kind) {
                (_, Kind::OpenInterest) => {
                    let value = (5_000 + n).to_string();
                    (
                        format!("{time},{value}"),
                        utc(local),
                        Want::OpenInterest(value),
                    )
                }
                (Res::Tick, Kind::Trade) => {
                    let ((raw, price), size) = (p(0), size(&spec, n));
                    let rest = match ty {
                        Ty::Crypto | Ty::CryptoFuture => "0".to_string(),
                        // Lean writes an index tick's exchange and sale condition empty.
                        Ty::Index => ",,0".to_string(),
                        _ => format!("{},1,0", spec.exchange.unwrap()),
                    };
                    let venue = spec.exchange.map(|e| Some(e.to_string()));
                    let want = Want::Trade {
                        price,
                        size: size.clone(),
                        venue,
                    };
                    (format!("{time},{raw},{size},{rest}"), utc(local), want)
                }
                (Res::Tick, Kind::Quote) => {
                    let ((bid_raw, bid), (ask_raw, ask)) = (p(0), p(5));
                    let (bid_size, ask_size) = (size(&spec, n), size(&spec, n + 1));
                    let text = match ty {
                        Ty::Forex | Ty::Cfd => format!("{time},{bid_raw},{ask_raw}"),
                        _ => {
                            let rest = match (ty, spec.exchange) {
                                // Equities: exchange, quote condition, suspicious.
                                (Ty::Equity, Some(e)) => format!(",{e},1,0"),
                                // Futures and options: exchange, suspicious.
                                (_, Some(e)) => format!(",{e},0"),
                                // Crypto: suspicious.
                                (_, None) => ",0".to_string(),
                            };
                            format!("{time},{bid_raw},{bid_size},{ask_raw},{ask_size}{rest}")
                        }
                    };
                    // Forex and CFD ticks publish no sizes: strata stores 0.
                    let (bid_size, ask_size) = match ty {
                        Ty::Forex | Ty::Cfd => ("0".to_string(), "0".to_string()),
                        _ => (bid_size, ask_size),
                    };
                    let want = Want::Quote {
                        bid: (bid, bid_size),
                        ask: (ask, ask_size),
                    };
                    (text, utc(local), want)
                }
                (_, Kind::Trade) => {
                    let [o, h, l, c] = [p(0), p(50), p(-30), p(20)];
                    let volume = if spec.scaled {
                        (1_000 * n).to_string()
                    } else {
                        format!("{n}2.5")
                    };
                    let text = format!("{time},{},{},{},{},{volume}", o.0, h.0, l.0, c.0);
                    let want = Want::Bar {
                        interval_s: res.interval_s().unwrap(),
                        ohlcv: [o.1, h.1, l.1, c.1, volume],
                    };
                    (text, utc(end), want)
                }
                (_, Kind::Quote) => {
                    let bid = [p(0), p(10), p(-10), p(5)];
                    // The ask's low differs from its close, so a column shift shows.
                    let ask = [p(15), p(35), p(12), p(25)];
                    let (bid_size, ask_size) = (size(&spec, n), size(&spec, n + 1));
                    let text = format!(
                        "{time},{},{},{},{},{bid_size},{},{},{},{},{ask_size}",
                        bid[0].0,
                        bid[1].0,
                        bid[2].0,
                        bid[3].0,
                        ask[0].0,
                        ask[1].0,
                        ask[2].0,
                        ask[3].0
                    );
                    let want = Want::Quote {
                        bid: (bid[3].1.clone(), bid_size),
                        ask: (ask[3].1.clone(), ask_size),
                    };
                    (text, utc(end), want)
                }
            };
            (text, at, want)
        })
        .collect()
}

/// What an event holds, in the terms of [`Want`].
fn got(event: &Event, like: &Want) -> Want {
    let level = |l: Option<strata_model::Level>| {
        l.map_or_else(
            || ("(absent)".to_string(), "(absent)".to_string()),
            |l| (l.price.to_string(), l.size.to_string()),
        )
    };
    match &event.payload {
        Payload::Trade(t) => Want::Trade {
            price: t.price.to_string(),
            size: t.size.to_string(),
            venue: match like {
                Want::Trade { venue: None, .. } => None,
                _ => Some(event.venue.clone()),
            },
        },
        Payload::Bar(b) => Want::Bar {
            interval_s: b.interval_s,
            ohlcv: [b.open, b.high, b.low, b.close, b.volume].map(|d| d.to_string()),
        },
        Payload::BboQuote(q) => Want::Quote {
            bid: level(q.bid),
            ask: level(q.ask),
        },
        Payload::OpenInterest(v) => Want::OpenInterest(v.value.to_string()),
        other => panic!("unexpected payload {other:?}"),
    }
}

/// The differences between what a row should have become and what it became.
fn differences(want: &Want, got: &Want) -> Vec<String> {
    let side = |name: &str, w: &(String, String), g: &(String, String)| {
        (w != g).then(|| {
            format!(
                "{name}: expected `{} x {}`, got `{} x {}`",
                w.0, w.1, g.0, g.1
            )
        })
    };
    match (want, got) {
        (Want::Quote { bid, ask }, Want::Quote { bid: gb, ask: ga }) => {
            [side("bid", bid, gb), side("ask", ask, ga)]
                .into_iter()
                .flatten()
                .collect()
        }
        _ if want != got => vec![format!("expected {want:?}, got {got:?}")],
        _ => Vec::new(),
    }
}

/// One combination, imported.
struct Outcome {
    ty: Ty,
    res: Res,
    kind: Kind,
    file: String,
    result: Result<usize, String>,
}

/// Writes the combination's zip under `dir`, imports it and checks every row.
fn run(dir: &Path, ty: Ty, res: Res, kind: Kind) -> Outcome {
    let rel = zip_path(ty, res, kind);
    let path: PathBuf = dir.join(&rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let per_entry = contracts(ty);
    let count = if per_entry.len() > 1 { 2 } else { 3 };
    let mut writer = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    // (entry name, symbol, rows) in file order.
    let mut expected = Vec::new();
    for (index, (tag, _, symbol)) in per_entry.iter().enumerate() {
        let name = entry_name(ty, res, kind, tag);
        let rows = rows(ty, res, kind, index as i64, count);
        let text: Vec<&str> = rows.iter().map(|(t, _, _)| t.as_str()).collect();
        writer
            .start_file(name.as_str(), zip::write::SimpleFileOptions::default())
            .unwrap();
        writer.write_all(text.join("\r\n").as_bytes()).unwrap();
        writer.write_all(b"\r\n").unwrap();
        expected.push((name, symbol.clone(), rows));
    }
    writer.finish().unwrap();
    let file = format!(
        "`{rel}` ∋ {}",
        expected
            .iter()
            .map(|(name, _, _)| format!("`{name}`"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let result = check(dir, &path, res, kind, &per_entry, &expected);
    Outcome {
        ty,
        res,
        kind,
        file,
        result,
    }
}

type Expected = Vec<(String, String, Vec<(String, Timestamp, Want)>)>;

fn check(
    dir: &Path,
    path: &Path,
    res: Res,
    kind: Kind,
    per_entry: &[(&str, Option<Contract>, String)],
    expected: &Expected,
) -> Result<usize, String> {
    let records = import_file(path, Format::Lean, &ImportOptions::default())
        .map_err(|e| format!("import_file failed: {e}"))?;
    let imported = collect(records);
    let prefix = format!("{}/", dir.display());
    if let Some(r) = imported.rejected.first() {
        return Err(format!(
            "{} rejected; first: {} line {}: {}",
            imported.rejected.len(),
            r.file.strip_prefix(&prefix).unwrap_or(&r.file),
            r.line,
            r.reason
        ));
    }
    let rows: usize = expected.iter().map(|(_, _, rows)| rows.len()).sum();
    if imported.events.len() != rows {
        return Err(format!("{rows} rows gave {} events", imported.events.len()));
    }
    let want_kind = match (res, kind) {
        (_, Kind::OpenInterest) => EventKind::OpenInterest,
        (_, Kind::Quote) => EventKind::BboQuote,
        (Res::Tick, Kind::Trade) => EventKind::Trade,
        (_, Kind::Trade) => EventKind::Bar,
    };
    let wanted_contracts: Vec<(String, Contract)> = per_entry
        .iter()
        .filter_map(|(_, c, s)| c.clone().map(|c| (s.clone(), c)))
        .collect();
    let got_contracts: Vec<(String, Contract)> = imported
        .summary
        .instruments
        .values()
        .map(|i| (i.symbol.clone(), i.contract.clone().unwrap()))
        .collect();
    if got_contracts != wanted_contracts {
        return Err(format!(
            "instruments: expected {wanted_contracts:?}, got {got_contracts:?}"
        ));
    }
    let flat = expected.iter().flat_map(|(name, symbol, rows)| {
        rows.iter()
            .enumerate()
            .map(move |(i, row)| (name, symbol, i + 1, row))
    });
    for (event, (entry, symbol, line, (_, at, want))) in imported.events.iter().zip(flat) {
        let mut problems = Vec::new();
        if event.kind() != want_kind {
            problems.push(format!("kind: expected {want_kind}, got {}", event.kind()));
        } else {
            problems.extend(differences(want, &got(event, want)));
        }
        if &event.symbol != symbol {
            problems.push(format!("symbol: expected {symbol}, got {}", event.symbol));
        }
        if event.event_time != *at {
            problems.push(format!("time: expected {at}, got {}", event.event_time));
        }
        if event.sequence != Some(line as u64) {
            problems.push(format!("sequence: {:?}", event.sequence));
        }
        if !problems.is_empty() {
            return Err(format!("{entry} line {line}: {}", problems.join("; ")));
        }
    }
    Ok(rows)
}

/// Every combination Lean defines, imported (in `TYPES` × `KINDS` × `RESOLUTIONS` order).
fn run_matrix() -> Vec<Outcome> {
    let dir = tempfile::tempdir().unwrap();
    let mut outcomes = Vec::new();
    for ty in TYPES {
        for kind in KINDS {
            for res in RESOLUTIONS {
                if lean_defines(ty, res, kind) {
                    outcomes.push(run(dir.path(), ty, res, kind));
                }
            }
        }
    }
    outcomes
}

/// The outcome as a markdown matrix (types × kinds by resolution) and the failures' errors.
fn markdown(outcomes: &[Outcome]) -> String {
    let mut out = String::new();
    writeln!(
        out,
        "| security type | file kind | tick | second | minute | hour | daily |"
    )
    .unwrap();
    writeln!(out, "|---|---|---|---|---|---|---|").unwrap();
    for ty in TYPES {
        for kind in KINDS {
            if !RESOLUTIONS.iter().any(|&r| lean_defines(ty, r, kind)) {
                continue;
            }
            let cells: Vec<&str> = RESOLUTIONS
                .iter()
                .map(|&res| {
                    match outcomes
                        .iter()
                        .find(|o| (o.ty, o.res, o.kind) == (ty, res, kind))
                    {
                        None => "— (not in Lean)",
                        Some(Outcome { result: Ok(_), .. }) => "✅",
                        Some(_) => "❌",
                    }
                })
                .collect();
            writeln!(out, "| {ty} | {kind} | {} |", cells.join(" | ")).unwrap();
        }
    }
    let failed: Vec<&Outcome> = outcomes.iter().filter(|o| o.result.is_err()).collect();
    writeln!(
        out,
        "\n{} combinations, {} pass, {} fail.",
        outcomes.len(),
        outcomes.len() - failed.len(),
        failed.len()
    )
    .unwrap();
    for o in failed {
        writeln!(
            out,
            "\n- **{} {} {}** — {}\n  - error: `{}`",
            o.ty,
            o.res,
            o.kind,
            o.file,
            o.result.as_ref().unwrap_err()
        )
        .unwrap();
    }
    out
}

#[test]
fn every_combination_lean_defines_imports_completely_except_the_known_gaps() {
    let outcomes = run_matrix();
    println!("{}", markdown(&outcomes));
    let mut problems = Vec::new();
    for o in &outcomes {
        let name = format!("{} {} {}", o.ty, o.res, o.kind);
        match (known_gap(o.ty, o.res, o.kind), &o.result) {
            (None, Ok(_)) => {}
            (None, Err(e)) => problems.push(format!("{name} ({}) fails: {e}", o.file)),
            (Some(needle), Err(e)) if e.contains(needle) => {}
            (Some(needle), Err(e)) => problems.push(format!(
                "{name}: a known gap that now fails differently (expected `{needle}`): {e}"
            )),
            (Some(_), Ok(_)) => problems.push(format!(
                "{name} now imports completely: remove it from KNOWN_GAPS"
            )),
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_matrix_is_every_type_resolution_and_kind_lean_defines() {
    let defined: Vec<(Ty, Res, Kind)> = TYPES
        .iter()
        .flat_map(|&ty| {
            RESOLUTIONS.iter().flat_map(move |&res| {
                KINDS
                    .iter()
                    .filter(move |&&kind| lean_defines(ty, res, kind))
                    .map(move |&kind| (ty, res, kind))
            })
        })
        .collect();
    let count = |ty: Ty| defined.iter().filter(|(t, _, _)| *t == ty).count();
    // Equities: trade and quote at tick/second/minute, trade only at hour/daily.
    assert_eq!(count(Ty::Equity), 8);
    // Forex, CFDs: quotes only; indices: trades only; crypto (and perpetuals): both.
    for (ty, n) in [
        (Ty::Forex, 5),
        (Ty::Cfd, 5),
        (Ty::Index, 5),
        (Ty::Crypto, 10),
        (Ty::CryptoFuture, 10),
    ] {
        assert_eq!(count(ty), n, "{ty}");
    }
    // Futures and every kind of option: trade, quote and open interest at every resolution.
    for ty in [Ty::Future, Ty::Option, Ty::IndexOption, Ty::FutureOption] {
        assert_eq!(count(ty), 15, "{ty}");
    }
    assert_eq!(defined.len(), 103);
    // Every known gap names a combination Lean defines.
    for (ty, resolutions, kind, _) in KNOWN_GAPS {
        for &res in *resolutions {
            assert!(lean_defines(*ty, res, *kind), "{ty} {res} {kind}");
        }
    }
    // The paths and entry names follow LeanData for a few well-known files.
    assert_eq!(
        zip_path(Ty::Equity, Res::Second, Kind::Trade),
        "equity/usa/second/spy/20240102_trade.zip"
    );
    assert_eq!(
        entry_name(Ty::Equity, Res::Second, Kind::Trade, ""),
        "20240102_spy_second_trade.csv"
    );
    assert_eq!(
        (
            zip_path(Ty::Equity, Res::Daily, Kind::Trade),
            entry_name(Ty::Equity, Res::Daily, Kind::Trade, "")
        ),
        ("equity/usa/daily/spy.zip".into(), "spy.csv".into())
    );
    assert_eq!(
        entry_name(Ty::Equity, Res::Tick, Kind::Quote, ""),
        "20240102_spy_Quote_Tick.csv"
    );
    assert_eq!(
        (
            zip_path(Ty::Option, Res::Daily, Kind::OpenInterest),
            entry_name(
                Ty::Option,
                Res::Daily,
                Kind::OpenInterest,
                "_american_call_1900000_20240119"
            )
        ),
        (
            "option/usa/daily/aapl_2024_openinterest_american.zip".into(),
            "aapl_openinterest_american_call_1900000_20240119.csv".into()
        )
    );
    assert_eq!(
        zip_path(Ty::FutureOption, Res::Hour, Kind::Quote),
        "futureoption/cme/hour/es/20240315/es_2024_quote_american.zip"
    );
    assert_eq!(
        (
            zip_path(Ty::CryptoFuture, Res::Minute, Kind::Trade),
            entry_name(Ty::CryptoFuture, Res::Minute, Kind::Trade, "_perp")
        ),
        (
            "cryptofuture/binance/minute/btcusdt/20240102_trade.zip".into(),
            "20240102_btcusdt_minute_trade_perp.csv".into()
        )
    );
}
