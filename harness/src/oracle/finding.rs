//! Typed findings: what went wrong, when, on which connection, why, and the proof.

use core::fmt;
use serde::Serialize;
use stack::tcp::FourTuple;
use stack::Instant;

/// The families of connection death (and the measurements) the oracles report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FindingKind {
    /// An RST a stack generated never reached the peer.
    RstLoss,
    /// One end synchronized, the other (or a middlebox) without the connection, past the grace period.
    HalfOpen,
    /// TIME-WAIT left before 2·MSL because of a received segment.
    TimeWaitAssassination,
    /// TIME-WAIT skipped on purpose: close with SO_LINGER 0 (reported apart from assassinations).
    DeliberateAbort,
    /// An application wrote on a pooled connection the peer had already dropped.
    StaleReuse,
    /// A NAT mapping of a live connection expired.
    NatExpiry,
    /// A stack (keepalive) or application (heartbeat) noticed a dead peer, or killed a live one.
    KeepaliveDetection,
    /// A segment a stack sent breaks an RFC 9293 / RFC 1122 rule judgeable from segments alone
    /// (the rule is the finding's `cause`; see `oracle::rfc::Violation`).
    RfcViolation,
}

impl FindingKind {
    pub const ALL: [FindingKind; 8] = [
        FindingKind::RstLoss,
        FindingKind::HalfOpen,
        FindingKind::TimeWaitAssassination,
        FindingKind::DeliberateAbort,
        FindingKind::StaleReuse,
        FindingKind::NatExpiry,
        FindingKind::KeepaliveDetection,
        FindingKind::RfcViolation,
    ];

    pub fn name(self) -> &'static str {
        match self {
            FindingKind::RstLoss => "rst-loss",
            FindingKind::HalfOpen => "half-open",
            FindingKind::TimeWaitAssassination => "time-wait-assassination",
            FindingKind::DeliberateAbort => "deliberate-abort",
            FindingKind::StaleReuse => "stale-reuse",
            FindingKind::NatExpiry => "nat-expiry",
            FindingKind::KeepaliveDetection => "keepalive-detection",
            FindingKind::RfcViolation => "rfc-violation",
        }
    }

    pub fn from_name(s: &str) -> Option<FindingKind> {
        FindingKind::ALL.into_iter().find(|k| k.name() == s)
    }

    /// [`FindingKind::from_name`], or the error people see: the closest kind and every kind.
    pub fn parse_named(s: &str) -> Result<FindingKind, String> {
        FindingKind::from_name(s).ok_or_else(|| {
            let names = FindingKind::ALL.map(FindingKind::name);
            format!(
                "unknown finding kind `{s}`{} (kinds: {})",
                stack::suggest::did_you_mean(s, names),
                names.join(", ")
            )
        })
    }
}

impl fmt::Display for FindingKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A frame by the name of its segment (the pcap `--pcap-dir` writes for it) and its 1-based
/// number in that capture (what Wireshark shows).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct FrameRef {
    pub segment: String,
    pub number: usize,
}

impl fmt::Display for FrameRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#{}", self.segment, self.number)
    }
}

/// One finding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub kind: FindingKind,
    /// Virtual time the failure happened (µs).
    pub time_us: u64,
    /// `a.b.c.d:p-e.f.g.h:q`, local end (the `host`'s) first.
    pub connection: String,
    /// The host whose connection this is.
    pub host: String,
    /// Why, where known (`arp-queue-overflow`, `nat-expiry`, `lost-rst`, `rst-received`, ...).
    pub cause: Option<String>,
    /// A measured duration where the kind has one (half-open for, detection time), µs.
    pub duration_us: Option<u64>,
    /// What proves it, in words (frames and events named).
    pub evidence: Vec<String>,
    /// The frames that prove it, per segment capture.
    pub frames: Vec<FrameRef>,
    /// The stack events used, if any (they name causes; no finding needs them).
    pub events: Vec<String>,
}

impl Finding {
    pub fn new(kind: FindingKind, time: Instant, conn: FourTuple, host: &str) -> Finding {
        Finding {
            kind,
            time_us: time.total_micros(),
            connection: conn.to_string(),
            host: host.to_string(),
            cause: None,
            duration_us: None,
            evidence: Vec::new(),
            frames: Vec::new(),
            events: Vec::new(),
        }
    }
    pub fn frame(mut self, f: FrameRef) -> Self {
        if !self.frames.contains(&f) {
            self.frames.push(f);
        }
        self
    }
    pub fn event(mut self, e: impl Into<String>) -> Self {
        self.events.push(e.into());
        self
    }
    /// One line naming the evidence: `frames lan#3 lan#5; events ...` (for text reports).
    pub fn evidence_line(&self) -> String {
        let mut s = String::from("evidence:");
        if self.frames.is_empty() {
            s.push_str(" no frames");
        } else {
            s.push_str(" frames");
            for f in &self.frames {
                s.push_str(&format!(" {f}"));
            }
        }
        if !self.events.is_empty() {
            s.push_str(&format!("; events: {}", self.events.join("; ")));
        }
        s
    }
    pub fn cause(mut self, c: impl Into<String>) -> Self {
        self.cause = Some(c.into());
        self
    }
    pub fn duration(mut self, d: stack::Duration) -> Self {
        self.duration_us = Some(d.total_micros());
        self
    }
    pub fn evidence(mut self, e: impl Into<String>) -> Self {
        self.evidence.push(e.into());
        self
    }
}

/// An oracle that could not judge a stack because the stack does not show what it needs:
/// reported as "cannot judge KIND on STACK: WHY", never left silent.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct CannotJudge {
    pub kind: FindingKind,
    /// The stack's name (`smoltcp`, ...).
    pub stack: String,
    pub why: String,
    /// The hosts running that stack where it mattered.
    pub hosts: Vec<String>,
}

impl fmt::Display for CannotJudge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot judge {} on {}: {} (hosts: {})",
            self.kind,
            self.stack,
            self.why,
            self.hosts.join(", ")
        )
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at {} on {} {}",
            self.kind,
            Instant::from_micros(self.time_us),
            self.host,
            self.connection
        )?;
        if let Some(c) = &self.cause {
            write!(f, " cause={c}")?;
        }
        if let Some(d) = self.duration_us {
            write!(f, " after={}", stack::Duration::from_micros(d))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::net::Ipv4Addr;

    /// The text reports' evidence line: every frame, then the events only when some were used.
    #[test]
    fn the_evidence_line_names_frames_and_only_used_events() {
        let conn = FourTuple::new(
            Ipv4Addr::new(192, 0, 2, 1),
            80,
            Ipv4Addr::new(192, 0, 2, 2),
            4000,
        );
        let lan = |number| FrameRef {
            segment: "lan".into(),
            number,
        };
        let f = Finding::new(FindingKind::RstLoss, Instant::from_secs(1), conn, "server");
        assert_eq!(f.evidence_line(), "evidence: no frames");
        let f = f.frame(lan(3)).frame(lan(5)).frame(lan(3));
        assert_eq!(f.evidence_line(), "evidence: frames lan#3 lan#5");
        let f = f.event("e1").event("e2");
        assert_eq!(
            f.evidence_line(),
            "evidence: frames lan#3 lan#5; events: e1; e2"
        );
    }
}
