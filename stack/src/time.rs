//! Virtual time: [`Instant`] and [`Duration`] in microseconds.
//!
//! Nothing in `stack` reads a clock. Every input that depends on time takes a `now: Instant`
//! from the caller, and every timer is reported back as a deadline (`poll_at`).

use core::fmt;
use core::num::NonZeroU64;
use core::ops::{Add, AddAssign, Mul, Sub};

/// A point in virtual time, microseconds since the start of the world (up to `u64::MAX − 1`).
///
/// Stored as microseconds + 1 in a `NonZeroU64`, so that `Option<Instant>` — every timer of a
/// TCB — takes 8 bytes, not 16.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(NonZeroU64);

/// A span of virtual time in microseconds (up to `u64::MAX − 1`; stored as for [`Instant`]).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration(NonZeroU64);

/// `us + 1`, saturating: the stored form of both types.
const fn biased(us: u64) -> NonZeroU64 {
    match NonZeroU64::new(us.saturating_add(1)) {
        Some(n) => n,
        None => NonZeroU64::MAX,
    }
}

/// The unit conversions `Instant` and `Duration` share: both count microseconds; the
/// constructors saturate rather than overflow.
macro_rules! microsecond_units {
    ($t:ident) => {
        impl $t {
            const fn new(us: u64) -> Self {
                $t(biased(us))
            }
            const fn us(self) -> u64 {
                self.0.get() - 1
            }
            pub const fn from_micros(us: u64) -> Self {
                $t::new(us)
            }
            pub const fn from_millis(ms: u64) -> Self {
                $t::new(ms.saturating_mul(1_000))
            }
            pub const fn from_secs(s: u64) -> Self {
                $t::new(s.saturating_mul(1_000_000))
            }
            pub const fn total_micros(self) -> u64 {
                self.us()
            }
            pub const fn total_millis(self) -> u64 {
                self.us() / 1_000
            }
            /// Whole seconds (for an `Instant`: since the start of the world).
            pub const fn secs(self) -> u64 {
                self.us() / 1_000_000
            }
        }

        /// The zero point.
        impl Default for $t {
            fn default() -> Self {
                $t::new(0)
            }
        }

        /// Microseconds in a tuple form, as when the field was a plain integer.
        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_tuple(stringify!($t)).field(&self.us()).finish()
            }
        }
    };
}
microsecond_units!(Instant);
microsecond_units!(Duration);

impl Instant {
    /// The start of the world.
    pub const ZERO: Instant = Instant::new(0);
    /// The end of time: a deadline that never fires.
    pub const MAX: Instant = Instant::new(u64::MAX);

    /// Time elapsed since `earlier`, zero if `earlier` is later.
    pub const fn saturating_since(self, earlier: Instant) -> Duration {
        Duration::new(self.us().saturating_sub(earlier.us()))
    }
}

impl Duration {
    pub const ZERO: Duration = Duration::new(0);
    pub const MAX: Duration = Duration::new(u64::MAX);

    pub const fn saturating_mul(self, k: u64) -> Duration {
        Duration::new(self.us().saturating_mul(k))
    }
    pub const fn saturating_sub(self, other: Duration) -> Duration {
        Duration::new(self.us().saturating_sub(other.us()))
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, d: Duration) -> Instant {
        Instant::new(self.us().saturating_add(d.us()))
    }
}
impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, d: Duration) {
        *self = Self::new(self.us().saturating_add(d.us()));
    }
}
impl Sub<Duration> for Instant {
    type Output = Instant;
    fn sub(self, d: Duration) -> Instant {
        Instant::new(self.us().saturating_sub(d.us()))
    }
}
impl Sub<Instant> for Instant {
    type Output = Duration;
    fn sub(self, earlier: Instant) -> Duration {
        self.saturating_since(earlier)
    }
}
impl Add for Duration {
    type Output = Duration;
    fn add(self, d: Duration) -> Duration {
        Duration::new(self.us().saturating_add(d.us()))
    }
}
impl AddAssign for Duration {
    fn add_assign(&mut self, d: Duration) {
        *self = Self::new(self.us().saturating_add(d.us()));
    }
}
impl Sub for Duration {
    type Output = Duration;
    fn sub(self, d: Duration) -> Duration {
        self.saturating_sub(d)
    }
}
impl Mul<u64> for Duration {
    type Output = Duration;
    fn mul(self, k: u64) -> Duration {
        self.saturating_mul(k)
    }
}

/// Prints seconds with microsecond precision: `12.000345s`.
impl fmt::Display for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:06}s", self.us() / 1_000_000, self.us() % 1_000_000)
    }
}
impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:06}s", self.us() / 1_000_000, self.us() % 1_000_000)
    }
}

/// Why a text is not a [`Duration`] (see its [`FromStr`](core::str::FromStr) impl).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParseDurationError {
    /// A number without a unit (`10`): seconds or milliseconds would be a guess.
    MissingUnit(String),
    /// A unit other than us, ms, s, m/min, h.
    UnknownUnit { text: String, unit: String },
    /// The number part is not a decimal number.
    NotANumber { text: String, number: String },
    /// More precise than a microsecond (`1.0000001s`).
    TooFine(String),
    /// Does not fit in 64 bits of microseconds.
    OutOfRange(String),
}

impl fmt::Display for ParseDurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingUnit(t) => write!(f, "bad duration `{t}`: missing unit (e.g. `120s`)"),
            Self::UnknownUnit { text, unit } => write!(
                f,
                "bad duration `{text}`: unknown unit `{unit}` (use us, ms, s, min, h)"
            ),
            Self::NotANumber { text, number } => {
                write!(f, "bad duration `{text}`: `{number}` is not a number")
            }
            Self::TooFine(t) => write!(f, "bad duration `{t}`: finer than a microsecond"),
            Self::OutOfRange(t) => write!(f, "bad duration `{t}`: out of range"),
        }
    }
}

impl std::error::Error for ParseDurationError {}

/// Parses `300s`, `250ms`, `1.5s`, `.5s`, `100us` (or `µs`), `2m` (or `2min`), `2h`: a decimal
/// number and a unit, exact to the microsecond (no floating point). The one duration syntax of
/// profiles, knobs, scenarios and the command line.
impl core::str::FromStr for Duration {
    type Err = ParseDurationError;

    fn from_str(s: &str) -> Result<Duration, ParseDurationError> {
        let text = s.trim();
        let split = text
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(text.len());
        let (num, unit) = text.split_at(split);
        let unit = unit.trim();
        let scale: u64 = match unit {
            "" => return Err(ParseDurationError::MissingUnit(text.into())),
            "us" | "µs" => 1,
            "ms" => 1_000,
            "s" => 1_000_000,
            "m" | "min" => 60_000_000,
            "h" => 3_600_000_000,
            _ => {
                return Err(ParseDurationError::UnknownUnit {
                    text: text.into(),
                    unit: unit.into(),
                })
            }
        };
        let not_a_number = || ParseDurationError::NotANumber {
            text: text.into(),
            number: num.into(),
        };
        let (int, frac) = num.split_once('.').unwrap_or((num, ""));
        if (int.is_empty() && frac.is_empty()) || frac.contains('.') {
            return Err(not_a_number());
        }
        let out_of_range = || ParseDurationError::OutOfRange(text.into());
        let int: u64 = if int.is_empty() {
            0
        } else {
            int.parse().map_err(|_| out_of_range())?
        };
        let mut micros = int.checked_mul(scale).ok_or_else(out_of_range)?;
        let mut place = scale;
        for c in frac.chars() {
            let d = u64::from(c.to_digit(10).ok_or_else(not_a_number)?);
            place /= 10;
            if place == 0 {
                if d != 0 {
                    return Err(ParseDurationError::TooFine(text.into()));
                }
                continue;
            }
            micros = micros.checked_add(d * place).ok_or_else(out_of_range)?;
        }
        Ok(Duration::new(micros))
    }
}

/// Something a layer logged, with the time it happened. Each layer owns its event type
/// (`ArpEvent`, `IpEvent`, `TcpEvent`) and logs `Timed<ItsEvent>`; the host wraps them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timed<E> {
    pub time: Instant,
    pub event: E,
}

impl<E> Timed<E> {
    /// The same event converted into a wider event type (e.g. an ARP event into an interface
    /// event).
    pub fn map_into<F: From<E>>(self) -> Timed<F> {
        Timed {
            time: self.time,
            event: F::from(self.event),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every TCB timer is an `Option<Instant>`: the niche keeps each at one word.
    #[test]
    fn optional_times_take_one_word() {
        assert_eq!(core::mem::size_of::<Option<Instant>>(), 8);
        assert_eq!(core::mem::size_of::<Option<Duration>>(), 8);
        assert_eq!(Instant::default(), Instant::ZERO);
        assert_eq!(format!("{:?}", Instant::from_micros(5)), "Instant(5)");
        assert_eq!(Instant::from_micros(u64::MAX), Instant::MAX);
        assert!(Instant::ZERO < Instant::from_micros(1));
    }

    #[test]
    fn arithmetic_saturates() {
        assert_eq!(Instant::MAX + Duration::from_secs(1), Instant::MAX);
        assert_eq!(Instant::ZERO - Duration::from_secs(1), Instant::ZERO);
        assert_eq!(
            Instant::from_secs(3) - Instant::from_secs(5),
            Duration::ZERO
        );
        assert_eq!(Duration::from_secs(75) * 9, Duration::from_secs(675));
    }

    #[test]
    fn durations_parse_exactly() {
        for (text, us) in [
            ("120s", 120_000_000),
            ("1.5s", 1_500_000),
            (".5s", 500_000),
            ("10min", 600_000_000),
            ("2m", 120_000_000),
            ("2h", 7_200_000_000),
            ("250ms", 250_000),
            ("75us", 75),
            ("75µs", 75),
            (" 3 s ", 3_000_000),
            ("1.0000000s", 1_000_000),
        ] {
            assert_eq!(text.parse(), Ok(Duration::from_micros(us)), "{text}");
        }
    }

    #[test]
    fn bad_durations_say_why() {
        for (text, why) in [
            ("10", "missing unit"),
            ("", "missing unit"),
            ("s", "`` is not a number"),
            ("1.2.3s", "`1.2.3` is not a number"),
            ("-1s", "unknown unit `-1s`"),
            ("5 parsecs", "unknown unit `parsecs`"),
            ("1e300s", "unknown unit `e300s`"),
            ("1.0000001s", "finer than a microsecond"),
            ("99999999999999999999s", "out of range"),
            ("9999999999h", "out of range"),
        ] {
            let e = text.parse::<Duration>().unwrap_err().to_string();
            assert!(e.contains(why), "{text}: {e}");
        }
    }

    #[test]
    fn display_is_seconds_with_micros() {
        assert_eq!(Instant::from_micros(12_000_345).to_string(), "12.000345s");
        assert_eq!(Duration::from_millis(1500).to_string(), "1.500000s");
    }
}
