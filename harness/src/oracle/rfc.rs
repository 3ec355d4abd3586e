//! `rfc-violation`: RFC 9293 / RFC 1122 rules (and the option rules of RFC 7323 and RFC 2018)
//! that can be judged from the segments a stack sent and received alone, run on every run of
//! every stack and on captures. One [`Violation`] variant per rule, each citing its requirement;
//! conformance/REQUIREMENTS.md lists them ("Judged on every run").
//!
//! Only segments a stack under test sent are judged (never a scripted peer's or a middlebox's),
//! each against what that stack had seen on the same connection before it. One pass over each
//! connection's segments: O(segments).

use super::facts::Facts;
use super::wire::{Derived, Dir, Seg};
use super::{fref, Finding, FindingKind};
use crate::trace::{NodeId, Trace, TraceKind};
use core::fmt;
use stack::tcp::{FourTuple, State};
use stack::wire::SeqNumber;
use stack::{Duration, Instant};

/// One rule a stack's segments can break.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Violation {
    /// An RST sent in answer to an RST.
    RstAnswersRst,
    /// The RST answering a segment that carries ACK does not have SEQ = SEG.ACK.
    RstReplySeqNotSegAck,
    /// The RST answering a segment without ACK lacks ACK = SEG.SEQ + SEG.LEN (or SEQ = 0).
    RstReplyAckNotSegEnd,
    /// Data (or a second FIN) beyond the sequence number of the FIN already sent.
    DataAfterFin,
    /// A non-RST segment without ACK once the connection is synchronized.
    AckMissingWhenSynchronized,
    /// An MSS option on a segment without SYN.
    MssOutsideSyn,
    /// A Window Scale option on a segment without SYN.
    WindowScaleOutsideSyn,
    /// A Window Scale option on a SYN-ACK answering a SYN that had none.
    WindowScaleNotOffered,
    /// A SACK-permitted option on a segment without SYN.
    SackPermittedOutsideSyn,
    /// An ACK for sequence numbers the peer never sent to this host.
    AckOfUnseenData,
    /// A TCP checksum that does not check.
    BadChecksum,
    /// An IP datagram sent with TTL 0.
    TtlZero,
    /// TIME-WAIT left before 2·MSL (the stack's declared length) without an RST or SYN.
    TimeWaitTooShort,
    /// A segment other than RST (or a new SYN) after the host reset the connection.
    SegmentAfterReset,
}

impl Violation {
    pub const ALL: [Violation; 14] = [
        Violation::RstAnswersRst,
        Violation::RstReplySeqNotSegAck,
        Violation::RstReplyAckNotSegEnd,
        Violation::DataAfterFin,
        Violation::AckMissingWhenSynchronized,
        Violation::MssOutsideSyn,
        Violation::WindowScaleOutsideSyn,
        Violation::WindowScaleNotOffered,
        Violation::SackPermittedOutsideSyn,
        Violation::AckOfUnseenData,
        Violation::BadChecksum,
        Violation::TtlZero,
        Violation::TimeWaitTooShort,
        Violation::SegmentAfterReset,
    ];

    /// The name findings carry as their cause.
    pub fn name(self) -> &'static str {
        match self {
            Violation::RstAnswersRst => "rst-answers-rst",
            Violation::RstReplySeqNotSegAck => "rst-reply-seq-not-seg-ack",
            Violation::RstReplyAckNotSegEnd => "rst-reply-ack-not-seg-end",
            Violation::DataAfterFin => "data-after-fin",
            Violation::AckMissingWhenSynchronized => "ack-missing-when-synchronized",
            Violation::MssOutsideSyn => "mss-outside-syn",
            Violation::WindowScaleOutsideSyn => "window-scale-outside-syn",
            Violation::WindowScaleNotOffered => "window-scale-not-offered",
            Violation::SackPermittedOutsideSyn => "sack-permitted-outside-syn",
            Violation::AckOfUnseenData => "ack-of-unseen-data",
            Violation::BadChecksum => "bad-checksum",
            Violation::TtlZero => "ttl-zero",
            Violation::TimeWaitTooShort => "time-wait-too-short",
            Violation::SegmentAfterReset => "segment-after-reset",
        }
    }

    /// The requirement, as RFC, section, label (where the summary tables give one) and words.
    pub fn requirement(self) -> &'static str {
        match self {
            Violation::RstAnswersRst => {
                "RFC 9293 §3.10.7.1, §3.5.2: \"An incoming segment containing a RST is discarded\" \
                 (a reset is never answered with a reset)"
            }
            Violation::RstReplySeqNotSegAck => {
                "RFC 9293 §3.10.7.1, §3.5.2: \"If the incoming segment has an ACK field, the reset \
                 takes its sequence number from the ACK field\": <SEQ=SEG.ACK><CTL=RST>"
            }
            Violation::RstReplyAckNotSegEnd => {
                "RFC 9293 §3.10.7.1, §3.5.2: \"If the ACK bit is off, sequence number zero is used\": \
                 <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>"
            }
            Violation::DataAfterFin => {
                "RFC 9293 §3.10.2, §3.10.4: after CLOSE, SEND is an error (\"connection closing\"); \
                 the FIN occupies the last sequence number the sender uses"
            }
            Violation::AckMissingWhenSynchronized => {
                "RFC 9293 §3.1 (Acknowledgment Number): \"Once a connection is established, this is \
                 always sent\""
            }
            Violation::MssOutsideSyn => {
                "RFC 9293 §3.2, MUST-65: the MSS option \"MUST NOT be sent in other segments\" than \
                 those with SYN"
            }
            Violation::WindowScaleOutsideSyn => {
                "RFC 7323 §2.2: the Window Scale option is sent only in <SYN> and <SYN,ACK> segments"
            }
            Violation::WindowScaleNotOffered => {
                "RFC 7323 §2.2: Window Scale may be sent in a <SYN,ACK> \"only if a Window Scale \
                 option was received in the initial <SYN> segment\""
            }
            Violation::SackPermittedOutsideSyn => {
                "RFC 2018 §2: SACK-permitted \"MUST NOT be sent on non-SYN segments\""
            }
            Violation::AckOfUnseenData => {
                "RFC 9293 §3.4: an acknowledgment of X means every octet up to but not including X \
                 has been received"
            }
            Violation::BadChecksum => {
                "RFC 9293 §3.1, MUST-2 (RFC 1122 §4.2.2.7): the sender computes the checksum"
            }
            Violation::TtlZero => {
                "RFC 1122 §3.2.1.7: \"A host MUST NOT send a datagram with a Time-to-Live (TTL) \
                 value of zero\""
            }
            Violation::TimeWaitTooShort => {
                "RFC 9293 §3.10.7.4 (TIME-WAIT), MUST-13 (RFC 1122 §4.2.2.13): remain in TIME-WAIT \
                 for 2·MSL"
            }
            Violation::SegmentAfterReset => {
                "RFC 9293 §3.10.4 (ABORT) and §3.10.7: a reset ends the connection; the TCB is \
                 deleted and nothing more is sent on it"
            }
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Checks every connection of every stack under test in the trace.
pub(super) fn check(trace: &Trace, facts: &Facts<'_>, out: &mut Vec<Finding>) {
    for (&(node, conn), segs) in &facts.wire.conns {
        let tw = trace.stack_of(node).and_then(|s| s.time_wait);
        for v in check_conn(segs, tw, facts.derived.get(&(node, conn))) {
            out.push(v.finding(trace, node, conn));
        }
    }
    // TIME-WAIT ended by the stack's own timer before 2·MSL (events or reported states).
    for ev in &trace.events {
        if let TraceKind::Stack { node, event } = &ev.kind {
            if let stack::EventKind::Tcp(stack::tcp::TcpEvent::TimeWaitEnded {
                conn,
                after,
                early: false,
                ..
            }) = &event.kind
            {
                let tw = trace.stack_of(*node).and_then(|s| s.time_wait);
                if tw.is_some_and(|tw| *after < tw) {
                    out.push(
                        Hit {
                            rule: Violation::TimeWaitTooShort,
                            time: ev.time,
                            frames: Vec::new(),
                            detail: format!("TIME-WAIT ended by its timer after {after}"),
                        }
                        .finding(trace, *node, *conn)
                        .event(event.to_string()),
                    );
                }
            }
        }
    }
    for ((node, conn), tl) in &facts.timelines {
        if facts.source(*node) != Some(super::facts::Source::State) {
            continue;
        }
        let Some(tw) = trace.stack_of(*node).and_then(|s| s.time_wait) else {
            continue;
        };
        for w in tl.changes.windows(2) {
            if w[0].1 == State::TimeWait && w[1].0.saturating_since(w[0].0) < tw {
                let hit = facts
                    .wire
                    .last_received(*node, *conn, w[1].0, false)
                    .is_some_and(|s| s.time == w[1].0 && (s.flags.rst() || s.flags.syn()));
                if !hit {
                    out.push(
                        Hit {
                            rule: Violation::TimeWaitTooShort,
                            time: w[1].0,
                            frames: Vec::new(),
                            detail: format!(
                                "reported TIME-WAIT from {} to {} (2*MSL {tw})",
                                w[0].0, w[1].0
                            ),
                        }
                        .finding(trace, *node, *conn),
                    );
                }
            }
        }
    }
}

/// One rule broken by one segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hit {
    pub rule: Violation,
    pub time: Instant,
    /// The offending frame first, then the frame it answered, if any.
    pub frames: Vec<super::wire::FrameId>,
    pub detail: String,
}

impl Hit {
    fn finding(&self, trace: &Trace, node: NodeId, conn: FourTuple) -> Finding {
        let mut f = Finding::new(
            FindingKind::RfcViolation,
            self.time,
            conn,
            trace.node_name(node),
        )
        .cause(self.rule.name())
        .evidence(self.detail.clone())
        .evidence(self.rule.requirement());
        for fr in &self.frames {
            f = f.frame(fref(trace, *fr));
        }
        f
    }
}

/// Per-incarnation memory of one connection, as its host saw it.
#[derive(Default)]
struct Seen {
    /// The host has sent a segment with ACK (it considers the connection synchronized or
    /// SYN-RECEIVED).
    acked: bool,
    our_fin: Option<SeqNumber>,
    /// The peer's SYN arrived: from here on, the highest sequence number it delivered.
    peer_high: Option<SeqNumber>,
    peer_syn_ws: Option<bool>,
    reset_sent: bool,
}

/// The rules judged on one connection's segments (sorted by time, receptions first at one
/// instant). `derived`: what the wire model made of them (the host's states as reconstructed).
pub fn check_conn(
    segs: &[Seg],
    time_wait: Option<Duration>,
    derived: Option<&Derived>,
) -> Vec<Hit> {
    let state_before = |t: Instant| derived.and_then(|d| d.timeline.state_before(t));
    // When TIME-WAIT (wire view) began before `t`, unless an RST or SYN reached it since (the
    // stack may have honoured those).
    let time_wait_since = |t: Instant| -> Option<Instant> {
        let d = derived?;
        let tl = &d.timeline.changes;
        let i = tl.partition_point(|c| c.0 < t);
        let last = tl[..i].last()?;
        if last.1 != State::TimeWait {
            return None;
        }
        let hit = d.time_wait_hits.iter().any(|h| h.0 >= last.0 && h.0 <= t);
        (!hit).then_some(last.0)
    };
    let mut hits = Vec::new();
    let mut seen = Seen::default();
    let mut last_rx: Option<&Seg> = None;
    for s in segs {
        if s.dir == Dir::Received {
            if s.flags.syn() && !s.flags.ack() {
                seen.peer_syn_ws = Some(s.window_scale.is_some());
            }
            if s.flags.syn() {
                seen.peer_high = Some(s.end());
            } else if let Some(h) = seen.peer_high {
                seen.peer_high = Some(h.max(s.end()));
            }
            last_rx = Some(s);
            continue;
        }
        let hit = |rule: Violation, detail: String, answered: Option<&Seg>| Hit {
            rule,
            time: s.time,
            frames: std::iter::once(s.frame)
                .chain(answered.map(|a| a.frame))
                .collect(),
            detail,
        };
        // The segment this one answers: the last one received, at the same instant.
        let answered = last_rx.filter(|x| x.time == s.time);
        if s.ttl == 0 {
            hits.push(hit(Violation::TtlZero, "IP TTL 0".into(), None));
        }
        if s.bad_checksum {
            hits.push(hit(
                Violation::BadChecksum,
                "TCP checksum wrong".into(),
                None,
            ));
        }
        if s.mss && !s.flags.syn() {
            hits.push(hit(
                Violation::MssOutsideSyn,
                "MSS option without SYN".into(),
                None,
            ));
        }
        if s.window_scale.is_some() && !s.flags.syn() {
            hits.push(hit(
                Violation::WindowScaleOutsideSyn,
                "window scale option without SYN".into(),
                None,
            ));
        }
        if s.sack_permitted && !s.flags.syn() {
            hits.push(hit(
                Violation::SackPermittedOutsideSyn,
                "SACK-permitted option without SYN".into(),
                None,
            ));
        }
        if s.flags.syn()
            && s.flags.ack()
            && s.window_scale.is_some()
            && seen.peer_syn_ws == Some(false)
        {
            hits.push(hit(
                Violation::WindowScaleNotOffered,
                "SYN-ACK with window scale, the SYN had none".into(),
                None,
            ));
        }
        if s.flags.rst() {
            if let Some(x) = answered {
                let before = state_before(x.time);
                let unsynchronized = before.is_none_or(|st| {
                    matches!(
                        st,
                        State::Closed | State::Listen | State::SynSent | State::SynReceived
                    )
                });
                if x.flags.rst() {
                    hits.push(hit(
                        Violation::RstAnswersRst,
                        format!("RST seq={} in answer to an RST seq={}", s.seq, x.seq),
                        Some(x),
                    ));
                } else if unsynchronized && x.flags.ack() && s.seq != x.ack {
                    hits.push(hit(
                        Violation::RstReplySeqNotSegAck,
                        format!("RST seq={} answering ack={}", s.seq, x.ack),
                        Some(x),
                    ));
                } else if unsynchronized
                    && !x.flags.ack()
                    && (!s.flags.ack() || s.ack != x.end() || s.seq != SeqNumber(0))
                {
                    hits.push(hit(
                        Violation::RstReplyAckNotSegEnd,
                        format!(
                            "RST seq={} ack={}{} answering seq={} len={}",
                            s.seq,
                            s.ack,
                            if s.flags.ack() { "" } else { " (ACK bit off)" },
                            x.seq,
                            x.seg_len()
                        ),
                        Some(x),
                    ));
                }
            }
            if state_before(s.time).is_some_and(|st| st.is_synchronized() && st != State::TimeWait)
            {
                seen.reset_sent = true;
            }
            // A reply RST from a host in TIME-WAIT (wire view) to a plain segment: its TCB was
            // gone before 2*MSL.
            if let (Some(tw), Some(x)) = (time_wait, answered) {
                let since = time_wait_since(x.time);
                if let Some(since) = since.filter(|_| !x.flags.rst() && !x.flags.syn()) {
                    hits.push(hit(
                        Violation::TimeWaitTooShort,
                        format!(
                            "RST in answer to a segment {} after TIME-WAIT began (2*MSL {tw})",
                            s.time.saturating_since(since)
                        ),
                        Some(x),
                    ));
                }
            }
            continue;
        }
        if s.flags.syn() && !s.flags.ack() {
            // A new incarnation.
            seen = Seen {
                peer_syn_ws: seen.peer_syn_ws,
                ..Seen::default()
            };
            continue;
        }
        if s.flags.syn() {
            seen.reset_sent = false;
            seen.our_fin = None;
            seen.acked = true;
            continue;
        }
        if seen.reset_sent {
            hits.push(hit(
                Violation::SegmentAfterReset,
                format!("segment seq={} after this host reset the connection", s.seq),
                None,
            ));
            seen.reset_sent = false;
        }
        if !s.flags.ack() && seen.acked {
            hits.push(hit(
                Violation::AckMissingWhenSynchronized,
                format!("segment seq={} without ACK", s.seq),
                None,
            ));
        }
        if let Some(fin) = seen.our_fin {
            let beyond = s.len > 0 && (s.seq + s.len).gt(fin);
            let moved = s.flags.fin() && s.seq + s.len != fin;
            if beyond || moved {
                hits.push(hit(
                    Violation::DataAfterFin,
                    format!(
                        "segment seq={} len={}{} after the FIN at {}",
                        s.seq,
                        s.len,
                        if s.flags.fin() { " FIN" } else { "" },
                        fin
                    ),
                    None,
                ));
            }
        }
        if s.flags.fin() && seen.our_fin.is_none() {
            seen.our_fin = Some(s.seq + s.len);
        }
        if s.flags.ack() {
            seen.acked = true;
            if let Some(h) = seen.peer_high {
                if s.ack.gt(h) {
                    hits.push(hit(
                        Violation::AckOfUnseenData,
                        format!(
                            "ack={} but the peer's highest sequence number seen is {h}",
                            s.ack
                        ),
                        None,
                    ));
                }
            }
        }
    }
    hits
}

#[cfg(test)]
mod tests;
