//! Routers: IPv4 forwarding between segments, each interface with its own ARP neighbour cache
//! (so a router is itself a next hop that must be ARP-resolved — incident A's gateway).
//! [`Forwarder`] is the shared core of [`Router`] and [`super::nat::Nat`].

use super::world::Node;
use crate::trace::{NodeId, TraceEvent, TraceKind};
use core::net::Ipv4Addr;
use stack::arp::{Neighbors, Transmit};
use stack::policy::ArpPolicy;
use stack::wire::{self, ChecksumMode, EtherType, EthernetAddress, EthernetRepr, Frame};
use stack::{Event, Instant};
use std::any::Any;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// One router interface: an address on a segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IfaceConfig {
    pub mac: EthernetAddress,
    pub addr: Ipv4Addr,
    pub prefix_len: u8,
}

/// Whether `a` and `b` share the first `len` bits.
pub fn same_prefix(a: Ipv4Addr, b: Ipv4Addr, len: u8) -> bool {
    let mask = if len == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(len.min(32)))
    };
    (u32::from(a) & mask) == (u32::from(b) & mask)
}

struct Iface {
    cfg: IfaceConfig,
    arp: Neighbors,
    /// `arp.poll_at()`, re-read only after the cache was touched (it scans its entries).
    deadline: Option<Instant>,
}

impl Forwarder {
    /// Re-reads interface `port`'s cache after it was touched: deadline, output, events.
    fn touched(&mut self, port: usize) {
        let Some(i) = self.ifaces.get_mut(port) else {
            return;
        };
        let new = i.arp.poll_at();
        if new != i.deadline {
            if let Some(old) = i.deadline {
                self.deadlines.remove(&(old, port));
            }
            if let Some(t) = new {
                self.deadlines.insert((t, port));
            }
            i.deadline = new;
        }
        self.tx_pending.insert(port);
        self.ev_pending.insert(port);
    }
}

/// Interfaces, ARP, routing and a transmit queue: what every forwarding node needs.
pub struct Forwarder {
    ifaces: Vec<Iface>,
    /// Default route: (interface index, gateway).
    default: Option<(usize, Ipv4Addr)>,
    /// Static routes, longest prefix first: (network, prefix length, interface, gateway).
    routes: Vec<(Ipv4Addr, u8, usize, Ipv4Addr)>,
    out: VecDeque<(usize, Vec<u8>)>,
    events: Vec<Event>,
    /// On-link lookup: (prefix length, network) -> first interface with that prefix; the
    /// prefix lengths in use, longest first.
    on_link: BTreeMap<(u8, u32), usize>,
    prefix_lens: Vec<u8>,
    /// Our interface addresses, sorted (for [`Forwarder::owns`]).
    own: Vec<Ipv4Addr>,
    /// Interface deadlines, ordered: (deadline, interface).
    deadlines: BTreeSet<(Instant, usize)>,
    /// Interfaces whose cache was touched since they last had nothing to send / log.
    tx_pending: BTreeSet<usize>,
    ev_pending: BTreeSet<usize>,
    /// Scratch list of the interfaces `poll_transmit` visits (kept: it runs per frame out).
    round: Vec<usize>,
    /// Interfaces visited by the timers and the transmit path ([`Forwarder::work`]).
    visits: u64,
}

fn masked(a: Ipv4Addr, len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        u32::from(a) & (u32::MAX << (32 - u32::from(len.min(32))))
    }
}

/// What arrived on a port, after ARP handling.
pub enum Inbound {
    /// An IPv4 packet to forward or consume (raw IPv4 bytes, Ethernet stripped).
    Ipv4(Vec<u8>),
    Nothing,
}

impl Forwarder {
    pub fn new(
        ifaces: Vec<IfaceConfig>,
        default: Option<(usize, Ipv4Addr)>,
        arp: ArpPolicy,
    ) -> Forwarder {
        let mut on_link = BTreeMap::new();
        let mut prefix_lens: Vec<u8> = Vec::new();
        for (port, cfg) in ifaces.iter().enumerate() {
            on_link
                .entry((cfg.prefix_len, masked(cfg.addr, cfg.prefix_len)))
                .or_insert(port);
            if !prefix_lens.contains(&cfg.prefix_len) {
                prefix_lens.push(cfg.prefix_len);
            }
        }
        prefix_lens.sort_unstable_by(|a, b| b.cmp(a));
        let mut own: Vec<Ipv4Addr> = ifaces.iter().map(|c| c.addr).collect();
        own.sort_unstable();
        Forwarder {
            own,
            ifaces: ifaces
                .into_iter()
                .map(|cfg| Iface {
                    arp: Neighbors::new(arp.clone(), cfg.mac, cfg.addr),
                    deadline: None,
                    cfg,
                })
                .collect(),
            default,
            routes: Vec::new(),
            out: VecDeque::new(),
            events: Vec::new(),
            on_link,
            prefix_lens,
            deadlines: BTreeSet::new(),
            tx_pending: BTreeSet::new(),
            ev_pending: BTreeSet::new(),
            round: Vec::new(),
            visits: 0,
        }
    }

    /// The first interface (in configuration order) whose prefix holds `dst`.
    fn on_link_port(&self, dst: Ipv4Addr) -> Option<usize> {
        self.prefix_lens
            .iter()
            .filter_map(|&len| self.on_link.get(&(len, masked(dst, len))).copied())
            .min()
    }

    /// Whether `addr` is one of our interface addresses (a binary search, not a scan).
    pub fn owns(&self, addr: Ipv4Addr) -> bool {
        self.own.binary_search(&addr).is_ok()
    }

    pub fn addrs(&self) -> Vec<Ipv4Addr> {
        self.ifaces.iter().map(|i| i.cfg.addr).collect()
    }

    /// Adds a static route to `net/len` via `gateway`, which must be on one of our interfaces.
    /// Returns false (and adds nothing) when it is not.
    pub fn add_route(&mut self, net: Ipv4Addr, len: u8, gateway: Ipv4Addr) -> bool {
        let Some(port) = self
            .ifaces
            .iter()
            .position(|i| same_prefix(i.cfg.addr, gateway, i.cfg.prefix_len))
        else {
            return false;
        };
        self.routes.push((net, len, port, gateway));
        self.routes.sort_by_key(|r| core::cmp::Reverse(r.1));
        true
    }

    pub fn iface_addr(&self, port: usize) -> Option<Ipv4Addr> {
        self.ifaces.get(port).map(|i| i.cfg.addr)
    }

    /// Installs a static neighbour on `port`'s cache.
    pub fn add_static(&mut self, now: Instant, port: usize, addr: Ipv4Addr, mac: EthernetAddress) {
        if let Some(i) = self.ifaces.get_mut(port) {
            i.arp.add_static(now, addr, mac);
            self.touched(port);
        }
    }

    /// Handles a frame on `port`: ARP is answered/learned here; IPv4 addressed to our MAC is
    /// returned for forwarding. Frames for other MACs and malformed frames are ignored.
    pub fn receive(&mut self, now: Instant, port: usize, bytes: &[u8]) -> Inbound {
        let Some(iface) = self.ifaces.get_mut(port) else {
            return Inbound::Nothing;
        };
        let Ok(eth_frame) = wire::EthernetFrame::new_checked(bytes) else {
            return Inbound::Nothing;
        };
        let Ok(eth) = EthernetRepr::parse(&eth_frame) else {
            return Inbound::Nothing;
        };
        if eth.dst_addr != iface.cfg.mac && !eth.dst_addr.is_broadcast() {
            return Inbound::Nothing;
        }
        match eth.ethertype {
            EtherType::Arp => {
                if let Ok(Frame::Arp { arp, .. }) = wire::parse_frame(bytes, ChecksumMode::Verify) {
                    iface.arp.process(now, &arp);
                    self.touched(port);
                }
                Inbound::Nothing
            }
            EtherType::Ipv4 => {
                // Room for the Ethernet header it gets when forwarded (no reallocation then).
                let body = bytes.get(14..).unwrap_or_default();
                let mut packet = Vec::with_capacity(bytes.len().max(14 + body.len()));
                packet.extend_from_slice(body);
                Inbound::Ipv4(packet)
            }
            EtherType::Unknown(_) => Inbound::Nothing,
        }
    }

    /// Routes a raw IPv4 packet: on-link if an interface's prefix holds the destination,
    /// else the default route. Returns false when there is no route.
    pub fn route(&mut self, now: Instant, packet: Vec<u8>, dst: Ipv4Addr) -> bool {
        let hop = self
            .on_link_port(dst)
            .map(|p| (p, dst))
            .or_else(|| {
                self.routes
                    .iter()
                    .find(|r| same_prefix(r.0, dst, r.1))
                    .map(|r| (r.2, r.3))
            })
            .or(self.default);
        match hop {
            Some((port, next_hop)) => {
                self.ifaces[port].arp.send(now, next_hop, packet);
                self.touched(port);
                true
            }
            None => false,
        }
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        let mut due: Vec<usize> = self
            .deadlines
            .iter()
            .take_while(|(t, _)| *t <= now)
            .map(|(_, p)| *p)
            .collect();
        due.sort_unstable();
        self.visits += due.len() as u64;
        for port in due {
            self.ifaces[port].arp.handle_timeout(now);
            self.touched(port);
        }
    }

    pub fn poll_at(&self) -> Option<Instant> {
        self.deadlines.first().map(|(t, _)| *t)
    }

    /// Interfaces and ARP entries visited so far (a work counter; sums over the interfaces,
    /// so for reports, not per event).
    pub fn work(&self) -> u64 {
        self.visits + self.ifaces.iter().map(|i| i.arp.visits()).sum::<u64>()
    }

    /// Frames ready for the wire, with their port: one from each interface with output, in
    /// port order, per round.
    pub fn poll_transmit(&mut self) -> Option<(usize, Vec<u8>)> {
        let mut pending = std::mem::take(&mut self.round);
        pending.clear();
        pending.extend(self.tx_pending.iter().copied());
        self.visits += pending.len() as u64;
        for &port in &pending {
            let i = &mut self.ifaces[port];
            let Some(t) = i.arp.poll_transmit() else {
                self.tx_pending.remove(&port);
                continue;
            };
            let frame = match t {
                Transmit::Arp { dst_mac, repr } => wire::build_arp_frame(
                    &EthernetRepr {
                        src_addr: i.cfg.mac,
                        dst_addr: dst_mac,
                        ethertype: EtherType::Arp,
                    },
                    &repr,
                ),
                Transmit::Ipv4 { dst_mac, packet } => wire::prepend_ethernet(
                    &EthernetRepr {
                        src_addr: i.cfg.mac,
                        dst_addr: dst_mac,
                        ethertype: EtherType::Ipv4,
                    },
                    packet,
                ),
            };
            self.touched(port);
            self.out.push_back((port, frame));
        }
        self.round = pending;
        self.out.pop_front()
    }

    /// Queues a raw frame (e.g. an RST a NAT box generates) on `port`, already framed.
    pub fn push_frame(&mut self, port: usize, frame: Vec<u8>) {
        self.out.push_back((port, frame));
    }

    pub fn drain_events(&mut self) -> Vec<Event> {
        let mut arp = Vec::new();
        for port in std::mem::take(&mut self.ev_pending) {
            self.ifaces[port]
                .arp
                .drain_events_into::<stack::EventKind>(&mut arp);
        }
        self.events.extend(arp.into_iter().map(Event::from));
        std::mem::take(&mut self.events)
    }

    /// A gratuitous-ARP-free way to learn our own interface MAC (for tests).
    pub fn iface_mac(&self, port: usize) -> Option<EthernetAddress> {
        self.ifaces.get(port).map(|i| i.cfg.mac)
    }
}

/// Decrements the IPv4 TTL in place and patches the header checksum (RFC 1624 incremental
/// update). Returns false if the TTL ran out (RFC 1812 §5.3.1: do not forward).
pub fn decrement_ttl(packet: &mut [u8]) -> bool {
    if packet.len() < 20 || packet[8] <= 1 {
        return false;
    }
    let old = u16::from_be_bytes([packet[8], packet[9]]);
    packet[8] -= 1;
    let new = u16::from_be_bytes([packet[8], packet[9]]);
    let hc = u16::from_be_bytes([packet[10], packet[11]]);
    // HC' = ~(~HC + ~m + m')
    let mut sum = u32::from(!hc) + u32::from(!old) + u32::from(new);
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    let hc2 = !(sum as u16);
    packet[10..12].copy_from_slice(&hc2.to_be_bytes());
    true
}

/// A plain IPv4 router.
pub struct Router {
    name: String,
    pub fwd: Forwarder,
}

impl Router {
    pub fn new(name: &str, fwd: Forwarder) -> Router {
        Router {
            name: name.to_string(),
            fwd,
        }
    }
}

impl Node for Router {
    fn name(&self) -> &str {
        &self.name
    }
    fn addrs(&self) -> Vec<Ipv4Addr> {
        self.fwd.addrs()
    }
    fn handle_frame(&mut self, now: Instant, port: usize, frame: &[u8]) {
        if let Inbound::Ipv4(mut packet) = self.fwd.receive(now, port, frame) {
            let Ok(ip) = wire::Ipv4Packet::new_checked(&packet[..]) else {
                return;
            };
            let dst = ip.dst_addr();
            if self.fwd.owns(dst) || !decrement_ttl(&mut packet) {
                return;
            }
            self.fwd.route(now, packet, dst);
        }
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.fwd.handle_timeout(now);
    }
    fn poll_transmit(&mut self, _now: Instant) -> Option<(usize, Vec<u8>)> {
        self.fwd.poll_transmit()
    }
    fn work(&self) -> u64 {
        self.fwd.work()
    }
    fn poll_at(&self) -> Option<Instant> {
        self.fwd.poll_at()
    }
    fn drain_trace(&mut self, me: NodeId, out: &mut Vec<TraceEvent>) {
        for event in self.fwd.drain_events() {
            out.push(TraceEvent {
                time: event.time,
                kind: TraceKind::Stack { node: me, event },
            });
        }
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_decrement_keeps_checksum_valid() {
        let ip = wire::Ipv4Repr {
            ident: 7,
            ..wire::Ipv4Repr::tcp(Ipv4Addr::new(192, 0, 2, 1), Ipv4Addr::new(198, 51, 100, 2))
        };
        let mut p = wire::build_ipv4(&ip, &[]);
        assert!(decrement_ttl(&mut p));
        let parsed = wire::Ipv4Repr::parse(
            &wire::Ipv4Packet::new_checked(&p[..]).unwrap(),
            ChecksumMode::Verify,
        )
        .unwrap();
        assert_eq!(parsed.ttl, 63);
        p[8] = 1;
        assert!(!decrement_ttl(&mut p));
    }

    #[test]
    fn prefixes() {
        let a = Ipv4Addr::new(203, 0, 113, 10);
        assert!(same_prefix(a, Ipv4Addr::new(203, 0, 113, 200), 24));
        assert!(!same_prefix(a, Ipv4Addr::new(203, 0, 114, 1), 24));
        assert!(same_prefix(a, Ipv4Addr::new(1, 2, 3, 4), 0));
    }
}
