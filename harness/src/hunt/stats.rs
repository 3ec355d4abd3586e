//! `harness hunt --stats`: where the time of a hunt went, per thread, counted by the program.
//!
//! Wall ratios between `--jobs 1` and `--jobs 2` depend on what else the machine runs; these
//! figures do not (much): the serial part (merging in draw order and the lock around the
//! generator), the work each thread did, the CPU time each thread used and the time it was
//! ready to run but waited for a core (Linux's `/proc/thread-self/schedstat`; absent
//! elsewhere). From the serial fraction `s`, Amdahl's law bounds the speed-up on N free cores
//! by `1 / (s + (1 - s) / N)`.

use std::fmt;
use std::time::Duration;

/// What one thread did.
#[derive(Clone, Debug, Default)]
pub struct ThreadStats {
    /// Cases it drew and ran.
    pub cases: u64,
    /// Time taking cases from the generator (its lock included).
    pub draw: Duration,
    /// Time running cases.
    pub run: Duration,
    /// Time shrinking (the earliest case of each group it saw), and how many it shrank.
    pub shrink: Duration,
    pub shrinks: u64,
    /// Time merging results in draw order and writing reproducers (the calling thread only).
    pub merge: Duration,
    /// Time waiting for other threads' results at the end (the calling thread only).
    pub idle: Duration,
    /// CPU time the thread used, and time it was runnable but waited for a core.
    pub cpu: Option<Duration>,
    pub waited_for_core: Option<Duration>,
}

/// Measures one thread from `start` to `finish`.
pub struct ThreadClock {
    pub stats: ThreadStats,
    sched: Option<(u64, u64)>,
}

impl ThreadClock {
    pub fn start() -> Self {
        ThreadClock {
            stats: ThreadStats::default(),
            sched: schedstat(),
        }
    }

    pub fn finish(mut self) -> ThreadStats {
        if let (Some((c0, w0)), Some((c1, w1))) = (self.sched, schedstat()) {
            self.stats.cpu = Some(Duration::from_nanos(c1.saturating_sub(c0)));
            self.stats.waited_for_core = Some(Duration::from_nanos(w1.saturating_sub(w0)));
        }
        self.stats
    }
}

/// The calling thread's CPU time and run-queue wait so far, in ns (Linux only).
fn schedstat() -> Option<(u64, u64)> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    parse_schedstat(&s)
}

/// `/proc/<pid>/task/<tid>/schedstat`: "time on cpu (ns) time waiting on a runqueue (ns)
/// timeslices".
fn parse_schedstat(s: &str) -> Option<(u64, u64)> {
    let mut it = s.split_whitespace().map(str::parse::<u64>);
    Some((it.next()?.ok()?, it.next()?.ok()?))
}

/// Where a whole hunt's time went.
#[derive(Clone, Debug, Default)]
pub struct HuntStats {
    pub wall: Duration,
    /// The calling thread (which also merges) first, then the other workers.
    pub threads: Vec<ThreadStats>,
    /// Shrinks the merge used; the rest were speculative (a later case of a group finished
    /// before its earliest one) and wasted.
    pub shrinks_used: u64,
}

impl HuntStats {
    /// Work that runs one thread at a time: merging in order, and drawing (the generator's lock;
    /// an upper bound, since it counts waiting for the lock too).
    pub fn serial(&self) -> Duration {
        self.threads.iter().map(|t| t.merge + t.draw).sum()
    }

    /// Work done on any thread: drawing, running, shrinking, merging.
    pub fn work(&self) -> Duration {
        self.threads
            .iter()
            .map(|t| t.draw + t.run + t.shrink + t.merge)
            .sum()
    }

    /// The serial fraction of the work (0 when there was none).
    pub fn serial_fraction(&self) -> f64 {
        let w = self.work().as_secs_f64();
        if w > 0.0 {
            self.serial().as_secs_f64() / w
        } else {
            0.0
        }
    }

    fn cpu(&self) -> Option<Duration> {
        self.threads.iter().map(|t| t.cpu).sum()
    }
}

fn secs(d: Duration) -> String {
    format!("{:.3} s", d.as_secs_f64())
}

impl fmt::Display for HuntStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cases: u64 = self.threads.iter().map(|t| t.cases).sum();
        let shrinks: u64 = self.threads.iter().map(|t| t.shrinks).sum();
        writeln!(
            f,
            "stats: wall {}, {} threads, {cases} cases ({:.0} runs/s)",
            secs(self.wall),
            self.threads.len(),
            cases as f64 / self.wall.as_secs_f64().max(1e-9)
        )?;
        for (n, t) in self.threads.iter().enumerate() {
            let role = if n == 0 { " (also merges)" } else { "" };
            write!(
                f,
                "  thread {n}{role}: {} cases, run {}, shrink {} ({} shrinks), draw {}, merge {}, \
                 idle at the end {}",
                t.cases,
                secs(t.run),
                secs(t.shrink),
                t.shrinks,
                secs(t.draw),
                secs(t.merge),
                secs(t.idle)
            )?;
            if let (Some(c), Some(w)) = (t.cpu, t.waited_for_core) {
                write!(f, ", cpu {}, waited for a core {}", secs(c), secs(w))?;
            }
            writeln!(f)?;
        }
        let s = self.serial_fraction();
        let n = self.threads.len().max(1) as f64;
        writeln!(
            f,
            "  serial (merge + draw): {} of {} work = {:.2} %; Amdahl bound on {} free cores: {:.2}x",
            secs(self.serial()),
            secs(self.work()),
            100.0 * s,
            self.threads.len(),
            1.0 / (s + (1.0 - s) / n)
        )?;
        writeln!(
            f,
            "  shrinks: {shrinks} done, {} used, {} speculative and wasted",
            self.shrinks_used,
            shrinks.saturating_sub(self.shrinks_used)
        )?;
        // On free cores a thread's wall time is its CPU time (plus a little waiting for the
        // others at the end): the busiest thread bounds the wall time from below.
        if let Some(busiest) = self.threads.iter().filter_map(|t| t.cpu).max() {
            writeln!(
                f,
                "  busiest thread's cpu {} (the wall time on {} free cores, within its idle time)",
                secs(busiest),
                self.threads.len()
            )?;
        }
        if let Some(cpu) = self.cpu() {
            writeln!(
                f,
                "  cpu {} = {:.3} ms per case",
                secs(cpu),
                1e3 * cpu.as_secs_f64() / cases.max(1) as f64
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedstat_lines_parse() {
        assert_eq!(parse_schedstat("123456 7890 42\n"), Some((123_456, 7_890)));
        assert_eq!(parse_schedstat(""), None);
        assert_eq!(parse_schedstat("x 1 2"), None);
    }

    #[test]
    fn the_serial_fraction_counts_merge_and_draw() {
        let ms = Duration::from_millis;
        let st = HuntStats {
            wall: ms(100),
            threads: vec![
                ThreadStats {
                    cases: 10,
                    draw: ms(1),
                    run: ms(90),
                    merge: ms(9),
                    ..ThreadStats::default()
                },
                ThreadStats {
                    cases: 10,
                    draw: ms(0),
                    run: ms(80),
                    shrink: ms(20),
                    shrinks: 1,
                    ..ThreadStats::default()
                },
            ],
            shrinks_used: 1,
        };
        assert_eq!(st.serial(), ms(10));
        assert_eq!(st.work(), ms(200));
        assert!((st.serial_fraction() - 0.05).abs() < 1e-9);
        let text = st.to_string();
        assert!(text.contains("= 5.00 %"), "{text}");
        // 1 / (0.05 + 0.95 / 2) = 1.905
        assert!(text.contains("1.90x"), "{text}");
        assert!(text.contains("1 done, 1 used, 0 speculative"), "{text}");
    }
}
