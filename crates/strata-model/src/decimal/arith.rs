//! Exact arithmetic on [`Decimal`]s: sums, differences, products and quotients that are
//! either exact, or rounded by a [`Rounding`] the caller names, or `None` — never silently
//! rounded, never through a binary float.
//!
//! | operation | scale of the result | `None` when |
//! |---|---|---|
//! | [`checked_add`](Decimal::checked_add), [`checked_sub`](Decimal::checked_sub) | the larger of the two | the result has more than 38 digits at that scale |
//! | [`checked_mul`](Decimal::checked_mul) | the sum of the two | that sum is above 38, or the result has more than 38 digits |
//! | [`mul_rounded`](Decimal::mul_rounded) | the one asked for | it is above 38, the result does not fit, or [`Rounding::Exact`] and digits would be lost |
//! | [`div_rounded`](Decimal::div_rounded) | the one asked for | the divisor is zero, or as for `mul_rounded` |
//! | [`rescale`](Decimal::rescale) | the one asked for | as for `mul_rounded` |
//! | [`Decimal::fitting`] | the largest ≤ the one given that holds the value | not even the integer part fits, or [`Rounding::Exact`] and digits would be lost |
//!
//! Products and quotients are computed on 256-bit magnitudes (two mantissas of 38 digits make
//! 76), so a result that fits a [`Decimal`] is always found, whatever the operands.

use std::cmp::Ordering;
use std::ops::Neg;

use super::{Decimal, MANTISSA_BOUND, MAX_SCALE, POW10};

/// How a result with more decimals than its scale holds is cut to that scale.
///
/// ```
/// use strata_model::{Decimal, decimal::Rounding};
///
/// let d: Decimal = "-2.345".parse()?;
/// let at2 = |r| d.rescale(2, r).map(|d| d.to_string());
/// assert_eq!(at2(Rounding::HalfEven).as_deref(), Some("-2.34"));
/// assert_eq!(at2(Rounding::HalfAwayFromZero).as_deref(), Some("-2.35"));
/// assert_eq!(at2(Rounding::Floor).as_deref(), Some("-2.35"));
/// assert_eq!(at2(Rounding::Ceiling).as_deref(), Some("-2.34"));
/// assert_eq!(at2(Rounding::Exact), None);
/// # Ok::<(), strata_model::DecimalError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Rounding {
    /// No rounding: the operation returns `None` when a nonzero digit would be dropped.
    Exact,
    /// Toward zero (truncation): `2.9 → 2`, `-2.9 → -2`.
    TowardZero,
    /// Away from zero: `2.1 → 3`, `-2.1 → -3`.
    AwayFromZero,
    /// Toward negative infinity: `2.9 → 2`, `-2.1 → -3`.
    Floor,
    /// Toward positive infinity: `2.1 → 3`, `-2.9 → -2`.
    Ceiling,
    /// To the nearest; a tie to the even neighbour (banker's rounding): `2.5 → 2`, `3.5 → 4`.
    HalfEven,
    /// To the nearest; a tie away from zero (school rounding): `2.5 → 3`, `-2.5 → -3`.
    HalfAwayFromZero,
    /// To the nearest; a tie toward zero: `2.5 → 2`, `-2.5 → -2`.
    HalfTowardZero,
}

impl Decimal {
    /// `self + other`, exactly, at the larger of the two scales (`1.5 + 0.25 = 1.75`); `None`
    /// when the sum has more than [`MAX_DIGITS`](super::MAX_DIGITS) digits at that scale.
    ///
    /// ```
    /// use strata_model::Decimal;
    ///
    /// let sum = |a: &str, b: &str| -> Option<String> {
    ///     Some(a.parse::<Decimal>().ok()?.checked_add(b.parse().ok()?)?.to_string())
    /// };
    /// assert_eq!(sum("60123.10", "0.005").as_deref(), Some("60123.105"));
    /// assert_eq!(sum("1.50", "-1.5").as_deref(), Some("0.00"));
    /// assert_eq!(sum(&"9".repeat(38), "1"), None);
    /// ```
    #[inline]
    pub fn checked_add(self, other: Decimal) -> Option<Decimal> {
        if self.scale == other.scale {
            // Both below 10^38 in magnitude: the sum is below 2 × 10^38 and may overflow an
            // i128 (1.7 × 10^38) only when it is out of range anyway.
            let sum = self.mantissa().checked_add(other.mantissa())?;
            return Decimal::new(sum, self.scale()).ok();
        }
        let scale = self.scale().max(other.scale());
        // Magnitudes at the common scale. One that overflows a u128 (3.4 × 10^38) exceeds the
        // other (below 10^38) by more than 10^38: the sum could not fit either.
        let a = self.magnitude_at(scale)?;
        let b = other.magnitude_at(scale)?;
        let (negative, magnitude) = match (self.is_negative(), other.is_negative()) {
            (sa, sb) if sa == sb => (sa, a.checked_add(b)?),
            (sa, _) if a >= b => (sa, a - b),
            (_, sb) => (sb, b - a),
        };
        from_magnitude(negative, magnitude, scale)
    }

    /// `self - other`, exactly, at the larger of the two scales; `None` when the difference has
    /// more than [`MAX_DIGITS`](super::MAX_DIGITS) digits at that scale.
    #[inline]
    pub fn checked_sub(self, other: Decimal) -> Option<Decimal> {
        self.checked_add(-other)
    }

    /// `self × other`, exactly, at the sum of the two scales (`1.5 × 0.25 = 0.375`); `None` when
    /// that scale is above [`MAX_SCALE`] or the product has more than
    /// [`MAX_DIGITS`](super::MAX_DIGITS) digits. For a product at a scale of your choosing
    /// (a notional at the price's scale, say) use [`mul_rounded`](Self::mul_rounded).
    ///
    /// ```
    /// use strata_model::Decimal;
    ///
    /// let price: Decimal = "60123.10".parse()?;
    /// let size: Decimal = "0.005".parse()?;
    /// assert_eq!(price.checked_mul(size).map(|d| d.to_string()).as_deref(), Some("300.61550"));
    /// # Ok::<(), strata_model::DecimalError>(())
    /// ```
    #[inline]
    pub fn checked_mul(self, other: Decimal) -> Option<Decimal> {
        let scale = self.scale() + other.scale();
        if scale > MAX_SCALE {
            return None;
        }
        let product = match (self.mantissa_i64(), other.mantissa_i64()) {
            // Two 64-bit mantissas: the product always fits 128 bits.
            (Some(a), Some(b)) => i128::from(a) * i128::from(b),
            // Beyond an i128 is beyond 38 digits.
            _ => self.mantissa().checked_mul(other.mantissa())?,
        };
        Decimal::new(product, scale).ok()
    }

    /// `self × other` at `scale` decimals, cut by `rounding`; `None` when `scale` is above
    /// [`MAX_SCALE`], the result has more than [`MAX_DIGITS`](super::MAX_DIGITS) digits, or
    /// `rounding` is [`Rounding::Exact`] and a nonzero digit would be dropped.
    ///
    /// ```
    /// use strata_model::{Decimal, decimal::Rounding};
    ///
    /// let a: Decimal = "1.2345".parse()?;
    /// let b: Decimal = "0.5".parse()?; // exactly 0.61725
    /// assert_eq!(a.mul_rounded(b, 4, Rounding::HalfEven).map(|d| d.to_string()).as_deref(), Some("0.6172"));
    /// assert_eq!(a.mul_rounded(b, 6, Rounding::Exact).map(|d| d.to_string()).as_deref(), Some("0.617250"));
    /// assert_eq!(a.mul_rounded(b, 4, Rounding::Exact), None);
    /// # Ok::<(), strata_model::DecimalError>(())
    /// ```
    pub fn mul_rounded(self, other: Decimal, scale: u8, rounding: Rounding) -> Option<Decimal> {
        if scale > MAX_SCALE {
            return None;
        }
        let negative = self.is_negative() != other.is_negative();
        let product = U256::mul(
            self.mantissa().unsigned_abs(),
            other.mantissa().unsigned_abs(),
        );
        let natural = u32::from(self.scale()) + u32::from(other.scale());
        let magnitude = match natural.checked_sub(u32::from(scale)) {
            Some(drop) => {
                let (q, rest) = div_pow10(product, drop, Rest::Zero);
                round(q, rest, negative, rounding)?.to_u128()?
            }
            None => product
                .to_u128()?
                .checked_mul(POW10[usize::from(scale) - natural as usize] as u128)?,
        };
        from_magnitude(negative, magnitude, scale)
    }

    /// `self / other` at `scale` decimals, cut by `rounding` (a quotient is rarely exact: say how
    /// to cut it); `None` when `other` is zero, `scale` is above [`MAX_SCALE`], the quotient
    /// has more than [`MAX_DIGITS`](super::MAX_DIGITS) digits, or `rounding` is
    /// [`Rounding::Exact`] and the quotient does not end within `scale` decimals.
    ///
    /// ```
    /// use strata_model::{Decimal, decimal::Rounding};
    ///
    /// // A VWAP: notional 4030 over volume 40, at 9 decimals.
    /// let vwap = "4030".parse::<Decimal>()?.div_rounded("40".parse()?, 9, Rounding::HalfEven);
    /// assert_eq!(vwap.map(|d| d.to_string()).as_deref(), Some("100.750000000"));
    /// let third = Decimal::from_int(1).div_rounded(Decimal::from_int(3), 4, Rounding::HalfEven);
    /// assert_eq!(third.map(|d| d.to_string()).as_deref(), Some("0.3333"));
    /// assert_eq!(Decimal::from_int(1).div_rounded(Decimal::from_int(3), 4, Rounding::Exact), None);
    /// assert_eq!(Decimal::from_int(1).div_rounded(Decimal::ZERO, 4, Rounding::HalfEven), None);
    /// # Ok::<(), strata_model::DecimalError>(())
    /// ```
    pub fn div_rounded(self, other: Decimal, scale: u8, rounding: Rounding) -> Option<Decimal> {
        if other.is_zero() || scale > MAX_SCALE {
            return None;
        }
        let negative = self.is_negative() != other.is_negative();
        let (a, b) = (
            self.mantissa().unsigned_abs(),
            other.mantissa().unsigned_abs(),
        );
        // q = a × 10^-sa / (b × 10^-sb) × 10^scale = a × 10^(scale + sb − sa) / b
        let shift = i32::from(scale) + i32::from(other.scale()) - i32::from(self.scale());
        let (q, rest) = if shift >= 0 {
            // A numerator beyond 256 bits (10^77) over a divisor below 10^38 is a quotient
            // above 10^39: out of range either way.
            let numerator = mul_pow10(U256::from_u128(a), shift.unsigned_abs())?;
            div_step(numerator, b, Rest::Zero)
        } else {
            // a / (b × 10^k): divide by b, then by 10^k, keeping track of the rest.
            let (q, rest) = div_step(U256::from_u128(a), b, Rest::Zero);
            div_pow10(q, shift.unsigned_abs(), rest)
        };
        from_magnitude(
            negative,
            round(q, rest, negative, rounding)?.to_u128()?,
            scale,
        )
    }

    /// The same value at `scale` decimals: zeros appended when `scale` is larger than the
    /// value's own, digits cut by `rounding` when it is smaller. `None` when `scale` is above
    /// [`MAX_SCALE`], the result has more than [`MAX_DIGITS`](super::MAX_DIGITS) digits, or
    /// `rounding` is [`Rounding::Exact`] and a nonzero digit would be dropped.
    ///
    /// ```
    /// use strata_model::{Decimal, decimal::Rounding};
    ///
    /// let d: Decimal = "1.250".parse()?;
    /// assert_eq!(d.rescale(5, Rounding::Exact).map(|d| d.to_string()).as_deref(), Some("1.25000"));
    /// assert_eq!(d.rescale(2, Rounding::Exact).map(|d| d.to_string()).as_deref(), Some("1.25"));
    /// assert_eq!(d.rescale(1, Rounding::HalfEven).map(|d| d.to_string()).as_deref(), Some("1.2"));
    /// # Ok::<(), strata_model::DecimalError>(())
    /// ```
    pub fn rescale(self, scale: u8, rounding: Rounding) -> Option<Decimal> {
        if scale > MAX_SCALE {
            return None;
        }
        match self.scale().checked_sub(scale) {
            None | Some(0) => Decimal::new(self.rescaled(scale)?, scale).ok(),
            Some(drop) => {
                let negative = self.is_negative();
                let magnitude = U256::from_u128(self.mantissa().unsigned_abs());
                let (q, rest) = div_pow10(magnitude, u32::from(drop), Rest::Zero);
                from_magnitude(
                    negative,
                    round(q, rest, negative, rounding)?.to_u128()?,
                    scale,
                )
            }
        }
    }

    /// `mantissa × 10^-scale` — any `i128` at any scale, such as a running sum or a product
    /// kept at its natural scale — as a [`Decimal`] at the largest scale, at most `scale` and
    /// [`MAX_SCALE`], that holds it: exactly when it can (trailing zeros dropped as needed),
    /// else cut by `rounding`. `None` when not even its integer part has at most
    /// [`MAX_DIGITS`](super::MAX_DIGITS) digits, or `rounding` is [`Rounding::Exact`] and no
    /// scale holds it exactly.
    ///
    /// Calling it with [`Rounding::Exact`] first tells an exact result from a rounded one.
    ///
    /// ```
    /// use strata_model::{Decimal, decimal::Rounding};
    ///
    /// // 12300 × 10^-40 is 0.000…0123 at 38 decimals, exactly.
    /// let d = Decimal::fitting(12_300, 40, Rounding::Exact).map(|d| d.to_string());
    /// assert_eq!(d, Some(format!("0.{}123", "0".repeat(35))));
    /// // 125 × 10^-40 needs 40 decimals: rounded half-even it is 10^-38.
    /// assert_eq!(Decimal::fitting(125, 40, Rounding::Exact), None);
    /// let d = Decimal::fitting(125, 40, Rounding::HalfEven).map(|d| d.to_string());
    /// assert_eq!(d, Some(format!("0.{}1", "0".repeat(37))));
    /// assert_eq!(Decimal::fitting(i128::MAX, 0, Rounding::HalfEven), None);
    /// ```
    pub fn fitting(mantissa: i128, scale: u8, rounding: Rounding) -> Option<Decimal> {
        let negative = mantissa < 0;
        let magnitude = U256::from_u128(mantissa.unsigned_abs());
        (0..=scale.min(MAX_SCALE)).rev().find_map(|target| {
            let (q, rest) = div_pow10(magnitude, u32::from(scale - target), Rest::Zero);
            from_magnitude(
                negative,
                round(q, rest, negative, rounding)?.to_u128()?,
                target,
            )
        })
    }

    /// The value without its sign, at the same scale.
    #[inline]
    pub const fn abs(self) -> Decimal {
        Decimal::from_i128_unchecked(self.mantissa().abs(), self.scale())
    }

    /// The magnitude of the mantissa at a scale at least the value's own; `None` when it
    /// overflows a `u128`.
    #[inline]
    fn magnitude_at(self, scale: u8) -> Option<u128> {
        self.mantissa()
            .unsigned_abs()
            .checked_mul(POW10[usize::from(scale - self.scale())] as u128)
    }
}

/// The same magnitude with the other sign (every [`Decimal`] has a negation: the range is
/// symmetric). The scale is kept.
impl Neg for Decimal {
    type Output = Decimal;
    #[inline]
    fn neg(self) -> Decimal {
        Decimal::from_i128_unchecked(-self.mantissa(), self.scale())
    }
}

/// `num / den` rounded to an integer by `rounding`; `None` when `den` is zero, the quotient
/// overflows an `i128` (`i128::MIN / -1`), or `rounding` is [`Rounding::Exact`] and `den`
/// does not divide `num`. For sums kept as integers at a common scale (`value × 10^-scale`),
/// such as the running totals of per-file statistics.
///
/// ```
/// use strata_model::decimal::{div_rounded_i128, Rounding};
///
/// assert_eq!(div_rounded_i128(25, 10, Rounding::HalfEven), Some(2));
/// assert_eq!(div_rounded_i128(-25, 10, Rounding::HalfAwayFromZero), Some(-3));
/// assert_eq!(div_rounded_i128(-21, 10, Rounding::Floor), Some(-3));
/// assert_eq!(div_rounded_i128(21, 10, Rounding::Exact), None);
/// ```
pub fn div_rounded_i128(num: i128, den: i128, rounding: Rounding) -> Option<i128> {
    if den == 0 {
        return None;
    }
    let negative = (num < 0) != (den < 0);
    let (q, rest) = div_step(
        U256::from_u128(num.unsigned_abs()),
        den.unsigned_abs(),
        Rest::Zero,
    );
    let magnitude = round(q, rest, negative, rounding)?.to_u128()?;
    if negative {
        0i128.checked_sub_unsigned(magnitude)
    } else {
        i128::try_from(magnitude).ok()
    }
}

/// A signed magnitude as a [`Decimal`] when it has at most 38 digits.
#[inline]
fn from_magnitude(negative: bool, magnitude: u128, scale: u8) -> Option<Decimal> {
    if magnitude >= MANTISSA_BOUND || scale > MAX_SCALE {
        return None;
    }
    // Below 10^38: fits an i128 either way.
    let m = magnitude as i128;
    Some(Decimal::from_i128_unchecked(
        if negative { -m } else { m },
        scale,
    ))
}

/// What a division left over, against half the divisor: all a rounding needs to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rest {
    /// Nothing: the quotient is exact.
    Zero,
    /// Less than half a unit of the quotient's last digit.
    BelowHalf,
    /// Exactly half.
    Half,
    /// More than half.
    AboveHalf,
}

/// `n / d` (`d > 0`) and its rest. `earlier` is the rest of an earlier division whose quotient
/// `n` is, so that a chain `((x / d1) / d2) …` reports the rest of `x / (d1 × d2 × …)`; every
/// divisor after the first must then be even (powers of ten are).
///
/// Why an even `d` suffices: with `n = q × d + r` and the earlier rest `e` (in units of the
/// earlier divisor `d1`), the total rest is `r × d1 + e` out of `d × d1`. For even `d`,
/// `2r < d` means `2r ≤ d − 2`, so the total is below half whatever `e` is; `2r > d` means
/// above half; `2r = d` is exactly half when `e` is zero and above half otherwise; `r = 0`
/// leaves only `e`, less than one unit of `d1`, so below half unless `e` is zero.
fn div_step(n: U256, d: u128, earlier: Rest) -> (U256, Rest) {
    if d == 1 {
        return (n, earlier);
    }
    let (q, r) = n.div_rem(d);
    let rest = if r == 0 {
        if earlier == Rest::Zero {
            Rest::Zero
        } else {
            Rest::BelowHalf
        }
    } else {
        match r.cmp(&(d - r)) {
            Ordering::Less => Rest::BelowHalf,
            Ordering::Equal if earlier == Rest::Zero => Rest::Half,
            Ordering::Equal | Ordering::Greater => Rest::AboveHalf,
        }
    };
    (q, rest)
}

/// `n / 10^exp` (any `exp`, in steps of at most 10^38) and its rest, as [`div_step`].
fn div_pow10(mut n: U256, mut exp: u32, mut rest: Rest) -> (U256, Rest) {
    while exp > 0 {
        let step = exp.min(u32::from(MAX_SCALE));
        (n, rest) = div_step(n, POW10[step as usize] as u128, rest);
        exp -= step;
    }
    (n, rest)
}

/// `n × 10^exp` (any `exp`, in steps of at most 10^38); `None` beyond 256 bits.
fn mul_pow10(mut n: U256, mut exp: u32) -> Option<U256> {
    while exp > 0 {
        let step = exp.min(u32::from(MAX_SCALE));
        n = n.checked_mul_u128(POW10[step as usize] as u128)?;
        exp -= step;
    }
    Some(n)
}

/// The magnitude `q` of a quotient with the rest `rest`, rounded by `rounding`; `negative` is
/// the sign of the exact result. `None` for [`Rounding::Exact`] with a rest.
fn round(q: U256, rest: Rest, negative: bool, rounding: Rounding) -> Option<U256> {
    let up = match (rest, rounding) {
        (Rest::Zero, _) => false,
        (_, Rounding::Exact) => return None,
        (_, Rounding::TowardZero) => false,
        (_, Rounding::AwayFromZero) => true,
        (_, Rounding::Floor) => negative,
        (_, Rounding::Ceiling) => !negative,
        (rest, Rounding::HalfEven) => {
            rest == Rest::AboveHalf || (rest == Rest::Half && q.lo & 1 == 1)
        }
        (rest, Rounding::HalfAwayFromZero) => rest != Rest::BelowHalf,
        (rest, Rounding::HalfTowardZero) => rest == Rest::AboveHalf,
    };
    if up {
        q.checked_add_one()
    } else {
        Some(q)
    }
}

/// An unsigned 256-bit integer, for magnitudes of products (below 10^76) and scaled
/// numerators; only what exact decimal arithmetic needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct U256 {
    hi: u128,
    lo: u128,
}

impl U256 {
    const fn from_u128(lo: u128) -> U256 {
        U256 { hi: 0, lo }
    }

    /// The value when it fits a `u128`.
    fn to_u128(self) -> Option<u128> {
        (self.hi == 0).then_some(self.lo)
    }

    /// `a × b`, always exact.
    fn mul(a: u128, b: u128) -> U256 {
        const HALF: u128 = u64::MAX as u128;
        let (a1, a0) = (a >> 64, a & HALF);
        let (b1, b0) = (b >> 64, b & HALF);
        // Each partial product of two 64-bit halves fits 128 bits.
        let (p00, p01, p10, p11) = (a0 * b0, a0 * b1, a1 * b0, a1 * b1);
        // At most 3 × (2^64 − 1): no overflow.
        let mid = (p00 >> 64) + (p01 & HALF) + (p10 & HALF);
        U256 {
            lo: (p00 & HALF) | (mid << 64),
            // The full product is below 2^256, so this cannot overflow.
            hi: p11 + (p01 >> 64) + (p10 >> 64) + (mid >> 64),
        }
    }

    /// `self × m`; `None` beyond 256 bits.
    fn checked_mul_u128(self, m: u128) -> Option<U256> {
        let low = U256::mul(self.lo, m);
        let high = U256::mul(self.hi, m);
        if high.hi != 0 {
            return None;
        }
        Some(U256 {
            hi: low.hi.checked_add(high.lo)?,
            lo: low.lo,
        })
    }

    fn checked_add_one(self) -> Option<U256> {
        match self.lo.checked_add(1) {
            Some(lo) => Some(U256 { hi: self.hi, lo }),
            None => Some(U256 {
                hi: self.hi.checked_add(1)?,
                lo: 0,
            }),
        }
    }

    /// `(self / d, self % d)` for `d > 0`.
    fn div_rem(self, d: u128) -> (U256, u128) {
        if self.hi == 0 {
            return (U256::from_u128(self.lo / d), self.lo % d);
        }
        // The high half by the hardware's division, the low half a bit at a time (the rest
        // stays below d, so shifting it left overflows at most into one carry bit).
        let q_hi = self.hi / d;
        let mut r = self.hi % d;
        let mut q_lo = 0u128;
        for bit in (0..128).rev() {
            let carry = r >> 127;
            r = (r << 1) | ((self.lo >> bit) & 1);
            q_lo <<= 1;
            if carry != 0 || r >= d {
                // With the carry the true value is 2^128 + r ≥ d, and the difference is below
                // d: the wrapping subtraction gives it exactly.
                r = r.wrapping_sub(d);
                q_lo |= 1;
            }
        }
        (U256 { hi: q_hi, lo: q_lo }, r)
    }
}

#[cfg(test)]
mod tests;
