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
                            flags: tcp.flags,
                            answered_with_rst: false,
                        },
                    ));
                    return;
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
        ip.src_addr = self.outside_addr();
        tcp.src_port = key.0;
        let packet = Self::rewrite(&mut ip, &tcp);
        self.fwd.route(now, packet, ip.dst_addr);
    }

    fn inbound(&mut self, now: Instant, mut ip: Ipv4Repr, mut tcp: TcpRepr) {
        let remote = SocketAddrV4::new(ip.src_addr, tcp.src_port);
        let key = (tcp.dst_port, remote);
        // One lookup: the mapping is marked used and read at once.
        let inside = self.by_outside.get_mut(&key).map(|m| {
            m.last_used = now;
            m.inside
        });
        match inside {
            Some(inside) => {
                self.used(key);
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
