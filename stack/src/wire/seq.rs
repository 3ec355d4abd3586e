//! Wrap-safe TCP sequence numbers (RFC 9293 §3.4: arithmetic is modulo 2^32).
//!
//! `SeqNumber` deliberately has no `Ord`: comparisons go through [`SeqNumber::lt`] & co, which
//! are correct across the wrap as long as the two numbers are less than 2^31 apart.

use core::fmt;
use core::ops::{Add, Sub};

/// A 32-bit sequence number with modular comparisons.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct SeqNumber(pub u32);

impl SeqNumber {
    /// Signed distance `self - other` (RFC 9293 §3.4 modular arithmetic).
    pub fn diff(self, other: SeqNumber) -> i32 {
        self.0.wrapping_sub(other.0) as i32
    }
    pub fn lt(self, other: SeqNumber) -> bool {
        self.diff(other) < 0
    }
    pub fn le(self, other: SeqNumber) -> bool {
        self.diff(other) <= 0
    }
    pub fn gt(self, other: SeqNumber) -> bool {
        self.diff(other) > 0
    }
    pub fn ge(self, other: SeqNumber) -> bool {
        self.diff(other) >= 0
    }
    /// `lo <= self < hi` modulo 2^32.
    pub fn in_range(self, lo: SeqNumber, hi: SeqNumber) -> bool {
        self.0.wrapping_sub(lo.0) < hi.0.wrapping_sub(lo.0)
    }
    /// The later of two sequence numbers.
    pub fn max(self, other: SeqNumber) -> SeqNumber {
        if self.ge(other) {
            self
        } else {
            other
        }
    }
    /// The earlier of two sequence numbers.
    pub fn min(self, other: SeqNumber) -> SeqNumber {
        if self.le(other) {
            self
        } else {
            other
        }
    }
}

impl Add<u32> for SeqNumber {
    type Output = SeqNumber;
    fn add(self, n: u32) -> SeqNumber {
        SeqNumber(self.0.wrapping_add(n))
    }
}
impl Add<usize> for SeqNumber {
    type Output = SeqNumber;
    fn add(self, n: usize) -> SeqNumber {
        SeqNumber(self.0.wrapping_add(n as u32))
    }
}
impl Sub<u32> for SeqNumber {
    type Output = SeqNumber;
    fn sub(self, n: u32) -> SeqNumber {
        SeqNumber(self.0.wrapping_sub(n))
    }
}
/// Non-negative distance `self - other`, saturating at 0 (use [`SeqNumber::diff`] for signed).
impl Sub for SeqNumber {
    type Output = usize;
    fn sub(self, other: SeqNumber) -> usize {
        self.diff(other).max(0) as usize
    }
}
impl fmt::Display for SeqNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::SeqNumber as S;

    #[test]
    fn compares_across_wrap() {
        let near_top = S(u32::MAX - 1);
        let wrapped = near_top + 5u32;
        assert_eq!(wrapped, S(3));
        assert!(near_top.lt(wrapped));
        assert!(wrapped.gt(near_top));
        assert_eq!(wrapped - near_top, 5);
        assert_eq!(near_top - wrapped, 0);
        assert!(S(0).in_range(near_top, wrapped));
        assert!(!wrapped.in_range(near_top, wrapped));
    }

    use proptest::prelude::*;

    proptest! {
        /// Antisymmetry: for numbers less than 2^31 apart, exactly one of lt/eq/gt holds and
        /// lt(a, b) == gt(b, a).
        #[test]
        fn comparisons_are_antisymmetric(a in any::<u32>(), d in 0u32..(1 << 31)) {
            let x = S(a);
            let y = S(a.wrapping_add(d));
            prop_assert_eq!(x.lt(y), y.gt(x));
            prop_assert_eq!(x.le(y), y.ge(x));
            prop_assert!(!(x.lt(y) && y.lt(x)));
            let exactly_one = [x.lt(y), x == y, x.gt(y)].iter().filter(|&&b| b).count();
            prop_assert_eq!(exactly_one, 1);
            prop_assert_eq!(x.lt(y), d != 0);
            prop_assert_eq!(x.max(y), y);
            prop_assert_eq!(x.min(y), x);
        }

        /// Shifting both numbers by the same amount (including across 2^32) changes nothing.
        #[test]
        fn comparisons_survive_the_wrap(a in any::<u32>(), b in any::<u32>(), k in any::<u32>()) {
            let (x, y) = (S(a), S(b));
            let (xs, ys) = (x + k, y + k);
            prop_assert_eq!(x.lt(y), xs.lt(ys));
            prop_assert_eq!(x.le(y), xs.le(ys));
            prop_assert_eq!(x.gt(y), xs.gt(ys));
            prop_assert_eq!(x.diff(y), xs.diff(ys));
            prop_assert_eq!(x - y, xs - ys);
        }

        /// `x + n` is after `x` for 0 < n < 2^31, and `(x + n) - x == n`.
        #[test]
        fn add_then_sub(a in any::<u32>(), n in 1u32..(1 << 31)) {
            let x = S(a);
            prop_assert!((x + n).gt(x));
            prop_assert_eq!((x + n) - x, n as usize);
            prop_assert_eq!((x + n) - n, x);
            prop_assert!(x.in_range(x, x + n));
            prop_assert!(!(x + n).in_range(x, x + n));
        }
    }
}
