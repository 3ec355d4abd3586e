//! Oracles: read a [`Trace`] and report typed [`Finding`]s — RST loss, half-open connections,
//! TIME-WAIT assassination, stale reuse of pooled connections, NAT expiry, keepalive detection
//! times and RFC violations.
//!
//! **Verdicts come from what every stack shows.** The entry point [`judge`] needs only frames:
//! a trace holding nothing but [`TraceKind::Frame`]s of the stacks it names in
//! `meta.stacks` (a capture, for `harness check`) is judged from the wire, with each
//! connection's states reconstructed from what its host sent and received (`wire`). Socket-call
//! results ([`TraceKind::Call`]), reported connection states ([`TraceKind::ConnState`]) and the
//! reference stack's own event log ([`TraceKind::Stack`]) are optional extra evidence: they make
//! timelines exact and name causes (`arp-queue-overflow`), never the only way to a finding.
//! Where a stack shows too little for a kind, [`Analysis::cannot_judge`] says so.
//!
//! Every finding carries its evidence: frame numbers per segment capture ([`Finding::frames`]),
//! the events used, if any ([`Finding::events`]), and a description ([`Finding::evidence`]).

mod facts;
pub mod finding;
pub mod rfc;
mod wire;

pub use finding::{CannotJudge, Finding, FindingKind, FrameRef};

use crate::trace::{AppEvent, NatEvent, NodeId, Trace, TraceKind};
use facts::{Facts, Source};
use stack::tcp::{FourTuple, State};
use stack::{Duration, Instant};
use std::collections::BTreeMap;
use wire::{Dir, FrameId};

/// Oracle settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OracleConfig {
    /// A half-open state shorter than this is a normal race, not a finding.
    pub half_open_grace: Duration,
}

impl Default for OracleConfig {
    fn default() -> Self {
        OracleConfig {
            half_open_grace: Duration::from_secs(5),
        }
    }
}

/// What the oracles made of a trace.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Analysis {
    /// Sorted by (time, kind, host, connection).
    pub findings: Vec<Finding>,
    /// Kinds a stack in the trace shows too little to judge, one entry per (kind, stack, why).
    pub cannot_judge: Vec<CannotJudge>,
}

/// Runs every oracle over a trace: findings plus what could not be judged.
///
/// The trace may hold only frames (a capture): name the endpoints in `meta.node_names`,
/// `meta.node_addrs` and `meta.stacks` (a `StackEvidence` with nothing but the stack's name) and
/// set each frame's `from` to the node owning its source address.
pub fn judge(trace: &Trace, cfg: &OracleConfig) -> Analysis {
    let facts = Facts::extract(trace);
    let mut out = Vec::new();
    rst_loss(&facts, &mut out);
    half_open(&facts, cfg, &mut out);
    time_wait(&facts, &mut out);
    stale_reuse(&facts, &mut out);
    nat_expiry(&facts, &mut out);
    keepalive(&facts, &mut out);
    rfc::check(trace, &facts, &mut out);
    out.sort_by(|a, b| {
        (a.time_us, a.kind, &a.host, &a.connection).cmp(&(
            b.time_us,
            b.kind,
            &b.host,
            &b.connection,
        ))
    });
    Analysis {
        findings: out,
        cannot_judge: cannot_judge(&facts),
    }
}

/// The findings of [`judge`].
pub fn analyze(trace: &Trace, cfg: &OracleConfig) -> Vec<Finding> {
    judge(trace, cfg).findings
}

fn fref(trace: &Trace, f: FrameId) -> FrameRef {
    FrameRef {
        segment: trace
            .meta
            .segment_names
            .get(f.segment.0)
            .cloned()
            .unwrap_or_else(|| format!("segment{}", f.segment.0)),
        number: f.number,
    }
}

fn with_frames(mut f: Finding, trace: &Trace, frames: &[FrameId]) -> Finding {
    for fr in frames {
        f = f.frame(fref(trace, *fr));
    }
    f
}

/// RST loss: an RST a stack generated (on the wire, logged, or owed by an abort call) that
/// never reached a peer that still held the connection.
fn rst_loss(facts: &Facts<'_>, out: &mut Vec<Finding>) {
    let trace = facts.trace;
    for l in &facts.lost {
        let r = &facts.rsts[l.rst];
        let mut f = Finding::new(
            FindingKind::RstLoss,
            l.time,
            r.conn,
            trace.node_name(r.node),
        )
        .cause(l.cause.clone());
        for e in &l.evidence {
            f = f.evidence(e.clone());
        }
        for e in &l.events {
            f = f.event(e.clone());
        }
        out.push(with_frames(f, trace, &l.frames));
    }
}

/// Why a peer does not hold a connection at `t`.
fn missing_cause(facts: &Facts<'_>, node: NodeId, conn: FourTuple, t: Instant) -> String {
    let Some(p) = facts.peer_of(node, conn) else {
        return "peer-unknown".into();
    };
    if let Some(m) = &p.via_nat {
        if facts.mapping_expired_before(m, t) {
            return "nat-expiry".into();
        }
    }
    if let Some(reboot) = facts.live.down_before(p.node, t) {
        return if reboot { "peer-reboot" } else { "peer-down" }.into();
    }
    // Did the peer's RST for this connection get lost?
    if facts.lost_rst_before(p.node, p.conn, t) {
        return "lost-rst".into();
    }
    if let Some(tl) = facts.timeline(p.node, p.conn) {
        if let Some(c) = tl.close_cause_before(t) {
            return format!("peer-closed ({c})");
        }
    }
    "peer-never-had-it".into()
}

/// The frames of `node`'s view of `conn` closest to `[s, e]`: the last one at or before `s` and
/// the first one at or after `e`.
fn frames_around(
    facts: &Facts<'_>,
    node: NodeId,
    conn: FourTuple,
    s: Instant,
    e: Instant,
) -> Vec<FrameId> {
    let segs = facts.wire.segs(node, conn);
    let i = segs.partition_point(|x| x.time <= s);
    let j = segs.partition_point(|x| x.time < e);
    let mut v: Vec<FrameId> = i
        .checked_sub(1)
        .map(|i| segs[i].frame)
        .into_iter()
        .collect();
    v.extend(segs.get(j).map(|x| x.frame));
    v
}

/// Half-open: one end holds a synchronized connection the other end (or a NAT on the path) has
/// forgotten, for longer than the grace period.
fn half_open(facts: &Facts<'_>, cfg: &OracleConfig, out: &mut Vec<Finding>) {
    let trace = facts.trace;
    if trace.meta.node_names.is_empty() {
        return;
    }
    for (&(node, conn), tl) in &facts.timelines {
        // Without a known peer (a scripted peer, a host outside the trace) nothing can be said.
        let Some(peer) = facts.peer_of(node, conn) else {
            continue;
        };
        // Breakpoints where the predicate can change.
        let mut points: Vec<Instant> = tl.changes.iter().map(|c| c.0).collect();
        points.extend(facts.live.transitions(node));
        if let Some(ptl) = facts.timeline(peer.node, peer.conn) {
            points.extend(ptl.changes.iter().map(|c| c.0));
        }
        points.extend(facts.live.transitions(peer.node));
        if let Some(m) = &peer.via_nat {
            points.extend(facts.mapping_end(m));
        }
        points.sort();
        points.dedup();
        let holds = |t: Instant| -> bool {
            matches!(
                tl.state_at(t),
                Some(State::Established | State::CloseWait | State::FinWait1 | State::FinWait2)
            ) && facts.host_up_at(node, t)
        };
        let mut start: Option<Instant> = None;
        let mut span: Option<(Instant, Instant)> = None;
        for &t in &points {
            let bad = holds(t) && !facts.peer_alive(node, conn, t);
            match (bad, start) {
                (true, None) => start = Some(t),
                (false, Some(s)) => {
                    if t.saturating_since(s) > cfg.half_open_grace {
                        span = Some((s, t));
                        break;
                    }
                    start = None;
                }
                _ => {}
            }
        }
        if span.is_none() {
            if let Some(s) = start {
                if trace.end.saturating_since(s) > cfg.half_open_grace {
                    span = Some((s, trace.end));
                }
            }
        }
        let Some((s, e)) = span else { continue };
        let cause = missing_cause(facts, node, conn, s);
        let f = Finding::new(FindingKind::HalfOpen, s, conn, trace.node_name(node))
            .cause(cause)
            .duration(e.saturating_since(s))
            .evidence(format!(
                "{} holds {} from {} to {}",
                trace.node_name(node),
                conn,
                s,
                e
            ))
            .evidence(format!(
                "peer {} without {}",
                trace.node_name(peer.node),
                peer.conn
            ));
        out.push(with_frames(
            f,
            trace,
            &frames_around(facts, node, conn, s, e),
        ));
    }
}

/// The first RST `node` sent on `conn` at or after `t`.
fn rst_sent_after(facts: &Facts<'_>, node: NodeId, conn: FourTuple, t: Instant) -> Option<FrameId> {
    facts
        .wire
        .segs(node, conn)
        .iter()
        .find(|s| s.time >= t && s.dir == Dir::Sent && s.flags.rst())
        .map(|s| s.frame)
}

/// TIME-WAIT left early because of a received segment; zero-linger aborts reported apart.
fn time_wait(facts: &Facts<'_>, out: &mut Vec<Finding>) {
    let trace = facts.trace;
    let mut seen = BTreeMap::new();
    for tw in &facts.time_wait_early {
        if seen.insert((tw.node, tw.conn, tw.time), ()).is_some() {
            continue;
        }
        let mut f = Finding::new(
            FindingKind::TimeWaitAssassination,
            tw.time,
            tw.conn,
            trace.node_name(tw.node),
        )
        .cause(tw.cause.clone())
        .duration(tw.after)
        .evidence(format!("TIME-WAIT ended after {} of 2*MSL", tw.after));
        if let Some(e) = &tw.event {
            f = f.event(e.clone());
        }
        out.push(with_frames(f, trace, &tw.frames));
    }
    // One deliberate abort per connection, whichever evidence saw it first.
    let mut aborts: BTreeMap<(NodeId, FourTuple), Finding> = BTreeMap::new();
    let mut order: Vec<&facts::Dropped> = facts.zero_linger.iter().collect();
    order.sort_by_key(|d| d.time);
    for ab in order {
        let f = aborts.entry((ab.node, ab.conn)).or_insert_with(|| {
            let f = Finding::new(
                FindingKind::DeliberateAbort,
                ab.time,
                ab.conn,
                trace.node_name(ab.node),
            )
            .cause("so-linger-0")
            .evidence("close with SO_LINGER 0: RST sent, TIME-WAIT skipped");
            let rst: Vec<FrameId> = rst_sent_after(facts, ab.node, ab.conn, ab.time)
                .into_iter()
                .collect();
            with_frames(f, trace, &rst)
        });
        if let Some(e) = &ab.event {
            f.events.push(e.clone());
        }
        if let Some(c) = &ab.call {
            f.evidence.push(format!("socket call {c}"));
        }
    }
    out.extend(aborts.into_values());
}

/// Stale reuse: an application wrote on a pooled connection its peer had already dropped.
fn stale_reuse(facts: &Facts<'_>, out: &mut Vec<Finding>) {
    let trace = facts.trace;
    for ev in &trace.events {
        let TraceKind::App {
            node,
            event: AppEvent::ReusedPooled { conn, idle_for },
        } = &ev.kind
        else {
            continue;
        };
        let t = ev.time;
        let own_alive = facts
            .timeline(*node, *conn)
            .and_then(|tl| tl.state_at(t))
            .is_some_and(|s| s != State::Closed);
        if own_alive && facts.peer_alive(*node, *conn, t) {
            continue;
        }
        let cause = if !own_alive {
            "reset-already-received".to_string()
        } else {
            missing_cause(facts, *node, *conn, t)
        };
        let f = Finding::new(FindingKind::StaleReuse, t, *conn, trace.node_name(*node))
            .cause(cause)
            .duration(*idle_for)
            .evidence(format!("pooled connection reused after {idle_for} idle"));
        out.push(with_frames(
            f,
            trace,
            &frames_around(facts, *node, *conn, t, t),
        ));
    }
}

/// NAT expiry of a mapping whose connection was still held by its inside host.
fn nat_expiry(facts: &Facts<'_>, out: &mut Vec<Finding>) {
    let trace = facts.trace;
    for ev in &trace.events {
        let TraceKind::Nat {
            node: nat,
            event:
                NatEvent::MappingExpired {
                    inside,
                    outside,
                    remote,
                    idle_for,
                },
        } = &ev.kind
        else {
            continue;
        };
        let conn = FourTuple {
            local: *inside,
            remote: *remote,
        };
        let Some(&host) = facts.addr_node.get(inside.ip()) else {
            continue;
        };
        let held = facts
            .timeline(host, conn)
            .and_then(|tl| tl.state_at(ev.time))
            .is_some_and(|s| s.is_synchronized() && s != State::TimeWait);
        if held {
            let f = Finding::new(FindingKind::NatExpiry, ev.time, conn, trace.node_name(host))
                .cause(format!("idle {idle_for}"))
                .duration(*idle_for)
                .evidence(format!(
                    "{} forgot {inside} as {outside} for {remote}",
                    trace.node_name(*nat)
                ));
            out.push(with_frames(
                f,
                trace,
                &frames_around(facts, host, conn, ev.time, ev.time),
            ));
        }
    }
}

/// Keepalive (stack) and heartbeat (application) detections, with the time from the last
/// segment heard on the connection.
fn keepalive(facts: &Facts<'_>, out: &mut Vec<Finding>) {
    let trace = facts.trace;
    let emit = |node: NodeId, conn: FourTuple, t: Instant, how: &str, data_only: bool| {
        let last = facts.wire.last_received(node, conn, t, data_only);
        let cause = if facts.peer_alive(node, conn, t) {
            format!("{how}: peer still alive (false positive)")
        } else {
            format!("{how}: peer gone")
        };
        let mut f = Finding::new(
            FindingKind::KeepaliveDetection,
            t,
            conn,
            trace.node_name(node),
        )
        .cause(cause);
        let mut frames: Vec<FrameId> = last.map(|l| l.frame).into_iter().collect();
        if let Some(l) = last {
            f = f
                .duration(t.saturating_since(l.time))
                .evidence(format!("last segment heard at {}", l.time));
        }
        frames.extend(facts.probes_between(node, conn, last.map(|l| l.time), t));
        with_frames(f, trace, &frames)
    };
    let mut kas: BTreeMap<(NodeId, FourTuple), Finding> = BTreeMap::new();
    let mut order: Vec<&facts::Dropped> = facts.keepalive_drops.iter().collect();
    order.sort_by_key(|d| d.time);
    for d in order {
        let f = kas
            .entry((d.node, d.conn))
            .or_insert_with(|| emit(d.node, d.conn, d.time, "keepalive", false));
        if let Some(e) = &d.event {
            f.events.push(e.clone());
        }
        if let Some(c) = &d.call {
            f.evidence.push(format!("socket call {c}"));
        }
    }
    out.extend(kas.into_values());
    for ev in &trace.events {
        if let TraceKind::App {
            node,
            event: AppEvent::Closed { conn, why, .. },
        } = &ev.kind
        {
            if why == "heartbeat lost" {
                out.push(emit(*node, *conn, ev.time, "application heartbeat", true));
            }
        }
    }
}

/// The smallest 4-tuple (for ranges over per-node maps).
const MIN_TUPLE: FourTuple = FourTuple {
    local: core::net::SocketAddrV4::new(core::net::Ipv4Addr::UNSPECIFIED, 0),
    remote: core::net::SocketAddrV4::new(core::net::Ipv4Addr::UNSPECIFIED, 0),
};

/// The kinds each stack in the trace shows too little to judge, where the trace holds
/// something that needed judging.
fn cannot_judge(facts: &Facts<'_>) -> Vec<CannotJudge> {
    let trace = facts.trace;
    let mut acc: BTreeMap<(FindingKind, String, String), Vec<String>> = BTreeMap::new();
    let mut add = |k: FindingKind, stack: &str, why: &str, host: &str| {
        let hosts = acc
            .entry((k, stack.to_string(), why.to_string()))
            .or_default();
        if !hosts.iter().any(|h| h == host) {
            hosts.push(host.to_string());
        }
    };
    for (&node, &src) in &facts.sources {
        let Some(ev) = trace.stack_of(node) else {
            continue;
        };
        let host = trace.node_name(node);
        let mine = facts
            .derived
            .range((node, MIN_TUPLE)..)
            .take_while(|(k, _)| k.0 == node);
        let mut tw_hits = false;
        let mut probes = false;
        let mut rst_while_open = false;
        let mut any_conn = false;
        for (&(_, conn), d) in mine {
            any_conn = true;
            tw_hits |= !d.time_wait_hits.is_empty();
            probes |= !d.probes.is_empty();
            rst_while_open |= d.timeline.changes.windows(2).any(|w| {
                w[1].2 == "rst-sent" && w[0].1.is_synchronized() && w[0].1 != State::TimeWait
            });
            let _ = conn;
        }
        let in_time_wait = facts
            .timelines
            .range((node, MIN_TUPLE)..)
            .take_while(|(k, _)| k.0 == node)
            .any(|(_, tl)| tl.changes.iter().any(|c| c.1 == State::TimeWait));
        if src == Source::Wire && tw_hits {
            add(
                FindingKind::TimeWaitAssassination,
                &ev.stack,
                "it reports neither events nor connection states, and the wire shows segments \
                 reaching TIME-WAIT but not whether they ended it",
                host,
            );
        }
        if src == Source::State && ev.time_wait.is_none() && in_time_wait {
            add(
                FindingKind::TimeWaitAssassination,
                &ev.stack,
                "it declares no TIME-WAIT length (2*MSL), so an early end cannot be told",
                host,
            );
        }
        if !ev.calls && !ev.events && rst_while_open {
            add(
                FindingKind::DeliberateAbort,
                &ev.stack,
                "no socket calls or events: an RST it sent on an open connection may be an \
                 SO_LINGER 0 close",
                host,
            );
        }
        if !ev.calls && !ev.events && any_conn {
            add(
                FindingKind::RstLoss,
                &ev.stack,
                "no socket calls or events: only RSTs that reached the wire are judged (one \
                 lost inside the stack, e.g. in its ARP queue, leaves no trace)",
                host,
            );
        }
        if !ev.calls && src == Source::Wire && probes {
            add(
                FindingKind::KeepaliveDetection,
                &ev.stack,
                "no socket calls, states or events: a keepalive timeout drops the connection \
                 without a word on the wire",
                host,
            );
        }
        if !ev.calls && any_conn {
            add(
                FindingKind::StaleReuse,
                &ev.stack,
                "no socket calls: reusing a dead pooled connection is seen only by the \
                 application",
                host,
            );
        }
    }
    acc.into_iter()
        .map(|((kind, stack, why), hosts)| CannotJudge {
            kind,
            stack,
            why,
            hosts,
        })
        .collect()
}

#[cfg(test)]
mod tests;
