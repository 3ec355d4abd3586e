//! The one judge of expected findings, for scripts (`%expect finding KIND count=N host=H
//! cause=C duration=D`, `%expect no-finding`) and scenarios (`[[expect]]` with the same keys):
//! every key means the same in both.
//!
//! - `kind`: the finding kind ([`FindingKind`]).
//! - `count`: exactly this many findings match (default 1).
//! - `host`: a matching finding is on this host, or on one of its replicas `host-k`.
//! - `cause`: a matching finding's cause contains this text (`arp-queue` matches
//!   `arp-queue-overflow`).
//! - `duration`: every matching finding measured exactly this long.
//!
//! A finding no expectation matches fails the file when judging is strict (scenarios always; a
//! script when it uses harness directives or the run asks `--strict-findings`); `no-finding`
//! expects none at all.

use crate::location::Location;
use crate::oracle::{Finding, FindingKind};
use stack::Duration;

/// One expected finding (or, with `count = 0`, one that must not occur).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expectation {
    /// Where the file says it, for messages.
    pub at: Option<Location>,
    pub kind: FindingKind,
    pub count: usize,
    pub host: Option<String>,
    pub cause: Option<String>,
    pub duration: Option<Duration>,
}

impl Expectation {
    /// Exactly one finding of `kind`, anywhere, for any cause.
    pub fn one(kind: FindingKind) -> Expectation {
        Expectation {
            at: None,
            kind,
            count: 1,
            host: None,
            cause: None,
            duration: None,
        }
    }

    /// Whether `f` is one of the findings this expectation counts.
    pub fn matches(&self, f: &Finding) -> bool {
        f.kind == self.kind
            && self
                .host
                .as_ref()
                .is_none_or(|h| f.host == *h || f.host.starts_with(&format!("{h}-")))
            && self
                .cause
                .as_ref()
                .is_none_or(|c| f.cause.as_deref().is_some_and(|fc| fc.contains(c.as_str())))
    }

    /// `expect 2 rst-loss on client (cause lost-rst)`.
    fn describe(&self) -> String {
        let mut s = format!("expect {} {}", self.count, self.kind);
        if let Some(h) = &self.host {
            s.push_str(&format!(" on {h}"));
        }
        if let Some(c) = &self.cause {
            s.push_str(&format!(" (cause {c})"));
        }
        s
    }
}

/// One checked expectation: what was expected, whether it held, and what happened.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Verdict {
    pub ok: bool,
    pub what: String,
    pub detail: String,
}

impl Verdict {
    /// The failure line people see: `file:line:col: expect 1 rst-loss: got 0 × rst-loss`.
    pub fn failure(&self) -> String {
        format!("{}: got {}", self.what, self.detail)
    }
}

/// What the file expects of the findings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Expected {
    pub findings: Vec<Expectation>,
    /// `%expect no-finding` (where it is written): no finding may occur at all.
    pub none_at: Option<Location>,
}

/// Judges `findings` against `expected`: one verdict per expectation, and with `strict` (or a
/// `no-finding` line) one more that fails when some finding matched no expectation.
pub fn judge(expected: &Expected, findings: &[Finding], strict: bool) -> Vec<Verdict> {
    let mut out = Vec::new();
    let mut covered = vec![false; findings.len()];
    for e in &expected.findings {
        let matching: Vec<usize> = (0..findings.len())
            .filter(|&i| e.matches(&findings[i]))
            .collect();
        for &i in &matching {
            covered[i] = true;
        }
        let mut ok = matching.len() == e.count;
        let mut detail = format!("{} × {}", matching.len(), e.kind);
        if let Some(d) = e.duration {
            let bad: Vec<String> = matching
                .iter()
                .filter(|&&i| findings[i].duration_us != Some(d.total_micros()))
                .map(|&i| {
                    findings[i]
                        .duration_us
                        .map_or("none".into(), |u| Duration::from_micros(u).to_string())
                })
                .collect();
            if !bad.is_empty() {
                ok = false;
                detail.push_str(&format!(", durations {} (want {d})", bad.join(", ")));
            }
        }
        if !ok && matching.is_empty() && !findings.is_empty() {
            let others: Vec<String> = findings.iter().map(|f| f.kind.to_string()).collect();
            detail.push_str(&format!(" (the oracles reported {})", others.join(", ")));
        }
        out.push(Verdict {
            ok,
            what: at_prefix(e.at.as_ref(), &e.describe()),
            detail,
        });
    }
    if strict || expected.none_at.is_some() {
        let unexpected: Vec<String> = findings
            .iter()
            .zip(&covered)
            .filter(|(_, c)| !**c)
            .map(|(f, _)| f.to_string())
            .collect();
        if !unexpected.is_empty() {
            let what = match &expected.none_at {
                Some(at) => at_prefix(Some(at), "%expect no-finding"),
                None if expected.findings.is_empty() => {
                    "no finding (no expectation covers any)".to_string()
                }
                None => "no unexpected findings".to_string(),
            };
            out.push(Verdict {
                ok: false,
                what,
                detail: unexpected.join("; "),
            });
        }
    }
    out
}

fn at_prefix(at: Option<&Location>, what: &str) -> String {
    match at {
        Some(l) => format!("{l}: {what}"),
        None => what.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(kind: FindingKind, host: &str, cause: &str, dur: Option<u64>) -> Finding {
        Finding {
            kind,
            time_us: 1_000_000,
            connection: "192.0.2.1:1-192.0.2.2:2".into(),
            host: host.into(),
            cause: (!cause.is_empty()).then(|| cause.to_string()),
            duration_us: dur,
            evidence: Vec::new(),
            frames: Vec::new(),
            events: Vec::new(),
        }
    }

    fn expected(findings: Vec<Expectation>) -> Expected {
        Expected {
            findings,
            none_at: None,
        }
    }

    #[test]
    fn count_is_exact_and_host_matches_replicas() {
        let fs = [
            finding(FindingKind::RstLoss, "client-1", "lost-rst", None),
            finding(FindingKind::RstLoss, "client-2", "lost-rst", None),
            finding(FindingKind::RstLoss, "server", "lost-rst", None),
        ];
        let mut e = Expectation::one(FindingKind::RstLoss);
        e.host = Some("client".into());
        e.count = 2;
        let v = judge(&expected(vec![e.clone()]), &fs, false);
        assert!(v.iter().all(|v| v.ok), "{v:?}");
        // Strict: the server's finding is unexpected.
        let v = judge(&expected(vec![e.clone()]), &fs, true);
        assert_eq!(v.iter().filter(|v| !v.ok).count(), 1, "{v:?}");
        e.count = 1;
        let v = judge(&expected(vec![e]), &fs, false);
        assert_eq!(
            v[0].failure(),
            "expect 1 rst-loss on client: got 2 × rst-loss"
        );
    }

    #[test]
    fn cause_is_a_substring_and_duration_is_exact() {
        let fs = [finding(
            FindingKind::HalfOpen,
            "h",
            "arp-queue-overflow",
            Some(2_000_000),
        )];
        let mut e = Expectation::one(FindingKind::HalfOpen);
        e.cause = Some("arp-queue".into());
        e.duration = Some(Duration::from_secs(2));
        assert!(judge(&expected(vec![e.clone()]), &fs, true)[0].ok);
        e.duration = Some(Duration::from_secs(3));
        let v = judge(&expected(vec![e.clone()]), &fs, true);
        assert!(!v[0].ok && v[0].detail.contains("durations 2.000000s (want 3.000000s)"));
        e.cause = Some("nat".into());
        e.duration = None;
        let v = judge(&expected(vec![e]), &fs, false);
        assert_eq!(
            v[0].failure(),
            "expect 1 half-open (cause nat): got 0 × half-open (the oracles reported half-open)"
        );
    }

    #[test]
    fn unexpected_findings_fail_only_when_strict_or_none_is_expected() {
        let fs = [finding(FindingKind::DeliberateAbort, "h", "", None)];
        assert!(judge(&Expected::default(), &fs, false).is_empty());
        let v = judge(&Expected::default(), &fs, true);
        assert!(!v[0].ok && v[0].what.starts_with("no finding"), "{v:?}");
        let none = Expected {
            findings: Vec::new(),
            none_at: Some(Location {
                file: "t.pkt".into(),
                line: 3,
                col: 1,
            }),
        };
        let v = judge(&none, &fs, false);
        assert_eq!(v[0].what, "t.pkt:3:1: %expect no-finding");
        assert!(judge(&none, &[], false).is_empty());
    }
}
