//! The facts oracles reason about, pulled out of a trace once: connection timelines per host,
//! RSTs sent, packets dropped (and where), NAT mappings, host up/down, TIME-WAIT exits.

use crate::trace::{Fate, NatEvent, NodeId, Trace, TraceKind};
use core::net::SocketAddrV4;
use stack::arp::{ArpDropReason, ArpEvent};
use stack::tcp::{DropCause, FourTuple, State, TcpEvent};
use stack::wire::{self, ChecksumMode, SeqNumber, TcpFlags};
use stack::EventKind;
use stack::{Duration, Instant};
use std::collections::BTreeMap;

/// One connection's states on one host, in time order.
#[derive(Clone, Debug, Default)]
pub struct Timeline {
    pub changes: Vec<(Instant, State, &'static str)>,
}

impl Timeline {
    /// The state at `t` (after every change at or before `t`); `None` before the first change.
    pub fn state_at(&self, t: Instant) -> Option<State> {
        self.changes
            .iter()
            .take_while(|c| c.0 <= t)
            .last()
            .map(|c| c.1)
    }
    /// Why the connection last went to CLOSED at or before `t`.
    pub fn close_cause_before(&self, t: Instant) -> Option<&'static str> {
        self.changes
            .iter()
            .take_while(|c| c.0 <= t)
            .filter(|c| c.1 == State::Closed)
            .last()
            .map(|c| c.2)
    }
}

pub struct RstSent {
    pub node: NodeId,
    pub conn: FourTuple,
    pub seq: SeqNumber,
    pub time: Instant,
    pub reason: &'static str,
}

pub struct DropRecord {
    pub time: Instant,
    pub src: SocketAddrV4,
    pub dst: SocketAddrV4,
    pub flags: TcpFlags,
    pub seq: SeqNumber,
    pub cause: String,
    pub evidence: String,
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

pub struct TimeWaitEarly {
    pub node: NodeId,
    pub conn: FourTuple,
    pub time: Instant,
    pub after: Duration,
    pub cause: String,
}

#[derive(Default)]
pub struct Facts {
    pub timelines: BTreeMap<(usize, FourTuple), Timeline>,
    pub rsts_sent: Vec<RstSent>,
    pub drops: Vec<DropRecord>,
    pub mappings: Vec<Mapping>,
    /// node -> (time, up, reboot)
    pub host_events: BTreeMap<usize, Vec<(Instant, bool, bool)>>,
    pub time_wait_early: Vec<TimeWaitEarly>,
    pub zero_linger: Vec<(Instant, NodeId, FourTuple)>,
    pub keepalive_drops: Vec<(Instant, NodeId, FourTuple)>,
}

impl Facts {
    pub fn extract(trace: &Trace) -> Facts {
        let mut f = Facts::default();
        for ev in &trace.events {
            let t = ev.time;
            match &ev.kind {
                TraceKind::Stack { node, event } => match &event.kind {
                    EventKind::Tcp(e) => f.tcp(*node, event.time, e),
                    EventKind::Arp(ArpEvent::Dropped { packet, reason, .. })
                        if packet.protocol == wire::IpProtocol::Tcp =>
                    {
                        f.drops.push(DropRecord {
                            time: event.time,
                            src: SocketAddrV4::new(packet.src, packet.src_port),
                            dst: SocketAddrV4::new(packet.dst, packet.dst_port),
                            flags: packet.flags,
                            seq: packet.seq,
                            cause: match reason {
                                ArpDropReason::QueueOverflow { .. } => {
                                    "arp-queue-overflow".to_string()
                                }
                                ArpDropReason::QueueBytes => "arp-queue-bytes".to_string(),
                                ArpDropReason::ResolutionFailed => {
                                    "arp-resolution-failed".to_string()
                                }
                            },
                            evidence: format!(
                                "{} on {}: {event}",
                                event.time,
                                trace.node_name(*node)
                            ),
                        });
                    }
                    _ => {}
                },
                TraceKind::Nat { node, event } => match event {
                    NatEvent::MappingCreated {
                        inside,
                        outside,
                        remote,
                    } => f.mappings.push(Mapping {
                        nat: *node,
                        inside: *inside,
                        outside: *outside,
                        remote: *remote,
                        created: t,
                        expired: None,
                    }),
                    NatEvent::MappingExpired {
                        inside,
                        outside,
                        remote,
                        ..
                    } => {
                        if let Some(m) = f.mappings.iter_mut().rev().find(|m| {
                            m.nat == *node
                                && m.inside == *inside
                                && m.outside == *outside
                                && m.remote == *remote
                                && m.expired.is_none()
                        }) {
                            m.expired = Some(t);
                        }
                    }
                    NatEvent::NoMapping {
                        from, to, flags, ..
                    } => f.drops.push(DropRecord {
                        time: t,
                        src: *from,
                        dst: *to,
                        flags: *flags,
                        seq: SeqNumber(0),
                        cause: "nat-no-mapping".into(),
                        evidence: format!("{t} on {}: {event}", trace.node_name(*node)),
                    }),
                },
                TraceKind::HostDown { node, reboot } => {
                    f.host_events
                        .entry(node.0)
                        .or_default()
                        .push((t, false, *reboot));
                    if *reboot {
                        // A reboot forgets every connection without a word on the wire.
                        for ((n, _), tl) in f.timelines.iter_mut() {
                            if *n == node.0
                                && tl.changes.last().is_some_and(|c| c.1 != State::Closed)
                            {
                                tl.changes.push((t, State::Closed, "reboot"));
                            }
                        }
                    }
                }
                TraceKind::HostUp { node } => f
                    .host_events
                    .entry(node.0)
                    .or_default()
                    .push((t, true, false)),
                TraceKind::Frame(fr) => {
                    if let Fate::Dropped(why) = &fr.fate {
                        if let Ok(wire::Frame::Tcp { ip, tcp, .. }) =
                            wire::parse_frame(&fr.bytes, ChecksumMode::Ignore)
                        {
                            f.drops.push(DropRecord {
                                time: t,
                                src: SocketAddrV4::new(ip.src_addr, tcp.src_port),
                                dst: SocketAddrV4::new(ip.dst_addr, tcp.dst_port),
                                flags: tcp.flags,
                                seq: tcp.seq,
                                cause: format!("link-{why}"),
                                evidence: format!(
                                    "frame {} on segment {} dropped ({why})",
                                    fr.number,
                                    trace
                                        .meta
                                        .segment_names
                                        .get(fr.segment.0)
                                        .map(String::as_str)
                                        .unwrap_or("?")
                                ),
                            });
                        }
                    }
                }
                _ => {}
            }
        }
        f
    }

    fn tcp(&mut self, node: NodeId, t: Instant, e: &TcpEvent) {
        match e {
            TcpEvent::StateChange {
                conn, to, cause, ..
            } => {
                self.timelines
                    .entry((node.0, *conn))
                    .or_default()
                    .changes
                    .push((t, *to, cause.name()));
            }
            TcpEvent::RstSent {
                conn, seq, reason, ..
            } => self.rsts_sent.push(RstSent {
                node,
                conn: *conn,
                seq: *seq,
                time: t,
                reason: reason.name(),
            }),
            TcpEvent::TimeWaitEnded {
                conn,
                after,
                early: true,
                cause,
            } => self.time_wait_early.push(TimeWaitEarly {
                node,
                conn: *conn,
                time: t,
                after: *after,
                cause: cause.name().to_string(),
            }),
            TcpEvent::ConnectionDropped {
                conn,
                reason,
                state,
            } => match reason {
                DropCause::ZeroLinger if *state != State::Listen => {
                    self.zero_linger.push((t, node, *conn))
                }
                DropCause::KeepaliveTimeout => self.keepalive_drops.push((t, node, *conn)),
                _ => {}
            },
            _ => {}
        }
    }

    pub fn timeline(&self, node: NodeId, conn: FourTuple) -> Option<&Timeline> {
        self.timelines.get(&(node.0, conn))
    }

    /// The first recorded drop of the RST `r` on its way to the peer. NAT "no mapping" drops
    /// carry no sequence number: they are matched on endpoints only.
    pub fn find_rst_drop(&self, r: &RstSent) -> Option<&DropRecord> {
        self.drops.iter().find(|d| {
            d.time >= r.time
                && d.flags.rst()
                && (d.src == r.conn.local || d.dst == r.conn.remote)
                && (d.seq == r.seq || d.cause == "nat-no-mapping")
        })
    }

    /// The other end of `conn` as seen from `node`: directly, or through a NAT mapping.
    pub fn peer_of(&self, node: NodeId, conn: FourTuple) -> Option<Peer> {
        // Inside host: a mapping from our local endpoint towards the remote.
        if let Some(m) = self
            .mappings
            .iter()
            .find(|m| m.inside == conn.local && m.remote == conn.remote)
        {
            let peer = self.node_with_conn(FourTuple {
                local: m.remote,
                remote: m.outside,
            })?;
            return Some(Peer {
                node: peer,
                conn: FourTuple {
                    local: m.remote,
                    remote: m.outside,
                },
                via_nat: Some(m.clone()),
            });
        }
        // Outside host: the remote is a NAT's outside endpoint.
        if let Some(m) = self
            .mappings
            .iter()
            .find(|m| m.outside == conn.remote && m.remote == conn.local)
        {
            let pc = FourTuple {
                local: m.inside,
                remote: m.remote,
            };
            let peer = self.node_with_conn(pc)?;
            return Some(Peer {
                node: peer,
                conn: pc,
                via_nat: Some(m.clone()),
            });
        }
        let pc = conn.reversed();
        let peer = self.node_with_conn(pc)?;
        let _ = node;
        Some(Peer {
            node: peer,
            conn: pc,
            via_nat: None,
        })
    }

    fn node_with_conn(&self, conn: FourTuple) -> Option<NodeId> {
        self.timelines
            .keys()
            .find(|(_, c)| *c == conn)
            .map(|(n, _)| NodeId(*n))
    }

    pub fn host_up_at(&self, node: NodeId, t: Instant) -> bool {
        self.host_events
            .get(&node.0)
            .and_then(|v| v.iter().take_while(|e| e.0 <= t).last())
            .is_none_or(|e| e.1)
    }

    /// `Some(reboot)` when the host's last transition at or before `t` was going down.
    pub fn host_down_before(&self, node: NodeId, t: Instant) -> Option<bool> {
        let last = self
            .host_events
            .get(&node.0)?
            .iter()
            .take_while(|e| e.0 <= t)
            .last()?;
        (!last.1).then_some(last.2)
    }

    pub fn host_transitions(&self, node: NodeId) -> Vec<Instant> {
        self.host_events
            .get(&node.0)
            .map(|v| v.iter().map(|e| e.0).collect())
            .unwrap_or_default()
    }

    pub fn mapping_expired_before(&self, m: &Mapping, t: Instant) -> bool {
        self.mappings
            .iter()
            .find(|x| {
                x.nat == m.nat
                    && x.inside == m.inside
                    && x.outside == m.outside
                    && x.created == m.created
            })
            .and_then(|x| x.expired)
            .is_some_and(|e| e <= t)
    }

    pub fn mapping_end(&self, m: &Mapping) -> Option<Instant> {
        self.mappings
            .iter()
            .find(|x| {
                x.nat == m.nat
                    && x.inside == m.inside
                    && x.outside == m.outside
                    && x.created == m.created
            })
            .and_then(|x| x.expired)
    }

    /// When `conn`'s local end last received a segment before `t`; with `data_only`, only
    /// segments carrying payload count (what an application heartbeat sees).
    pub fn last_heard(
        &self,
        trace: &Trace,
        conn: FourTuple,
        t: Instant,
        data_only: bool,
    ) -> Option<Instant> {
        trace
            .events
            .iter()
            .take_while(|e| e.time <= t)
            .filter_map(|e| match &e.kind {
                TraceKind::Frame(fr) if fr.fate == Fate::Delivered => {
                    match wire::parse_frame(&fr.bytes, ChecksumMode::Ignore) {
                        Ok(wire::Frame::Tcp { ip, tcp, .. })
                            if SocketAddrV4::new(ip.dst_addr, tcp.dst_port) == conn.local
                                && SocketAddrV4::new(ip.src_addr, tcp.src_port) == conn.remote
                                && (!data_only || !tcp.payload.is_empty()) =>
                        {
                            fr.delivered_at
                        }
                        _ => None,
                    }
                }
                _ => None,
            })
            .last()
    }
}
