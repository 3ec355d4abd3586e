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
//! line = 20                            # the line of the first failure
//! mismatch = "nothing-sent"            # which expectation failed (see below)
//! requirement = "RFC 9293 §3.10.8 MUST-13: TIME-WAIT lasts 2·MSL"
//! reason = "smoltcp's TIME-WAIT is a fixed 10 s (CLOSE_DELAY)"
//! kind = "stack-defect"                # stack-defect | design-choice
//! ```
//!
//! The run's first failure must be of kind `mismatch` ([`MismatchKind`]: `packet-differs`,
//! `packet-early`, `packet-partial`, `nothing-sent`, `unexpected-packet`, `call-result`,
//! `call-timing`, `state`, `finding`, `stalled`) at `line` (optional); for `packet-differs`,
//! `fields = ["flags", "win"]` (optional) names exactly the header fields that differed. A
//! file that fails *differently* is still unexpected. `observed = "text"` (optional) must also
//! occur in the failure text: the fallback for an entry whose failure is not known structurally
//! (`mismatch` or `observed` is required). `varies = "why"` marks an entry whose file also
//! passes in some runs of a stack on the wall clock; such a pass does not fail.
//!
//! A feature the stack lacks altogether (a knob it cannot set, a socket call it does not have) is
//! listed once, not per file. A run stopped by it stays `unsupported` but no longer fails:
//!
//! ```toml
//! [[unsupported]]
//! feature = "tcp.time_wait_rst"        # occurs in the unsupported feature's text
//! reason = "smoltcp's TIME-WAIT always closes on an in-window RST"
//! ```

mod failure;

pub use failure::{Failure, MismatchKind};

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
    /// The line of the run's first failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// Which expectation failed first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mismatch: Option<MismatchKind>,
    /// For `packet-differs`: exactly the fields that differed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fields: Option<Vec<String>>,
    /// Text that must occur in a failure (the fallback where the structure is unknown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed: Option<String>,
    pub requirement: String,
    pub reason: String,
    pub kind: DivergenceKind,
    /// Set (with why) when a stack on the wall clock passes in some runs and diverges as
    /// listed in others (a kernel timer landing on the script's own timeline): a pass is then
    /// no reason to drop the entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub varies: Option<String>,
}

impl Divergence {
    /// Does the run's failure list match this entry? Its first failure has the listed kind,
    /// line and fields (those given), and `observed` occurs in some failure (if given).
    pub fn matches(&self, failures: &[String]) -> bool {
        let first = failures.first().and_then(|f| Failure::parse(f));
        let structured = self.mismatch.is_none_or(|k| {
            first.as_ref().is_some_and(|f| {
                f.kind == k
                    && self.line.is_none_or(|l| f.line == Some(l))
                    && self.fields.as_ref().is_none_or(|fs| *fs == f.fields)
            })
        });
        let observed = self
            .observed
            .as_ref()
            .is_none_or(|o| failures.iter().any(|f| f.contains(o.as_str())));
        structured && observed
    }

    /// `line 15 packet-differs [flags, win]`, for messages.
    pub fn describe(&self) -> String {
        describe(
            self.line,
            self.mismatch,
            self.fields.as_ref(),
            self.observed.as_deref(),
        )
    }
}

fn describe(
    line: Option<u32>,
    kind: Option<MismatchKind>,
    fields: Option<&Vec<String>>,
    observed: Option<&str>,
) -> String {
    let mut parts = Vec::new();
    if let Some(l) = line {
        parts.push(format!("line {l}"));
    }
    if let Some(k) = kind {
        parts.push(k.name().to_string());
    }
    if let Some(f) = fields {
        parts.push(format!("[{}]", f.join(", ")));
    }
    if let Some(o) = observed {
        parts.push(format!("\"{o}\""));
    }
    parts.join(" ")
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
                ("file", Some(&d.file)),
                ("observed", d.observed.as_ref()),
                ("requirement", Some(&d.requirement)),
                ("reason", Some(&d.reason)),
            ] {
                if v.is_some_and(|v| v.trim().is_empty()) {
                    return Err(err(at, format!("divergence has an empty `{name}`")));
                }
            }
            if d.mismatch.is_none() && d.observed.is_none() {
                return Err(err(
                    at,
                    "divergence says neither `mismatch` (with `line`) nor `observed`: \
                     which failure does it list?"
                        .into(),
                ));
            }
            if d.mismatch.is_none() && (d.line.is_some() || d.fields.is_some()) {
                return Err(err(
                    at,
                    "`line` and `fields` need `mismatch` (the kind of failure at that line)".into(),
                ));
            }
            if d.fields.is_some() && d.mismatch != Some(MismatchKind::PacketDiffers) {
                return Err(err(
                    at,
                    "`fields` only goes with mismatch = \"packet-differs\"".into(),
                ));
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
                Outcome::Fail if d.matches(&r.failures) => {
                    r.outcome = Outcome::ListedDivergence {
                        divergence: d.clone(),
                    };
                }
                Outcome::Fail => {
                    let got = r.failures.first().and_then(|f| Failure::parse(f));
                    r.failures.push(format!(
                        "diverged otherwise than listed at {at} (listed: {}; got: {})",
                        d.describe(),
                        got.map_or("a failure of no known form".into(), |f| describe(
                            f.line,
                            Some(f.kind),
                            Some(&f.fields).filter(|v| !v.is_empty()),
                            None
                        ))
                    ))
                }
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
line = 20
mismatch = "nothing-sent"
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
                "a.pkt:20:1: expected outbound packet by 1.104000, but the stack sent nothing",
            ),
            result(
                "conformance/scripts/rfc9293/b.pkt",
                false,
                "a.pkt:20:1: expected outbound packet by 1.104000, but the stack sent nothing",
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
                "a.pkt:20:1: expected outbound packet by 1.104000, but the stack sent nothing",
            ),
            result(
                "conformance/scripts/rfc9293/a.pkt",
                false,
                "a.pkt:20:1: unexpected outbound packet at 1.0 before this line ran",
            ),
        ];
        e.apply(&mut rs);
        assert_eq!(rs[0].outcome, Outcome::Pass);
        assert!(matches!(rs[1].outcome, Outcome::ListedDivergence { .. }));
        assert_eq!(rs[2].outcome, Outcome::Fail);
    }

    #[test]
    fn failing_otherwise_than_listed_fails() {
        let e = Expectations::parse("e.toml", GOOD, "smoltcp").unwrap();
        let mut rs = vec![result(
            "conformance/scripts/rfc9293/a.pkt",
            false,
            "a.pkt:20:1: unexpected outbound packet at 1.0 before this line ran",
        )];
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
            } => assert!(why.contains("always closes (e.toml:11)"), "{why}"),
            o => panic!("not listed: {o:?}"),
        }
        assert_eq!(rs[0].outcome.exit_code(), 0);
        assert_eq!(rs[1].outcome.exit_code(), 1);
        let empty = listed.replace("reason = \"always closes\"", "reason = \"\"");
        let err = Expectations::parse("e.toml", &empty, "smoltcp").unwrap_err();
        assert!(err.to_string().starts_with("e.toml:11:"), "{err}");
    }

    #[test]
    fn structure_decides_the_line_the_kind_and_the_fields() {
        let differs = "a.pkt:15:1: outbound packet at 0.11 does not match: flags F. (expected R), win 65435 (expected 0)";
        let entry = |extra: &str| {
            let text = GOOD.replace(
                "line = 20\nmismatch = \"nothing-sent\"",
                &format!("line = 15\nmismatch = \"packet-differs\"\n{extra}"),
            );
            Expectations::parse("e.toml", &text, "smoltcp").unwrap()
        };
        let judge = |e: &Expectations, failure: &str| {
            let mut rs = vec![result("conformance/scripts/rfc9293/a.pkt", false, failure)];
            e.apply(&mut rs);
            rs.remove(0)
        };
        let listed = |r: &FileResult| matches!(r.outcome, Outcome::ListedDivergence { .. });
        assert!(listed(&judge(&entry(""), differs)));
        assert!(listed(&judge(
            &entry("fields = [\"flags\", \"win\"]"),
            differs
        )));
        // Another field set, another line, another kind: each is a different failure.
        let r = judge(&entry("fields = [\"flags\"]"), differs);
        assert!(!listed(&r));
        assert!(
            r.failures[1].contains(
                "listed: line 15 packet-differs [flags]; got: line 15 packet-differs [flags, win]"
            ),
            "{:?}",
            r.failures
        );
        assert!(!listed(&judge(
            &entry(""),
            &differs.replace(":15:", ":16:")
        )));
        assert!(!listed(&judge(
            &entry(""),
            "a.pkt:15:1: expected outbound packet by 1.0, but the stack sent nothing"
        )));
        // `observed` narrows further and is the fallback for texts of no known form.
        assert!(listed(&judge(&entry("observed = \"flags F.\""), differs)));
        assert!(!listed(&judge(&entry("observed = \"flags S.\""), differs)));
        let fallback = GOOD.replace(
            "line = 20\nmismatch = \"nothing-sent\"",
            "observed = \"odd failure\"",
        );
        let e = Expectations::parse("e.toml", &fallback, "smoltcp").unwrap();
        assert!(listed(&judge(&e, "x: an odd failure")));
    }

    /// Every shipped list parses, and every entry with a `mismatch` names a line (what
    /// "structured" promises; `observed` alone is the rare fallback).
    #[rstest::rstest]
    #[case("smoltcp")]
    #[case("linux")]
    fn shipped_lists_parse_and_are_structured(#[case] stack: &str) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../conformance/expectations")
            .join(format!("{stack}.toml"));
        let e = Expectations::load(&path, stack).unwrap();
        assert!(!e.entries.is_empty());
        let fallback = e
            .entries
            .iter()
            .filter(|(_, d)| d.mismatch.is_none())
            .count();
        assert!(
            fallback * 10 <= e.entries.len(),
            "{fallback} of {} entries rest on `observed` alone",
            e.entries.len()
        );
        for (line, d) in &e.entries {
            assert!(
                d.mismatch.is_none() || d.line.is_some(),
                "{stack}.toml:{line}: a mismatch without its line"
            );
        }
    }

    #[rstest::rstest]
    #[case("mismatch = \"nothing-sent\"", "mismatch = \"sent-nothing\"", 6)]
    #[case("line = 20\n", "line = 20\nwhy = \"x\"\n", 6)]
    #[case("line = 20\nmismatch = \"nothing-sent\"", "line = 20", 3)]
    #[case(
        "line = 20\nmismatch = \"nothing-sent\"",
        "observed = \"x\"\nfields = [\"win\"]",
        3
    )]
    #[case(
        "mismatch = \"nothing-sent\"",
        "mismatch = \"nothing-sent\"\nfields = [\"win\"]",
        3
    )]
    #[case("line = 20\nmismatch = \"nothing-sent\"", "", 3)]
    fn bad_entries_are_errors_at_their_line(
        #[case] from: &str,
        #[case] to: &str,
        #[case] line: u32,
    ) {
        let bad = GOOD.replace(from, to);
        let e = Expectations::parse("e.toml", &bad, "smoltcp").unwrap_err();
        assert_eq!(e.location.as_ref().map(|l| l.line), Some(line), "{e}");
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
