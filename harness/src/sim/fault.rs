//! Impairments as a chain of rules (turmoil's shape): each frame on a segment passes every rule in
//! order; the first `Drop` wins, delays add up, duplicates are delivered once more.

use stack::rand::Rng;
use stack::{Duration, Instant};

/// What a rule decides for one frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    /// Deliver, but this much later than the segment's base delay.
    Delay(Duration),
    /// Deliver twice (the copy `Duration` later).
    Duplicate(Duration),
    Drop(String),
}

/// An impairment on a segment.
#[derive(Clone, Debug, PartialEq)]
pub enum Rule {
    /// Drop each frame with probability `p`.
    Loss { p: f64 },
    /// Duplicate each frame with probability `p`.
    Duplicate { p: f64 },
    /// Hold a frame back by `extra` with probability `p` (reordering it behind later frames).
    Reorder { p: f64, extra: Duration },
    /// Drop every frame between `from` (inclusive) and `until` (exclusive).
    Outage { from: Instant, until: Instant },
    /// Drop the n-th frame (1-based) on the segment, and only it.
    DropNth { n: usize },
}

impl Rule {
    /// Applies the rule to frame number `number` at `now`. Draws from `rng` only for
    /// probabilistic rules, always exactly once for them, so the draw order is fixed.
    pub fn on_frame(&self, now: Instant, number: usize, rng: &mut Rng) -> Verdict {
        match *self {
            Rule::Loss { p } => {
                if rng.chance(p) {
                    Verdict::Drop("loss".into())
                } else {
                    Verdict::Pass
                }
            }
            Rule::Duplicate { p } => {
                if rng.chance(p) {
                    Verdict::Duplicate(Duration::from_micros(100))
                } else {
                    Verdict::Pass
                }
            }
            Rule::Reorder { p, extra } => {
                if rng.chance(p) {
                    Verdict::Delay(extra)
                } else {
                    Verdict::Pass
                }
            }
            Rule::Outage { from, until } => {
                if now >= from && now < until {
                    Verdict::Drop("outage".into())
                } else {
                    Verdict::Pass
                }
            }
            Rule::DropNth { n } => {
                if number == n {
                    Verdict::Drop(format!("drop frame {n}"))
                } else {
                    Verdict::Pass
                }
            }
        }
    }
}

/// The combined outcome of a chain for one frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub dropped: Option<String>,
    pub delay: Duration,
    pub duplicate: Option<Duration>,
}

/// Runs `rules` in order for one frame.
pub fn apply(rules: &[Rule], now: Instant, number: usize, rng: &mut Rng) -> Outcome {
    let mut out = Outcome {
        dropped: None,
        delay: Duration::ZERO,
        duplicate: None,
    };
    for r in rules {
        match r.on_frame(now, number, rng) {
            Verdict::Pass => {}
            Verdict::Delay(d) => out.delay += d,
            Verdict::Duplicate(d) => out.duplicate = Some(d),
            Verdict::Drop(why) => {
                if out.dropped.is_none() {
                    out.dropped = Some(why);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outage_drops_only_inside_window() {
        let rules = [Rule::Outage {
            from: Instant::from_secs(10),
            until: Instant::from_secs(20),
        }];
        let mut rng = Rng::new(1);
        assert!(apply(&rules, Instant::from_secs(9), 1, &mut rng)
            .dropped
            .is_none());
        assert!(apply(&rules, Instant::from_secs(10), 2, &mut rng)
            .dropped
            .is_some());
        assert!(apply(&rules, Instant::from_secs(20), 3, &mut rng)
            .dropped
            .is_none());
    }

    #[test]
    fn loss_rate_is_roughly_p_and_deterministic() {
        let rules = [Rule::Loss { p: 0.05 }];
        let run = |seed| {
            let mut rng = Rng::new(seed);
            (0..10_000)
                .filter(|i| apply(&rules, Instant::ZERO, *i, &mut rng).dropped.is_some())
                .count()
        };
        let n = run(3);
        assert_eq!(n, run(3));
        assert!((400..600).contains(&n), "{n}");
    }

    #[test]
    fn drop_nth_drops_exactly_one() {
        let rules = [Rule::DropNth { n: 3 }];
        let mut rng = Rng::new(1);
        let dropped: Vec<usize> = (1..10)
            .filter(|i| apply(&rules, Instant::ZERO, *i, &mut rng).dropped.is_some())
            .collect();
        assert_eq!(dropped, vec![3]);
    }
}
