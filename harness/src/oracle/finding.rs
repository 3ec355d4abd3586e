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
}

impl FindingKind {
    pub const ALL: [FindingKind; 7] = [
        FindingKind::RstLoss,
        FindingKind::HalfOpen,
        FindingKind::TimeWaitAssassination,
        FindingKind::DeliberateAbort,
        FindingKind::StaleReuse,
        FindingKind::NatExpiry,
        FindingKind::KeepaliveDetection,
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
        }
    }

    pub fn from_name(s: &str) -> Option<FindingKind> {
        FindingKind::ALL.into_iter().find(|k| k.name() == s)
    }
}

impl fmt::Display for FindingKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
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
    /// Frame numbers and event descriptions that prove it.
    pub evidence: Vec<String>,
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
        }
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
