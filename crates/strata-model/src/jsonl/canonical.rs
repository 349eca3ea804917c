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

/// The event of a canonical line (a trailing `\n` allowed), or `None` when the line is not
/// exactly what the encoder writes.
pub fn decode_canonical(line: &[u8]) -> Option<Event> {
    let mut event = Event::new("", "", Timestamp::from_nanos(0), Payload::Heartbeat);
    decode_canonical_into(line, &mut event).then_some(event)
}

/// [`decode_canonical`] into an event whose strings (and book levels) are reused: a reader of
/// many lines allocates nothing per line once its event has grown to fit them. `false` when
/// the line is not canonical; `event` is then left holding parts of it.
pub fn decode_canonical_into(line: &[u8], event: &mut Event) -> bool {
    decode_into(line, event).is_some()
}

fn decode_into(line: &[u8], e: &mut Event) -> Option<()> {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let mut c = Cursor { b: line, i: 0 };
    c.lit(b"{\"v\":\"")?;
    let major = u16::try_from(c.u64()?).ok()?;
    c.lit(b".")?;
    let minor = u16::try_from(c.u64()?).ok()?;
    if major != SchemaVersion::CURRENT.major {
        return None;
    }
    e.schema = SchemaVersion { major, minor };
    c.lit(b"\",\"kind\":")?;
    let kind: EventKind = c.name()?;
    c.lit(b",\"source\":")?;
    c.string_into(&mut e.source)?;
    c.lit(b",\"symbol\":")?;
    c.string_into(&mut e.symbol)?;
    c.opt_string_into(b",\"venue\":", &mut e.venue)?;
    c.lit(b",\"ts\":")?;
    e.event_time = Timestamp::from_nanos(c.i64()?);
    c.lit(b",\"recv_ts\":")?;
    e.receive_time = Timestamp::from_nanos(c.i64()?);
    e.time_basis = if c.key(b",\"ts_basis\":") {
        let basis: TimeBasis = c.name()?;
        if basis == TimeBasis::Venue {
            return None;
        }
        basis
    } else {
        TimeBasis::Venue
    };
    e.sequence = c.opt_u64(b",\"seq\":")?;
    e.payload = match kind {
        EventKind::Trade => {
            // The previous trade's strings, to be refilled.
            let (mut trade_id, mut conditions) = match &mut e.payload {
                Payload::Trade(t) => (t.trade_id.take(), t.conditions.take()),
                _ => (None, None),
            };
            let price = c.decimal_field(b",\"price\":")?;
            let size = c.decimal_field(b",\"size\":")?;
            let side = c.opt_name::<Side, _>(b",\"side\":")?;
            c.opt_string_into(b",\"trade_id\":", &mut trade_id)?;
            c.opt_string_into(b",\"conditions\":", &mut conditions)?;
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
            let (mut bids, mut asks) = match &mut e.payload {
                Payload::L2Snapshot(s) => {
                    (std::mem::take(&mut s.bids), std::mem::take(&mut s.asks))
                }
                _ => (Vec::new(), Vec::new()),
            };
            c.lit(b",\"bids\":")?;
            c.levels_into(&mut bids)?;
            c.lit(b",\"asks\":")?;
            c.levels_into(&mut asks)?;
            Payload::L2Snapshot(L2Snapshot { bids, asks })
        }
        EventKind::OrderBookDelta => {
            c.lit(b",\"action\":")?;
            let action: BookAction = c.name()?;
            let side = c.opt_name::<BookSide, _>(b",\"side\":")?;
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
    (c.i == line.len()).then_some(())
}

struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    /// Consumes `lit` or fails.
    #[inline]
    fn lit<const N: usize>(&mut self, lit: &[u8; N]) -> Option<()> {
        self.key(lit).then_some(())
    }

    /// Consumes `key` when it comes next (a fixed-size compare the compiler unrolls).
    #[inline]
    fn key<const N: usize>(&mut self, key: &[u8; N]) -> bool {
        let found = self
            .b
            .get(self.i..self.i + N)
            .is_some_and(|next| <&[u8; N]>::try_from(next).is_ok_and(|next| next == key));
        if found {
            self.i += N;
        }
        found
    }

    /// A canonical non-negative integer (no leading zero but `0` itself) that fits a `u64`,
    /// read in one pass: up to 19 digits unchecked, the 20th checked.
    #[inline]
    fn u64(&mut self) -> Option<u64> {
        let b = &self.b[self.i..];
        let mut v: u64 = 0;
        let mut n = 0;
        while let Some(d) = b.get(n).map(|c| c.wrapping_sub(b'0')).filter(|d| *d <= 9) {
            v = if n < 19 {
                v * 10 + u64::from(d)
            } else {
                v.checked_mul(10)?.checked_add(u64::from(d))?
            };
            n += 1;
        }
        match b {
            _ if n == 0 => None,
            [b'0', ..] if n > 1 => None,
            _ => {
                self.i += n;
                Some(v)
            }
        }
    }

    fn i64(&mut self) -> Option<i64> {
        if self.key(b"-") {
            let v = self.u64()?;
            // `-0` is not what the encoder writes.
            if v == 0 {
                return None;
            }
            0i64.checked_sub_unsigned(v)
        } else {
            i64::try_from(self.u64()?).ok()
        }
    }

    /// A quoted name of a closed set, exactly as the set spells it.
    fn name<T: NameOf>(&mut self) -> Option<T> {
        self.lit(b"\"")?;
        let start = self.i;
        while self.b.get(self.i).is_some_and(|&b| b != b'"') {
            self.i += 1;
        }
        let text = &self.b[start..self.i];
        self.lit(b"\"")?;
        T::ALL.iter().find(|v| v.name().as_bytes() == text).copied()
    }

    fn opt_name<T: NameOf, const N: usize>(&mut self, key: &[u8; N]) -> Option<Option<T>> {
        if self.key(key) {
            Some(Some(self.name()?))
        } else {
            Some(None)
        }
    }

    /// A JSON string with exactly the encoder's escapes, into `out` (cleared first).
    fn string_into(&mut self, out: &mut String) -> Option<()> {
        self.lit(b"\"")?;
        out.clear();
        let start = self.i;
        // Fast path: no escape.
        while let Some(&b) = self.b.get(self.i) {
            match b {
                b'"' => {
                    out.push_str(std::str::from_utf8(&self.b[start..self.i]).ok()?);
                    self.i += 1;
                    return Some(());
                }
                b'\\' => break,
                0..=0x1F => return None,
                _ => self.i += 1,
            }
        }
        let mut bytes: Vec<u8> = self.b[start..self.i].to_vec();
        loop {
            let &b = self.b.get(self.i)?;
            self.i += 1;
            match b {
                b'"' => {
                    out.push_str(std::str::from_utf8(&bytes).ok()?);
                    return Some(());
                }
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
                    bytes.push(byte);
                }
                0..=0x1F => return None,
                _ => bytes.push(b),
            }
        }
    }

    /// An optional string field into `slot`, reusing the string it holds.
    fn opt_string_into<const N: usize>(
        &mut self,
        key: &[u8; N],
        slot: &mut Option<String>,
    ) -> Option<()> {
        if self.key(key) {
            let mut text = slot.take().unwrap_or_default();
            self.string_into(&mut text)?;
            *slot = Some(text);
        } else {
            *slot = None;
        }
        Some(())
    }

    fn opt_u64<const N: usize>(&mut self, key: &[u8; N]) -> Option<Option<u64>> {
        if self.key(key) {
            Some(Some(self.u64()?))
        } else {
            Some(None)
        }
    }

    /// A quoted canonical decimal: what `Decimal`'s `Display` writes, read in one pass (the
    /// digits of a mantissa longer than 19 digits are read again, checked, as an `i128`).
    #[inline]
    fn decimal(&mut self) -> Option<Decimal> {
        self.lit(b"\"")?;
        let negative = self.key(b"-");
        let start = self.i;
        let mut v: u64 = 0;
        let mut digits = 0usize;
        let mut digit = |c: &mut Self| -> bool {
            match c
                .b
                .get(c.i)
                .map(|b| b.wrapping_sub(b'0'))
                .filter(|d| *d <= 9)
            {
                Some(d) => {
                    if digits < 19 {
                        v = v * 10 + u64::from(d);
                    }
                    digits += 1;
                    c.i += 1;
                    true
                }
                None => false,
            }
        };
        while digit(self) {}
        let int_digits = self.i - start;
        // No leading zero but `0` itself.
        if int_digits == 0 || (int_digits > 1 && self.b[start] == b'0') {
            return None;
        }
        let mut scale = 0;
        if self.key(b".") {
            let frac = self.i;
            while digit(self) {}
            scale = self.i - frac;
            if scale == 0 {
                return None;
            }
        }
        let end = self.i;
        self.lit(b"\"")?;
        let mantissa: i128 = if digits <= 19 {
            i128::from(v)
        } else {
            let mut v: i128 = 0;
            for &b in &self.b[start..end] {
                if b != b'.' {
                    v = v.checked_mul(10)?.checked_add(i128::from(b - b'0'))?;
                }
            }
            v
        };
        // `-0.0` is not what the encoder writes for zero.
        if negative && mantissa == 0 {
            return None;
        }
        Decimal::new(
            if negative { -mantissa } else { mantissa },
            u8::try_from(scale).ok()?,
        )
        .ok()
    }

    fn decimal_field<const N: usize>(&mut self, key: &[u8; N]) -> Option<Decimal> {
        self.lit(key)?;
        self.decimal()
    }

    fn opt_decimal<const N: usize>(&mut self, key: &[u8; N]) -> Option<Option<Decimal>> {
        if self.key(key) {
            Some(Some(self.decimal()?))
        } else {
            Some(None)
        }
    }

    fn opt_level<const P: usize, const S: usize>(
        &mut self,
        price: &[u8; P],
        size: &[u8; S],
    ) -> Option<Option<Level>> {
        if self.key(price) {
            let price = self.decimal()?;
            let size = self.decimal_field(size)?;
            Some(Some(Level { price, size }))
        } else {
            Some(None)
        }
    }

    fn levels_into(&mut self, levels: &mut Vec<Level>) -> Option<()> {
        levels.clear();
        self.lit(b"[")?;
        if self.key(b"]") {
            return Some(());
        }
        loop {
            self.lit(b"[")?;
            let price = self.decimal()?;
            self.lit(b",")?;
            let size = self.decimal()?;
            self.lit(b"]")?;
            levels.push(Level { price, size });
            if self.key(b"]") {
                return Some(());
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

/// The values of a closed set and their canonical names.
trait NameOf: Copy + 'static {
    const ALL: &'static [Self];
    fn name(&self) -> &'static str;
}

macro_rules! name_of {
    ($($t:ty),*) => {$(
        impl NameOf for $t {
            const ALL: &'static [Self] = <$t>::ALL;
            fn name(&self) -> &'static str {
                self.as_str()
            }
        }
    )*};
}

name_of!(EventKind, TimeBasis, Side, BookSide, BookAction);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    fn u64_of(text: &str) -> Option<(u64, usize)> {
        let mut c = Cursor {
            b: text.as_bytes(),
            i: 0,
        };
        c.u64().map(|v| (v, c.i))
    }

    fn decimal_of(text: &str) -> Option<Decimal> {
        let quoted = format!("\"{text}\"");
        let mut c = Cursor {
            b: quoted.as_bytes(),
            i: 0,
        };
        c.decimal().filter(|_| c.i == quoted.len())
    }

    #[test]
    fn integers_are_read_whole_and_canonical_only() {
        assert_eq!(u64_of("0"), Some((0, 1)));
        assert_eq!(u64_of("0,"), Some((0, 1)));
        assert_eq!(
            u64_of("1381305600521000000,"),
            Some((1_381_305_600_521_000_000, 19))
        );
        assert_eq!(u64_of("18446744073709551615"), Some((u64::MAX, 20)));
        assert_eq!(u64_of("18446744073709551616"), None);
        assert_eq!(u64_of("99999999999999999999"), None);
        assert_eq!(u64_of("123456789012345678901"), None);
        assert_eq!(u64_of("1234567:9"), Some((1_234_567, 7)));
        assert_eq!(u64_of("12345678/0123456789"), Some((12_345_678, 8)));
        assert_eq!(u64_of("01"), None);
        assert_eq!(u64_of("0123456789012345"), None);
        assert_eq!(u64_of(""), None);
        assert_eq!(u64_of("-1"), None);
    }

    #[test]
    fn decimals_are_read_exactly_and_canonical_only() {
        for text in ["0", "47.5000", "-0.5", "0.0038217599999999996", "60123.10"] {
            assert_eq!(decimal_of(text).unwrap().to_string(), text);
        }
        let wide = "12345678901234567890123456789012345678";
        assert_eq!(decimal_of(wide).unwrap().to_string(), wide);
        for bad in [
            "",
            "-",
            "01",
            "1.",
            ".5",
            "-0",
            "-0.0",
            "1e5",
            "123456789012345678901234567890123456789",
        ] {
            assert_eq!(decimal_of(bad), None, "{bad}");
        }
    }

    proptest! {
        #[test]
        fn any_integer_reads_as_std_reads_it(v in any::<u64>(), tail in "[,}:/]?") {
            let text = format!("{v}{tail}");
            prop_assert_eq!(u64_of(&text), Some((v, v.to_string().len())));
        }

        #[test]
        fn any_digit_text_reads_as_std_reads_it(text in "[0-9]{1,22}") {
            let expected = text.parse::<u64>().ok().filter(|_| !(text.len() > 1 && text.starts_with('0')));
            prop_assert_eq!(u64_of(&text).map(|(v, _)| v), expected);
        }

        #[test]
        fn any_decimal_reads_back(d in crate::strategy::decimal()) {
            prop_assert_eq!(decimal_of(&d.to_string()), Some(d));
        }
    }
}
