//! Oracles: read a [`Trace`] (frames + the stacks', NAT boxes' and applications' event logs) and
//! report typed [`Finding`]s — RST loss, half-open connections, TIME-WAIT assassination, stale
//! reuse of pooled connections, NAT expiry and keepalive detection times.

mod facts;
pub mod finding;

pub use finding::{Finding, FindingKind};

use crate::trace::{AppEvent, NatEvent, NodeId, Trace, TraceKind};
use facts::Facts;
use stack::tcp::{FourTuple, State};
use stack::{Duration, Instant};

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

/// Runs every oracle over a trace. Findings come out sorted by (time, kind, host, connection).
pub fn analyze(trace: &Trace, cfg: &OracleConfig) -> Vec<Finding> {
    let facts = Facts::extract(trace);
    let mut out = Vec::new();
    rst_loss(trace, &facts, &mut out);
    half_open(trace, &facts, cfg, &mut out);
    time_wait(trace, &facts, &mut out);
    stale_reuse(trace, &facts, &mut out);
    nat_expiry(trace, &facts, &mut out);
    keepalive(trace, &facts, &mut out);
    out.sort_by(|a, b| {
        (a.time_us, a.kind, &a.host, &a.connection).cmp(&(
            b.time_us,
            b.kind,
            &b.host,
            &b.connection,
        ))
    });
    out
}

/// RST loss: an RST a stack generated that was dropped on its way (ARP queue, link, NAT).
fn rst_loss(trace: &Trace, facts: &Facts, out: &mut Vec<Finding>) {
    for rst in &facts.rsts_sent {
        // Only an RST the peer needed counts: one whose peer is down (or never had the
        // connection) leaves nobody half-open.
        let needed = facts.peer_of(rst.node, rst.conn).is_some_and(|p| {
            facts.host_up_at(p.node, rst.time)
                && facts
                    .timeline(p.node, p.conn)
                    .and_then(|tl| tl.state_at(rst.time))
                    .is_some_and(|s| s != State::Closed)
        });
        if !needed {
            continue;
        }
        if let Some(drop) = facts.find_rst_drop(rst) {
            let mut f = Finding::new(
                FindingKind::RstLoss,
                drop.time,
                rst.conn,
                trace.node_name(rst.node),
            )
            .cause(drop.cause.clone())
            .evidence(format!(
                "{} rst sent seq={} ({})",
                rst.time, rst.seq, rst.reason
            ))
            .evidence(drop.evidence.clone());
            if let Some(p) = facts.peer_of(rst.node, rst.conn) {
                f = f.evidence(format!("peer {} {}", trace.node_name(p.node), p.conn));
            }
            out.push(f);
        }
    }
}

/// Why a peer does not hold a connection at `t`.
fn missing_cause(facts: &Facts, node: NodeId, conn: FourTuple, t: Instant) -> String {
    let peer = facts.peer_of(node, conn);
    if let Some(p) = &peer {
        if let Some(m) = &p.via_nat {
            if facts.mapping_expired_before(m, t) {
                return "nat-expiry".into();
            }
        }
        if let Some(reboot) = facts.host_down_before(p.node, t) {
            return if reboot { "peer-reboot" } else { "peer-down" }.into();
        }
        // Did the peer's RST for this connection get lost?
        let lost = facts.rsts_sent.iter().any(|r| {
            r.node == p.node && r.conn == p.conn && r.time <= t && facts.find_rst_drop(r).is_some()
        });
        if lost {
            return "lost-rst".into();
        }
        if let Some(tl) = facts.timeline(p.node, p.conn) {
            if let Some(c) = tl.close_cause_before(t) {
                return format!("peer-closed ({c})");
            }
        }
        return "peer-never-had-it".into();
    }
    "peer-unknown".into()
}

/// Half-open: one end holds a synchronized connection the other end (or a NAT on the path) has
/// forgotten, for longer than the grace period.
fn half_open(trace: &Trace, facts: &Facts, cfg: &OracleConfig, out: &mut Vec<Finding>) {
    for ((node, conn), tl) in &facts.timelines {
        let (node, conn) = (NodeId(*node), *conn);
        if trace.meta.node_names.is_empty() {
            continue;
        }
        // Without a known peer (a scripted peer, a host outside the trace) nothing can be said.
        let Some(peer) = facts.peer_of(node, conn) else {
            continue;
        };
        let peer = Some(peer);
        // Breakpoints where the predicate can change.
        let mut points: Vec<Instant> = tl.changes.iter().map(|c| c.0).collect();
        points.extend(facts.host_transitions(node));
        if let Some(p) = &peer {
            if let Some(ptl) = facts.timeline(p.node, p.conn) {
                points.extend(ptl.changes.iter().map(|c| c.0));
            }
            points.extend(facts.host_transitions(p.node));
            if let Some(m) = &p.via_nat {
                points.extend(facts.mapping_end(m));
            }
        }
        points.sort();
        points.dedup();
        let holds = |t: Instant| -> bool {
            matches!(
                tl.state_at(t),
                Some(State::Established | State::CloseWait | State::FinWait1 | State::FinWait2)
            ) && facts.host_up_at(node, t)
        };
        let peer_has = |t: Instant| -> bool {
            match &peer {
                None => false,
                Some(p) => {
                    let alive = facts.host_up_at(p.node, t)
                        && facts
                            .timeline(p.node, p.conn)
                            .and_then(|ptl| ptl.state_at(t))
                            .is_some_and(|s| s != State::Closed);
                    let path = p
                        .via_nat
                        .as_ref()
                        .is_none_or(|m| !facts.mapping_expired_before(m, t));
                    alive && path
                }
            }
        };
        let mut start: Option<Instant> = None;
        let mut reported = false;
        let mut check = |s: Instant, e: Instant, out: &mut Vec<Finding>| {
            if !reported && e.saturating_since(s) > cfg.half_open_grace {
                reported = true;
                let cause = missing_cause(facts, node, conn, s);
                let mut f = Finding::new(FindingKind::HalfOpen, s, conn, trace.node_name(node))
                    .cause(cause)
                    .duration(e.saturating_since(s))
                    .evidence(format!(
                        "{} holds {} from {} to {}",
                        trace.node_name(node),
                        conn,
                        s,
                        e
                    ));
                if let Some(p) = &peer {
                    f = f.evidence(format!(
                        "peer {} without {}",
                        trace.node_name(p.node),
                        p.conn
                    ));
                }
                out.push(f);
            }
        };
        for &t in &points {
            let bad = holds(t) && !peer_has(t);
            match (bad, start) {
                (true, None) => start = Some(t),
                (false, Some(s)) => {
                    check(s, t, out);
                    start = None;
                }
                _ => {}
            }
        }
        if let Some(s) = start {
            check(s, trace.end, out);
        }
    }
}

/// TIME-WAIT left early because of a received segment; zero-linger aborts reported apart.
fn time_wait(trace: &Trace, facts: &Facts, out: &mut Vec<Finding>) {
    for tw in &facts.time_wait_early {
        out.push(
            Finding::new(
                FindingKind::TimeWaitAssassination,
                tw.time,
                tw.conn,
                trace.node_name(tw.node),
            )
            .cause(tw.cause.clone())
            .duration(tw.after)
            .evidence(format!("TIME-WAIT ended after {} of 2*MSL", tw.after)),
        );
    }
    for ab in &facts.zero_linger {
        out.push(
            Finding::new(
                FindingKind::DeliberateAbort,
                ab.0,
                ab.2,
                trace.node_name(ab.1),
            )
            .cause("so-linger-0")
            .evidence("close with SO_LINGER 0: RST sent, TIME-WAIT skipped"),
        );
    }
}

/// Stale reuse: an application wrote on a pooled connection its peer had already dropped.
fn stale_reuse(trace: &Trace, facts: &Facts, out: &mut Vec<Finding>) {
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
        let peer_alive = facts.peer_of(*node, *conn).is_some_and(|p| {
            facts.host_up_at(p.node, t)
                && facts
                    .timeline(p.node, p.conn)
                    .and_then(|tl| tl.state_at(t))
                    .is_some_and(|s| s != State::Closed)
                && p.via_nat
                    .as_ref()
                    .is_none_or(|m| !facts.mapping_expired_before(m, t))
        });
        if own_alive && peer_alive {
            continue;
        }
        let cause = if !own_alive {
            "reset-already-received".to_string()
        } else {
            missing_cause(facts, *node, *conn, t)
        };
        out.push(
            Finding::new(FindingKind::StaleReuse, t, *conn, trace.node_name(*node))
                .cause(cause)
                .duration(*idle_for)
                .evidence(format!("pooled connection reused after {idle_for} idle")),
        );
    }
}

/// NAT expiry of a mapping whose connection was still held by its inside host.
fn nat_expiry(trace: &Trace, facts: &Facts, out: &mut Vec<Finding>) {
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
        let Some(host) = trace.node_of_addr(*inside.ip()) else {
            continue;
        };
        let held = facts
            .timeline(host, conn)
            .and_then(|tl| tl.state_at(ev.time))
            .is_some_and(|s| s.is_synchronized() && s != State::TimeWait);
        if held {
            out.push(
                Finding::new(FindingKind::NatExpiry, ev.time, conn, trace.node_name(host))
                    .cause(format!("idle {idle_for}"))
                    .duration(*idle_for)
                    .evidence(format!(
                        "{} forgot {inside} as {outside} for {remote}",
                        trace.node_name(*nat)
                    )),
            );
        }
    }
}

/// Keepalive (stack) and heartbeat (application) detections, with the time from the last
/// segment heard on the connection.
fn keepalive(trace: &Trace, facts: &Facts, out: &mut Vec<Finding>) {
    let mut emit = |node: NodeId, conn: FourTuple, t: Instant, how: &str, data_only: bool| {
        let last = facts.last_heard(trace, conn, t, data_only);
        let peer_alive = facts.peer_of(node, conn).is_some_and(|p| {
            facts.host_up_at(p.node, t)
                && facts
                    .timeline(p.node, p.conn)
                    .and_then(|tl| tl.state_at(t))
                    .is_some_and(|s| s != State::Closed)
        });
        let cause = if peer_alive {
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
        if let Some(l) = last {
            f = f
                .duration(t.saturating_since(l))
                .evidence(format!("last segment heard at {l}"));
        }
        out.push(f);
    };
    for d in &facts.keepalive_drops {
        emit(d.1, d.2, d.0, "keepalive", false);
    }
    for ev in &trace.events {
        if let TraceKind::App {
            node,
            event: AppEvent::Closed { conn, why, .. },
        } = &ev.kind
        {
            if why == "heartbeat lost" {
                emit(*node, *conn, ev.time, "application heartbeat", true);
            }
        }
    }
}
