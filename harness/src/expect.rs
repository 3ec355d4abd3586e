//! Per-stack expectations (`conformance/expectations/<stack>.toml`), in the spirit of
//! BoringSSL's BoGo shim configuration: for every script or scenario where a third-party stack
//! diverges from what the file expects, the observed outcome, the RFC requirement and one line
//! why. An unlisted divergence fails; a listed one that no longer happens fails too, so the
//! list stays true.
//!
//! ```toml
//! stack = "smoltcp"
//!
//! [[divergence]]
//! file = "scripts/rfc9293/3.10.8-time-wait-timeout-2msl.pkt"  # path suffix
//! profile = "rfc9293"                  # optional: every profile when absent
//! observed = "expected outbound packet by 1.104000, but the stack sent nothing"
//! requirement = "RFC 9293 §3.10.8 MUST-13: TIME-WAIT lasts 2·MSL"
//! reason = "smoltcp's TIME-WAIT is a fixed 10 s (CLOSE_DELAY)"
//! kind = "stack-defect"                # stack-defect | design-choice
//! ```
//!
//! `observed` must occur in the run's failure text: a file that fails *differently* is still
//! unexpected. `varies = "why"` marks an entry whose file also passes in some runs of a stack on
//! the wall clock; such a pass does not fail.
//!
//! A feature the stack lacks altogether (a knob it cannot set, a socket call it does not have) is
//! listed once, not per file. A run stopped by it stays `unsupported` but no longer fails:
//!
//! ```toml
//! [[unsupported]]
//! feature = "tcp.time_wait_rst"        # occurs in the unsupported feature's text
//! reason = "smoltcp's TIME-WAIT always closes on an in-window RST"
//! ```

use crate::location::{Diagnostic, Location};
use crate::outcome::{FileResult, Outcome};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use toml::Spanned;

/// How a listed divergence is judged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DivergenceKind {
    /// The stack breaks the requirement (a defect to report upstream).
    StackDefect,
    /// The stack chose another behaviour the RFCs allow, or a documented limitation.
    DesignChoice,
}

/// One listed divergence.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Divergence {
    pub file: String,
    #[serde(default)]
    pub profile: Option<String>,
    pub observed: String,
    pub requirement: String,
    pub reason: String,
    pub kind: DivergenceKind,
    /// Set (with why) when a stack on the wall clock passes in some runs and diverges as
    /// listed in others (a kernel timer landing on the script's own timeline): a pass is then
    /// no reason to drop the entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub varies: Option<String>,
}

/// One feature the stack lacks: runs that stop on it are `unsupported` but listed.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Lacking {
    /// Occurs in the unsupported feature's text.
    pub feature: String,
    pub reason: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSpec {
    stack: Spanned<String>,
    #[serde(default)]
    divergence: Vec<Spanned<Divergence>>,
    #[serde(default)]
    unsupported: Vec<Spanned<Lacking>>,
}

/// A loaded expectations file.
#[derive(Clone, Debug, Default)]
pub struct Expectations {
    /// Where it came from (for messages).
    pub path: String,
    /// Each divergence with the line it starts on.
    pub entries: Vec<(u32, Divergence)>,
    /// Each feature the stack lacks, with the line it starts on.
    pub lacking: Vec<(u32, Lacking)>,
}

/// Bad expectations file: `file:line:col: what` (or `file: what` when it cannot be read).
pub type ExpectError = Diagnostic;

impl Expectations {
    /// Parses an expectations file for `stack`.
    pub fn parse(file: &str, text: &str, stack: &str) -> Result<Expectations, ExpectError> {
        let err =
            |at: usize, msg: String| Diagnostic::at(Location::from_offset(file, text, at), msg);
        let spec: FileSpec = toml::from_str(text)
            .map_err(|e| err(e.span().map_or(0, |s| s.start), e.message().to_string()))?;
        if spec.stack.get_ref() != stack {
            return Err(err(
                spec.stack.span().start,
                format!(
                    "this file lists divergences of `{}`, not `{stack}`",
                    spec.stack.get_ref()
                ),
            ));
        }
        let mut entries = Vec::new();
        for d in spec.divergence {
            let at = d.span().start;
            let line = Location::from_offset(file, text, at).line;
            let d = d.into_inner();
            for (name, v) in [
                ("file", &d.file),
                ("observed", &d.observed),
                ("requirement", &d.requirement),
                ("reason", &d.reason),
            ] {
                if v.trim().is_empty() {
                    return Err(err(at, format!("divergence has an empty `{name}`")));
                }
            }
            entries.push((line, d));
        }
        let mut lacking = Vec::new();
        for l in spec.unsupported {
            let at = l.span().start;
            let line = Location::from_offset(file, text, at).line;
            let l = l.into_inner();
            for (name, v) in [("feature", &l.feature), ("reason", &l.reason)] {
                if v.trim().is_empty() {
                    return Err(err(at, format!("unsupported entry has an empty `{name}`")));
                }
            }
            lacking.push((line, l));
        }
        Ok(Expectations {
            path: file.to_string(),
            entries,
            lacking,
        })
    }

    /// Loads `<dir>/expectations/<stack>.toml` from the first of `paths` (or their ancestors)
    /// that has one; `Ok(None)` when none does.
    pub fn find(paths: &[PathBuf], stack: &str) -> Result<Option<Expectations>, ExpectError> {
        for p in paths {
            let start = if p.is_dir() {
                p.as_path()
            } else {
                p.parent().unwrap_or(p)
            };
            for dir in start.ancestors() {
                let f = dir.join("expectations").join(format!("{stack}.toml"));
                if f.is_file() {
                    return Self::load(&f, stack).map(Some);
                }
            }
        }
        Ok(None)
    }

    /// Loads one expectations file.
    pub fn load(path: &Path, stack: &str) -> Result<Expectations, ExpectError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| Diagnostic::file(&file, format!("cannot read: {e}")))?;
        Self::parse(&file, &text, stack)
    }

    fn entry_for(&self, r: &FileResult) -> Option<&(u32, Divergence)> {
        let file = r.file.replace('\\', "/");
        self.entries.iter().find(|(_, d)| {
            file.ends_with(&d.file)
                && d.profile
                    .as_ref()
                    .is_none_or(|p| r.profile.as_deref() == Some(p.as_str()))
        })
    }

    /// Judges every result against the list: a run that failed as listed becomes a listed
    /// divergence (not a failure); one that fails otherwise, or passes although listed, fails.
    /// A run stopped by a feature the list says the stack lacks is marked listed (it no longer
    /// fails the run).
    pub fn apply(&self, results: &mut [FileResult]) {
        for r in results.iter_mut() {
            if let Outcome::Unsupported {
                feature, listed, ..
            } = &mut r.outcome
            {
                if let Some((line, l)) = self
                    .lacking
                    .iter()
                    .find(|(_, l)| feature.contains(&l.feature))
                {
                    *listed = Some(format!("{} ({}:{line})", l.reason, self.path));
                }
            }
            let Some((line, d)) = self.entry_for(r) else {
                continue;
            };
            let at = format!("{}:{line}", self.path);
            match r.outcome {
                Outcome::Pass if d.varies.is_some() => {}
                Outcome::Pass => {
                    r.outcome = Outcome::Fail;
                    r.failures.push(format!(
                        "listed divergence no longer happens ({at}): remove it from the list"
                    ));
                }
                Outcome::Fail if r.failures.iter().any(|f| f.contains(&d.observed)) => {
                    r.outcome = Outcome::ListedDivergence {
                        divergence: d.clone(),
                    };
                }
                Outcome::Fail => r.failures.push(format!(
                    "diverged otherwise than listed at {at} (listed: {})",
                    d.observed
                )),
                // Not run, or broken: nothing to compare with the list.
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"stack = "smoltcp"

[[divergence]]
file = "rfc9293/a.pkt"
observed = "sent nothing"
requirement = "RFC 9293 §3.10.8"
reason = "fixed 10 s TIME-WAIT"
kind = "stack-defect"
"#;

    fn result(file: &str, passed: bool, failure: &str) -> FileResult {
        FileResult {
            kind: "script",
            name: "a".into(),
            file: file.into(),
            group: "rfc9293".into(),
            profile: Some("rfc9293".into()),
            stack: "smoltcp".into(),
            outcome: if passed { Outcome::Pass } else { Outcome::Fail },
            notes: Vec::new(),
            failures: if failure.is_empty() {
                Vec::new()
            } else {
                vec![failure.into()]
            },
            findings: Vec::new(),
            findings_expected: false,
            cannot_judge: Vec::new(),
            pcaps: Vec::new(),
        }
    }

    #[test]
    fn listed_failure_is_a_divergence_and_other_failures_stay_failures() {
        let e = Expectations::parse("e.toml", GOOD, "smoltcp").unwrap();
        let mut rs = vec![
            result(
                "conformance/scripts/rfc9293/a.pkt",
                false,
                "x: sent nothing",
            ),
            result(
                "conformance/scripts/rfc9293/b.pkt",
                false,
                "x: sent nothing",
            ),
        ];
        e.apply(&mut rs);
        assert!(matches!(rs[0].outcome, Outcome::ListedDivergence { .. }));
        assert_eq!(rs[1].outcome, Outcome::Fail);
    }

    #[test]
    fn listed_divergence_that_no_longer_happens_fails() {
        let e = Expectations::parse("e.toml", GOOD, "smoltcp").unwrap();
        let mut rs = vec![result("conformance/scripts/rfc9293/a.pkt", true, "")];
        e.apply(&mut rs);
        assert_eq!(rs[0].outcome, Outcome::Fail);
        assert!(
            rs[0].failures[0].contains("e.toml:3"),
            "{:?}",
            rs[0].failures
        );
    }

    #[test]
    fn an_entry_that_varies_accepts_a_pass_and_still_rejects_other_failures() {
        let varies = GOOD.replace(
            "kind = \"stack-defect\"",
            "kind = \"stack-defect\"\nvaries = \"a timer meets the script's timeline\"",
        );
        let e = Expectations::parse("e.toml", &varies, "smoltcp").unwrap();
        let mut rs = vec![
            result("conformance/scripts/rfc9293/a.pkt", true, ""),
            result(
                "conformance/scripts/rfc9293/a.pkt",
                false,
                "x: sent nothing",
            ),
            result("conformance/scripts/rfc9293/a.pkt", false, "x: RST"),
        ];
        e.apply(&mut rs);
        assert_eq!(rs[0].outcome, Outcome::Pass);
        assert!(matches!(rs[1].outcome, Outcome::ListedDivergence { .. }));
        assert_eq!(rs[2].outcome, Outcome::Fail);
    }

    #[test]
    fn failing_otherwise_than_listed_fails() {
        let e = Expectations::parse("e.toml", GOOD, "smoltcp").unwrap();
        let mut rs = vec![result("conformance/scripts/rfc9293/a.pkt", false, "x: RST")];
        e.apply(&mut rs);
        assert_eq!(rs[0].outcome, Outcome::Fail);
    }

    #[test]
    fn unsupported_fails_unless_the_stack_is_listed_as_lacking_it() {
        let listed = format!(
            "{GOOD}\n[[unsupported]]\nfeature = \"tcp.time_wait_rst\"\nreason = \"always closes\"\n"
        );
        let e = Expectations::parse("e.toml", &listed, "smoltcp").unwrap();
        let unsupported = |feature: &str| {
            let mut r = result("conformance/scripts/rfc9293/c.pkt", false, "");
            r.outcome = Outcome::Unsupported {
                feature: feature.into(),
                location: None,
                listed: None,
            };
            r
        };
        let mut rs = vec![
            unsupported("smoltcp cannot set tcp.time_wait_rst=ignore"),
            unsupported("shell command"),
        ];
        assert_eq!(rs[0].outcome.exit_code(), 1);
        e.apply(&mut rs);
        match &rs[0].outcome {
            Outcome::Unsupported {
                listed: Some(why), ..
            } => assert!(why.contains("always closes (e.toml:10)"), "{why}"),
            o => panic!("not listed: {o:?}"),
        }
        assert_eq!(rs[0].outcome.exit_code(), 0);
        assert_eq!(rs[1].outcome.exit_code(), 1);
        let empty = listed.replace("reason = \"always closes\"", "reason = \"\"");
        let err = Expectations::parse("e.toml", &empty, "smoltcp").unwrap_err();
        assert!(err.to_string().starts_with("e.toml:10:"), "{err}");
    }

    #[test]
    fn bad_files_are_errors_with_location() {
        let e = Expectations::parse("e.toml", GOOD, "linux").unwrap_err();
        assert_eq!(e.location.as_ref().map(|l| l.line), Some(1));
        let bad = GOOD.replace("kind = \"stack-defect\"", "kind = \"bug\"");
        let e = Expectations::parse("e.toml", &bad, "smoltcp").unwrap_err();
        assert!(e.to_string().starts_with("e.toml:"), "{e}");
        let empty = GOOD.replace("reason = \"fixed 10 s TIME-WAIT\"", "reason = \" \"");
        let e = Expectations::parse("e.toml", &empty, "smoltcp").unwrap_err();
        assert!(e.message.contains("empty `reason`"), "{e}");
    }
}
