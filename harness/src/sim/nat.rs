//! A NAT box (NAPT): inside hosts share the outside address; each (inside endpoint, remote
//! endpoint) pair gets an outside port. A mapping that carries no packet for `idle_timeout` is
//! forgotten without telling anyone (about 10 minutes on Linux 2.4 iptables, incident B); a packet
//! from outside that matches no mapping is dropped silently, or answered with an RST when
//! `rst_on_expiry` is set. Outbound packets re-create a mapping (loose tracking, as conntrack).

use super::router::{decrement_ttl, Forwarder, Inbound};
use super::world::Node;
use crate::trace::{NatEvent, NodeId, TraceEvent, TraceKind};
use core::net::{Ipv4Addr, SocketAddrV4};
use stack::wire::{self, ChecksumMode, Ipv4Repr, TcpFlags, TcpRepr};
use stack::{Duration, Instant};
use std::any::Any;
use std::collections::{BTreeMap, BTreeSet};

/// NAT settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NatConfig {
    /// Port index of the inside interface (the other ports are outside).
    pub inside_port: usize,
    pub outside_port: usize,
    pub idle_timeout: Duration,
    pub rst_on_expiry: bool,
    /// First outside port handed out.
    pub first_port: u16,
}

/// One mapping, filed under (outside port, remote): the outside address is the NAT's own
/// and the remote is in the key, so neither is stored again (a NAT may hold 100,000).
#[derive(Clone, Debug)]
struct Mapping {
    inside: SocketAddrV4,
    last_used: Instant,
}

/// The NAT node.
pub struct Nat {
    name: String,
    fwd: Forwarder,
    cfg: NatConfig,
    /// Keyed by (outside port, remote) for inbound lookup; ordered for determinism.
    by_outside: BTreeMap<(u16, SocketAddrV4), Mapping>,
    /// (inside, remote) -> the outside port, for outbound lookup (with the remote, the key of
    /// `by_outside`).
    by_inside: BTreeMap<(SocketAddrV4, SocketAddrV4), u16>,
    /// (expiry time, key), with lazy updates: a packet only moves its mapping's `last_used`,
    /// and an entry older than its mapping's true expiry is re-filed when it reaches the
    /// front ([`Nat::settle`]). The first entry is always a true expiry, so `poll_at` is
    /// exact and a packet costs no reordering of this index.
    expiry: BTreeSet<(Instant, (u16, SocketAddrV4))>,
    /// The first entry of `expiry` (`None`: empty), valid while `front_ok`: it stays a true
    /// expiry until its own mapping is used, a mapping is filed or one expires, so the
    /// packets of every other mapping cost no look at the index ([`Nat::settle`]).
    front: Option<(Instant, (u16, SocketAddrV4))>,
    front_ok: bool,
    next_port: u16,
    log: Vec<(Instant, NatEvent)>,
    /// Expiry index entries visited ([`Node::work`]).
    visits: u64,
}

impl Nat {
    pub fn new(name: &str, fwd: Forwarder, cfg: NatConfig) -> Nat {
        let next_port = cfg.first_port;
        Nat {
            name: name.to_string(),
            fwd,
            cfg,
            by_outside: BTreeMap::new(),
            by_inside: BTreeMap::new(),
            expiry: BTreeSet::new(),
            front: None,
            front_ok: true,
            next_port,
            log: Vec::new(),
            visits: 0,
        }
    }

    fn outside_addr(&self) -> Ipv4Addr {
        self.fwd
            .iface_addr(self.cfg.outside_port)
            .unwrap_or(Ipv4Addr::UNSPECIFIED)
    }

    /// Forgets mappings idle for the timeout (checked at every input and deadline).
    fn expire(&mut self, now: Instant) {
        if self.front_ok && self.front.is_none_or(|(at, _)| at > now) {
            return; // nothing due, and the front is settled
        }
        let timeout = self.cfg.idle_timeout;
        while let Some(&(at, key)) = self.expiry.first() {
            if at > now {
                break;
            }
            self.front_ok = false;
            self.visits += 1;
            self.expiry.pop_first();
            // A stale entry (the mapping was used since): re-filed at its true expiry, which
            // this loop reaches in order if it is due too.
            match self.by_outside.get(&key) {
                None => continue,
                Some(m) if m.last_used + timeout != at => {
                    self.expiry.insert((m.last_used + timeout, key));
                    continue;
                }
                Some(_) => {}
            }
            if let Some(m) = self.by_outside.remove(&key) {
                let (port, remote) = key;
                self.by_inside.remove(&(m.inside, remote));
                self.log.push((
                    at,
                    NatEvent::MappingExpired {
                        inside: m.inside,
                        outside: SocketAddrV4::new(self.outside_addr(), port),
                        remote,
                        idle_for: timeout,
                    },
                ));
            }
        }
        self.settle();
    }

    /// Marks a mapping used at `now` (restarting its idle timer).
    fn touch(&mut self, key: (u16, SocketAddrV4), now: Instant) {
        if let Some(m) = self.by_outside.get_mut(&key) {
            m.last_used = now;
            self.used(key);
        }
    }

    /// After the mapping under `key` was used: if its entry is the front of `expiry`, the
    /// front may be stale now; settles the index.
    fn used(&mut self, key: (u16, SocketAddrV4)) {
        if self.front.is_some_and(|(_, k)| k == key) {
            self.front_ok = false;
        }
        self.settle();
    }

    /// Re-files stale entries at the front of `expiry` until the first is a true expiry.
    fn settle(&mut self) {
        if self.front_ok {
            return;
        }
        let timeout = self.cfg.idle_timeout;
        while let Some(&(at, key)) = self.expiry.first() {
            let real = match self.by_outside.get(&key) {
                Some(m) => m.last_used + timeout,
                None => {
                    self.expiry.pop_first();
                    continue;
                }
            };
            if real == at {
                break;
            }
            self.visits += 1;
            self.expiry.pop_first();
            self.expiry.insert((real, key));
        }
        self.front = self.expiry.first().copied();
        self.front_ok = true;
    }

    fn rewrite(ip: &mut Ipv4Repr, tcp: &TcpRepr) -> Vec<u8> {
        ip.payload_len = tcp.header_len() + tcp.payload.len();
        wire::build_ipv4_tcp(ip, tcp)
    }

    fn outbound(&mut self, now: Instant, mut ip: Ipv4Repr, mut tcp: TcpRepr) {
        let inside = SocketAddrV4::new(ip.src_addr, tcp.src_port);
        let remote = SocketAddrV4::new(ip.dst_addr, tcp.dst_port);
        let Some(key) = self.map_outbound(now, inside, remote, tcp.flags) else {
            return;
        };
        ip.src_addr = self.outside_addr();
        tcp.src_port = key.0;
        let packet = Self::rewrite(&mut ip, &tcp);
        self.fwd.route(now, packet, ip.dst_addr);
    }

    /// The mapping of an outbound packet from `inside` to `remote` (made if there is none),
    /// marked used: its key, or `None` when every port is taken (logged; the packet is dropped).
    fn map_outbound(
        &mut self,
        now: Instant,
        inside: SocketAddrV4,
        remote: SocketAddrV4,
        flags: TcpFlags,
    ) -> Option<(u16, SocketAddrV4)> {
        let existing = self.by_inside.get(&(inside, remote)).map(|&p| (p, remote));
        let key = match existing {
            Some(k) => k,
            None => {
                // The next port not mapped for this remote (ports wrap around after 65535;
                // a port still in use is skipped). All of them in use: the packet gets no
                // mapping and is dropped, as a real NAT out of ports does.
                let mut free = None;
                for _ in 1024..=u16::MAX {
                    let port = self.next_port;
                    self.next_port = self.next_port.wrapping_add(1).max(1024);
                    if !self.by_outside.contains_key(&(port, remote)) {
                        free = Some(port);
                        break;
                    }
                }
                let Some(port) = free else {
                    self.log.push((
                        now,
                        NatEvent::NoMapping {
                            from: inside,
                            to: remote,
                            flags,
                            answered_with_rst: false,
                        },
                    ));
                    return None;
                };
                let outside = SocketAddrV4::new(self.outside_addr(), port);
                self.by_outside.insert(
                    (port, remote),
                    Mapping {
                        inside,
                        last_used: now,
                    },
                );
                self.by_inside.insert((inside, remote), port);
                self.expiry
                    .insert((now + self.cfg.idle_timeout, (port, remote)));
                self.front_ok = false;
                self.log.push((
                    now,
                    NatEvent::MappingCreated {
                        inside,
                        outside,
                        remote,
                    },
                ));
                (port, remote)
            }
        };
        self.touch(key, now);
        Some(key)
    }

    /// The inside endpoint of the mapping under `key`, marked used; `None` when there is none.
    fn use_mapping(&mut self, now: Instant, key: (u16, SocketAddrV4)) -> Option<SocketAddrV4> {
        // One lookup: the mapping is marked used and read at once.
        let inside = self.by_outside.get_mut(&key).map(|m| {
            m.last_used = now;
            m.inside
        })?;
        self.used(key);
        Some(inside)
    }

    fn inbound(&mut self, now: Instant, mut ip: Ipv4Repr, mut tcp: TcpRepr) {
        let remote = SocketAddrV4::new(ip.src_addr, tcp.src_port);
        let key = (tcp.dst_port, remote);
        match self.use_mapping(now, key) {
            Some(inside) => {
                ip.dst_addr = *inside.ip();
                tcp.dst_port = inside.port();
                let packet = Self::rewrite(&mut ip, &tcp);
                self.fwd.route(now, packet, ip.dst_addr);
            }
            None => {
                let to = SocketAddrV4::new(ip.dst_addr, tcp.dst_port);
                let answer = self.cfg.rst_on_expiry && !tcp.flags.rst();
                self.log.push((
                    now,
                    NatEvent::NoMapping {
                        from: remote,
                        to,
                        flags: tcp.flags,
                        answered_with_rst: answer,
                    },
                ));
                if answer {
                    // RFC 9293 §3.10.7.1 reset generation, on behalf of the forgotten host.
                    let rst = if tcp.flags.ack() {
                        TcpRepr {
                            src_port: tcp.dst_port,
                            dst_port: tcp.src_port,
                            seq: tcp.ack,
                            flags: TcpFlags::RST,
                            ..TcpRepr::default()
                        }
                    } else {
                        TcpRepr {
                            src_port: tcp.dst_port,
                            dst_port: tcp.src_port,
                            ack: tcp.seq + tcp.seg_len(),
                            flags: TcpFlags::RST | TcpFlags::ACK,
                            ..TcpRepr::default()
                        }
                    };
                    let mut rip = Ipv4Repr {
                        src_addr: ip.dst_addr,
                        dst_addr: ip.src_addr,
                        ttl: 64,
                        ..ip
                    };
                    let packet = Self::rewrite(&mut rip, &rst);
                    self.fwd.route(now, packet, rip.dst_addr);
                }
            }
        }
    }
}

/// What the NAT reads of a packet it rewrites in place ([`plain`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Plain {
    src: Ipv4Addr,
    dst: Ipv4Addr,
    sport: u16,
    dport: u16,
    flags: TcpFlags,
}

/// NOP, NOP, then the timestamps option (RFC 7323 §3): the options of every segment of an
/// established connection that uses timestamps, as this project's stacks send them.
const NOP_NOP_TIMESTAMPS: [u8; 4] = [1, 1, 8, 10];

/// The addresses, ports and flags of `packet` when it is an IPv4/TCP packet whose checksums
/// verify and which `build_ipv4_tcp` would rebuild byte for byte from its parse: no IP options
/// and nothing after the total length, no reserved or fragment bits, no reserved TCP bits, and
/// no TCP options but none or [`NOP_NOP_TIMESTAMPS`] (which parse and emit unchanged). Such a
/// packet is rewritten in place ([`readdress`]), giving the bytes a rebuild would give; any
/// other is parsed and rebuilt.
fn plain(packet: &[u8]) -> Option<Plain> {
    let ip = packet.get(..20)?;
    let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
    // RFC 791 §3.1: version 4, IHL 5; of the flags only DF; fragment offset 0; protocol TCP.
    if ip[0] != 0x45
        || total != packet.len()
        || u16::from_be_bytes([ip[6], ip[7]]) & !0x4000 != 0
        || ip[9] != 6
    {
        return None;
    }
    let seg = &packet[20..];
    // RFC 9293 §3.1: data offset in 32-bit words; the three bits after it are reserved.
    let offset = *seg.get(12)?;
    let opts = seg.get(20..usize::from(offset >> 4) * 4)?;
    if offset & 0x0e != 0
        || !(opts.is_empty() || opts.len() == 12 && opts[..4] == NOP_NOP_TIMESTAMPS)
    {
        return None;
    }
    let ipp = wire::Ipv4Packet::new_unchecked(packet);
    let (src, dst) = (ipp.src_addr(), ipp.dst_addr());
    let tcp = wire::TcpSegment::new_unchecked(seg);
    if !ipp.verify_checksum() || !tcp.verify_checksum(src, dst) {
        return None;
    }
    Some(Plain {
        src,
        dst,
        sport: tcp.src_port(),
        dport: tcp.dst_port(),
        flags: tcp.flags(),
    })
}

/// Rewrites the source and/or destination (address and port) of a [`plain`] packet in place and
/// fills both checksums anew, as `build_ipv4_tcp` fills them.
fn readdress(packet: &mut [u8], src: Option<SocketAddrV4>, dst: Option<SocketAddrV4>) {
    let (head, seg) = packet.split_at_mut(20);
    let mut ip = wire::Ipv4Packet::new_unchecked(head);
    let mut tcp = wire::TcpSegment::new_unchecked(seg);
    if let Some(s) = src {
        ip.set_src_addr(*s.ip());
        tcp.set_src_port(s.port());
    }
    if let Some(d) = dst {
        ip.set_dst_addr(*d.ip());
        tcp.set_dst_port(d.port());
    }
    ip.fill_checksum();
    tcp.fill_checksum(ip.src_addr(), ip.dst_addr());
}

impl Node for Nat {
    fn name(&self) -> &str {
        &self.name
    }
    fn addrs(&self) -> Vec<Ipv4Addr> {
        self.fwd.addrs()
    }
    fn handle_frame(&mut self, now: Instant, port: usize, frame: &[u8]) {
        self.expire(now);
        let Inbound::Ipv4(mut packet) = self.fwd.receive(now, port, frame) else {
            return;
        };
        if !decrement_ttl(&mut packet) {
            return;
        }
        if let Some(p) = plain(&packet) {
            if self.fwd.owns(p.dst) && port != self.cfg.outside_port {
                return;
            }
            if port == self.cfg.inside_port {
                let inside = SocketAddrV4::new(p.src, p.sport);
                let remote = SocketAddrV4::new(p.dst, p.dport);
                if let Some(key) = self.map_outbound(now, inside, remote, p.flags) {
                    let from = SocketAddrV4::new(self.outside_addr(), key.0);
                    readdress(&mut packet, Some(from), None);
                    self.fwd.route(now, packet, p.dst);
                }
                return;
            }
            if port == self.cfg.outside_port {
                let remote = SocketAddrV4::new(p.src, p.sport);
                if let Some(inside) = self.use_mapping(now, (p.dport, remote)) {
                    readdress(&mut packet, None, Some(inside));
                    self.fwd.route(now, packet, *inside.ip());
                    return;
                }
                // No mapping: the general way below logs it (and answers with an RST if set).
            } else {
                return;
            }
        }
        let Ok((ip, tcp)) = wire::parse_ipv4_tcp(&packet, ChecksumMode::Verify) else {
            return; // only TCP crosses this NAT
        };
        if self.fwd.owns(ip.dst_addr) && port != self.cfg.outside_port {
            return;
        }
        if port == self.cfg.inside_port {
            self.outbound(now, ip, tcp);
        } else if port == self.cfg.outside_port {
            self.inbound(now, ip, tcp);
        }
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.expire(now);
        self.fwd.handle_timeout(now);
    }
    fn poll_transmit(&mut self, _now: Instant) -> Option<(usize, Vec<u8>)> {
        self.fwd.poll_transmit()
    }
    fn work(&self) -> u64 {
        self.visits + self.fwd.work()
    }
    fn poll_at(&self) -> Option<Instant> {
        let exp = self.expiry.first().map(|e| e.0);
        match (exp, self.fwd.poll_at()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
    fn drain_trace(&mut self, me: NodeId, out: &mut Vec<TraceEvent>) {
        for event in self.fwd.drain_events() {
            out.push(TraceEvent {
                time: event.time,
                kind: TraceKind::Stack { node: me, event },
            });
        }
        for (time, event) in self.log.drain(..) {
            out.push(TraceEvent {
                time,
                kind: TraceKind::Nat { node: me, event },
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
    use crate::sim::router::IfaceConfig;
    use stack::wire::{EthernetAddress, SeqNumber};

    fn nat(first_port: u16) -> Nat {
        let iface = |mac: u8, addr: Ipv4Addr| IfaceConfig {
            mac: EthernetAddress([2, 0, 0, 0, 0, mac]),
            addr,
            prefix_len: 24,
        };
        let fwd = Forwarder::new(
            vec![
                iface(1, Ipv4Addr::new(192, 0, 2, 1)),
                iface(2, Ipv4Addr::new(198, 51, 100, 2)),
            ],
            None,
            stack::policy::ArpPolicy::default(),
        );
        let cfg = NatConfig {
            inside_port: 0,
            outside_port: 1,
            idle_timeout: Duration::from_secs(600),
            rst_on_expiry: false,
            first_port,
        };
        Nat::new("nat", fwd, cfg)
    }

    /// A SYN from inside host `.h`, port `sport`, to 198.51.100.20:22.
    fn syn(n: &mut Nat, h: u8, sport: u16) {
        let ip = Ipv4Repr {
            ident: 1,
            ..Ipv4Repr::tcp(Ipv4Addr::new(192, 0, 2, h), Ipv4Addr::new(198, 51, 100, 20))
        };
        let tcp = TcpRepr {
            src_port: sport,
            dst_port: 22,
            seq: SeqNumber(1),
            ack: SeqNumber(0),
            flags: TcpFlags::SYN,
            window: 1000,
            urgent: 0,
            options: vec![],
            payload: vec![],
        };
        n.outbound(Instant::ZERO, ip, tcp);
    }

    /// A segment from inside host `.h`, port `sport`, to 198.51.100.20:22 at `now`.
    fn out_at(n: &mut Nat, now: Instant, h: u8, sport: u16) {
        let ip = Ipv4Repr::tcp(Ipv4Addr::new(192, 0, 2, h), Ipv4Addr::new(198, 51, 100, 20));
        let tcp = TcpRepr {
            src_port: sport,
            dst_port: 22,
            flags: TcpFlags::ACK,
            ..TcpRepr::default()
        };
        n.outbound(now, ip, tcp);
    }

    /// The answer from 198.51.100.20:22 to outside port `port` at `now`.
    fn in_at(n: &mut Nat, now: Instant, port: u16) {
        let ip = Ipv4Repr::tcp(Ipv4Addr::new(198, 51, 100, 20), n.outside_addr());
        let tcp = TcpRepr {
            src_port: 22,
            dst_port: port,
            flags: TcpFlags::ACK,
            ..TcpRepr::default()
        };
        n.inbound(now, ip, tcp);
    }

    /// However packets and expiries interleave, the front of the expiry index (what
    /// `poll_at` reports beside the ARP timers) is the earliest true expiry of a mapping, and mappings expire in (expiry, key) order: the cached front of the index
    /// never goes stale unnoticed.
    #[test]
    fn the_expiry_index_stays_exact() {
        let mut n = nat(2000);
        let mut rng = stack::rand::Rng::new(3);
        let timeout = n.cfg.idle_timeout;
        let mut now = Instant::ZERO;
        for step in 0..4000 {
            now += Duration::from_millis(rng.below(40_000));
            while let Some(due) = n.poll_at().filter(|&t| t <= now) {
                n.handle_timeout(due);
            }
            match rng.below(3) {
                0 => out_at(
                    &mut n,
                    now,
                    10 + rng.below(5) as u8,
                    1000 + rng.below(8) as u16,
                ),
                _ => {
                    let ports: Vec<u16> = n.by_outside.keys().map(|k| k.0).collect();
                    if !ports.is_empty() {
                        let p = ports[rng.below(ports.len() as u64) as usize];
                        in_at(&mut n, now, p);
                    }
                }
            }
            let want = n.by_outside.values().map(|m| m.last_used + timeout).min();
            assert_eq!(n.expiry.first().map(|e| e.0), want, "step {step}");
            assert!(n.poll_at() <= want.or(n.poll_at()), "step {step}");
        }
        let expired: Vec<_> = n
            .log
            .iter()
            .filter_map(|(at, e)| match e {
                NatEvent::MappingExpired {
                    outside, remote, ..
                } => Some((*at, (outside.port(), *remote))),
                _ => None,
            })
            .collect();
        assert!(expired.len() > 20, "mappings expired: {}", expired.len());
        assert!(
            expired.windows(2).all(|w| w[0] < w[1]),
            "in (expiry, key) order"
        );
    }

    /// A packet the fast way rewrites in place comes out as parsing and rebuilding it would
    /// make it, for either direction; packets it refuses (other options, trailing bytes, a
    /// spoilt bit) are left to the general way. Segments as the stacks send them, with every
    /// flag, data or not, with and without timestamps, are taken the fast way.
    #[test]
    fn the_in_place_rewrite_is_the_rebuild() {
        use stack::wire::TcpOption::{MaxSegmentSize, NoOp, SackRange, Timestamps, WindowScale};
        let mut rng = stack::rand::Rng::new(5);
        let r16 = |rng: &mut stack::rand::Rng| rng.below(1 << 16) as u16;
        let (mut fast, mut general) = (0, 0);
        for case in 0..4000 {
            let ts = Timestamps {
                tsval: rng.next_u32(),
                tsecr: rng.next_u32(),
            };
            let options = match rng.below(5) {
                0 | 1 => vec![],
                2 => vec![NoOp, NoOp, ts],
                3 => vec![MaxSegmentSize(1460), NoOp, WindowScale(7)],
                _ => vec![NoOp, NoOp, ts, NoOp, NoOp, SackRange(vec![(1, 2)])],
            };
            let ip = Ipv4Repr {
                ident: r16(&mut rng),
                dont_frag: rng.below(2) == 0,
                tos: rng.below(4) as u8,
                ttl: 1 + rng.below(255) as u8,
                ..Ipv4Repr::tcp(
                    Ipv4Addr::new(192, 0, 2, 10),
                    Ipv4Addr::new(198, 51, 100, 20),
                )
            };
            let tcp = TcpRepr {
                src_port: r16(&mut rng),
                dst_port: r16(&mut rng),
                seq: SeqNumber(rng.next_u32()),
                ack: SeqNumber(rng.next_u32()),
                flags: TcpFlags(rng.below(0x200) as u16),
                window: r16(&mut rng),
                urgent: r16(&mut rng),
                options,
                payload: (0..rng.below(3) * 7).map(|i| i as u8).collect(),
            };
            let mut packet = wire::build_ipv4_tcp(&ip, &tcp);
            match rng.below(8) {
                0 => {
                    let bit = rng.below(8 * packet.len() as u64) as usize;
                    packet[bit / 8] ^= 1 << (bit % 8);
                }
                1 => packet.push(0),
                _ => {}
            }
            let from = SocketAddrV4::new(Ipv4Addr::new(203, 0, 113, 2), r16(&mut rng));
            let to = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 7), r16(&mut rng));
            let parsed = wire::parse_ipv4_tcp(&packet, ChecksumMode::Verify).ok();
            let Some(p) = plain(&packet) else {
                general += 1;
                continue;
            };
            fast += 1;
            let (pip, ptcp) = parsed.expect("a plain packet parses");
            assert_eq!(
                (p.src, p.dst, p.sport, p.dport, p.flags),
                (
                    pip.src_addr,
                    pip.dst_addr,
                    ptcp.src_port,
                    ptcp.dst_port,
                    ptcp.flags
                )
            );
            let (mut i, mut t) = (pip, ptcp.clone());
            i.src_addr = *from.ip();
            t.src_port = from.port();
            let mut got = packet.clone();
            readdress(&mut got, Some(from), None);
            assert_eq!(got, Nat::rewrite(&mut i, &t), "case {case}: outbound");
            let (mut i, mut t) = (pip, ptcp);
            i.dst_addr = *to.ip();
            t.dst_port = to.port();
            let mut got = packet.clone();
            readdress(&mut got, None, Some(to));
            assert_eq!(got, Nat::rewrite(&mut i, &t), "case {case}: inbound");
        }
        assert!(
            fast > 1000 && general > 1000,
            "fast {fast}, general {general}"
        );
    }

    /// Outside ports wrap around after 65535 without handing out one still mapped for the
    /// same remote; once every port is in use a new flow gets no mapping (and no panic).
    #[test]
    fn outside_ports_wrap_around_to_free_ones_then_run_out() {
        let mut n = nat(65_535);
        syn(&mut n, 10, 1000); // 65535
        syn(&mut n, 10, 1001); // wraps to 1024
        assert_eq!(
            n.by_outside.keys().map(|k| k.0).collect::<Vec<_>>(),
            vec![1024, 65_535]
        );
        // Fill every remaining port, then one more flow: no mapping, logged.
        for i in 0..(65_535 - 1025) {
            syn(&mut n, 11 + (i / 60_000) as u8, (i % 60_000) as u16 + 1);
        }
        assert_eq!(n.by_outside.len(), 65_536 - 1024);
        assert_eq!(n.by_inside.len(), n.by_outside.len());
        n.log.clear();
        syn(&mut n, 99, 7);
        assert_eq!(n.by_outside.len(), 65_536 - 1024);
        assert!(matches!(
            n.log.as_slice(),
            [(
                _,
                NatEvent::NoMapping {
                    answered_with_rst: false,
                    ..
                }
            )]
        ));
        // The first flow still maps to its own port.
        syn(&mut n, 10, 1000);
        assert_eq!(n.by_inside.len(), n.by_outside.len());
    }
}
