//! The neighbour cache: entries, the RFC 826 merge rule, request retransmission and the
//! RFC 1122 §2.3.2.2 pending queue.

use super::event::{ArpDropReason, ArpEvent};
use crate::boxed_deque::BoxedDeque;
use crate::policy::{ArpPolicy, QueueOverflow};
use crate::small_map::SmallMap;
use crate::time::Instant;
use crate::time::Timed;
use crate::wire::PacketSummary;
use crate::wire::{ArpOperation, ArpRepr, EthernetAddress, IpProtocol, Ipv4Addr};
use core::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

/// Something the ARP layer wants on the wire; the interface adds the Ethernet header
/// (source = our MAC, destination = `dst_mac`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transmit {
    /// An ARP packet (ethertype 0x0806).
    Arp {
        dst_mac: EthernetAddress,
        repr: ArpRepr,
    },
    /// An IPv4 packet (ethertype 0x0800) whose next hop is now resolved.
    Ipv4 {
        dst_mac: EthernetAddress,
        packet: Vec<u8>,
    },
}

/// One change of a cache's interest (see [`Neighbors::watch_interest`]): `addr` became
/// (`added`) or stopped being one of our own addresses (`own`) or an address we hold an entry
/// for. An ARP packet to the broadcast address is ignored ([`Neighbors::ignores`]) unless its
/// target is our own address or its sender is one we hold an entry for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Interest {
    pub addr: Ipv4Addr,
    pub own: bool,
    pub added: bool,
}

/// Deadline index sizes up to which [`Neighbors::track`] looks for a duplicate before filing
/// a deadline, and grows the index by one slot at a time.
const SMALL_INDEX: usize = 8;

/// The state of one cache entry, for introspection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EntryState {
    /// Configured by hand: never expires, never overwritten by ARP.
    Static { mac: EthernetAddress },
    /// Learned from ARP; usable until `expires_at` (RFC 1122 §2.3.2.1 timeout).
    Reachable {
        mac: EthernetAddress,
        expires_at: Instant,
    },
    /// Being resolved: `requests_sent` requests so far, the next action at `next_at`,
    /// `queued` packets (`queued_bytes` bytes) waiting.
    Incomplete {
        requests_sent: u32,
        next_at: Instant,
        queued: usize,
        queued_bytes: usize,
    },
}

/// One cache entry as seen from outside.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NeighborEntry {
    pub addr: Ipv4Addr,
    pub state: EntryState,
}

impl NeighborEntry {
    /// The MAC address if the entry can be used to send now.
    pub fn mac(&self) -> Option<EthernetAddress> {
        match self.state {
            EntryState::Static { mac } | EntryState::Reachable { mac, .. } => Some(mac),
            EntryState::Incomplete { .. } => None,
        }
    }
}

#[derive(Clone, Debug)]
struct Pending {
    requests_sent: u32,
    next_at: Instant,
    queue: VecDeque<Vec<u8>>,
    bytes: usize,
}

#[derive(Clone, Debug)]
enum Entry {
    Static(EthernetAddress),
    Reachable {
        mac: EthernetAddress,
        expires_at: Instant,
    },
    /// Boxed: most entries are resolved, and the map's slots stay small.
    Incomplete(Box<Pending>),
}

impl Entry {
    /// When this entry next needs the timer: its expiry or its next request.
    fn deadline(&self) -> Option<Instant> {
        match self {
            Entry::Static(_) => None,
            Entry::Reachable { expires_at, .. } => Some(*expires_at),
            Entry::Incomplete(p) => Some(p.next_at),
        }
    }
}

/// The neighbour cache of one interface (RFC 826, RFC 1122 §2.3.2).
///
/// Inputs: [`send`](Self::send), [`process`](Self::process),
/// [`handle_timeout`](Self::handle_timeout). Outputs: [`poll_transmit`](Self::poll_transmit),
/// [`take_events`](Self::take_events) (internal queue drained by the caller),
/// [`poll_at`](Self::poll_at). Entries live in an ordered map ([`SmallMap`]), so timers fire in address order
/// and output is deterministic.
#[derive(Clone, Debug)]
pub struct Neighbors {
    policy: ArpPolicy,
    mac: EthernetAddress,
    addr: Ipv4Addr,
    /// A host's cache holds one or two entries (its gateway): a [`SmallMap`] spends no
    /// tree node on them.
    entries: SmallMap<Ipv4Addr, Entry>,
    /// Every entry's deadline (expiry or next request), earliest first, with lazy deletion:
    /// a superseded deadline stays until it reaches the top and is dropped there
    /// ([`Neighbors::prune`]), so `poll_at` is O(1) and `handle_timeout` touches only what is
    /// due, however many neighbours a router's interface has.
    timers: BinaryHeap<Reverse<(Instant, Ipv4Addr)>>,
    /// One word while empty, as it is between inputs (a frame to send is drained by the
    /// interface right after the call that queued it).
    transmit: BoxedDeque<Transmit>,
    events: BoxedDeque<Timed<ArpEvent>>,
    /// Set by [`watch_interest`](Self::watch_interest): changes to the interest are recorded.
    watched: bool,
    /// While watched: the changes to the set of addresses whose ARP packets this cache does
    /// not ignore (see [`Neighbors::ignores`]), not yet drained. One word while empty, as it
    /// is between inputs.
    interest: BoxedDeque<Interest>,
    /// Deadline index entries visited by `handle_timeout` (a work counter for tests that
    /// check nothing scans every entry).
    visits: u64,
}

impl Neighbors {
    /// A cache for the interface with hardware address `mac` and protocol address `addr`.
    pub fn new(policy: ArpPolicy, mac: EthernetAddress, addr: Ipv4Addr) -> Self {
        Neighbors {
            policy,
            mac,
            addr,
            entries: SmallMap::new(),
            timers: BinaryHeap::new(),
            transmit: BoxedDeque::new(),
            events: BoxedDeque::new(),
            watched: false,
            interest: BoxedDeque::new(),
            visits: 0,
        }
    }

    pub fn policy(&self) -> &ArpPolicy {
        &self.policy
    }

    /// Replace the policy. Bounds apply to packets queued from now on; what is queued stays.
    pub fn set_policy(&mut self, policy: ArpPolicy) {
        self.policy = policy;
    }

    /// Our protocol address (the one we answer requests for).
    pub fn addr(&self) -> Ipv4Addr {
        self.addr
    }

    /// Our hardware address.
    pub fn mac(&self) -> EthernetAddress {
        self.mac
    }

    /// Send the IPv4 `packet` to next hop `next_hop`: out now if the next hop is resolved, else
    /// queued (and a request sent if none is outstanding). An expired dynamic entry is removed
    /// here and re-resolved (RFC 1122 §2.3.2.1: entries time out).
    pub fn send(&mut self, now: Instant, next_hop: Ipv4Addr, packet: Vec<u8>) {
        self.expire_due(now, next_hop);
        match self.entries.get_mut(&next_hop) {
            Some(Entry::Static(mac)) | Some(Entry::Reachable { mac, .. }) => {
                let dst_mac = *mac;
                self.transmit.push_back(Transmit::Ipv4 { dst_mac, packet });
            }
            Some(Entry::Incomplete(pending)) => {
                let mut events = Vec::new();
                enqueue(&self.policy, next_hop, pending, packet, &mut events);
                self.push_events(now, events);
            }
            None => {
                let mut pending = Pending {
                    requests_sent: 0,
                    next_at: now,
                    queue: VecDeque::new(),
                    bytes: 0,
                };
                self.send_request(now, next_hop, &mut pending);
                let mut events = Vec::new();
                enqueue(&self.policy, next_hop, &mut pending, packet, &mut events);
                self.push_events(now, events);
                self.put(next_hop, Entry::Incomplete(Box::new(pending)));
            }
        }
        self.track(next_hop);
    }

    /// Handle a received ARP packet (RFC 826 "Packet Reception").
    pub fn process(&mut self, now: Instant, arp: &ArpRepr) {
        let sender = arp.source_protocol_addr;
        let sender_mac = arp.source_hardware_addr;
        // Not in RFC 826: never learn a broadcast/multicast hardware address, the unspecified
        // sender of an RFC 5227 probe, or our own address (a conflict, not a neighbour).
        let learnable = sender_mac.0[0] & 0x01 == 0
            && sender_mac != EthernetAddress::ZERO
            && !sender.is_unspecified()
            && !sender.is_broadcast()
            && !sender.is_multicast()
            && sender != self.addr;
        self.expire_due(now, sender);
        let for_us = arp.target_protocol_addr == self.addr;
        if learnable {
            // RFC 826: "If the pair <protocol type, sender protocol address> is already in my
            // translation table, update the sender hardware address field of the entry with
            // the new information in the packet and set Merge_flag to true."
            let merged = self.merge(now, sender, sender_mac);
            // RFC 826: "Am I the target protocol address? Yes: If Merge_flag is false, add the
            // triplet <protocol type, sender protocol address, sender hardware address> to the
            // translation table."
            if !merged && for_us {
                self.put(
                    sender,
                    Entry::Reachable {
                        mac: sender_mac,
                        expires_at: now + self.policy.reachable_time,
                    },
                );
                self.event(
                    now,
                    ArpEvent::Learned {
                        addr: sender,
                        mac: sender_mac,
                    },
                );
            }
        }
        // RFC 826: "Is the opcode ares_op$REQUEST? Yes: Swap hardware and protocol fields,
        // putting the local hardware and protocol addresses in the sender fields. Set the
        // ar$op field to ares_op$REPLY. Send the packet to the (new) target hardware address."
        if for_us && arp.operation == ArpOperation::Request && sender_mac.0[0] & 0x01 == 0 {
            let repr = ArpRepr {
                operation: ArpOperation::Reply,
                source_hardware_addr: self.mac,
                source_protocol_addr: self.addr,
                target_hardware_addr: sender_mac,
                target_protocol_addr: sender,
            };
            self.transmit.push_back(Transmit::Arp {
                dst_mac: sender_mac,
                repr,
            });
            self.event(now, ArpEvent::ReplySent { to: sender });
        }
        self.track(sender);
    }

    /// Whether [`process`](Self::process) would change nothing and log nothing for `arp`: it
    /// is not for our address and we hold no entry for its sender. RFC 826 lets such a packet
    /// touch only an entry that already exists ("If the pair <protocol type, sender protocol
    /// address> is already in my translation table, update..."); "Am I the target protocol
    /// address? No: done". A simulator may skip delivering it (a cheap broadcast fan-out).
    pub fn ignores(&self, arp: &ArpRepr) -> bool {
        arp.target_protocol_addr != self.addr
            && !self.entries.contains_key(&arp.source_protocol_addr)
    }

    /// Fire every due timer: retransmit requests, give up on silent addresses, expire entries.
    pub fn handle_timeout(&mut self, now: Instant) {
        // Only the entries whose deadline is due, taken from the index; then, as a scan of
        // the whole cache would: expiries in address order, then requests in address order.
        let mut due = Vec::new();
        while let Some(&Reverse((t, addr))) = self.timers.peek() {
            if t > now {
                break;
            }
            self.timers.pop();
            self.visits += 1;
            if self.entries.get(&addr).and_then(Entry::deadline) == Some(t) {
                due.push(addr);
            }
        }
        due.sort_unstable();
        due.dedup();
        for &addr in &due {
            self.expire_due(now, addr);
        }
        for addr in due {
            if !matches!(self.entries.get(&addr), Some(Entry::Incomplete(_))) {
                continue;
            }
            let Some(Entry::Incomplete(mut pending)) = self.take(addr) else {
                continue;
            };
            if pending.requests_sent >= self.max_requests() {
                self.give_up(now, addr, *pending);
            } else {
                self.send_request(now, addr, &mut pending);
                self.put(addr, Entry::Incomplete(pending));
                self.track(addr);
            }
        }
        self.prune();
    }

    /// Deadline index entries visited so far by `handle_timeout` (work counter).
    pub fn visits(&self) -> u64 {
        self.visits
    }

    /// The earliest deadline: a request retransmission, a give-up or an entry expiry.
    pub fn poll_at(&self) -> Option<Instant> {
        self.timers.peek().map(|Reverse((t, _))| *t)
    }

    /// The next thing to put on the wire, oldest first.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmit.pop_front()
    }

    /// Take every event logged since the last call.
    pub fn take_events(&mut self) -> Vec<Timed<ArpEvent>> {
        std::mem::take(&mut self.events).into_iter().collect()
    }

    /// Move every event logged since the last call to the end of `out`, converted into the
    /// caller's event type.
    pub fn drain_events_into<E: From<ArpEvent>>(&mut self, out: &mut impl Extend<Timed<E>>) {
        // Taken, not drained: an idle cache holds no event buffer.
        out.extend(
            std::mem::take(&mut self.events)
                .into_iter()
                .map(Timed::map_into),
        );
    }

    /// Install a static entry (it replaces whatever was there; packets waiting for this
    /// address go out at once).
    pub fn add_static(&mut self, now: Instant, addr: Ipv4Addr, mac: EthernetAddress) {
        let old = self.put(addr, Entry::Static(mac));
        self.event(now, ArpEvent::StaticEntry { addr, mac });
        if let Some(Entry::Incomplete(pending)) = old {
            self.flush(addr, mac, *pending);
        }
        self.prune();
    }

    /// Put a dynamic entry in the reachable state as if it had just been confirmed (for tests
    /// and scenarios); packets waiting for it go out.
    pub fn insert_dynamic(&mut self, now: Instant, addr: Ipv4Addr, mac: EthernetAddress) {
        let expires_at = now + self.policy.reachable_time;
        let old = self.put(addr, Entry::Reachable { mac, expires_at });
        self.event(now, ArpEvent::Learned { addr, mac });
        if let Some(Entry::Incomplete(pending)) = old {
            self.flush(addr, mac, *pending);
        }
        self.track(addr);
    }

    /// Expire the dynamic entry for `addr` now (as if `reachable_time` had run out). Returns
    /// whether there was such an entry. Static and incomplete entries are left alone.
    pub fn expire(&mut self, now: Instant, addr: Ipv4Addr) -> bool {
        if matches!(self.entries.get(&addr), Some(Entry::Reachable { .. })) {
            self.take(addr);
            self.event(now, ArpEvent::Expired { addr });
            self.prune();
            true
        } else {
            false
        }
    }

    /// Remove any entry for `addr` (a pending one drops its queue silently). Returns whether
    /// there was one.
    pub fn remove(&mut self, addr: Ipv4Addr) -> bool {
        let had = self.take(addr).is_some();
        self.prune();
        had
    }

    /// Starts recording (or keeps recording) the changes to this cache's *interest*: our own
    /// address, and every address it holds an entry for ([`Interest`]). The first call
    /// records the whole of it as additions; later changes are recorded as they happen. A
    /// simulator keeps an index from these to hand an ARP broadcast only to the caches that
    /// do not ignore it, instead of asking every one.
    pub fn watch_interest(&mut self) {
        if !self.watched {
            self.watched = true;
            self.interest.push_back(Interest {
                addr: self.addr,
                own: true,
                added: true,
            });
            let entries = self.entries.keys().map(|&addr| Interest {
                addr,
                own: false,
                added: true,
            });
            self.interest.extend(entries);
        }
    }

    /// Moves the recorded interest changes (see [`watch_interest`](Self::watch_interest)) to
    /// the end of `out`, oldest first. Returns false (and moves nothing) when not watching.
    /// The change buffer is released, not kept: an idle cache holds no heap for it.
    pub fn drain_interest(&mut self, out: &mut Vec<Interest>) -> bool {
        if self.watched {
            out.extend(std::mem::take(&mut self.interest));
        }
        self.watched
    }

    /// Hands the watch over to a cache that replaces this one (a reboot): the new cache
    /// watches too, and its first changes remove everything this one was interested in.
    pub fn pass_interest_to(&mut self, next: &mut Neighbors) {
        if !std::mem::take(&mut self.watched) {
            return;
        }
        let mut changes = std::mem::take(&mut self.interest);
        changes.push_back(Interest {
            addr: self.addr,
            own: true,
            added: false,
        });
        changes.extend(self.entries.keys().map(|&addr| Interest {
            addr,
            own: false,
            added: false,
        }));
        next.watch_interest();
        changes.extend(std::mem::take(&mut next.interest));
        next.interest = changes;
    }

    /// Inserts an entry, recording a new address in the interest changes.
    fn put(&mut self, addr: Ipv4Addr, entry: Entry) -> Option<Entry> {
        let old = self.entries.insert(addr, entry);
        if old.is_none() {
            self.note(addr, true);
        }
        old
    }

    /// Removes an entry, recording the address's removal in the interest changes.
    fn take(&mut self, addr: Ipv4Addr) -> Option<Entry> {
        let old = self.entries.remove(&addr);
        if old.is_some() {
            self.note(addr, false);
        }
        old
    }

    fn note(&mut self, addr: Ipv4Addr, added: bool) {
        if self.watched {
            self.interest.push_back(Interest {
                addr,
                own: false,
                added,
            });
        }
    }

    /// The entry for `addr`, if any.
    pub fn lookup(&self, addr: Ipv4Addr) -> Option<NeighborEntry> {
        self.entries.get(&addr).map(|e| NeighborEntry {
            addr,
            state: entry_state(e),
        })
    }

    /// Every entry, in address order.
    pub fn entries(&self) -> Vec<NeighborEntry> {
        self.entries
            .iter()
            .map(|(addr, e)| NeighborEntry {
                addr: *addr,
                state: entry_state(e),
            })
            .collect()
    }

    /// `max_requests`, at least 1: the first request is always sent.
    fn max_requests(&self) -> u32 {
        self.policy.max_requests.max(1)
    }

    /// RFC 826 merge: update an existing entry for `addr`. Returns Merge_flag.
    fn merge(&mut self, now: Instant, addr: Ipv4Addr, mac: EthernetAddress) -> bool {
        let expires_at = now + self.policy.reachable_time;
        match self.entries.get_mut(&addr) {
            None => false,
            // Static entries are configuration: ARP never overwrites them.
            Some(Entry::Static(_)) => true,
            Some(Entry::Reachable {
                mac: old,
                expires_at: exp,
            }) => {
                *old = mac;
                *exp = expires_at;
                self.event(now, ArpEvent::Learned { addr, mac });
                true
            }
            Some(Entry::Incomplete(_)) => {
                let Some(Entry::Incomplete(pending)) = self
                    .entries
                    .insert(addr, Entry::Reachable { mac, expires_at })
                else {
                    return true;
                };
                self.event(now, ArpEvent::Resolved { addr, mac });
                self.flush(addr, mac, *pending);
                true
            }
        }
    }

    /// RFC 1122 §2.3.2.2: queued packets go out, in order, once the address resolves.
    fn flush(&mut self, _addr: Ipv4Addr, mac: EthernetAddress, pending: Pending) {
        for packet in pending.queue {
            self.transmit.push_back(Transmit::Ipv4 {
                dst_mac: mac,
                packet,
            });
        }
    }

    /// RFC 1122 §2.3.2.1: "A mechanism to prevent ARP flooding (repeatedly sending an ARP
    /// Request for the same IP address, at a high rate) MUST be included": one request per
    /// `retransmit_interval` per address, `max_requests` in all.
    fn send_request(&mut self, now: Instant, target: Ipv4Addr, pending: &mut Pending) {
        pending.requests_sent += 1;
        pending.next_at = now + self.policy.retransmit_interval;
        let repr = ArpRepr {
            operation: ArpOperation::Request,
            source_hardware_addr: self.mac,
            source_protocol_addr: self.addr,
            target_hardware_addr: EthernetAddress::ZERO,
            target_protocol_addr: target,
        };
        self.transmit.push_back(Transmit::Arp {
            dst_mac: EthernetAddress::BROADCAST,
            repr,
        });
        self.event(
            now,
            ArpEvent::RequestSent {
                target,
                attempt: pending.requests_sent,
            },
        );
    }

    fn give_up(&mut self, now: Instant, addr: Ipv4Addr, pending: Pending) {
        let dropped = pending.queue.len();
        for packet in &pending.queue {
            self.event(
                now,
                ArpEvent::Dropped {
                    addr,
                    packet: summarize(packet),
                    reason: ArpDropReason::ResolutionFailed,
                },
            );
        }
        self.event(now, ArpEvent::GaveUp { addr, dropped });
    }

    /// RFC 1122 §2.3.2.1: cache entries time out so a changed mapping is noticed ("Timeout
    /// -- Periodically time out cache entries, even if they are in use"). Removes dynamic
    /// entries whose time is up (all of them, or only `only`); the next send re-resolves.
    fn expire_due(&mut self, now: Instant, addr: Ipv4Addr) {
        if matches!(self.entries.get(&addr), Some(Entry::Reachable { expires_at, .. }) if *expires_at <= now)
        {
            self.take(addr);
            self.event(now, ArpEvent::Expired { addr });
        }
    }

    /// Files `addr`'s current deadline in the index (after anything that may have set it),
    /// then drops superseded deadlines from the top.
    fn track(&mut self, addr: Ipv4Addr) {
        if let Some(t) = self.entries.get(&addr).and_then(Entry::deadline) {
            let key = Reverse((t, addr));
            if self.timers.len() <= SMALL_INDEX {
                // A host's cache re-files its gateway's unchanged deadline on every packet:
                // in a small index the duplicate is found at once and not filed again, a
                // superseded deadline of the same address is dropped at once (not left for
                // `prune`), and the storage holds one slot per deadline (an idle host: one).
                if self.timers.iter().any(|k| *k == key) {
                    self.prune();
                    return;
                }
                let before = self.timers.len();
                self.timers.retain(|Reverse((_, a))| *a != addr);
                if self.timers.len() < before {
                    self.timers.shrink_to_fit();
                }
                self.timers.reserve_exact(1);
            }
            self.timers.push(key);
        }
        self.prune();
    }

    /// Pops index entries that no longer match their entry's deadline, so the top is the
    /// true earliest deadline. Keeps the heap from growing past twice the live entries.
    fn prune(&mut self) {
        while let Some(&Reverse((t, addr))) = self.timers.peek() {
            if self.entries.get(&addr).and_then(Entry::deadline) == Some(t) {
                break;
            }
            self.timers.pop();
        }
        if self.timers.len() > 2 * self.entries.len() + 2 {
            let mut live: Vec<Reverse<(Instant, Ipv4Addr)>> = self
                .entries
                .iter()
                .filter_map(|(a, e)| e.deadline().map(|t| Reverse((t, *a))))
                .collect();
            live.shrink_to_fit();
            self.timers = BinaryHeap::from(live);
        }
    }

    fn event(&mut self, time: Instant, e: ArpEvent) {
        self.events.push_back(Timed { time, event: e });
    }

    fn push_events(&mut self, time: Instant, events: Vec<ArpEvent>) {
        for e in events {
            self.event(time, e);
        }
    }
}

fn entry_state(e: &Entry) -> EntryState {
    match e {
        Entry::Static(mac) => EntryState::Static { mac: *mac },
        Entry::Reachable { mac, expires_at } => EntryState::Reachable {
            mac: *mac,
            expires_at: *expires_at,
        },
        Entry::Incomplete(p) => EntryState::Incomplete {
            requests_sent: p.requests_sent,
            next_at: p.next_at,
            queued: p.queue.len(),
            queued_bytes: p.bytes,
        },
    }
}

/// RFC 1122 §2.3.2.2: "The link layer SHOULD save (rather than discard) at least one (the
/// latest) packet of each set of packets destined to the same unresolved IP address".
/// Depth and byte bounds and the overflow policy come from [`ArpPolicy`]; a depth of 0 holds
/// nothing (every packet is dropped as an overflow).
fn enqueue(
    policy: &ArpPolicy,
    addr: Ipv4Addr,
    pending: &mut Pending,
    packet: Vec<u8>,
    events: &mut Vec<ArpEvent>,
) {
    let overflow = ArpDropReason::QueueOverflow {
        policy: policy.overflow,
    };
    let len = packet.len();
    let byte_limited = policy.queue_bytes > 0;
    let drop = |p: &[u8], reason, events: &mut Vec<ArpEvent>| {
        events.push(ArpEvent::Dropped {
            addr,
            packet: summarize(p),
            reason,
        })
    };
    if policy.queue_depth == 0 {
        return drop(&packet, overflow, events);
    }
    if byte_limited && len > policy.queue_bytes {
        return drop(&packet, ArpDropReason::QueueBytes, events);
    }
    let depth_full = |p: &Pending| p.queue.len() >= policy.queue_depth;
    let bytes_full = |p: &Pending| byte_limited && p.bytes + len > policy.queue_bytes;
    match policy.overflow {
        QueueOverflow::DropNewest => {
            if depth_full(pending) {
                return drop(&packet, overflow, events);
            }
            if bytes_full(pending) {
                return drop(&packet, ArpDropReason::QueueBytes, events);
            }
        }
        QueueOverflow::DropOldest => {
            while depth_full(pending) || bytes_full(pending) {
                let reason = if depth_full(pending) {
                    overflow
                } else {
                    ArpDropReason::QueueBytes
                };
                let Some(old) = pending.queue.pop_front() else {
                    break;
                };
                pending.bytes -= old.len();
                drop(&old, reason, events);
            }
        }
        QueueOverflow::KeepNewest => {
            let reason = if depth_full(pending) {
                Some(overflow)
            } else if bytes_full(pending) {
                Some(ArpDropReason::QueueBytes)
            } else {
                None
            };
            if let Some(reason) = reason {
                for old in pending.queue.drain(..) {
                    drop(&old, reason, events);
                }
                pending.bytes = 0;
            }
        }
    }
    pending.bytes += len;
    pending.queue.push_back(packet);
    events.push(ArpEvent::Queued {
        addr,
        queued: pending.queue.len(),
    });
}

/// Say which packet an event is about. Packets reach the cache from our own IP layer, so they
/// parse; for anything else the fixed IPv4 header fields that are present are used.
fn summarize(packet: &[u8]) -> PacketSummary {
    crate::wire::summarize_ipv4(packet).unwrap_or_else(|| raw_summary(packet))
}

/// Best effort for bytes `summarize_ipv4` refuses: addresses and protocol from their fixed
/// offsets (unspecified/unknown where the bytes are missing), the whole length.
fn raw_summary(packet: &[u8]) -> PacketSummary {
    let addr = |at: usize| {
        packet
            .get(at..at + 4)
            .map(|b| Ipv4Addr::new(b[0], b[1], b[2], b[3]))
            .unwrap_or(Ipv4Addr::UNSPECIFIED)
    };
    let protocol = match packet.get(9).copied() {
        Some(1) => IpProtocol::Icmp,
        Some(6) => IpProtocol::Tcp,
        Some(17) => IpProtocol::Udp,
        Some(p) => IpProtocol::Unknown(p),
        None => IpProtocol::Unknown(0),
    };
    PacketSummary {
        src: addr(12),
        dst: addr(16),
        protocol,
        src_port: 0,
        dst_port: 0,
        flags: crate::wire::TcpFlags::NONE,
        seq: crate::wire::SeqNumber(0),
        len: packet.len(),
    }
}

#[cfg(test)]
mod tests;
