//! Exact decimal numbers for prices and sizes (MODEL-2, D-5).
//!
//! A [`Decimal`] is a signed 64-bit mantissa and a decimal scale (digits after the point).
//! Parsing keeps the scale the text had, so `"60123.10"` prints back as `"60123.10"`, not
//! `"60123.1"`: what a venue sent is what strata stores, byte for byte. Equality is therefore
//! *representational* (`1.10 != 1.1`); compare values with [`Decimal::cmp_value`].

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The largest scale (digits after the decimal point) a [`Decimal`] carries.
pub const MAX_SCALE: u8 = 18;

const POW10: [i128; 19] = {
    let mut table = [1i128; 19];
    let mut i = 1;
    while i < 19 {
        table[i] = table[i - 1] * 10;
        i += 1;
    }
    table
};

/// An exact decimal number: `mantissa × 10^-scale`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Decimal {
    mantissa: i64,
    scale: u8,
}

/// Why a text or a pair of integers is not a valid [`Decimal`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecimalError {
    /// The text is not a plain decimal number (`-12.345`).
    #[error("`{text}` is not a decimal number: {reason}")]
    Syntax {
        /// The rejected text.
        text: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// More digits after the point than [`MAX_SCALE`].
    #[error("`{text}` has {digits} digits after the decimal point; at most {MAX_SCALE} are kept exactly")]
    TooManyFractionDigits {
        /// The rejected text.
        text: String,
        /// How many fraction digits it had.
        digits: usize,
    },
    /// The value does not fit a 64-bit mantissa at its scale.
    #[error("`{text}` is too large to be stored exactly (mantissa over 64 bits)")]
    Overflow {
        /// The rejected text.
        text: String,
    },
    /// A scale above [`MAX_SCALE`] was given.
    #[error("scale {0} is above the maximum {MAX_SCALE}")]
    Scale(u8),
}

impl Decimal {
    /// Zero with scale 0.
    pub const ZERO: Decimal = Decimal {
        mantissa: 0,
        scale: 0,
    };

    /// `mantissa × 10^-scale`; fails when `scale > MAX_SCALE`.
    pub const fn new(mantissa: i64, scale: u8) -> Result<Self, DecimalError> {
        if scale > MAX_SCALE {
            return Err(DecimalError::Scale(scale));
        }
        Ok(Decimal { mantissa, scale })
    }

    /// An integer value (scale 0).
    pub const fn from_int(value: i64) -> Self {
        Decimal {
            mantissa: value,
            scale: 0,
        }
    }

    /// The integer mantissa.
    pub const fn mantissa(self) -> i64 {
        self.mantissa
    }

    /// Digits after the decimal point.
    pub const fn scale(self) -> u8 {
        self.scale
    }

    /// True when the value is zero, whatever the scale.
    pub const fn is_zero(self) -> bool {
        self.mantissa == 0
    }

    /// True when the value is below zero.
    pub const fn is_negative(self) -> bool {
        self.mantissa < 0
    }

    /// Compares the *values* (`1.10` equals `1.1` here), exactly.
    pub fn cmp_value(self, other: Decimal) -> Ordering {
        let scale = self.scale.max(other.scale);
        self.rescaled_i128(scale).cmp(&other.rescaled_i128(scale))
    }

    /// True when both hold the same value, whatever their scales.
    pub fn eq_value(self, other: Decimal) -> bool {
        self.cmp_value(other) == Ordering::Equal
    }

    /// The mantissa at a larger or equal scale, widened so it cannot overflow.
    pub fn rescaled_i128(self, scale: u8) -> i128 {
        debug_assert!(scale >= self.scale && scale <= MAX_SCALE);
        i128::from(self.mantissa) * POW10[usize::from(scale.saturating_sub(self.scale))]
    }

    /// The same value with trailing fractional zeros removed (`1.100` → `1.1`).
    pub fn normalized(self) -> Decimal {
        let mut d = self;
        while d.scale > 0 && d.mantissa % 10 == 0 {
            d.mantissa /= 10;
            d.scale -= 1;
        }
        d
    }

    /// A binary-float approximation, for display and statistics only — never stored.
    pub fn to_f64_lossy(self) -> f64 {
        self.mantissa as f64 / POW10[usize::from(self.scale)] as f64
    }
}

impl FromStr for Decimal {
    type Err = DecimalError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let syntax = |reason| DecimalError::Syntax {
            text: text.to_string(),
            reason,
        };
        let bytes = text.as_bytes();
        let (negative, digits) = match bytes.first() {
            Some(b'-') => (true, &bytes[1..]),
            Some(b'+') => (false, &bytes[1..]),
            Some(_) => (false, bytes),
            None => return Err(syntax("empty text")),
        };
        let (int_part, frac_part) = match digits.iter().position(|&b| b == b'.') {
            Some(dot) => (&digits[..dot], &digits[dot + 1..]),
            None => (digits, &digits[digits.len()..]),
        };
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(syntax("no digits"));
        }
        if int_part.is_empty() {
            return Err(syntax("a digit must come before the decimal point"));
        }
        if digits.contains(&b'.') && frac_part.is_empty() {
            return Err(syntax("a digit must follow the decimal point"));
        }
        if frac_part.len() > usize::from(MAX_SCALE) {
            return Err(DecimalError::TooManyFractionDigits {
                text: text.to_string(),
                digits: frac_part.len(),
            });
        }
        let mut mantissa: i128 = 0;
        for &b in int_part.iter().chain(frac_part) {
            if !b.is_ascii_digit() {
                return Err(syntax(
                    "only digits, one `.` and a leading sign are allowed",
                ));
            }
            mantissa = mantissa * 10 + i128::from(b - b'0');
            if mantissa > i128::from(i64::MAX) + 1 {
                return Err(DecimalError::Overflow {
                    text: text.to_string(),
                });
            }
        }
        let mantissa = if negative { -mantissa } else { mantissa };
        let mantissa = i64::try_from(mantissa).map_err(|_| DecimalError::Overflow {
            text: text.to_string(),
        })?;
        // The scale fits: frac_part.len() <= MAX_SCALE (checked above).
        Ok(Decimal {
            mantissa,
            scale: frac_part.len() as u8,
        })
    }
}

/// Bytes the text of any [`Decimal`] can take: a sign, at most 19 digits plus one leading zero,
/// and the point (`-0.000000000000000001`, `-9.223372036854775808`).
const TEXT_MAX: usize = 24;

/// Two ASCII digits for every number 0..100, for writing integers two digits at a time.
const DIGIT_PAIRS: &[u8; 200] = b"\
0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// Writes `n` in decimal so that it ends at `buf[end]` (exclusive); returns where it starts.
/// `buf[..end]` must have room for 20 digits.
#[inline]
fn digits_before(mut n: u64, buf: &mut [u8], mut end: usize) -> usize {
    while n >= 100 {
        let pair = (n % 100) as usize * 2;
        n /= 100;
        end -= 2;
        buf[end..end + 2].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
    }
    if n >= 10 {
        let pair = n as usize * 2;
        end -= 2;
        buf[end..end + 2].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
    } else {
        end -= 1;
        buf[end] = b'0' + n as u8;
    }
    end
}

/// Appends `n` in decimal (as `itoa` and `Display` write it).
#[inline]
pub(crate) fn push_u64(out: &mut Vec<u8>, n: u64) {
    let mut buf = [0u8; 20];
    let start = digits_before(n, &mut buf, 20);
    out.extend_from_slice(&buf[start..]);
}

/// Appends `n` in decimal with a leading `-` when negative.
#[inline]
pub(crate) fn push_i64(out: &mut Vec<u8>, n: i64) {
    let mut buf = [0u8; 21];
    let mut start = digits_before(n.unsigned_abs(), &mut buf, 21);
    if n < 0 {
        start -= 1;
        buf[start] = b'-';
    }
    out.extend_from_slice(&buf[start..]);
}

/// `(n / 10^scale, n % 10^scale)` with the divisor a constant per scale, so the compiler
/// divides by multiplying (a division by a run-time divisor costs several times more).
#[inline]
fn split_at_scale(n: u64, scale: u8) -> (u64, u64) {
    #[inline(always)]
    fn split<const D: u64>(n: u64) -> (u64, u64) {
        (n / D, n % D)
    }
    match scale {
        0 => (n, 0),
        1 => split::<10>(n),
        2 => split::<100>(n),
        3 => split::<1_000>(n),
        4 => split::<10_000>(n),
        5 => split::<100_000>(n),
        6 => split::<1_000_000>(n),
        7 => split::<10_000_000>(n),
        8 => split::<100_000_000>(n),
        9 => split::<1_000_000_000>(n),
        10 => split::<10_000_000_000>(n),
        11 => split::<100_000_000_000>(n),
        12 => split::<1_000_000_000_000>(n),
        13 => split::<10_000_000_000_000>(n),
        14 => split::<100_000_000_000_000>(n),
        15 => split::<1_000_000_000_000_000>(n),
        16 => split::<10_000_000_000_000_000>(n),
        17 => split::<100_000_000_000_000_000>(n),
        // MAX_SCALE is 18: a Decimal never has a larger scale.
        _ => split::<1_000_000_000_000_000_000>(n),
    }
}

impl Decimal {
    /// The text of this decimal (`-12.3400`), written into `buf`: the scale as stored, a `-`
    /// for negative values, no exponent. `Display` and the JSONL encoder both write this.
    #[inline]
    fn text_bytes(self, buf: &mut [u8; TEXT_MAX]) -> &[u8] {
        let abs = self.mantissa.unsigned_abs();
        let mut start = if self.scale == 0 {
            digits_before(abs, buf, TEXT_MAX)
        } else {
            let scale = usize::from(self.scale);
            let (int, frac) = split_at_scale(abs, self.scale);
            let frac_start = digits_before(frac, buf, TEXT_MAX);
            // Left-pad the fraction with zeros to exactly `scale` digits.
            let want = TEXT_MAX - scale;
            buf[want..frac_start].fill(b'0');
            buf[want - 1] = b'.';
            digits_before(int, buf, want - 1)
        };
        if self.mantissa < 0 {
            start -= 1;
            buf[start] = b'-';
        }
        &buf[start..]
    }

    /// Appends the text of this decimal (as [`Display`](fmt::Display) writes it) to `out`.
    #[inline]
    pub(crate) fn write_text(self, out: &mut Vec<u8>) {
        let mut buf = [0u8; TEXT_MAX];
        out.extend_from_slice(self.text_bytes(&mut buf));
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0u8; TEXT_MAX];
        // Only ASCII digits, '.' and '-' are written, so the text is always UTF-8.
        f.write_str(std::str::from_utf8(self.text_bytes(&mut buf)).unwrap_or_default())
    }
}

impl fmt::Debug for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Decimal({self})")
    }
}

impl Serialize for Decimal {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Decimal {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DecimalVisitor;
        impl Visitor<'_> for DecimalVisitor {
            type Value = Decimal;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a decimal number as a string (\"123.45\") or an integer")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Decimal, E> {
                v.parse().map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Decimal, E> {
                Ok(Decimal::from_int(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Decimal, E> {
                i64::try_from(v)
                    .map(Decimal::from_int)
                    .map_err(|_| E::custom(format!("{v} is too large to be stored exactly")))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Decimal, E> {
                Err(E::custom(format!(
                    "{v} is a binary float; write prices and sizes as decimal strings (\"{v}\") so they stay exact"
                )))
            }
        }
        deserializer.deserialize_any(DecimalVisitor)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn keeps_scale_and_trailing_zeros() {
        let d: Decimal = "60123.10".parse().unwrap();
        assert_eq!((d.mantissa(), d.scale()), (6012310, 2));
        assert_eq!(d.to_string(), "60123.10");
        assert!(d.eq_value("60123.1".parse().unwrap()));
        assert_ne!(d, "60123.1".parse::<Decimal>().unwrap());
    }

    #[test]
    fn rejects_bad_text_with_the_text_in_the_error() {
        for bad in [
            "", "-", ".5", "5.", "1e5", "1.2.3", " 1", "abc", "0x10", "1,5",
        ] {
            let err = bad.parse::<Decimal>().unwrap_err();
            assert!(err.to_string().contains(&format!("`{bad}`")), "{err}");
        }
        assert!(matches!(
            "1.1234567890123456789".parse::<Decimal>(),
            Err(DecimalError::TooManyFractionDigits { digits: 19, .. })
        ));
        assert!(matches!(
            "99999999999999999999".parse::<Decimal>(),
            Err(DecimalError::Overflow { .. })
        ));
    }

    #[test]
    fn extremes_round_trip() {
        for text in [
            "-9223372036854775808",
            "9223372036854775807",
            "-0.000000000000000001",
            "0.0",
        ] {
            assert_eq!(text.parse::<Decimal>().unwrap().to_string(), text);
        }
    }

    #[test]
    fn float_json_is_refused() {
        let err = serde_json::from_str::<Decimal>("1.5").unwrap_err();
        assert!(err.to_string().contains("decimal strings"), "{err}");
        assert_eq!(
            serde_json::from_str::<Decimal>("\"1.50\"")
                .unwrap()
                .to_string(),
            "1.50"
        );
        assert_eq!(
            serde_json::from_str::<Decimal>("42").unwrap().to_string(),
            "42"
        );
    }

    /// How `Display` wrote decimals before the digit-pair writer: the reference it must match.
    fn reference_text(d: Decimal) -> String {
        let abs = d.mantissa().unsigned_abs();
        let sign = if d.mantissa() < 0 { "-" } else { "" };
        if d.scale() == 0 {
            return format!("{sign}{abs}");
        }
        let div = POW10[usize::from(d.scale())] as u64;
        format!(
            "{sign}{}.{:0width$}",
            abs / div,
            abs % div,
            width = usize::from(d.scale())
        )
    }

    #[test]
    fn text_of_extremes_at_every_scale() {
        for scale in 0..=MAX_SCALE {
            for mantissa in [i64::MIN, i64::MIN + 1, -1, 0, 1, 9, 10, 99, 100, i64::MAX] {
                let d = Decimal::new(mantissa, scale).unwrap();
                assert_eq!(d.to_string(), reference_text(d), "{mantissa} scale {scale}");
                let mut out = b"x".to_vec();
                d.write_text(&mut out);
                assert_eq!(out, format!("x{}", reference_text(d)).into_bytes());
            }
        }
        let mut out = Vec::new();
        for n in [0u64, 7, 10, 99, 100, 12345, u64::MAX] {
            out.clear();
            push_u64(&mut out, n);
            assert_eq!(out, n.to_string().into_bytes());
        }
        for n in [0i64, -1, 42, -100, i64::MIN, i64::MAX] {
            out.clear();
            push_i64(&mut out, n);
            assert_eq!(out, n.to_string().into_bytes());
        }
    }

    /// Canonical decimal text: optional minus (never on zero), no leading zeros, 0..=9 fraction digits.
    pub(crate) fn decimal_text() -> impl Strategy<Value = String> {
        (
            any::<bool>(),
            0u64..=9_223_372_036u64,
            proptest::option::of("[0-9]{1,9}"),
        )
            .prop_map(|(neg, int, frac)| {
                let mut s = String::new();
                let zero = int == 0 && frac.as_deref().is_none_or(|f| f.bytes().all(|b| b == b'0'));
                if neg && !zero {
                    s.push('-');
                }
                s.push_str(&int.to_string());
                if let Some(frac) = frac {
                    s.push('.');
                    s.push_str(&frac);
                }
                s
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2048))]
        #[test]
        fn text_round_trips_exactly(text in decimal_text()) {
            let d: Decimal = text.parse().unwrap();
            prop_assert_eq!(d.to_string(), text);
        }

        #[test]
        fn parts_round_trip(mantissa in any::<i64>(), scale in 0u8..=MAX_SCALE) {
            let d = Decimal::new(mantissa, scale).unwrap();
            let back: Decimal = d.to_string().parse().unwrap();
            prop_assert_eq!(back, d);
            let json = serde_json::to_string(&d).unwrap();
            prop_assert_eq!(serde_json::from_str::<Decimal>(&json).unwrap(), d);
        }

        #[test]
        fn text_matches_the_reference(mantissa in any::<i64>(), scale in 0u8..=MAX_SCALE, n in any::<u64>(), i in any::<i64>()) {
            let d = Decimal::new(mantissa, scale).unwrap();
            prop_assert_eq!(d.to_string(), reference_text(d));
            let mut out = Vec::new();
            push_u64(&mut out, n);
            out.push(b' ');
            push_i64(&mut out, i);
            prop_assert_eq!(out, format!("{n} {i}").into_bytes());
        }

        #[test]
        fn value_order_matches_i128(a in any::<i64>(), sa in 0u8..=9, b in any::<i64>(), sb in 0u8..=9) {
            let (da, db) = (Decimal::new(a, sa).unwrap(), Decimal::new(b, sb).unwrap());
            let expect = (i128::from(a) * 10i128.pow(u32::from(9 - sa)))
                .cmp(&(i128::from(b) * 10i128.pow(u32::from(9 - sb))));
            prop_assert_eq!(da.cmp_value(db), expect);
            prop_assert!(da.normalized().eq_value(da));
        }
    }
}
