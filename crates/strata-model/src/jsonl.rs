//! The hot-tier wire form: JSON Lines, one event per line, schema v1 (MODEL-4).
//!
//! The schema is documented in `docs/SCHEMA.md`. Every line is a flat JSON object:
//!
//! ```text
//! {"v":"1.0","kind":"trade","source":"binance","symbol":"BTCUSDT","venue":"BINANCE",
//!  "ts":1723075200000000000,"recv_ts":1723075200000100000,"seq":4611,
//!  "price":"60123.10","size":"0.005","side":"buy","trade_id":"5127439283"}
//! ```
//!
//! Prices and sizes are decimal strings (exact); times are integer nanoseconds (UTC).
//! Optional fields are omitted when absent. On read, unknown fields are ignored when the record's
//! major version is ours (a newer minor version may add fields); another major is refused.

use std::borrow::Cow;

use serde::Deserialize;

use crate::decimal::{push_i64, push_u64};
use crate::event::{
    Bar, BboQuote, BookAction, BookSide, DerivativeTicker, Event, EventKind, L2Snapshot, Level,
    OpenInterest, OrderBookDelta, Payload, SchemaVersion, Side, TimeBasis, Trade,
};
use crate::{Decimal, Timestamp};

mod canonical;
pub use canonical::{decode_canonical, decode_canonical_into};

/// Why a line is not a valid event.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// Not JSON, or a field has the wrong type (serde_json names the column).
    #[error("invalid JSON event: {0}")]
    Json(#[from] serde_json::Error),
    /// A field the event's kind needs is absent.
    #[error("`{kind}` event is missing field `{field}`")]
    MissingField {
        /// The event kind.
        kind: EventKind,
        /// The missing field.
        field: &'static str,
    },
    /// A field has a value outside its allowed set.
    #[error("field `{field}`: {problem}")]
    InvalidField {
        /// The field.
        field: &'static str,
        /// What is wrong.
        problem: String,
    },
    /// The record's major schema version is not one this build reads.
    #[error("schema version {found} is not readable by this build (reads {}.x)", SchemaVersion::CURRENT.major)]
    UnsupportedVersion {
        /// The version the record declared.
        found: SchemaVersion,
    },
}

/// Why an event cannot be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot encode event as JSON: {0}")]
pub struct EncodeError(#[from] serde_json::Error);

/// Encodes one event as a JSON line, newline included.
pub fn encode_line(event: &Event) -> Result<Vec<u8>, EncodeError> {
    let mut out = Vec::with_capacity(256);
    encode_into(event, &mut out)?;
    Ok(out)
}

/// Appends one event as a JSON line (newline included) to `out`.
///
/// Written by hand (the ingest hot path): the bytes are exactly those serde_json's compact
/// serializer writes for the same map of fields, which the tests check on arbitrary events
/// (`hand_encoder_writes_what_serde_json_writes`). Writing into a `Vec` cannot fail; the
/// `Result` stays for the signature's sake.
pub fn encode_into(event: &Event, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    write_event(event, out);
    Ok(())
}

fn write_event(e: &Event, out: &mut Vec<u8>) {
    out.reserve(192);
    out.extend_from_slice(b"{\"v\":\"");
    push_u64(out, u64::from(e.schema.major));
    out.push(b'.');
    push_u64(out, u64::from(e.schema.minor));
    out.extend_from_slice(b"\",\"kind\":\"");
    // Kind, side and action names are lower-case ASCII letters and `_`: nothing to escape.
    out.extend_from_slice(e.kind().as_str().as_bytes());
    out.extend_from_slice(b"\",\"source\":");
    push_str(out, &e.source);
    out.extend_from_slice(b",\"symbol\":");
    push_str(out, &e.symbol);
    if let Some(venue) = &e.venue {
        out.extend_from_slice(b",\"venue\":");
        push_str(out, venue);
    }
    out.extend_from_slice(b",\"ts\":");
    push_i64(out, e.event_time.as_nanos());
    out.extend_from_slice(b",\"recv_ts\":");
    push_i64(out, e.receive_time.as_nanos());
    if e.time_basis != TimeBasis::Venue {
        push_name_field(out, b",\"ts_basis\":", e.time_basis.as_str());
    }
    if let Some(seq) = e.sequence {
        out.extend_from_slice(b",\"seq\":");
        push_u64(out, seq);
    }
    match &e.payload {
        Payload::Trade(t) => {
            push_decimal_field(out, b",\"price\":", t.price);
            push_decimal_field(out, b",\"size\":", t.size);
            if let Some(side) = t.side {
                push_name_field(out, b",\"side\":", side.as_str());
            }
            if let Some(id) = &t.trade_id {
                out.extend_from_slice(b",\"trade_id\":");
                push_str(out, id);
            }
            if let Some(c) = &t.conditions {
                out.extend_from_slice(b",\"conditions\":");
                push_str(out, c);
            }
        }
        Payload::BboQuote(q) => {
            if let Some(bid) = q.bid {
                push_decimal_field(out, b",\"bid_price\":", bid.price);
                push_decimal_field(out, b",\"bid_size\":", bid.size);
            }
            if let Some(ask) = q.ask {
                push_decimal_field(out, b",\"ask_price\":", ask.price);
                push_decimal_field(out, b",\"ask_size\":", ask.size);
            }
        }
        Payload::L2Snapshot(s) => {
            out.extend_from_slice(b",\"bids\":");
            push_levels(out, &s.bids);
            out.extend_from_slice(b",\"asks\":");
            push_levels(out, &s.asks);
        }
        Payload::OrderBookDelta(d) => {
            push_name_field(out, b",\"action\":", d.action.as_str());
            if let Some(side) = d.side {
                push_name_field(out, b",\"side\":", side.as_str());
            }
            if let Some(price) = d.price {
                push_decimal_field(out, b",\"price\":", price);
            }
            if let Some(size) = d.size {
                push_decimal_field(out, b",\"size\":", size);
            }
            if let Some(id) = d.order_id {
                out.extend_from_slice(b",\"order_id\":");
                push_u64(out, id);
            }
            if let Some(flags) = d.flags {
                out.extend_from_slice(b",\"flags\":");
                push_u64(out, u64::from(flags));
            }
        }
        Payload::Bar(b) => {
            out.extend_from_slice(b",\"interval_s\":");
            push_u64(out, u64::from(b.interval_s));
            push_decimal_field(out, b",\"open\":", b.open);
            push_decimal_field(out, b",\"high\":", b.high);
            push_decimal_field(out, b",\"low\":", b.low);
            push_decimal_field(out, b",\"close\":", b.close);
            push_decimal_field(out, b",\"volume\":", b.volume);
            if let Some(n) = b.trades {
                out.extend_from_slice(b",\"trades\":");
                push_u64(out, n);
            }
            if let Some(vwap) = b.vwap {
                push_decimal_field(out, b",\"vwap\":", vwap);
            }
        }
        Payload::Heartbeat => {}
        Payload::OpenInterest(oi) => push_decimal_field(out, b",\"open_interest\":", oi.value),
        Payload::DerivativeTicker(t) => {
            let fields = [
                (&b",\"last_price\":"[..], t.last_price),
                (b",\"mark_price\":", t.mark_price),
                (b",\"index_price\":", t.index_price),
                (b",\"open_interest\":", t.open_interest),
                (b",\"funding_rate\":", t.funding_rate),
                (b",\"predicted_funding_rate\":", t.predicted_funding_rate),
            ];
            for (key, value) in fields {
                if let Some(value) = value {
                    push_decimal_field(out, key, value);
                }
            }
            if let Some(at) = t.funding_time {
                out.extend_from_slice(b",\"funding_ts\":");
                push_i64(out, at.as_nanos());
            }
        }
    }
    out.extend_from_slice(b"}\n");
}

/// `,"key":"12.50"` — `key` comes with its comma, quotes and colon.
#[inline]
fn push_decimal_field(out: &mut Vec<u8>, key: &[u8], value: Decimal) {
    out.extend_from_slice(key);
    out.push(b'"');
    value.write_text(out);
    out.push(b'"');
}

/// `,"key":"name"` for a fixed name that needs no escaping.
#[inline]
fn push_name_field(out: &mut Vec<u8>, key: &[u8], name: &str) {
    out.extend_from_slice(key);
    out.push(b'"');
    out.extend_from_slice(name.as_bytes());
    out.push(b'"');
}

/// Book levels as `[["price","size"], …]`: compact and still exact.
fn push_levels(out: &mut Vec<u8>, levels: &[Level]) {
    out.push(b'[');
    for (i, level) in levels.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"[\"");
        level.price.write_text(out);
        out.extend_from_slice(b"\",\"");
        level.size.write_text(out);
        out.extend_from_slice(b"\"]");
    }
    out.push(b']');
}

/// How serde_json escapes each byte of a string: 0 = as is, `u` = `\u00XX`, else `\` + it.
const ESCAPE: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = b'u';
        b += 1;
    }
    table[0x08] = b'b';
    table[0x09] = b't';
    table[0x0A] = b'n';
    table[0x0C] = b'f';
    table[0x0D] = b'r';
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    table
};

/// A JSON string, escaped as serde_json escapes it (quote, backslash and control characters
/// only; everything else, `/` and non-ASCII included, as is).
#[inline]
fn push_str(out: &mut Vec<u8>, text: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = text.as_bytes();
    out.push(b'"');
    let mut run = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape = ESCAPE[usize::from(b)];
        if escape == 0 {
            continue;
        }
        out.extend_from_slice(&bytes[run..i]);
        if escape == b'u' {
            out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 0xF)],
            ]);
        } else {
            out.extend_from_slice(&[b'\\', escape]);
        }
        run = i + 1;
    }
    out.extend_from_slice(&bytes[run..]);
    out.push(b'"');
}

/// Decodes one line (a trailing `\n` or `\r\n` is allowed).
///
/// A canonical line (what [`encode_into`] writes) is read by [`decode_canonical`] in one pass;
/// any other line by serde_json, which also accepts any field order, whitespace and fields of
/// newer minor versions, and names what is wrong.
pub fn decode_line(line: &[u8]) -> Result<Event, DecodeError> {
    match decode_canonical(line) {
        Some(event) => Ok(event),
        None => decode_any(line),
    }
}

/// Decodes one line with serde_json, canonical or not.
fn decode_any(line: &[u8]) -> Result<Event, DecodeError> {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let wire: WireEvent<'_> = serde_json::from_slice(line)?;
    wire.into_event()
}

/// Every field any kind may carry; unknown fields are ignored (newer minor versions).
#[derive(Deserialize)]
struct WireEvent<'a> {
    #[serde(borrow)]
    v: Cow<'a, str>,
    #[serde(borrow)]
    kind: Cow<'a, str>,
    source: String,
    symbol: String,
    #[serde(default)]
    venue: Option<String>,
    ts: Timestamp,
    #[serde(default)]
    recv_ts: Option<Timestamp>,
    #[serde(default, borrow)]
    ts_basis: Option<Cow<'a, str>>,
    #[serde(default)]
    seq: Option<u64>,
    #[serde(default)]
    price: Option<Decimal>,
    #[serde(default)]
    size: Option<Decimal>,
    #[serde(default, borrow)]
    side: Option<Cow<'a, str>>,
    #[serde(default)]
    trade_id: Option<String>,
    #[serde(default)]
    conditions: Option<String>,
    #[serde(default)]
    bid_price: Option<Decimal>,
    #[serde(default)]
    bid_size: Option<Decimal>,
    #[serde(default)]
    ask_price: Option<Decimal>,
    #[serde(default)]
    ask_size: Option<Decimal>,
    #[serde(default)]
    bids: Option<Vec<(Decimal, Decimal)>>,
    #[serde(default)]
    asks: Option<Vec<(Decimal, Decimal)>>,
    #[serde(default, borrow)]
    action: Option<Cow<'a, str>>,
    #[serde(default)]
    order_id: Option<u64>,
    #[serde(default)]
    flags: Option<u8>,
    #[serde(default)]
    interval_s: Option<u32>,
    #[serde(default)]
    open: Option<Decimal>,
    #[serde(default)]
    high: Option<Decimal>,
    #[serde(default)]
    low: Option<Decimal>,
    #[serde(default)]
    close: Option<Decimal>,
    #[serde(default)]
    volume: Option<Decimal>,
    #[serde(default)]
    trades: Option<u64>,
    #[serde(default)]
    vwap: Option<Decimal>,
    #[serde(default)]
    open_interest: Option<Decimal>,
    #[serde(default)]
    last_price: Option<Decimal>,
    #[serde(default)]
    mark_price: Option<Decimal>,
    #[serde(default)]
    index_price: Option<Decimal>,
    #[serde(default)]
    funding_rate: Option<Decimal>,
    #[serde(default)]
    predicted_funding_rate: Option<Decimal>,
    #[serde(default)]
    funding_ts: Option<Timestamp>,
}

fn invalid(field: &'static str, problem: impl ToString) -> DecodeError {
    DecodeError::InvalidField {
        field,
        problem: problem.to_string(),
    }
}

fn level(
    kind: EventKind,
    price: Option<Decimal>,
    size: Option<Decimal>,
    fields: (&'static str, &'static str),
) -> Result<Option<Level>, DecodeError> {
    match (price, size) {
        (Some(price), Some(size)) => Ok(Some(Level { price, size })),
        (None, None) => Ok(None),
        (Some(_), None) => Err(DecodeError::MissingField {
            kind,
            field: fields.1,
        }),
        (None, Some(_)) => Err(DecodeError::MissingField {
            kind,
            field: fields.0,
        }),
    }
}

impl WireEvent<'_> {
    fn into_event(self) -> Result<Event, DecodeError> {
        let schema: SchemaVersion = self.v.parse().map_err(|e| invalid("v", e))?;
        if schema.major != SchemaVersion::CURRENT.major {
            return Err(DecodeError::UnsupportedVersion { found: schema });
        }
        let kind: EventKind = self.kind.parse().map_err(|e| invalid("kind", e))?;
        let need =
            |value: Option<Decimal>, field| value.ok_or(DecodeError::MissingField { kind, field });
        let payload = match kind {
            EventKind::Trade => Payload::Trade(Trade {
                price: need(self.price, "price")?,
                size: need(self.size, "size")?,
                side: self
                    .side
                    .as_deref()
                    .map(|s| s.parse::<Side>())
                    .transpose()
                    .map_err(|e| invalid("side", e))?,
                trade_id: self.trade_id,
                conditions: self.conditions,
            }),
            EventKind::BboQuote => Payload::BboQuote(BboQuote {
                bid: level(
                    kind,
                    self.bid_price,
                    self.bid_size,
                    ("bid_price", "bid_size"),
                )?,
                ask: level(
                    kind,
                    self.ask_price,
                    self.ask_size,
                    ("ask_price", "ask_size"),
                )?,
            }),
            EventKind::L2Snapshot => {
                let levels = |v: Option<Vec<(Decimal, Decimal)>>, field| {
                    v.map(|v| {
                        v.into_iter()
                            .map(|(price, size)| Level { price, size })
                            .collect()
                    })
                    .ok_or(DecodeError::MissingField { kind, field })
                };
                Payload::L2Snapshot(L2Snapshot {
                    bids: levels(self.bids, "bids")?,
                    asks: levels(self.asks, "asks")?,
                })
            }
            EventKind::OrderBookDelta => Payload::OrderBookDelta(OrderBookDelta {
                action: self
                    .action
                    .as_deref()
                    .ok_or(DecodeError::MissingField {
                        kind,
                        field: "action",
                    })?
                    .parse::<BookAction>()
                    .map_err(|e| invalid("action", e))?,
                side: self
                    .side
                    .as_deref()
                    .map(|s| s.parse::<BookSide>())
                    .transpose()
                    .map_err(|e| invalid("side", e))?,
                price: self.price,
                size: self.size,
                order_id: self.order_id,
                flags: self.flags,
            }),
            EventKind::Bar => Payload::Bar(Bar {
                interval_s: self.interval_s.ok_or(DecodeError::MissingField {
                    kind,
                    field: "interval_s",
                })?,
                open: need(self.open, "open")?,
                high: need(self.high, "high")?,
                low: need(self.low, "low")?,
                close: need(self.close, "close")?,
                volume: need(self.volume, "volume")?,
                trades: self.trades,
                vwap: self.vwap,
            }),
            EventKind::Heartbeat => Payload::Heartbeat,
            EventKind::OpenInterest => Payload::OpenInterest(OpenInterest {
                value: need(self.open_interest, "open_interest")?,
            }),
            EventKind::DerivativeTicker => Payload::DerivativeTicker(DerivativeTicker {
                last_price: self.last_price,
                mark_price: self.mark_price,
                index_price: self.index_price,
                open_interest: self.open_interest,
                funding_rate: self.funding_rate,
                predicted_funding_rate: self.predicted_funding_rate,
                funding_time: self.funding_ts,
            }),
        };
        let time_basis = match self.ts_basis.as_deref() {
            None => TimeBasis::Venue,
            Some(name) => name.parse().map_err(|e| invalid("ts_basis", e))?,
        };
        Ok(Event {
            schema,
            source: self.source,
            symbol: self.symbol,
            venue: self.venue,
            event_time: self.ts,
            receive_time: self.recv_ts.unwrap_or(self.ts),
            time_basis,
            sequence: self.seq,
            payload,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::event;
    use proptest::prelude::*;
    use serde::ser::{SerializeMap, Serializer};
    use serde::Serialize;
    use std::fmt::Write as _;

    /// The serde_json map serializer strata encoded with before the hand-written encoder; kept
    /// as the reference the hand-written one must match byte for byte.
    fn serde_line(event: &Event) -> Vec<u8> {
        let mut out = serde_json::to_vec(&WireRef(event)).unwrap();
        out.push(b'\n');
        out
    }

    struct WireRef<'a>(&'a Event);

    impl Serialize for WireRef<'_> {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            let e = self.0;
            let mut m = serializer.serialize_map(None)?;
            let mut version = String::with_capacity(4);
            // Writing to a String cannot fail.
            let _ = write!(version, "{}", e.schema);
            m.serialize_entry("v", &version)?;
            m.serialize_entry("kind", e.kind().as_str())?;
            m.serialize_entry("source", &e.source)?;
            m.serialize_entry("symbol", &e.symbol)?;
            if let Some(venue) = &e.venue {
                m.serialize_entry("venue", venue)?;
            }
            m.serialize_entry("ts", &e.event_time)?;
            m.serialize_entry("recv_ts", &e.receive_time)?;
            if e.time_basis != TimeBasis::Venue {
                m.serialize_entry("ts_basis", e.time_basis.as_str())?;
            }
            if let Some(seq) = e.sequence {
                m.serialize_entry("seq", &seq)?;
            }
            match &e.payload {
                Payload::Trade(t) => {
                    m.serialize_entry("price", &t.price)?;
                    m.serialize_entry("size", &t.size)?;
                    if let Some(side) = t.side {
                        m.serialize_entry("side", side.as_str())?;
                    }
                    if let Some(id) = &t.trade_id {
                        m.serialize_entry("trade_id", id)?;
                    }
                    if let Some(c) = &t.conditions {
                        m.serialize_entry("conditions", c)?;
                    }
                }
                Payload::BboQuote(q) => {
                    if let Some(bid) = q.bid {
                        m.serialize_entry("bid_price", &bid.price)?;
                        m.serialize_entry("bid_size", &bid.size)?;
                    }
                    if let Some(ask) = q.ask {
                        m.serialize_entry("ask_price", &ask.price)?;
                        m.serialize_entry("ask_size", &ask.size)?;
                    }
                }
                Payload::L2Snapshot(s) => {
                    m.serialize_entry("bids", &LevelsRef(&s.bids))?;
                    m.serialize_entry("asks", &LevelsRef(&s.asks))?;
                }
                Payload::OrderBookDelta(d) => {
                    m.serialize_entry("action", d.action.as_str())?;
                    if let Some(side) = d.side {
                        m.serialize_entry("side", side.as_str())?;
                    }
                    if let Some(price) = &d.price {
                        m.serialize_entry("price", price)?;
                    }
                    if let Some(size) = &d.size {
                        m.serialize_entry("size", size)?;
                    }
                    if let Some(id) = d.order_id {
                        m.serialize_entry("order_id", &id)?;
                    }
                    if let Some(flags) = d.flags {
                        m.serialize_entry("flags", &flags)?;
                    }
                }
                Payload::Bar(b) => {
                    m.serialize_entry("interval_s", &b.interval_s)?;
                    m.serialize_entry("open", &b.open)?;
                    m.serialize_entry("high", &b.high)?;
                    m.serialize_entry("low", &b.low)?;
                    m.serialize_entry("close", &b.close)?;
                    m.serialize_entry("volume", &b.volume)?;
                    if let Some(n) = b.trades {
                        m.serialize_entry("trades", &n)?;
                    }
                    if let Some(vwap) = &b.vwap {
                        m.serialize_entry("vwap", vwap)?;
                    }
                }
                Payload::Heartbeat => {}
                Payload::OpenInterest(oi) => m.serialize_entry("open_interest", &oi.value)?,
                Payload::DerivativeTicker(t) => {
                    for (key, value) in [
                        ("last_price", &t.last_price),
                        ("mark_price", &t.mark_price),
                        ("index_price", &t.index_price),
                        ("open_interest", &t.open_interest),
                        ("funding_rate", &t.funding_rate),
                        ("predicted_funding_rate", &t.predicted_funding_rate),
                    ] {
                        if let Some(value) = value {
                            m.serialize_entry(key, value)?;
                        }
                    }
                    if let Some(at) = &t.funding_time {
                        m.serialize_entry("funding_ts", at)?;
                    }
                }
            }
            m.end()
        }
    }

    /// Book levels as serde saw them.
    struct LevelsRef<'a>(&'a [Level]);

    impl Serialize for LevelsRef<'_> {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            serializer.collect_seq(self.0.iter().map(|l| (l.price, l.size)))
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]
        #[test]
        fn any_event_round_trips_through_jsonl(event in event()) {
            let line = encode_line(&event).unwrap();
            prop_assert_eq!(line.iter().filter(|&&b| b == b'\n').count(), 1, "one line per event");
            prop_assert_eq!(line.last(), Some(&b'\n'));
            let back = decode_line(&line).unwrap();
            prop_assert_eq!(&back, &event);
            // Byte-for-byte: encoding the decoded event gives the same line.
            prop_assert_eq!(encode_line(&back).unwrap(), line);
        }
    }

    #[test]
    fn a_canonical_line_with_its_newline_is_canonical() {
        let event = Event::new(
            "x",
            "y",
            crate::Timestamp::from_nanos(-5),
            crate::Payload::Heartbeat,
        );
        let line = encode_line(&event).unwrap();
        assert_eq!(decode_canonical(&line), Some(event.clone()));
        let mut twice = line.clone();
        twice.push(b'\n');
        assert_eq!(
            decode_canonical(&twice),
            None,
            "one newline ends a line, two do not"
        );
    }

    /// One edit of a line: delete, insert or replace a byte, biased to the bytes JSON cares about.
    fn mutation() -> impl Strategy<Value = (usize, u8, u8)> {
        let byte = prop_oneof![
            proptest::sample::select(b"\"\\,:{}[]-.0123456789 eu/\n\rxX".to_vec()),
            any::<u8>(),
        ];
        (any::<usize>(), 0u8..3, byte)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]
        #[test]
        fn canonical_lines_decode_in_one_pass(event in event()) {
            let line = encode_line(&event).unwrap();
            prop_assert_eq!(decode_canonical(&line), Some(event.clone()));
            prop_assert_eq!(decode_canonical(&line[..line.len() - 1]), Some(event));
        }

        /// Decoding into a reused event gives what a fresh decode gives, whatever the event
        /// held before (another kind, longer strings, more levels).
        #[test]
        fn decoding_into_a_reused_event_forgets_the_last_one(events in proptest::collection::vec(event(), 1..8)) {
            let mut reused = Event::new("x", "y", crate::Timestamp::from_nanos(1), crate::Payload::Heartbeat);
            for event in &events {
                let line = encode_line(event).unwrap();
                prop_assert!(decode_canonical_into(&line, &mut reused));
                prop_assert_eq!(&reused, event);
            }
        }

        /// Whatever the one-pass decoder accepts is canonical: the event it returns encodes to
        /// the very line, and serde_json reads the same event from it.
        #[test]
        fn the_one_pass_decoder_accepts_only_canonical_lines(
            event in event(),
            edits in proptest::collection::vec(mutation(), 1..4),
        ) {
            let mut line = encode_line(&event).unwrap();
            line.pop();
            for (at, op, byte) in edits {
                let at = at % (line.len() + 1);
                match op {
                    0 if at < line.len() => { line.remove(at); }
                    1 => line.insert(at, byte),
                    _ if at < line.len() => line[at] = byte,
                    _ => line.push(byte),
                }
            }
            if let Some(decoded) = decode_canonical(&line) {
                let mut again = encode_line(&decoded).unwrap();
                again.pop();
                // One trailing newline is the line's end, which the decoder takes off.
                let body = line.strip_suffix(b"\n").unwrap_or(&line);
                prop_assert_eq!(&again[..], body);
                prop_assert_eq!(decode_any(&line).unwrap(), decoded);
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]
        #[test]
        fn hand_encoder_writes_what_serde_json_writes(event in event()) {
            prop_assert_eq!(encode_line(&event).unwrap(), serde_line(&event));
        }

        #[test]
        fn hand_encoder_writes_any_decimal_as_serde_json_does(
            mantissa in crate::strategy::any_mantissa(),
            scale in 0u8..=crate::decimal::MAX_SCALE,
            size in crate::strategy::any_mantissa(),
        ) {
            let e = Event::new("s", "X", Timestamp::from_nanos(mantissa as i64), Payload::Trade(Trade {
                price: Decimal::new(mantissa, scale).unwrap(),
                size: Decimal::new(size, 0).unwrap(),
                side: None,
                trade_id: None,
                conditions: None,
            }));
            let line = encode_line(&e).unwrap();
            prop_assert_eq!(&line, &serde_line(&e));
            prop_assert_eq!(decode_line(&line).unwrap(), e);
        }
    }

    #[test]
    fn every_ascii_byte_and_unicode_escapes_as_serde_json_does() {
        let text: String = (0u8..=0x7f)
            .map(char::from)
            .chain("é€😀\u{2028}\u{feff}".chars())
            .collect();
        let mut e = Event::new(
            text.clone(),
            text.clone(),
            Timestamp::from_nanos(i64::MIN),
            Payload::Trade(Trade {
                price: Decimal::MIN,
                size: Decimal::new(1, crate::decimal::MAX_SCALE).unwrap(),
                side: Some(Side::Sell),
                trade_id: Some(text.clone()),
                conditions: Some(text.clone()),
            }),
        );
        e.venue = Some(text);
        e.sequence = Some(u64::MAX);
        e.receive_time = Timestamp::from_nanos(i64::MAX);
        let line = encode_line(&e).unwrap();
        assert_eq!(line, serde_line(&e));
        assert_eq!(decode_line(&line).unwrap(), e);
    }

    #[test]
    fn newer_minor_fields_are_tolerated_other_majors_refused() {
        let line = br#"{"v":"1.7","kind":"trade","source":"s","symbol":"X","ts":5,"price":"1.50","size":"2","future_field":{"a":[1,2]}}"#;
        let e = decode_line(line).unwrap();
        assert_eq!(e.schema, SchemaVersion { major: 1, minor: 7 });
        assert_eq!(e.receive_time, e.event_time);
        assert_eq!(e.payload.trade().unwrap().price.to_string(), "1.50");
        let line = br#"{"v":"2.0","kind":"trade","source":"s","symbol":"X","ts":5,"price":"1","size":"2"}"#;
        assert!(matches!(
            decode_line(line),
            Err(DecodeError::UnsupportedVersion { .. })
        ));
    }

    #[test]
    fn errors_name_the_field() {
        let cases: [(&[u8], &str); 5] = [
            (br#"{"v":"1.0","kind":"trade","source":"s","symbol":"X","ts":5,"size":"2"}"#, "missing field `price`"),
            (br#"{"v":"1.0","kind":"trade","source":"s","symbol":"X","ts":5,"price":1.5,"size":"2"}"#, "decimal strings"),
            (br#"{"v":"1.0","kind":"tick","source":"s","symbol":"X","ts":5}"#, "unknown event kind `tick`"),
            (br#"{"v":"1.0","kind":"trade","source":"s","symbol":"X","ts":5,"price":"1","size":"2","side":"up"}"#, "field `side`"),
            (br#"{"v":"1.0","kind":"bbo_quote","source":"s","symbol":"X","ts":5,"bid_price":"1"}"#, "missing field `bid_size`"),
        ];
        for (line, expect) in cases {
            let err = decode_line(line).unwrap_err().to_string();
            assert!(err.contains(expect), "{err} should contain {expect}");
        }
    }

    #[test]
    fn documented_example_line_decodes() {
        let line = br#"{"v":"1.0","kind":"trade","source":"binance","symbol":"BTCUSDT","venue":"BINANCE","ts":1723075200000000000,"recv_ts":1723075200000100000,"seq":4611,"price":"60123.10","size":"0.005","side":"buy","trade_id":"5127439283"}"#;
        let e = decode_line(line).unwrap();
        assert_eq!(encode_line(&e).unwrap(), [&line[..], b"\n"].concat());
    }

    #[test]
    fn every_example_in_the_schema_document_decodes_and_re_encodes_exactly() {
        let doc =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/SCHEMA.md"))
                .unwrap();
        let examples: Vec<&str> = doc
            .split("```json\n")
            .skip(1)
            .map(|block| block.split("\n```").next().unwrap())
            .collect();
        assert_eq!(
            examples.len(),
            4,
            "the trade, receive-time, open-interest and derivative-ticker examples"
        );
        for line in examples {
            let e = decode_line(line.as_bytes()).unwrap_or_else(|err| panic!("{line}: {err}"));
            assert_eq!(encode_line(&e).unwrap(), format!("{line}\n").into_bytes());
        }
        let oi = decode_line(
            br#"{"v":"1.2","kind":"open_interest","source":"lean","symbol":"ES-20240315","ts":1704211200000000000,"recv_ts":1704211200000000000,"seq":1,"open_interest":"2250000"}"#,
        )
        .unwrap();
        assert_eq!(oi.kind(), EventKind::OpenInterest);
        let missing =
            decode_line(br#"{"v":"1.2","kind":"open_interest","source":"s","symbol":"X","ts":1}"#)
                .unwrap_err();
        assert!(missing.to_string().contains("open_interest"), "{missing}");
    }

    #[test]
    fn documented_receive_time_example_decodes() {
        let line = br#"{"v":"1.1","kind":"bbo_quote","source":"binance","symbol":"BNBUSDT","venue":"BINANCE","ts":1723161255088176367,"recv_ts":1723161255088176367,"ts_basis":"receive","seq":400900217,"bid_price":"25.35190000","bid_size":"31.21000000","ask_price":"25.36520000","ask_size":"40.66000000"}"#;
        let e = decode_line(line).unwrap();
        assert_eq!(e.time_basis, TimeBasis::Receive);
        assert_eq!(encode_line(&e).unwrap(), [&line[..], b"\n"].concat());
        // A 1.0 line has no `ts_basis`: its time is the venue's; an unknown basis is refused.
        let old =
            decode_line(br#"{"v":"1.0","kind":"heartbeat","source":"s","symbol":"X","ts":1}"#);
        assert_eq!(old.unwrap().time_basis, TimeBasis::Venue);
        let err = decode_line(
            br#"{"v":"1.1","kind":"heartbeat","source":"s","symbol":"X","ts":1,"ts_basis":"guess"}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("ts_basis"), "{err}");
    }
}
