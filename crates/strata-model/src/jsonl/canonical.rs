//! A decoder for canonical lines only: the exact bytes [`super::encode_into`] writes.
//!
//! Hot-tier files are written by strata's own encoder, so nearly every line a reader meets is
//! canonical; this decoder reads such a line in one pass without serde, about three times as fast.
//! It accepts nothing else: fields in the encoder's order, no whitespace, the encoder's escapes,
//! numbers without leading zeros, no `"ts_basis":"venue"`, no unknown field. Anything else gives
//! `None`, and [`super::decode_line`] falls back to the full decoder, which also produces the
//! errors. So for every line, `decode_canonical(line) == Some(e)` implies that `e` encodes to
//! exactly `line` (property-tested in `jsonl::tests`), which lets a caller use the line's bytes
//! as the event's canonical form (for digests) without encoding it again.

use crate::event::{
    Bar, BboQuote, BookAction, BookSide, DerivativeTicker, Event, EventKind, L2Snapshot, Level,
    OpenInterest, OrderBookDelta, Payload, SchemaVersion, Side, TimeBasis, Trade,
};
use crate::{Decimal, Timestamp};
use std::str::FromStr;

/// The event of a canonical line (a trailing `\n` allowed), or `None` when the line is not
/// exactly what the encoder writes.
pub fn decode_canonical(line: &[u8]) -> Option<Event> {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let mut c = Cursor { b: line, i: 0 };
    c.lit(b"{\"v\":\"")?;
    let major = u16::try_from(c.u64()?).ok()?;
    c.lit(b".")?;
    let minor = u16::try_from(c.u64()?).ok()?;
    if major != SchemaVersion::CURRENT.major {
        return None;
    }
    c.lit(b"\",\"kind\":")?;
    let kind: EventKind = c.name()?;
    c.lit(b",\"source\":")?;
    let source = c.string()?;
    c.lit(b",\"symbol\":")?;
    let symbol = c.string()?;
    let venue = if c.key(b",\"venue\":") {
        Some(c.string()?)
    } else {
        None
    };
    c.lit(b",\"ts\":")?;
    let ts = c.i64()?;
    c.lit(b",\"recv_ts\":")?;
    let recv_ts = c.i64()?;
    let time_basis = if c.key(b",\"ts_basis\":") {
        let basis: TimeBasis = c.name()?;
        if basis == TimeBasis::Venue {
            return None;
        }
        basis
    } else {
        TimeBasis::Venue
    };
    let sequence = if c.key(b",\"seq\":") {
        Some(c.u64()?)
    } else {
        None
    };
    let payload = match kind {
        EventKind::Trade => {
            let price = c.decimal_field(b",\"price\":")?;
            let size = c.decimal_field(b",\"size\":")?;
            let side = c.opt_name::<Side>(b",\"side\":")?;
            let trade_id = c.opt_string(b",\"trade_id\":")?;
            let conditions = c.opt_string(b",\"conditions\":")?;
            Payload::Trade(Trade {
                price,
                size,
                side,
                trade_id,
                conditions,
            })
        }
        EventKind::BboQuote => {
            let bid = c.opt_level(b",\"bid_price\":", b",\"bid_size\":")?;
            let ask = c.opt_level(b",\"ask_price\":", b",\"ask_size\":")?;
            Payload::BboQuote(BboQuote { bid, ask })
        }
        EventKind::L2Snapshot => {
            c.lit(b",\"bids\":")?;
            let bids = c.levels()?;
            c.lit(b",\"asks\":")?;
            let asks = c.levels()?;
            Payload::L2Snapshot(L2Snapshot { bids, asks })
        }
        EventKind::OrderBookDelta => {
            c.lit(b",\"action\":")?;
            let action: BookAction = c.name()?;
            let side = c.opt_name::<BookSide>(b",\"side\":")?;
            let price = c.opt_decimal(b",\"price\":")?;
            let size = c.opt_decimal(b",\"size\":")?;
            let order_id = c.opt_u64(b",\"order_id\":")?;
            let flags = match c.opt_u64(b",\"flags\":")? {
                Some(f) => Some(u8::try_from(f).ok()?),
                None => None,
            };
            Payload::OrderBookDelta(OrderBookDelta {
                action,
                side,
                price,
                size,
                order_id,
                flags,
            })
        }
        EventKind::Bar => {
            c.lit(b",\"interval_s\":")?;
            let interval_s = u32::try_from(c.u64()?).ok()?;
            let open = c.decimal_field(b",\"open\":")?;
            let high = c.decimal_field(b",\"high\":")?;
            let low = c.decimal_field(b",\"low\":")?;
            let close = c.decimal_field(b",\"close\":")?;
            let volume = c.decimal_field(b",\"volume\":")?;
            let trades = c.opt_u64(b",\"trades\":")?;
            let vwap = c.opt_decimal(b",\"vwap\":")?;
            Payload::Bar(Bar {
                interval_s,
                open,
                high,
                low,
                close,
                volume,
                trades,
                vwap,
            })
        }
        EventKind::Heartbeat => Payload::Heartbeat,
        EventKind::OpenInterest => Payload::OpenInterest(OpenInterest {
            value: c.decimal_field(b",\"open_interest\":")?,
        }),
        EventKind::DerivativeTicker => {
            let last_price = c.opt_decimal(b",\"last_price\":")?;
            let mark_price = c.opt_decimal(b",\"mark_price\":")?;
            let index_price = c.opt_decimal(b",\"index_price\":")?;
            let open_interest = c.opt_decimal(b",\"open_interest\":")?;
            let funding_rate = c.opt_decimal(b",\"funding_rate\":")?;
            let predicted_funding_rate = c.opt_decimal(b",\"predicted_funding_rate\":")?;
            let funding_time = if c.key(b",\"funding_ts\":") {
                Some(Timestamp::from_nanos(c.i64()?))
            } else {
                None
            };
            Payload::DerivativeTicker(DerivativeTicker {
                last_price,
                mark_price,
                index_price,
                open_interest,
                funding_rate,
                predicted_funding_rate,
                funding_time,
            })
        }
    };
    c.lit(b"}")?;
    if c.i != line.len() {
        return None;
    }
    Some(Event {
        schema: SchemaVersion { major, minor },
        source,
        symbol,
        venue,
        event_time: Timestamp::from_nanos(ts),
        receive_time: Timestamp::from_nanos(recv_ts),
        time_basis,
        sequence,
        payload,
    })
}

struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    /// Consumes `lit` or fails.
    #[inline]
    fn lit(&mut self, lit: &[u8]) -> Option<()> {
        self.key(lit).then_some(())
    }

    /// Consumes `key` when it comes next.
    #[inline]
    fn key(&mut self, key: &[u8]) -> bool {
        let found = self.b.get(self.i..self.i + key.len()) == Some(key);
        if found {
            self.i += key.len();
        }
        found
    }

    /// Digits of a canonical non-negative integer: no leading zero but `0` itself.
    #[inline]
    fn digits(&mut self) -> Option<&[u8]> {
        let start = self.i;
        while self.b.get(self.i).is_some_and(u8::is_ascii_digit) {
            self.i += 1;
        }
        let digits = &self.b[start..self.i];
        match digits {
            [] => None,
            [b'0', _, ..] => None,
            _ => Some(digits),
        }
    }

    fn u64(&mut self) -> Option<u64> {
        let mut v: u64 = 0;
        for &d in self.digits()? {
            v = v.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
        }
        Some(v)
    }

    fn i64(&mut self) -> Option<i64> {
        if self.key(b"-") {
            let digits = self.digits()?;
            let mut v: i64 = 0;
            for &d in digits {
                v = v.checked_mul(10)?.checked_sub(i64::from(d - b'0'))?;
            }
            // `-0` is not what the encoder writes.
            (v != 0).then_some(v)
        } else {
            i64::try_from(self.u64()?).ok()
        }
    }

    /// A quoted name of a closed set, exactly as the set spells it.
    fn name<T: FromStr + NameOf>(&mut self) -> Option<T> {
        self.lit(b"\"")?;
        let start = self.i;
        while self.b.get(self.i).is_some_and(|&b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
            self.i += 1;
        }
        let text = std::str::from_utf8(&self.b[start..self.i]).ok()?;
        self.lit(b"\"")?;
        let value: T = text.parse().ok()?;
        (value.name() == text).then_some(value)
    }

    fn opt_name<T: FromStr + NameOf>(&mut self, key: &[u8]) -> Option<Option<T>> {
        if self.key(key) {
            Some(Some(self.name()?))
        } else {
            Some(None)
        }
    }

    /// A JSON string with exactly the encoder's escapes.
    fn string(&mut self) -> Option<String> {
        self.lit(b"\"")?;
        let start = self.i;
        // Fast path: no escape.
        while let Some(&b) = self.b.get(self.i) {
            match b {
                b'"' => {
                    let s = std::str::from_utf8(&self.b[start..self.i]).ok()?.to_string();
                    self.i += 1;
                    return Some(s);
                }
                b'\\' => break,
                0..=0x1F => return None,
                _ => self.i += 1,
            }
        }
        let mut out: Vec<u8> = self.b[start..self.i].to_vec();
        loop {
            let &b = self.b.get(self.i)?;
            self.i += 1;
            match b {
                b'"' => return String::from_utf8(out).ok(),
                b'\\' => {
                    let &e = self.b.get(self.i)?;
                    self.i += 1;
                    let byte = match e {
                        b'"' => b'"',
                        b'\\' => b'\\',
                        b'b' => 0x08,
                        b't' => 0x09,
                        b'n' => 0x0A,
                        b'f' => 0x0C,
                        b'r' => 0x0D,
                        b'u' => {
                            let hex = self.b.get(self.i..self.i + 4)?;
                            self.i += 4;
                            let [b'0', b'0', hi, lo] = *hex else {
                                return None;
                            };
                            let byte = (lower_hex(hi)? << 4) | lower_hex(lo)?;
                            // The encoder writes the short forms where JSON has them.
                            if byte >= 0x20 || matches!(byte, 0x08 | 0x09 | 0x0A | 0x0C | 0x0D) {
                                return None;
                            }
                            byte
                        }
                        _ => return None,
                    };
                    out.push(byte);
                }
                0..=0x1F => return None,
                _ => out.push(b),
            }
        }
    }

    fn opt_string(&mut self, key: &[u8]) -> Option<Option<String>> {
        if self.key(key) {
            Some(Some(self.string()?))
        } else {
            Some(None)
        }
    }

    fn opt_u64(&mut self, key: &[u8]) -> Option<Option<u64>> {
        if self.key(key) {
            Some(Some(self.u64()?))
        } else {
            Some(None)
        }
    }

    /// A quoted canonical decimal: what `Decimal`'s `Display` writes.
    fn decimal(&mut self) -> Option<Decimal> {
        self.lit(b"\"")?;
        let start = self.i;
        let negative = self.key(b"-");
        self.digits()?;
        if self.key(b".") {
            let frac = self.i;
            while self.b.get(self.i).is_some_and(u8::is_ascii_digit) {
                self.i += 1;
            }
            if self.i == frac {
                return None;
            }
        }
        let text = std::str::from_utf8(&self.b[start..self.i]).ok()?;
        self.lit(b"\"")?;
        let d: Decimal = text.parse().ok()?;
        // `-0.0` is not what the encoder writes for zero.
        (!(negative && d.is_zero())).then_some(d)
    }

    fn decimal_field(&mut self, key: &[u8]) -> Option<Decimal> {
        self.lit(key)?;
        self.decimal()
    }

    fn opt_decimal(&mut self, key: &[u8]) -> Option<Option<Decimal>> {
        if self.key(key) {
            Some(Some(self.decimal()?))
        } else {
            Some(None)
        }
    }

    fn opt_level(&mut self, price: &[u8], size: &[u8]) -> Option<Option<Level>> {
        if self.key(price) {
            let price = self.decimal()?;
            let size = self.decimal_field(size)?;
            Some(Some(Level { price, size }))
        } else {
            Some(None)
        }
    }

    fn levels(&mut self) -> Option<Vec<Level>> {
        self.lit(b"[")?;
        let mut levels = Vec::new();
        if self.key(b"]") {
            return Some(levels);
        }
        loop {
            self.lit(b"[")?;
            let price = self.decimal()?;
            self.lit(b",")?;
            let size = self.decimal()?;
            self.lit(b"]")?;
            levels.push(Level { price, size });
            if self.key(b"]") {
                return Some(levels);
            }
            self.lit(b",")?;
        }
    }
}

fn lower_hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        _ => None,
    }
}

/// The canonical name of a value of a closed set.
trait NameOf {
    fn name(&self) -> &'static str;
}

macro_rules! name_of {
    ($($t:ty),*) => {$(
        impl NameOf for $t {
            fn name(&self) -> &'static str {
                self.as_str()
            }
        }
    )*};
}

name_of!(EventKind, TimeBasis, Side, BookSide, BookAction);
