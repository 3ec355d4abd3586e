//! The facts oracles reason about, pulled out of a trace once: each stack's view of the wire,
//! connection timelines per host, the RSTs each host owed its peers and whether they arrived,
//! NAT mappings, host up/down, socket calls.
//!
//! Timelines come from the best evidence a host's stack gives, in this order: its event log
//! (exact, with causes), the connection states it reports, else the wire (what the host must
//! have believed from what it sent and received, see [`super::wire`]).

use super::wire::{replay, CallEffect, Derived, Dir, FrameId, Liveness, Timeline, Wire};
use crate::dut::Errno;
use crate::trace::{CallOp, Fate, NatEvent, NodeId, SocketCall, Trace, TraceKind};
use core::net::SocketAddrV4;
use stack::arp::{ArpDropReason, ArpEvent};
use stack::tcp::{DropCause, FourTuple, State, TcpEvent};
use stack::wire::{self, ChecksumMode, SeqNumber};
use stack::EventKind;
use stack::{Duration, Instant};
use std::collections::BTreeMap;

/// Where a host's connection states come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Events,
    State,
    Wire,
}

/// A drop some node or link logged (stack/router ARP queue, NAT, impairment).
pub struct DropRecord {
    pub time: Instant,
    pub src: SocketAddrV4,
    pub dst: SocketAddrV4,
    pub seq: SeqNumber,
    pub cause: String,
    pub evidence: String,
    /// An event was used to know it.
    pub from_event: bool,
    pub frame: Option<FrameId>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mapping {
    pub nat: NodeId,
    pub inside: SocketAddrV4,
    pub outside: SocketAddrV4,
    pub remote: SocketAddrV4,
    pub created: Instant,
    pub expired: Option<Instant>,
}

pub struct Peer {
    pub node: NodeId,
    pub conn: FourTuple,
    pub via_nat: Option<Mapping>,
}

/// An RST a host owed its peer: seen on the wire, due from an abort call, or logged.
pub struct RstDue {
    pub node: NodeId,
    pub conn: FourTuple,
    pub time: Instant,
    pub seq: Option<SeqNumber>,
    pub frame: Option<FrameId>,
    /// Why it was sent (an event's reason, `abort`, or `on the wire`).
    pub reason: String,
    pub event: Option<String>,
}

/// An RST that never reached its peer.
pub struct LostRst {
    pub rst: usize,
    pub time: Instant,
    pub cause: String,
    pub frames: Vec<FrameId>,
    pub events: Vec<String>,
    pub evidence: Vec<String>,
}

pub struct TimeWaitEarly {
    pub node: NodeId,
    pub conn: FourTuple,
    pub time: Instant,
    pub after: Duration,
    pub cause: String,
    pub frames: Vec<FrameId>,
    pub event: Option<String>,
}

/// A connection a host dropped on its own (keepalive timeout), or closed with SO_LINGER 0.
pub struct Dropped {
    pub node: NodeId,
    pub conn: FourTuple,
    pub time: Instant,
    pub event: Option<String>,
    pub call: Option<String>,
}

pub struct Facts<'t> {
    pub trace: &'t Trace,
    pub live: Liveness,
    pub wire: Wire,
    pub sources: BTreeMap<NodeId, Source>,
    pub timelines: BTreeMap<(NodeId, FourTuple), Timeline>,
    /// Wire-derived extras (keepalive probes, TIME-WAIT hits) per connection.
    pub derived: BTreeMap<(NodeId, FourTuple), Derived>,
    by_conn: BTreeMap<FourTuple, NodeId>,
    /// Drops of RST segments only (what the oracles look for), indexed by endpoints.
    pub drops: Vec<DropRecord>,
    drops_by_src: BTreeMap<SocketAddrV4, Vec<usize>>,
    drops_by_dst: BTreeMap<SocketAddrV4, Vec<usize>>,
    pub mappings: Vec<Mapping>,
    /// Open mapping by (NAT, inside, outside, remote); first mapping by (inside, remote) and by
    /// (outside, remote).
    open_mappings: BTreeMap<(NodeId, SocketAddrV4, SocketAddrV4, SocketAddrV4), usize>,
    by_inside: BTreeMap<(SocketAddrV4, SocketAddrV4), usize>,
    by_outside: BTreeMap<(SocketAddrV4, SocketAddrV4), usize>,
    /// Lost RSTs by (sender, connection): when each was sent.
    lost_by: BTreeMap<(NodeId, FourTuple), Vec<Instant>>,
    /// The node owning each address.
    pub addr_node: BTreeMap<core::net::Ipv4Addr, NodeId>,
    pub calls: Vec<(Instant, NodeId, SocketCall)>,
    pub rsts: Vec<RstDue>,
    pub lost: Vec<LostRst>,
    pub time_wait_early: Vec<TimeWaitEarly>,
    pub zero_linger: Vec<Dropped>,
    pub keepalive_drops: Vec<Dropped>,
}

/// How long an RST may still be on its way when a run ends (ARP resolution: RFC 1122 §2.3.2.1
/// retransmits requests about once a second; stacks give up after a few).
pub(super) const IN_FLIGHT: Duration = Duration::from_secs(3);

/// How long after the socket call that caused it a real-time stack's frame may be stamped
/// ([`crate::trace::StackEvidence::real_time`]): a live kernel sends from softirq context and
/// its frames are stamped as they leave, which on a loaded machine can be after the call that
/// queued an RST behind an ARP request returned. An ARP request that late still shows where the
/// RST waited. Far below ARP's retransmission interval (RFC 1122 §2.3.2.1: at most one request
/// per second per address), so it never takes a later resolution for this one.
pub const REAL_TIME_SETTLE: Duration = Duration::from_millis(100);

/// Whether an Ethernet frame carries an IPv4 TCP segment with RST set, read at fixed offsets
/// (no full parse: most dropped frames are not RSTs).
fn is_tcp_rst(b: &[u8]) -> bool {
    if b.get(12..14) != Some(&[0x08, 0x00][..]) || b.get(23) != Some(&6) {
        return false;
    }
    let ihl = b.get(14).map_or(0, |v| usize::from(v & 0x0f) * 4);
    b.get(14 + ihl + 13).is_some_and(|f| f & 0x04 != 0)
}

fn seg_name(trace: &Trace, f: FrameId) -> &str {
    trace
        .meta
        .segment_names
        .get(f.segment.0)
        .map(String::as_str)
        .unwrap_or("?")
}

impl<'t> Facts<'t> {
    pub fn extract(trace: &'t Trace) -> Facts<'t> {
        let live = Liveness::of(trace);
        let wire = Wire::of(trace, &live);
        let mut f = Facts {
            trace,
            live,
            wire,
            sources: BTreeMap::new(),
            timelines: BTreeMap::new(),
            derived: BTreeMap::new(),
            by_conn: BTreeMap::new(),
            drops: Vec::new(),
            drops_by_src: BTreeMap::new(),
            drops_by_dst: BTreeMap::new(),
            mappings: Vec::new(),
            open_mappings: BTreeMap::new(),
            by_inside: BTreeMap::new(),
            by_outside: BTreeMap::new(),
            lost_by: BTreeMap::new(),
            addr_node: BTreeMap::new(),
            calls: Vec::new(),
            rsts: Vec::new(),
            lost: Vec::new(),
            time_wait_early: Vec::new(),
            zero_linger: Vec::new(),
            keepalive_drops: Vec::new(),
        };
        for (i, s) in trace.meta.stacks.iter().enumerate() {
            if let Some(s) = s {
                let src = if s.events {
                    Source::Events
                } else if s.state {
                    Source::State
                } else {
                    Source::Wire
                };
                f.sources.insert(NodeId(i), src);
            }
        }
        for (i, addrs) in trace.meta.node_addrs.iter().enumerate() {
            for a in addrs {
                f.addr_node.entry(*a).or_insert(NodeId(i));
            }
        }
        let mut event_rsts = Vec::new();
        for ev in &trace.events {
            let t = ev.time;
            match &ev.kind {
                TraceKind::Stack { node, event } => match &event.kind {
                    EventKind::Tcp(e) if f.source(*node) == Some(Source::Events) => {
                        f.tcp_event(*node, event.time, e, &format!("{event}"), &mut event_rsts)
                    }
                    EventKind::Arp(ArpEvent::Dropped { packet, reason, .. })
                        if packet.protocol == wire::IpProtocol::Tcp && packet.flags.rst() =>
                    {
                        f.drops.push(DropRecord {
                            time: event.time,
                            src: SocketAddrV4::new(packet.src, packet.src_port),
                            dst: SocketAddrV4::new(packet.dst, packet.dst_port),
                            seq: packet.seq,
                            cause: match reason {
                                ArpDropReason::QueueOverflow { .. } => "arp-queue-overflow",
                                ArpDropReason::QueueBytes => "arp-queue-bytes",
                                ArpDropReason::ResolutionFailed => "arp-resolution-failed",
                            }
                            .to_string(),
                            evidence: format!("on {}: {event}", trace.node_name(*node)),
                            from_event: true,
                            frame: None,
                        });
                    }
                    _ => {}
                },
                TraceKind::ConnState { node, conn, state }
                    if f.source(*node) == Some(Source::State) =>
                {
                    let (s, why) = match state {
                        Some(s) => (*s, "reported"),
                        None => (State::Closed, "reported-gone"),
                    };
                    let tl = f.timelines.entry((*node, *conn)).or_default();
                    if tl.changes.last().is_none_or(|c| c.1 != s) {
                        tl.changes.push((t, s, why));
                    }
                }
                TraceKind::Call { node, call } => f.calls.push((t, *node, call.clone())),
                TraceKind::Nat { node, event } => f.nat_event(*node, t, event),
                TraceKind::HostDown { node, reboot: true }
                    if f.source(*node) == Some(Source::Events) =>
                {
                    // A reboot forgets every connection without a word on the wire.
                    for ((n, _), tl) in f.timelines.iter_mut() {
                        if n == node && tl.changes.last().is_some_and(|c| c.1 != State::Closed) {
                            tl.changes.push((t, State::Closed, "reboot"));
                        }
                    }
                }
                TraceKind::Frame(fr) => {
                    // Only RST drops matter (RST loss); the TCP flags sit at a fixed offset, so
                    // other drops are skipped without parsing.
                    let rst = is_tcp_rst(&fr.bytes);
                    if let (Fate::Dropped(why), true) = (&fr.fate, rst) {
                        if let Ok(wire::Frame::Tcp { ip, tcp, .. }) =
                            wire::parse_frame(&fr.bytes, ChecksumMode::Ignore)
                        {
                            let id = FrameId {
                                segment: fr.segment,
                                number: fr.number,
                            };
                            f.drops.push(DropRecord {
                                time: t,
                                src: SocketAddrV4::new(ip.src_addr, tcp.src_port),
                                dst: SocketAddrV4::new(ip.dst_addr, tcp.dst_port),
                                seq: tcp.seq,
                                cause: format!("link-{why}"),
                                evidence: format!(
                                    "frame {} on segment {} dropped ({why})",
                                    fr.number,
                                    seg_name(trace, id)
                                ),
                                from_event: false,
                                frame: Some(id),
                            });
                        }
                    }
                }
                _ => {}
            }
        }
        for (i, d) in f.drops.iter().enumerate() {
            f.drops_by_src.entry(d.src).or_default().push(i);
            f.drops_by_dst.entry(d.dst).or_default().push(i);
        }
        f.wire_timelines();
        for (n, c) in f.timelines.keys() {
            f.by_conn.entry(*c).or_insert(*n);
        }
        f.rsts_due(event_rsts);
        f.judge_rsts();
        f.state_time_wait();
        f.call_drops();
        f
    }

    pub fn source(&self, node: NodeId) -> Option<Source> {
        self.sources.get(&node).copied()
    }

    fn tcp_event(
        &mut self,
        node: NodeId,
        t: Instant,
        e: &TcpEvent,
        text: &str,
        rsts: &mut Vec<RstDue>,
    ) {
        match e {
            TcpEvent::StateChange {
                conn, to, cause, ..
            } => self
                .timelines
                .entry((node, *conn))
                .or_default()
                .changes
                .push((t, *to, cause.name())),
            TcpEvent::RstSent {
                conn, seq, reason, ..
            } => rsts.push(RstDue {
                node,
                conn: *conn,
                time: t,
                seq: Some(*seq),
                frame: None,
                reason: reason.name().to_string(),
                event: Some(text.to_string()),
            }),
            TcpEvent::TimeWaitEnded {
                conn,
                after,
                early: true,
                cause,
            } => {
                let frames = self.frame_at(node, *conn, t);
                self.time_wait_early.push(TimeWaitEarly {
                    node,
                    conn: *conn,
                    time: t,
                    after: *after,
                    cause: cause.name().to_string(),
                    frames,
                    event: Some(text.to_string()),
                })
            }
            TcpEvent::ConnectionDropped {
                conn,
                reason,
                state,
            } => {
                let d = Dropped {
                    node,
                    conn: *conn,
                    time: t,
                    event: Some(text.to_string()),
                    call: None,
                };
                match reason {
                    DropCause::ZeroLinger if *state != State::Listen => self.zero_linger.push(d),
                    DropCause::KeepaliveTimeout => self.keepalive_drops.push(d),
                    _ => {}
                }
            }
            _ => {}
        }
    }

    /// The segment `node` received on `conn` at `t` (what ended TIME-WAIT, say), if any.
    fn frame_at(&self, node: NodeId, conn: FourTuple, t: Instant) -> Vec<FrameId> {
        self.wire
            .last_received(node, conn, t, false)
            .filter(|s| s.time == t)
            .map(|s| vec![s.frame])
            .unwrap_or_default()
    }

    fn nat_event(&mut self, node: NodeId, t: Instant, event: &NatEvent) {
        match event {
            NatEvent::MappingCreated {
                inside,
                outside,
                remote,
            } => {
                let i = self.mappings.len();
                self.mappings.push(Mapping {
                    nat: node,
                    inside: *inside,
                    outside: *outside,
                    remote: *remote,
                    created: t,
                    expired: None,
                });
                self.open_mappings
                    .insert((node, *inside, *outside, *remote), i);
                self.by_inside.entry((*inside, *remote)).or_insert(i);
                self.by_outside.entry((*outside, *remote)).or_insert(i);
            }
            NatEvent::MappingExpired {
                inside,
                outside,
                remote,
                ..
            } => {
                if let Some(i) = self
                    .open_mappings
                    .remove(&(node, *inside, *outside, *remote))
                {
                    self.mappings[i].expired = Some(t);
                }
            }
            NatEvent::NoMapping {
                from, to, flags, ..
            } if flags.rst() => self.drops.push(DropRecord {
                time: t,
                src: *from,
                dst: *to,
                seq: SeqNumber(0),
                cause: "nat-no-mapping".into(),
                evidence: format!("{t} on {}: {event}", self.trace.node_name(node)),
                from_event: false,
                frame: None,
            }),
            NatEvent::NoMapping { .. } => {}
        }
    }

    /// Timelines of the hosts whose stack shows neither events nor states, from the wire, the
    /// socket calls and reboots; wire extras (probes, TIME-WAIT hits) for every host.
    fn wire_timelines(&mut self) {
        let mut calls: BTreeMap<(NodeId, FourTuple), Vec<(Instant, CallEffect)>> = BTreeMap::new();
        for (t, n, c) in &self.calls {
            let Some(conn) = c.conn else { continue };
            let eff = match (&c.op, &c.result) {
                (CallOp::Abort, _) | (CallOp::Close { linger_zero: true }, _) => {
                    CallEffect::Aborted
                }
                (_, Err(Errno::ECONNRESET | Errno::ETIMEDOUT | Errno::ECONNREFUSED)) => {
                    CallEffect::Failed
                }
                _ => continue,
            };
            calls.entry((*n, conn)).or_default().push((*t, eff));
        }
        let keys: Vec<(NodeId, FourTuple)> = self
            .wire
            .conns
            .keys()
            .chain(calls.keys())
            .copied()
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        for key in keys {
            let tw = self.trace.stack_of(key.0).and_then(|s| s.time_wait);
            let d = replay(
                self.wire.segs(key.0, key.1),
                calls.get(&key).map(Vec::as_slice).unwrap_or(&[]),
                &self.live.reboots(key.0),
                tw,
                self.trace.end,
            );
            if self.source(key.0) == Some(Source::Wire) && !d.timeline.changes.is_empty() {
                self.timelines.insert(key, d.timeline.clone());
            }
            self.derived.insert(key, d);
        }
    }

    /// Every RST each host owed: those on the wire, those its log says it generated, and those
    /// an abort call asked for (RFC 9293 §3.10.4 ABORT: "send a reset segment" in SYN-RECEIVED,
    /// ESTABLISHED, FIN-WAIT-1, FIN-WAIT-2 and CLOSE-WAIT).
    fn rsts_due(&mut self, event_rsts: Vec<RstDue>) {
        for ((n, c), segs) in &self.wire.conns {
            for s in segs {
                if s.dir == Dir::Sent && s.flags.rst() {
                    self.rsts.push(RstDue {
                        node: *n,
                        conn: *c,
                        time: s.time,
                        seq: Some(s.seq),
                        frame: Some(s.frame),
                        reason: "on the wire".into(),
                        event: None,
                    });
                }
            }
        }
        // Logged RSTs the wire never saw.
        for r in event_rsts {
            let seen = self
                .wire_rst_for(r.node, r.conn, r.time)
                .is_some_and(|w| Some(w.seq) == r.seq);
            if !seen {
                self.rsts.push(r);
            }
        }
        // Abort calls whose RST the wire never saw (stacks without events only: a log shows
        // these RSTs itself).
        let mut due = Vec::new();
        for (t, n, c) in &self.calls {
            if self.source(*n) == Some(Source::Events) {
                continue;
            }
            let Some(conn) = c.conn else { continue };
            if !matches!(c.op, CallOp::Abort | CallOp::Close { linger_zero: true }) {
                continue;
            }
            let owed = self.timeline(*n, conn).and_then(|tl| tl.state_before(*t));
            if !matches!(
                owed,
                Some(
                    State::SynReceived
                        | State::Established
                        | State::FinWait1
                        | State::FinWait2
                        | State::CloseWait
                )
            ) {
                continue;
            }
            if self.wire_rst_for(*n, conn, *t).is_none() {
                due.push(RstDue {
                    node: *n,
                    conn,
                    time: *t,
                    seq: None,
                    frame: None,
                    reason: format!("{} call", c.op),
                    event: None,
                });
            }
        }
        self.rsts.extend(due);
    }

    /// The RST `node` put on the wire for `conn` owing to something at `t`: the first one it
    /// sent at or after `t` before anything more arrived on the connection (an RST may wait for
    /// ARP; once the peer speaks again, a later RST answers that instead).
    fn wire_rst_for(&self, node: NodeId, conn: FourTuple, t: Instant) -> Option<&super::wire::Seg> {
        let segs = self.wire.segs(node, conn);
        let from = segs.partition_point(|s| s.time < t);
        segs[from..]
            .iter()
            .take_while(|s| s.dir == Dir::Sent || s.time == t)
            .find(|s| s.dir == Dir::Sent && s.flags.rst())
    }

    /// Which owed RSTs never reached their peer, and why.
    fn judge_rsts(&mut self) {
        let mut lost = Vec::new();
        for (i, r) in self.rsts.iter().enumerate() {
            let Some(p) = self.peer_of(r.node, r.conn) else {
                continue;
            };
            // Only an RST the peer needed counts: one whose peer is down (or never had the
            // connection) leaves nobody half-open.
            let needed = self.live.up_at(p.node, r.time)
                && self
                    .timeline(p.node, p.conn)
                    .and_then(|tl| tl.state_at(r.time))
                    .is_some_and(|s| s != State::Closed);
            if !needed {
                continue;
            }
            let mut l = LostRst {
                rst: i,
                time: r.time,
                cause: String::new(),
                frames: r.frame.into_iter().collect(),
                events: r.event.iter().cloned().collect(),
                evidence: vec![format!(
                    "{} rst sent{} ({})",
                    r.time,
                    r.seq.map_or(String::new(), |s| format!(" seq={s}")),
                    r.reason
                )],
            };
            // Every drop of an RST on record (a link's, on the sender's own segment or
            // further on; an ARP queue's; a NAT's), the first one on its way to the peer.
            let drop = self.find_rst_drop(r);
            // Still on its way (in an ARP queue, in a router) when the run ended: not lost,
            // unless a drop is on record.
            let in_flight = self.trace.end < r.time + IN_FLIGHT;
            if in_flight && drop.is_none() {
                continue;
            }
            if r.frame.is_some() {
                // On the wire: did the peer get it? (Dropped on the sender's own segment, it
                // did not; the link's drop record names why.) A later RST with the same
                // sequence number to the same peer (SND.NXT had not moved; through a NAT, on a
                // new mapping) answers for itself: only an arrival up to the moment it is sent
                // counts for this one (it cannot arrive at the instant it leaves: every link
                // has a delay).
                let next = self
                    .rsts
                    .iter()
                    .filter(|o| o.time > r.time && o.seq == r.seq)
                    .filter(|o| {
                        self.peer_of(o.node, o.conn)
                            .is_some_and(|q| q.node == p.node && q.conn == p.conn)
                    })
                    .map(|o| o.time)
                    .min();
                let arrived = self.wire.segs(p.node, p.conn).iter().any(|s| {
                    s.dir == Dir::Received
                        && s.flags.rst()
                        && s.time >= r.time
                        && next.is_none_or(|n| s.time <= n)
                        && Some(s.seq) == r.seq
                });
                if arrived {
                    continue;
                }
                l.cause = drop.map_or_else(|| "lost-in-transit".into(), |d| d.cause.clone());
            } else {
                // Never on the wire. The host's last segment on the connection shows what it
                // held; an ARP resolution under way shows where the RST waited.
                let segs = self.wire.segs(r.node, r.conn);
                let i = segs.partition_point(|s| s.time <= r.time);
                l.frames.extend(i.checked_sub(1).map(|i| segs[i].frame));
                let settle = match self.trace.stack_of(r.node) {
                    Some(s) if s.real_time => REAL_TIME_SETTLE,
                    _ => Duration::ZERO,
                };
                let arp = self.wire.arp_pending_at(r.node, r.time, settle);
                if let Some((req, reply)) = arp {
                    l.frames.push(req.frame);
                    l.frames.extend(reply.map(|r| r.frame));
                    l.evidence.push(format!(
                        "frame {} on segment {}: ARP request for {} pending",
                        req.frame.number,
                        seg_name(self.trace, req.frame),
                        req.addr
                    ));
                }
                l.cause = match (drop.filter(|d| d.from_event), arp) {
                    (Some(d), _) => d.cause.clone(),
                    // Dropped while the host was resolving its next hop: the ARP pending
                    // queue lost it (RFC 1122 §2.3.2.2 asks it to hold at least one).
                    (None, Some((_, Some(_)))) => "arp-queue-overflow".into(),
                    (None, Some((_, None))) => "arp-resolution-failed".into(),
                    (None, None) => "never-sent".into(),
                };
            }
            if let Some(d) = drop {
                l.time = d.time;
                l.evidence.push(d.evidence.clone());
                if d.from_event {
                    l.events.push(d.evidence.clone());
                }
                l.frames.extend(d.frame);
            }
            l.evidence
                .push(format!("peer {} {}", self.trace.node_name(p.node), p.conn));
            l.frames.sort();
            l.frames.dedup();
            lost.push(l);
        }
        for l in &lost {
            let r = &self.rsts[l.rst];
            self.lost_by
                .entry((r.node, r.conn))
                .or_default()
                .push(r.time);
        }
        self.lost = lost;
    }

    /// TIME-WAIT left early, from reported states (hosts without events).
    fn state_time_wait(&mut self) {
        let mut out = Vec::new();
        for ((n, c), tl) in &self.timelines {
            if self.source(*n) != Some(Source::State) {
                continue;
            }
            let Some(tw) = self.trace.stack_of(*n).and_then(|s| s.time_wait) else {
                continue;
            };
            for w in tl.changes.windows(2) {
                let (t0, s0, _) = w[0];
                let (t1, _, _) = w[1];
                if s0 != State::TimeWait || t1.saturating_since(t0) >= tw {
                    continue;
                }
                let seg = self.wire.last_received(*n, *c, t1, false);
                let (cause, frames) = match seg.filter(|s| s.time == t1) {
                    Some(s) if s.flags.rst() => ("rst-received", vec![s.frame]),
                    Some(s) if s.flags.syn() => ("syn-received", vec![s.frame]),
                    Some(s) => ("segment-received", vec![s.frame]),
                    None => ("unexplained", Vec::new()),
                };
                out.push(TimeWaitEarly {
                    node: *n,
                    conn: *c,
                    time: t1,
                    after: t1.saturating_since(t0),
                    cause: cause.into(),
                    frames,
                    event: None,
                });
            }
        }
        self.time_wait_early.extend(out);
    }

    /// Keepalive timeouts and SO_LINGER 0 closes from socket calls (and, for stacks reporting
    /// states, keepalive timeouts from a connection vanishing after unanswered probes).
    fn call_drops(&mut self) {
        let mut ka = Vec::new();
        let mut zl = Vec::new();
        for (t, n, c) in &self.calls {
            let Some(conn) = c.conn else { continue };
            match (&c.op, &c.result) {
                (CallOp::Close { linger_zero: true }, _) => {
                    let st = self.timeline(*n, conn).and_then(|tl| tl.state_before(*t));
                    if st.is_some_and(|s| s != State::Closed && s != State::Listen) {
                        zl.push(Dropped {
                            node: *n,
                            conn,
                            time: *t,
                            event: None,
                            call: Some(format!("{t} {c}")),
                        });
                    }
                }
                (_, Err(Errno::ETIMEDOUT)) if self.probed_unanswered(*n, conn, *t) => {
                    ka.push(Dropped {
                        node: *n,
                        conn,
                        time: *t,
                        event: None,
                        call: Some(format!("{t} {c}")),
                    })
                }
                _ => {}
            }
        }
        for ((n, c), tl) in &self.timelines {
            if self.source(*n) != Some(Source::State) {
                continue;
            }
            for w in tl.changes.windows(2) {
                if w[0].1 == State::Established
                    && w[1].1 == State::Closed
                    && self.probed_unanswered(*n, *c, w[1].0)
                    && self
                        .wire
                        .last_received(*n, *c, w[1].0, false)
                        .is_none_or(|s| s.time != w[1].0)
                {
                    ka.push(Dropped {
                        node: *n,
                        conn: *c,
                        time: w[1].0,
                        event: None,
                        call: None,
                    });
                }
            }
        }
        self.keepalive_drops.extend(ka);
        self.zero_linger.extend(zl);
    }

    /// Whether `node` sent keepalive probes on `conn` after it last heard from the peer, up to `t`.
    pub fn probed_unanswered(&self, node: NodeId, conn: FourTuple, t: Instant) -> bool {
        let last = self
            .wire
            .last_received(node, conn, t, false)
            .map(|s| s.time);
        self.derived.get(&(node, conn)).is_some_and(|d| {
            d.probes
                .iter()
                .any(|p| p.0 <= t && last.is_none_or(|l| p.0 >= l))
        })
    }

    /// Probe frames `node` sent on `conn` in `(from, to]`.
    pub fn probes_between(
        &self,
        node: NodeId,
        conn: FourTuple,
        from: Option<Instant>,
        to: Instant,
    ) -> Vec<FrameId> {
        self.derived
            .get(&(node, conn))
            .map(|d| {
                d.probes
                    .iter()
                    .filter(|p| p.0 <= to && from.is_none_or(|f| p.0 >= f))
                    .map(|p| p.1)
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn timeline(&self, node: NodeId, conn: FourTuple) -> Option<&Timeline> {
        self.timelines.get(&(node, conn))
    }

    /// The first recorded drop of the RST `r` on its way to the peer.
    pub fn find_rst_drop(&self, r: &RstDue) -> Option<&DropRecord> {
        let by_src = self.drops_by_src.get(&r.conn.local).into_iter().flatten();
        let by_dst = self.drops_by_dst.get(&r.conn.remote).into_iter().flatten();
        by_src
            .chain(by_dst)
            .copied()
            .filter(|&i| {
                let d = &self.drops[i];
                d.time >= r.time && (Some(d.seq) == r.seq || d.cause == "nat-no-mapping")
            })
            .min()
            .map(|i| &self.drops[i])
    }

    /// Whether an RST `node` owed on `conn` at or before `t` was lost.
    pub fn lost_rst_before(&self, node: NodeId, conn: FourTuple, t: Instant) -> bool {
        self.lost_by
            .get(&(node, conn))
            .is_some_and(|v| v.iter().any(|x| *x <= t))
    }

    /// The other end of `conn` as seen from `node`: directly, or through a NAT mapping.
    pub fn peer_of(&self, _node: NodeId, conn: FourTuple) -> Option<Peer> {
        // Inside host: a mapping from our local endpoint towards the remote.
        if let Some(m) = self
            .by_inside
            .get(&(conn.local, conn.remote))
            .map(|&i| &self.mappings[i])
        {
            let pc = FourTuple {
                local: m.remote,
                remote: m.outside,
            };
            return Some(Peer {
                node: *self.by_conn.get(&pc)?,
                conn: pc,
                via_nat: Some(m.clone()),
            });
        }
        // Outside host: the remote is a NAT's outside endpoint.
        if let Some(m) = self
            .by_outside
            .get(&(conn.remote, conn.local))
            .map(|&i| &self.mappings[i])
        {
            let pc = FourTuple {
                local: m.inside,
                remote: m.remote,
            };
            return Some(Peer {
                node: *self.by_conn.get(&pc)?,
                conn: pc,
                via_nat: Some(m.clone()),
            });
        }
        let pc = conn.reversed();
        Some(Peer {
            node: *self.by_conn.get(&pc)?,
            conn: pc,
            via_nat: None,
        })
    }

    pub fn host_up_at(&self, node: NodeId, t: Instant) -> bool {
        self.live.up_at(node, t)
    }

    pub fn mapping_expired_before(&self, m: &Mapping, t: Instant) -> bool {
        self.mapping_end(m).is_some_and(|e| e <= t)
    }

    pub fn mapping_end(&self, m: &Mapping) -> Option<Instant> {
        m.expired
    }

    /// Whether the peer of `conn` holds it at `t` (up, not CLOSED, its NAT mapping alive).
    pub fn peer_alive(&self, node: NodeId, conn: FourTuple, t: Instant) -> bool {
        self.peer_of(node, conn).is_some_and(|p| {
            self.host_up_at(p.node, t)
                && self
                    .timeline(p.node, p.conn)
                    .and_then(|tl| tl.state_at(t))
                    .is_some_and(|s| s != State::Closed)
                && p.via_nat
                    .as_ref()
                    .is_none_or(|m| !self.mapping_expired_before(m, t))
        })
    }
}

#[cfg(test)]
mod tests;
