//! CSV input with a column mapping ([`CsvMapping`]).
//!
//! The file needs a header row; the mapping names, for each event field, the header column that
//! holds it. A mapped column missing from the header is a file-level
//! [`ImportError::MissingColumn`]; a bad value is a [`Record::Rejected`] naming the line and the
//! column, and the import goes on. Prices and sizes are parsed as exact decimals (never through a
//! binary float); times are integers (or exact decimals) in the mapping's unit, or RFC 3339.
//!
//! The compact form used by the CLI (`--csv-map`) is a comma-separated list of `key=column`:
//!
//! ```text
//! time=ts:ms,price=px,size=qty,side=side,symbol=sym
//! kind=bar,interval=60,time=start:s,open=o,high=h,low=l,close=c,volume=v
//! ```
//!
//! `time=COLUMN:UNIT` is required (`ns`, `us`, `ms`, `s` since the Unix epoch, or `rfc3339`);
//! `recv_time=COLUMN:UNIT` is optional. `kind` (`trade`, `bbo_quote`, `bar`) is inferred when
//! absent: bar when any of open/high/low/close/volume is mapped, else bbo_quote when a bid or
//! ask column is, else trade. `interval` (seconds) is required for bars. Column names cannot
//! contain `,` or `=` in this form (build a [`CsvMapping`] in code for those).

use std::fmt;
use std::str::FromStr;

pub use ::csv::ByteRecord;
use chrono::DateTime;
use strata_model::decimal::POW10;
use strata_model::{
    Bar, BboQuote, Decimal, Event, EventKind, Level, Payload, SchemaVersion, Side, Timestamp, Trade,
};

use crate::error::{ImportError, Result, RowError};
use crate::input::{Input, RowSource};
use crate::record::{Record, Rejected};
use crate::ImportOptions;

strata_model::named_enum! {
    /// The unit or form of a time column; [`as_str`](Self::as_str) is its name in the compact
    /// mapping.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub enum TimeFormat {
        /// Nanoseconds since the Unix epoch.
        #[default]
        Ns = "ns",
        /// Microseconds since the Unix epoch.
        Us = "us",
        /// Milliseconds since the Unix epoch.
        Ms = "ms",
        /// Seconds since the Unix epoch.
        S = "s",
        /// RFC 3339 text (`2024-08-08T00:00:00.123Z`).
        Rfc3339 = "rfc3339",
    }
}

impl TimeFormat {
    /// Decimal digits between this unit and a nanosecond (`None` for RFC 3339).
    const fn digits_to_ns(self) -> Option<u8> {
        match self {
            TimeFormat::Ns => Some(0),
            TimeFormat::Us => Some(3),
            TimeFormat::Ms => Some(6),
            TimeFormat::S => Some(9),
            TimeFormat::Rfc3339 => None,
        }
    }

    /// Parses a time value of this format, exactly (a fractional `1723161256.298` seconds is
    /// fine; anything finer than a nanosecond is refused).
    ///
    /// The error is a [`RowError::BadValue`] about `text` that names no column yet.
    pub fn parse(self, text: &str) -> Result<Timestamp, RowError> {
        let Some(digits) = self.digits_to_ns() else {
            return DateTime::parse_from_rfc3339(text)
                .ok()
                .and_then(|dt| Timestamp::from_datetime(&dt))
                .ok_or_else(|| RowError::bad_value(text, "is not an RFC 3339 time"));
        };
        let out_of_range =
            || RowError::bad_value(text, format!("{} is out of range", self.as_str()));
        if let Ok(int) = text.parse::<i64>() {
            // An i64 times 10^9 fits an i128.
            return i64::try_from(i128::from(int) * POW10[digits as usize])
                .map(Timestamp::from_nanos)
                .map_err(|_| out_of_range());
        }
        let value: Decimal = text.parse().map_err(|_| {
            RowError::bad_value(text, format!("is not a number of {}", self.as_str()))
        })?;
        if value.scale() > digits {
            return Err(RowError::bad_value(
                text,
                format!("{} is finer than a nanosecond", self.as_str()),
            ));
        }
        // The value at scale `digits` is its number of nanoseconds.
        value
            .rescaled(digits)
            .and_then(|nanos| i64::try_from(nanos).ok())
            .map(Timestamp::from_nanos)
            .ok_or_else(out_of_range)
    }
}

impl FromStr for TimeFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        TimeFormat::ALL
            .iter()
            .copied()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| {
                format!("unknown time unit `{s}`; expected one of: ns, us, ms, s, rfc3339")
            })
    }
}

/// Which CSV column holds each event field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvMapping {
    /// The event kind rows become: `trade`, `bbo_quote` or `bar`.
    pub kind: EventKind,
    /// The event-time column.
    pub time: String,
    /// The event-time column's unit.
    pub time_format: TimeFormat,
    /// The receive-time column and its unit (absent: receive time = event time).
    pub receive_time: Option<(String, TimeFormat)>,
    /// Bar length in seconds (bars only).
    pub interval_s: Option<u32>,
    /// The symbol column (absent: `--symbol`).
    pub symbol: Option<String>,
    /// The venue column (absent: `--venue`, else none).
    pub venue: Option<String>,
    /// The source sequence number column.
    pub sequence: Option<String>,
    /// Trade price.
    pub price: Option<String>,
    /// Trade size.
    pub size: Option<String>,
    /// Trade aggressor side (`buy`/`sell`/`b`/`s`, any case; empty = unknown).
    pub side: Option<String>,
    /// Trade id.
    pub trade_id: Option<String>,
    /// Trade conditions.
    pub conditions: Option<String>,
    /// Best bid price.
    pub bid_price: Option<String>,
    /// Best bid size.
    pub bid_size: Option<String>,
    /// Best ask price.
    pub ask_price: Option<String>,
    /// Best ask size.
    pub ask_size: Option<String>,
    /// Bar open.
    pub open: Option<String>,
    /// Bar high.
    pub high: Option<String>,
    /// Bar low.
    pub low: Option<String>,
    /// Bar close.
    pub close: Option<String>,
    /// Bar volume.
    pub volume: Option<String>,
    /// Bar trade count.
    pub trades: Option<String>,
    /// Bar VWAP.
    pub vwap: Option<String>,
}

/// The optional column keys, in the order [`CsvMapping`]'s `Display` writes them.
const COLUMN_KEYS: &[&str] = &[
    "symbol",
    "venue",
    "sequence",
    "price",
    "size",
    "side",
    "trade_id",
    "conditions",
    "bid_price",
    "bid_size",
    "ask_price",
    "ask_size",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "trades",
    "vwap",
];

/// The keys only a kind may map.
const TRADE_KEYS: &[&str] = &["price", "size", "side", "trade_id", "conditions"];
const QUOTE_KEYS: &[&str] = &["bid_price", "bid_size", "ask_price", "ask_size"];
const BAR_KEYS: &[&str] = &["open", "high", "low", "close", "volume", "trades", "vwap"];

impl CsvMapping {
    /// A mapping for `kind` with the event time in column `time` (unit `time_format`) and no
    /// other column yet.
    pub fn new(kind: EventKind, time: impl Into<String>, time_format: TimeFormat) -> Self {
        CsvMapping {
            kind,
            time: time.into(),
            time_format,
            receive_time: None,
            interval_s: None,
            symbol: None,
            venue: None,
            sequence: None,
            price: None,
            size: None,
            side: None,
            trade_id: None,
            conditions: None,
            bid_price: None,
            bid_size: None,
            ask_price: None,
            ask_size: None,
            open: None,
            high: None,
            low: None,
            close: None,
            volume: None,
            trades: None,
            vwap: None,
        }
    }

    /// Maps the optional key `key` (`"price"`, `"bid_size"`, …) to `column`.
    pub fn with_column(mut self, key: &str, column: impl Into<String>) -> Result<Self, String> {
        let slot = self
            .slot_mut(key)
            .ok_or_else(|| format!("unknown key `{key}`; expected {}", COLUMN_KEYS.join(", ")))?;
        *slot = Some(column.into());
        Ok(self)
    }

    /// The optional column keys, in the order the compact form writes them.
    pub const KEYS: &'static [&'static str] = COLUMN_KEYS;

    /// The column mapped to an optional key (`"price"` …).
    pub fn column(&self, key: &str) -> Option<&str> {
        self.slot(key).and_then(|slot| slot.as_deref())
    }

    fn slot(&self, key: &str) -> Option<&Option<String>> {
        Some(match key {
            "symbol" => &self.symbol,
            "venue" => &self.venue,
            "sequence" => &self.sequence,
            "price" => &self.price,
            "size" => &self.size,
            "side" => &self.side,
            "trade_id" => &self.trade_id,
            "conditions" => &self.conditions,
            "bid_price" => &self.bid_price,
            "bid_size" => &self.bid_size,
            "ask_price" => &self.ask_price,
            "ask_size" => &self.ask_size,
            "open" => &self.open,
            "high" => &self.high,
            "low" => &self.low,
            "close" => &self.close,
            "volume" => &self.volume,
            "trades" => &self.trades,
            "vwap" => &self.vwap,
            _ => return None,
        })
    }

    fn slot_mut(&mut self, key: &str) -> Option<&mut Option<String>> {
        Some(match key {
            "symbol" => &mut self.symbol,
            "venue" => &mut self.venue,
            "sequence" => &mut self.sequence,
            "price" => &mut self.price,
            "size" => &mut self.size,
            "side" => &mut self.side,
            "trade_id" => &mut self.trade_id,
            "conditions" => &mut self.conditions,
            "bid_price" => &mut self.bid_price,
            "bid_size" => &mut self.bid_size,
            "ask_price" => &mut self.ask_price,
            "ask_size" => &mut self.ask_size,
            "open" => &mut self.open,
            "high" => &mut self.high,
            "low" => &mut self.low,
            "close" => &mut self.close,
            "volume" => &mut self.volume,
            "trades" => &mut self.trades,
            "vwap" => &mut self.vwap,
            _ => return None,
        })
    }

    /// The kind a mapping without `kind=` describes: bar when any bar column is mapped, else
    /// bbo_quote when any quote column is, else trade.
    pub fn inferred_kind(&self) -> EventKind {
        if BAR_KEYS.iter().any(|k| self.column(k).is_some()) {
            EventKind::Bar
        } else if QUOTE_KEYS.iter().any(|k| self.column(k).is_some()) {
            EventKind::BboQuote
        } else {
            EventKind::Trade
        }
    }

    /// Checks that the mapping can make events of `kind`: required columns present, no column
    /// of another kind, an interval for bars. The error names the key.
    pub fn validate_for(&self, kind: EventKind) -> Result<(), String> {
        if self.time.is_empty() {
            return Err("`time` is required (time=COLUMN:ns|us|ms|s|rfc3339)".into());
        }
        let (own, required): (&[&str], &[&str]) = match kind {
            EventKind::Trade => (TRADE_KEYS, &["price", "size"]),
            EventKind::BboQuote => (QUOTE_KEYS, &[]),
            EventKind::Bar => (BAR_KEYS, &["open", "high", "low", "close", "volume"]),
            other => {
                return Err(format!(
                    "kind `{other}` cannot be imported from CSV; use trade, bbo_quote or bar"
                ))
            }
        };
        for key in required {
            if self.column(key).is_none() {
                return Err(format!("kind `{kind}` needs `{key}=COLUMN`"));
            }
        }
        for key in TRADE_KEYS.iter().chain(QUOTE_KEYS).chain(BAR_KEYS) {
            if !own.contains(key) && self.column(key).is_some() {
                return Err(format!("`{key}` does not apply to kind `{kind}`"));
            }
        }
        if kind == EventKind::BboQuote {
            let bid = (self.bid_price.is_some(), self.bid_size.is_some());
            let ask = (self.ask_price.is_some(), self.ask_size.is_some());
            if bid.0 != bid.1 || ask.0 != ask.1 {
                return Err(
                    "a quote side needs both its price and size columns (bid_price with bid_size, ask_price with ask_size)"
                        .into(),
                );
            }
            if !bid.0 && !ask.0 {
                return Err(
                    "kind `bbo_quote` needs bid_price/bid_size or ask_price/ask_size".into(),
                );
            }
        }
        match (kind, self.interval_s) {
            (EventKind::Bar, None) => Err("kind `bar` needs `interval=SECONDS`".into()),
            (EventKind::Bar, Some(0)) => Err("`interval` must be at least 1 second".into()),
            (EventKind::Bar, Some(_)) | (_, None) => Ok(()),
            (_, Some(_)) => Err(format!("`interval` does not apply to kind `{kind}`")),
        }
    }
}

impl FromStr for CsvMapping {
    type Err = ImportError;

    /// Parses the compact form (see the module docs); errors name the key.
    fn from_str(spec: &str) -> Result<Self, ImportError> {
        let invalid = |reason: String| ImportError::InvalidCsvMapping {
            spec: spec.to_string(),
            reason,
        };
        let mut mapping = CsvMapping::new(EventKind::Trade, "", TimeFormat::Ns);
        let mut kind = None;
        let mut seen: Vec<&str> = Vec::new();
        for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (key, value) = item
                .split_once('=')
                .ok_or_else(|| invalid(format!("`{item}` is not KEY=COLUMN")))?;
            let (key, value) = (key.trim(), value.trim());
            if value.is_empty() {
                return Err(invalid(format!("`{key}` has no column")));
            }
            if seen.contains(&key) {
                return Err(invalid(format!("`{key}` is given twice")));
            }
            seen.push(key);
            match key {
                "kind" => {
                    kind = Some(
                        value
                            .parse::<EventKind>()
                            .map_err(|e| invalid(e.to_string()))?,
                    );
                }
                "interval" | "interval_s" => {
                    let seconds = value.parse::<u32>().map_err(|_| {
                        invalid(format!("`{key}={value}`: the interval is whole seconds"))
                    })?;
                    mapping.interval_s = Some(seconds);
                }
                "time" | "recv_time" => {
                    let (column, unit) = value.rsplit_once(':').ok_or_else(|| {
                        invalid(format!(
                            "`{key}={value}` needs a unit: {key}=COLUMN:ns|us|ms|s|rfc3339"
                        ))
                    })?;
                    let unit = unit
                        .parse::<TimeFormat>()
                        .map_err(|e| invalid(format!("`{key}`: {e}")))?;
                    if column.is_empty() {
                        return Err(invalid(format!("`{key}` has no column")));
                    }
                    if key == "time" {
                        mapping.time = column.to_string();
                        mapping.time_format = unit;
                    } else {
                        mapping.receive_time = Some((column.to_string(), unit));
                    }
                }
                _ => {
                    let slot = mapping.slot_mut(key).ok_or_else(|| {
                        invalid(format!(
                            "unknown key `{key}`; expected kind, interval, time, recv_time, {}",
                            COLUMN_KEYS.join(", ")
                        ))
                    })?;
                    *slot = Some(value.to_string());
                }
            }
        }
        mapping.kind = kind.unwrap_or_else(|| mapping.inferred_kind());
        mapping.validate_for(mapping.kind).map_err(invalid)?;
        Ok(mapping)
    }
}

impl fmt::Display for CsvMapping {
    /// The compact form, keys in a fixed order, `kind` always written: it parses back to an
    /// equal mapping.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "kind={}", self.kind)?;
        if let Some(interval) = self.interval_s {
            write!(f, ",interval={interval}")?;
        }
        write!(f, ",time={}:{}", self.time, self.time_format)?;
        if let Some((column, unit)) = &self.receive_time {
            write!(f, ",recv_time={column}:{unit}")?;
        }
        for key in COLUMN_KEYS {
            if let Some(column) = self.column(key) {
                write!(f, ",{key}={column}")?;
            }
        }
        Ok(())
    }
}

/// Fixed values a row's event takes when the mapping has no column for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvContext {
    /// The events' source id.
    pub source: String,
    /// The symbol when the mapping has no symbol column (or the row's is empty).
    pub symbol: Option<String>,
    /// The venue when the mapping has no venue column (or the row's is empty).
    pub venue: Option<String>,
}

/// A column position with its mapping key and header name, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Column {
    index: usize,
    key: &'static str,
    name: String,
}

impl Column {
    /// How errors name the column: `` column `px` (price) ``.
    fn describe(&self) -> String {
        format!("column `{}` ({})", self.name, self.key)
    }
}

/// A [`CsvMapping`] resolved against a header row: it turns records into events.
#[derive(Debug, Clone)]
pub struct BoundCsvMapping {
    kind: EventKind,
    interval_s: u32,
    time: Column,
    time_format: TimeFormat,
    receive_time: Option<(Column, TimeFormat)>,
    columns: Vec<Option<Column>>,
    context: CsvContext,
}

/// Indexes into `BoundCsvMapping::columns`, in [`COLUMN_KEYS`] order.
mod col {
    pub const SYMBOL: usize = 0;
    pub const VENUE: usize = 1;
    pub const SEQUENCE: usize = 2;
    pub const PRICE: usize = 3;
    pub const SIZE: usize = 4;
    pub const SIDE: usize = 5;
    pub const TRADE_ID: usize = 6;
    pub const CONDITIONS: usize = 7;
    pub const BID_PRICE: usize = 8;
    pub const BID_SIZE: usize = 9;
    pub const ASK_PRICE: usize = 10;
    pub const ASK_SIZE: usize = 11;
    pub const OPEN: usize = 12;
    pub const HIGH: usize = 13;
    pub const LOW: usize = 14;
    pub const CLOSE: usize = 15;
    pub const VOLUME: usize = 16;
    pub const TRADES: usize = 17;
    pub const VWAP: usize = 18;
}

impl BoundCsvMapping {
    /// Resolves `mapping` (made to produce `kind`) against `header`. Fails with the first
    /// mapped column the header lacks, or when neither a symbol column nor a fixed symbol is
    /// given; `file` names the input in those errors.
    pub fn bind(
        mapping: &CsvMapping,
        kind: EventKind,
        header: &[&str],
        context: CsvContext,
        file: &str,
    ) -> Result<Self> {
        mapping
            .validate_for(kind)
            .map_err(|reason| ImportError::InvalidCsvMapping {
                spec: mapping.to_string(),
                reason,
            })?;
        let find = |key: &'static str, name: &str| -> Result<Column> {
            header
                .iter()
                .position(|h| h.trim() == name)
                .map(|index| Column {
                    index,
                    key,
                    name: name.to_string(),
                })
                .ok_or_else(|| ImportError::MissingColumn {
                    file: file.to_string(),
                    role: key,
                    column: name.to_string(),
                    available: header.join(","),
                })
        };
        let time = find("time", &mapping.time)?;
        let receive_time = match &mapping.receive_time {
            Some((name, unit)) => Some((find("recv_time", name)?, *unit)),
            None => None,
        };
        let mut columns = Vec::with_capacity(COLUMN_KEYS.len());
        for key in COLUMN_KEYS {
            columns.push(match mapping.column(key) {
                Some(name) => Some(find(key, name)?),
                None => None,
            });
        }
        if columns[col::SYMBOL].is_none() && context.symbol.is_none() {
            return Err(ImportError::InvalidOption {
                file: file.to_string(),
                reason: "no symbol: map a column with `symbol=COLUMN` or pass --symbol".into(),
            });
        }
        Ok(BoundCsvMapping {
            kind,
            interval_s: mapping.interval_s.unwrap_or(0),
            time,
            time_format: mapping.time_format,
            receive_time,
            columns,
            context,
        })
    }

    /// The kind of event rows become.
    pub fn kind(&self) -> EventKind {
        self.kind
    }

    /// Turns one record into an event; the error names the column (`column `px` (price): …`).
    pub fn parse_record(&self, record: &ByteRecord) -> Result<Event, RowError> {
        let row = Row { record };
        let event_time = row.time(&self.time, self.time_format)?;
        let receive_time = match &self.receive_time {
            Some((column, unit)) => row.time(column, *unit)?,
            None => event_time,
        };
        let symbol = match self.opt_text(&row, col::SYMBOL)? {
            Some(symbol) => symbol.to_string(),
            None => self
                .context
                .symbol
                .clone()
                .ok_or_else(|| self.empty_error(col::SYMBOL))?,
        };
        let venue = match self.opt_text(&row, col::VENUE)? {
            Some(venue) => Some(venue.to_string()),
            None => self.context.venue.clone(),
        };
        let sequence =
            match self.opt_text(&row, col::SEQUENCE)? {
                Some(text) => Some(text.parse::<u64>().map_err(|_| {
                    self.value_error(col::SEQUENCE, text, "not an unsigned integer")
                })?),
                None => None,
            };
        let payload = match self.kind {
            EventKind::Trade => Payload::Trade(Trade {
                price: self.required_decimal(&row, col::PRICE)?,
                size: self.required_decimal(&row, col::SIZE)?,
                side: match self.opt_text(&row, col::SIDE)? {
                    Some(text) => Some(parse_side(text).ok_or_else(|| {
                        self.value_error(col::SIDE, text, "not a side (buy, sell, b, s)")
                    })?),
                    None => None,
                },
                trade_id: self.opt_text(&row, col::TRADE_ID)?.map(str::to_string),
                conditions: self.opt_text(&row, col::CONDITIONS)?.map(str::to_string),
            }),
            EventKind::BboQuote => Payload::BboQuote(BboQuote {
                bid: self.level(&row, col::BID_PRICE, col::BID_SIZE)?,
                ask: self.level(&row, col::ASK_PRICE, col::ASK_SIZE)?,
            }),
            _ => Payload::Bar(Bar {
                interval_s: self.interval_s,
                open: self.required_decimal(&row, col::OPEN)?,
                high: self.required_decimal(&row, col::HIGH)?,
                low: self.required_decimal(&row, col::LOW)?,
                close: self.required_decimal(&row, col::CLOSE)?,
                volume: self.required_decimal(&row, col::VOLUME)?,
                trades: match self.opt_text(&row, col::TRADES)? {
                    Some(text) => Some(text.parse::<u64>().map_err(|_| {
                        self.value_error(col::TRADES, text, "not an unsigned integer")
                    })?),
                    None => None,
                },
                vwap: self.opt_decimal(&row, col::VWAP)?,
            }),
        };
        Ok(Event {
            schema: SchemaVersion::CURRENT,
            source: self.context.source.clone(),
            symbol,
            venue,
            event_time,
            receive_time,
            time_basis: strata_model::TimeBasis::Venue,
            sequence,
            payload,
        })
    }

    fn column(&self, index: usize) -> Option<&Column> {
        self.columns.get(index).and_then(Option::as_ref)
    }

    /// The trimmed text of an optional column; `None` when unmapped or empty.
    fn opt_text<'r>(&self, row: &Row<'r>, index: usize) -> Result<Option<&'r str>, RowError> {
        match self.column(index) {
            Some(column) => row.text(column).map(|t| (!t.is_empty()).then_some(t)),
            None => Ok(None),
        }
    }

    fn opt_decimal(&self, row: &Row<'_>, index: usize) -> Result<Option<Decimal>, RowError> {
        match self.opt_text(row, index)? {
            Some(text) => text
                .parse::<Decimal>()
                .map(Some)
                .map_err(|e| self.value_error(index, text, e.to_string())),
            None => Ok(None),
        }
    }

    fn required_decimal(&self, row: &Row<'_>, index: usize) -> Result<Decimal, RowError> {
        self.opt_decimal(row, index)?
            .ok_or_else(|| self.empty_error(index))
    }

    /// A quote side: both columns empty (or unmapped) is an absent side; one without the other
    /// is an error.
    fn level(&self, row: &Row<'_>, price: usize, size: usize) -> Result<Option<Level>, RowError> {
        match (self.opt_decimal(row, price)?, self.opt_decimal(row, size)?) {
            (Some(price), Some(size)) => Ok(Some(Level { price, size })),
            (None, None) => Ok(None),
            (Some(_), None) => Err(self.empty_error(size)),
            (None, Some(_)) => Err(self.empty_error(price)),
        }
    }

    fn describe(&self, index: usize) -> String {
        match self.column(index) {
            Some(column) => column.describe(),
            None => format!("`{}`", COLUMN_KEYS.get(index).copied().unwrap_or("?")),
        }
    }

    fn empty_error(&self, index: usize) -> RowError {
        RowError::Empty {
            field: self.describe(index),
        }
    }

    fn value_error(&self, index: usize, text: &str, problem: impl Into<String>) -> RowError {
        RowError::bad_value(text, problem).in_field(self.describe(index))
    }
}

/// One record with column access that names the column in errors.
struct Row<'r> {
    record: &'r ByteRecord,
}

impl<'r> Row<'r> {
    fn text(&self, column: &Column) -> Result<&'r str, RowError> {
        let bytes = self
            .record
            .get(column.index)
            .ok_or_else(|| RowError::ShortRecord {
                field: column.describe(),
                fields: self.record.len(),
            })?;
        std::str::from_utf8(bytes)
            .map(str::trim)
            .map_err(|_| RowError::NotUtf8 {
                field: column.describe(),
            })
    }

    fn time(&self, column: &Column, format: TimeFormat) -> Result<Timestamp, RowError> {
        let text = self.text(column)?;
        if text.is_empty() {
            return Err(RowError::Empty {
                field: column.describe(),
            });
        }
        format
            .parse(text)
            .map_err(|e| e.in_field(column.describe()))
    }
}

/// `buy`/`sell`/`b`/`s`, any case.
fn parse_side(text: &str) -> Option<Side> {
    if text.eq_ignore_ascii_case("buy") || text.eq_ignore_ascii_case("b") {
        Some(Side::Buy)
    } else if text.eq_ignore_ascii_case("sell") || text.eq_ignore_ascii_case("s") {
        Some(Side::Sell)
    } else {
        None
    }
}

/// A record's fields joined back into CSV text, for the quarantine.
fn rejoin(record: &ByteRecord) -> String {
    let mut writer = ::csv::WriterBuilder::new()
        .terminator(::csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    if writer.write_byte_record(record).is_err() {
        return String::new();
    }
    match writer.into_inner() {
        Ok(bytes) => String::from_utf8_lossy(crate::input::trim_line_end(&bytes)).into_owned(),
        Err(_) => String::new(),
    }
}

/// The CSV importer behind [`Format::Csv`](crate::Format::Csv).
pub(crate) struct CsvImport {
    reader: ::csv::Reader<Input>,
    record: ByteRecord,
    mapping: BoundCsvMapping,
    file: String,
    rows: u64,
    done: bool,
}

impl CsvImport {
    /// Reads the header of `input` and binds the mapping of `options`.
    pub(crate) fn new(input: Input, file: &str, options: &ImportOptions) -> Result<Self> {
        let mapping = options
            .csv
            .as_ref()
            .ok_or_else(|| ImportError::CsvMappingRequired {
                file: file.to_string(),
            })?;
        let kind = options.kind.unwrap_or(mapping.kind);
        let mut reader = ::csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .buffer_capacity(crate::input::READ_BUFFER)
            .from_reader(input);
        let header = reader
            .byte_headers()
            .map_err(|e| ImportError::CsvHeader {
                file: file.to_string(),
                reason: e.to_string(),
            })?
            .clone();
        if header.is_empty() {
            return Err(ImportError::CsvHeader {
                file: file.to_string(),
                reason: "the file is empty".into(),
            });
        }
        let header: Vec<String> = header
            .iter()
            .map(|h| String::from_utf8_lossy(h).into_owned())
            .collect();
        let header: Vec<&str> = header.iter().map(String::as_str).collect();
        let context = CsvContext {
            source: options.source_for(crate::Format::Csv),
            symbol: options.symbol.clone(),
            venue: options.venue.clone(),
        };
        let mapping = BoundCsvMapping::bind(mapping, kind, &header, context, file)?;
        Ok(CsvImport {
            reader,
            record: ByteRecord::new(),
            mapping,
            file: file.to_string(),
            rows: 0,
            done: false,
        })
    }
}

impl Iterator for CsvImport {
    type Item = Record;

    fn next(&mut self) -> Option<Record> {
        if self.done {
            return None;
        }
        match self.reader.read_byte_record(&mut self.record) {
            Ok(false) => {
                self.done = true;
                None
            }
            Ok(true) => {
                self.rows += 1;
                let line = self.record.position().map_or(0, |p| p.line());
                Some(match self.mapping.parse_record(&self.record) {
                    Ok(event) => Record::Event(event),
                    Err(reason) => Record::Rejected(Rejected {
                        file: self.file.clone(),
                        line,
                        reason: reason.to_string(),
                        raw: rejoin(&self.record),
                    }),
                })
            }
            Err(err) => {
                let line = err
                    .position()
                    .map_or(self.reader.position().line(), |p| p.line());
                let reason = match err.kind() {
                    ::csv::ErrorKind::Io(io) => {
                        self.done = true;
                        crate::record::read_error_reason(io)
                    }
                    _ => err.to_string(),
                };
                Some(Record::Rejected(Rejected {
                    file: self.file.clone(),
                    line,
                    reason,
                    raw: String::new(),
                }))
            }
        }
    }
}

impl RowSource for CsvImport {
    fn rows(&self) -> u64 {
        self.rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(fields: &[&str]) -> ByteRecord {
        ByteRecord::from(fields.to_vec())
    }

    fn context() -> CsvContext {
        CsvContext {
            source: "csv".into(),
            symbol: Some("BTCUSDT".into()),
            venue: None,
        }
    }

    #[test]
    fn compact_mapping_parses_and_infers_the_kind() {
        let mapping: CsvMapping = "time=ts:ms,price=px,size=qty,side=side,symbol=sym"
            .parse()
            .unwrap();
        assert_eq!(mapping.kind, EventKind::Trade);
        assert_eq!(mapping.time, "ts");
        assert_eq!(mapping.time_format, TimeFormat::Ms);
        assert_eq!(mapping.price.as_deref(), Some("px"));
        assert_eq!(
            mapping.to_string(),
            "kind=trade,time=ts:ms,symbol=sym,price=px,size=qty,side=side"
        );
        let bars: CsvMapping = "time=t:s,interval=60,open=o,high=h,low=l,close=c,volume=v"
            .parse()
            .unwrap();
        assert_eq!((bars.kind, bars.interval_s), (EventKind::Bar, Some(60)));
        let quotes: CsvMapping = "time=t:rfc3339,bid_price=b,bid_size=bs".parse().unwrap();
        assert_eq!(quotes.kind, EventKind::BboQuote);
    }

    #[test]
    fn mapping_errors_name_the_key() {
        for (spec, needle) in [
            ("price=px,size=qty", "`time` is required"),
            ("time=ts,price=px,size=q", "needs a unit"),
            (
                "time=ts:minutes,price=px,size=q",
                "unknown time unit `minutes`",
            ),
            ("time=ts:ms,price=px", "needs `size=COLUMN`"),
            (
                "time=ts:ms,price=px,size=q,colour=c",
                "unknown key `colour`",
            ),
            (
                "time=ts:ms,price=px,size=q,price=p2",
                "`price` is given twice",
            ),
            (
                "time=ts:ms,price=px,size=q,bid_price=b",
                "`price` does not apply to kind `bbo_quote`",
            ),
            (
                "kind=trade,time=ts:ms,price=px,size=q,bid_price=b",
                "`bid_price` does not apply",
            ),
            (
                "time=ts:ms,open=o,high=h,low=l,close=c,volume=v",
                "needs `interval=SECONDS`",
            ),
            ("time=ts:ms,bid_price=b", "both its price and size"),
            ("time=ts:ms,kind=l2_snapshot", "cannot be imported from CSV"),
            ("time=ts:ms,price", "is not KEY=COLUMN"),
        ] {
            let err = spec.parse::<CsvMapping>().unwrap_err().to_string();
            assert!(err.contains(needle), "{spec}: {err}");
            assert!(err.contains(spec), "{spec}: {err}");
        }
    }

    #[test]
    fn times_are_exact_in_every_unit() {
        let ns = 1_723_161_256_298_000_000;
        assert_eq!(
            TimeFormat::Ms.parse("1723161256298").unwrap().as_nanos(),
            ns
        );
        assert_eq!(
            TimeFormat::S.parse("1723161256.298").unwrap().as_nanos(),
            ns
        );
        assert_eq!(
            TimeFormat::Us.parse("1723161256298000").unwrap().as_nanos(),
            ns
        );
        assert_eq!(
            TimeFormat::Ns
                .parse("1723161256298000000")
                .unwrap()
                .as_nanos(),
            ns
        );
        assert_eq!(
            TimeFormat::Rfc3339
                .parse("2024-08-08T23:54:16.298Z")
                .unwrap()
                .as_nanos(),
            ns
        );
        assert!(TimeFormat::Ns
            .parse("1.5")
            .unwrap_err()
            .to_string()
            .contains("finer than a nanosecond"));
        assert!(TimeFormat::S.parse("1e9").is_err());
        assert!(TimeFormat::S
            .parse("99999999999999999")
            .unwrap_err()
            .to_string()
            .contains("out of range"));
    }

    #[test]
    fn rows_become_exact_events_and_bad_values_name_the_column() {
        let mapping: CsvMapping = "time=ts:ms,price=px,size=qty,side=side,trade_id=id,sequence=seq"
            .parse()
            .unwrap();
        let header = ["ts", "px", "qty", "side", "id", "seq"];
        let bound =
            BoundCsvMapping::bind(&mapping, mapping.kind, &header, context(), "f.csv").unwrap();
        let event = bound
            .parse_record(&record(&[
                "1723161256298",
                "60123.10",
                "0.005",
                "BUY",
                "42",
                "7",
            ]))
            .unwrap();
        let trade = event.payload.trade().unwrap();
        assert_eq!(trade.price.to_string(), "60123.10");
        assert_eq!(trade.size.to_string(), "0.005");
        assert_eq!(trade.side, Some(Side::Buy));
        assert_eq!(trade.trade_id.as_deref(), Some("42"));
        assert_eq!(
            (event.sequence, event.symbol.as_str()),
            (Some(7), "BTCUSDT")
        );

        let err = bound
            .parse_record(&record(&["1723161256298", "60,123", "0.005", "", "", ""]))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("column `px` (price): `60,123`"), "{err}");
        let err = bound
            .parse_record(&record(&["1723161256298", "1"]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("is missing: the row has 2 fields"), "{err}");
        let err = bound
            .parse_record(&record(&["1723161256298", "1", "1", "up", "", ""]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("column `side` (side): `up`"), "{err}");
    }

    #[test]
    fn a_missing_header_column_names_it() {
        let mapping: CsvMapping = "time=ts:ms,price=px,size=qty".parse().unwrap();
        let err = BoundCsvMapping::bind(
            &mapping,
            mapping.kind,
            &["ts", "price", "qty"],
            context(),
            "f.csv",
        )
        .unwrap_err();
        assert!(
            matches!(&err, ImportError::MissingColumn { role: "price", column, .. } if column == "px"),
            "{err}"
        );
        assert!(err.to_string().starts_with("f.csv: "), "{err}");
    }

    #[test]
    fn quote_sides_may_be_absent_but_not_half_given() {
        let mapping: CsvMapping = "time=t:s,bid_price=bp,bid_size=bs,ask_price=ap,ask_size=as"
            .parse()
            .unwrap();
        let bound = BoundCsvMapping::bind(
            &mapping,
            mapping.kind,
            &["t", "bp", "bs", "ap", "as"],
            context(),
            "q.csv",
        )
        .unwrap();
        let event = bound
            .parse_record(&record(&["1", "1.5", "10", "", ""]))
            .unwrap();
        let Payload::BboQuote(quote) = &event.payload else {
            panic!()
        };
        assert_eq!(quote.bid.map(|l| l.price.to_string()), Some("1.5".into()));
        assert_eq!(quote.ask, None);
        let err = bound
            .parse_record(&record(&["1", "1.5", "", "", ""]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("column `bs` (bid_size) is empty"), "{err}");
    }

    #[test]
    fn rejected_rows_are_rejoined_as_csv() {
        assert_eq!(
            rejoin(&record(&["a", "b,c", "d\"e"])),
            "a,\"b,c\",\"d\"\"e\""
        );
    }
}
