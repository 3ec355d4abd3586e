//! The wire as each stack under test saw it: every TCP segment it sent (on its own segment, with
//! the frame's fate) or had delivered to it (while it was up), per connection in its own view,
//! and the ARP requests it sent and replies it got. Built in one pass over the frames
//! (O(frames log n)); needs only frames, so it serves captures (`harness check`) as well as runs.
//!
//! [`WireModel`] then replays each connection's segments through the RFC 9293 §3.3.2 state
//! diagram to say what the host must have believed, when: the connection states of a stack that
//! reports none.

use crate::trace::{Fate, NodeId, SegmentId, Trace, TraceKind};
use core::net::{Ipv4Addr, SocketAddrV4};
use stack::tcp::{FourTuple, State};
use stack::wire::{self, ChecksumMode, EthernetAddress, SeqNumber, TcpFlags};
use stack::{Duration, Instant};
use std::collections::BTreeMap;

/// A frame by segment and 1-based number in that segment's capture.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FrameId {
    pub segment: SegmentId,
    pub number: usize,
}

/// Whether the host sent the segment or had it delivered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Dir {
    Received,
    Sent,
}

/// One TCP segment in a host's view. A host's segments sort by (time, trace order): a frame
/// delivered at `t` was put on the wire before anything the host sends at `t`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seg {
    /// Sent: when it was put on the wire; received: when it was delivered.
    pub time: Instant,
    pub dir: Dir,
    pub frame: FrameId,
    /// Position of the frame in the trace: at one instant, trace order is causal order.
    pub order: usize,
    pub seq: SeqNumber,
    pub ack: SeqNumber,
    pub flags: TcpFlags,
    /// Payload octets.
    pub len: u32,
    pub window: u16,
    pub mss: bool,
    pub window_scale: Option<u8>,
    pub sack_permitted: bool,
    /// Dropped on the host's own segment (sent segments only), and why.
    pub dropped: Option<String>,
    /// The TCP checksum was wrong (sent segments only are checked).
    pub bad_checksum: bool,
    pub ttl: u8,
}

/// A bare segment for tests: no payload, no options, ACK 0, window 0, TTL 64, frame `number`
/// (also its trace order) on segment 0.
#[cfg(test)]
impl Seg {
    pub fn bare(time: Instant, dir: Dir, flags: TcpFlags, seq: u32, number: usize) -> Seg {
        Seg {
            time,
            dir,
            frame: FrameId {
                segment: SegmentId(0),
                number,
            },
            order: number,
            seq: SeqNumber(seq),
            ack: SeqNumber(0),
            flags,
            len: 0,
            window: 0,
            mss: false,
            window_scale: None,
            sack_permitted: false,
            dropped: None,
            bad_checksum: false,
            ttl: 64,
        }
    }
}

impl Seg {
    /// SEG.LEN (RFC 9293 §3.4): payload plus one each for SYN and FIN.
    pub fn seg_len(&self) -> u32 {
        self.len + u32::from(self.flags.syn()) + u32::from(self.flags.fin())
    }
    /// The sequence number after the segment.
    pub fn end(&self) -> SeqNumber {
        self.seq + self.seg_len()
    }
}

/// An ARP frame a host sent (request) or had delivered (reply).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArpSeen {
    pub time: Instant,
    pub frame: FrameId,
    /// Sent request (`true`) or received reply (`false`).
    pub request: bool,
    /// Request: the address asked for; reply: the address answered for.
    pub addr: Ipv4Addr,
}

/// Every stack's view of the wire.
#[derive(Debug, Default)]
pub struct Wire {
    /// Segments per (host, connection in the host's view), in time order.
    pub conns: BTreeMap<(NodeId, FourTuple), Vec<Seg>>,
    /// ARP requests sent and replies received, per host, in time order.
    pub arp: BTreeMap<NodeId, Vec<ArpSeen>>,
}

/// Up/down intervals of hosts (from the trace's host events).
#[derive(Debug, Default)]
pub struct Liveness {
    /// node -> (time, up, reboot), in time order.
    pub events: BTreeMap<NodeId, Vec<(Instant, bool, bool)>>,
}

impl Liveness {
    pub fn of(trace: &Trace) -> Liveness {
        let mut l = Liveness::default();
        for ev in &trace.events {
            match &ev.kind {
                TraceKind::HostDown { node, reboot } => l
                    .events
                    .entry(*node)
                    .or_default()
                    .push((ev.time, false, *reboot)),
                TraceKind::HostUp { node } => l
                    .events
                    .entry(*node)
                    .or_default()
                    .push((ev.time, true, false)),
                _ => {}
            }
        }
        l
    }

    fn last_at(&self, node: NodeId, t: Instant) -> Option<&(Instant, bool, bool)> {
        let v = self.events.get(&node)?;
        let i = v.partition_point(|e| e.0 <= t);
        i.checked_sub(1).map(|i| &v[i])
    }

    pub fn up_at(&self, node: NodeId, t: Instant) -> bool {
        self.last_at(node, t).is_none_or(|e| e.1)
    }

    /// `Some(reboot)` when the host's last transition at or before `t` was going down.
    pub fn down_before(&self, node: NodeId, t: Instant) -> Option<bool> {
        self.last_at(node, t).and_then(|e| (!e.1).then_some(e.2))
    }

    pub fn transitions(&self, node: NodeId) -> Vec<Instant> {
        self.events
            .get(&node)
            .map(|v| v.iter().map(|e| e.0).collect())
            .unwrap_or_default()
    }

    pub fn reboots(&self, node: NodeId) -> Vec<Instant> {
        self.events
            .get(&node)
            .map(|v| v.iter().filter(|e| !e.1 && e.2).map(|e| e.0).collect())
            .unwrap_or_default()
    }
}

impl Wire {
    /// Reads every frame of the trace once. Only nodes the trace names as stacks under test
    /// ([`Trace::stack_of`]) get a view.
    pub fn of(trace: &Trace, live: &Liveness) -> Wire {
        let stacks: Vec<NodeId> = (0..trace.meta.node_names.len().max(trace.meta.stacks.len()))
            .map(NodeId)
            .filter(|n| trace.stack_of(*n).is_some())
            .collect();
        let mut by_addr: BTreeMap<Ipv4Addr, NodeId> = BTreeMap::new();
        for &n in &stacks {
            for a in trace.meta.node_addrs.get(n.0).into_iter().flatten() {
                by_addr.entry(*a).or_insert(n);
            }
        }
        // Pass 1: each stack's MAC, from the first frame it sent.
        let mut macs: BTreeMap<NodeId, EthernetAddress> = BTreeMap::new();
        for ev in &trace.events {
            if let TraceKind::Frame(f) = &ev.kind {
                if trace.stack_of(f.from).is_some() {
                    if let Some(Ok(src)) = f.bytes.get(6..12).map(<[u8; 6]>::try_from) {
                        macs.entry(f.from).or_insert(EthernetAddress(src));
                    }
                }
            }
        }
        let mut w = Wire::default();
        for (order, ev) in trace.events.iter().enumerate() {
            let TraceKind::Frame(f) = &ev.kind else {
                continue;
            };
            let Ok(frame) = wire::parse_frame(&f.bytes, ChecksumMode::Ignore) else {
                continue;
            };
            let id = FrameId {
                segment: f.segment,
                number: f.number,
            };
            let eth_dst = frame.eth().dst_addr;
            let delivered_to = |dst: Ipv4Addr| -> Option<NodeId> {
                let n = *by_addr.get(&dst)?;
                let mac = macs.get(&n)?;
                (n != f.from
                    && f.fate == Fate::Delivered
                    && (eth_dst == *mac || eth_dst.is_broadcast())
                    && live.up_at(n, f.delivered_at.unwrap_or(f.time)))
                .then_some(n)
            };
            match &frame {
                wire::Frame::Tcp { ip, tcp, .. } => {
                    let src = SocketAddrV4::new(ip.src_addr, tcp.src_port);
                    let dst = SocketAddrV4::new(ip.dst_addr, tcp.dst_port);
                    let mut seg = Seg {
                        time: f.time,
                        dir: Dir::Sent,
                        frame: id,
                        order,
                        seq: tcp.seq,
                        ack: tcp.ack,
                        flags: tcp.flags,
                        len: tcp.payload.len() as u32,
                        window: tcp.window,
                        mss: tcp.mss().is_some(),
                        window_scale: tcp.window_scale(),
                        sack_permitted: tcp.sack_permitted(),
                        dropped: None,
                        bad_checksum: false,
                        ttl: ip.ttl,
                    };
                    let sender = trace.stack_of(f.from).is_some()
                        && trace
                            .meta
                            .node_addrs
                            .get(f.from.0)
                            .is_some_and(|a| a.contains(&ip.src_addr));
                    if sender {
                        let mut s = seg.clone();
                        s.dropped = match &f.fate {
                            Fate::Dropped(why) => Some(why.clone()),
                            Fate::Delivered => None,
                        };
                        s.bad_checksum = wire::parse_frame(&f.bytes, ChecksumMode::Verify)
                            .is_err_and(|e| matches!(e, wire::Error::BadChecksum { .. }));
                        w.conns
                            .entry((
                                f.from,
                                FourTuple {
                                    local: src,
                                    remote: dst,
                                },
                            ))
                            .or_default()
                            .push(s);
                    }
                    if let Some(n) = delivered_to(ip.dst_addr) {
                        seg.dir = Dir::Received;
                        seg.time = f.delivered_at.unwrap_or(f.time);
                        w.conns
                            .entry((
                                n,
                                FourTuple {
                                    local: dst,
                                    remote: src,
                                },
                            ))
                            .or_default()
                            .push(seg);
                    }
                }
                wire::Frame::Arp { arp, .. } => {
                    if trace.stack_of(f.from).is_some()
                        && arp.operation == wire::ArpOperation::Request
                    {
                        w.arp.entry(f.from).or_default().push(ArpSeen {
                            time: f.time,
                            frame: id,
                            request: true,
                            addr: arp.target_protocol_addr,
                        });
                    }
                    if arp.operation == wire::ArpOperation::Reply {
                        if let Some(n) = delivered_to(arp.target_protocol_addr) {
                            w.arp.entry(n).or_default().push(ArpSeen {
                                time: f.delivered_at.unwrap_or(f.time),
                                frame: id,
                                request: false,
                                addr: arp.source_protocol_addr,
                            });
                        }
                    }
                }
                wire::Frame::OtherIpv4 { .. } => {}
            }
        }
        for v in w.conns.values_mut() {
            v.sort_by_key(|s| (s.time, s.order));
        }
        for v in w.arp.values_mut() {
            v.sort_by_key(|a| a.time);
        }
        w
    }

    pub fn segs(&self, node: NodeId, conn: FourTuple) -> &[Seg] {
        self.conns
            .get(&(node, conn))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// The last segment delivered to `node` on `conn` at or before `t` (with `data_only`, the
    /// last carrying payload).
    pub fn last_received(
        &self,
        node: NodeId,
        conn: FourTuple,
        t: Instant,
        data_only: bool,
    ) -> Option<&Seg> {
        let v = self.segs(node, conn);
        let i = v.partition_point(|s| s.time <= t);
        v[..i]
            .iter()
            .rev()
            .find(|s| s.dir == Dir::Received && (!data_only || s.len > 0))
    }

    /// The ARP resolution `node` had under way at `t`: its last request at or before `t` and
    /// the reply to it, if one came (at or after `t`). With a `settle` window (a real-time
    /// stack, whose frames are stamped as they leave, possibly just after the call that caused
    /// them returned), the first request within `settle` after `t` counts too when none was
    /// pending at `t`, with the first reply to it.
    pub fn arp_pending_at(
        &self,
        node: NodeId,
        t: Instant,
        settle: Duration,
    ) -> Option<(ArpSeen, Option<ArpSeen>)> {
        let v = self.arp.get(&node)?;
        let i = v.partition_point(|a| a.time <= t);
        // Answered before t: nothing pending.
        let pending = v[..i].iter().rposition(|a| a.request).filter(|&r| {
            !v[..i]
                .iter()
                .any(|a| !a.request && a.addr == v[r].addr && a.time >= v[r].time && a.time < t)
        });
        let at = match pending {
            Some(r) => r,
            None => {
                i + v[i..]
                    .iter()
                    .take_while(|a| a.time <= t + settle)
                    .position(|a| a.request)?
            }
        };
        // The first reply after the request (one at `t` itself included; the request is no
        // reply, so the search may start on it).
        let req = v[at];
        let reply = v[at..]
            .iter()
            .find(|a| !a.request && a.addr == req.addr)
            .copied();
        Some((req, reply))
    }
}

/// One connection's states on one host, in time order, with why each change happened.
#[derive(Clone, Debug, Default)]
pub struct Timeline {
    pub changes: Vec<(Instant, State, &'static str)>,
}

impl Timeline {
    fn push(&mut self, t: Instant, s: State, why: &'static str) {
        if self.changes.last().is_none_or(|c| c.1 != s) {
            self.changes.push((t, s, why));
        }
    }
    /// The state at `t` (after every change at or before `t`); `None` before the first change.
    pub fn state_at(&self, t: Instant) -> Option<State> {
        let i = self.changes.partition_point(|c| c.0 <= t);
        i.checked_sub(1).map(|i| self.changes[i].1)
    }
    /// The state just before `t` (changes strictly before `t`).
    pub fn state_before(&self, t: Instant) -> Option<State> {
        let i = self.changes.partition_point(|c| c.0 < t);
        i.checked_sub(1).map(|i| self.changes[i].1)
    }
    /// Why the connection last went to CLOSED at or before `t`.
    pub fn close_cause_before(&self, t: Instant) -> Option<&'static str> {
        let i = self.changes.partition_point(|c| c.0 <= t);
        self.changes[..i]
            .iter()
            .rev()
            .find(|c| c.1 == State::Closed)
            .map(|c| c.2)
    }
}

/// A socket call's effect on a connection, for the wire model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallEffect {
    /// `abort()`, or `close()` with `SO_LINGER` 0: the TCB is gone at once (RFC 9293 §3.10.4).
    Aborted,
    /// The stack reported the connection dead (`ECONNRESET`, `ETIMEDOUT`, `ECONNREFUSED`).
    Failed,
}

/// What the wire model derived for one connection besides its timeline.
#[derive(Clone, Debug, Default)]
pub struct Derived {
    pub timeline: Timeline,
    /// Keepalive probes the host sent (RFC 1122 §4.2.3.6: SEG.SEQ = SND.NXT − 1, at most one
    /// octet), by time.
    pub probes: Vec<(Instant, FrameId)>,
    /// RST or SYN segments delivered while the host was in TIME-WAIT: whether the stack let
    /// them end TIME-WAIT early is invisible on the wire.
    pub time_wait_hits: Vec<(Instant, FrameId)>,
}

/// Replays one connection's segments, socket-call effects and reboots through the RFC 9293
/// §3.3.2 state diagram. `time_wait`: the host's declared 2·MSL (without it TIME-WAIT lasts until
/// something else ends it).
pub fn replay(
    segs: &[Seg],
    calls: &[(Instant, CallEffect)],
    reboots: &[Instant],
    time_wait: Option<Duration>,
    end: Instant,
) -> Derived {
    let mut m = Model::default();
    let mut out = Derived::default();
    // Merge the three inputs by time; at one instant: segments, then calls, then reboots.
    let (mut i, mut j, mut k) = (0, 0, 0);
    loop {
        let ts = segs.get(i).map(|s| s.time);
        let tc = calls.get(j).map(|c| c.0);
        let tr = reboots.get(k).copied();
        let Some(t) = [ts, tc, tr].into_iter().flatten().min() else {
            break;
        };
        m.expire(t, time_wait, &mut out.timeline);
        if ts == Some(t) {
            m.segment(&segs[i], &mut out);
            i += 1;
        } else if tc == Some(t) {
            let (t, eff) = calls[j];
            if m.state.is_some_and(|s| s != State::Closed) {
                let why = match eff {
                    CallEffect::Aborted => "user-abort",
                    CallEffect::Failed => "error-reported",
                };
                m.close(t, why, &mut out.timeline);
            }
            j += 1;
        } else {
            if m.state.is_some_and(|s| s != State::Closed) {
                m.close(t, "reboot", &mut out.timeline);
            }
            k += 1;
        }
    }
    m.expire(end, time_wait, &mut out.timeline);
    out
}

#[derive(Default)]
struct Model {
    state: Option<State>,
    iss: Option<SeqNumber>,
    snd_nxt: Option<SeqNumber>,
    our_fin: Option<SeqNumber>,
    rcv_nxt: Option<SeqNumber>,
    peer_fin: bool,
    rcv_wnd: u32,
    ws_ours: Option<u8>,
    ws_theirs: Option<u8>,
    tw_since: Option<Instant>,
}

impl Model {
    fn set(&mut self, t: Instant, s: State, why: &'static str, tl: &mut Timeline) {
        // Only FIN-WAIT-2 and CLOSING lead to TIME-WAIT, so this is always its start.
        if s == State::TimeWait {
            self.tw_since = Some(t);
        }
        self.state = Some(s);
        tl.push(t, s, why);
    }

    /// CLOSED, recorded on the timeline; the model then forgets the connection (no state and
    /// CLOSED are the same to every rule: neither takes a segment, a call or a reboot).
    fn close(&mut self, t: Instant, why: &'static str, tl: &mut Timeline) {
        self.set(t, State::Closed, why, tl);
        *self = Model::default();
    }

    fn expire(&mut self, t: Instant, tw: Option<Duration>, tl: &mut Timeline) {
        if let (Some(State::TimeWait), Some(since), Some(tw)) = (self.state, self.tw_since, tw) {
            if since + tw <= t {
                self.close(since + tw, "time-wait-expired", tl);
            }
        }
    }

    fn synchronized(&self) -> bool {
        self.state.is_some_and(|s| s.is_synchronized())
    }

    /// RFC 9293 §3.10.7.4 first check, reduced to what the wire shows: SEG.SEQ in the window
    /// the host last advertised (RCV.NXT exactly when it advertised none).
    fn in_window(&self, seq: SeqNumber) -> bool {
        match self.rcv_nxt {
            None => true,
            Some(nxt) => {
                let scale = match (self.ws_ours, self.ws_theirs) {
                    (Some(o), Some(_)) => u32::from(o.min(14)),
                    _ => 0,
                };
                let wnd = (self.rcv_wnd << scale).max(1);
                seq.in_range(nxt, nxt + wnd)
            }
        }
    }

    fn segment(&mut self, s: &Seg, out: &mut Derived) {
        let tl = &mut out.timeline;
        match s.dir {
            Dir::Sent => {
                if s.flags.rst() {
                    if self.state.is_some_and(|st| st != State::Closed) {
                        self.close(s.time, "rst-sent", tl);
                    }
                    return;
                }
                // Keepalive probe: one sequence number below SND.NXT, at most one octet.
                if s.flags.ack()
                    && !s.flags.syn()
                    && !s.flags.fin()
                    && s.len <= 1
                    && self.synchronized()
                    && self.snd_nxt.is_some_and(|n| s.seq + 1u32 == n)
                {
                    out.probes.push((s.time, s.frame));
                }
                if s.flags.syn() {
                    let fresh = matches!(
                        self.state,
                        None | Some(State::Closed) | Some(State::TimeWait) | Some(State::Listen)
                    );
                    if fresh {
                        *self = Model::default();
                    }
                    self.iss = Some(s.seq);
                    self.ws_ours = s.window_scale;
                    if s.flags.ack() {
                        self.rcv_nxt = Some(s.ack);
                        if fresh || self.state == Some(State::SynSent) {
                            self.set(s.time, State::SynReceived, "syn-ack-sent", tl);
                        }
                    } else if fresh {
                        self.set(s.time, State::SynSent, "syn-sent", tl);
                    }
                }
                if s.flags.ack() && !s.flags.syn() {
                    self.rcv_wnd = u32::from(s.window);
                }
                if s.flags.fin() && self.our_fin.is_none() {
                    self.our_fin = Some(s.seq + s.len);
                    match self.state {
                        Some(State::Established) | Some(State::SynReceived) => {
                            self.set(s.time, State::FinWait1, "fin-sent", tl)
                        }
                        Some(State::CloseWait) => self.set(s.time, State::LastAck, "fin-sent", tl),
                        _ => {}
                    }
                }
                let end = s.end();
                self.snd_nxt = Some(self.snd_nxt.map_or(end, |n| n.max(end)));
            }
            Dir::Received => {
                let Some(state) = self.state else {
                    return;
                };
                if state == State::Closed {
                    return;
                }
                if state == State::TimeWait && (s.flags.rst() || s.flags.syn()) {
                    out.time_wait_hits.push((s.time, s.frame));
                    return;
                }
                if s.flags.rst() {
                    let ok = if state == State::SynSent {
                        s.flags.ack() && self.snd_nxt == Some(s.ack)
                    } else {
                        self.in_window(s.seq)
                    };
                    if ok {
                        self.close(s.time, "rst-received", tl);
                    }
                    return;
                }
                if s.flags.syn() {
                    self.ws_theirs = s.window_scale;
                    if s.flags.ack() && state == State::SynSent && self.snd_nxt == Some(s.ack) {
                        self.rcv_nxt = Some(s.seq + 1u32);
                        self.set(s.time, State::Established, "syn-ack-received", tl);
                    }
                    // A bare SYN in SYN-SENT (simultaneous open): our SYN-ACK, which sets
                    // RCV.NXT, moves us on; until then the model is in SYN-SENT, where a
                    // segment without SYN is dropped (RFC 9293 §3.10.7.3).
                    return;
                }
                if s.flags.ack() {
                    let acks_fin = self.our_fin.is_some_and(|f| s.ack.gt(f));
                    match state {
                        State::SynReceived if self.iss.is_some_and(|i| s.ack.gt(i)) => {
                            self.set(s.time, State::Established, "ack-received", tl)
                        }
                        State::FinWait1 if acks_fin => {
                            self.set(s.time, State::FinWait2, "fin-acked", tl)
                        }
                        State::Closing if acks_fin => {
                            self.set(s.time, State::TimeWait, "fin-acked", tl)
                        }
                        State::LastAck if acks_fin => {
                            self.close(s.time, "fin-acked", tl);
                            return;
                        }
                        _ => {}
                    }
                }
                // In-order data and FIN advance RCV.NXT.
                if let Some(nxt) = self.rcv_nxt {
                    if s.seq.le(nxt) && s.end().gt(nxt) {
                        self.rcv_nxt = Some(s.end());
                        if s.flags.fin() && !self.peer_fin {
                            self.peer_fin = true;
                            let st = self.state.unwrap_or(State::Closed);
                            match st {
                                State::Established | State::SynReceived => {
                                    self.set(s.time, State::CloseWait, "fin-received", tl)
                                }
                                State::FinWait1 => {
                                    self.set(s.time, State::Closing, "fin-received", tl)
                                }
                                State::FinWait2 => {
                                    self.set(s.time, State::TimeWait, "fin-received", tl)
                                }
                                _ => {}
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod arp_pending_tests {
    use super::*;

    const GW: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 1);
    const NODE: NodeId = NodeId(0);

    fn ms(n: u64) -> Instant {
        Instant::from_millis(n)
    }

    fn seen(number: usize, t: Instant, request: bool) -> ArpSeen {
        ArpSeen {
            time: t,
            frame: FrameId {
                segment: SegmentId(0),
                number,
            },
            request,
            addr: GW,
        }
    }

    fn wire(arp: Vec<ArpSeen>) -> Wire {
        let mut w = Wire::default();
        w.arp.insert(NODE, arp);
        w
    }

    const SETTLE: Duration = Duration::from_millis(100);

    /// A request at or before the RST's instant is pending whatever the window.
    #[test]
    fn a_request_before_the_rst_is_pending() {
        let w = wire(vec![seen(1, ms(3000), true), seen(2, ms(3005), false)]);
        for settle in [Duration::ZERO, SETTLE] {
            let (req, reply) = w.arp_pending_at(NODE, ms(3000), settle).expect("pending");
            assert_eq!(req.frame.number, 1);
            assert_eq!(reply.map(|r| r.frame.number), Some(2));
        }
        // Answered before the RST: nothing pending, and no later request either.
        assert_eq!(w.arp_pending_at(NODE, ms(3006), SETTLE), None);
    }

    /// A request stamped just after the RST's instant counts only within the settle window
    /// (a real-time stack): 1 ms and exactly the window in, but not 1 ms past it.
    #[test]
    fn a_late_request_counts_within_the_settle_window_only() {
        for (late, within) in [(1, true), (100, true), (101, false)] {
            let t = ms(3000);
            let w = wire(vec![
                seen(1, ms(3000 + late), true),
                seen(2, ms(3005 + late), false),
            ]);
            assert_eq!(
                w.arp_pending_at(NODE, t, Duration::ZERO),
                None,
                "virtual time"
            );
            let got = w.arp_pending_at(NODE, t, SETTLE);
            assert_eq!(got.is_some(), within, "{late} ms late: {got:?}");
            if let Some((req, reply)) = got {
                assert_eq!(req.frame.number, 1);
                assert_eq!(reply.map(|r| r.frame.number), Some(2));
            }
        }
    }

    /// An earlier resolution answered before the RST does not hide a late request, and a late
    /// request nobody answered is a resolution that failed (no reply).
    #[test]
    fn a_late_request_after_an_answered_one() {
        let w = wire(vec![
            seen(1, ms(500), true),
            seen(2, ms(505), false),
            seen(7, ms(3002), true),
        ]);
        let (req, reply) = w.arp_pending_at(NODE, ms(3000), SETTLE).expect("late");
        assert_eq!(req.frame.number, 7);
        assert_eq!(reply, None);
        assert_eq!(w.arp_pending_at(NODE, ms(3000), Duration::ZERO), None);
    }

    /// The late request is the first request within the window, wherever it sits after the
    /// RST's instant: here behind a reply about another address.
    #[test]
    fn the_late_request_is_found_past_other_frames() {
        let mut other = seen(3, ms(3001), false);
        other.addr = Ipv4Addr::new(203, 0, 113, 9);
        let w = wire(vec![
            seen(1, ms(500), true),
            seen(2, ms(505), false),
            other,
            seen(7, ms(3002), true),
            seen(8, ms(3004), false),
        ]);
        let (req, reply) = w.arp_pending_at(NODE, ms(3000), SETTLE).expect("late");
        assert_eq!(req.frame.number, 7);
        assert_eq!(reply.map(|r| r.frame.number), Some(8));
    }

    /// A request some time before the instant stays pending until a reply about its address
    /// arrives strictly before the instant: a reply at the instant itself, one about another
    /// address, or a later request do not answer it.
    #[test]
    fn an_earlier_request_is_pending_until_answered_before_the_instant() {
        let mut other = seen(2, ms(1500), false);
        other.addr = Ipv4Addr::new(203, 0, 113, 9);
        let w = wire(vec![
            seen(1, ms(1000), true),
            other,
            seen(3, ms(2000), false),
        ]);
        for settle in [Duration::ZERO, SETTLE] {
            let (req, reply) = w.arp_pending_at(NODE, ms(2000), settle).expect("pending");
            assert_eq!(req.frame.number, 1);
            assert_eq!(reply.map(|r| r.frame.number), Some(3));
            let (req, reply) = w.arp_pending_at(NODE, ms(1800), settle).expect("pending");
            assert_eq!(req.frame.number, 1);
            assert_eq!(reply.map(|r| r.frame.number), Some(3));
            assert_eq!(w.arp_pending_at(NODE, ms(2001), settle), None, "answered");
        }
        // Never answered: still pending long after, with no reply.
        let w = wire(vec![seen(1, ms(1000), true), seen(4, ms(1200), true)]);
        let (req, reply) = w
            .arp_pending_at(NODE, ms(5000), Duration::ZERO)
            .expect("pending");
        assert_eq!(req.frame.number, 4, "the last request");
        assert_eq!(reply, None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Instant {
        Instant::from_millis(n)
    }

    /// Up and down from the trace's host events: a host going down without a reboot (a crash
    /// it comes back from with its state) is no reboot; a host is up until its first event, and
    /// an event counts from its own instant on.
    #[test]
    fn liveness_from_host_events() {
        let n = NodeId(1);
        let ev = |t: u64, kind: TraceKind| crate::trace::TraceEvent { time: ms(t), kind };
        let trace = Trace {
            events: vec![
                ev(
                    100,
                    TraceKind::HostDown {
                        node: n,
                        reboot: false,
                    },
                ),
                ev(150, TraceKind::HostUp { node: NodeId(2) }),
                ev(200, TraceKind::HostUp { node: n }),
                ev(
                    300,
                    TraceKind::HostDown {
                        node: n,
                        reboot: true,
                    },
                ),
                ev(400, TraceKind::HostUp { node: n }),
            ],
            ..Trace::default()
        };
        let l = Liveness::of(&trace);
        assert_eq!(l.transitions(n), vec![ms(100), ms(200), ms(300), ms(400)]);
        assert_eq!(l.transitions(NodeId(2)), vec![ms(150)]);
        assert_eq!(l.transitions(NodeId(3)), vec![]);
        assert_eq!(l.reboots(n), vec![ms(300)]);
        assert_eq!(l.reboots(NodeId(2)), vec![]);
        for (t, up, down) in [
            (99, true, None),
            (100, false, Some(false)),
            (199, false, Some(false)),
            (200, true, None),
            (300, false, Some(true)),
            (399, false, Some(true)),
            (400, true, None),
        ] {
            assert_eq!(l.up_at(n, ms(t)), up, "{t}");
            assert_eq!(l.down_before(n, ms(t)), down, "{t}");
        }
        assert!(l.up_at(NodeId(3), ms(100)));
        assert_eq!(l.down_before(NodeId(3), ms(100)), None);
    }

    /// Only stacks under test get a view: a script's scripted peer sends from its own address
    /// too, but its segments are no stack's. The stack's view has what it sent and what was
    /// delivered to it.
    #[test]
    fn only_stacks_under_test_get_a_view() {
        use crate::run::RunOptions;
        use crate::script::runner::{profiles_to_run, run_parsed};
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../conformance/scripts/rfc9293/3.10.1-connect-already-connected.pkt"
        );
        let text = std::fs::read_to_string(path).expect("ships");
        let script = crate::script::parse(path, &text).expect("parses");
        let prof = profiles_to_run(&script, &RunOptions::default()).expect("profiles");
        let trace = run_parsed(&script, &prof[0], &RunOptions::default())
            .expect("runs")
            .trace;
        let peers: Vec<NodeId> = (0..trace.meta.node_addrs.len())
            .map(NodeId)
            .filter(|n| trace.stack_of(*n).is_none() && !trace.meta.node_addrs[n.0].is_empty())
            .collect();
        assert!(!peers.is_empty(), "a scripted peer with an address");
        let w = Wire::of(&trace, &Liveness::of(&trace));
        assert_eq!(w.conns.len(), 1, "{:?}", w.conns.keys());
        let ((node, _), segs) = w.conns.iter().next().expect("one");
        assert!(trace.stack_of(*node).is_some());
        assert!(segs.iter().any(|s| s.dir == Dir::Sent && s.flags.syn()));
        assert!(segs.iter().any(|s| s.dir == Dir::Received && s.flags.syn()));
    }

    use Dir::{Received as In, Sent as Out};
    const SYN: TcpFlags = TcpFlags::SYN;
    const ACK: TcpFlags = TcpFlags::ACK;
    const FIN: TcpFlags = TcpFlags::FIN;
    const RST: TcpFlags = TcpFlags::RST;

    /// Segments (ms, direction, flags, SEQ, ACK, payload octets), window 1000, numbered from 1.
    fn segs(list: &[(u64, Dir, TcpFlags, u32, u32, u32)]) -> Vec<Seg> {
        list.iter()
            .enumerate()
            .map(|(n, &(t, dir, flags, seq, ack, len))| {
                let mut s = Seg::bare(ms(t), dir, flags, seq, n + 1);
                s.ack = SeqNumber(ack);
                s.len = len;
                s.window = 1000;
                s
            })
            .collect()
    }

    impl Seg {
        /// The segment at `t` ms with SEQ `seq`.
        fn with(mut self, t: u64, seq: u32) -> Seg {
            self.time = ms(t);
            self.seq = SeqNumber(seq);
            self
        }
    }

    fn changes(d: &Derived) -> Vec<(u64, State, &'static str)> {
        d.timeline
            .changes
            .iter()
            .map(|c| (c.0.total_millis(), c.1, c.2))
            .collect()
    }

    fn numbers(v: &[(Instant, FrameId)]) -> Vec<usize> {
        v.iter().map(|p| p.1.number).collect()
    }

    /// Active open, data, keepalive probes, our FIN acknowledged, the peer's FIN after its data:
    /// SYN-SENT, ESTABLISHED, FIN-WAIT-1, FIN-WAIT-2, TIME-WAIT, then CLOSED once 2·MSL passed.
    #[test]
    fn replay_active_open_and_close() {
        let s = segs(&[
            (1, Out, SYN, 100, 0, 0),
            (2, In, SYN | ACK, 5000, 100, 0), // acks nothing we sent: ignored
            (2, In, SYN | ACK, 5000, 101, 0),
            (3, Out, ACK, 101, 5001, 0),
            (4, Out, ACK, 101, 5001, 10),
            (5, Out, ACK, 110, 5001, 1), // keepalive probe with one octet
            (6, Out, ACK, 110, 5001, 0), // and without
            (6, Out, ACK, 109, 5001, 0), // two below SND.NXT: no probe
            (7, Out, FIN | ACK, 111, 5001, 0),
            (7, Out, FIN | ACK, 111, 5001, 0), // retransmitted FIN: no probe
            (8, In, ACK, 5001, 111, 0),        // does not ack the FIN
            (9, In, ACK, 5001, 112, 0),
            (9, In, SYN | ACK, 5000, 112, 0), // a SYN-ACK again: no new state
            (10, In, ACK, 5001, 112, 20),
            (11, In, FIN | ACK, 5010, 112, 0), // out of order: RCV.NXT is 5021
            (12, In, FIN | ACK, 5021, 112, 0),
            (13, In, SYN, 9000, 0, 0),
            (14, In, RST, 5022, 0, 0),
            (15, In, RST | ACK, 5022, 112, 0),
        ]);
        let d = replay(&s, &[], &[], Some(Duration::from_millis(50)), ms(100));
        assert_eq!(
            changes(&d),
            vec![
                (1, State::SynSent, "syn-sent"),
                (2, State::Established, "syn-ack-received"),
                (7, State::FinWait1, "fin-sent"),
                (9, State::FinWait2, "fin-acked"),
                (12, State::TimeWait, "fin-received"),
                (62, State::Closed, "time-wait-expired"),
            ]
        );
        assert_eq!(numbers(&d.probes), vec![6, 7]);
        assert_eq!(numbers(&d.time_wait_hits), vec![17, 18, 19]);
        assert_eq!(d.timeline.state_at(ms(61)), Some(State::TimeWait));
        assert_eq!(d.timeline.state_at(ms(62)), Some(State::Closed));
        assert_eq!(d.timeline.state_before(ms(62)), Some(State::TimeWait));
        assert_eq!(
            d.timeline.close_cause_before(ms(62)),
            Some("time-wait-expired")
        );
        assert_eq!(d.timeline.close_cause_before(ms(61)), None);
        // 2·MSL not yet over at the end, or not declared: TIME-WAIT to the end.
        for (tw, end) in [(Some(50), 61), (None, 1000)] {
            let d = replay(&s, &[], &[], tw.map(Duration::from_millis), ms(end));
            assert_eq!(
                d.timeline.changes.last().map(|c| c.1),
                Some(State::TimeWait)
            );
        }
        // 2·MSL over exactly at the end.
        let d = replay(&s, &[], &[], Some(Duration::from_millis(50)), ms(62));
        assert_eq!(
            changes(&d).last(),
            Some(&(62, State::Closed, "time-wait-expired"))
        );
        // The SYN-ACK acking nothing we sent leaves SYN-SENT.
        let d = replay(&s[..2], &[], &[], None, ms(100));
        assert_eq!(changes(&d), vec![(1, State::SynSent, "syn-sent")]);
    }

    /// Passive open (the SYN before our SYN-ACK finds no connection), the peer's FIN with its
    /// data, ours after it: SYN-RECEIVED, ESTABLISHED, CLOSE-WAIT, LAST-ACK, CLOSED. Later
    /// segments find no connection.
    #[test]
    fn replay_passive_open_and_close() {
        let s = segs(&[
            (1, In, SYN, 7000, 0, 0),
            (2, Out, SYN | ACK, 300, 7001, 0),
            (3, In, ACK, 7001, 300, 0), // acks nothing we sent
            (4, In, ACK, 7001, 301, 0),
            (5, Out, SYN | ACK, 300, 7001, 0), // a retransmitted SYN-ACK is no probe
            (6, In, FIN | ACK, 7001, 301, 5),
            (6, In, FIN | ACK, 7001, 301, 5), // the FIN again
            (7, Out, FIN | ACK, 301, 7007, 0),
            (8, In, ACK, 7007, 301, 0), // does not ack the FIN
            (9, In, ACK, 7007, 302, 0),
            (10, In, ACK, 7007, 302, 0),
            (11, Out, ACK, 301, 7007, 0),
        ]);
        let d = replay(&s, &[], &[], Some(Duration::from_millis(50)), ms(100));
        assert_eq!(
            changes(&d),
            vec![
                (2, State::SynReceived, "syn-ack-sent"),
                (4, State::Established, "ack-received"),
                (6, State::CloseWait, "fin-received"),
                (7, State::LastAck, "fin-sent"),
                (9, State::Closed, "fin-acked"),
            ]
        );
        assert!(d.probes.is_empty());
        assert!(d.time_wait_hits.is_empty());
        assert_eq!(d.timeline.close_cause_before(ms(100)), Some("fin-acked"));
        assert_eq!(d.timeline.state_before(ms(9)), Some(State::LastAck));
        assert_eq!(d.timeline.state_before(ms(2)), None);
        assert_eq!(d.timeline.state_at(ms(1)), None);
    }

    /// Simultaneous close: our FIN, then the peer's before it acknowledged ours (CLOSING), then
    /// its ACK of our FIN (TIME-WAIT). A FIN in SYN-RECEIVED moves to FIN-WAIT-1.
    #[test]
    fn replay_simultaneous_close() {
        let s = segs(&[
            (1, Out, SYN | ACK, 300, 7001, 0),
            (2, Out, FIN | ACK, 301, 7001, 0),
            (3, In, ACK, 7001, 301, 0), // acks our SYN only
            (4, In, FIN | ACK, 7001, 301, 0),
            (5, In, ACK, 7002, 301, 0), // still not our FIN
            (6, In, ACK, 7002, 302, 0),
        ]);
        let d = replay(&s, &[], &[], None, ms(100));
        assert_eq!(
            changes(&d),
            vec![
                (1, State::SynReceived, "syn-ack-sent"),
                (2, State::FinWait1, "fin-sent"),
                (4, State::Closing, "fin-received"),
                (6, State::TimeWait, "fin-acked"),
            ]
        );
    }

    /// Simultaneous open: our SYN, the peer's SYN, our SYN-ACK (SYN-RECEIVED), its ACK.
    #[test]
    fn replay_simultaneous_open() {
        let s = segs(&[
            (1, Out, SYN, 100, 0, 0),
            (1, Out, ACK, 100, 0, 0), // SND.NXT - 1 before synchronized: no probe
            (2, In, SYN, 5000, 0, 0),
            (2, In, FIN | ACK, 5001, 101, 0), // in SYN-SENT: dropped, no FIN taken
            (3, Out, SYN | ACK, 100, 5001, 0),
            (3, Out, ACK, 100, 5001, 0), // nor here
            (4, In, ACK, 5001, 101, 0),
            (5, In, ACK, 5001, 101, 3),
            (6, In, FIN | ACK, 5004, 101, 0),
        ]);
        let d = replay(&s, &[], &[], None, ms(100));
        assert!(d.probes.is_empty());
        assert_eq!(
            changes(&d),
            vec![
                (1, State::SynSent, "syn-sent"),
                (3, State::SynReceived, "syn-ack-sent"),
                (4, State::Established, "ack-received"),
                (6, State::CloseWait, "fin-received"),
            ]
        );
    }

    /// Our FIN sits after the data it carries: an ACK of that data alone does not acknowledge
    /// the FIN.
    #[test]
    fn replay_a_fin_with_data_is_acked_past_its_data() {
        let s = segs(&[
            (1, Out, SYN, 100, 0, 0),
            (2, In, SYN | ACK, 5000, 101, 0),
            (3, Out, FIN | ACK, 101, 5001, 10),
            (4, In, ACK, 5001, 111, 0),
            (5, In, ACK, 5001, 112, 0),
        ]);
        let d = replay(&s, &[], &[], None, ms(100));
        assert_eq!(
            changes(&d)[2..],
            [
                (3, State::FinWait1, "fin-sent"),
                (5, State::FinWait2, "fin-acked"),
            ]
        );
    }

    /// In SYN-SENT a SYN-ACK acknowledging something other than our SYN is dropped whole
    /// (RFC 9293 §3.10.7.3): it does not set RCV.NXT, so a FIN before the right SYN-ACK is not
    /// taken, and the one after it is.
    #[test]
    fn replay_a_wrong_syn_ack_sets_nothing() {
        let s = segs(&[
            (1, Out, SYN, 100, 0, 0),
            (2, In, SYN | ACK, 5000, 999, 0),
            (3, In, FIN | ACK, 5001, 101, 0),
            (4, In, SYN | ACK, 5000, 101, 0),
            (5, In, FIN | ACK, 5001, 101, 0),
        ]);
        let d = replay(&s, &[], &[], None, ms(100));
        assert_eq!(
            changes(&d),
            vec![
                (1, State::SynSent, "syn-sent"),
                (4, State::Established, "syn-ack-received"),
                (5, State::CloseWait, "fin-received"),
            ]
        );
    }

    /// An RST ends SYN-SENT only when it acknowledges our SYN exactly, a synchronized connection
    /// only when its SEQ is in the window we last advertised (scaled when both sides offered
    /// Window Scale); one we send ends it at once.
    #[test]
    fn replay_rst_acceptance() {
        let open = |ws_ours: Option<u8>, ws_theirs: Option<u8>| {
            let mut v = segs(&[
                (1, Out, SYN, 100, 0, 0),
                (2, In, SYN | ACK, 5000, 101, 0),
                (3, Out, ACK, 101, 5001, 0),
            ]);
            v[0].window_scale = ws_ours;
            v[1].window_scale = ws_theirs;
            v[2].window = 100;
            v
        };
        let closed_by = |v: &[Seg]| {
            let d = replay(v, &[], &[], None, ms(100));
            d.timeline
                .changes
                .last()
                .filter(|c| c.1 == State::Closed)
                .map(|c| (c.0.total_millis(), c.2))
        };
        let rst = |seq: u32| segs(&[(0, In, RST, 0, 0, 0)]).remove(0).with(4, seq);
        // Unscaled window: 100 octets from RCV.NXT 5001.
        for (ws, seq, closes) in [
            ((None, None), 5001, true),
            ((None, None), 5100, true),
            ((None, None), 5101, false),
            ((None, None), 5000, false),
            ((Some(2), None), 5101, false),
            ((None, Some(2)), 5101, false),
            ((Some(2), Some(5)), 5101, true),
            ((Some(2), Some(5)), 5400, true),
            ((Some(2), Some(5)), 5401, false),
            ((Some(2), Some(5)), 4900, false),
        ] {
            let mut v = open(ws.0, ws.1);
            v.push(rst(seq));
            assert_eq!(
                closed_by(&v),
                closes.then_some((4, "rst-received")),
                "{ws:?} SEQ {seq}"
            );
        }
        // A segment without ACK advertises no window: the one before it still holds.
        let mut v = open(None, None);
        v.extend(segs(&[(3, Out, FIN, 101, 0, 0)]));
        v.push(rst(5101));
        assert_eq!(closed_by(&v), None, "window 100, not 1000");
        // SYN-SENT: the RST must carry ACK = SND.NXT.
        let syn = || segs(&[(1, Out, SYN, 100, 0, 0)]);
        for (flags, ack, closes) in [
            (RST | ACK, 101, true),
            (RST | ACK, 100, false),
            (RST, 101, false),
        ] {
            let mut v = syn();
            let mut r = segs(&[(2, In, flags, 0, ack, 0)]);
            v.append(&mut r);
            assert_eq!(
                closed_by(&v),
                closes.then_some((2, "rst-received")),
                "{flags:?} {ack}"
            );
        }
        // Our own RST, in any state; none before any connection.
        let mut v = syn();
        v.extend(segs(&[(2, Out, RST | ACK, 101, 0, 0)]));
        assert_eq!(closed_by(&v), Some((2, "rst-sent")));
        let d = replay(&segs(&[(1, Out, RST, 5, 0, 0)]), &[], &[], None, ms(9));
        assert!(d.timeline.changes.is_empty());
    }

    /// A socket call's effect and a reboot close an open connection (once); on no connection
    /// they do nothing. At one instant segments come first, then calls, then reboots.
    #[test]
    fn replay_calls_and_reboots_close() {
        let s = segs(&[(1, Out, SYN, 100, 0, 0), (2, In, SYN | ACK, 5000, 101, 0)]);
        let d = replay(&s, &[(ms(5), CallEffect::Aborted)], &[ms(5)], None, ms(9));
        assert_eq!(changes(&d).last(), Some(&(5, State::Closed, "user-abort")));
        let d = replay(&s, &[(ms(5), CallEffect::Failed)], &[], None, ms(9));
        assert_eq!(
            changes(&d).last(),
            Some(&(5, State::Closed, "error-reported"))
        );
        let d = replay(&s, &[], &[ms(2), ms(6)], None, ms(9));
        assert_eq!(changes(&d).last(), Some(&(2, State::Closed, "reboot")));
        assert_eq!(d.timeline.changes.len(), 3);
        // The SYN at 1 ms comes before the abort at 1 ms; the SYN-ACK then finds nothing.
        let d = replay(&s, &[(ms(1), CallEffect::Aborted)], &[], None, ms(9));
        assert_eq!(
            changes(&d),
            vec![
                (1, State::SynSent, "syn-sent"),
                (1, State::Closed, "user-abort")
            ]
        );
        // Before the connection: nothing to close.
        let d = replay(
            &s[1..],
            &[(ms(1), CallEffect::Failed)],
            &[ms(1)],
            None,
            ms(9),
        );
        assert!(d.timeline.changes.is_empty());
    }

    /// 2·MSL ends TIME-WAIT before the next segment, which then finds no connection.
    #[test]
    fn replay_time_wait_expires_before_a_later_segment() {
        let s = segs(&[
            (1, Out, SYN, 100, 0, 0),
            (2, In, SYN | ACK, 5000, 101, 0),
            (3, Out, FIN | ACK, 101, 5001, 0),
            (4, In, FIN | ACK, 5001, 102, 0),
            (40, In, SYN, 7000, 0, 0),
        ]);
        let d = replay(&s, &[], &[], Some(Duration::from_millis(30)), ms(50));
        assert_eq!(
            changes(&d),
            vec![
                (1, State::SynSent, "syn-sent"),
                (2, State::Established, "syn-ack-received"),
                (3, State::FinWait1, "fin-sent"),
                (4, State::FinWait2, "fin-acked"),
                (4, State::TimeWait, "fin-received"),
                (34, State::Closed, "time-wait-expired"),
            ]
        );
        assert!(d.time_wait_hits.is_empty());
    }
}
