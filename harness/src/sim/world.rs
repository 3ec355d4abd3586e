//! The world: nodes, segments, the event queue and the stepping loop.

use super::fault::{self, Rule};
use crate::trace::{Fate, FrameRecord, NodeId, SegmentId, Trace, TraceEvent, TraceKind};
use core::net::Ipv4Addr;
use stack::arp::Interest;
use stack::calendar::Calendar;
use stack::rand::Rng;
use stack::wire;
use stack::{Duration, Instant};
use std::any::Any;
use std::cell::Cell;
use std::collections::{BTreeMap, BinaryHeap};

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
    /// Appends the changes of the ARP interest of `port` ([`Interest`]: addresses it owns,
    /// addresses it holds an ARP entry for), such that [`ignores_arp`](Self::ignores_arp) on
    /// `port` is true for every ARP packet to the broadcast address whose target it does not
    /// own and whose sender it holds no entry for; the first call reports the whole of it.
    /// The world indexes these per segment and offers an ARP broadcast only to the ports that
    /// own its target or know its sender, so a broadcast costs nothing at bystanders. Returns
    /// false when the node keeps no such record for `port` (every ARP broadcast is then
    /// offered to it).
    fn arp_interest(&mut self, _port: usize, _out: &mut Vec<Interest>) -> bool {
        false
    }
    /// Connections, ARP entries, NAT mappings and ports the node visited so far (a work
    /// counter, for tests that check no event scans every connection); 0 when not counted.
    fn work(&self) -> u64 {
        0
    }
    fn handle_timeout(&mut self, now: Instant);
    /// A frame to put on the segment attached to `port`.
    fn poll_transmit(&mut self, now: Instant) -> Option<(usize, Vec<u8>)>;
    fn poll_at(&self) -> Option<Instant>;
    /// Moves the node's logged events (stack, NAT, application) into `out`.
    fn drain_trace(&mut self, me: NodeId, out: &mut Vec<TraceEvent>);
    /// Drops what [`drain_trace`](Self::drain_trace) would move (a run that keeps no trace);
    /// `scratch` is an empty buffer to drain into, left empty.
    fn discard_trace(&mut self, me: NodeId, scratch: &mut Vec<TraceEvent>) {
        self.drain_trace(me, scratch);
        scratch.clear();
    }
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
    /// Keyed by the MAC address as a number (cheaper to compare than a byte array); the
    /// port as (node, port) in 32 bits each (a segment may learn 100,000 addresses).
    fdb: BTreeMap<u64, (u32, u32)>,
    /// Indices (into `ports`) of the ports whose node keeps no ARP interest set
    /// ([`Node::arp_interest`]): offered every ARP broadcast.
    arp_all: Vec<u32>,
    /// Address -> the indices of the ports that own it, and of those that hold an ARP entry
    /// for it ([`Interest`]). An ARP broadcast is offered to the owners of its target, the
    /// holders of its sender and `arp_all`; every other port is known to ignore it.
    arp_owners: BTreeMap<Ipv4Addr, Vec<u32>>,
    arp_holders: BTreeMap<Ipv4Addr, Vec<u32>>,
}

impl Segment {
    /// Applies interest changes of the port at index `k`.
    fn apply_interest(&mut self, k: u32, changes: &[Interest]) {
        for c in changes {
            let index = if c.own {
                &mut self.arp_owners
            } else {
                &mut self.arp_holders
            };
            if c.added {
                // Most addresses are held by one port (a router's neighbour): no spare slots.
                let v = index.entry(c.addr).or_default();
                v.reserve_exact(1);
                v.push(k);
            } else if let Some(v) = index.get_mut(&c.addr) {
                if let Some(pos) = v.iter().position(|&x| x == k) {
                    v.swap_remove(pos);
                }
                if v.is_empty() {
                    index.remove(&c.addr);
                }
            }
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct QueueKey {
    time: Instant,
    order: u64,
}

/// A frame parsed as ARP: its Ethernet destination and the packet.
type ParsedArp = (wire::EthernetAddress, wire::ArpRepr);

/// Where a queued frame goes.
#[derive(Clone, Copy)]
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

/// One port of a node plugged into a segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Link {
    node: u32,
    port: u32,
    seg: u32,
    /// The port's index in the segment's `ports`.
    k: u32,
    /// The segment indexes this port's ARP interest ([`Node::arp_interest`]).
    watched: bool,
}

/// Steps without time advancing before a run is declared livelocked.
const LIVELOCK_STEPS: usize = 100_000;

/// The simulated world.
pub struct World {
    now: Instant,
    nodes: Vec<Box<dyn Node>>,
    /// Every plugged-in port, sorted by (node, port): one flat table, no per-node
    /// allocation (a world may hold 100,000 hosts of one port each).
    links: Vec<Link>,
    /// Where the last lookup found a node's first link, relative to the node's number: most
    /// worlds give every host one port, so the next lookup usually lands there at once
    /// instead of binary-searching 100,000 links (a cache miss per level).
    link_shift: Cell<isize>,
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
    /// Ports offered a frame (delivered or skipped).
    offered: u64,
    /// Each node's current `poll_at`, and the same as an index, earliest (then lowest node)
    /// first, with lazy deletion: a superseded entry stays until it reaches the top, where
    /// [`World::prune`] drops it, so the top is always a node's current deadline. A calendar
    /// queue: with 100,000 hosts a binary heap over every deadline missed the cache at each level.
    deadline: Vec<Option<Instant>>,
    timers: Calendar<usize>,
    /// Nodes touched in the current step (their output and deadline need refreshing), each
    /// once (`is_dirty`), flushed in node order.
    dirty: Vec<usize>,
    is_dirty: Vec<bool>,
    /// Keep frames and events in the trace (off only for benchmarks).
    capture: bool,
    /// Scratch buffers: interest changes, ports an ARP broadcast is offered to.
    interest_buf: Vec<Interest>,
    offer_buf: Vec<u32>,
    /// Nodes handed out to scenario actions since the last step (their ARP interest may
    /// have changed).
    acted_on: Vec<usize>,
    /// Scratch buffer: where a transmitted frame is queued for.
    to_buf: Vec<(Instant, To)>,
    /// Scratch buffer: node events drained and dropped when not capturing.
    ev_buf: Vec<TraceEvent>,
    /// Nodes that handled a frame or a timeout in this step and whose ARP interest the
    /// segments' index has not taken in since ([`World::sync_interest`]): read only before an
    /// ARP broadcast is offered, so it is brought up to date there and at the end of the
    /// step, once per node and not after every delivery.
    unsynced: Vec<usize>,
}

impl World {
    pub fn new(seed: u64) -> World {
        World {
            now: Instant::ZERO,
            nodes: Vec::new(),
            links: Vec::new(),
            link_shift: Cell::new(0),
            segments: Vec::new(),
            queue: BinaryHeap::new(),
            order: 0,
            rng: Rng::new(seed),
            trace: Trace::default(),
            steps_at_now: 0,
            events_processed: 0,
            skipped: 0,
            offered: 0,
            deadline: Vec::new(),
            timers: Calendar::new(),
            dirty: Vec::new(),
            is_dirty: Vec::new(),
            capture: true,
            interest_buf: Vec::new(),
            offer_buf: Vec::new(),
            acted_on: Vec::new(),
            to_buf: Vec::new(),
            ev_buf: Vec::new(),
            unsynced: Vec::new(),
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
                self.timers.push(t, i);
            }
            self.deadline[i] = new;
            self.prune();
        }
    }

    /// Drops superseded deadlines from the top of the index (and rebuilds it when stale
    /// entries outnumber the live ones).
    fn prune(&mut self) {
        while let Some((t, i)) = self.timers.peek() {
            if self.deadline[i] == Some(t) {
                break;
            }
            self.timers.pop();
        }
        if self.timers.len() > 2 * self.deadline.len() + 64 {
            self.timers.clear();
            for (i, d) in self.deadline.iter().enumerate() {
                if let Some(t) = d {
                    self.timers.push(*t, i);
                }
            }
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
            arp_all: Vec::new(),
            arp_owners: BTreeMap::new(),
            arp_holders: BTreeMap::new(),
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
        self.is_dirty.push(false);
        let i = self.nodes.len() - 1;
        self.refresh(i);
        NodeId(i)
    }

    /// Plugs `port` of `node` into `seg`.
    pub fn attach(&mut self, node: NodeId, port: usize, seg: SegmentId) {
        let s = &mut self.segments[seg.0];
        let k = u32::try_from(s.ports.len()).expect("fewer than 2^32 ports on a segment");
        s.ports.push((node, port));
        let mut buf = std::mem::take(&mut self.interest_buf);
        buf.clear();
        let watched = self.nodes[node.0].arp_interest(port, &mut buf);
        if watched {
            s.apply_interest(k, &buf);
        } else {
            s.arp_all.push(k);
        }
        self.interest_buf = buf;
        let link = Link {
            node: u32::try_from(node.0).expect("fewer than 2^32 nodes"),
            port: u32::try_from(port).expect("fewer than 2^32 ports on a node"),
            seg: u32::try_from(seg.0).expect("fewer than 2^32 segments"),
            k,
            watched,
        };
        match self.find_link(node.0, port) {
            // Plugged in again: the port now sends into `seg`.
            Ok(i) => self.links[i] = link,
            Err(i) => self.links.insert(i, link),
        }
    }

    /// Where the link of (`node`, `port`) is, or would be inserted, in `links`.
    fn find_link(&self, node: usize, port: usize) -> Result<usize, usize> {
        let lo = self.first_link(node);
        let key = |l: &Link| (l.node as usize, l.port as usize).cmp(&(node, port));
        // Galloping from the node's first link: a window that ends at or past the port.
        let mut end = 1;
        while lo + end < self.links.len() && key(&self.links[lo + end - 1]).is_lt() {
            end *= 2;
        }
        let end = (lo + end).min(self.links.len());
        self.links[lo..end]
            .binary_search_by(key)
            .map(|i| lo + i)
            .map_err(|i| lo + i)
    }

    /// The index of the first link of `node` or of a later node (`links.len()` if none):
    /// first where the last lookup's shift points, else by binary search.
    fn first_link(&self, node: usize) -> usize {
        let below = |i: usize| i > 0 && self.links[i - 1].node as usize >= node;
        let guess = node as isize + self.link_shift.get();
        if let Ok(g) = usize::try_from(guess) {
            if g < self.links.len() && self.links[g].node as usize >= node && !below(g) {
                return g;
            }
        }
        let lo = self.links.partition_point(|l| (l.node as usize) < node);
        self.link_shift.set(lo as isize - node as isize);
        lo
    }

    /// The links of `node`, in port order.
    fn links_of(&self, node: usize) -> &[Link] {
        let lo = self.first_link(node);
        let n = self.links[lo..]
            .iter()
            .take_while(|l| l.node as usize == node)
            .count();
        &self.links[lo..lo + n]
    }

    /// Frees the spare capacity the tables kept while the world was being built (call once
    /// every node is added and attached).
    pub fn shrink_to_fit(&mut self) {
        self.nodes.shrink_to_fit();
        self.links.shrink_to_fit();
        self.deadline.shrink_to_fit();
        self.segments.shrink_to_fit();
        for s in &mut self.segments {
            s.ports.shrink_to_fit();
            s.arp_all.shrink_to_fit();
        }
        let meta = &mut self.trace.meta;
        meta.node_names.shrink_to_fit();
        meta.node_addrs.shrink_to_fit();
        meta.segment_names.shrink_to_fit();
        meta.stacks.shrink_to_fit();
    }

    /// Brings the segments' ARP interest index up to date with node `i` (after anything that
    /// may have changed its ARP cache).
    fn sync_interest(&mut self, i: usize) {
        let lo = self.first_link(i);
        let mut buf = std::mem::take(&mut self.interest_buf);
        let mut w = lo;
        while let Some(&l) = self.links.get(w).filter(|l| l.node as usize == i) {
            w += 1;
            if !l.watched {
                continue;
            }
            buf.clear();
            if self.nodes[i].arp_interest(l.port as usize, &mut buf) {
                self.segments[l.seg as usize].apply_interest(l.k, &buf);
            }
        }
        self.interest_buf = buf;
    }

    /// Marks node `i` for flushing at the end of the step.
    fn touch(&mut self, i: usize) {
        if !self.is_dirty[i] {
            self.is_dirty[i] = true;
            self.dirty.push(i);
        }
    }

    pub fn node_mut(&mut self, id: NodeId) -> &mut dyn Node {
        self.touch(id.0);
        self.acted_on.push(id.0);
        self.nodes[id.0].as_mut()
    }

    /// Downcasts a node (e.g. to a [`super::HostNode`]) for scenario actions.
    pub fn node_as<T: 'static>(&mut self, id: NodeId) -> Option<&mut T> {
        self.touch(id.0);
        self.acted_on.push(id.0);
        self.nodes[id.0].as_any_mut().downcast_mut::<T>()
    }

    /// Takes every node out of the world, leaving it able only to hand over its trace
    /// ([`World::into_trace`]): for weighing the nodes at the end of a run (`bench --breakdown`).
    pub fn take_nodes(&mut self) -> Vec<Box<dyn Node>> {
        self.dirty.clear();
        self.is_dirty.fill(false);
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

    /// Work so far: ports offered a frame, node wake-ups, and what every node visited
    /// ([`Node::work`]). Divided by [`events_processed`](Self::events_processed) it must not
    /// grow with the number of connections. (Sums over the nodes: for reports, not per step.)
    pub fn work(&self) -> u64 {
        self.offered + self.events_processed + self.nodes.iter().map(|n| n.work()).sum::<u64>()
    }

    /// Puts a frame on a segment as if `from` had sent it (used for injected segments too).
    pub fn transmit(
        &mut self,
        from: NodeId,
        port: usize,
        mut bytes: Vec<u8>,
    ) -> Result<(), SimError> {
        let seg_idx = match self.find_link(from.0, port) {
            Ok(i) => self.links[i].seg as usize,
            Err(_) => {
                return Err(SimError::NoSuchPort(
                    self.nodes[from.0].name().to_string(),
                    port,
                ))
            }
        };
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
            let mac = |r: core::ops::Range<usize>| -> Option<u64> {
                let b: [u8; 6] = bytes.get(r)?.try_into().ok()?;
                Some(b.iter().fold(0u64, |a, &x| a << 8 | u64::from(x)))
            };
            if let Some(src) = mac(6..12) {
                let here = (from.0 as u32, port as u32);
                if seg.fdb.get(&src) != Some(&here) {
                    seg.fdb.insert(src, here);
                }
            }
            let learned = mac(0..6)
                .filter(|&d| d != 0xffff_ffff_ffff)
                .and_then(|d| seg.fdb.get(&d).copied())
                .map(|(n, p)| (NodeId(n as usize), p as usize));
            let mut to = std::mem::take(&mut self.to_buf);
            to.clear();
            match learned {
                Some(t) if t != (from, port) => {
                    to.push((at, To::Port(t.0, t.1)));
                    if let Some(d) = outcome.duplicate {
                        to.push((at + d, To::Port(t.0, t.1)));
                    }
                }
                // A flood without a duplicate is one entry (same order: its deliveries were
                // consecutive entries of the same instant anyway).
                _ if outcome.duplicate.is_none() => to.push((
                    at,
                    To::Flood {
                        seg: seg_idx,
                        from: (from, port),
                    },
                )),
                _ => {
                    for &(n, p) in seg
                        .ports
                        .iter()
                        .filter(|&&(n, p)| !(n == from && p == port))
                    {
                        to.push((at, To::Port(n, p)));
                        if let Some(d) = outcome.duplicate {
                            to.push((at + d, To::Port(n, p)));
                        }
                    }
                }
            }
            // The trace keeps the bytes when capturing; otherwise the last entry takes them.
            let last = to.len();
            for (k, &(time, dest)) in to.iter().enumerate() {
                let b = if k + 1 == last && !self.capture {
                    std::mem::take(&mut bytes)
                } else {
                    bytes.clone()
                };
                self.enqueue(time, dest, b);
            }
            self.to_buf = to;
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
            .links_of(f.from.0)
            .iter()
            .find(|l| l.seg as usize == f.segment.0)
            .map(|l| l.port as usize)
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
        self.offered += 1;
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
        self.touch(node.0);
        self.defer_sync(node.0);
    }

    /// Notes that node `i`'s ARP interest may have changed (see `unsynced`).
    fn defer_sync(&mut self, i: usize) {
        if self.unsynced.last() != Some(&i) {
            self.unsynced.push(i);
        }
    }

    /// Brings the segments' ARP interest index up to date with every node that changed
    /// since it was last read.
    fn sync_deferred(&mut self) {
        let mut nodes = std::mem::take(&mut self.unsynced);
        for &i in &nodes {
            self.sync_interest(i);
        }
        nodes.clear();
        self.unsynced = nodes;
    }

    /// The next instant anything happens, if anything will.
    pub fn next_deadline(&self) -> Option<Instant> {
        let q = self.queue.peek().map(|q| q.0.time);
        let n = self.timers.peek().map(|(t, _)| t);
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
        // Scenario actions may have changed nodes' ARP caches since the last step.
        while let Some(i) = self.acted_on.pop() {
            self.sync_interest(i);
        }
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
                    match &arp {
                        // A broadcast ARP packet: only the ports that may care are offered
                        // it (every other one is known to ignore it; counted as skipped).
                        Some((dst, a)) if dst.is_broadcast() => {
                            self.sync_deferred();
                            let mut offer = std::mem::take(&mut self.offer_buf);
                            offer.clear();
                            let sg = &self.segments[seg];
                            offer.extend_from_slice(&sg.arp_all);
                            if let Some(v) = sg.arp_owners.get(&a.target_protocol_addr) {
                                offer.extend_from_slice(v);
                            }
                            if let Some(v) = sg.arp_holders.get(&a.source_protocol_addr) {
                                offer.extend_from_slice(v);
                            }
                            // In attach order, as a full flood would deliver.
                            offer.sort_unstable();
                            offer.dedup();
                            let mut offered = 0u64;
                            for &k in &offer {
                                let (node, port) = self.segments[seg].ports[k as usize];
                                if (node, port) != from {
                                    offered += 1;
                                    self.deliver(now, node, port, &d.bytes, arp.as_ref());
                                }
                            }
                            // Every port but the sender's was a bystander or offered the frame.
                            let ports = self.segments[seg].ports.len() as u64;
                            self.skipped += ports.saturating_sub(1 + offered);
                            self.offer_buf = offer;
                        }
                        _ => {
                            for k in 0..self.segments[seg].ports.len() {
                                let (node, port) = self.segments[seg].ports[k];
                                if (node, port) != from {
                                    self.deliver(now, node, port, &d.bytes, arp.as_ref());
                                }
                            }
                        }
                    }
                }
            }
        }
        // The queue keeps the storage of its busiest instant (a burst of ARP broadcasts, a
        // segment's keepalives): most of it is given back once the burst is over.
        if self.queue.capacity() > 4 * self.queue.len().max(256) {
            self.queue.shrink_to(2 * self.queue.len().max(256));
        }
        // 2. Fire due timers.
        while let Some((t, i)) = self.timers.peek() {
            if t > now {
                break;
            }
            self.timers.pop();
            self.deadline[i] = None;
            self.prune();
            self.events_processed += 1;
            self.nodes[i].handle_timeout(now);
            self.touch(i);
            self.defer_sync(i);
        }
        // 3. Collect what the touched nodes want to send, and what they logged, in node order
        // (which also brings the ARP interest index up to date with each).
        let mut dirty = std::mem::take(&mut self.dirty);
        dirty.sort_unstable();
        let mut res = Ok(());
        for &i in &dirty {
            self.is_dirty[i] = false;
            if res.is_ok() {
                res = self.flush_node(i, now);
            }
        }
        dirty.clear();
        self.dirty = dirty;
        if res.is_ok() {
            // Every node in `unsynced` was touched, so flushed (and synced) above.
            self.unsynced.clear();
        } else {
            self.sync_deferred();
        }
        res?;
        Ok(true)
    }

    fn flush_node(&mut self, i: usize, now: Instant) -> Result<(), SimError> {
        while let Some((port, bytes)) = self.nodes[i].poll_transmit(now) {
            self.transmit(NodeId(i), port, bytes)?;
        }
        self.sync_interest(i);
        if self.capture {
            self.nodes[i].drain_trace(NodeId(i), &mut self.trace.events);
        } else {
            let mut evs = std::mem::take(&mut self.ev_buf);
            self.nodes[i].discard_trace(NodeId(i), &mut evs);
            evs.clear();
            self.ev_buf = evs;
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

#[cfg(test)]
mod tests;
