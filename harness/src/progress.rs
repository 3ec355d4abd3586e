//! Progress of long work (hunts, benchmarks, whole-suite runs, big captures): a bar on stderr
//! when stderr is a terminal, nothing while the work runs otherwise, and one summary line at the
//! end either way (unless the user asked for quiet).
//!
//! ```no_run
//! use harness::progress::{Progress, Verbosity};
//! let p = Progress::new("run", Some(170), Verbosity::Normal);
//! for _ in 0..170 {
//!     p.inc(1);
//! }
//! p.finish("170 files, 168 passed, 2 failed");
//! ```
//!
//! The bar never writes to stdout, so a report piped into a file or `jq` stays clean, and it
//! draws nothing when stderr is redirected, so CI logs do not fill with carriage returns.

use std::io::IsTerminal;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How much a command says about its progress.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Verbosity {
    /// A bar while working when stderr is a terminal; the summary line at the end.
    #[default]
    Normal,
    /// Nothing on stderr: no bar, no summary (`--quiet`).
    Quiet,
}

impl Verbosity {
    /// `Quiet` when `quiet` is set.
    pub fn from_quiet(quiet: bool) -> Self {
        if quiet {
            Verbosity::Quiet
        } else {
            Verbosity::Normal
        }
    }
}

/// A progress report for one piece of long work. Cheap to update from several threads (`&self`).
#[derive(Debug)]
pub struct Progress {
    what: String,
    bar: Option<ProgressBar>,
    verbosity: Verbosity,
    started: Instant,
}

impl Progress {
    /// Starts reporting on `what` (`"hunt rst-loss"`, `"run"`), with `total` steps when known
    /// (a bar) or a spinner with a counter when not.
    pub fn new(what: &str, total: Option<u64>, verbosity: Verbosity) -> Self {
        let draw = verbosity == Verbosity::Normal && std::io::stderr().is_terminal();
        Progress::with_target(what, total, verbosity, draw)
    }

    /// As [`Progress::new`], with the terminal decision made by the caller (tests).
    fn with_target(what: &str, total: Option<u64>, verbosity: Verbosity, draw: bool) -> Self {
        let bar = draw.then(|| {
            let bar = match total {
                Some(n) => ProgressBar::with_draw_target(Some(n), ProgressDrawTarget::stderr()),
                None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
            };
            let template = if total.is_some() {
                "{prefix} [{bar:30}] {pos}/{len} {msg} ({elapsed}, eta {eta})"
            } else {
                "{prefix} {spinner} {pos} {msg} ({elapsed})"
            };
            if let Ok(style) = ProgressStyle::with_template(template) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.set_prefix(what.to_string());
            bar.enable_steady_tick(std::time::Duration::from_millis(200));
            bar
        });
        Progress {
            what: what.to_string(),
            bar,
            verbosity,
            started: Instant::now(),
        }
    }

    /// Whether a bar is being drawn.
    pub fn is_drawn(&self) -> bool {
        self.bar.is_some()
    }

    /// `n` more steps done.
    pub fn inc(&self, n: u64) {
        if let Some(b) = &self.bar {
            b.inc(n);
        }
    }

    /// The position outright (for budgets measured in time or in runs).
    pub fn set_position(&self, pos: u64) {
        if let Some(b) = &self.bar {
            b.set_position(pos);
        }
    }

    /// Short text after the counter (`"3 distinct findings"`).
    pub fn set_message(&self, msg: impl Into<String>) {
        if let Some(b) = &self.bar {
            b.set_message(msg.into());
        }
    }

    /// Removes the bar and prints `what: summary (elapsed)` on stderr, unless quiet.
    pub fn finish(self, summary: &str) {
        if let Some(line) = self.summary_line(summary) {
            eprintln!("{line}");
        }
    }

    /// Removes the bar without a summary (for commands whose stdout report already ends in one).
    pub fn clear(self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }

    /// The summary line [`Progress::finish`] prints (None when quiet); clears the bar.
    fn summary_line(&self, summary: &str) -> Option<String> {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
        (self.verbosity == Verbosity::Normal).then(|| {
            format!(
                "{}: {summary} ({:.1} s)",
                self.what,
                self.started.elapsed().as_secs_f64()
            )
        })
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        // An early return (an error) must not leave a half-drawn bar behind.
        if let Some(b) = &self.bar {
            if !b.is_finished() {
                b.finish_and_clear();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_bar_unless_drawing_and_summary_unless_quiet() {
        let p = Progress::with_target("hunt", Some(10), Verbosity::Normal, false);
        assert!(!p.is_drawn());
        p.inc(3);
        p.set_message("1 finding");
        let line = p.summary_line("10 runs, 1 finding").expect("summary");
        assert!(line.starts_with("hunt: 10 runs, 1 finding ("), "{line}");
        assert!(line.ends_with(" s)"), "{line}");

        let q = Progress::with_target("hunt", None, Verbosity::Quiet, false);
        assert_eq!(q.summary_line("x"), None);
    }

    #[test]
    fn a_drawn_bar_is_cleared_at_the_end() {
        // Drawing to stderr in a test is harmless: the target is hidden when not a terminal.
        let p = Progress::with_target("run", Some(2), Verbosity::Normal, true);
        assert!(p.is_drawn());
        p.inc(2);
        let _ = p.summary_line("2 files");
        assert!(p.bar.as_ref().is_some_and(ProgressBar::is_finished));
    }
}
