//! Market events and the metadata every event carries (MODEL-1).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{Decimal, Timestamp};

pub use crate::named::UnknownName;

/// Reads a named enum through its name (not serde's enum access), so errors list the accepted
/// names and map keys keep their text in error paths (`retention.by_kind.trade`).
macro_rules! deserialize_by_name {
    ($($name:ident),+ $(,)?) => {$(
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let name = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
                name.parse().map_err(serde::de::Error::custom)
            }
        }
    )+};
}

deserialize_by_name!(
    EventKind,
    AssetClass,
    OptionRight,
    OptionStyle,
    Side,
    BookSide,
    BookAction,
    TimeBasis,
);

crate::named_enum! {
    /// The kind of an event; its name appears in JSONL (`"kind"`) and in paths (`{type}`).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
    pub enum EventKind [what = "event kind", serde] {
        /// A trade print.
        Trade = "trade",
        /// Best bid and offer.
        BboQuote = "bbo_quote",
        /// A full book snapshot, N levels per side.
        L2Snapshot = "l2_snapshot",
        /// One change to an order book (MBO or L2 diff).
        OrderBookDelta = "order_book_delta",
        /// An OHLCV bar.
        Bar = "bar",
        /// A liveness signal from a feed.
        Heartbeat = "heartbeat",
        /// Open interest of a futures or options contract: contracts outstanding.
        OpenInterest = "open_interest",
        /// A derivative's ticker: mark, index and last price, open interest and funding.
        DerivativeTicker = "derivative_ticker",
    }
}

crate::named_enum! {
    /// The asset class of an instrument.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
    pub enum AssetClass [what = "asset class", serde] {
        /// Stocks and ETFs.
        Equity = "equity",
        /// Futures.
        Future = "future",
        /// Options.
        Option = "option",
        /// Currency pairs.
        Forex = "forex",
        /// Crypto assets and their derivatives.
        Crypto = "crypto",
        /// Indices.
        Index = "index",
        /// Bonds and rates.
        FixedIncome = "fixed_income",
        /// Commodities (spot).
        Commodity = "commodity",
        /// Anything else.
        Other = "other",
    }
}

crate::named_enum! {
    /// An option's right.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
    pub enum OptionRight [what = "option right", serde] {
        /// The right to buy.
        Call = "call",
        /// The right to sell.
        Put = "put",
    }
}

crate::named_enum! {
    /// An option's exercise style.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
    pub enum OptionStyle [what = "option style", serde] {
        /// Exercisable any day until expiry.
        American = "american",
        /// Exercisable at expiry only.
        European = "european",
    }
}

crate::named_enum! {
    /// The aggressor side of a trade.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
    pub enum Side [what = "trade side", serde] {
        /// The buyer lifted the offer.
        Buy = "buy",
        /// The seller hit the bid.
        Sell = "sell",
    }
}

crate::named_enum! {
    /// A side of the book.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
    pub enum BookSide [what = "book side", serde] {
        /// The bid side.
        Bid = "bid",
        /// The ask side.
        Ask = "ask",
    }
}

crate::named_enum! {
    /// What an order-book delta does.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
    pub enum BookAction [what = "book action", serde] {
        /// A new order or price level.
        Add = "add",
        /// A changed order or level (for L2 diffs: the new total size at the price).
        Modify = "modify",
        /// An order or level removed.
        Cancel = "cancel",
        /// An order (partly) executed.
        Execute = "execute",
        /// The whole book cleared.
        Clear = "clear",
    }
}

crate::named_enum! {
    /// Where an event's `event_time` comes from (`"ts_basis"` in JSONL, schema 1.1).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
    pub enum TimeBasis [what = "time basis", serde] {
        /// The venue's or vendor's own time for the event (every source that sends one).
        Venue = "venue",
        /// The source sent no event time, so the time strata's capture received the message
        /// serves as the event time (Binance spot `bookTicker`, which carries no `E` or `T`).
        Receive = "receive",
    }
}

/// The schema version every event carries (`"v":"1.0"`). Readers accept any minor version of
/// their major and ignore fields they do not know (MODEL-4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SchemaVersion {
    /// Incompatible changes bump this.
    pub major: u16,
    /// Added optional fields bump this.
    pub minor: u16,
}

impl SchemaVersion {
    /// The version this build writes.
    /// 1.1 added `ts_basis` (see [`TimeBasis`]); a 1.0 line reads as `ts_basis` `venue`.
    /// 1.2 added `open_interest` events and 38-digit decimals; 1.3 `derivative_ticker` events.
    pub const CURRENT: SchemaVersion = SchemaVersion { major: 1, minor: 3 };
}

impl Default for SchemaVersion {
    fn default() -> Self {
        SchemaVersion::CURRENT
    }
}

impl fmt::Display for SchemaVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

impl FromStr for SchemaVersion {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (major, minor) = s.split_once('.').unwrap_or((s, "0"));
        match (major.parse(), minor.parse()) {
            (Ok(major), Ok(minor)) => Ok(SchemaVersion { major, minor }),
            _ => Err(format!(
                "`{s}` is not a schema version (MAJOR.MINOR, e.g. 1.0)"
            )),
        }
    }
}

/// A price and a size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Level {
    /// Price.
    pub price: Decimal,
    /// Size at that price.
    pub size: Decimal,
}

/// A trade print.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Trade {
    /// Trade price.
    pub price: Decimal,
    /// Trade size (fractional for crypto).
    pub size: Decimal,
    /// Aggressor side, when the venue says.
    pub side: Option<Side>,
    /// The venue's trade id.
    pub trade_id: Option<String>,
    /// Sale conditions or flags as the venue wrote them.
    pub conditions: Option<String>,
}

/// Best bid and offer; a side is `None` when the book has no order on it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BboQuote {
    /// Best bid.
    pub bid: Option<Level>,
    /// Best ask.
    pub ask: Option<Level>,
}

/// A full book snapshot, best level first on each side.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct L2Snapshot {
    /// Bids, highest price first.
    pub bids: Vec<Level>,
    /// Asks, lowest price first.
    pub asks: Vec<Level>,
}

/// One change to an order book, from an MBO feed (with order ids) or an L2 diff feed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OrderBookDelta {
    /// What happened.
    pub action: BookAction,
    /// Which side; `None` for `clear` or when the venue does not say.
    pub side: Option<BookSide>,
    /// Price; `None` for `clear`.
    pub price: Option<Decimal>,
    /// Size (for L2 diffs, the new total at the price; zero removes the level).
    pub size: Option<Decimal>,
    /// The venue's order id (MBO feeds).
    pub order_id: Option<u64>,
    /// Venue flags, kept as given (e.g. DBN's `F_LAST`).
    pub flags: Option<u8>,
}

/// An OHLCV bar.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Bar {
    /// Bar length in seconds (60 for one minute, 86400 for daily).
    pub interval_s: u32,
    /// Open.
    pub open: Decimal,
    /// High.
    pub high: Decimal,
    /// Low.
    pub low: Decimal,
    /// Close.
    pub close: Decimal,
    /// Volume.
    pub volume: Decimal,
    /// Number of trades, when known.
    pub trades: Option<u64>,
    /// Volume-weighted average price, when known.
    pub vwap: Option<Decimal>,
}

/// What an event says.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Payload {
    /// A trade.
    Trade(Trade),
    /// Best bid/offer.
    BboQuote(BboQuote),
    /// Book snapshot.
    L2Snapshot(L2Snapshot),
    /// Book change.
    OrderBookDelta(OrderBookDelta),
    /// OHLCV bar.
    Bar(Bar),
    /// Feed heartbeat.
    Heartbeat,
    /// Open interest.
    OpenInterest(OpenInterest),
    /// Derivative ticker.
    DerivativeTicker(DerivativeTicker),
}

/// Open interest: the number of contracts outstanding, as the venue published it at the event
/// time (a decimal, as some venues publish fractional contract amounts).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OpenInterest {
    /// Contracts outstanding.
    pub value: Decimal,
}

/// What a venue publishes about a perpetual swap, future or option beyond its book and trades
/// (Tardis.dev's `derivative_ticker`, Binance's `markPrice`): every field is as the venue sent it,
/// `None` when this update did not carry it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct DerivativeTicker {
    /// The last traded price.
    pub last_price: Option<Decimal>,
    /// The mark price (what margin and liquidations use).
    pub mark_price: Option<Decimal>,
    /// The underlying index price.
    pub index_price: Option<Decimal>,
    /// Contracts (or coins, as the venue counts) outstanding.
    pub open_interest: Option<Decimal>,
    /// The funding rate of the current period, as a fraction (`0.0001` is 0.01 %).
    pub funding_rate: Option<Decimal>,
    /// The venue's forecast of the next period's funding rate.
    pub predicted_funding_rate: Option<Decimal>,
    /// When the next funding is applied.
    pub funding_time: Option<Timestamp>,
}

impl Payload {
    /// The kind of this payload.
    pub const fn kind(&self) -> EventKind {
        match self {
            Payload::Trade(_) => EventKind::Trade,
            Payload::BboQuote(_) => EventKind::BboQuote,
            Payload::L2Snapshot(_) => EventKind::L2Snapshot,
            Payload::OrderBookDelta(_) => EventKind::OrderBookDelta,
            Payload::Bar(_) => EventKind::Bar,
            Payload::Heartbeat => EventKind::Heartbeat,
            Payload::OpenInterest(_) => EventKind::OpenInterest,
            Payload::DerivativeTicker(_) => EventKind::DerivativeTicker,
        }
    }

    /// The trade, if this is one.
    pub fn trade(&self) -> Option<&Trade> {
        match self {
            Payload::Trade(t) => Some(t),
            _ => None,
        }
    }
}

/// One market event with its metadata.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Event {
    /// Schema version of the record.
    pub schema: SchemaVersion,
    /// Source id (see the source registry).
    pub source: String,
    /// Canonical symbol (see the symbol registry).
    pub symbol: String,
    /// Venue or exchange code, when known.
    pub venue: Option<String>,
    /// When it happened at the venue (UTC ns).
    pub event_time: Timestamp,
    /// When strata's feed received it (UTC ns); equals `event_time` when unknown.
    pub receive_time: Timestamp,
    /// Whether `event_time` is the venue's time or, for sources that send none, the receive
    /// time.
    pub time_basis: TimeBasis,
    /// The source's sequence number, when it has one.
    pub sequence: Option<u64>,
    /// The event itself.
    pub payload: Payload,
}

impl Event {
    /// A current-schema event with no venue or sequence and `receive_time = event_time`.
    pub fn new(
        source: impl Into<String>,
        symbol: impl Into<String>,
        event_time: Timestamp,
        payload: Payload,
    ) -> Self {
        Event {
            schema: SchemaVersion::CURRENT,
            source: source.into(),
            symbol: symbol.into(),
            venue: None,
            event_time,
            receive_time: event_time,
            time_basis: TimeBasis::Venue,
            sequence: None,
            payload,
        }
    }

    /// The event's kind.
    pub const fn kind(&self) -> EventKind {
        self.payload.kind()
    }
}
