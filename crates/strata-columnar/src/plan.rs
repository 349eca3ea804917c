//! How each decimal column of a file is stored, decided from the values it will hold.
//!
//! A Parquet DECIMAL column has one scale; strata keeps the scale each price was written with
//! (`"60123.10"` stays `"60123.10"`, MODEL-2), and one feed can mix scales in a column (DBN
//! prices at scales 0, 1 and 2 in one file). So per column and file:
//!
//! - the column's scale is the largest scale among its values, and every value is stored exactly
//!   at it (`DECIMAL(18, s)`, an INT64, when every stored value has at most 18 digits, else
//!   `DECIMAL(38, s)`); outside tools read the numbers exactly as they are;
//! - when some values were written at a smaller scale, a nullable `UInt8` column
//!   `<column>_scale` beside it holds their own scale (null where it is the column's), so the
//!   event re-encodes to the very bytes it came from;
//! - when the values cannot share one scale within 38 digits (a 38-digit integer beside a value
//!   with 38 decimals), the column holds the decimal text (`Utf8`), exact but not numeric. Real
//!   market data never needs it; it is the honest answer for data that does.

use arrow_schema::DataType;
use std::fmt;
use strata_model::decimal::{MAX_SCALE, POW10};
use strata_model::Decimal;

/// How one decimal column is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DecimalStorage {
    /// `Decimal128(precision, scale)` (precision 18 or 38); `scale_column` when some values
    /// were written at a smaller scale.
    Numeric {
        /// 18 (stored as INT64) or 38 (16-byte fixed length).
        precision: u8,
        /// The column's scale.
        scale: u8,
        /// Whether a `<column>_scale` column keeps smaller written scales.
        scale_column: bool,
    },
    /// The decimal text, for values that cannot share a scale.
    Text,
}

impl DecimalStorage {
    /// The Arrow type of the value column.
    pub fn data_type(self) -> DataType {
        match self {
            DecimalStorage::Numeric {
                precision, scale, ..
            } => DataType::Decimal128(precision, scale as i8),
            DecimalStorage::Text => DataType::Utf8,
        }
    }

    /// Whether a `<column>_scale` column goes with it.
    pub fn has_scale_column(self) -> bool {
        matches!(
            self,
            DecimalStorage::Numeric {
                scale_column: true,
                ..
            }
        )
    }

    /// The value as stored: its mantissa at the column's scale and its own scale when it
    /// differs (`None` when the value does not fit this storage).
    pub(crate) fn store(self, d: Decimal) -> Option<(i128, Option<u8>)> {
        match self {
            DecimalStorage::Numeric {
                precision,
                scale,
                scale_column,
            } => {
                let m = d.rescaled(scale)?;
                let bound = POW10[usize::from(precision)];
                if m <= -bound || m >= bound || (!scale_column && d.scale() != scale) {
                    return None;
                }
                Some((m, (d.scale() != scale).then_some(d.scale())))
            }
            DecimalStorage::Text => Some((0, None)),
        }
    }
}

impl fmt::Display for DecimalStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecimalStorage::Numeric {
                precision,
                scale,
                scale_column,
            } => {
                write!(f, "DECIMAL({precision}, {scale})")?;
                if *scale_column {
                    write!(f, " with per-row scales")?;
                }
                Ok(())
            }
            DecimalStorage::Text => write!(f, "decimal text"),
        }
    }
}

/// What one decimal column has seen: enough to choose its [`DecimalStorage`].
#[derive(Debug, Clone, Copy, Default)]
pub struct DecimalObservation {
    values: u64,
    max_scale: u8,
    min_scale: u8,
    /// The most digits left of the point (`digits - scale`, at least 0) among the values.
    max_int_digits: u8,
    /// A value at `bound_scale` whose mantissa is below `bound` in magnitude changes nothing
    /// but the count: most values of a column share a scale and a magnitude, so most are
    /// noted with one comparison.
    bound_scale: u8,
    bound: u128,
}

impl PartialEq for DecimalObservation {
    fn eq(&self, other: &Self) -> bool {
        (
            self.values,
            self.max_scale,
            self.min_scale,
            self.max_int_digits,
        ) == (
            other.values,
            other.max_scale,
            other.min_scale,
            other.max_int_digits,
        )
    }
}

impl Eq for DecimalObservation {}

impl DecimalObservation {
    /// Notes one value.
    #[inline]
    pub fn observe(&mut self, d: Decimal) {
        let scale = d.scale();
        let magnitude = d.mantissa().unsigned_abs();
        if self.values > 0 && scale == self.bound_scale && magnitude < self.bound {
            self.values += 1;
            return;
        }
        let int_digits = digit_count(magnitude).saturating_sub(scale);
        if self.values == 0 {
            self.min_scale = scale;
        }
        self.values += 1;
        self.max_scale = self.max_scale.max(scale);
        self.min_scale = self.min_scale.min(scale);
        self.max_int_digits = self.max_int_digits.max(int_digits);
        // Mantissas below 10^(max_int_digits + scale) have no more integer digits than seen.
        self.bound_scale = scale;
        self.bound = POW10
            .get(usize::from(self.max_int_digits) + usize::from(scale))
            .map_or(u128::MAX, |p| p.unsigned_abs());
    }

    /// Adds another observation of the same column.
    pub fn merge(&mut self, other: &DecimalObservation) {
        if other.values == 0 {
            return;
        }
        if self.values == 0 {
            *self = *other;
            return;
        }
        self.values += other.values;
        self.max_scale = self.max_scale.max(other.max_scale);
        self.min_scale = self.min_scale.min(other.min_scale);
        self.max_int_digits = self.max_int_digits.max(other.max_int_digits);
    }

    /// The storage that holds every value observed exactly.
    pub fn storage(&self) -> DecimalStorage {
        let digits = u16::from(self.max_int_digits) + u16::from(self.max_scale);
        if digits > u16::from(strata_model::decimal::MAX_DIGITS) || self.max_scale > MAX_SCALE {
            return DecimalStorage::Text;
        }
        DecimalStorage::Numeric {
            precision: if digits <= 18 { 18 } else { 38 },
            scale: self.max_scale,
            scale_column: self.values > 0 && self.min_scale != self.max_scale,
        }
    }
}

fn digit_count(v: u128) -> u8 {
    let log = match u64::try_from(v) {
        Ok(small) => small.checked_ilog10(),
        Err(_) => v.checked_ilog10(),
    };
    // At most 38 digits: the cast cannot truncate.
    log.map_or(1, |l| l as u8 + 1)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn digits_are_counted() {
        for (v, n) in [
            (0u128, 1u8),
            (9, 1),
            (10, 2),
            (99, 2),
            (u128::from(u64::MAX), 20),
            (POW10[38] as u128 - 1, 38),
        ] {
            assert_eq!(digit_count(v), n, "{v}");
        }
    }

    #[test]
    fn a_value_one_digit_longer_is_noted() {
        let mut o = DecimalObservation::default();
        for v in ["9.99", "1.00", "9.99", "10.00"] {
            o.observe(d(v));
        }
        assert_eq!(o.max_int_digits, 2);
        o.observe(d("99.9999"));
        o.observe(d("100.0000"));
        assert_eq!((o.max_int_digits, o.min_scale, o.max_scale), (3, 2, 4));
    }

    #[test]
    fn storage_follows_the_values() {
        let of = |vals: &[&str]| {
            let mut o = DecimalObservation::default();
            vals.iter().for_each(|v| o.observe(d(v)));
            o.storage()
        };
        assert_eq!(
            of(&["170.23", "170.20"]),
            DecimalStorage::Numeric {
                precision: 18,
                scale: 2,
                scale_column: false
            }
        );
        assert_eq!(
            of(&["170", "170.2", "170.25"]),
            DecimalStorage::Numeric {
                precision: 18,
                scale: 2,
                scale_column: true
            }
        );
        assert_eq!(
            of(&["0.0038217599999999996", "60000"]),
            DecimalStorage::Numeric {
                precision: 38,
                scale: 19,
                scale_column: true
            }
        );
        assert_eq!(
            of(&["12345678901234567890123456789012345678", "0.5"]),
            DecimalStorage::Text
        );
        assert_eq!(
            of(&[]),
            DecimalStorage::Numeric {
                precision: 18,
                scale: 0,
                scale_column: false
            }
        );
    }

    proptest! {
        /// The one-comparison path for values like the last gives what noting every value's
        /// digits gives, whatever the order.
        #[test]
        fn observing_notes_what_every_value_needs(values in proptest::collection::vec(strata_model::strategy::decimal(), 1..40)) {
            let mut o = DecimalObservation::default();
            values.iter().for_each(|v| o.observe(*v));
            let scales = values.iter().map(|v| v.scale());
            let (min_scale, max_scale) = (scales.clone().min().unwrap(), scales.max().unwrap());
            let int_digits = values
                .iter()
                .map(|v| digit_count(v.mantissa().unsigned_abs()).saturating_sub(v.scale()))
                .max()
                .unwrap();
            prop_assert_eq!(
                (o.values, o.min_scale, o.max_scale, o.max_int_digits),
                (values.len() as u64, min_scale, max_scale, int_digits)
            );
        }

        #[test]
        fn every_observed_value_fits_its_storage(values in proptest::collection::vec(strata_model::strategy::decimal(), 1..20)) {
            let mut o = DecimalObservation::default();
            values.iter().for_each(|v| o.observe(*v));
            let storage = o.storage();
            for v in &values {
                let (m, own) = storage.store(*v).unwrap();
                if let DecimalStorage::Numeric { scale, .. } = storage {
                    let back = Decimal::new(m, scale).unwrap();
                    prop_assert!(back.eq_value(*v));
                    prop_assert_eq!(own.unwrap_or(scale), v.scale());
                }
            }
        }
    }
}
