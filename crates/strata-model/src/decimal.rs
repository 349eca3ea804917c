//! Exact decimal numbers for prices and sizes (MODEL-2, D-5).
//!
//! A [`Decimal`] is a signed mantissa of at most [`MAX_DIGITS`] (38) decimal digits and a
//! decimal scale (digits after the point) of at most [`MAX_SCALE`] (38): the range of Arrow's
//! `Decimal128` and DuckDB's `DECIMAL(38, s)`, so every value strata holds has an exact column
//! type in Parquet and SQL. Float artifacts vendors write (`0.0038217599999999996`, 19 fraction
//! digits) and large notionals are kept exactly.
//!
//! Parsing keeps the scale the text had, so `"60123.10"` prints back as `"60123.10"`, not
//! `"60123.1"`: what a venue sent is what strata stores, byte for byte. Equality is therefore
//! *representational* (`1.10 != 1.1`); compare values with [`Decimal::cmp_value`].
//!
//! Values that fit 64 bits (nearly every price and size) take a 64-bit path when parsed and
//! written; only longer ones do 128-bit arithmetic.
//!
//! Arithmetic is exact: [`Decimal::checked_add`], [`checked_sub`](Decimal::checked_sub) and
//! [`checked_mul`](Decimal::checked_mul) return the exact result or `None`;
//! [`mul_rounded`](Decimal::mul_rounded), [`div_rounded`](Decimal::div_rounded),
//! [`rescale`](Decimal::rescale) and [`Decimal::fitting`] cut to a scale only by the
//! [`Rounding`] the caller names ([`Rounding::Exact`] refuses to cut). Every power of ten comes
//! from one table, [`POW10`]; no value passes through a binary float (only
//! [`to_f64_lossy`](Decimal::to_f64_lossy), for display, makes one).

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

mod arith;

pub use arith::{div_rounded_i128, Rounding};

/// The most significant digits a [`Decimal`]'s mantissa has (Arrow `Decimal128`'s precision).
pub const MAX_DIGITS: u8 = 38;

/// The largest scale (digits after the decimal point) a [`Decimal`] carries.
pub const MAX_SCALE: u8 = 38;

/// 10^0 ..= 10^38, every power of ten an `i128` holds: the one table every scaling,
/// rescaling, comparison, parse and print of a [`Decimal`] uses (`POW10[n]` is 10^n; as a
/// `u128`, `POW10[n] as u128`, or [`pow10_u128`]).
pub const POW10: [i128; 39] = {
    let mut table = [1i128; 39];
    let mut i = 1;
    while i < 39 {
        table[i] = table[i - 1] * 10;
        i += 1;
    }
    table
};

/// 10^`exp` from [`POW10`]; `None` above 10^38 (beyond an `i128`'s 38 full digits).
#[inline]
pub const fn pow10(exp: u32) -> Option<i128> {
    if exp < POW10.len() as u32 {
        Some(POW10[exp as usize])
    } else {
        None
    }
}

/// 10^`exp` from [`POW10`] as a `u128`; `None` above 10^38.
#[inline]
pub const fn pow10_u128(exp: u32) -> Option<u128> {
    match pow10(exp) {
        // Every entry is positive: the cast is exact.
        Some(p) => Some(p as u128),
        None => None,
    }
}

/// Mantissas are below this in magnitude: 10^38, the first number of 39 digits.
const MANTISSA_BOUND: u128 = POW10[MAX_DIGITS as usize] as u128;

/// An exact decimal number: `mantissa × 10^-scale`, the mantissa of at most 38 digits.
///
/// The mantissa is kept as two 64-bit halves (not an `i128`, which would align the type to 16
/// bytes and make it 32 bytes long); a `Decimal` is 24 bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Decimal {
    /// The mantissa's low 64 bits.
    lo: u64,
    /// The mantissa's high 64 bits (the sign extension of `lo` for values that fit an `i64`).
    hi: i64,
    scale: Scale,
}

/// A scale 0..=38 as a type with only those values, so that `Option<Decimal>` needs no room
/// of its own (24 bytes, as `Decimal`): the other 217 byte values are its niche.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
#[repr(u8)]
enum Scale {
    #[default]
    S0 = 0,
    S1 = 1,
    S2 = 2,
    S3 = 3,
    S4 = 4,
    S5 = 5,
    S6 = 6,
    S7 = 7,
    S8 = 8,
    S9 = 9,
    S10 = 10,
    S11 = 11,
    S12 = 12,
    S13 = 13,
    S14 = 14,
    S15 = 15,
    S16 = 16,
    S17 = 17,
    S18 = 18,
    S19 = 19,
    S20 = 20,
    S21 = 21,
    S22 = 22,
    S23 = 23,
    S24 = 24,
    S25 = 25,
    S26 = 26,
    S27 = 27,
    S28 = 28,
    S29 = 29,
    S30 = 30,
    S31 = 31,
    S32 = 32,
    S33 = 33,
    S34 = 34,
    S35 = 35,
    S36 = 36,
    S37 = 37,
    S38 = 38,
}

/// Every [`Scale`] by its number.
const SCALES: [Scale; 39] = [
    Scale::S0,
    Scale::S1,
    Scale::S2,
    Scale::S3,
    Scale::S4,
    Scale::S5,
    Scale::S6,
    Scale::S7,
    Scale::S8,
    Scale::S9,
    Scale::S10,
    Scale::S11,
    Scale::S12,
    Scale::S13,
    Scale::S14,
    Scale::S15,
    Scale::S16,
    Scale::S17,
    Scale::S18,
    Scale::S19,
    Scale::S20,
    Scale::S21,
    Scale::S22,
    Scale::S23,
    Scale::S24,
    Scale::S25,
    Scale::S26,
    Scale::S27,
    Scale::S28,
    Scale::S29,
    Scale::S30,
    Scale::S31,
    Scale::S32,
    Scale::S33,
    Scale::S34,
    Scale::S35,
    Scale::S36,
    Scale::S37,
    Scale::S38,
];

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
    /// The mantissa has more than [`MAX_DIGITS`] significant digits.
    #[error("`{text}` has more than {MAX_DIGITS} significant digits; at most {MAX_DIGITS} are kept exactly")]
    Overflow {
        /// The rejected text (or mantissa).
        text: String,
    },
    /// A scale above [`MAX_SCALE`] was given.
    #[error("scale {0} is above the maximum {MAX_SCALE}")]
    Scale(u8),
}

impl Decimal {
    /// Zero with scale 0.
    pub const ZERO: Decimal = Decimal::from_i128_unchecked(0, 0);

    /// The largest value: 38 nines, scale 0.
    pub const MAX: Decimal = Decimal::from_i128_unchecked(MANTISSA_BOUND as i128 - 1, 0);

    /// The smallest value: minus 38 nines, scale 0.
    pub const MIN: Decimal = Decimal::from_i128_unchecked(1 - MANTISSA_BOUND as i128, 0);

    /// Splits a mantissa already checked to be in range.
    const fn from_i128_unchecked(mantissa: i128, scale: u8) -> Decimal {
        Decimal {
            lo: mantissa as u64,
            hi: (mantissa >> 64) as i64,
            scale: SCALES[scale as usize],
        }
    }

    /// `mantissa × 10^-scale`; fails when `scale > MAX_SCALE` or the mantissa has more than
    /// [`MAX_DIGITS`] digits.
    #[inline]
    pub fn new(mantissa: impl Into<i128>, scale: u8) -> Result<Self, DecimalError> {
        let mantissa = mantissa.into();
        if scale > MAX_SCALE {
            return Err(DecimalError::Scale(scale));
        }
        if mantissa.unsigned_abs() >= MANTISSA_BOUND {
            return Err(DecimalError::Overflow {
                text: format!("{mantissa}e-{scale}"),
            });
        }
        Ok(Decimal::from_i128_unchecked(mantissa, scale))
    }

    /// An integer value (scale 0).
    pub const fn from_int(value: i64) -> Self {
        Decimal::from_i128_unchecked(value as i128, 0)
    }

    /// The integer mantissa.
    #[inline]
    pub const fn mantissa(self) -> i128 {
        ((self.hi as i128) << 64) | self.lo as i128
    }

    /// The mantissa when it fits an `i64` (as it does for nearly every price and size).
    #[inline]
    pub const fn mantissa_i64(self) -> Option<i64> {
        let lo = self.lo as i64;
        if self.hi == lo >> 63 {
            Some(lo)
        } else {
            None
        }
    }

    /// Digits after the decimal point.
    #[inline]
    pub const fn scale(self) -> u8 {
        self.scale as u8
    }

    /// True when the value is zero, whatever the scale.
    pub const fn is_zero(self) -> bool {
        self.lo == 0 && self.hi == 0
    }

    /// True when the value is below zero.
    pub const fn is_negative(self) -> bool {
        self.hi < 0
    }

    /// Compares the *values* (`1.10` equals `1.1` here), exactly, at any scales.
    #[inline]
    pub fn cmp_value(self, other: Decimal) -> Ordering {
        if self.scale == other.scale {
            return self.mantissa().cmp(&other.mantissa());
        }
        if let (Some(a), Some(b)) = (self.mantissa_i64(), other.mantissa_i64()) {
            if self.scale() <= 18 && other.scale() <= 18 {
                // 64 bits × 10^18 fits 128 bits.
                let scale = self.scale().max(other.scale());
                let a = i128::from(a) * POW10[usize::from(scale - self.scale())];
                let b = i128::from(b) * POW10[usize::from(scale - other.scale())];
                return a.cmp(&b);
            }
        }
        self.cmp_value_wide(other)
    }

    /// [`cmp_value`](Self::cmp_value) for any scales and mantissas.
    fn cmp_value_wide(self, other: Decimal) -> Ordering {
        let scale = self.scale().max(other.scale());
        if let (Some(a), Some(b)) = (self.rescaled(scale), other.rescaled(scale)) {
            return a.cmp(&b);
        }
        // Rescaling would overflow: compare the integer parts, then the fractions (which are
        // below 10^38 at the common scale). Truncating division keeps the order: a value with
        // integer part q lies in [q, q+1) for q > 0, (q-1, q] for q < 0 and (-1, 1) for q = 0.
        let (qa, ra) = self.split_int();
        let (qb, rb) = other.split_int();
        qa.cmp(&qb).then_with(|| {
            let ra = ra * POW10[usize::from(scale - self.scale())];
            let rb = rb * POW10[usize::from(scale - other.scale())];
            ra.cmp(&rb)
        })
    }

    /// `(integer part, fraction mantissa)`, both with the value's sign.
    fn split_int(self) -> (i128, i128) {
        let unit = POW10[usize::from(self.scale())];
        let m = self.mantissa();
        (m / unit, m % unit)
    }

    /// True when both hold the same value, whatever their scales.
    pub fn eq_value(self, other: Decimal) -> bool {
        self.cmp_value(other) == Ordering::Equal
    }

    /// The mantissa at a larger or equal scale (`1.5` at scale 3 is `1500`); `None` when `scale`
    /// is below the value's own or above [`MAX_SCALE`], or the result overflows an `i128`.
    pub fn rescaled(self, scale: u8) -> Option<i128> {
        let shift = POW10.get(usize::from(scale.checked_sub(self.scale())?))?;
        if scale > MAX_SCALE {
            return None;
        }
        self.mantissa().checked_mul(*shift)
    }

    /// Parses a plain decimal (as [`FromStr`] does) or one in scientific notation, `1.5e-7`,
    /// `-2E+3`, exactly: the digits written are the mantissa and the exponent moves the point
    /// (`1.5e-7` is `0.00000015`, mantissa 15 and scale 8; `1.23e2` is `123`). For sources
    /// that print binary floats the way JavaScript does (Tardis.dev CSV writes values below
    /// 10⁻⁶ as `5e-7`). Fails when the value needs more than [`MAX_SCALE`] decimals or
    /// [`MAX_DIGITS`] digits.
    ///
    /// ```
    /// use strata_model::Decimal;
    ///
    /// assert_eq!(Decimal::parse_scientific("1.5e-7")?.to_string(), "0.00000015");
    /// assert_eq!(Decimal::parse_scientific("-2E+3")?.to_string(), "-2000");
    /// assert_eq!(Decimal::parse_scientific("60123.10")?.to_string(), "60123.10");
    /// assert!(Decimal::parse_scientific("1e-39").is_err());
    /// # Ok::<(), strata_model::DecimalError>(())
    /// ```
    pub fn parse_scientific(text: &str) -> Result<Decimal, DecimalError> {
        let Some(at) = text.find(['e', 'E']) else {
            return text.parse();
        };
        let (digits, exponent) = (&text[..at], &text[at + 1..]);
        let base: Decimal = digits.parse()?;
        let exponent: i32 = match exponent.strip_prefix('+').unwrap_or(exponent).parse() {
            Ok(e) if !exponent.is_empty() => e,
            _ => return Err(syntax(text, "the exponent after `e` is not an integer")),
        };
        // value = mantissa × 10^(exponent − scale)
        // In i64: an i32 exponent minus a scale cannot overflow it, nor can its negation.
        let shift = i64::from(exponent) - i64::from(base.scale());
        if shift >= 0 {
            let factor = u32::try_from(shift).ok().and_then(pow10).ok_or_else(|| {
                DecimalError::Overflow {
                    text: text.to_string(),
                }
            })?;
            let mantissa =
                base.mantissa()
                    .checked_mul(factor)
                    .ok_or_else(|| DecimalError::Overflow {
                        text: text.to_string(),
                    })?;
            Decimal::new(mantissa, 0).map_err(|_| DecimalError::Overflow {
                text: text.to_string(),
            })
        } else {
            match u8::try_from(-shift) {
                Ok(scale) if scale <= MAX_SCALE => Decimal::new(base.mantissa(), scale),
                _ => Err(DecimalError::TooManyFractionDigits {
                    text: text.to_string(),
                    digits: usize::try_from(-shift).unwrap_or(usize::MAX),
                }),
            }
        }
    }

    /// The same value with trailing fractional zeros removed (`1.100` → `1.1`).
    pub fn normalized(self) -> Decimal {
        if let Some(mut m) = self.mantissa_i64() {
            // The 64-bit path: a division by the constant 10 is a multiplication.
            let mut scale = self.scale();
            while scale > 0 && m % 10 == 0 {
                m /= 10;
                scale -= 1;
            }
            return Decimal::from_i128_unchecked(m as i128, scale);
        }
        let (mut m, mut scale) = (self.mantissa(), self.scale());
        while scale > 0 && m % 10 == 0 {
            m /= 10;
            scale -= 1;
        }
        Decimal::from_i128_unchecked(m, scale)
    }

    /// A binary-float approximation, for display and statistics only — never stored.
    pub fn to_f64_lossy(self) -> f64 {
        self.mantissa() as f64 / 10f64.powi(i32::from(self.scale()))
    }
}

impl FromStr for Decimal {
    type Err = DecimalError;

    #[inline]
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bytes = text.as_bytes();
        let (negative, digits) = match bytes.first() {
            Some(b'-') => (true, &bytes[1..]),
            Some(b'+') => (false, &bytes[1..]),
            Some(_) => (false, bytes),
            None => return Err(syntax(text, "empty text")),
        };
        // One pass: digits into a u64 while it cannot overflow (19 digits), the point noted.
        let mut acc: u64 = 0;
        let mut dot: Option<usize> = None;
        let mut i = 0;
        while i < digits.len() {
            let b = digits[i];
            if b.is_ascii_digit() {
                if acc >= POW10[18] as u64 {
                    break; // 19 digits taken: the rest go through the wide path
                }
                acc = acc * 10 + u64::from(b - b'0');
            } else if b == b'.' && dot.is_none() {
                dot = Some(i);
            } else {
                return Err(syntax(
                    text,
                    "only digits, one `.` and a leading sign are allowed",
                ));
            }
            i += 1;
        }
        let mut wide = u128::from(acc);
        while i < digits.len() {
            let b = digits[i];
            if b.is_ascii_digit() {
                // wide < 10^38, so wide × 10 + 9 < 10^39 would overflow a u128 (3.4 × 10^38):
                // checked, and in range.
                wide = match wide.checked_mul(10).map(|w| w + u128::from(b - b'0')) {
                    Some(w) if w < MANTISSA_BOUND => w,
                    _ => {
                        return Err(DecimalError::Overflow {
                            text: text.to_string(),
                        })
                    }
                };
            } else if b == b'.' && dot.is_none() {
                dot = Some(i);
            } else {
                return Err(syntax(
                    text,
                    "only digits, one `.` and a leading sign are allowed",
                ));
            }
            i += 1;
        }
        let scale = match dot {
            None if digits.is_empty() => return Err(syntax(text, "no digits")),
            None => 0,
            Some(0) if digits.len() == 1 => return Err(syntax(text, "no digits")),
            Some(0) => return Err(syntax(text, "a digit must come before the decimal point")),
            Some(d) if d + 1 == digits.len() => {
                return Err(syntax(text, "a digit must follow the decimal point"))
            }
            Some(d) => digits.len() - d - 1,
        };
        if scale > usize::from(MAX_SCALE) {
            return Err(DecimalError::TooManyFractionDigits {
                text: text.to_string(),
                digits: scale,
            });
        }
        // wide < 10^38 and scale <= 38 (checked above), so the value is in range.
        let mantissa = wide as i128;
        Ok(Decimal::from_i128_unchecked(
            if negative { -mantissa } else { mantissa },
            scale as u8,
        ))
    }
}

/// A syntax error for `text`.
#[cold]
fn syntax(text: &str, reason: &'static str) -> DecimalError {
    DecimalError::Syntax {
        text: text.to_string(),
        reason,
    }
}

/// Bytes the text of any [`Decimal`] can take: a sign, 38 digits, a leading zero and the point
/// (`-0.00000000000000000000000000000000000001`).
const TEXT_MAX: usize = 48;

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
        1 => split::<{ POW10[1] as u64 }>(n),
        2 => split::<{ POW10[2] as u64 }>(n),
        3 => split::<{ POW10[3] as u64 }>(n),
        4 => split::<{ POW10[4] as u64 }>(n),
        5 => split::<{ POW10[5] as u64 }>(n),
        6 => split::<{ POW10[6] as u64 }>(n),
        7 => split::<{ POW10[7] as u64 }>(n),
        8 => split::<{ POW10[8] as u64 }>(n),
        9 => split::<{ POW10[9] as u64 }>(n),
        10 => split::<{ POW10[10] as u64 }>(n),
        11 => split::<{ POW10[11] as u64 }>(n),
        12 => split::<{ POW10[12] as u64 }>(n),
        13 => split::<{ POW10[13] as u64 }>(n),
        14 => split::<{ POW10[14] as u64 }>(n),
        15 => split::<{ POW10[15] as u64 }>(n),
        16 => split::<{ POW10[16] as u64 }>(n),
        17 => split::<{ POW10[17] as u64 }>(n),
        18 => split::<{ POW10[18] as u64 }>(n),
        19 => split::<{ POW10[19] as u64 }>(n),
        // Every u64 is below 10^20: no integer digits.
        _ => (0, n),
    }
}

/// Writes `n` (any u128) in decimal so that it ends at `buf[end]`; returns where it starts.
fn wide_digits_before(mut n: u128, buf: &mut [u8], mut end: usize) -> usize {
    const CHUNK: u128 = POW10[19] as u128; // 19 digits per u64 chunk
    while n > u128::from(u64::MAX) {
        let chunk = (n % CHUNK) as u64;
        n /= CHUNK;
        let start = digits_before(chunk, buf, end);
        let full = end - 19;
        buf[full..start].fill(b'0');
        end = full;
    }
    digits_before(n as u64, buf, end)
}

/// Left-pads the fraction that starts at `frac_start` with zeros to exactly `scale` digits
/// and writes the point before it.
#[inline]
fn point_before(buf: &mut [u8; TEXT_MAX], frac_start: usize, scale: u8) {
    let want = TEXT_MAX - usize::from(scale);
    buf[want..frac_start].fill(b'0');
    buf[want - 1] = b'.';
}

impl Decimal {
    /// The text of this decimal (`-12.3400`), written into `buf`: the scale as stored, a `-`
    /// for negative values, no exponent. `Display` and the JSONL encoder both write this.
    #[inline]
    fn text_bytes(self, buf: &mut [u8; TEXT_MAX]) -> &[u8] {
        let mut start = match self.mantissa_i64() {
            Some(m) => {
                let abs = m.unsigned_abs();
                if self.scale() == 0 {
                    digits_before(abs, buf, TEXT_MAX)
                } else {
                    let (int, frac) = split_at_scale(abs, self.scale());
                    let frac_start = digits_before(frac, buf, TEXT_MAX);
                    point_before(buf, frac_start, self.scale());
                    digits_before(int, buf, TEXT_MAX - usize::from(self.scale()) - 1)
                }
            }
            None => {
                let abs = self.mantissa().unsigned_abs();
                if self.scale() == 0 {
                    wide_digits_before(abs, buf, TEXT_MAX)
                } else {
                    let unit = POW10[usize::from(self.scale())] as u128;
                    let frac_start = wide_digits_before(abs % unit, buf, TEXT_MAX);
                    point_before(buf, frac_start, self.scale());
                    wide_digits_before(abs / unit, buf, TEXT_MAX - usize::from(self.scale()) - 1)
                }
            }
        };
        if self.is_negative() {
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
                Decimal::new(v, 0).map_err(E::custom)
            }
            fn visit_i128<E: de::Error>(self, v: i128) -> Result<Decimal, E> {
                Decimal::new(v, 0).map_err(E::custom)
            }
            fn visit_u128<E: de::Error>(self, v: u128) -> Result<Decimal, E> {
                i128::try_from(v)
                    .map_err(|_| E::custom(format!("{v} has more than {MAX_DIGITS} digits")))
                    .and_then(|v| Decimal::new(v, 0).map_err(E::custom))
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
    use crate::strategy::{any_mantissa, decimal_text};
    use proptest::prelude::*;

    #[test]
    fn scientific_notation_is_read_exactly() {
        let sci = |t: &str| Decimal::parse_scientific(t).map(|d| (d.mantissa(), d.scale()));
        assert_eq!(sci("5e-7"), Ok((5, 7)));
        assert_eq!(sci("1.5e-7"), Ok((15, 8)));
        assert_eq!(sci("-1.25E-2"), Ok((-125, 4)));
        assert_eq!(sci("1.23e2"), Ok((123, 0)));
        assert_eq!(sci("1.2e+3"), Ok((1200, 0)));
        assert_eq!(sci("7e0"), Ok((7, 0)));
        assert_eq!(sci("1e21"), Ok((1_000_000_000_000_000_000_000, 0)));
        assert_eq!(sci("0.001"), Ok((1, 3)));
        assert!(matches!(
            Decimal::parse_scientific("1e-39"),
            Err(DecimalError::TooManyFractionDigits { digits: 39, .. })
        ));
        assert!(matches!(
            Decimal::parse_scientific("1e38"),
            Err(DecimalError::Overflow { .. })
        ));
        for bad in ["e5", "1e", "1e+", "1ex", "1e5e5", "1.5.e3", "--1e2"] {
            assert!(Decimal::parse_scientific(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn extreme_exponents_are_errors_not_overflows() {
        for text in [
            "1.5e-2147483648",
            "5e-2147483648",
            "5e2147483647",
            "1.5e2147483647",
        ] {
            assert!(Decimal::parse_scientific(text).is_err(), "{text}");
        }
    }

    proptest! {
        #[test]
        fn any_exponent_parses_or_fails_cleanly(m in any::<i64>(), frac in 0u32..1000, exp in any::<i32>()) {
            let _ = Decimal::parse_scientific(&format!("{m}.{frac}e{exp}"));
        }

        #[test]
        fn scientific_text_reads_as_the_plain_value(m in -999_999_999_999i64..999_999_999_999, exp in -20i32..20) {
            let text = format!("{m}e{exp}");
            let got = Decimal::parse_scientific(&text).unwrap();
            // The plain form of the same value, written out by hand.
            let plain: Decimal = if exp >= 0 {
                format!("{m}{}", "0".repeat(exp as usize)).parse().unwrap()
            } else {
                Decimal::new(m, (-exp) as u8).unwrap()
            };
            prop_assert!(got.eq_value(plain), "{text}: {got} vs {plain}");
        }
    }

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
            "", "-", ".", ".5", "5.", "1e5", "1.2.3", " 1", "abc", "0x10", "1,5", "--1", "1-",
        ] {
            let err = bad.parse::<Decimal>().unwrap_err();
            assert!(err.to_string().contains(&format!("`{bad}`")), "{err}");
        }
        let frac39 = format!("0.{}1", "0".repeat(38));
        assert!(matches!(
            frac39.parse::<Decimal>(),
            Err(DecimalError::TooManyFractionDigits { digits: 39, .. })
        ));
        for too_long in [
            "9".repeat(39),
            format!("-{}", "9".repeat(39)),
            format!("1{}.5", "0".repeat(37)),
        ] {
            assert!(
                matches!(
                    too_long.parse::<Decimal>(),
                    Err(DecimalError::Overflow { .. })
                ),
                "{too_long}"
            );
        }
        assert!(Decimal::new(POW10[38], 0).is_err());
        assert!(Decimal::new(-POW10[38], 0).is_err());
        assert!(Decimal::new(1, 39).is_err());
    }

    #[test]
    fn extremes_round_trip() {
        let nines = "9".repeat(38);
        for text in [
            "-9223372036854775808",
            "9223372036854775807",
            "-9223372036854775809",
            "18446744073709551616",
            "-0.000000000000000001",
            "0.0",
            "0.0038217599999999996",
            "0.30000000000000004",
            "1234567890123456789012.5",
            &nines,
            &format!("-{nines}"),
            &format!("0.{nines}"),
            &format!("-9.{}", "9".repeat(37)),
            &format!("0.{}1", "0".repeat(37)),
            &format!("-0.{}1", "0".repeat(37)),
            &format!("0.{}", "0".repeat(38)),
        ] {
            let d = text.parse::<Decimal>().unwrap();
            assert_eq!(d.to_string(), text);
            assert_eq!(Decimal::new(d.mantissa(), d.scale()).unwrap(), d);
        }
        assert_eq!(Decimal::MAX.to_string(), nines);
        assert_eq!(Decimal::MIN.to_string(), format!("-{nines}"));
        // Leading zeros are not significant digits.
        let d: Decimal = format!("000{nines}").parse().unwrap();
        assert_eq!(d, Decimal::MAX);
        let d: Decimal = "0.0038217599999999996".parse().unwrap();
        assert_eq!((d.mantissa(), d.scale()), (38_217_599_999_999_996, 19));
        assert_eq!(d.mantissa_i64(), Some(38_217_599_999_999_996));
        assert_eq!(Decimal::MAX.mantissa_i64(), None);
        assert_eq!(std::mem::size_of::<Decimal>(), 24);
        assert_eq!(std::mem::size_of::<Option<Decimal>>(), 24);
    }

    #[test]
    fn values_compare_across_any_scales() {
        let big: Decimal = "99999999999999999999999999999999999999".parse().unwrap();
        let tiny: Decimal = "0.00000000000000000000000000000000000001".parse().unwrap();
        assert_eq!(big.cmp_value(tiny), Ordering::Greater);
        assert_eq!(tiny.cmp_value(big), Ordering::Less);
        let a: Decimal = "12345678901234567890123456789.5".parse().unwrap();
        let b: Decimal = "12345678901234567890123456789.4999999".parse().unwrap();
        assert_eq!(a.cmp_value(b), Ordering::Greater);
        let neg_a: Decimal = "-0.5".parse().unwrap();
        let neg_b: Decimal = format!("-0.{}", "4".repeat(38)).parse().unwrap();
        assert_eq!(neg_a.cmp_value(neg_b), Ordering::Less);
        let nines35: Decimal = format!("{}.000", "9".repeat(35)).parse().unwrap();
        assert!(!big.eq_value(nines35));
        assert!(nines35.eq_value("9".repeat(35).parse().unwrap()));
        assert_eq!(big.rescaled(39), None);
        assert_eq!(big.rescaled(1), None, "overflows i128");
        assert_eq!(tiny.rescaled(0), None, "below its own scale");
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
        let div = POW10[usize::from(d.scale())] as u128;
        format!(
            "{sign}{}.{:0width$}",
            abs / div,
            abs % div,
            width = usize::from(d.scale())
        )
    }

    /// Compares two values by their text: sign, then integer digits, then fraction digits.
    fn reference_cmp(a: Decimal, b: Decimal) -> Ordering {
        fn key(d: Decimal) -> (bool, String, String) {
            let text = d.to_string();
            let negative = text.starts_with('-');
            let text = text.trim_start_matches('-');
            let (int, frac) = text.split_once('.').unwrap_or((text, ""));
            let int = format!("{int:0>40}");
            let frac = format!("{frac:0<40}");
            let zero = int.bytes().chain(frac.bytes()).all(|c| c == b'0');
            (negative && !zero, int, frac)
        }
        let (na, ia, fa) = key(a);
        let (nb, ib, fb) = key(b);
        match (na, nb) {
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            (false, false) => (ia, fa).cmp(&(ib, fb)),
            (true, true) => (ib, fb).cmp(&(ia, fa)),
        }
    }

    #[test]
    fn text_of_extremes_at_every_scale() {
        let bound = POW10[38];
        for scale in 0..=MAX_SCALE {
            for mantissa in [
                i128::from(i64::MIN),
                i128::from(i64::MIN) + 1,
                i128::from(i64::MIN) - 1,
                -1,
                0,
                1,
                9,
                10,
                99,
                100,
                i128::from(i64::MAX),
                i128::from(i64::MAX) + 1,
                i128::from(u64::MAX),
                i128::from(u64::MAX) + 1,
                POW10[19],
                POW10[19] - 1,
                POW10[20],
                bound - 1,
                1 - bound,
            ] {
                let d = Decimal::new(mantissa, scale).unwrap();
                assert_eq!(d.to_string(), reference_text(d), "{mantissa} scale {scale}");
                let mut out = b"x".to_vec();
                d.write_text(&mut out);
                assert_eq!(out, format!("x{}", reference_text(d)).into_bytes());
                assert_eq!(d.to_string().parse::<Decimal>().unwrap(), d);
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

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2048))]
        #[test]
        fn text_round_trips_exactly(text in decimal_text()) {
            let d: Decimal = text.parse().unwrap();
            prop_assert_eq!(d.to_string(), text);
        }

        #[test]
        fn parts_round_trip(mantissa in any_mantissa(), scale in 0u8..=MAX_SCALE) {
            let d = Decimal::new(mantissa, scale).unwrap();
            let back: Decimal = d.to_string().parse().unwrap();
            prop_assert_eq!(back, d);
            let json = serde_json::to_string(&d).unwrap();
            prop_assert_eq!(serde_json::from_str::<Decimal>(&json).unwrap(), d);
        }

        #[test]
        fn text_matches_the_reference(mantissa in any_mantissa(), scale in 0u8..=MAX_SCALE, n in any::<u64>(), i in any::<i64>()) {
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

        #[test]
        fn value_order_matches_the_text_at_any_scales(
            a in any_mantissa(), sa in 0u8..=MAX_SCALE, b in any_mantissa(), sb in 0u8..=MAX_SCALE,
        ) {
            let (da, db) = (Decimal::new(a, sa).unwrap(), Decimal::new(b, sb).unwrap());
            prop_assert_eq!(da.cmp_value(db), reference_cmp(da, db));
            prop_assert_eq!(db.cmp_value(da), reference_cmp(db, da));
            prop_assert!(da.normalized().eq_value(da));
            prop_assert_eq!(da.normalized().to_string().parse::<Decimal>().unwrap(), da.normalized());
        }
    }
}
