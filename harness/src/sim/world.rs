//! The world: nodes, segments, the event queue and the stepping loop.

use super::fault::{self, Rule};
use crate::trace::{Fate, FrameRecord, NodeId, SegmentId, Trace, TraceEvent, TraceKind};
use core::cmp::Reverse;
use core::net::Ipv4Addr;
use stack::rand::Rng;
use stack::wire;
use stack::{Duration, Instant};
use std::any::Any;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};

/// Anything attached to segments: a host, a router, a NAT box.
pub trait Node {
    fn name(&self) -> &str;
    /// IPv4 addresses the node owns (for reports and oracles).
    fn addrs(&self) -> Vec<Ipv4Addr>;
    fn handle_frame(&mut self, now: Instant, port: usize, frame: &[u8]);
    /// True only when [`handle_frame`](Self::handle_frame) would change nothing and log
    /// nothing (a broadcast this node ignores): the world then skips the delivery, so a
    /// broadcast costs a check, not a full delivery, at every bystander. `false` is always safe.
    fn ignores_frame(&mut self, _now: Instant, _port: usize, _frame: &[u8]) -> bool {
        false
    }
    /// [`ignores_frame`](Self::ignores_frame) for a frame that parsed as an ARP packet to
    /// `eth_dst` (the world parses a flooded frame once, not once per port).
    fn ignores_arp(
        &mut self,
        _now: Instant,
        _port: usize,
        _eth_dst: stack::wire::EthernetAddress,
        _arp: &stack::wire::ArpRepr,
    ) -> bool {
        false
    }
    fn handle_timeout(&mut self, now: Instant);
    /// A frame to put on the segment attached to `port`.
    fn poll_transmit(&mut self, now: Instant) -> Option<(usize, Vec<u8>)>;
    fn poll_at(&self) -> Option<Instant>;
    /// Moves the node's logged events (stack, NAT, application) into `out`.
    fn drain_trace(&mut self, me: NodeId, out: &mut Vec<TraceEvent>);
    /// What the node's stack shows the oracles, if the node is a stack under test.
    fn evidence(&self) -> Option<crate::trace::StackEvidence> {
        None
    }
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

/// Why a run could not finish.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SimError {
    #[error("livelock at {time}: more than {steps} steps without time advancing")]
    Livelock { time: Instant, steps: usize },
    #[error("node {0} has no port {1}")]
    NoSuchPort(String, usize),
}

struct Segment {
    name: String,
    delay: Duration,
    rules: Vec<Rule>,
    ports: Vec<(NodeId, usize)>,
    sent: usize,
    /// Learning-switch table: source MAC seen -> the port it came from. Unicast frames go to
    /// the learned port only; broadcast and unknown destinations are flooded. Nodes filter by
    /// MAC anyway, so this changes no outcome, only the cost of large segments.
    fdb: BTreeMap<[u8; 6], (NodeId, usize)>,
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct QueueKey {
    time: Instant,
    order: u64,
}

/// A frame parsed as ARP: its Ethernet destination and the packet.
type ParsedArp = (wire::EthernetAddress, wire::ArpRepr);

/// Where a queued frame goes.
enum To {
    Port(NodeId, usize),
    /// Every port of the segment but the sender's, in attach order (a broadcast or an
    /// unknown destination): one queue entry however many ports the segment has.
    Flood {
        seg: usize,
        from: (NodeId, usize),
    },
}

struct Delivery {
    to: To,
    bytes: Vec<u8>,
}

/// A queued delivery, ordered by its key alone (earliest first in a max-heap).
struct Queued(QueueKey, Delivery);

impl PartialEq for Queued {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}
impl Eq for Queued {}
impl PartialOrd for Queued {
    fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Queued {
    fn cmp(&self, other: &Self) -> core::cmp::Ordering {
        other.0.cmp(&self.0)
    }
}

/// Steps without time advancing before a run is declared livelocked.
const LIVELOCK_STEPS: usize = 100_000;

/// The simulated world.
pub struct World {
    now: Instant,
    nodes: Vec<Box<dyn Node>>,
    /// (node, port) -> segment.
    attach: BTreeMap<(usize, usize), usize>,
    segments: Vec<Segment>,
    /// Frames in flight, earliest (time, then send order) first; keys are unique.
    queue: BinaryHeap<Queued>,
    order: u64,
    rng: Rng,
    trace: Trace,
    steps_at_now: usize,
    events_processed: u64,
    /// Deliveries skipped because the receiver ignores the frame ([`Node::ignores_frame`]).
    skipped: u64,
    /// Each node's current `poll_at`, and the same as an index, earliest (then lowest node)
    /// first, with lazy deletion: a superseded entry stays until it reaches the top, where
    /// [`World::prune`] drops it, so the top is always a node's current deadline.
    deadline: Vec<Option<Instant>>,
    timers: BinaryHeap<Reverse<(Instant, usize)>>,
    /// Nodes touched in the current step (their output and deadline need refreshing).
    dirty: BTreeSet<usize>,
    /// Keep frames and events in the trace (off only for benchmarks).
    capture: bool,
}

impl World {
    pub fn new(seed: u64) -> World {
        World {
            now: Instant::ZERO,
            nodes: Vec::new(),
            attach: BTreeMap::new(),
            segments: Vec::new(),
            queue: BinaryHeap::new(),
            order: 0,
            rng: Rng::new(seed),
            trace: Trace::default(),
            steps_at_now: 0,
            events_processed: 0,
            skipped: 0,
            deadline: Vec::new(),
            timers: BinaryHeap::new(),
            dirty: BTreeSet::new(),
            capture: true,
        }
    }

    /// Whether frames and node events are kept in the trace (default on).
    pub fn set_capture(&mut self, on: bool) {
        self.capture = on;
    }

    /// Re-reads node `i`'s deadline into the index.
    fn refresh(&mut self, i: usize) {
        let new = self.nodes[i].poll_at();
        if self.deadline[i] != new {
            if let Some(t) = new {
                self.timers.push(Reverse((t, i)));
            }
            self.deadline[i] = new;
            self.prune();
        }
    }

    /// Drops superseded deadlines from the top of the index (and rebuilds it when stale
    /// entries outnumber the live ones).
    fn prune(&mut self) {
        while let Some(&Reverse((t, i))) = self.timers.peek() {
            if self.deadline[i] == Some(t) {
                break;
            }
            self.timers.pop();
        }
        if self.timers.len() > 2 * self.deadline.len() + 64 {
            let live: Vec<Reverse<(Instant, usize)>> = self
                .deadline
                .iter()
                .enumerate()
                .filter_map(|(i, d)| d.map(|t| Reverse((t, i))))
                .collect();
            self.timers = BinaryHeap::from(live);
        }
    }

    pub fn now(&self) -> Instant {
        self.now
    }

    /// Adds an L2 segment with a one-way delay.
    pub fn add_segment(&mut self, name: &str, delay: Duration) -> SegmentId {
        self.segments.push(Segment {
            name: name.to_string(),
            delay,
            rules: Vec::new(),
            ports: Vec::new(),
            sent: 0,
            fdb: BTreeMap::new(),
        });
        self.trace.meta.segment_names.push(name.to_string());
        SegmentId(self.segments.len() - 1)
    }

    /// Appends an impairment rule to a segment's chain.
    pub fn add_rule(&mut self, seg: SegmentId, rule: Rule) {
        self.segments[seg.0].rules.push(rule);
    }

    pub fn add_node(&mut self, node: Box<dyn Node>) -> NodeId {
        self.trace.meta.node_names.push(node.name().to_string());
        self.trace.meta.node_addrs.push(node.addrs());
        self.trace.meta.stacks.push(node.evidence());
        self.nodes.push(node);
        self.deadline.push(None);
        let i = self.nodes.len() - 1;
        self.refresh(i);
        NodeId(i)
    }

    /// Plugs `port` of `node` into `seg`.
    pub fn attach(&mut self, node: NodeId, port: usize, seg: SegmentId) {
        self.attach.insert((node.0, port), seg.0);
        self.segments[seg.0].ports.push((node, port));
    }

    pub fn node_mut(&mut self, id: NodeId) -> &mut dyn Node {
        self.dirty.insert(id.0);
        self.nodes[id.0].as_mut()
    }

    /// Downcasts a node (e.g. to a [`super::HostNode`]) for scenario actions.
    pub fn node_as<T: 'static>(&mut self, id: NodeId) -> Option<&mut T> {
        self.dirty.insert(id.0);
        self.nodes[id.0].as_any_mut().downcast_mut::<T>()
    }

    /// Takes every node out of the world, leaving it able only to hand over its trace
    /// ([`World::into_trace`]): for weighing the nodes at the end of a run (`bench --breakdown`).
    pub fn take_nodes(&mut self) -> Vec<Box<dyn Node>> {
        self.dirty.clear();
        std::mem::take(&mut self.nodes)
    }

    pub fn segment_count(&self) -> usize {
        self.segments.len()
    }

    pub fn segment_name(&self, seg: SegmentId) -> &str {
        &self.segments[seg.0].name
    }

    /// Frame deliveries plus node wake-ups processed so far.
    pub fn events_processed(&self) -> u64 {
        self.events_processed
    }

    /// Deliveries skipped because the receiving node ignores the frame (broadcast bystanders).
    pub fn deliveries_skipped(&self) -> u64 {
        self.skipped
    }

    /// Puts a frame on a segment as if `from` had sent it (used for injected segments too).
    pub fn transmit(&mut self, from: NodeId, port: usize, bytes: Vec<u8>) -> Result<(), SimError> {
        let seg_idx = *self
            .attach
            .get(&(from.0, port))
            .ok_or_else(|| SimError::NoSuchPort(self.nodes[from.0].name().to_string(), port))?;
        let seg = &mut self.segments[seg_idx];
        seg.sent += 1;
        let number = seg.sent;
        let outcome = fault::apply(&seg.rules, self.now, number, &mut self.rng);
        let fate = match &outcome.dropped {
            Some(why) => Fate::Dropped(why.clone()),
            None => Fate::Delivered,
        };
        let at = self.now + seg.delay + outcome.delay;
        if outcome.dropped.is_none() {
            let mac =
                |r: core::ops::Range<usize>| -> Option<[u8; 6]> { bytes.get(r)?.try_into().ok() };
            if let Some(src) = mac(6..12) {
                seg.fdb.insert(src, (from, port));
            }
            let learned = mac(0..6)
                .filter(|d| d != &[0xff; 6])
                .and_then(|d| seg.fdb.get(&d).copied());
            let targets: Vec<(NodeId, usize)> = match learned {
                Some(t) if t != (from, port) => vec![t],
                // A flood without a duplicate is one entry (same order: its deliveries were
                // consecutive entries of the same instant anyway).
                _ if outcome.duplicate.is_none() => {
                    let to = To::Flood {
                        seg: seg_idx,
                        from: (from, port),
                    };
                    self.enqueue(at, to, bytes.clone());
                    Vec::new()
                }
                _ => seg
                    .ports
                    .iter()
                    .copied()
                    .filter(|&(n, p)| !(n == from && p == port))
                    .collect(),
            };
            for &(n, p) in &targets {
                self.enqueue(at, To::Port(n, p), bytes.clone());
                if let Some(d) = outcome.duplicate {
                    self.enqueue(at + d, To::Port(n, p), bytes.clone());
                }
            }
        }
        if !self.capture {
            return Ok(());
        }
        self.trace.events.push(TraceEvent {
            time: self.now,
            kind: TraceKind::Frame(FrameRecord {
                time: self.now,
                segment: SegmentId(seg_idx),
                number,
                from,
                bytes,
                delivered_at: (fate == Fate::Delivered).then_some(at),
                fate,
            }),
        });
        Ok(())
    }

    /// Puts a copy of an earlier frame back on its segment, from the port that first sent it.
    pub fn replay(&mut self, f: &FrameRecord) -> Result<(), SimError> {
        let port = self
            .attach
            .iter()
            .find(|((n, _), s)| *n == f.from.0 && **s == f.segment.0)
            .map(|((_, p), _)| *p)
            .ok_or_else(|| SimError::NoSuchPort(self.nodes[f.from.0].name().to_string(), 0))?;
        self.transmit(f.from, port, f.bytes.clone())
    }

    fn enqueue(&mut self, time: Instant, to: To, bytes: Vec<u8>) {
        self.order += 1;
        self.queue.push(Queued(
            QueueKey {
                time,
                order: self.order,
            },
            Delivery { to, bytes },
        ));
    }

    /// Hands `bytes` to one port of a node, unless the node ignores it (`arp`: the frame
    /// already parsed as ARP, with its Ethernet destination).
    fn deliver(
        &mut self,
        now: Instant,
        node: NodeId,
        port: usize,
        bytes: &[u8],
        arp: Option<&ParsedArp>,
    ) {
        let n = &mut self.nodes[node.0];
        let ignored = match arp {
            Some((dst, a)) => n.ignores_arp(now, port, *dst, a),
            None => n.ignores_frame(now, port, bytes),
        };
        if ignored {
            self.skipped += 1;
            return;
        }
        self.events_processed += 1;
        n.handle_frame(now, port, bytes);
        self.dirty.insert(node.0);
    }

    /// The next instant anything happens, if anything will.
    pub fn next_deadline(&self) -> Option<Instant> {
        let q = self.queue.peek().map(|q| q.0.time);
        let n = self.timers.peek().map(|Reverse((t, _))| *t);
        match (q, n) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Advances to `at` (never backwards) without doing anything else.
    pub fn advance_to(&mut self, at: Instant) {
        if at > self.now {
            self.now = at;
            self.steps_at_now = 0;
        }
    }

    /// Processes everything due at the next deadline, if it is not after `limit`.
    /// Returns false when nothing is due up to `limit`.
    pub fn step(&mut self, limit: Instant) -> Result<bool, SimError> {
        let Some(next) = self.next_deadline() else {
            return Ok(false);
        };
        if next > limit {
            return Ok(false);
        }
        if next > self.now {
            self.now = next;
            self.steps_at_now = 0;
        }
        self.steps_at_now += 1;
        if self.steps_at_now > LIVELOCK_STEPS {
            return Err(SimError::Livelock {
                time: self.now,
                steps: LIVELOCK_STEPS,
            });
        }
        let now = self.now;
        // 1. Deliver every frame due now, in queue order.
        while self.queue.peek().is_some_and(|q| q.0.time <= now) {
            let Some(Queued(_, d)) = self.queue.pop() else {
                break;
            };
            match d.to {
                To::Port(node, port) => self.deliver(now, node, port, &d.bytes, None),
                To::Flood { seg, from } => {
                    // Parsed once for every port (what each stack would parse alike).
                    let arp = match wire::parse_frame(&d.bytes, wire::ChecksumMode::Verify) {
                        Ok(wire::Frame::Arp { eth, arp }) => Some((eth.dst_addr, arp)),
                        _ => None,
                    };
                    for k in 0..self.segments[seg].ports.len() {
                        let (node, port) = self.segments[seg].ports[k];
                        if (node, port) != from {
                            self.deliver(now, node, port, &d.bytes, arp.as_ref());
                        }
                    }
                }
            }
        }
        // 2. Fire due timers.
        while let Some(&Reverse((t, i))) = self.timers.peek() {
            if t > now {
                break;
            }
            self.timers.pop();
            self.deadline[i] = None;
            self.prune();
            self.events_processed += 1;
            self.nodes[i].handle_timeout(now);
            self.dirty.insert(i);
        }
        // 3. Collect what the touched nodes want to send, and what they logged.
        while let Some(i) = self.dirty.pop_first() {
            self.flush_node(i, now)?;
        }
        Ok(true)
    }

    fn flush_node(&mut self, i: usize, now: Instant) -> Result<(), SimError> {
        while let Some((port, bytes)) = self.nodes[i].poll_transmit(now) {
            self.transmit(NodeId(i), port, bytes)?;
        }
        let mut evs = Vec::new();
        self.nodes[i].drain_trace(NodeId(i), &mut evs);
        if self.capture {
            self.trace.events.extend(evs);
        }
        self.refresh(i);
        Ok(())
    }

    /// Moves every node's pending frames onto the wire and its events into the trace.
    /// Used after scenario actions, which may touch any node.
    pub fn flush(&mut self, now: Instant) -> Result<(), SimError> {
        for i in 0..self.nodes.len() {
            self.flush_node(i, now)?;
        }
        Ok(())
    }

    /// Runs until `end` (inclusive), then leaves the clock at `end`.
    pub fn run_until(&mut self, end: Instant) -> Result<(), SimError> {
        while self.step(end)? {}
        self.advance_to(end);
        Ok(())
    }

    /// Appends an event to the trace (scenario actions use this).
    pub fn log(&mut self, kind: TraceKind) {
        self.trace.events.push(TraceEvent {
            time: self.now,
            kind,
        });
    }

    /// The trace so far.
    pub fn trace(&self) -> &Trace {
        &self.trace
    }

    /// Ends the run and hands back the trace.
    pub fn into_trace(mut self) -> Trace {
        self.trace.end = self.now;
        // Nodes log events stamped with their own time; keep the trace in time order (stable,
        // so same-instant events keep their causal order).
        self.trace.events.sort_by_key(|e| e.time);
        self.trace
    }
}
