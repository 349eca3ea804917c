//! Events as QuantConnect Lean zips, in Lean's own layouts (`LeanData.GenerateZipFileName`,
//! `GenerateZipEntryName` and `GenerateLine` in Lean's source), which strata's Lean importer
//! (`strata_import::lean`) reads back to the same events.
//!
//! | events | Lean file |
//! |---|---|
//! | trades | tick trades: `<type>/<market>/tick/<sym>/<yyyymmdd>_trade.zip` |
//! | quotes (`bbo_quote`) | tick quotes (`…_quote.zip`), or quote bars at a resolution (`LeanTarget::quote_resolution`) |
//! | bars of 1 s, 1 min, 1 h or 1 day (`--bars`, or bars stored) | trade bars: `second`/`minute` files per day, `hour`/`daily` one file per symbol |
//!
//! Rows, per security type (`GenerateLine`):
//!
//! - **equity**: ticks `ms, price×10⁴, size, exchange, sale condition, suspicious`, quotes
//!   `ms, bid×10⁴, bid size, ask×10⁴, ask size, exchange, 0, 0`; bars `time, OHLC×10⁴, volume`,
//!   quote bars `time, bid OHLC×10⁴, last bid size, ask OHLC×10⁴, last ask size`;
//! - **crypto**: ticks `ms, price, quantity, suspicious`, quotes `ms, bid, bid size, ask, ask
//!   size, 0`; bars and quote bars with plain decimals;
//! - **forex, cfd**: quotes only, `ms, bid, ask`; quote bars with (zero) sizes;
//! - **index**: ticks `ms, price, quantity, , , 0`; bars with plain decimals.
//!
//! Prices and sizes are exact or an error naming the event, as is anything else a Lean file
//! would say wrongly:
//!
//! - equity prices are integers in 1/10,000 and sizes whole numbers: a price with more than
//!   four decimals, or a fractional size, cannot be written;
//! - a Lean quote tick says an unchanged side with `0,0` (the importer carries the side's last
//!   value within a file), so a side cannot go from present to absent within a day; forex and
//!   CFD quote ticks have no sizes and need both sides;
//! - a daily bar starts at local midnight in the data's time zone (bars made by `--bars 1d` are
//!   UTC days, which fit only markets whose data is in UTC);
//! - a time inside the hour repeated when clocks go back cannot be told apart on Lean's local
//!   clock;
//! - files are named after the symbol in lower case, so a symbol must be upper-case letters and
//!   digits; a venue or condition holding a comma or a line break would break the row;
//! - futures write one entry per contract, named by its contract month and expiry
//!   (`20131007_es_tick_trade_201312_20131220.csv` in `future/cme/tick/es/20131007_trade.zip`;
//!   hour and daily: `es_trade_201312_20131220.csv` in `future/cme/daily/es_trade.zip`), with
//!   plain prices and UTC times; the contract month comes from the symbol registry (learned when
//!   the contract was imported from Lean files) and a contract without one is refused; their
//!   open interest (`ms, value`; hour and daily: `yyyymmdd HH:mm, value`) goes to
//!   `…_openinterest.zip` at the quotes' resolution (tick unless `quote_resolution` says);
//! - (equity) options write one zip per underlying, day (hour and daily: year) and style, one
//!   entry per contract (`20210104_aapl_minute_trade_american_call_1400000_20210115.csv` in
//!   `option/usa/minute/aapl/20210104_trade_american.zip`; daily: `aapl_trade_american_…csv` in
//!   `option/usa/daily/aapl_2021_trade_american.zip`), prices ×10⁴ as for equities; the style
//!   comes from the symbol registry (learned at import) and a contract without one is refused;
//! - index options are written as equity options (prices ×10⁴, New York time), their files named
//!   by the option's own ticker (`indexoption/usa/tick/spxw/20210104_trade_european.zip`);
//! - options on futures (`ES-20210319-20210115-C-3700`) have plain prices in UTC and are filed
//!   under the future's root and a folder of its expiry at every resolution
//!   (`futureoption/cme/daily/es/20210319/es_2021_trade_american.zip`).
//!
//! What Lean has no column for is not written (the export's notes say so): a trade's side and
//! trade id, crypto trades' venue and conditions other than the suspicious flag, index trades'
//! venue and conditions (Lean writes them empty), quote conditions, receive times, sequence
//! numbers (the importer numbers rows), a bar's trade count and VWAP.
//!
//! Times are in the data's time zone (`LeanFile::default_time_zone`: New York for US equities,
//! UTC−5 for FXCM, UTC for crypto), as milliseconds since local midnight (a fraction for times
//! finer than a millisecond, which the importer keeps to the nanosecond) or `yyyymmdd HH:mm`
//! for hour and daily bars, which are stamped at their start (strata stamps bars at their end).
//! Rows are joined by line feeds, with none after the last (as Lean's files are).
//! Plain decimals are written as stored (`1.38720` stays `1.38720`; Lean's own writer would
//! drop the trailing zero), so that the importer gives back the same scale. The conditions
//! strata keeps as `…;suspicious` become Lean's suspicious flag again.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{Datelike, Days, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Timelike};
use chrono_tz::Tz;
use strata_import::lean::{LeanFile, LeanResolution, LeanSecurityType, LeanTickType};
use strata_model::{Decimal, Event, EventKind, Level, Payload, Timestamp};

use crate::{Error, Result};

/// Where and how events become Lean files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeanTarget {
    /// The security type (the files' first folder).
    pub security_type: LeanSecurityType,
    /// The market (`usa`, `fxcm`, `coinbase`, …).
    pub market: String,
    /// Quotes as quote bars of this resolution (`None` or tick: quote ticks).
    pub quote_resolution: Option<LeanResolution>,
}

/// One Lean zip written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeanZip {
    /// Its path under the export folder (`equity/usa/tick/spy/20131007_trade.zip`).
    pub path: String,
    /// The kind of the events it came from.
    pub kind: EventKind,
    /// Rows written.
    pub rows: u64,
    /// Events it came from (quote bars: the quotes).
    pub events: u64,
    /// The first and last event times it came from.
    pub first: Option<Timestamp>,
    /// The last.
    pub last: Option<Timestamp>,
}

/// Which zip a row goes to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct ZipKey {
    symbol: String,
    tick_type: LeanTickType,
    resolution: LeanResolution,
    /// Tick, second and minute files: their day.
    date: Option<NaiveDate>,
}

struct OpenZip {
    zip: zip::ZipWriter<std::io::BufWriter<std::fs::File>>,
    /// The file written: the zip itself, or for futures and options one contract's part of it
    /// (`<zip>.part-<symbol>`), which [`LeanWriter::finish`] puts together.
    file: String,
    info: LeanZip,
}

/// A quote bar being gathered: OHLC and last size of each side.
#[derive(Debug, Clone)]
struct QuoteBar {
    start: NaiveDateTime,
    bid: Option<([Decimal; 4], Decimal)>,
    ask: Option<([Decimal; 4], Decimal)>,
    events: u64,
    first: Timestamp,
    last: Timestamp,
}

impl QuoteBar {
    fn add(side: &mut Option<([Decimal; 4], Decimal)>, level: Option<Level>) {
        let Some(l) = level else { return };
        match side {
            None => *side = Some(([l.price; 4], l.size)),
            Some((ohlc, size)) => {
                if l.price.cmp_value(ohlc[1]).is_gt() {
                    ohlc[1] = l.price;
                }
                if l.price.cmp_value(ohlc[2]).is_lt() {
                    ohlc[2] = l.price;
                }
                ohlc[3] = l.price;
                *size = l.size;
            }
        }
    }
}

/// Writes events, in event-time order, as Lean zips under a folder.
pub struct LeanWriter {
    root: PathBuf,
    target: LeanTarget,
    /// Each symbol's data time zone (a market's may depend on the symbol: NDX).
    zones: BTreeMap<String, Tz>,
    open: BTreeMap<ZipKey, OpenZip>,
    /// The last quote sides written per symbol and day (tick quotes carry unchanged sides
    /// within a file).
    carry: BTreeMap<(String, NaiveDate), (Option<Level>, Option<Level>)>,
    bars: BTreeMap<String, QuoteBar>,
    done: Vec<LeanZip>,
    events: u64,
    line: String,
    /// Futures: each contract's month (`yyyymm`) by symbol, which Lean's entry names carry.
    months: BTreeMap<String, u32>,
    /// Options: each contract's exercise style by symbol, which Lean's file names carry.
    styles: BTreeMap<String, strata_model::OptionStyle>,
    /// Futures and options: each zip's parts, one per contract, put together at the end.
    parts: BTreeMap<String, Vec<String>>,
    /// Symbols whose names were checked ([`check_names`](Self::check_names)).
    named: std::collections::HashSet<String>,
}

impl std::fmt::Debug for LeanWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeanWriter")
            .field("root", &self.root)
            .field("target", &self.target)
            .finish()
    }
}

fn unsupported(message: String) -> Error {
    Error::Selection(message)
}

impl LeanWriter {
    /// A writer into `root` (which exists) for `target`; the security type must be one whose
    /// files strata writes and whose market's time zone it knows.
    pub fn new(root: &Path, target: LeanTarget) -> Result<Self> {
        use LeanSecurityType as T;
        if !matches!(
            target.security_type,
            T::Equity
                | T::Crypto
                | T::Forex
                | T::Cfd
                | T::Index
                | T::Future
                | T::Option
                | T::IndexOption
                | T::FutureOption
        ) {
            return Err(unsupported(format!(
                "strata exports Lean equity, option, indexoption, futureoption, crypto, forex, cfd, index and future files, not {}",
                target.security_type
            )));
        }
        let target = LeanTarget {
            market: target.market.to_ascii_lowercase(),
            ..target
        };
        // A market strata knows the zone of (for any symbol).
        zone_of(&target, "")?;
        Ok(LeanWriter {
            root: root.to_path_buf(),
            target,
            zones: BTreeMap::new(),
            open: BTreeMap::new(),
            carry: BTreeMap::new(),
            bars: BTreeMap::new(),
            done: Vec::new(),
            events: 0,
            line: String::new(),
            months: BTreeMap::new(),
            styles: BTreeMap::new(),
            parts: BTreeMap::new(),
            named: std::collections::HashSet::new(),
        })
    }

    /// Options: each contract's exercise style by its symbol (`AAPL-20210115-C-140`), as the
    /// symbol registry learned it (`Contract::style`); Lean names option files by it.
    pub fn with_option_styles(
        mut self,
        styles: BTreeMap<String, strata_model::OptionStyle>,
    ) -> Self {
        self.styles = styles;
        self
    }

    /// An option contract's underlying, style, right, strike ×10⁴ and expiry, from its symbol.
    /// The underlying of an option on a future is the future (`ES-20210319`), whose root and
    /// expiry `future_of` splits out.
    #[allow(clippy::type_complexity)]
    fn option(
        &self,
        symbol: &str,
    ) -> std::result::Result<(String, &'static str, &'static str, i128, NaiveDate), String> {
        let futures = self.target.security_type == LeanSecurityType::FutureOption;
        let contract = strata_model::Contract::parse_symbol(symbol)
            .filter(|c| c.right.is_some() && c.strike.is_some())
            .filter(|c| !futures || future_of(&c.underlying).is_some())
            .ok_or_else(|| {
                if futures {
                    "Lean futureoption files hold contracts named `ROOT-yyyymmdd-yyyymmdd-C|P-strike` (the future's expiry, then the option's)"
                } else {
                    "Lean option files hold contracts named `UNDERLYING-yyyymmdd-C|P-strike`"
                }
                .to_string()
            })?;
        let (Some(right), Some(strike)) = (contract.right, contract.strike) else {
            return Err("an option contract needs a right and a strike".into());
        };
        let strike = strike.normalized().rescaled(4).ok_or_else(|| {
            format!("strike {strike} has more than four decimals: Lean names strikes in 1/10,000s")
        })?;
        let style = self.styles.get(symbol).copied().ok_or_else(|| {
            "its exercise style is not known (the symbol registry learns it when the contract is imported from Lean files), and Lean names option files by it".to_string()
        })?;
        let right = match right {
            strata_model::OptionRight::Call => "call",
            strata_model::OptionRight::Put => "put",
        };
        Ok((
            contract.underlying,
            style.as_str(),
            right,
            strike,
            contract.expiry,
        ))
    }

    /// The date a zip is keyed by: the day of tick, second and minute files; for options'
    /// hour and daily files, which Lean names by year, the year's first day.
    fn file_date(&self, resolution: LeanResolution, date: NaiveDate) -> Option<NaiveDate> {
        if resolution.is_intraday_file() {
            Some(date)
        } else if self.target.security_type.is_option() {
            NaiveDate::from_ymd_opt(date.year(), 1, 1)
        } else {
            None
        }
    }

    /// Futures: each contract's month (`yyyymm`) by its symbol (`ES-20131220`), as the symbol
    /// registry learned it from the vendor (`SymbolInfo::contract_month`). Lean names each
    /// contract's entry by it and finds the contract by it; a contract without one cannot be
    /// written.
    pub fn with_contract_months(mut self, months: BTreeMap<String, u32>) -> Self {
        self.months = months;
        self
    }

    /// A futures contract's root, month (`yyyymm`) and expiry, from its symbol.
    fn contract(&self, symbol: &str) -> std::result::Result<(String, u32, NaiveDate), String> {
        let contract = strata_model::Contract::parse_symbol(symbol)
            .filter(|c| c.right.is_none())
            .ok_or_else(|| {
                "Lean future files hold contracts named `ROOT-yyyymmdd` (their expiry)".to_string()
            })?;
        let month = self.months.get(symbol).copied().ok_or_else(|| {
            "its contract month is not known (the symbol registry learns it when the contract is imported from Lean files; it can differ from the expiry's month), and Lean finds a contract by it".to_string()
        })?;
        Ok((contract.underlying, month, contract.expiry))
    }

    fn scaled(&self) -> bool {
        matches!(
            self.target.security_type,
            LeanSecurityType::Equity | LeanSecurityType::Option | LeanSecurityType::IndexOption
        )
    }

    /// The symbol's data time zone.
    fn tz(&mut self, symbol: &str) -> Result<Tz> {
        if let Some(tz) = self.zones.get(symbol) {
            return Ok(*tz);
        }
        let tz = zone_of(&self.target, symbol)?;
        self.zones.insert(symbol.to_string(), tz);
        Ok(tz)
    }

    /// An event's time on its data's local clock; an error when the clock shows that time
    /// twice (the hour repeated when clocks go back), which Lean's times cannot tell apart.
    fn local(&mut self, e: &Event, t: Timestamp) -> Result<NaiveDateTime> {
        let tz = self.tz(&e.symbol)?;
        let local = tz
            .from_utc_datetime(&t.to_datetime().naive_utc())
            .naive_local();
        let back = tz
            .from_local_datetime(&local)
            .earliest()
            .and_then(|at| Timestamp::from_datetime(&at));
        if back != Some(t) {
            return Err(self.bad(
                e,
                format!("{local} happens twice on the {tz} clock (the hour repeated when clocks go back): Lean's local times cannot say which"),
            ));
        }
        Ok(local)
    }

    /// Refuses a symbol its file names cannot carry (checked once per symbol) and a text that
    /// would break a row.
    fn check_names(&mut self, e: &Event) -> Result<()> {
        if !self.named.contains(&e.symbol) {
            let security = self.target.security_type;
            // What the files are named after: a future's root, an option's underlying (an
            // option on a future: the future's root), else the symbol.
            let (name, what) = if security == LeanSecurityType::Future {
                let (root, _, _) = self.contract(&e.symbol).map_err(|why| self.bad(e, why))?;
                (root, "root")
            } else if security.is_option() {
                let (underlying, ..) = self.option(&e.symbol).map_err(|why| self.bad(e, why))?;
                // An option on a future is filed under the future's root; any other option's
                // underlying is named as it is (a future's `ES-20210319` cannot be).
                let root = match future_of(&underlying) {
                    Some((root, _)) if security == LeanSecurityType::FutureOption => root,
                    _ => underlying,
                };
                (root, "underlying")
            } else {
                (e.symbol.clone(), "symbol")
            };
            if name.is_empty()
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
            {
                return Err(self.bad(
                    e,
                    format!("Lean names files after the {what} in lower case; a {what} of other than upper-case letters and digits cannot come back from them"),
                ));
            }
            self.named.insert(e.symbol.clone());
        }
        let conditions = match &e.payload {
            Payload::Trade(t) => t.conditions.as_deref(),
            _ => None,
        };
        for (what, text) in [("venue", e.venue.as_deref()), ("conditions", conditions)] {
            if text.is_some_and(|t| t.contains([',', '\n', '\r'])) {
                return Err(self.bad(
                    e,
                    format!(
                        "its {what} holds a comma or a line break, which would break the Lean row"
                    ),
                ));
            }
        }
        Ok(())
    }

    /// What is wrong with an event, naming it.
    fn bad(&self, e: &Event, why: impl std::fmt::Display) -> Error {
        Error::Selection(format!(
            "{} {} at {} (event {} of the export): {why}",
            e.symbol,
            e.kind(),
            e.event_time,
            self.events
        ))
    }

    /// A price as Lean writes it: ×10⁴ as an integer for equities, as stored otherwise.
    fn price(&self, e: &Event, d: Decimal, what: &str) -> Result<String> {
        if !self.scaled() {
            return Ok(d.to_string());
        }
        d.normalized()
            .rescaled(4)
            .map(|m| m.to_string())
            .ok_or_else(|| {
                self.bad(
                    e,
                    format!("{what} {d} has more than four decimals: Lean equity prices are whole 1/10,000s"),
                )
            })
    }

    /// A size as Lean writes it: a whole number for equities, as stored otherwise.
    fn size(&self, e: &Event, d: Decimal, what: &str) -> Result<String> {
        if !self.scaled() {
            return Ok(d.to_string());
        }
        d.normalized()
            .rescaled(0)
            .map(|m| m.to_string())
            .ok_or_else(|| {
                self.bad(
                    e,
                    format!("{what} {d} is not a whole number: Lean equity sizes are"),
                )
            })
    }

    /// Milliseconds since local midnight, with a fraction for finer times.
    fn ms(local: NaiveDateTime) -> String {
        let t = local.time();
        let ns = i64::from(t.num_seconds_from_midnight()) * 1_000_000_000
            + i64::from(t.nanosecond().min(999_999_999));
        let (ms, rest) = (ns / 1_000_000, ns % 1_000_000);
        if rest == 0 {
            ms.to_string()
        } else {
            let fraction = format!("{rest:06}");
            format!("{ms}.{}", fraction.trim_end_matches('0'))
        }
    }

    /// Adds one event (events come in event-time order).
    pub fn write(&mut self, e: &Event) -> Result<()> {
        self.events += 1;
        self.check_names(e)?;
        use LeanSecurityType as T;
        let security = self.target.security_type;
        match &e.payload {
            Payload::Trade(t) => {
                if security.quotes_only() {
                    return Err(self.bad(e, format!("Lean {security} data holds quotes only")));
                }
                let local = self.local(e, e.event_time)?;
                let mut line = std::mem::take(&mut self.line);
                line.clear();
                let price = self.price(e, t.price, "price")?;
                let size = self.size(e, t.size, "size")?;
                let (condition, suspicious) = match t.conditions.as_deref() {
                    None => ("", false),
                    Some("suspicious") => ("", true),
                    Some(c) => match c.strip_suffix(";suspicious") {
                        Some(c) => (c, true),
                        None => (c, false),
                    },
                };
                let flag = if suspicious { "1" } else { "0" };
                let _ = match security {
                    T::Crypto => write!(line, "{},{price},{size},{flag}", Self::ms(local)),
                    T::Index => write!(line, "{},{price},{size},,,{flag}", Self::ms(local)),
                    _ => write!(
                        line,
                        "{},{price},{size},{},{condition},{flag}",
                        Self::ms(local),
                        e.venue.as_deref().unwrap_or("")
                    ),
                };
                let key = ZipKey {
                    symbol: e.symbol.clone(),
                    tick_type: LeanTickType::Trade,
                    resolution: LeanResolution::Tick,
                    date: Some(local.date()),
                };
                self.row(key, e, &line)?;
                self.line = line;
            }
            Payload::BboQuote(q) => match self.target.quote_resolution {
                None | Some(LeanResolution::Tick) => self.quote_tick(e, q.bid, q.ask)?,
                Some(resolution) => self.quote_bar(e, resolution, q.bid, q.ask)?,
            },
            Payload::Bar(b) => {
                if security.quotes_only() {
                    return Err(self.bad(
                        e,
                        format!("Lean {security} data holds quote bars only, not trade bars"),
                    ));
                }
                let resolution = match b.interval_s {
                    1 => LeanResolution::Second,
                    60 => LeanResolution::Minute,
                    3_600 => LeanResolution::Hour,
                    86_400 => LeanResolution::Daily,
                    other => {
                        return Err(self.bad(
                            e,
                            format!("a {other}-second bar: Lean bars are 1 s, 1 min, 1 h or 1 day"),
                        ))
                    }
                };
                let start = self.bar_start(e, resolution)?;
                let mut line = std::mem::take(&mut self.line);
                line.clear();
                line.push_str(&self.bar_time(start, resolution));
                for (d, what) in [
                    (b.open, "open"),
                    (b.high, "high"),
                    (b.low, "low"),
                    (b.close, "close"),
                ] {
                    line.push(',');
                    line.push_str(&self.price(e, d, what)?);
                }
                line.push(',');
                line.push_str(&self.size(e, b.volume, "volume")?);
                let key = ZipKey {
                    symbol: e.symbol.clone(),
                    tick_type: LeanTickType::Trade,
                    resolution,
                    date: self.file_date(resolution, start.date()),
                };
                self.row(key, e, &line)?;
                self.line = line;
            }
            Payload::OpenInterest(oi) => {
                if !security.has_contracts() {
                    return Err(self.bad(
                        e,
                        format!("Lean has open interest for futures and options, not {security}"),
                    ));
                }
                // At the resolution quotes are written at (tick unless --lean-resolution).
                let resolution = self.target.quote_resolution.unwrap_or(LeanResolution::Tick);
                let local = self.local(e, e.event_time)?;
                if !resolution.is_intraday_file()
                    && (local.second() != 0 || local.nanosecond() != 0)
                {
                    return Err(self.bad(
                        e,
                        format!("Lean {resolution} open interest is stamped to the minute (yyyymmdd HH:mm); this one has seconds"),
                    ));
                }
                let mut line = std::mem::take(&mut self.line);
                line.clear();
                line.push_str(&self.bar_time(local, resolution));
                line.push(',');
                line.push_str(&oi.value.to_string());
                let key = ZipKey {
                    symbol: e.symbol.clone(),
                    tick_type: LeanTickType::OpenInterest,
                    resolution,
                    date: self.file_date(resolution, local.date()),
                };
                self.row(key, e, &line)?;
                self.line = line;
            }
            _ => {
                return Err(self.bad(
                    e,
                    "Lean files hold trades, quotes, bars and (futures) open interest; select those kinds",
                ))
            }
        }
        Ok(())
    }

    /// The local start of a bar strata stamped at its end.
    fn bar_start(&mut self, e: &Event, resolution: LeanResolution) -> Result<NaiveDateTime> {
        let end = self.local(e, e.event_time)?;
        if resolution == LeanResolution::Daily {
            if end.time() != NaiveTime::MIN {
                let tz = self.tz(&e.symbol)?;
                return Err(self.bad(
                    e,
                    format!("a daily Lean bar ends at local midnight ({tz}); this one ends at {end}: make daily bars in the market's time zone"),
                ));
            }
            return end
                .date()
                .checked_sub_days(Days::new(1))
                .map(|d| d.and_time(NaiveTime::MIN))
                .ok_or_else(|| self.bad(e, "out of range"));
        }
        let seconds = i64::from(resolution.interval_s().unwrap_or(0));
        let start = Timestamp::from_nanos(
            e.event_time
                .as_nanos()
                .saturating_sub(seconds * 1_000_000_000),
        );
        self.local(e, start)
    }

    fn bar_time(&self, start: NaiveDateTime, resolution: LeanResolution) -> String {
        if resolution.is_intraday_file() {
            Self::ms(start)
        } else {
            start.format("%Y%m%d %H:%M").to_string()
        }
    }

    /// A quote tick, each side written in full, or `0,0` when it did not change from nothing.
    fn quote_tick(&mut self, e: &Event, bid: Option<Level>, ask: Option<Level>) -> Result<()> {
        let security = self.target.security_type;
        let local = self.local(e, e.event_time)?;
        let day = (e.symbol.clone(), local.date());
        let (last_bid, last_ask) = self.carry.get(&day).cloned().unwrap_or_default();
        let mut line = std::mem::take(&mut self.line);
        line.clear();
        line.push_str(&Self::ms(local));
        if security.unsized_quotes() {
            let (Some(b), Some(a)) = (bid, ask) else {
                return Err(self.bad(
                    e,
                    format!("Lean {security} quote ticks need a bid and an ask"),
                ));
            };
            for (l, side) in [(b, "bid"), (a, "ask")] {
                if !l.size.is_zero() {
                    return Err(self.bad(
                        e,
                        format!(
                            "{side} size {}: Lean {security} quote ticks have no sizes",
                            l.size
                        ),
                    ));
                }
                line.push(',');
                line.push_str(&self.price(e, l.price, side)?);
            }
        } else {
            for (level, last, side) in [(bid, last_bid, "bid"), (ask, last_ask, "ask")] {
                let zero = |l: &Level| l.price.is_zero() && l.size.is_zero();
                match level {
                    // `0,0` reads back as the side's last value: right only when that is what
                    // it is (nothing yet, or the same zero level).
                    None if last.is_none() => line.push_str(",0,0"),
                    None => {
                        return Err(self.bad(
                            e,
                            format!("the {side} went empty, which a Lean quote tick cannot say (0,0 means unchanged)"),
                        ))
                    }
                    Some(l) if zero(&l) && last != Some(l) => {
                        return Err(self.bad(
                            e,
                            format!("a {side} of price 0 and size 0 reads back as unchanged in a Lean quote tick"),
                        ))
                    }
                    Some(l) => {
                        line.push(',');
                        line.push_str(&self.price(e, l.price, side)?);
                        line.push(',');
                        line.push_str(&self.size(e, l.size, side)?);
                    }
                }
            }
            match security {
                LeanSecurityType::Crypto => line.push_str(",0"),
                // `…, exchange, suspicious` (Lean's `GenerateLine` for these types).
                LeanSecurityType::Future
                | LeanSecurityType::Option
                | LeanSecurityType::IndexOption
                | LeanSecurityType::FutureOption => {
                    line.push(',');
                    line.push_str(e.venue.as_deref().unwrap_or(""));
                    line.push_str(",0");
                }
                _ => {
                    line.push(',');
                    line.push_str(e.venue.as_deref().unwrap_or(""));
                    line.push_str(",0,0");
                }
            }
        }
        self.carry
            .retain(|(symbol, date), _| symbol != &day.0 || *date >= day.1);
        self.carry.insert(day, (bid, ask));
        let key = ZipKey {
            symbol: e.symbol.clone(),
            tick_type: LeanTickType::Quote,
            resolution: LeanResolution::Tick,
            date: Some(local.date()),
        };
        self.row(key, e, &line)?;
        self.line = line;
        Ok(())
    }

    /// Adds a quote to its symbol's quote bar, writing the bar before it once the quote is
    /// past it.
    fn quote_bar(
        &mut self,
        e: &Event,
        resolution: LeanResolution,
        bid: Option<Level>,
        ask: Option<Level>,
    ) -> Result<()> {
        let local = self.local(e, e.event_time)?;
        // Bars start on the local clock's whole intervals (days at local midnight).
        let start = match resolution {
            LeanResolution::Daily => local.date().and_time(NaiveTime::MIN),
            other => {
                let seconds = other.interval_s().unwrap_or(1);
                let of_day = local.time().num_seconds_from_midnight();
                let floor = of_day - of_day % seconds;
                local.date().and_time(
                    NaiveTime::from_num_seconds_from_midnight_opt(floor, 0)
                        .unwrap_or(NaiveTime::MIN),
                )
            }
        };
        if self
            .bars
            .get(&e.symbol)
            .is_some_and(|bar| bar.start != start)
        {
            if let Some(bar) = self.bars.remove(&e.symbol) {
                self.write_quote_bar(&e.symbol, resolution, bar)?;
            }
        }
        let bar = self.bars.entry(e.symbol.clone()).or_insert(QuoteBar {
            start,
            bid: None,
            ask: None,
            events: 0,
            first: e.event_time,
            last: e.event_time,
        });
        QuoteBar::add(&mut bar.bid, bid);
        QuoteBar::add(&mut bar.ask, ask);
        bar.events += 1;
        bar.last = e.event_time;
        // Checked now, so that an error names this quote.
        let scaled = self.scaled();
        for level in [bid, ask].into_iter().flatten() {
            if scaled {
                self.price(e, level.price, "price")?;
                self.size(e, level.size, "size")?;
            }
        }
        Ok(())
    }

    fn write_quote_bar(
        &mut self,
        symbol: &str,
        resolution: LeanResolution,
        bar: QuoteBar,
    ) -> Result<()> {
        let mut line = self.bar_time(bar.start, resolution);
        let side = |w: &LeanWriter, side: &Option<([Decimal; 4], Decimal)>, line: &mut String| {
            match side {
                None => line.push_str(",,,,,"),
                Some((ohlc, size)) => {
                    for d in ohlc {
                        line.push(',');
                        line.push_str(&if w.scaled() {
                            d.normalized()
                                .rescaled(4)
                                .map_or_else(|| d.to_string(), |m| m.to_string())
                        } else {
                            d.to_string()
                        });
                    }
                    line.push(',');
                    line.push_str(&if w.scaled() {
                        size.normalized()
                            .rescaled(0)
                            .map_or_else(|| size.to_string(), |m| m.to_string())
                    } else {
                        size.to_string()
                    });
                }
            }
        };
        side(self, &bar.bid, &mut line);
        side(self, &bar.ask, &mut line);
        let key = ZipKey {
            symbol: symbol.to_string(),
            tick_type: LeanTickType::Quote,
            resolution,
            date: self.file_date(resolution, bar.start.date()),
        };
        self.append(
            key,
            EventKind::BboQuote,
            &line,
            bar.events,
            bar.first,
            bar.last,
        )
    }

    fn row(&mut self, key: ZipKey, e: &Event, line: &str) -> Result<()> {
        self.append(key, e.kind(), line, 1, e.event_time, e.event_time)
    }

    /// Appends a row to its zip, opening it (and closing the same stream's zip of an earlier
    /// day) as needed.
    fn append(
        &mut self,
        key: ZipKey,
        kind: EventKind,
        line: &str,
        events: u64,
        first: Timestamp,
        last: Timestamp,
    ) -> Result<()> {
        if !self.open.contains_key(&key) {
            // Events come in time order: the same stream's earlier days are complete, and so
            // is every stream's day two days back (whatever the symbols' time zones).
            let two_days_back = key.date.and_then(|d| d.checked_sub_days(Days::new(2)));
            let earlier: Vec<ZipKey> = self
                .open
                .keys()
                .filter(|k| {
                    (k.symbol == key.symbol
                        && k.tick_type == key.tick_type
                        && k.resolution == key.resolution
                        && k.date < key.date)
                        || (k.resolution.is_intraday_file()
                            && k.date.is_some()
                            && k.date <= two_days_back)
                })
                .cloned()
                .collect();
            for k in earlier {
                // A quote bar zip's last bar, which waits for its stream's next quote, is
                // complete once its day is behind: written before the zip closes.
                if let (LeanTickType::Quote, Some(resolution)) =
                    (k.tick_type, self.target.quote_resolution)
                {
                    let ends_here = self
                        .bars
                        .get(&k.symbol)
                        .is_some_and(|bar| self.file_date(resolution, bar.start.date()) == k.date);
                    if ends_here && k.resolution == resolution {
                        if let Some(bar) = self.bars.remove(&k.symbol) {
                            self.write_quote_bar(&k.symbol, resolution, bar)?;
                        }
                    }
                }
                if let Some(z) = self.open.remove(&k) {
                    self.close(z)?;
                }
            }
            let opened = self.open_zip(&key, kind)?;
            self.open.insert(key.clone(), opened);
        }
        let Some(z) = self.open.get_mut(&key) else {
            return Ok(());
        };
        let path = self.root.join(&z.info.path);
        // Lean joins its rows with line feeds: no line break after the last.
        let separator: &[u8] = if z.info.rows == 0 { b"" } else { b"\n" };
        z.zip
            .write_all(separator)
            .and_then(|()| z.zip.write_all(line.as_bytes()))
            .map_err(|source| Error::Io { path, source })?;
        z.info.rows += 1;
        z.info.events += events;
        z.info.first.get_or_insert(first);
        z.info.last = Some(last);
        Ok(())
    }

    /// Lean's zip path and entry name for a key.
    fn names(&self, key: &ZipKey) -> (String, String) {
        let security = self.target.security_type;
        let symbol = key.symbol.to_ascii_lowercase();
        let tick = key.tick_type.as_str();
        let res = key.resolution.as_str();
        let folder = format!("{}/{}/{res}", security.as_str(), self.target.market);
        if security.is_option() {
            // One zip per underlying, day (hour and daily: year) and style, one entry per
            // contract (`GenerateZipFileName`, `GenerateZipEntryName`). Checked when its first
            // event came. Options on futures are filed under the future's root and, at every
            // resolution, a folder of the future's expiry (`GenerateZipFilePath`).
            let (underlying, style, right, strike, expiry) = self
                .option(&key.symbol)
                .unwrap_or_else(|_| (key.symbol.clone(), "", "", 0, NaiveDate::MIN));
            let (underlying, folder) = match future_of(&underlying) {
                Some((root, future_expiry)) if security == LeanSecurityType::FutureOption => {
                    let root = root.to_ascii_lowercase();
                    let folder = format!("{folder}/{root}/{}", future_expiry.format("%Y%m%d"));
                    (root, folder)
                }
                _ => {
                    let underlying = underlying.to_ascii_lowercase();
                    let folder = if key.resolution.is_intraday_file() {
                        format!("{folder}/{underlying}")
                    } else {
                        folder
                    };
                    (underlying, folder)
                }
            };
            let contract = format!("{style}_{right}_{strike}_{}", expiry.format("%Y%m%d"));
            let date = key.date.unwrap_or(NaiveDate::MIN);
            return if key.resolution.is_intraday_file() {
                let day = date.format("%Y%m%d").to_string();
                (
                    format!("{folder}/{day}_{tick}_{style}.zip"),
                    format!("{day}_{underlying}_{res}_{tick}_{contract}.csv"),
                )
            } else {
                (
                    format!("{folder}/{underlying}_{}_{tick}_{style}.zip", date.year()),
                    format!("{underlying}_{tick}_{contract}.csv"),
                )
            };
        }
        if security == LeanSecurityType::Future {
            // One zip per root (and day), one entry per contract (`GenerateZipEntryName`).
            // The symbol was checked when its first event came.
            let (root, month, expiry) = self
                .contract(&key.symbol)
                .unwrap_or_else(|_| (key.symbol.clone(), 0, NaiveDate::MIN));
            let root = root.to_ascii_lowercase();
            let contract = format!("{month}_{}", expiry.format("%Y%m%d"));
            return match key.date {
                Some(date) => {
                    let day = date.format("%Y%m%d").to_string();
                    (
                        format!("{folder}/{root}/{day}_{tick}.zip"),
                        format!("{day}_{root}_{res}_{tick}_{contract}.csv"),
                    )
                }
                None => (
                    format!("{folder}/{root}_{tick}.zip"),
                    format!("{root}_{tick}_{contract}.csv"),
                ),
            };
        }
        match key.date {
            Some(date) => {
                let day = date.format("%Y%m%d").to_string();
                let entry = if key.resolution == LeanResolution::Tick
                    && security == LeanSecurityType::Equity
                {
                    // `20131007_spy_Trade_Tick.csv`: Lean writes the enum names here.
                    let tick_name = if key.tick_type == LeanTickType::Quote {
                        "Quote"
                    } else {
                        "Trade"
                    };
                    format!("{day}_{symbol}_{tick_name}_Tick.csv")
                } else {
                    format!("{day}_{symbol}_{res}_{tick}.csv")
                };
                (format!("{folder}/{symbol}/{day}_{tick}.zip"), entry)
            }
            None => {
                // Hour and daily: one file per symbol. Lean names crypto's by tick type, the
                // others `<symbol>.zip` (trade bars; quote bars of forex and CFDs); equity quote
                // bars, which Lean does not name apart, are `<symbol>_quote.zip`.
                let zip = match (security, key.tick_type) {
                    (LeanSecurityType::Crypto, _) => format!("{symbol}_{tick}.zip"),
                    (LeanSecurityType::Equity | LeanSecurityType::Index, LeanTickType::Quote) => {
                        format!("{symbol}_quote.zip")
                    }
                    _ => format!("{symbol}.zip"),
                };
                (format!("{folder}/{zip}"), format!("{symbol}.csv"))
            }
        }
    }

    fn open_zip(&mut self, key: &ZipKey, kind: EventKind) -> Result<OpenZip> {
        let (rel, entry) = self.names(key);
        let path = self.root.join(&rel);
        let io = |source| Error::Io {
            path: path.clone(),
            source,
        };
        if let Some(folder) = path.parent() {
            std::fs::create_dir_all(folder).map_err(io)?;
        }
        // Futures and options: one entry per contract, so each contract's goes into a part of
        // its own (contracts interleave in time; a zip takes one entry at a time), and the parts
        // become the zip at the end.
        let contracts = self.target.security_type.has_contracts();
        let file = if contracts {
            format!("{rel}.part-{}", key.symbol)
        } else {
            rel.clone()
        };
        let path = self.root.join(&file);
        if path.exists() {
            return Err(Error::Damaged {
                path: file,
                message: "written twice: its events did not come in time order".into(),
            });
        }
        if contracts {
            self.parts
                .entry(rel.clone())
                .or_default()
                .push(file.clone());
        }
        let mut zip = zip::ZipWriter::new(std::io::BufWriter::with_capacity(
            1 << 16,
            std::fs::File::create(&path).map_err(io)?,
        ));
        // A fixed time stamp: the same events give the same bytes.
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .last_modified_time(zip::DateTime::default());
        zip.start_file(entry.as_str(), options)
            .map_err(|e| Error::Damaged {
                path: rel.clone(),
                message: e.to_string(),
            })?;
        Ok(OpenZip {
            zip,
            file,
            info: LeanZip {
                path: rel,
                kind,
                rows: 0,
                events: 0,
                first: None,
                last: None,
            },
        })
    }

    fn close(&mut self, z: OpenZip) -> Result<()> {
        let path = self.root.join(&z.file);
        let out = z.zip.finish().map_err(|e| Error::Damaged {
            path: z.file.clone(),
            message: e.to_string(),
        })?;
        let file = out.into_inner().map_err(|e| Error::Io {
            path: path.clone(),
            source: e.into_error(),
        })?;
        // A contract's part is read back into its zip by `assemble`, which syncs that zip: the
        // part itself needs no sync of its own.
        if !self.target.security_type.has_contracts() {
            file.sync_all()
                .map_err(|source| Error::Io { path, source })?;
        }
        self.done.push(z.info);
        Ok(())
    }

    /// Writes the quote bars still open and closes every zip open: the end of a pass over the
    /// events (the export runs one pass per symbol, so a pass holds only its symbol's zips).
    /// Events after it must not belong to a zip it closed.
    pub fn close_all(&mut self) -> Result<()> {
        let resolution = self.target.quote_resolution;
        for (symbol, bar) in std::mem::take(&mut self.bars) {
            if let Some(resolution) = resolution {
                self.write_quote_bar(&symbol, resolution, bar)?;
            }
        }
        for (_, z) in std::mem::take(&mut self.open) {
            self.close(z)?;
        }
        Ok(())
    }

    /// Writes the zip `rel` from the parts (zips of one entry each), then removes them.
    fn assemble(&self, rel: &str, parts: &[String]) -> Result<()> {
        let damaged = |path: &str, e: zip::result::ZipError| Error::Damaged {
            path: path.to_string(),
            message: e.to_string(),
        };
        let path = self.root.join(rel);
        let file = std::fs::File::create(&path).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        let mut zip = zip::ZipWriter::new(std::io::BufWriter::with_capacity(1 << 16, file));
        for part in parts {
            let part_path = self.root.join(part);
            let opened = std::fs::File::open(&part_path).map_err(|source| Error::Io {
                path: part_path.clone(),
                source,
            })?;
            let mut archive = zip::ZipArchive::new(opened).map_err(|e| damaged(part, e))?;
            for i in 0..archive.len() {
                let entry = archive.by_index_raw(i).map_err(|e| damaged(part, e))?;
                zip.raw_copy_file(entry).map_err(|e| damaged(rel, e))?;
            }
        }
        let out = zip.finish().map_err(|e| damaged(rel, e))?;
        let file = out.into_inner().map_err(|e| Error::Io {
            path: path.clone(),
            source: e.into_error(),
        })?;
        file.sync_all().map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        for part in parts {
            let part_path = self.root.join(part);
            std::fs::remove_file(&part_path).map_err(|source| Error::Io {
                path: part_path,
                source,
            })?;
        }
        Ok(())
    }

    /// Writes the quote bars still open and closes every zip: what was written, by path.
    pub fn finish(mut self) -> Result<Vec<LeanZip>> {
        self.close_all()?;
        // Futures and options: each zip from its contracts' parts, in symbol order, the entries
        // copied as they are (no second compression).
        for (rel, mut parts) in std::mem::take(&mut self.parts) {
            parts.sort();
            self.assemble(&rel, &parts)?;
        }
        // A futures zip written by several passes (one per contract) is one file.
        let mut by_path: BTreeMap<String, LeanZip> = BTreeMap::new();
        for zip in std::mem::take(&mut self.done) {
            match by_path.get_mut(&zip.path) {
                None => {
                    by_path.insert(zip.path.clone(), zip);
                }
                Some(seen) => {
                    seen.rows += zip.rows;
                    seen.events += zip.events;
                    seen.first = match (seen.first, zip.first) {
                        (Some(a), Some(b)) => Some(a.min(b)),
                        (a, b) => a.or(b),
                    };
                    seen.last = seen.last.max(zip.last);
                }
            }
        }
        Ok(by_path.into_values().collect())
    }
}

/// The data time zone of a symbol's Lean files (`LeanFile::default_time_zone`).
/// A future's root and expiry from its symbol (`ES-20210319`).
fn future_of(symbol: &str) -> Option<(String, NaiveDate)> {
    strata_model::Contract::parse_symbol(symbol)
        .filter(|c| c.right.is_none())
        .map(|c| (c.underlying, c.expiry))
}

fn zone_of(target: &LeanTarget, symbol: &str) -> Result<Tz> {
    let file = LeanFile {
        security_type: target.security_type,
        market: target.market.clone(),
        resolution: LeanResolution::Tick,
        symbol: symbol.to_string(),
        date: None,
        tick_type: LeanTickType::Trade,
        underlying_expiry: None,
    };
    file.default_time_zone().ok_or_else(|| {
        unsupported(format!(
            "strata does not know the time zone of Lean's {} market `{}`",
            target.security_type, target.market
        ))
    })
}

/// The rows of a Lean zip's one entry (for `export verify`).
pub fn rows_of<R: std::io::Read + std::io::Seek>(zip: R) -> std::result::Result<u64, String> {
    let mut archive = zip::ZipArchive::new(zip).map_err(|e| e.to_string())?;
    let mut rows = 0u64;
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).map_err(|e| e.to_string())?;
        let mut text = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut text).map_err(|e| e.to_string())?;
        rows += text
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .count() as u64;
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn quote(ns: i64, bid: Option<(&str, &str)>, ask: Option<(&str, &str)>) -> Event {
        let level = |(p, s): (&str, &str)| Level {
            price: p.parse().unwrap(),
            size: s.parse().unwrap(),
        };
        Event::new(
            "lean",
            "AIG",
            Timestamp::from_nanos(ns),
            Payload::BboQuote(strata_model::BboQuote {
                bid: bid.map(level),
                ask: ask.map(level),
            }),
        )
    }

    /// The importer's reading of the zip a writer names `key`'s file with (its security type,
    /// resolution and tick type checked against the writer's), and the entry's name.
    fn read_back_names(w: &LeanWriter, key: &ZipKey) -> (strata_import::lean::LeanFile, String) {
        let (zip, entry) = w.names(key);
        let file = strata_import::lean::LeanFile::resolve(
            std::path::Path::new(&zip),
            &Default::default(),
            None,
            None,
        )
        .unwrap();
        assert_eq!(file.security_type, w.target.security_type, "{zip}");
        assert_eq!(file.resolution, key.resolution, "{zip}");
        assert_eq!(file.tick_type, key.tick_type, "{zip}");
        (file, entry)
    }

    fn writer(dir: &Path, security: LeanSecurityType, market: &str) -> LeanWriter {
        LeanWriter::new(
            dir,
            LeanTarget {
                security_type: security,
                market: market.into(),
                quote_resolution: None,
            },
        )
        .unwrap()
    }

    /// What a Lean file cannot say is refused, naming the event: a side that goes empty, a
    /// zero side that would read back as unchanged, an unsized type's sizes, a fifth decimal,
    /// a daily bar that does not end at local midnight, options, a future without its month.
    #[test]
    fn what_lean_cannot_hold_is_an_error_naming_the_event() {
        let dir = tempfile::tempdir().unwrap();
        let t = 1_381_152_600_000_000_000; // 2013-10-07T13:30:00Z
        let mut w = writer(dir.path(), LeanSecurityType::Equity, "usa");
        w.write(&quote(t, Some(("47.50", "200")), None)).unwrap();
        let err = w
            .write(&quote(t + 1, None, Some(("47.60", "100"))))
            .unwrap_err();
        assert!(err.to_string().contains("the bid went empty"), "{err}");
        assert!(
            err.to_string()
                .contains("AIG bbo_quote at 2013-10-07T13:30:00.000000001Z"),
            "{err}"
        );
        let err = w
            .write(&quote(t + 2, Some(("0", "0")), Some(("47.60", "100"))))
            .unwrap_err();
        assert!(err.to_string().contains("price 0 and size 0"), "{err}");
        let err = w
            .write(&quote(t + 3, Some(("47.50001", "200")), None))
            .unwrap_err();
        assert!(err.to_string().contains("more than four decimals"), "{err}");
        let err = w
            .write(&quote(t + 4, Some(("47.5", "200.5")), None))
            .unwrap_err();
        assert!(err.to_string().contains("not a whole number"), "{err}");
        // Trailing zeros are no fifth decimal.
        w.write(&quote(t + 5, Some(("47.500000", "200.00")), None))
            .unwrap();
        let bar = |ns: i64, interval_s: u32| {
            let p: Decimal = "1".parse().unwrap();
            Event::new(
                "lean",
                "SPY",
                Timestamp::from_nanos(ns),
                Payload::Bar(strata_model::Bar {
                    interval_s,
                    open: p,
                    high: p,
                    low: p,
                    close: p,
                    volume: p,
                    trades: None,
                    vwap: None,
                }),
            )
        };
        let err = w.write(&bar(t, 86_400)).unwrap_err();
        assert!(err.to_string().contains("local midnight"), "{err}");
        let err = w.write(&bar(t, 300)).unwrap_err();
        assert!(err.to_string().contains("300-second bar"), "{err}");

        // A side present at the end of one day may be absent in the next day's first quote
        // (each day's file starts afresh); within the day it may not go.
        let next_day = t + 86_400_000_000_000;
        w.write(&quote(next_day, None, Some(("47.60", "100"))))
            .unwrap();
        // 2013-11-03 01:30 happens twice in New York.
        let repeated = 1_383_460_200_000_000_000; // 2013-11-03T06:30:00Z, the second 01:30
        let err = w
            .write(&quote(repeated, Some(("47.5", "200")), None))
            .unwrap_err();
        assert!(err.to_string().contains("happens twice"), "{err}");
        let mut odd = quote(next_day + 1, Some(("47.5", "200")), None);
        odd.venue = Some("P,Q".into());
        let err = w.write(&odd).unwrap_err();
        assert!(err.to_string().contains("comma"), "{err}");
        for symbol in ["BRK.B", "EUR/USD", "spy", "../x"] {
            let mut bad = quote(next_day + 2, Some(("47.5", "200")), None);
            bad.symbol = symbol.into();
            let err = w.write(&bad).unwrap_err();
            assert!(
                err.to_string().contains("upper-case letters and digits"),
                "{symbol}: {err}"
            );
        }

        let mut fx = writer(dir.path(), LeanSecurityType::Forex, "fxcm");
        let err = fx
            .write(&quote(t, Some(("1.1", "5")), Some(("1.2", "0"))))
            .unwrap_err();
        assert!(err.to_string().contains("have no sizes"), "{err}");
        let err = fx.write(&quote(t, Some(("1.1", "0")), None)).unwrap_err();
        assert!(err.to_string().contains("need a bid and an ask"), "{err}");

        let err = LeanWriter::new(
            dir.path(),
            LeanTarget {
                security_type: LeanSecurityType::CryptoFuture,
                market: "binance".into(),
                quote_resolution: None,
            },
        )
        .unwrap_err();
        assert!(err.to_string().contains("strata exports Lean"), "{err}");
        // A future whose symbol is not a contract, or whose contract month is not known.
        let mut es = LeanWriter::new(
            dir.path(),
            LeanTarget {
                security_type: LeanSecurityType::Future,
                market: "cme".into(),
                quote_resolution: None,
            },
        )
        .unwrap()
        .with_contract_months(BTreeMap::from([("ES-20131220".to_string(), 201312)]));
        let future_trade = |symbol: &str| {
            Event::new(
                "lean",
                symbol,
                Timestamp::from_nanos(t),
                Payload::Trade(strata_model::Trade {
                    price: "1685.25".parse().unwrap(),
                    size: Decimal::from_int(1),
                    side: None,
                    trade_id: None,
                    conditions: None,
                }),
            )
        };
        let err = es.write(&future_trade("ES")).unwrap_err();
        assert!(err.to_string().contains("ROOT-yyyymmdd"), "{err}");
        let err = es.write(&future_trade("ES-20140321")).unwrap_err();
        assert!(
            err.to_string().contains("contract month is not known"),
            "{err}"
        );
        es.write(&future_trade("ES-20131220")).unwrap();
        // Two contracts of one root interleaved in one pass (an export of a session): each has
        // its part, and the zip holds both entries.
        let mut es = es.with_contract_months(BTreeMap::from([
            ("ES-20131220".to_string(), 201312),
            ("ES-20140321".to_string(), 201403),
        ]));
        es.write(&future_trade("ES-20140321")).unwrap();
        let mut later = future_trade("ES-20131220");
        later.event_time = Timestamp::from_nanos(t + 1_000);
        es.write(&later).unwrap();
        let zips = es.finish().unwrap();
        assert_eq!(zips.len(), 1, "{zips:?}");
        assert_eq!(zips[0].path, "future/cme/tick/es/20131007_trade.zip");
        assert_eq!(zips[0].rows, 3);
        let mut archive =
            zip::ZipArchive::new(std::fs::File::open(dir.path().join(&zips[0].path)).unwrap())
                .unwrap();
        let names: Vec<String> = (0..archive.len())
            .map(|i| archive.by_index(i).unwrap().name().to_string())
            .collect();
        assert_eq!(
            names,
            [
                "20131007_es_tick_trade_201312_20131220.csv",
                "20131007_es_tick_trade_201403_20140321.csv"
            ]
        );
        assert!(!dir
            .path()
            .join("future/cme/tick/es/20131007_trade.zip.part-ES-20131220")
            .exists());
        // Open interest: futures only, and to the minute in hour and daily files.
        let oi = |symbol: &str, ns: i64| {
            Event::new(
                "lean",
                symbol,
                Timestamp::from_nanos(ns),
                Payload::OpenInterest(strata_model::OpenInterest {
                    value: Decimal::from_int(2_750_000),
                }),
            )
        };
        let err = w.write(&oi("AIG", t)).unwrap_err();
        assert!(err.to_string().contains("for futures"), "{err}");
        let mut daily = LeanWriter::new(
            dir.path(),
            LeanTarget {
                security_type: LeanSecurityType::Future,
                market: "cme".into(),
                quote_resolution: Some(LeanResolution::Daily),
            },
        )
        .unwrap()
        .with_contract_months(BTreeMap::from([("ES-20131220".to_string(), 201312)]));
        let err = daily
            .write(&oi("ES-20131220", t + 1_000_000_000))
            .unwrap_err();
        assert!(err.to_string().contains("stamped to the minute"), "{err}");
        daily.write(&oi("ES-20131220", t)).unwrap();
        let err = LeanWriter::new(
            dir.path(),
            LeanTarget {
                security_type: LeanSecurityType::Equity,
                market: "india".into(),
                quote_resolution: None,
            },
        )
        .unwrap_err();
        assert!(err.to_string().contains("time zone"), "{err}");
    }

    /// A quote bar still open when other streams move two days on (a weekend) is written into
    /// its own day's zip at the end, not into a zip closed meanwhile (found by review: the zip
    /// was opened again and refused as written twice).
    #[test]
    fn a_quote_bar_open_over_a_weekend_lands_in_its_day() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = LeanWriter::new(
            dir.path(),
            LeanTarget {
                security_type: LeanSecurityType::Future,
                market: "cme".into(),
                quote_resolution: Some(LeanResolution::Minute),
            },
        )
        .unwrap()
        .with_contract_months(BTreeMap::from([("ES-20131220".to_string(), 201312)]));
        let friday = 1_380_920_310_000_000_000; // 2013-10-04T20:58:30Z
        let sunday = 1_381_096_800_000_000_000; // 2013-10-06T22:00:00Z
        let q = |ns: i64| {
            let mut e = quote(ns, Some(("1685", "10")), Some(("1685.25", "12")));
            e.symbol = "ES-20131220".into();
            e
        };
        w.write(&q(friday)).unwrap();
        w.write(&q(friday + 60_000_000_000)).unwrap();
        let mut trade = q(sunday);
        trade.payload = Payload::Trade(strata_model::Trade {
            price: "1686".parse().unwrap(),
            size: Decimal::from_int(1),
            side: None,
            trade_id: None,
            conditions: None,
        });
        w.write(&trade).unwrap();
        w.write(&q(sunday + 500_000_000)).unwrap();
        let zips = w.finish().unwrap();
        let paths: Vec<(&str, u64)> = zips.iter().map(|z| (z.path.as_str(), z.rows)).collect();
        assert_eq!(
            paths,
            [
                ("future/cme/minute/es/20131004_quote.zip", 2),
                ("future/cme/minute/es/20131006_quote.zip", 1),
                ("future/cme/tick/es/20131006_trade.zip", 1),
            ]
        );
    }

    proptest::proptest! {
        /// Equity trade ticks Lean can hold (prices of up to four decimals, whole sizes, any
        /// time of the day to the nanosecond, venues, conditions, the suspicious flag) read
        /// back through the importer's row parser to the same values.
        #[test]
        fn equity_trade_ticks_read_back_through_the_importer(
            mut rows in proptest::collection::vec(
                (0i64..86_400_000_000_000, 1i64..100_000_000, 0u8..=4, 1i64..1_000_000,
                 proptest::sample::select(vec!["P", "Q", "T"]),
                 proptest::sample::select(vec!["", "20002000", "4"]), proptest::bool::ANY),
                1..30,
            )
        ) {
            rows.sort_by_key(|r| r.0);
            let date = NaiveDate::from_ymd_opt(2013, 10, 7).unwrap();
            let ny = chrono_tz::America::New_York;
            let events: Vec<Event> = rows
                .iter()
                .map(|&(ns, price, scale, size, venue, condition, suspicious)| {
                    let local = date.and_time(NaiveTime::MIN) + chrono::Duration::nanoseconds(ns);
                    let at = ny.from_local_datetime(&local).earliest().unwrap();
                    let conditions = match (condition, suspicious) {
                        ("", false) => None,
                        ("", true) => Some("suspicious".to_string()),
                        (c, false) => Some(c.to_string()),
                        (c, true) => Some(format!("{c};suspicious")),
                    };
                    let mut e = Event::new(
                        "lean",
                        "SPY",
                        Timestamp::from_datetime(&at).unwrap(),
                        Payload::Trade(strata_model::Trade {
                            price: Decimal::new(price, scale).unwrap(),
                            size: Decimal::from_int(size),
                            side: None,
                            trade_id: None,
                            conditions,
                        }),
                    );
                    e.venue = Some(venue.to_string());
                    e
                })
                .collect();
            let dir = tempfile::tempdir().unwrap();
            let mut w = writer(dir.path(), LeanSecurityType::Equity, "usa");
            for e in &events {
                w.write(e).unwrap();
            }
            let zips = w.finish().unwrap();
            proptest::prop_assert_eq!(zips.len(), 1);
            let path = dir.path().join(&zips[0].path);
            let mut archive = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
            let mut text = String::new();
            std::io::Read::read_to_string(&mut archive.by_index(0).unwrap(), &mut text).unwrap();
            let ctx = strata_import::lean::LeanContext::us_equity(
                "SPY",
                date,
                LeanResolution::Tick,
                LeanTickType::Trade,
            );
            let lines: Vec<&str> = text.split('\n').collect();
            proptest::prop_assert_eq!(lines.len(), events.len());
            for (i, (line, e)) in lines.iter().zip(&events).enumerate() {
                let back = strata_import::lean::parse_trade_row(line, i as u64 + 1, &ctx).unwrap();
                let (t, b) = (e.payload.trade().unwrap(), back.payload.trade().unwrap());
                proptest::prop_assert_eq!(back.event_time, e.event_time);
                proptest::prop_assert!(b.price.eq_value(t.price) && b.size.eq_value(t.size));
                proptest::prop_assert_eq!(&b.conditions, &t.conditions);
                proptest::prop_assert_eq!(&back.venue, &e.venue);
            }
        }
    }

    #[test]
    fn milliseconds_keep_finer_times_as_a_fraction() {
        let at = |h, m, s, ns| {
            NaiveDate::from_ymd_opt(2014, 5, 1)
                .unwrap()
                .and_hms_nano_opt(h, m, s, ns)
                .unwrap()
        };
        assert_eq!(LeanWriter::ms(at(0, 0, 1, 787_000_000)), "1787");
        assert_eq!(LeanWriter::ms(at(4, 0, 0, 464_000_000)), "14400464");
        assert_eq!(LeanWriter::ms(at(0, 0, 0, 46_204_200)), "46.2042");
        assert_eq!(LeanWriter::ms(at(0, 0, 0, 1)), "0.000001");
        // And the importer reads them back to the nanosecond.
        for ns in [1_787_000_000i64, 46_204_200, 1] {
            let text = LeanWriter::ms(
                NaiveDate::from_ymd_opt(2014, 5, 1)
                    .unwrap()
                    .and_time(NaiveTime::MIN)
                    + chrono::Duration::nanoseconds(ns),
            );
            assert_eq!(
                strata_import::lean::parse_ms_time(&text).unwrap(),
                ns,
                "{text}"
            );
        }
    }

    proptest::proptest! {
        /// A futures contract's zip and entry names, at every resolution and tick type, read
        /// back through the importer to the same contract and contract month.
        #[test]
        fn futures_entry_names_read_back_to_their_contract_and_month(
            root in "[A-Z][A-Z0-9]{0,3}",
            year in 2000i32..2099,
            month in 1u32..=12,
            expiry_days in 0u64..400,
            day_offset in 0u64..300,
            resolution in proptest::sample::select(vec![
                LeanResolution::Tick, LeanResolution::Second, LeanResolution::Minute,
                LeanResolution::Hour, LeanResolution::Daily,
            ]),
            tick_type in proptest::sample::select(vec![LeanTickType::Trade, LeanTickType::Quote]),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let start = NaiveDate::from_ymd_opt(year, month, 1).unwrap();
            // An expiry near the contract month, before or after it (crude oil expires the
            // month before).
            let expiry = start.checked_sub_days(Days::new(40)).unwrap() + Days::new(expiry_days);
            let contract = strata_model::Contract::future(root.clone(), expiry);
            let symbol = contract.symbol();
            let yyyymm = (year as u32) * 100 + month;
            let w = writer(dir.path(), LeanSecurityType::Future, "cme")
                .with_contract_months(BTreeMap::from([(symbol.clone(), yyyymm)]));
            let key = ZipKey {
                symbol: symbol.clone(),
                tick_type,
                resolution,
                date: resolution
                    .is_intraday_file()
                    .then(|| start + Days::new(day_offset)),
            };
            let (file, entry) = read_back_names(&w, &key);
            proptest::prop_assert_eq!(file.date, key.date);
            proptest::prop_assert_eq!(file.contract_of_entry(&entry).unwrap(), Some(contract));
            proptest::prop_assert_eq!(file.contract_month_of_entry(&entry), Some(yyyymm));
        }

        /// An option contract's zip and entry names — equity options, index options and
        /// options on futures — at every resolution and tick type, read back through the
        /// importer to the same contract (underlying, style, right, strike, expiry).
        #[test]
        fn option_entry_names_read_back_to_their_contract(
            security in proptest::sample::select(vec![
                LeanSecurityType::Option, LeanSecurityType::IndexOption,
                LeanSecurityType::FutureOption,
            ]),
            root in "[A-Z][A-Z0-9]{0,4}",
            future_days in 0u64..2_000,
            expiry_days in 0u64..2_000,
            day_offset in 0u64..2_000,
            strike_ticks in 1i64..100_000_000,
            call in proptest::bool::ANY,
            american in proptest::bool::ANY,
            resolution in proptest::sample::select(vec![
                LeanResolution::Tick, LeanResolution::Second, LeanResolution::Minute,
                LeanResolution::Hour, LeanResolution::Daily,
            ]),
            tick_type in proptest::sample::select(vec![
                LeanTickType::Trade, LeanTickType::Quote, LeanTickType::OpenInterest,
            ]),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let base = NaiveDate::from_ymd_opt(2010, 1, 1).unwrap();
            let expiry = base + Days::new(expiry_days);
            let strike = Decimal::new(strike_ticks, 4).unwrap();
            let right = if call {
                strata_model::OptionRight::Call
            } else {
                strata_model::OptionRight::Put
            };
            let style = if american {
                strata_model::OptionStyle::American
            } else {
                strata_model::OptionStyle::European
            };
            // An option on a future has the future for its underlying.
            let underlying = if security == LeanSecurityType::FutureOption {
                strata_model::Contract::future(root.clone(), base + Days::new(future_days)).symbol()
            } else {
                root.clone()
            };
            let contract =
                strata_model::Contract::option(underlying, expiry, right, strike, Some(style));
            let symbol = contract.symbol();
            let market = if security == LeanSecurityType::FutureOption { "cme" } else { "usa" };
            let w = writer(dir.path(), security, market)
                .with_option_styles(BTreeMap::from([(symbol.clone(), style)]));
            let date = base + Days::new(day_offset);
            let key = ZipKey {
                symbol: symbol.clone(),
                tick_type,
                resolution,
                date: w.file_date(resolution, date),
            };
            let (file, entry) = read_back_names(&w, &key);
            proptest::prop_assert_eq!(file.symbol.as_str(), root.as_str());
            let read = file.contract_of_entry(&entry).unwrap().unwrap();
            proptest::prop_assert_eq!(read.symbol(), symbol);
            proptest::prop_assert_eq!(read.style, Some(style));
        }
    }
}
