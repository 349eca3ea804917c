//! The arithmetic against a reference: plain `i128` arithmetic where it cannot overflow, and
//! everywhere a schoolbook big integer (written here, independent of the 256-bit code) that
//! computes each exact result and rounds it by the definition of each [`Rounding`].

use std::cmp::Ordering;

use proptest::prelude::*;

use super::*;
use crate::decimal::{pow10, pow10_u128};
use crate::strategy::any_mantissa;

/// An unsigned integer of any size: little-endian 32-bit limbs, no trailing zero limb.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Big(Vec<u32>);

impl Big {
    fn from_u128(mut v: u128) -> Big {
        let mut limbs = Vec::new();
        while v > 0 {
            limbs.push(v as u32);
            v >>= 32;
        }
        Big(limbs)
    }

    fn trim(mut self) -> Big {
        while self.0.last() == Some(&0) {
            self.0.pop();
        }
        self
    }

    fn is_zero(&self) -> bool {
        self.0.is_empty()
    }

    fn mul(&self, other: &Big) -> Big {
        let mut out = vec![0u64; self.0.len() + other.0.len() + 1];
        for (i, &a) in self.0.iter().enumerate() {
            let mut carry = 0u64;
            for (j, &b) in other.0.iter().enumerate() {
                let t = out[i + j] + u64::from(a) * u64::from(b) + carry;
                out[i + j] = t & 0xffff_ffff;
                carry = t >> 32;
            }
            let mut k = i + other.0.len();
            while carry > 0 {
                let t = out[k] + carry;
                out[k] = t & 0xffff_ffff;
                carry = t >> 32;
                k += 1;
            }
        }
        Big(out.into_iter().map(|l| l as u32).collect()).trim()
    }

    fn pow10(exp: u32) -> Big {
        let ten = Big::from_u128(10);
        (0..exp).fold(Big::from_u128(1), |acc, _| acc.mul(&ten))
    }

    fn add(&self, other: &Big) -> Big {
        let n = self.0.len().max(other.0.len()) + 1;
        let mut out = Vec::with_capacity(n);
        let mut carry = 0u64;
        for i in 0..n {
            let t = u64::from(*self.0.get(i).unwrap_or(&0))
                + u64::from(*other.0.get(i).unwrap_or(&0))
                + carry;
            out.push(t as u32);
            carry = t >> 32;
        }
        Big(out).trim()
    }

    /// `self − other`, for `self ≥ other`.
    fn sub(&self, other: &Big) -> Big {
        let mut out = Vec::with_capacity(self.0.len());
        let mut borrow = 0i64;
        for i in 0..self.0.len() {
            let mut t = i64::from(self.0[i]) - i64::from(*other.0.get(i).unwrap_or(&0)) - borrow;
            borrow = 0;
            if t < 0 {
                t += 1 << 32;
                borrow = 1;
            }
            out.push(t as u32);
        }
        assert_eq!(borrow, 0, "sub underflow");
        Big(out).trim()
    }

    fn cmp(&self, other: &Big) -> Ordering {
        self.0
            .len()
            .cmp(&other.0.len())
            .then_with(|| self.0.iter().rev().cmp(other.0.iter().rev()))
    }

    fn bit(&self, i: usize) -> bool {
        self.0.get(i / 32).is_some_and(|l| (l >> (i % 32)) & 1 == 1)
    }

    /// `(self / d, self % d)`, a bit at a time.
    fn div_rem(&self, d: &Big) -> (Big, Big) {
        assert!(!d.is_zero());
        let bits = self.0.len() * 32;
        let mut q = vec![0u32; self.0.len()];
        let mut r = Big(Vec::new());
        for i in (0..bits).rev() {
            r = r.add(&r);
            if self.bit(i) {
                r = r.add(&Big::from_u128(1));
            }
            if r.cmp(d) != Ordering::Less {
                r = r.sub(d);
                q[i / 32] |= 1 << (i % 32);
            }
        }
        (Big(q).trim(), r)
    }

    fn to_u128(&self) -> Option<u128> {
        if self.0.len() > 4 {
            return None;
        }
        Some(
            self.0
                .iter()
                .rev()
                .fold(0u128, |acc, &l| (acc << 32) | u128::from(l)),
        )
    }
}

/// A signed big integer: (negative, magnitude).
type Signed = (bool, Big);

fn signed(v: i128) -> Signed {
    (v < 0, Big::from_u128(v.unsigned_abs()))
}

fn signed_mul(a: &Signed, b: &Signed) -> Signed {
    (a.0 != b.0, a.1.mul(&b.1))
}

fn signed_add(a: &Signed, b: &Signed) -> Signed {
    if a.0 == b.0 {
        return (a.0, a.1.add(&b.1));
    }
    match a.1.cmp(&b.1) {
        Ordering::Less => (b.0, b.1.sub(&a.1)),
        _ => (a.0, a.1.sub(&b.1)),
    }
}

/// `n / d` (`d > 0`) rounded to an integer by the definition of `rounding`; `None` for
/// [`Rounding::Exact`] when `d` does not divide `n`.
fn reference_div(n: &Signed, d: &Big, rounding: Rounding) -> Option<Signed> {
    let (q, r) = n.1.div_rem(d);
    let negative = n.0;
    if r.is_zero() {
        return Some((negative, q));
    }
    // 2r against d: below, at or above half.
    let half = r.add(&r).cmp(d);
    let odd = q.bit(0);
    let up = match rounding {
        Rounding::Exact => return None,
        Rounding::TowardZero => false,
        Rounding::AwayFromZero => true,
        Rounding::Floor => negative,
        Rounding::Ceiling => !negative,
        Rounding::HalfEven => half == Ordering::Greater || (half == Ordering::Equal && odd),
        Rounding::HalfAwayFromZero => half != Ordering::Less,
        Rounding::HalfTowardZero => half == Ordering::Greater,
    };
    Some((negative, if up { q.add(&Big::from_u128(1)) } else { q }))
}

/// The decimal `value × 10^-scale` when its mantissa has at most 38 digits.
fn reference_decimal(value: &Signed, scale: u8) -> Option<Decimal> {
    let m = value.1.to_u128().filter(|&m| m < MANTISSA_BOUND)? as i128;
    Some(Decimal::new(if value.0 { -m } else { m }, scale).unwrap())
}

fn any_rounding() -> impl Strategy<Value = Rounding> {
    prop_oneof![
        Just(Rounding::Exact),
        Just(Rounding::TowardZero),
        Just(Rounding::AwayFromZero),
        Just(Rounding::Floor),
        Just(Rounding::Ceiling),
        Just(Rounding::HalfEven),
        Just(Rounding::HalfAwayFromZero),
        Just(Rounding::HalfTowardZero),
    ]
}

/// Any decimal, wide mantissas and scales alike.
fn any_decimal() -> impl Strategy<Value = Decimal> {
    (any_mantissa(), 0u8..=MAX_SCALE).prop_map(|(m, s)| Decimal::new(m, s).unwrap())
}

/// Prices and sizes as venues write them: 64-bit mantissas, a few decimals.
fn small_decimal() -> impl Strategy<Value = Decimal> {
    (-10_000_000_000i64..10_000_000_000, 0u8..=9).prop_map(|(m, s)| Decimal::new(m, s).unwrap())
}

fn either_decimal() -> impl Strategy<Value = Decimal> {
    prop_oneof![small_decimal(), any_decimal()]
}

/// `d` as a signed big integer at `scale` (at least its own).
fn at_scale(d: Decimal, scale: u8) -> Signed {
    let (neg, m) = signed(d.mantissa());
    (neg, m.mul(&Big::pow10(u32::from(scale - d.scale()))))
}

fn reference_add(a: Decimal, b: Decimal) -> Option<Decimal> {
    let scale = a.scale().max(b.scale());
    reference_decimal(&signed_add(&at_scale(a, scale), &at_scale(b, scale)), scale)
}

fn reference_mul_rounded(a: Decimal, b: Decimal, scale: u8, rounding: Rounding) -> Option<Decimal> {
    // a × b = (A × B) × 10^-(sa + sb); at `scale`: A × B × 10^scale / 10^(sa + sb).
    let product = signed_mul(&signed(a.mantissa()), &signed(b.mantissa()));
    let n = (product.0, product.1.mul(&Big::pow10(u32::from(scale))));
    let d = Big::pow10(u32::from(a.scale()) + u32::from(b.scale()));
    reference_decimal(&reference_div(&n, &d, rounding)?, scale)
}

fn reference_div_rounded(a: Decimal, b: Decimal, scale: u8, rounding: Rounding) -> Option<Decimal> {
    if b.is_zero() {
        return None;
    }
    // (A × 10^-sa) / (B × 10^-sb) at `scale`: A × 10^(scale + sb) / (B × 10^sa).
    let (na, ma) = signed(a.mantissa());
    let (nb, mb) = signed(b.mantissa());
    let n = (
        na != nb,
        ma.mul(&Big::pow10(u32::from(scale) + u32::from(b.scale()))),
    );
    let d = mb.mul(&Big::pow10(u32::from(a.scale())));
    reference_decimal(&reference_div(&n, &d, rounding)?, scale)
}

fn reference_fitting(mantissa: i128, scale: u8, rounding: Rounding) -> Option<Decimal> {
    (0..=scale.min(MAX_SCALE)).rev().find_map(|target| {
        let q = reference_div(
            &signed(mantissa),
            &Big::pow10(u32::from(scale - target)),
            rounding,
        )?;
        reference_decimal(&q, target)
    })
}

#[test]
fn the_reference_big_integer_agrees_with_u128() {
    let cases = [
        0u128,
        1,
        9,
        10,
        u128::from(u64::MAX),
        u128::MAX / 3,
        POW10[38] as u128,
    ];
    for &a in &cases {
        for &b in &cases {
            if let Some(p) = a.checked_mul(b) {
                assert_eq!(Big::from_u128(a).mul(&Big::from_u128(b)).to_u128(), Some(p));
            }
            if let Some(s) = a.checked_add(b) {
                assert_eq!(Big::from_u128(a).add(&Big::from_u128(b)).to_u128(), Some(s));
            }
            if b > 0 {
                let (q, r) = Big::from_u128(a).div_rem(&Big::from_u128(b));
                assert_eq!((q.to_u128(), r.to_u128()), (Some(a / b), Some(a % b)));
            }
        }
    }
    assert_eq!(Big::pow10(38).to_u128(), Some(POW10[38] as u128));
}

#[test]
fn the_table_is_every_power_of_ten() {
    let mut p = 1i128;
    for (exp, &entry) in POW10.iter().enumerate() {
        assert_eq!(entry, p, "10^{exp}");
        assert_eq!(pow10(exp as u32), Some(p));
        assert_eq!(pow10_u128(exp as u32), Some(p as u128));
        p = p.saturating_mul(10);
    }
    assert_eq!(pow10(39), None);
    assert_eq!(pow10_u128(39), None);
    assert_eq!(MANTISSA_BOUND, POW10[38] as u128);
}

#[test]
fn u256_products_and_quotients() {
    let max = U256::mul(u128::MAX, u128::MAX);
    // (2^128 − 1)² = 2^256 − 2^129 + 1
    assert_eq!(
        max,
        U256 {
            hi: u128::MAX - 1,
            lo: 1
        }
    );
    assert_eq!(max.checked_mul_u128(2), None);
    assert_eq!(
        max.checked_add_one(),
        Some(U256 {
            hi: u128::MAX - 1,
            lo: 2
        })
    );
    assert_eq!(
        U256 {
            hi: u128::MAX,
            lo: u128::MAX
        }
        .checked_add_one(),
        None
    );
    assert_eq!(max.div_rem(u128::MAX), (U256::from_u128(u128::MAX), 0));
    let e38 = POW10[38] as u128;
    let p = U256::mul(e38 - 1, e38 - 1);
    assert_eq!(p.div_rem(e38 - 1), (U256::from_u128(e38 - 1), 0));
    assert_eq!(p.div_rem(e38), (U256::from_u128(e38 - 2), 1));
}

#[test]
fn rounding_modes_on_ties_and_near_ties() {
    let at0 = |text: &str, r: Rounding| {
        text.parse::<Decimal>()
            .unwrap()
            .rescale(0, r)
            .map(|d| d.to_string())
    };
    // value, TowardZero, AwayFromZero, Floor, Ceiling, HalfEven, HalfAwayFromZero, HalfTowardZero
    let table = [
        ("2.5", ["2", "3", "2", "3", "2", "3", "2"]),
        ("3.5", ["3", "4", "3", "4", "4", "4", "3"]),
        ("-2.5", ["-2", "-3", "-3", "-2", "-2", "-3", "-2"]),
        ("2.51", ["2", "3", "2", "3", "3", "3", "3"]),
        ("-2.49", ["-2", "-3", "-3", "-2", "-2", "-2", "-2"]),
        ("0.1", ["0", "1", "0", "1", "0", "0", "0"]),
        ("-0.1", ["0", "-1", "-1", "0", "0", "0", "0"]),
        ("7.000", ["7", "7", "7", "7", "7", "7", "7"]),
    ];
    let modes = [
        Rounding::TowardZero,
        Rounding::AwayFromZero,
        Rounding::Floor,
        Rounding::Ceiling,
        Rounding::HalfEven,
        Rounding::HalfAwayFromZero,
        Rounding::HalfTowardZero,
    ];
    for (text, expect) in table {
        for (mode, want) in modes.iter().zip(expect) {
            assert_eq!(at0(text, *mode).as_deref(), Some(want), "{text} {mode:?}");
        }
    }
    assert_eq!(at0("7.000", Rounding::Exact).as_deref(), Some("7"));
    assert_eq!(at0("7.001", Rounding::Exact), None);
}

#[test]
fn edges_of_the_range() {
    let max = Decimal::MAX;
    let one = Decimal::from_int(1);
    assert_eq!(max.checked_add(one), None);
    assert_eq!(Decimal::MIN.checked_sub(one), None);
    assert_eq!(max.checked_add(-max), Some(Decimal::ZERO));
    assert_eq!(max.checked_mul(one), Some(max));
    assert_eq!(max.checked_mul(Decimal::from_int(-1)), Some(Decimal::MIN));
    assert_eq!(max.checked_mul(Decimal::from_int(2)), None);
    assert_eq!(-Decimal::MIN, Decimal::MAX);
    assert_eq!(Decimal::MIN.abs(), Decimal::MAX);
    // A sum whose terms overflow an i128 at the common scale, though the sum fits.
    let a = Decimal::new(18 * POW10[36], 0).unwrap(); // 1.8 × 10^37
    let b = Decimal::new(-9 * POW10[37], 1).unwrap(); // −9 × 10^36
    assert_eq!(a.checked_add(b), Decimal::new(9 * POW10[37], 1).ok());
    // Products of 76 digits, at 38 decimals and at none.
    let tiny = Decimal::new(POW10[38] - 1, 38).unwrap(); // 0.99…9
    let sq = tiny.mul_rounded(tiny, 38, Rounding::HalfEven).unwrap();
    assert_eq!(sq.to_string(), format!("0.{}8", "9".repeat(37)));
    assert_eq!(
        tiny.mul_rounded(tiny, 0, Rounding::HalfEven),
        Some(Decimal::from_int(1))
    );
    assert_eq!(tiny.checked_mul(tiny), None, "scale 76");
    assert_eq!(max.mul_rounded(max, 0, Rounding::HalfEven), None);
    // Quotients with the widest numerators and divisors.
    assert_eq!(max.div_rounded(tiny, 0, Rounding::HalfEven), None);
    let least = Decimal::new(1, 38).unwrap();
    assert_eq!(
        least.div_rounded(max, 38, Rounding::HalfEven),
        Some(Decimal::new(0, 38).unwrap())
    );
    assert_eq!(least.div_rounded(max, 38, Rounding::Ceiling), Some(least));
    assert_eq!(
        max.div_rounded(max, 38, Rounding::Exact),
        None,
        "1 at 38 decimals: 39 digits"
    );
    assert_eq!(
        max.div_rounded(max, 37, Rounding::Exact),
        Decimal::new(POW10[37], 37).ok()
    );
    assert_eq!(
        one.div_rounded(one, 37, Rounding::Exact),
        Decimal::new(POW10[37], 37).ok()
    );
    // A tie in the last of several divisions is no tie when an earlier one left a rest:
    // 9.1 / 2 = 4.55 (÷2, then ÷10: rest 1 of 2, then 5 of 10) is above half.
    let (a, two) = (Decimal::new(91, 1).unwrap(), Decimal::from_int(2));
    assert_eq!(
        a.div_rounded(two, 0, Rounding::HalfEven),
        Some(Decimal::from_int(5))
    );
    assert_eq!(
        a.div_rounded(two, 0, Rounding::HalfTowardZero),
        Some(Decimal::from_int(5))
    );
    // (0.5 + 10^-38) × 1.0 at scale 0: ÷10^38 leaves 10, then ÷10 leaves 5 of 10.
    let (half_and_a_bit, one_point_zero) = (
        Decimal::new(5 * POW10[37] + 1, 38).unwrap(),
        Decimal::new(10, 1).unwrap(),
    );
    assert_eq!(
        half_and_a_bit.mul_rounded(one_point_zero, 0, Rounding::HalfEven),
        Some(Decimal::from_int(1))
    );
    assert_eq!(
        Decimal::new(5 * POW10[37], 38)
            .unwrap()
            .mul_rounded(one_point_zero, 0, Rounding::HalfEven),
        Some(Decimal::ZERO),
        "an exact tie rounds to even"
    );
    assert_eq!(div_rounded_i128(i128::MIN, -1, Rounding::Exact), None);
    assert_eq!(
        div_rounded_i128(i128::MIN, 1, Rounding::Exact),
        Some(i128::MIN)
    );
    assert_eq!(div_rounded_i128(1, 0, Rounding::HalfEven), None);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    /// Sums and differences are those of plain i128 arithmetic at the common scale.
    #[test]
    fn add_and_sub_agree_with_i128(a in small_decimal(), b in small_decimal()) {
        let scale = a.scale().max(b.scale());
        let (x, y) = (a.rescaled(scale).unwrap(), b.rescaled(scale).unwrap());
        prop_assert_eq!(a.checked_add(b), Some(Decimal::new(x + y, scale).unwrap()));
        prop_assert_eq!(a.checked_sub(b), Some(Decimal::new(x - y, scale).unwrap()));
        // Round trips: (a + b) − b has a's value.
        prop_assert!(a.checked_add(b).unwrap().checked_sub(b).unwrap().eq_value(a));
        prop_assert_eq!(a.checked_add(b), b.checked_add(a));
    }

    /// Products are those of plain i128 arithmetic at the summed scale.
    #[test]
    fn mul_agrees_with_i128(a in small_decimal(), b in small_decimal()) {
        let product = a.mantissa() * b.mantissa();
        prop_assert_eq!(a.checked_mul(b), Some(Decimal::new(product, a.scale() + b.scale()).unwrap()));
        prop_assert_eq!(a.checked_mul(b), b.checked_mul(a));
        let exact = a.mul_rounded(b, a.scale() + b.scale(), Rounding::Exact);
        prop_assert_eq!(exact, a.checked_mul(b));
    }

    /// An exact product divided by one factor gives the other back.
    #[test]
    fn div_undoes_mul(a in small_decimal(), b in small_decimal()) {
        prop_assume!(!b.is_zero());
        let product = a.checked_mul(b).unwrap();
        let back = product.div_rounded(b, a.scale(), Rounding::Exact);
        prop_assert_eq!(back, Some(a));
    }

    /// The division of i128s, rounded, matches the reference at every mode.
    #[test]
    fn div_rounded_i128_matches_the_reference(
        num in prop_oneof![any::<i128>(), any::<i64>().prop_map(i128::from)],
        den in prop_oneof![any::<i128>(), (-1000i128..1000)],
        rounding in any_rounding(),
    ) {
        let got = div_rounded_i128(num, den, rounding);
        let expect = if den == 0 {
            None
        } else {
            let n = (num < 0) != (den < 0);
            reference_div(&(n, Big::from_u128(num.unsigned_abs())), &Big::from_u128(den.unsigned_abs()), rounding)
                .and_then(|(neg, m)| {
                    let m = m.to_u128()?;
                    if neg { 0i128.checked_sub_unsigned(m) } else { i128::try_from(m).ok() }
                })
        };
        prop_assert_eq!(got, expect);
    }

    /// Sums of any two decimals: exactly the big-integer sum, or `None` exactly when it has
    /// more than 38 digits.
    #[test]
    fn add_matches_the_reference(a in either_decimal(), b in either_decimal()) {
        prop_assert_eq!(a.checked_add(b), reference_add(a, b));
        prop_assert_eq!(a.checked_sub(b), reference_add(a, -b));
    }

    #[test]
    fn mul_matches_the_reference(a in either_decimal(), b in either_decimal()) {
        let scale = a.scale() + b.scale();
        let expect = if scale > MAX_SCALE {
            None
        } else {
            reference_mul_rounded(a, b, scale, Rounding::Exact)
        };
        prop_assert_eq!(a.checked_mul(b), expect);
    }

    #[test]
    fn mul_rounded_matches_the_reference(
        a in either_decimal(), b in either_decimal(), scale in 0u8..=MAX_SCALE, rounding in any_rounding(),
    ) {
        prop_assert_eq!(a.mul_rounded(b, scale, rounding), reference_mul_rounded(a, b, scale, rounding));
    }

    #[test]
    fn div_rounded_matches_the_reference(
        a in either_decimal(), b in either_decimal(), scale in 0u8..=MAX_SCALE, rounding in any_rounding(),
    ) {
        prop_assert_eq!(a.div_rounded(b, scale, rounding), reference_div_rounded(a, b, scale, rounding));
    }

    /// Rescaling is multiplying by one at the target scale.
    #[test]
    fn rescale_matches_the_reference(a in either_decimal(), scale in 0u8..=MAX_SCALE, rounding in any_rounding()) {
        let one = Decimal::from_int(1);
        let got = a.rescale(scale, rounding);
        prop_assert_eq!(got, reference_mul_rounded(a, one, scale, rounding));
        if let Some(d) = got {
            prop_assert_eq!(d.scale(), scale);
            if scale >= a.scale() {
                prop_assert!(d.eq_value(a));
            }
        }
    }

    #[test]
    fn fitting_matches_the_reference(
        mantissa in prop_oneof![any::<i128>(), any_mantissa()], scale in 0u8..=80, rounding in any_rounding(),
    ) {
        let got = Decimal::fitting(mantissa, scale, rounding);
        prop_assert_eq!(got, reference_fitting(mantissa, scale, rounding));
        // Exact when it can be: then the value is the one given.
        if let Some(d) = Decimal::fitting(mantissa, scale, Rounding::Exact) {
            prop_assert_eq!(got, Some(d));
            let here = signed(d.mantissa());
            let there = signed(mantissa);
            // d × 10^(scale − d.scale) == mantissa
            let scaled = (here.0, here.1.mul(&Big::pow10(u32::from(scale - d.scale()))));
            prop_assert_eq!(scaled.1, there.1);
        }
    }

    /// Rounding never goes the wrong way: floor ≤ value ≤ ceiling, and half-even is within
    /// half a unit, compared with the value order of `cmp_value`.
    #[test]
    fn rounded_results_bracket_the_value(a in either_decimal(), scale in 0u8..=MAX_SCALE) {
        if let (Some(floor), Some(ceiling)) = (a.rescale(scale, Rounding::Floor), a.rescale(scale, Rounding::Ceiling)) {
            prop_assert!(floor.cmp_value(a) != Ordering::Greater);
            prop_assert!(ceiling.cmp_value(a) != Ordering::Less);
            for r in [Rounding::HalfEven, Rounding::HalfAwayFromZero, Rounding::HalfTowardZero, Rounding::TowardZero, Rounding::AwayFromZero] {
                let d = a.rescale(scale, r).unwrap();
                prop_assert!(d == floor || d == ceiling, "{a} at {scale} by {r:?}: {d}");
            }
        }
    }
}
