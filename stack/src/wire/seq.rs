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
}
