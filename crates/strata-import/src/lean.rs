//! QuantConnect Lean tick and bar zips.
//!
//! Lean keeps one CSV (no header) per zip, and what the rows mean follows from the path:
//!
//! | path | rows |
//! |---|---|
//! | `equity/usa/tick/spy/20131007_trade.zip` | `ms, price×10⁴, size, exchange, sale condition, suspicious` → [`Trade`] |
//! | `equity/usa/tick/aig/20131009_quote.zip` | `ms, bid×10⁴, bid size, ask×10⁴, ask size, exchange, condition, suspicious` → [`BboQuote`] |
//! | `forex/fxcm/tick/eurusd/20140501_quote.zip` | `ms, bid, ask` → [`BboQuote`] |
//! | `crypto/coinbase/tick/btcusd/20140501_trade.zip` | `ms, price, quantity` → [`Trade`] |
//! | `crypto/…/tick/…/…_quote.zip` | `ms, bid, bid size, ask, ask size` → [`BboQuote`] |
//! | `…/{second,minute}/spy/20131007_trade.zip` | `ms, open, high, low, close, volume` → [`Bar`] |
//! | `…/{second,minute}/spy/20131007_quote.zip` | `ms, bid OHLC, bid size, ask OHLC, ask size` (forex/cfd: `ms, bid OHLC, ask OHLC`) → [`BboQuote`] |
//! | `…/{hour,daily}/spy.zip` (`spy_trade.zip`, `spy_quote.zip`) | as the bars above, with `yyyymmdd HH:mm` for the time |
//!
//! What strata makes of them (each choice is deliberate; the tests in
//! `tests/lean_zips_import_exactly.rs` pin them):
//!
//! - **Times.** Lean writes milliseconds since midnight (or `yyyymmdd HH:mm`) in the data's
//!   time zone; some brokers' CFD and forex tick files give the milliseconds a fraction
//!   (`46.2042`), kept to the nanosecond ([`parse_ms_time`]). The zone is
//!   America/New_York for US equities, UTC-05 all year (no daylight saving) for FXCM forex and
//!   CFDs, UTC for other forex, CFDs and crypto (the `dataTimeZone` of Lean's
//!   `Data/market-hours/market-hours-database.json`). strata converts with `chrono-tz`, daylight-saving correct: 09:30 in
//!   New York is 13:30Z in summer and 14:30Z in winter. A wall-clock time that does not exist
//!   (inside a spring-forward hour) is rejected; an ambiguous one (the repeated fall-back hour)
//!   takes the earlier instant.
//! - **Prices.** Equity prices are integers in 1/10,000 dollar and become
//!   `Decimal::new(v, 4)`: `1234500` is `"123.4500"`, exactly. Forex, CFD and crypto prices are
//!   plain decimals and keep the text's scale (`1.38727`).
//! - **Sequence.** Lean has no sequence numbers; strata uses the row's 1-based line number
//!   within the CSV, so that order within a file survives storage.
//! - **Trade conditions.** `conditions` is the sale condition as written; when the suspicious
//!   flag is `1`, `;suspicious` is appended (`"20002000;suspicious"`, or `"suspicious"` alone
//!   when there is no condition). The exchange code becomes the venue.
//! - **Quote ticks.** A side with price 0 and size 0 did not change in that tick: it carries the
//!   side's previous value (absent before the file's first value for that side). Quote
//!   conditions and the suspicious flag have no place in a [`BboQuote`] and are not kept.
//! - **Forex/CFD quote ticks** have no sizes; a [`Level`] needs one, so the size is stored as
//!   `0`, meaning *not published* (an absent side would wrongly say the book was empty, and the
//!   price is what matters). Their quote bars carry the last bid and ask sizes like every other
//!   quote bar (11 columns); a bar row of 9 columns (no sizes) is read with sizes `0`.
//! - **Perpetuals.** A crypto future without expiry is tagged `perp` in its entry name
//!   (`20240102_btcusdt_minute_trade_perp.csv`): its events carry the plain symbol.
//! - **Bars** are stamped at their **end**: a minute bar starting 09:30 is an event at 09:31,
//!   so that no bar is visible before it is complete. Second, minute and hour bars end
//!   `interval` later; a daily bar ends at the next local midnight (Lean's own end time for
//!   daily bars). Quote bars become a [`BboQuote`] at the bar's end from the closing bid/ask
//!   (with the bar's sizes).

use std::collections::VecDeque;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

use chrono::{Days, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
use chrono_tz::Tz;
use strata_model::{
    Bar, BboQuote, Contract, Decimal, Event, EventKind, Level, OpenInterest, OptionRight,
    OptionStyle, Payload, SchemaVersion, Timestamp, Trade,
};

use crate::error::{ImportError, Result, RowError};
use crate::input::{rejected_line, Input, LineImport, LineParser, RowSource};
use crate::options::{ImportOptions, LeanOverrides};
use crate::record::{Record, Rejected};
use crate::zipentry::{self, Opener, ZipEntry};

const NANOS_PER_MS: i64 = 1_000_000;
const NANOS_PER_S: i64 = 1_000_000_000;
const MS_PER_DAY: i64 = 86_400_000;

/// Declares a set of Lean's names with [`strata_model::named_enum!`] (`ALL`, `as_str` — Lean's
/// lower-case name — and `Display`), and a `FromStr` that reads them in any case.
macro_rules! lean_enum {
    ($(#[$meta:meta])* $name:ident, $what:literal { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        strata_model::named_enum! {
            $(#[$meta])*
            #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
            pub enum $name { $($(#[$vmeta])* $variant = $text),+ }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                $(if s.eq_ignore_ascii_case($text) { return Ok($name::$variant); })+
                Err(format!(concat!("unknown Lean ", $what, " `{}`; expected one of: ", $($text, " "),+), s))
            }
        }
    };
}

lean_enum!(
    /// The security types whose files strata reads.
    LeanSecurityType, "security type" {
        /// Equities (prices ×10,000).
        Equity = "equity",
        /// Currency pairs.
        Forex = "forex",
        /// Crypto.
        Crypto = "crypto",
        /// Contracts for difference.
        Cfd = "cfd",
        /// Futures (one CSV per contract in a zip; plain prices).
        Future = "future",
        /// Equity options (one CSV per contract; prices ×10,000).
        Option = "option",
        /// Indices (plain prices).
        Index = "index",
        /// Index options (one CSV per contract; prices ×10,000).
        IndexOption = "indexoption",
        /// Options on futures (one CSV per contract, under the future's expiry; plain prices).
        FutureOption = "futureoption",
        /// Crypto futures and perpetuals (plain prices).
        CryptoFuture = "cryptofuture",
    }
);

lean_enum!(
    /// Lean's data resolutions.
    LeanResolution, "resolution" {
        /// Every tick.
        Tick = "tick",
        /// One-second bars.
        Second = "second",
        /// One-minute bars.
        Minute = "minute",
        /// One-hour bars.
        Hour = "hour",
        /// Daily bars.
        Daily = "daily",
    }
);

lean_enum!(
    /// Trades or quotes.
    LeanTickType, "tick type" {
        /// Trade ticks or trade bars.
        Trade = "trade",
        /// Quote ticks or quote bars.
        Quote = "quote",
        /// Open interest (futures and options).
        OpenInterest = "openinterest",
    }
);

impl LeanSecurityType {
    /// The asset class of this security type's instruments.
    pub const fn asset_class(self) -> strata_model::AssetClass {
        use strata_model::AssetClass as A;
        match self {
            LeanSecurityType::Equity => A::Equity,
            LeanSecurityType::Forex => A::Forex,
            LeanSecurityType::Crypto | LeanSecurityType::CryptoFuture => A::Crypto,
            LeanSecurityType::Cfd => A::Other,
            LeanSecurityType::Future => A::Future,
            LeanSecurityType::Option
            | LeanSecurityType::IndexOption
            | LeanSecurityType::FutureOption => A::Option,
            LeanSecurityType::Index => A::Index,
        }
    }

    /// True for types whose zips hold one CSV per contract, named in the entry.
    pub const fn has_contracts(self) -> bool {
        matches!(
            self,
            LeanSecurityType::Future
                | LeanSecurityType::Option
                | LeanSecurityType::IndexOption
                | LeanSecurityType::FutureOption
                | LeanSecurityType::CryptoFuture
        )
    }

    /// True for options of any kind.
    pub const fn is_option(self) -> bool {
        matches!(
            self,
            LeanSecurityType::Option
                | LeanSecurityType::IndexOption
                | LeanSecurityType::FutureOption
        )
    }

    /// True for types whose files hold quotes only (no trades).
    pub const fn quotes_only(self) -> bool {
        matches!(self, LeanSecurityType::Forex | LeanSecurityType::Cfd)
    }

    /// True for types whose quotes carry no sizes.
    pub const fn unsized_quotes(self) -> bool {
        self.quotes_only()
    }

    /// True for types whose tick rows end after price and size (plus a suspicious flag).
    pub const fn short_ticks(self) -> bool {
        matches!(
            self,
            LeanSecurityType::Crypto | LeanSecurityType::CryptoFuture
        )
    }
}

impl LeanResolution {
    /// Bar length in seconds (`None` for ticks).
    pub const fn interval_s(self) -> Option<u32> {
        match self {
            LeanResolution::Tick => None,
            LeanResolution::Second => Some(1),
            LeanResolution::Minute => Some(60),
            LeanResolution::Hour => Some(3_600),
            LeanResolution::Daily => Some(86_400),
        }
    }

    /// True for resolutions with one file per day and millisecond times.
    pub const fn is_intraday_file(self) -> bool {
        matches!(
            self,
            LeanResolution::Tick | LeanResolution::Second | LeanResolution::Minute
        )
    }
}

/// What a Lean file holds, as its path (and the options) say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeanFile {
    /// Security type.
    pub security_type: LeanSecurityType,
    /// Market (`usa`, `fxcm`, …).
    pub market: String,
    /// Resolution.
    pub resolution: LeanResolution,
    /// Symbol, upper case (`SPY`).
    pub symbol: String,
    /// Trading date (tick, second and minute files).
    pub date: Option<NaiveDate>,
    /// Trades, quotes or open interest.
    pub tick_type: LeanTickType,
    /// For options on futures: the underlying future's expiry (the folder above the zip).
    pub underlying_expiry: Option<NaiveDate>,
}

/// The pieces a path gives; any may be missing.
#[derive(Debug, Default)]
struct PathParts {
    security_type: Option<LeanSecurityType>,
    market: Option<String>,
    resolution: Option<LeanResolution>,
    symbol: Option<String>,
    date: Option<NaiveDate>,
    tick_type: Option<LeanTickType>,
    underlying_expiry: Option<NaiveDate>,
}

fn parse_date(text: &str) -> Option<NaiveDate> {
    if text.len() != 8 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    NaiveDate::parse_from_str(text, "%Y%m%d").ok()
}

/// Reads what it can from a path. Lean's layouts (`LeanData.GenerateZipFilePath`):
///
/// - `…/<security>/<market>/<resolution>/<symbol>/<date>_<type>[_<style>].zip` (tick, second,
///   minute; options add their style: `20210104_trade_american.zip`);
/// - `…/<security>/<market>/<resolution>/<symbol>[_<year>]_<type>[_<style>].zip` (hour, daily);
/// - options on futures put the underlying future's expiry in a folder of its own:
///   `futureoption/cme/minute/es/20240315/20240301_quote_american.zip`;
/// - an entry taken out of a zip (`20131007_spy_tick_trade.csv`) in the zip's folder.
fn parts_from_path(path: &Path) -> PathParts {
    let comps: Vec<String> = path
        .components()
        .map(|c| c.as_os_str().to_string_lossy().to_ascii_lowercase())
        .collect();
    let mut parts = PathParts::default();
    let Some(file) = comps.last() else {
        return parts;
    };
    let stem = file.split('.').next().unwrap_or(file);
    let pieces: Vec<&str> = stem.split('_').collect();
    parts.tick_type = pieces.iter().find_map(|p| p.parse().ok());
    let dated = pieces.first().and_then(|p| parse_date(p));
    parts.date = dated;
    // The tree: `<security>/<market>/<resolution>/` followed by the symbol folder (intraday),
    // then for options on futures the underlying's expiry folder, then the file.
    let n = comps.len();
    let tree = (0..n.saturating_sub(3)).rev().find(|&i| {
        comps[i].parse::<LeanSecurityType>().is_ok()
            && comps[i + 2].parse::<LeanResolution>().is_ok()
    });
    if let Some(i) = tree {
        parts.security_type = comps[i].parse().ok();
        parts.market = Some(comps[i + 1].clone());
        parts.resolution = comps[i + 2].parse().ok();
        let folders = &comps[i + 3..n - 1];
        match folders {
            [symbol, rest @ ..] => {
                parts.symbol = Some(symbol.clone());
                parts.underlying_expiry = rest.first().and_then(|f| parse_date(f));
            }
            [] if dated.is_none() => {
                // `<symbol>[_<year>]_<type>[_<style>]` (hour, daily).
                parts.symbol = pieces.first().map(|p| (*p).to_string());
            }
            [] => {}
        }
    }
    parts
}

impl LeanFile {
    /// What `path` holds, with `overrides`, `symbol` and `kind` (a `trade`/`bar` kind selects
    /// trades, `bbo_quote` quotes) taking precedence over the path. The error says what could not
    /// be told and which option supplies it.
    pub fn resolve(
        path: &Path,
        overrides: &LeanOverrides,
        symbol: Option<&str>,
        kind: Option<EventKind>,
    ) -> Result<Self, String> {
        let parts = parts_from_path(path);
        let missing = |what: &str, option: &str| {
            format!(
                "cannot tell the {what} from the path (expected …/<security>/<market>/<resolution>/<symbol>/<yyyymmdd>_<trade|quote>.zip); set {option}"
            )
        };
        let security_type = overrides
            .security_type
            .or(parts.security_type)
            .ok_or_else(|| missing("security type", "the Lean security type"))?;
        let resolution = overrides
            .resolution
            .or(parts.resolution)
            .ok_or_else(|| missing("resolution", "the Lean resolution"))?;
        let market = overrides
            .market
            .clone()
            .or(parts.market)
            .ok_or_else(|| missing("market", "the Lean market"))?;
        let symbol = symbol
            .map(str::to_string)
            .or_else(|| parts.symbol.map(|s| s.to_ascii_uppercase()))
            .ok_or_else(|| missing("symbol", "--symbol"))?;
        let kind_tick_type = match kind {
            None => None,
            Some(EventKind::Trade | EventKind::Bar) => Some(LeanTickType::Trade),
            Some(EventKind::BboQuote) => Some(LeanTickType::Quote),
            Some(EventKind::OpenInterest) => Some(LeanTickType::OpenInterest),
            Some(other) => {
                return Err(format!(
                    "Lean files hold trades, quotes, bars or open interest, not `{other}`"
                ))
            }
        };
        // Lean's forex and CFD data are quotes only; a bare `eurusd.zip` holds quote bars.
        let default_tick_type = if security_type.quotes_only() {
            LeanTickType::Quote
        } else {
            LeanTickType::Trade
        };
        let tick_type = overrides
            .tick_type
            .or(kind_tick_type)
            .or(parts.tick_type)
            .unwrap_or(default_tick_type);
        let date = overrides.date.or(parts.date);
        if resolution.is_intraday_file() && date.is_none() {
            return Err(missing("date", "the Lean date"));
        }
        if tick_type == LeanTickType::Trade && security_type.quotes_only() {
            return Err(format!(
                "Lean {security_type} data has quotes only, not trades"
            ));
        }
        if tick_type == LeanTickType::OpenInterest && !security_type.has_contracts() {
            return Err(format!(
                "Lean has open interest for futures and options, not for {security_type}"
            ));
        }
        let underlying_expiry = overrides.underlying_expiry.or(parts.underlying_expiry);
        if security_type == LeanSecurityType::FutureOption && underlying_expiry.is_none() {
            return Err(missing(
                "underlying future's expiry (the folder above the zip, futureoption/<market>/<resolution>/<root>/<yyyymmdd>/…)",
                "the Lean underlying expiry",
            ));
        }
        Ok(LeanFile {
            security_type,
            market,
            resolution,
            symbol,
            date: resolution.is_intraday_file().then_some(date).flatten(),
            tick_type,
            underlying_expiry,
        })
    }

    /// The time zone Lean writes this file's times in, when strata knows the market.
    pub fn default_time_zone(&self) -> Option<Tz> {
        use LeanSecurityType as T;
        match self.security_type {
            T::Equity | T::Option | T::IndexOption if self.market == "usa" => {
                Some(chrono_tz::America::New_York)
            }
            T::Equity | T::Option | T::IndexOption => None,
            // Lean's market-hours database: `Index-usa-[*]` is in Chicago time, except NDX.
            T::Index if self.market == "usa" && self.symbol.eq_ignore_ascii_case("NDX") => {
                Some(chrono_tz::America::New_York)
            }
            T::Index if self.market == "usa" => Some(chrono_tz::America::Chicago),
            T::Index => None,
            // Futures data (and options on them) is written in UTC in every market.
            T::Future | T::FutureOption | T::CryptoFuture => Some(chrono_tz::UTC),
            // Lean's market-hours database gives FXCM's data time zone as `UTC-05`: a fixed
            // five hours behind UTC, with no daylight saving (New York standard time all year).
            LeanSecurityType::Forex | LeanSecurityType::Cfd if self.market == "fxcm" => {
                Some(chrono_tz::Etc::GMTPlus5)
            }
            LeanSecurityType::Forex | LeanSecurityType::Cfd | LeanSecurityType::Crypto => {
                Some(chrono_tz::UTC)
            }
        }
    }

    /// True when prices are integers in 1/10,000 (equities, equity and index options).
    pub fn scaled_prices(&self) -> bool {
        matches!(
            self.security_type,
            LeanSecurityType::Equity | LeanSecurityType::Option | LeanSecurityType::IndexOption
        )
    }

    /// The contract month (`yyyymm`) a futures entry's name gives (`…_201312_20131119.csv`).
    pub fn contract_month_of_entry(&self, entry: &str) -> Option<u32> {
        if self.security_type != LeanSecurityType::Future {
            return None;
        }
        let name = entry.rsplit(['/', '\\']).next().unwrap_or(entry);
        let stem = name.split('.').next().unwrap_or(name);
        let pieces: Vec<&str> = stem.split('_').collect();
        let month = pieces.get(pieces.len().checked_sub(2)?)?;
        (month.len() == 6 && month.bytes().all(|b| b.is_ascii_digit()))
            .then(|| month.parse::<u32>().ok())
            .flatten()
            .filter(|m| (1..=12).contains(&(m % 100)))
    }

    /// The contract a CSV of this file holds, from the CSV's name (Lean's
    /// `GenerateZipEntryName`): futures `{date}_{root}_{res}_{type}_{yyyymm}_{expiry}.csv`
    /// (hour/daily without the date and resolution), options
    /// `{date}_{underlying}_{res}_{type}_{style}_{call|put}_{strike×10⁴}_{expiry}.csv`. `None`
    /// for types without contracts, and for crypto perpetuals (no expiry in the name).
    pub fn contract_of_entry(&self, entry: &str) -> Result<Option<Contract>, String> {
        if !self.security_type.has_contracts() {
            return Ok(None);
        }
        let name = entry.rsplit(['/', '\\']).next().unwrap_or(entry);
        let stem = name.split('.').next().unwrap_or(name).to_ascii_lowercase();
        let pieces: Vec<&str> = stem.split('_').collect();
        let bad = |why: &str| {
            format!(
                "`{name}` is not a Lean {} contract file name: {why}",
                self.security_type
            )
        };
        let t = pieces
            .iter()
            .position(|p| p.parse::<LeanTickType>().is_ok())
            .ok_or_else(|| bad("no trade/quote/openinterest in it"))?;
        let root_at = usize::from(pieces.first().and_then(|p| parse_date(p)).is_some());
        let root = pieces
            .get(root_at)
            .filter(|_| root_at < t)
            .map(|r| r.to_ascii_uppercase())
            .unwrap_or_else(|| self.symbol.to_ascii_uppercase());
        let after = &pieces[t + 1..];
        let date = |text: &str, what: &str| {
            parse_date(text).ok_or_else(|| bad(&format!("`{text}` is not the {what} (yyyymmdd)")))
        };
        if self.security_type.is_option() {
            let [style, right, strike, expiry] = after else {
                return Err(bad(
                    "expected _<style>_<call|put>_<strike×10000>_<expiry> after the type",
                ));
            };
            let style = style
                .parse::<OptionStyle>()
                .map_err(|e| bad(&e.to_string()))?;
            let right = right
                .parse::<OptionRight>()
                .map_err(|e| bad(&e.to_string()))?;
            let strike = strike
                .parse::<i64>()
                .ok()
                .and_then(|v| Decimal::new(v, 4).ok())
                .ok_or_else(|| bad(&format!("strike `{strike}` is not an integer ×10000")))?;
            let expiry = date(expiry, "expiry")?;
            let underlying = match self.security_type {
                LeanSecurityType::FutureOption => {
                    let future_expiry = self
                        .underlying_expiry
                        .ok_or_else(|| bad("the underlying future's expiry is not known"))?;
                    Contract::future(root, future_expiry).symbol()
                }
                _ => root,
            };
            return Ok(Some(Contract::option(
                underlying,
                expiry,
                right,
                strike,
                Some(style),
            )));
        }
        match after {
            [] if self.security_type == LeanSecurityType::CryptoFuture => Ok(None),
            // Lean tags a contract without an expiry — a crypto perpetual — `perp` where a dated
            // one has `<yyyymm>_<expiry>` (`LeanData.GenerateZipEntryName`): no contract, the
            // instrument's own symbol.
            ["perp"] if self.security_type == LeanSecurityType::CryptoFuture => Ok(None),
            [_month, expiry] => Ok(Some(Contract::future(root, date(expiry, "expiry")?))),
            [expiry] => Ok(Some(Contract::future(root, date(expiry, "expiry")?))),
            _ => Err(bad("expected _<yyyymm>_<expiry> after the type")),
        }
    }
}

/// Everything a row parser needs: the file's description, the time zone, and the fixed event
/// metadata. Build it once per file.
#[derive(Debug, Clone)]
pub struct LeanContext {
    file: LeanFile,
    source: String,
    venue: Option<String>,
    tz: Tz,
    /// Local midnight of the trading date (intraday files).
    midnight: Option<NaiveDateTime>,
    /// UTC nanoseconds of local midnight when the whole day has one UTC offset: times are then
    /// a single addition (the common case; DST change days take the `chrono-tz` path per row).
    midnight_utc_ns: Option<i64>,
}

impl LeanContext {
    /// A context for `file`. `tz` overrides the market's zone (required for markets strata does
    /// not know); `venue` is used for rows that name no exchange.
    pub fn new(
        file: LeanFile,
        source: impl Into<String>,
        venue: Option<String>,
        tz: Option<Tz>,
    ) -> Result<Self, String> {
        let tz = tz.or_else(|| file.default_time_zone()).ok_or_else(|| {
            format!(
                "the time zone of Lean market `{}` is not known; set the Lean time zone",
                file.market
            )
        })?;
        Ok(Self::in_zone(file, source.into(), venue, tz))
    }

    /// A context for a US equity file of `symbol` on `date` (source `lean`, New York time).
    pub fn us_equity(
        symbol: &str,
        date: NaiveDate,
        resolution: LeanResolution,
        tick_type: LeanTickType,
    ) -> Self {
        let file = LeanFile {
            security_type: LeanSecurityType::Equity,
            market: "usa".into(),
            resolution,
            symbol: symbol.to_string(),
            date: resolution.is_intraday_file().then_some(date),
            tick_type,
            underlying_expiry: None,
        };
        Self::in_zone(file, "lean".into(), None, chrono_tz::America::New_York)
    }

    fn in_zone(file: LeanFile, source: String, venue: Option<String>, tz: Tz) -> Self {
        let midnight = file.date.and_then(|d| d.and_hms_opt(0, 0, 0));
        let midnight_utc_ns = midnight.and_then(|local| {
            let start = tz.from_local_datetime(&local).single()?;
            let next = local.checked_add_days(Days::new(1))?;
            let end = tz.from_local_datetime(&next).single()?;
            let start_ns = start.timestamp_nanos_opt()?;
            (end.timestamp_nanos_opt()? - start_ns == MS_PER_DAY * NANOS_PER_MS).then_some(start_ns)
        });
        LeanContext {
            file,
            source,
            venue,
            tz,
            midnight,
            midnight_utc_ns,
        }
    }

    /// The file's description.
    pub fn file(&self) -> &LeanFile {
        &self.file
    }

    /// This context for one contract: its events carry the contract's symbol. Returns the
    /// context and the symbol-registry entry that describes the contract, with the contract
    /// month (`yyyymm`) the entry's name gives, when it gives one.
    pub fn for_contract_of(
        &self,
        contract: Contract,
        month: Option<u32>,
    ) -> (LeanContext, strata_model::SymbolInfo) {
        let mut ctx = self.clone();
        ctx.file.symbol = contract.symbol();
        let mut info = strata_model::SymbolInfo::new(
            ctx.file.symbol.clone(),
            self.file.security_type.asset_class(),
        );
        info.exchange = Some(self.file.market.to_ascii_uppercase());
        info.contract = Some(contract);
        info.contract_month = month;
        (ctx, info)
    }

    /// The zone times are read in.
    pub fn time_zone(&self) -> Tz {
        self.tz
    }

    /// Parses one row of this context's file into an event, whatever its layout; `row` is the
    /// 1-based line number (it becomes the sequence) and `carry` holds quote sides between rows.
    pub fn parse_row(
        &self,
        line: &str,
        row: u64,
        carry: &mut QuoteCarry,
    ) -> Result<Event, RowError> {
        match (self.file.resolution, self.file.tick_type) {
            (_, LeanTickType::OpenInterest) => parse_open_interest_row(line, row, self),
            (LeanResolution::Tick, LeanTickType::Trade) => parse_trade_row(line, row, self),
            (LeanResolution::Tick, LeanTickType::Quote) => parse_quote_row(line, row, self, carry),
            _ => parse_bar_row(line, row, self),
        }
    }

    /// The UTC time of `ms` milliseconds after the trading date's local midnight.
    pub fn time_of_ms(&self, ms: i64) -> Result<Timestamp, RowError> {
        let ns = ms
            .checked_mul(NANOS_PER_MS)
            .ok_or_else(|| RowError::OutOfRange {
                what: format!("{ms} ms after midnight"),
            })?;
        self.time_of_ns(ns)
    }

    /// The UTC time of `ns` nanoseconds after the trading date's local midnight.
    pub fn time_of_ns(&self, ns: i64) -> Result<Timestamp, RowError> {
        if let Some(base) = self.midnight_utc_ns {
            if (0..MS_PER_DAY * NANOS_PER_MS).contains(&ns) {
                return Ok(Timestamp::from_nanos(base + ns));
            }
        }
        let midnight = self.midnight.ok_or_else(|| {
            RowError::invalid("this file has no trading date for millisecond times")
        })?;
        let local = midnight
            .checked_add_signed(chrono::TimeDelta::nanoseconds(ns))
            .ok_or_else(|| RowError::OutOfRange {
                what: format!("{ns} ns after midnight"),
            })?;
        self.local_to_utc(local)
    }

    fn local_to_utc(&self, local: NaiveDateTime) -> Result<Timestamp, RowError> {
        let at = self
            .tz
            .from_local_datetime(&local)
            .earliest()
            .ok_or_else(|| {
                RowError::invalid(format!(
                    "{local} does not exist in {} (a clock change)",
                    self.tz
                ))
            })?;
        Timestamp::from_datetime(&at).ok_or_else(|| RowError::OutOfRange {
            what: local.to_string(),
        })
    }

    fn event(
        &self,
        event_time: Timestamp,
        row: u64,
        venue: Option<&str>,
        payload: Payload,
    ) -> Event {
        Event {
            schema: SchemaVersion::CURRENT,
            source: self.source.clone(),
            symbol: self.file.symbol.clone(),
            venue: match venue {
                Some(v) if !v.is_empty() => Some(v.to_string()),
                _ => self.venue.clone(),
            },
            event_time,
            receive_time: event_time,
            time_basis: strata_model::TimeBasis::Venue,
            sequence: Some(row),
            payload,
        }
    }

    /// A price column: integer ×10⁴ for equities, plain decimal otherwise.
    fn price(&self, text: &str, column: &str) -> Result<Decimal, RowError> {
        if self.file.scaled_prices() {
            let v = parse_int(text, column, "an integer price×10000")?;
            Decimal::new(v, 4).map_err(|source| RowError::Decimal {
                field: column.to_string(),
                source,
            })
        } else {
            parse_decimal(text, column)
        }
    }

    /// A size column: integer for equities, decimal otherwise.
    fn size(&self, text: &str, column: &str) -> Result<Decimal, RowError> {
        if self.file.scaled_prices() {
            parse_int(text, column, "an integer size").map(Decimal::from_int)
        } else {
            parse_decimal(text, column)
        }
    }

    /// The bar's (start, end) from its time column.
    fn bar_times(&self, text: &str) -> Result<(Timestamp, Timestamp), RowError> {
        let interval = i64::from(self.file.resolution.interval_s().unwrap_or(0)) * NANOS_PER_S;
        let start = if self.file.resolution.is_intraday_file() {
            self.time_of_ns(parse_ms_time(text)?)?
        } else {
            let local = NaiveDateTime::parse_from_str(text, "%Y%m%d %H:%M")
                .map_err(|_| bad_time(text, "is not `yyyymmdd HH:mm`"))?;
            if self.file.resolution == LeanResolution::Daily {
                let next = local
                    .date()
                    .checked_add_days(Days::new(1))
                    .ok_or_else(|| bad_time(text, "is out of range"))?;
                let end = self.local_to_utc(next.and_time(NaiveTime::MIN))?;
                return Ok((self.local_to_utc(local)?, end));
            }
            self.local_to_utc(local)?
        };
        let end = start
            .as_nanos()
            .checked_add(interval)
            .map(Timestamp::from_nanos)
            .ok_or_else(|| bad_time(text, "is out of range"))?;
        Ok((start, end))
    }
}

/// A bad value in the `time` column.
fn bad_time(text: &str, reason: &str) -> RowError {
    RowError::bad_value(text, reason).in_field("time")
}

/// Quote sides carried from one quote tick to the next.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QuoteCarry {
    /// The last bid seen.
    pub bid: Option<Level>,
    /// The last ask seen.
    pub ask: Option<Level>,
}

/// The next column, or an error naming it.
#[inline]
fn column<'a>(
    fields: &mut std::str::Split<'a, char>,
    name: &str,
    index: usize,
) -> Result<&'a str, RowError> {
    fields
        .next()
        .map(str::trim)
        .ok_or_else(|| RowError::MissingColumn {
            index,
            name: name.to_string(),
        })
}

/// A time column of milliseconds since midnight, as nanoseconds. Lean writes whole
/// milliseconds (`34200000`) and, in some brokers' CFD and forex tick files, a fraction
/// (`46.2042`: 46 ms and 204.2 µs). Up to six fraction digits are exact; a seventh and later
/// digit (finer than a nanosecond) is rounded to the nearest nanosecond, ties to even, as .NET's
/// `Convert.ToInt64` rounds when Lean itself reads the column into 100 ns ticks.
pub fn parse_ms_time(text: &str) -> Result<i64, RowError> {
    let bad = || bad_time(text, "is not milliseconds since midnight");
    let (whole, fraction) = match text.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (text, None),
    };
    let (negative, digits) = match whole.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, whole),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let ms: i64 = digits.parse().map_err(|_| bad())?;
    let mut ns = ms.checked_mul(NANOS_PER_MS).ok_or_else(bad)?;
    if let Some(fraction) = fraction {
        if fraction.is_empty() || !fraction.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let exact = &fraction[..fraction.len().min(6)];
        let mut sub: i64 = 0;
        for b in exact.bytes() {
            sub = sub * 10 + i64::from(b - b'0');
        }
        for _ in exact.len()..6 {
            sub *= 10;
        }
        // Round on the digits past the nanosecond: above half up, exactly half to even.
        let rest = &fraction[exact.len()..];
        if let Some(first) = rest.bytes().next() {
            let tail_nonzero = rest.bytes().skip(1).any(|b| b != b'0');
            let up = first > b'5' || (first == b'5' && (tail_nonzero || sub % 2 == 1));
            sub += i64::from(up);
        }
        ns = ns.checked_add(sub).ok_or_else(bad)?;
    }
    Ok(if negative { -ns } else { ns })
}

fn parse_int(text: &str, column: &str, what: &str) -> Result<i64, RowError> {
    text.parse::<i64>()
        .map_err(|_| RowError::bad_value(text, format!("is not {what}")).in_field(column))
}

fn parse_decimal(text: &str, column: &str) -> Result<Decimal, RowError> {
    text.parse::<Decimal>().map_err(|source| RowError::Decimal {
        field: column.to_string(),
        source,
    })
}

/// The suspicious flag: `0`/`1` (also `false`/`true`); an absent column is not suspicious.
#[inline]
fn parse_flag(text: Option<&str>) -> Result<bool, RowError> {
    match text.map(str::trim) {
        None | Some("" | "0") => Ok(false),
        Some("1") => Ok(true),
        Some(t) if t.eq_ignore_ascii_case("false") => Ok(false),
        Some(t) if t.eq_ignore_ascii_case("true") => Ok(true),
        Some(t) => Err(RowError::bad_value(t, "is not 0 or 1").in_field("suspicious")),
    }
}

/// Parses a Lean trade tick (`ms, price, size, exchange, sale condition, suspicious` for
/// equities; `ms, price, quantity` for crypto) into a [`Trade`] event (see the module docs for
/// the conventions). `row` is the 1-based line number and becomes the sequence.
///
/// ```
/// use chrono::NaiveDate;
/// use strata_import::lean::{parse_trade_row, LeanContext, LeanResolution, LeanTickType};
///
/// let date = NaiveDate::from_ymd_opt(2013, 10, 7).unwrap();
/// let ctx = LeanContext::us_equity("SPY", date, LeanResolution::Tick, LeanTickType::Trade);
/// let event = parse_trade_row("34200000,1234500,100,P,20002000,1", 7, &ctx)?;
/// assert_eq!(event.event_time.to_string(), "2013-10-07T13:30:00Z");
/// let trade = event.payload.trade().unwrap();
/// assert_eq!(trade.price.to_string(), "123.4500");
/// assert_eq!(trade.conditions.as_deref(), Some("20002000;suspicious"));
/// assert_eq!((event.venue.as_deref(), event.sequence), (Some("P"), Some(7)));
/// # Ok::<(), strata_import::RowError>(())
/// ```
pub fn parse_trade_row(line: &str, row: u64, ctx: &LeanContext) -> Result<Event, RowError> {
    let mut fields = line.split(',');
    let ns = parse_ms_time(column(&mut fields, "time", 1)?)?;
    let price = ctx.price(column(&mut fields, "price", 2)?, "price")?;
    let size = ctx.size(column(&mut fields, "size", 3)?, "size")?;
    let security = ctx.file.security_type;
    let (exchange, conditions) = if security.short_ticks() {
        // Crypto: `ms, price, quantity[, suspicious]`.
        let suspicious = parse_flag(fields.next())?;
        (None, suspicious.then(|| "suspicious".to_string()))
    } else {
        // Equities (required), futures, options and indices (optional, as Lean writes them):
        // `…, exchange, sale condition, suspicious`.
        let exchange = if security == LeanSecurityType::Equity {
            Some(column(&mut fields, "exchange", 4)?)
        } else {
            fields.next().map(str::trim)
        };
        let condition = if security == LeanSecurityType::Equity {
            column(&mut fields, "sale condition", 5)?
        } else {
            fields.next().map_or("", str::trim)
        };
        let suspicious = parse_flag(fields.next())?;
        let conditions = match (condition.is_empty(), suspicious) {
            (true, false) => None,
            (false, false) => Some(condition.to_string()),
            (true, true) => Some("suspicious".to_string()),
            (false, true) => Some(format!("{condition};suspicious")),
        };
        (exchange, conditions)
    };
    let event_time = ctx.time_of_ns(ns)?;
    Ok(ctx.event(
        event_time,
        row,
        exchange,
        Payload::Trade(Trade {
            price,
            size,
            side: None,
            trade_id: None,
            conditions,
        }),
    ))
}

/// Parses a Lean quote tick into a [`BboQuote`] event: equities `ms, bid, bid size, ask, ask
/// size, exchange, condition, suspicious`; crypto `ms, bid, bid size, ask, ask size`; forex and
/// CFDs `ms, bid, ask` (size stored as 0: not published). A side with price 0 and size 0 takes
/// its value from `carry`, which the call then updates.
pub fn parse_quote_row(
    line: &str,
    row: u64,
    ctx: &LeanContext,
    carry: &mut QuoteCarry,
) -> Result<Event, RowError> {
    let mut fields = line.split(',');
    let ns = parse_ms_time(column(&mut fields, "time", 1)?)?;
    let sized = !ctx.file.security_type.unsized_quotes();
    let (bid, ask) = if sized {
        let bid_price = ctx.price(column(&mut fields, "bid price", 2)?, "bid price")?;
        let bid_size = ctx.size(column(&mut fields, "bid size", 3)?, "bid size")?;
        let ask_price = ctx.price(column(&mut fields, "ask price", 4)?, "ask price")?;
        let ask_size = ctx.size(column(&mut fields, "ask size", 5)?, "ask size")?;
        (
            Level {
                price: bid_price,
                size: bid_size,
            },
            Level {
                price: ask_price,
                size: ask_size,
            },
        )
    } else {
        let bid = ctx.price(column(&mut fields, "bid price", 2)?, "bid price")?;
        let ask = ctx.price(column(&mut fields, "ask price", 3)?, "ask price")?;
        (
            Level {
                price: bid,
                size: Decimal::ZERO,
            },
            Level {
                price: ask,
                size: Decimal::ZERO,
            },
        )
    };
    let security = ctx.file.security_type;
    let exchange = if security == LeanSecurityType::Equity {
        let exchange = column(&mut fields, "exchange", 6)?;
        // The condition and suspicious flag are checked for shape but have no BboQuote field.
        column(&mut fields, "condition", 7)?;
        parse_flag(fields.next())?;
        Some(exchange)
    } else if security.short_ticks() || !sized {
        // Crypto `…, ask size[, suspicious]`; forex and CFDs end at the ask.
        parse_flag(fields.next())?;
        None
    } else {
        // Futures and options: `…, ask size, exchange, suspicious` (a condition column before
        // the flag is accepted too).
        let exchange = fields.next().map(str::trim);
        let rest: Vec<&str> = fields.by_ref().collect();
        parse_flag(rest.last().copied())?;
        exchange
    };
    let event_time = ctx.time_of_ns(ns)?;
    let unchanged = |level: &Level| sized && level.price.is_zero() && level.size.is_zero();
    let bid = if unchanged(&bid) {
        carry.bid
    } else {
        Some(bid)
    };
    let ask = if unchanged(&ask) {
        carry.ask
    } else {
        Some(ask)
    };
    carry.bid = bid;
    carry.ask = ask;
    Ok(ctx.event(
        event_time,
        row,
        exchange,
        Payload::BboQuote(BboQuote { bid, ask }),
    ))
}

/// Parses a Lean bar row: trade bars `time, open, high, low, close, volume` become a [`Bar`];
/// quote bars (`time, bid OHLC, bid size, ask OHLC, ask size`; forex/CFD bars written without
/// the two sizes are read too) become a
/// [`BboQuote`] of the closing bid and ask. Either is stamped at the bar's end. An empty bid or
/// ask block in a quote bar is an absent side.
pub fn parse_bar_row(line: &str, row: u64, ctx: &LeanContext) -> Result<Event, RowError> {
    let mut fields = line.split(',');
    let time = column(&mut fields, "time", 1)?;
    let (_start, end) = ctx.bar_times(time)?;
    let payload = match ctx.file.tick_type {
        LeanTickType::Trade => {
            let mut next_price = |name: &str, index: usize| {
                column(&mut fields, name, index).and_then(|t| ctx.price(t, name))
            };
            let open = next_price("open", 2)?;
            let high = next_price("high", 3)?;
            let low = next_price("low", 4)?;
            let close = next_price("close", 5)?;
            let volume = ctx.size(column(&mut fields, "volume", 6)?, "volume")?;
            Payload::Bar(Bar {
                interval_s: ctx.file.resolution.interval_s().unwrap_or(0),
                open,
                high,
                low,
                close,
                volume,
                trades: None,
                vwap: None,
            })
        }
        LeanTickType::Quote => {
            // Quote bars carry the last bid and ask sizes (11 columns), forex and CFD ones too
            // (`LeanData.GenerateLine`, `QuoteBar.ParseQuote`); a forex/CFD file written
            // without them (9 columns) is read as unsized.
            let sized = !ctx.file.security_type.unsized_quotes()
                || line.bytes().filter(|&b| b == b',').count() >= 10;
            // Column labels are fixed strings: no text is built per row unless it fails.
            let mut side = |name: &str,
                            close_label: &str,
                            size_label: &str,
                            first: usize|
             -> Result<Option<Level>, RowError> {
                let mut texts = [""; 4];
                for (i, text) in texts.iter_mut().enumerate() {
                    *text = column(&mut fields, name, first + i)?;
                }
                let size = if sized {
                    Some(column(&mut fields, name, first + 4)?)
                } else {
                    None
                };
                if texts.iter().all(|t| t.is_empty()) && size.is_none_or(str::is_empty) {
                    return Ok(None);
                }
                let price = ctx.price(texts[3], close_label)?;
                let size = match size {
                    Some(text) => ctx.size(text, size_label)?,
                    None => Decimal::ZERO,
                };
                Ok(Some(Level { price, size }))
            };
            let bid = side("bid", "bid close", "bid size", 2)?;
            let ask = side("ask", "ask close", "ask size", if sized { 7 } else { 6 })?;
            Payload::BboQuote(BboQuote { bid, ask })
        }
        LeanTickType::OpenInterest => return parse_open_interest_row(line, row, ctx),
    };
    Ok(ctx.event(end, row, None, payload))
}

/// Parses a Lean open-interest row, `ms, open interest` (hour and daily files:
/// `yyyymmdd HH:mm, open interest`), into an [`OpenInterest`] event at that time: open interest
/// is a value as of a moment, not a bar, so it is not moved to an end.
pub fn parse_open_interest_row(line: &str, row: u64, ctx: &LeanContext) -> Result<Event, RowError> {
    let mut fields = line.split(',');
    let time = column(&mut fields, "time", 1)?;
    let at = if ctx.file.resolution.is_intraday_file() {
        ctx.time_of_ns(parse_ms_time(time)?)?
    } else {
        let local = NaiveDateTime::parse_from_str(time, "%Y%m%d %H:%M")
            .map_err(|_| bad_time(time, "is not `yyyymmdd HH:mm`"))?;
        ctx.local_to_utc(local)?
    };
    let value = parse_decimal(column(&mut fields, "open interest", 2)?, "open interest")?;
    Ok(ctx.event(at, row, None, Payload::OpenInterest(OpenInterest { value })))
}

/// The row parser behind one CSV of a Lean import.
struct LeanLines {
    ctx: Arc<LeanContext>,
    carry: QuoteCarry,
    file: String,
}

impl LineParser for LeanLines {
    fn parse_line(&mut self, line_no: u64, line: &[u8], out: &mut VecDeque<Record>) {
        let result = std::str::from_utf8(line)
            .map_err(|_| RowError::invalid("the row is not UTF-8 text"))
            .and_then(|text| self.ctx.parse_row(text, line_no, &mut self.carry));
        out.push_back(match result {
            Ok(event) => Record::Event(event),
            Err(reason) => rejected_line(&self.file, line_no, reason.to_string(), line),
        });
    }
}

/// Builds the context for the Lean file `name` from the options.
pub(crate) fn context_for(name: &str, options: &ImportOptions) -> Result<LeanContext> {
    let path_error = |reason| ImportError::LeanPath {
        file: name.to_string(),
        reason,
    };
    let file = LeanFile::resolve(
        Path::new(name),
        &options.lean,
        options.symbol.as_deref(),
        options.kind,
    )
    .map_err(path_error)?;
    let source = options.source_for(crate::Format::Lean);
    LeanContext::new(file, source, options.venue.clone(), options.lean.time_zone)
        .map_err(path_error)
}

/// The Lean importer: the CSV entries of a zip, one after the other (each numbered from line 1,
/// named `archive.zip:entry.csv` in rejections), or one plain CSV stream.
pub(crate) struct LeanImport {
    opener: Option<Box<dyn Opener>>,
    /// A record to yield before reading on (the [`Record::Instrument`] of the next entry).
    pending: Option<Record>,
    entries: VecDeque<ZipEntry>,
    current: Option<LineImport<LeanLines>>,
    ctx: Arc<LeanContext>,
    file: String,
    rows_done: u64,
    stopped: bool,
}

impl LeanImport {
    /// Imports the zip archive `opener` serves, named `file`.
    pub(crate) fn zip(opener: Box<dyn Opener>, file: &str, ctx: LeanContext) -> Result<Self> {
        let entries = zipentry::list_entries(opener.as_ref(), file)?;
        Ok(LeanImport {
            opener: Some(opener),
            pending: None,
            entries: entries.into(),
            current: None,
            ctx: Arc::new(ctx),
            file: file.to_string(),
            rows_done: 0,
            stopped: false,
        })
    }

    /// Imports one CSV stream (already unzipped), named `file`.
    /// With `contract`, the CSV holds that contract (its name said so).
    pub(crate) fn csv(
        input: Input,
        file: &str,
        ctx: LeanContext,
        contract: Option<Contract>,
    ) -> Self {
        let (ctx, pending) = match contract {
            Some(contract) => {
                let month = ctx.file().contract_month_of_entry(file);
                let (ctx, info) = ctx.for_contract_of(contract, month);
                (ctx, Some(Record::Instrument(info)))
            }
            None => (ctx, None),
        };
        let ctx = Arc::new(ctx);
        let lines = LeanLines {
            ctx: ctx.clone(),
            carry: QuoteCarry::default(),
            file: file.to_string(),
        };
        LeanImport {
            opener: None,
            pending,
            entries: VecDeque::new(),
            current: Some(LineImport::new(input, file, lines)),
            ctx,
            file: file.to_string(),
            rows_done: 0,
            stopped: false,
        }
    }
}

impl Iterator for LeanImport {
    type Item = Record;

    fn next(&mut self) -> Option<Record> {
        if let Some(record) = self.pending.take() {
            return Some(record);
        }
        loop {
            if let Some(current) = &mut self.current {
                match current.next() {
                    Some(record) => {
                        if matches!(&record, Record::Rejected(r) if r.stopped_import()) {
                            self.stopped = true;
                            self.entries.clear();
                        }
                        return Some(record);
                    }
                    None => {
                        self.rows_done += current.rows();
                        self.current = None;
                    }
                }
            }
            if self.stopped {
                return None;
            }
            let entry = self.entries.pop_front()?;
            let opener = self.opener.as_deref()?;
            let name = format!("{}:{}", self.file, entry.name);
            // Futures and options: each entry is one contract, named in the entry.
            let ctx = match self.ctx.file().contract_of_entry(&entry.name) {
                Ok(None) => self.ctx.clone(),
                Ok(Some(contract)) => {
                    let month = self.ctx.file().contract_month_of_entry(&entry.name);
                    let (ctx, info) = self.ctx.for_contract_of(contract, month);
                    self.pending = Some(Record::Instrument(info));
                    Arc::new(ctx)
                }
                Err(reason) => {
                    // The entry's rows cannot be told apart from another contract's: the entry
                    // is refused whole (its name is the raw text), the others import.
                    return Some(Record::Rejected(Rejected {
                        file: name,
                        line: 0,
                        reason,
                        raw: entry.name.clone(),
                    }));
                }
            };
            match zipentry::open_entry(opener, &entry) {
                Ok(input) => {
                    let lines = LeanLines {
                        ctx,
                        carry: QuoteCarry::default(),
                        file: name.clone(),
                    };
                    self.current = Some(LineImport::new(input, name, lines));
                    if let Some(record) = self.pending.take() {
                        return Some(record);
                    }
                }
                Err(err) => {
                    self.stopped = true;
                    return Some(Record::Rejected(Rejected {
                        file: name,
                        line: 0,
                        reason: format!("{}{err}", crate::record::READ_ERROR_PREFIX),
                        raw: String::new(),
                    }));
                }
            }
        }
    }
}

impl RowSource for LeanImport {
    fn rows(&self) -> u64 {
        self.rows_done + self.current.as_ref().map_or(0, RowSource::rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn only_crypto_futures_may_be_perpetual() {
        let none = LeanOverrides::default();
        let file = |path: &str| LeanFile::resolve(Path::new(path), &none, None, None).unwrap();
        let crypto = file("cryptofuture/binance/minute/btcusdt/20240102_trade.zip");
        assert_eq!(
            crypto.contract_of_entry("20240102_btcusdt_minute_trade_perp.csv"),
            Ok(None)
        );
        let cme = file("future/cme/minute/es/20240102_trade.zip");
        let err = cme
            .contract_of_entry("20240102_es_minute_trade_perp.csv")
            .unwrap_err();
        assert!(err.contains("`perp` is not the expiry"), "{err}");
    }

    #[test]
    fn paths_tell_what_a_file_holds() {
        let none = LeanOverrides::default();
        let f = LeanFile::resolve(
            Path::new("/x/lean/equity/usa/tick/spy/20131007_trade.zip"),
            &none,
            None,
            None,
        )
        .unwrap();
        assert_eq!(
            (
                f.security_type,
                f.market.as_str(),
                f.resolution,
                f.symbol.as_str(),
                f.date,
                f.tick_type
            ),
            (
                LeanSecurityType::Equity,
                "usa",
                LeanResolution::Tick,
                "SPY",
                Some(date(2013, 10, 7)),
                LeanTickType::Trade
            )
        );
        let f = LeanFile::resolve(
            Path::new("equity/usa/minute/spy/20131007_quote.zip"),
            &none,
            None,
            None,
        )
        .unwrap();
        assert_eq!(
            (f.resolution, f.tick_type),
            (LeanResolution::Minute, LeanTickType::Quote)
        );
        let f =
            LeanFile::resolve(Path::new("equity/usa/daily/spy.zip"), &none, None, None).unwrap();
        assert_eq!(
            (f.resolution, f.symbol.as_str(), f.date, f.tick_type),
            (LeanResolution::Daily, "SPY", None, LeanTickType::Trade)
        );
        let f = LeanFile::resolve(
            Path::new("forex/fxcm/tick/eurusd/20140501_quote.zip"),
            &none,
            None,
            None,
        )
        .unwrap();
        assert_eq!(
            (f.security_type, f.market.as_str(), f.symbol.as_str()),
            (LeanSecurityType::Forex, "fxcm", "EURUSD")
        );
        assert_eq!(f.default_time_zone(), Some(chrono_tz::Etc::GMTPlus5));
        let f = LeanFile::resolve(
            Path::new("crypto/coinbase/daily/btcusd_quote.zip"),
            &none,
            None,
            None,
        )
        .unwrap();
        assert_eq!(
            (f.symbol.as_str(), f.tick_type),
            ("BTCUSD", LeanTickType::Quote)
        );
    }

    #[test]
    fn options_override_the_path_and_fill_what_it_lacks() {
        let err = LeanFile::resolve(Path::new("cut.csv"), &LeanOverrides::default(), None, None)
            .unwrap_err();
        assert!(err.contains("security type"), "{err}");
        let overrides = LeanOverrides {
            security_type: Some(LeanSecurityType::Equity),
            market: Some("usa".into()),
            resolution: Some(LeanResolution::Tick),
            date: Some(date(2013, 10, 7)),
            ..LeanOverrides::default()
        };
        let f = LeanFile::resolve(
            Path::new("cut.csv"),
            &overrides,
            Some("SPY"),
            Some(EventKind::BboQuote),
        )
        .unwrap();
        assert_eq!(
            (f.symbol.as_str(), f.tick_type),
            ("SPY", LeanTickType::Quote)
        );
        let f = LeanFile::resolve(
            Path::new("equity/usa/tick/spy/20131007_trade.zip"),
            &LeanOverrides::default(),
            Some("SPY.US"),
            None,
        )
        .unwrap();
        assert_eq!(f.symbol, "SPY.US");
        let err = LeanFile::resolve(
            Path::new("equity/usa/tick/spy/20131007_trade.zip"),
            &LeanOverrides::default(),
            None,
            Some(EventKind::Heartbeat),
        )
        .unwrap_err();
        assert!(err.contains("heartbeat"), "{err}");
        let err = LeanFile::resolve(
            Path::new("forex/fxcm/tick/eurusd/20140501_trade.zip"),
            &LeanOverrides::default(),
            None,
            None,
        )
        .unwrap_err();
        assert!(err.contains("quotes only"), "{err}");
    }

    #[test]
    fn unknown_markets_need_a_time_zone() {
        let f = LeanFile::resolve(
            Path::new("equity/india/tick/sbin/20200101_trade.zip"),
            &LeanOverrides::default(),
            None,
            None,
        )
        .unwrap();
        let err = LeanContext::new(f.clone(), "lean", None, None).unwrap_err();
        assert!(err.contains("`india`"), "{err}");
        assert!(LeanContext::new(f, "lean", None, Some(chrono_tz::Asia::Kolkata)).is_ok());
    }

    #[test]
    fn clock_change_days_convert_each_row() {
        // 2013-11-03: New York falls back at 02:00 EDT → 01:00 EST; the day has 25 hours.
        let ctx = LeanContext::us_equity(
            "SPY",
            date(2013, 11, 3),
            LeanResolution::Tick,
            LeanTickType::Trade,
        );
        assert!(ctx.midnight_utc_ns.is_none());
        assert_eq!(
            ctx.time_of_ms(34_200_000).unwrap().to_string(),
            "2013-11-03T14:30:00Z"
        );
        // 01:30 happens twice; the earlier (EDT) instant is taken.
        assert_eq!(
            ctx.time_of_ms(5_400_000).unwrap().to_string(),
            "2013-11-03T05:30:00Z"
        );
        // 2014-03-09: 02:30 does not exist in New York.
        let ctx = LeanContext::us_equity(
            "SPY",
            date(2014, 3, 9),
            LeanResolution::Tick,
            LeanTickType::Trade,
        );
        assert!(ctx
            .time_of_ms(9_000_000)
            .unwrap_err()
            .to_string()
            .contains("does not exist"));
        assert_eq!(
            ctx.time_of_ms(34_200_000).unwrap().to_string(),
            "2014-03-09T13:30:00Z"
        );
    }

    #[test]
    fn trade_rows_reject_bad_values_naming_the_column() {
        let ctx = LeanContext::us_equity(
            "SPY",
            date(2013, 10, 7),
            LeanResolution::Tick,
            LeanTickType::Trade,
        );
        for (row, needle) in [
            ("", "time: `` is not milliseconds"),
            ("abc,1,1,P,0,0", "time: `abc`"),
            (
                "1,1.5,1,P,0,0",
                "price: `1.5` is not an integer price×10000",
            ),
            ("1,100", "missing column 3 (size)"),
            ("1,100,x,P,0,0", "size: `x`"),
            ("1,100,1,P,0,2", "suspicious: `2`"),
            ("1,100,1,P", "missing column 5 (sale condition)"),
        ] {
            let err = parse_trade_row(row, 1, &ctx).unwrap_err().to_string();
            assert!(err.contains(needle), "{row}: {err}");
        }
        let plain = parse_trade_row("1,100,1,P,", 1, &ctx).unwrap();
        assert_eq!(plain.payload.trade().unwrap().conditions, None);
        let flagged = parse_trade_row("1,100,1,,,1", 1, &ctx).unwrap();
        assert_eq!(
            flagged.payload.trade().unwrap().conditions.as_deref(),
            Some("suspicious")
        );
        assert_eq!(flagged.venue, None);
    }

    #[test]
    fn quote_ticks_carry_unchanged_sides() {
        let ctx = LeanContext::us_equity(
            "AIG",
            date(2013, 10, 9),
            LeanResolution::Tick,
            LeanTickType::Quote,
        );
        let mut carry = QuoteCarry::default();
        let quote = |e: Event| match e.payload {
            Payload::BboQuote(q) => (
                q.bid.map(|l| format!("{}x{}", l.price, l.size)),
                q.ask.map(|l| format!("{}x{}", l.price, l.size)),
            ),
            _ => panic!(),
        };
        let first = parse_quote_row("14400521,475000,200,0,0,P,1,0", 1, &ctx, &mut carry).unwrap();
        assert_eq!(quote(first), (Some("47.5000x200".into()), None));
        let second =
            parse_quote_row("14400521,0,0,484800,3000,P,1,0", 2, &ctx, &mut carry).unwrap();
        assert_eq!(
            quote(second),
            (Some("47.5000x200".into()), Some("48.4800x3000".into()))
        );
        // A rejected row leaves the carry alone.
        assert!(parse_quote_row("14400522,x,0,0,0,P,1,0", 3, &ctx, &mut carry).is_err());
        let third = parse_quote_row("18188580,475100,200,0,0,P,1,0", 4, &ctx, &mut carry).unwrap();
        assert_eq!(
            quote(third),
            (Some("47.5100x200".into()), Some("48.4800x3000".into()))
        );
    }

    #[test]
    fn forex_quotes_keep_decimal_text_and_store_size_zero() {
        let f = LeanFile::resolve(
            Path::new("forex/fxcm/tick/eurusd/20140501_quote.zip"),
            &LeanOverrides::default(),
            None,
            None,
        )
        .unwrap();
        let ctx = LeanContext::new(f, "lean", None, None).unwrap();
        let mut carry = QuoteCarry::default();
        let event = parse_quote_row("1787,1.38727,1.38730", 1, &ctx, &mut carry).unwrap();
        // FXCM writes its times at UTC-05 (no daylight saving): 00:00:01.787 there is 05:00Z.
        assert_eq!(event.event_time.to_string(), "2014-05-01T05:00:01.787Z");
        let Payload::BboQuote(q) = event.payload else {
            panic!()
        };
        assert_eq!(q.bid.unwrap().price.to_string(), "1.38727");
        assert_eq!(q.ask.unwrap().price.to_string(), "1.38730");
        assert_eq!(q.ask.unwrap().size, Decimal::ZERO);
    }

    #[test]
    fn fractional_millisecond_times_are_kept_to_the_nanosecond() {
        assert_eq!(parse_ms_time("46.2042").ok(), Some(46_204_200));
        assert_eq!(parse_ms_time("34200000").ok(), Some(34_200_000_000_000));
        assert_eq!(parse_ms_time("0.000001").ok(), Some(1));
        assert_eq!(
            parse_ms_time("1.0000005").ok(),
            Some(1_000_000),
            "half to even (down)"
        );
        assert_eq!(
            parse_ms_time("1.0000015").ok(),
            Some(1_000_002),
            "half to even (up)"
        );
        assert_eq!(parse_ms_time("1.00000051").ok(), Some(1_000_001));
        assert_eq!(parse_ms_time("1.0000004999").ok(), Some(1_000_000));
        for bad in ["", ".5", "1.", "1.x", "x", "1e3", "1..2", "--1"] {
            let err = parse_ms_time(bad).unwrap_err().to_string();
            assert!(err.contains(&format!("`{bad}`")), "{err}");
        }
        // A CFD quote tick as some brokers' Lean files write it (UTC, no sizes).
        let f = LeanFile::resolve(
            Path::new("cfd/oanda/tick/xauusd/20190102_quote.zip"),
            &LeanOverrides::default(),
            None,
            None,
        )
        .unwrap();
        let ctx = LeanContext::new(f, "lean", None, None).unwrap();
        let event = parse_quote_row(
            "46.2042,1283.512,1283.912",
            1,
            &ctx,
            &mut QuoteCarry::default(),
        )
        .unwrap();
        assert_eq!(
            event.event_time.to_string(),
            "2019-01-02T00:00:00.046204200Z"
        );
    }

    #[test]
    fn bars_are_stamped_at_their_end() {
        let ctx = LeanContext::us_equity(
            "SPY",
            date(2013, 10, 7),
            LeanResolution::Minute,
            LeanTickType::Trade,
        );
        let event =
            parse_bar_row("14400000,1674100,1674100,1672500,1672700,3197", 1, &ctx).unwrap();
        assert_eq!(event.event_time.to_string(), "2013-10-07T08:01:00Z");
        let Payload::Bar(bar) = &event.payload else {
            panic!()
        };
        assert_eq!(
            (
                bar.interval_s,
                bar.open.to_string(),
                bar.close.to_string(),
                bar.volume.to_string()
            ),
            (60, "167.4100".into(), "167.2700".into(), "3197".into())
        );

        let ctx = LeanContext::us_equity(
            "SPY",
            date(2013, 10, 7),
            LeanResolution::Minute,
            LeanTickType::Quote,
        );
        let event = parse_bar_row(
            "14400000,1672700,1672700,1671500,1672500,300,1680000,1680000,1672600,1672700,20000",
            1,
            &ctx,
        )
        .unwrap();
        let Payload::BboQuote(q) = &event.payload else {
            panic!()
        };
        assert_eq!(
            q.bid.map(|l| (l.price.to_string(), l.size.to_string())),
            Some(("167.2500".into(), "300".into()))
        );
        assert_eq!(
            q.ask.map(|l| (l.price.to_string(), l.size.to_string())),
            Some(("167.2700".into(), "20000".into()))
        );
        let event = parse_bar_row(
            "14400000,,,,,,1680000,1680000,1672600,1672700,20000",
            1,
            &ctx,
        )
        .unwrap();
        let Payload::BboQuote(q) = &event.payload else {
            panic!()
        };
        assert_eq!(q.bid, None);

        let ctx = LeanContext::us_equity(
            "SPY",
            date(1998, 1, 2),
            LeanResolution::Daily,
            LeanTickType::Trade,
        );
        let event = parse_bar_row(
            "19980102 00:00,973100,975300,965300,973600,2150000",
            1,
            &ctx,
        )
        .unwrap();
        // Ends at the next New York midnight (EST, UTC-5).
        assert_eq!(event.event_time.to_string(), "1998-01-03T05:00:00Z");
        let Payload::Bar(bar) = &event.payload else {
            panic!()
        };
        assert_eq!(
            (bar.interval_s, bar.high.to_string()),
            (86_400, "97.5300".into())
        );
        let err = parse_bar_row("1998-01-02,1,1,1,1,1", 1, &ctx)
            .unwrap_err()
            .to_string();
        assert!(err.contains("yyyymmdd HH:mm"), "{err}");
    }
}
