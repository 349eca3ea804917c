//! Binance websocket captures (hftbacktest's format): one message per line,
//! `<local receive ns> <websocket JSON>`, the JSON bare or wrapped as a combined stream
//! (`{"stream":"btcusdt@depth@0ms","data":{…}}`). A line that is only JSON has no receive time
//! (receive time = event time).
//!
//! | message | events |
//! |---|---|
//! | `depthUpdate` | one [`OrderBookDelta`] per level of `b` (bid) and `a` (ask): `modify` with the new total size, or `cancel` when the size is zero (the size `"0.000"` is kept as sent); `sequence` = `u` |
//! | `bookTicker` (futures: with `e`, `E`, `T`; spot: only `u`, `s`, `b`, `B`, `a`, `A`) | a [`BboQuote`] of `b`/`B` and `a`/`A`; `sequence` = `u` |
//! | `trade` | a [`Trade`]: `trade_id` and `sequence` = `t`; side `sell` when `m` (the buyer is the maker) is true, else `buy`; `conditions` = `X` unless it is `MARKET` |
//! | REST depth snapshot (`lastUpdateId`, `bids`, `asks`) | an [`L2Snapshot`]; `sequence` = `lastUpdateId` |
//! | `markPrice`, `aggTrade`, `kline`, anything else | [`Record::Skipped`] |
//!
//! Event time is `T` (transaction time) when present, else `E` (event time), milliseconds →
//! nanoseconds; receive time is the capture's local nanoseconds. Spot `bookTicker` messages and
//! spot REST depth snapshots carry neither `T` nor `E`: their event time is the receive time,
//! and the event says so (`time_basis` [`TimeBasis::Receive`], `"ts_basis":"receive"` in
//! JSONL); a bare JSON line without `T`/`E` has no receive time either and is rejected. Prices and sizes are the
//! decimal strings as sent, parsed exactly (`"60123.10"` stays `"60123.10"`). Symbol = `s`
//! (a snapshot has none: it takes `--symbol`, else the last `s` seen), source `binance`, venue
//! `BINANCE`.
//!
//! **Sequence gaps.** A `depthUpdate`'s `pu` must equal the previous `depthUpdate`'s `u` for the
//! same symbol; each break is yielded as a [`Record::Gap`] (line, expected, found) before the
//! message's events, which are still imported.

use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};

use serde::Deserialize;
use serde_json::value::RawValue;
use strata_model::{
    BboQuote, BookAction, BookSide, Decimal, Event, EventKind, L2Snapshot, Level, OrderBookDelta,
    Payload, SchemaVersion, Side, TimeBasis, Timestamp, Trade,
};

use crate::error::RowError;
use crate::input::{rejected_line, LineParser};
use crate::record::{Gap, Record};

/// Fixed metadata for the events of a capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BinanceContext {
    /// Source id (`binance`).
    pub source: String,
    /// Venue (`BINANCE`).
    pub venue: String,
    /// Symbol for messages that carry none (REST depth snapshots).
    pub symbol: Option<String>,
}

impl Default for BinanceContext {
    fn default() -> Self {
        BinanceContext {
            source: "binance".into(),
            venue: "BINANCE".into(),
            symbol: None,
        }
    }
}

/// What one capture line holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BinanceMessage {
    /// An L2 diff: its update-id range and one delta event per level.
    DepthUpdate {
        /// The symbol (`s`).
        symbol: String,
        /// First update id in the message (`U`).
        first_update_id: u64,
        /// Last update id in the message (`u`).
        last_update_id: u64,
        /// The previous message's last update id (`pu`; futures streams only).
        previous_update_id: Option<u64>,
        /// One [`OrderBookDelta`] per level, bids first.
        events: Vec<Event>,
    },
    /// A `bookTicker` quote, a `trade`, or a REST depth snapshot.
    Event(Event),
    /// A stream strata does not store (its event type or a short description).
    Other(String),
}

/// The fields of every message type, borrowed from the line; which are present depends on the
/// type. Quantities that are arrays in one type and strings in another stay raw until the type
/// is known.
#[derive(Deserialize)]
struct Message<'a> {
    #[serde(borrow, default)]
    stream: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    data: Option<&'a RawValue>,
    #[serde(borrow, default)]
    e: Option<Cow<'a, str>>,
    #[serde(rename = "E", default)]
    event_ms: Option<i64>,
    #[serde(rename = "T", default)]
    transaction_ms: Option<i64>,
    #[serde(borrow, default)]
    s: Option<Cow<'a, str>>,
    #[serde(rename = "U", default)]
    first_update_id: Option<u64>,
    #[serde(default)]
    u: Option<u64>,
    #[serde(default)]
    pu: Option<u64>,
    #[serde(borrow, default)]
    b: Option<&'a RawValue>,
    #[serde(borrow, default)]
    a: Option<&'a RawValue>,
    #[serde(rename = "B", borrow, default)]
    bid_qty: Option<&'a str>,
    #[serde(rename = "A", borrow, default)]
    ask_qty: Option<&'a str>,
    #[serde(default)]
    t: Option<u64>,
    #[serde(borrow, default)]
    p: Option<&'a str>,
    #[serde(borrow, default)]
    q: Option<&'a str>,
    #[serde(default)]
    m: Option<bool>,
    #[serde(rename = "X", borrow, default)]
    order_type: Option<Cow<'a, str>>,
    #[serde(rename = "lastUpdateId", default)]
    last_update_id: Option<u64>,
    #[serde(borrow, default)]
    bids: Option<&'a RawValue>,
    #[serde(borrow, default)]
    asks: Option<&'a RawValue>,
}

impl Message<'_> {
    /// Event time: `T`, else `E`; `None` when the message carries neither.
    fn event_time(&self) -> Result<Option<Timestamp>, RowError> {
        match self.transaction_ms.or(self.event_ms) {
            None => Ok(None),
            Some(ms) => Timestamp::from_millis(ms)
                .map(Some)
                .ok_or_else(|| RowError::OutOfRange {
                    what: format!("event time {ms} ms"),
                }),
        }
    }

    fn field<T>(&self, value: Option<T>, name: &str) -> Result<T, RowError> {
        value.ok_or_else(|| RowError::MissingKey {
            message: self.e.as_deref().unwrap_or("?").to_string(),
            key: name.to_string(),
        })
    }
}

fn decimal(text: &str, field: &str) -> Result<Decimal, RowError> {
    text.parse::<Decimal>().map_err(|source| RowError::Decimal {
        field: format!("`{field}`"),
        source,
    })
}

/// A JSON parser's report about `what`.
fn json_error(what: impl Into<String>, error: serde_json::Error) -> RowError {
    RowError::Json {
        what: what.into(),
        error: error.to_string(),
    }
}

/// `[["price","qty"], …]`, parsed exactly.
fn levels(raw: &RawValue, field: &str) -> Result<Vec<Level>, RowError> {
    let pairs: Vec<(&str, &str)> = serde_json::from_str(raw.get()).map_err(|e| {
        json_error(
            format!("`{field}` is not a list of [price, quantity] strings"),
            e,
        )
    })?;
    pairs
        .into_iter()
        .map(|(price, size)| {
            Ok(Level {
                price: decimal(price, field)?,
                size: decimal(size, field)?,
            })
        })
        .collect()
}

/// Parses one capture line (see the module docs for what each message becomes).
///
/// ```
/// use strata_import::binance::{parse_line, BinanceContext, BinanceMessage};
///
/// let line = r#"1723161255088176367 {"stream":"btcusdt@trade","data":{"e":"trade","E":1723161256322,"T":1723161256322,"s":"BTCUSDT","t":5266583935,"p":"60123.10","q":"0.006","X":"MARKET","m":false}}"#;
/// let BinanceMessage::Event(event) = parse_line(line, &BinanceContext::default())? else {
///     unreachable!()
/// };
/// let trade = event.payload.trade().unwrap();
/// assert_eq!(trade.price.to_string(), "60123.10");
/// assert_eq!(event.receive_time.as_nanos(), 1_723_161_255_088_176_367);
/// assert_eq!(event.sequence, Some(5_266_583_935));
/// # Ok::<(), strata_import::RowError>(())
/// ```
pub fn parse_line(line: &str, ctx: &BinanceContext) -> Result<BinanceMessage, RowError> {
    let line = line.trim();
    let (receive_ns, json) = match line.split_once(' ') {
        Some((ns, json)) if !line.starts_with('{') => {
            let ns = ns
                .parse::<i64>()
                .map_err(|_| RowError::bad_value(ns, "is not a receive time in nanoseconds"))?;
            (Some(ns), json.trim_start())
        }
        _ => (None, line),
    };
    let outer: Message<'_> =
        serde_json::from_str(json).map_err(|e| json_error("invalid message JSON", e))?;
    let (stream, message) = match outer.data {
        Some(data) => (
            outer.stream,
            serde_json::from_str::<Message<'_>>(data.get())
                .map_err(|e| json_error("invalid `data` JSON", e))?,
        ),
        None => (None, outer),
    };
    // Spot `bookTicker` messages and spot REST depth snapshots carry no event time: the
    // capture's receive time then serves as the event time, marked `ts_basis: receive`.
    let (event_time, receive_time, time_basis) =
        match (message.event_time()?, receive_ns.map(Timestamp::from_nanos)) {
            (Some(event), Some(receive)) => (event, receive, TimeBasis::Venue),
            (Some(event), None) => (event, event, TimeBasis::Venue),
            (None, Some(receive)) => (receive, receive, TimeBasis::Receive),
            (None, None) => {
                return Err(RowError::invalid(
                    "the message has no event time (`T` or `E`) and the line no receive time to stand in for it",
                ))
            }
        };
    let event = |symbol: String, sequence: u64, payload: Payload| Event {
        schema: SchemaVersion::CURRENT,
        source: ctx.source.clone(),
        symbol,
        venue: Some(ctx.venue.clone()),
        event_time,
        receive_time,
        time_basis,
        sequence: Some(sequence),
        payload,
    };
    let symbol = || -> Result<String, RowError> {
        match (&message.s, &ctx.symbol) {
            (Some(s), _) => Ok(s.to_string()),
            (None, Some(s)) => Ok(s.clone()),
            (None, None) => Err(RowError::NoSymbol {
                why: "the message names no symbol (`s`)".into(),
            }),
        }
    };

    // Spot `bookTicker` messages have no `e` either: `{"u":…,"s":…,"b":…,"B":…,"a":…,"A":…}`.
    let book_ticker = message.e.is_none()
        && message.u.is_some()
        && message.bid_qty.is_some()
        && message.ask_qty.is_some();
    if message.e.is_none() && !book_ticker {
        if let Some(last_update_id) = message.last_update_id {
            let bids = levels(message.field(message.bids, "bids")?, "bids")?;
            let asks = levels(message.field(message.asks, "asks")?, "asks")?;
            return Ok(BinanceMessage::Event(event(
                symbol()?,
                last_update_id,
                Payload::L2Snapshot(L2Snapshot { bids, asks }),
            )));
        }
        return Err(RowError::invalid(
            "the message has no event type (`e`) and is not a depth snapshot",
        ));
    }
    let event_type = if book_ticker {
        "bookTicker"
    } else {
        message.e.as_deref().unwrap_or_default()
    };
    match event_type {
        "depthUpdate" => {
            let last_update_id = message.field(message.u, "u")?;
            let first_update_id = message.field(message.first_update_id, "U")?;
            let bids = levels(message.field(message.b, "b")?, "b")?;
            let asks = levels(message.field(message.a, "a")?, "a")?;
            let symbol = symbol()?;
            let mut events = Vec::with_capacity(bids.len() + asks.len());
            for (side, levels) in [(BookSide::Bid, bids), (BookSide::Ask, asks)] {
                for level in levels {
                    let action = if level.size.is_zero() {
                        BookAction::Cancel
                    } else {
                        BookAction::Modify
                    };
                    events.push(event(
                        symbol.clone(),
                        last_update_id,
                        Payload::OrderBookDelta(OrderBookDelta {
                            action,
                            side: Some(side),
                            price: Some(level.price),
                            size: Some(level.size),
                            order_id: None,
                            flags: None,
                        }),
                    ));
                }
            }
            Ok(BinanceMessage::DepthUpdate {
                symbol,
                first_update_id,
                last_update_id,
                previous_update_id: message.pu,
                events,
            })
        }
        "bookTicker" => {
            let bid_price: &str = serde_json::from_str(message.field(message.b, "b")?.get())
                .map_err(|e| json_error("`b` is not a price string", e))?;
            let ask_price: &str = serde_json::from_str(message.field(message.a, "a")?.get())
                .map_err(|e| json_error("`a` is not a price string", e))?;
            let quote = BboQuote {
                bid: Some(Level {
                    price: decimal(bid_price, "b")?,
                    size: decimal(message.field(message.bid_qty, "B")?, "B")?,
                }),
                ask: Some(Level {
                    price: decimal(ask_price, "a")?,
                    size: decimal(message.field(message.ask_qty, "A")?, "A")?,
                }),
            };
            let sequence = message.field(message.u, "u")?;
            Ok(BinanceMessage::Event(event(
                symbol()?,
                sequence,
                Payload::BboQuote(quote),
            )))
        }
        "trade" => {
            let trade_id = message.field(message.t, "t")?;
            let trade = Trade {
                price: decimal(message.field(message.p, "p")?, "p")?,
                size: decimal(message.field(message.q, "q")?, "q")?,
                side: Some(if message.field(message.m, "m")? {
                    Side::Sell
                } else {
                    Side::Buy
                }),
                trade_id: Some(trade_id.to_string()),
                conditions: message
                    .order_type
                    .as_deref()
                    .filter(|x| *x != "MARKET")
                    .map(str::to_string),
            };
            Ok(BinanceMessage::Event(event(
                symbol()?,
                trade_id,
                Payload::Trade(trade),
            )))
        }
        other => Ok(BinanceMessage::Other(match stream.or(message.stream) {
            Some(stream) => format!("{other} ({stream})"),
            None => other.to_string(),
        })),
    }
}

/// The line parser behind [`Format::Binance`](crate::Format::Binance), with the per-symbol
/// depth sequence state.
pub(crate) struct BinanceLines {
    file: String,
    ctx: BinanceContext,
    /// `--symbol` was given: it is never replaced by the last `s` seen.
    fixed_symbol: bool,
    kind: Option<EventKind>,
    last_depth_update: HashMap<String, u64>,
}

impl BinanceLines {
    pub(crate) fn new(file: &str, ctx: BinanceContext, kind: Option<EventKind>) -> Self {
        BinanceLines {
            file: file.to_string(),
            fixed_symbol: ctx.symbol.is_some(),
            ctx,
            kind,
            last_depth_update: HashMap::new(),
        }
    }

    fn remember_symbol(&mut self, symbol: &str) {
        if !self.fixed_symbol && self.ctx.symbol.as_deref() != Some(symbol) {
            self.ctx.symbol = Some(symbol.to_string());
        }
    }
}

impl LineParser for BinanceLines {
    fn parse_line(&mut self, line_no: u64, line: &[u8], out: &mut VecDeque<Record>) {
        let parsed = std::str::from_utf8(line)
            .map_err(|_| RowError::invalid("the line is not UTF-8 text"))
            .and_then(|text| parse_line(text, &self.ctx));
        match parsed {
            Ok(BinanceMessage::DepthUpdate {
                symbol,
                last_update_id,
                previous_update_id,
                events,
                ..
            }) => {
                let previous = match self.last_depth_update.get_mut(symbol.as_str()) {
                    Some(slot) => Some(std::mem::replace(slot, last_update_id)),
                    None => {
                        self.last_depth_update
                            .insert(symbol.clone(), last_update_id);
                        None
                    }
                };
                if let (Some(expected), Some(found)) = (previous, previous_update_id) {
                    if expected != found {
                        out.push_back(Record::Gap(Gap {
                            file: self.file.clone(),
                            line: line_no,
                            symbol: symbol.clone(),
                            expected,
                            found,
                        }));
                    }
                }
                self.remember_symbol(&symbol);
                out.extend(
                    events
                        .into_iter()
                        .map(|event| crate::select_kind(event, self.kind, line_no)),
                );
            }
            Ok(BinanceMessage::Event(event)) => {
                if !matches!(event.payload, Payload::L2Snapshot(_)) {
                    self.remember_symbol(&event.symbol);
                }
                out.push_back(crate::select_kind(event, self.kind, line_no));
            }
            Ok(BinanceMessage::Other(what)) => out.push_back(Record::Skipped {
                line: line_no,
                reason: format!("Binance `{what}` messages are not stored"),
            }),
            Err(reason) => {
                out.push_back(rejected_line(&self.file, line_no, reason.to_string(), line))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> BinanceContext {
        BinanceContext::default()
    }

    const DEPTH: &str = r#"1723161255030314667 {"stream":"btcusdt@depth@0ms","data":{"e":"depthUpdate","E":1723161256299,"T":1723161256298,"s":"BTCUSDT","U":5123107832006,"u":5123107837557,"pu":5123107831937,"b":[["58710.20","0.014"],["61510.90","0.000"]],"a":[["61800.30","3.330"]]}}"#;

    #[test]
    fn depth_updates_become_one_delta_per_level() {
        let BinanceMessage::DepthUpdate {
            symbol,
            first_update_id,
            last_update_id,
            previous_update_id,
            events,
        } = parse_line(DEPTH, &ctx()).unwrap()
        else {
            panic!()
        };
        assert_eq!(symbol, "BTCUSDT");
        assert_eq!(
            (first_update_id, last_update_id, previous_update_id),
            (5123107832006, 5123107837557, Some(5123107831937))
        );
        assert_eq!(events.len(), 3);
        let delta = |i: usize| match &events[i].payload {
            Payload::OrderBookDelta(d) => d.clone(),
            _ => panic!(),
        };
        assert_eq!(
            (
                delta(0).action,
                delta(0).side,
                delta(0).price.unwrap().to_string()
            ),
            (BookAction::Modify, Some(BookSide::Bid), "58710.20".into())
        );
        assert_eq!(
            (delta(1).action, delta(1).size.unwrap().to_string()),
            (BookAction::Cancel, "0.000".into())
        );
        assert_eq!(
            (delta(2).side, delta(2).size.unwrap().to_string()),
            (Some(BookSide::Ask), "3.330".into())
        );
        assert_eq!(events[0].event_time.as_nanos(), 1_723_161_256_298_000_000);
        assert_eq!(events[0].receive_time.as_nanos(), 1_723_161_255_030_314_667);
        assert_eq!(events[0].sequence, Some(5123107837557));
        assert_eq!(events[0].venue.as_deref(), Some("BINANCE"));
    }

    #[test]
    fn book_ticker_and_bare_json_parse() {
        let line = r#"{"e":"bookTicker","u":5123107839020,"s":"BTCUSDT","b":"61800.20","B":"2.507","a":"61800.30","A":"2.510","E":1723161256313}"#;
        let BinanceMessage::Event(event) = parse_line(line, &ctx()).unwrap() else {
            panic!()
        };
        let Payload::BboQuote(q) = &event.payload else {
            panic!()
        };
        assert_eq!(q.bid.unwrap().price.to_string(), "61800.20");
        assert_eq!(q.ask.unwrap().size.to_string(), "2.510");
        assert_eq!(event.receive_time, event.event_time);
        assert_eq!(event.sequence, Some(5123107839020));
    }

    #[test]
    fn spot_book_tickers_take_the_receive_time_and_say_so() {
        // Binance spot `<symbol>@bookTicker` (no `e`, `E` or `T`), bare and as a combined
        // stream, as a capture writes them: the receive time stands in for the event time.
        for line in [
            r#"1723161255088176367 {"u":400900217,"s":"BNBUSDT","b":"25.35190000","B":"31.21000000","a":"25.36520000","A":"40.66000000"}"#,
            r#"1723161255088176367 {"stream":"bnbusdt@bookTicker","data":{"u":400900217,"s":"BNBUSDT","b":"25.35190000","B":"31.21000000","a":"25.36520000","A":"40.66000000"}}"#,
        ] {
            let BinanceMessage::Event(event) = parse_line(line, &ctx()).unwrap() else {
                panic!("{line}")
            };
            let Payload::BboQuote(q) = &event.payload else {
                panic!()
            };
            assert_eq!(q.bid.unwrap().price.to_string(), "25.35190000");
            assert_eq!(q.ask.unwrap().size.to_string(), "40.66000000");
            assert_eq!(event.event_time.as_nanos(), 1_723_161_255_088_176_367);
            assert_eq!(event.receive_time, event.event_time);
            assert_eq!(event.time_basis, TimeBasis::Receive);
            assert_eq!(
                (event.symbol.as_str(), event.sequence),
                ("BNBUSDT", Some(400900217))
            );
        }
        // A futures bookTicker keeps the venue's time.
        let futures = r#"1723161255088176367 {"e":"bookTicker","u":5123107839020,"s":"BTCUSDT","b":"61800.20","B":"2.507","a":"61800.30","A":"2.510","T":1723161256312,"E":1723161256313}"#;
        let BinanceMessage::Event(event) = parse_line(futures, &ctx()).unwrap() else {
            panic!()
        };
        assert_eq!(event.time_basis, TimeBasis::Venue);
        assert_eq!(event.event_time.as_nanos(), 1_723_161_256_312_000_000);
        // A spot partial-depth message (`@depth5`: a snapshot without `E`) likewise.
        let depth5 = r#"1723161255088176367 {"stream":"bnbusdt@depth5","data":{"lastUpdateId":160,"bids":[["0.0024","10"]],"asks":[["0.0026","100"]]}}"#;
        let with_symbol = BinanceContext {
            symbol: Some("BNBUSDT".into()),
            ..ctx()
        };
        let BinanceMessage::Event(event) = parse_line(depth5, &with_symbol).unwrap() else {
            panic!()
        };
        assert_eq!(event.time_basis, TimeBasis::Receive);
        // Without a receive time there is nothing to stand in: rejected, never dropped quietly.
        let bare = r#"{"u":400900217,"s":"BNBUSDT","b":"25.35190000","B":"31.21000000","a":"25.36520000","A":"40.66000000"}"#;
        let err = parse_line(bare, &ctx()).unwrap_err().to_string();
        assert!(err.contains("no receive time"), "{err}");
    }

    #[test]
    fn snapshots_take_the_context_symbol() {
        let line = r#"1723161255319702566 {"lastUpdateId":5123107852948,"E":1723161256501,"T":1723161256493,"bids":[["61800.20","2.909"]],"asks":[["61800.30","1.000"],["61800.40","0.5"]]}"#;
        let err = parse_line(line, &ctx()).unwrap_err().to_string();
        assert!(err.contains("--symbol"), "{err}");
        let with_symbol = BinanceContext {
            symbol: Some("BTCUSDT".into()),
            ..ctx()
        };
        let BinanceMessage::Event(event) = parse_line(line, &with_symbol).unwrap() else {
            panic!()
        };
        let Payload::L2Snapshot(book) = &event.payload else {
            panic!()
        };
        assert_eq!(
            (book.bids.len(), book.asks.len(), event.sequence),
            (1, 2, Some(5123107852948))
        );
    }

    #[test]
    fn trades_take_side_from_the_maker_flag() {
        let sell = r#"1 {"e":"trade","E":1,"T":2,"s":"BTCUSDT","t":9,"p":"1.0","q":"2","X":"ADL","m":true}"#;
        let BinanceMessage::Event(event) = parse_line(sell, &ctx()).unwrap() else {
            panic!()
        };
        let trade = event.payload.trade().unwrap();
        assert_eq!(
            (trade.side, trade.conditions.as_deref()),
            (Some(Side::Sell), Some("ADL"))
        );
        assert_eq!(event.event_time.as_nanos(), 2_000_000);
    }

    #[test]
    fn other_streams_and_bad_lines() {
        let mark = r#"1 {"stream":"btcusdt@markPrice","data":{"e":"markPriceUpdate","E":1,"s":"BTCUSDT","p":"1.0","T":5}}"#;
        assert_eq!(
            parse_line(mark, &ctx()).unwrap(),
            BinanceMessage::Other("markPriceUpdate (btcusdt@markPrice)".into())
        );
        for (line, needle) in [
            ("x {}", "`x` is not a receive time"),
            ("1 {", "invalid message JSON"),
            (
                r#"1 {"e":"trade","E":1,"s":"X","t":1,"p":"1.5e3","q":"1","m":false}"#,
                "`p`",
            ),
            (
                r#"1 {"e":"trade","E":1,"s":"X","t":1,"p":"1","m":false}"#,
                "no `q`",
            ),
            (
                r#"{"e":"trade","s":"X","t":1,"p":"1","q":"1","m":false}"#,
                "no event time (`T` or `E`) and the line no receive time",
            ),
            (
                r#"1 {"e":"depthUpdate","E":1,"s":"X","U":1,"u":2,"b":[[1.5,"1"]],"a":[]}"#,
                "`b` is not a list",
            ),
            (r#"1 {"a":1}"#, "no event type"),
        ] {
            let err = parse_line(line, &ctx()).unwrap_err().to_string();
            assert!(err.contains(needle), "{line}: {err}");
        }
    }
}
