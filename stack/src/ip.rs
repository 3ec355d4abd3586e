//! An IPv4 interface: address, prefix, default gateway, next-hop choice, ARP hand-off.
//!
//! [`Interface`] is sans-IO like the rest of the stack. Inputs: [`Interface::handle_frame`],
//! [`Interface::send_ipv4`] / [`Interface::send_tcp`], [`Interface::handle_timeout`]. Outputs:
//! [`Interface::poll_transmit`] (whole Ethernet frames), [`Interface::poll_at`], and an event
//! queue drained by the caller ([`Interface::take_events`]) that holds the IP events and the
//! ARP events of the interface's neighbour cache, in the order they happened.

use crate::arp::{ArpEvent, NeighborEntry, Neighbors, Transmit};
use crate::boxed_deque::BoxedDeque;
use crate::policy::ArpPolicy;
use crate::time::{Instant, Timed};
use crate::wire::{
    self, ChecksumMode, EtherType, EthernetAddress, EthernetRepr, Frame, IpProtocol, Ipv4Addr,
    Ipv4Repr, PacketSummary, TcpRepr,
};
use core::fmt;

/// Largest IPv4 payload behind a 20-byte header (RFC 791 total length is 16 bits).
const MAX_PAYLOAD: usize = 65_535 - 20;

/// Why the IP layer dropped a frame or packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IpDropReason {
    /// The frame did not parse (any layer); the wire error says what was wrong.
    Malformed(wire::Error),
    /// RFC 791 fragment: recognised and reported, never reassembled.
    Fragment { offset: u16, more: bool },
    /// The Ethernet destination is neither our MAC nor broadcast.
    NotOurMac { dst: EthernetAddress },
    /// RFC 1122 §3.2.1.3: the IPv4 destination is not one of our addresses.
    NotForUs { dst: Ipv4Addr },
    /// RFC 1122 §3.2.1.3: "A host MUST silently discard an incoming datagram containing an IP
    /// source address that is invalid" (broadcast, multicast, loopback or our own).
    BadSource { src: Ipv4Addr },
    /// A payload longer than an IPv4 packet can carry (RFC 791: 65,535 bytes in all).
    TooLong { len: usize },
}

impl fmt::Display for IpDropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IpDropReason::Malformed(e) => write!(f, "malformed({e})"),
            IpDropReason::Fragment { offset, more } => {
                write!(f, "fragment(offset={offset} more={more})")
            }
            IpDropReason::NotOurMac { dst } => write!(f, "not-our-mac({dst})"),
            IpDropReason::NotForUs { dst } => write!(f, "not-for-us({dst})"),
            IpDropReason::BadSource { src } => write!(f, "bad-source({src})"),
            IpDropReason::TooLong { len } => write!(f, "too-long({len})"),
        }
    }
}

/// IP-layer events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IpEvent {
    /// A frame or packet was dropped; `packet` says which when the IPv4 header was readable.
    Dropped {
        reason: IpDropReason,
        packet: Option<PacketSummary>,
    },
    /// No route to `dst`: off-link and no default gateway.
    NoRoute { dst: Ipv4Addr },
}

impl fmt::Display for IpEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IpEvent::Dropped { reason, packet } => {
                write!(f, "drop reason={reason}")?;
                if let Some(p) = packet {
                    f.write_str(" packet=")?;
                    crate::arp::write_summary(f, p)?;
                }
                Ok(())
            }
            IpEvent::NoRoute { dst } => write!(f, "no-route {dst}"),
        }
    }
}

/// What an interface logs: its own IP events and those of its neighbour cache, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IfaceEvent {
    Ip(IpEvent),
    Arp(ArpEvent),
}

impl From<IpEvent> for IfaceEvent {
    fn from(e: IpEvent) -> Self {
        IfaceEvent::Ip(e)
    }
}

impl From<ArpEvent> for IfaceEvent {
    fn from(e: ArpEvent) -> Self {
        IfaceEvent::Arp(e)
    }
}

/// Where a packet for some destination goes first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NextHop {
    /// On-link: resolve the destination itself.
    Direct(Ipv4Addr),
    /// Off-link: resolve the default gateway.
    Gateway(Ipv4Addr),
    /// Limited or directed broadcast: Ethernet broadcast, no ARP.
    Broadcast,
}

/// The plain configuration of an [`Interface`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InterfaceConfig {
    pub mac: EthernetAddress,
    pub addr: Ipv4Addr,
    /// Prefix length of the on-link subnet, 0..=32.
    pub prefix_len: u8,
    /// Default gateway; must be on-link.
    pub gateway: Option<Ipv4Addr>,
    pub arp: ArpPolicy,
    /// TTL of packets we originate (RFC 1122 §3.2.1.7: not 0; 64 by default).
    pub ttl: u8,
    /// First IP identification value; incremented per packet sent.
    pub ident_start: u16,
    /// Set DF on packets we originate.
    pub dont_frag: bool,
    /// Checksum verification on receive.
    pub checksum: ChecksumMode,
}

impl InterfaceConfig {
    /// `addr/prefix_len` on `mac`, no gateway, default ARP policy, TTL 64, ident 0, DF set.
    pub fn new(mac: EthernetAddress, addr: Ipv4Addr, prefix_len: u8) -> Self {
        InterfaceConfig {
            mac,
            addr,
            prefix_len,
            gateway: None,
            arp: ArpPolicy::default(),
            ttl: 64,
            ident_start: 0,
            dont_frag: true,
            checksum: ChecksumMode::Verify,
        }
    }
}

/// Why an [`InterfaceConfig`] was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigError {
    /// Prefix length above 32.
    PrefixLength(u8),
    /// RFC 1122 §3.2.1.7: "A host MUST NOT send a datagram with a Time-to-Live (TTL) value of 0."
    ZeroTtl,
    /// The gateway is not inside our prefix (or is our own, network or broadcast address).
    GatewayNotOnLink(Ipv4Addr),
    /// Our own address is not a unicast address.
    BadAddress(Ipv4Addr),
    /// Our MAC is multicast/broadcast or zero.
    BadMac(EthernetAddress),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::PrefixLength(p) => write!(f, "prefix length {p} is above 32"),
            ConfigError::ZeroTtl => f.write_str("TTL 0 (RFC 1122 §3.2.1.7)"),
            ConfigError::GatewayNotOnLink(g) => write!(f, "gateway {g} is not on-link"),
            ConfigError::BadAddress(a) => write!(f, "{a} is not a unicast address"),
            ConfigError::BadMac(m) => write!(f, "{m} is not a unicast MAC"),
        }
    }
}

impl std::error::Error for ConfigError {}

/// Why [`Interface::send_ipv4`] could not send (an event is logged as well).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendError {
    NoRoute(Ipv4Addr),
    TooLong(usize),
}

/// A packet for the upper layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Inbound {
    /// A TCP segment (checksums verified per [`InterfaceConfig::checksum`]).
    Tcp { ip: Ipv4Repr, tcp: TcpRepr },
    /// Any other protocol; `payload` is the IPv4 payload.
    Other { ip: Ipv4Repr, payload: Vec<u8> },
}

impl Inbound {
    pub fn ip(&self) -> &Ipv4Repr {
        match self {
            Inbound::Tcp { ip, .. } | Inbound::Other { ip, .. } => ip,
        }
    }
}

/// One IPv4 interface on one Ethernet segment, with its ARP neighbour cache.
///
/// Polling order after every input: drain [`poll_transmit`](Self::poll_transmit), drain
/// [`take_events`](Self::take_events), then wait for [`poll_at`](Self::poll_at) and call
/// [`handle_timeout`](Self::handle_timeout).
#[derive(Clone, Debug)]
pub struct Interface {
    /// The configuration but its ARP policy, which only the neighbour cache keeps (one copy
    /// per host, not two).
    config: Settings,
    neighbors: Neighbors,
    next_ident: u16,
    /// One word while empty, as it is between inputs (the host drains it at once).
    transmit: BoxedDeque<Vec<u8>>,
    events: BoxedDeque<Timed<IfaceEvent>>,
}

/// [`InterfaceConfig`] without the ARP policy.
#[derive(Clone, Debug)]
struct Settings {
    mac: EthernetAddress,
    addr: Ipv4Addr,
    prefix_len: u8,
    gateway: Option<Ipv4Addr>,
    ttl: u8,
    ident_start: u16,
    dont_frag: bool,
    checksum: ChecksumMode,
}

impl Interface {
    pub fn new(config: InterfaceConfig) -> Result<Self, ConfigError> {
        if config.prefix_len > 32 {
            return Err(ConfigError::PrefixLength(config.prefix_len));
        }
        if config.ttl == 0 {
            return Err(ConfigError::ZeroTtl);
        }
        if config.mac.0[0] & 1 == 1 || config.mac == EthernetAddress::ZERO {
            return Err(ConfigError::BadMac(config.mac));
        }
        let a = config.addr;
        if a.is_unspecified() || a.is_broadcast() || a.is_multicast() || a.is_loopback() {
            return Err(ConfigError::BadAddress(a));
        }
        let InterfaceConfig {
            mac,
            addr,
            prefix_len,
            gateway,
            arp,
            ttl,
            ident_start,
            dont_frag,
            checksum,
        } = config;
        let iface = Interface {
            neighbors: Neighbors::new(arp, mac, addr),
            next_ident: ident_start,
            config: Settings {
                mac,
                addr,
                prefix_len,
                gateway,
                ttl,
                ident_start,
                dont_frag,
                checksum,
            },
            transmit: BoxedDeque::new(),
            events: BoxedDeque::new(),
        };
        if let Some(gw) = iface.config.gateway {
            if !iface.is_on_link(gw) || gw == a || iface.is_broadcast(gw) || gw == iface.network() {
                return Err(ConfigError::GatewayNotOnLink(gw));
            }
        }
        Ok(iface)
    }

    /// The configuration this interface runs (with the ARP policy set last).
    pub fn config(&self) -> InterfaceConfig {
        let c = &self.config;
        InterfaceConfig {
            mac: c.mac,
            addr: c.addr,
            prefix_len: c.prefix_len,
            gateway: c.gateway,
            arp: self.neighbors.policy().clone(),
            ttl: c.ttl,
            ident_start: c.ident_start,
            dont_frag: c.dont_frag,
            checksum: c.checksum,
        }
    }

    pub fn addr(&self) -> Ipv4Addr {
        self.config.addr
    }

    pub fn mac(&self) -> EthernetAddress {
        self.config.mac
    }

    fn mask(&self) -> u32 {
        match self.config.prefix_len {
            0 => 0,
            p => u32::MAX << (32 - u32::from(p.min(32))),
        }
    }

    fn network(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.config.addr) & self.mask())
    }

    /// Whether `dst` is inside our prefix.
    pub fn is_on_link(&self, dst: Ipv4Addr) -> bool {
        let m = self.mask();
        u32::from(dst) & m == u32::from(self.config.addr) & m
    }

    /// The limited broadcast or our subnet's directed broadcast (not for /31 and /32,
    /// RFC 3021).
    pub fn is_broadcast(&self, dst: Ipv4Addr) -> bool {
        dst.is_broadcast()
            || (self.config.prefix_len < 31
                && u32::from(dst) == u32::from(self.config.addr) | !self.mask())
    }

    /// RFC 1122 §3.3.1.1: on-link destinations are reached directly, the rest through the
    /// default gateway. `None` (no route) when off-link without a gateway, and for destinations
    /// this interface cannot put on Ethernet: 0.0.0.0, 127/8 (RFC 1122 §3.2.1.3 (g): loopback
    /// MUST NOT appear outside a host), multicast (no group support) and our own address.
    pub fn next_hop(&self, dst: Ipv4Addr) -> Option<NextHop> {
        if dst.is_unspecified() || dst.is_loopback() || dst.is_multicast() || dst == self.addr() {
            None
        } else if self.is_broadcast(dst) {
            Some(NextHop::Broadcast)
        } else if self.is_on_link(dst) {
            Some(NextHop::Direct(dst))
        } else {
            self.config.gateway.map(NextHop::Gateway)
        }
    }

    /// Send a TCP segment to `dst` from our address (see [`send_ipv4`](Self::send_ipv4)).
    pub fn send_tcp(
        &mut self,
        now: Instant,
        dst: Ipv4Addr,
        tcp: &TcpRepr,
    ) -> Result<(), SendError> {
        let len = tcp.buffer_len();
        let hop = self.route(now, dst, len)?;
        let ip = self.header(dst, IpProtocol::Tcp, len);
        let packet = wire::build_ipv4_tcp(&ip, tcp);
        self.hand_off(now, hop, packet);
        Ok(())
    }

    /// Build an IPv4 packet (our address, the configured TTL, the next ident) around
    /// `payload` and hand it to ARP for the next hop: out now if resolved, else queued.
    /// No route gives a [`IpEvent::NoRoute`] event and `Err`.
    pub fn send_ipv4(
        &mut self,
        now: Instant,
        dst: Ipv4Addr,
        protocol: IpProtocol,
        payload: &[u8],
    ) -> Result<(), SendError> {
        let hop = self.route(now, dst, payload.len())?;
        let ip = self.header(dst, protocol, payload.len());
        let packet = wire::build_ipv4(&ip, payload);
        self.hand_off(now, hop, packet);
        Ok(())
    }

    /// Check the payload length and find the next hop; each refusal is logged as an event.
    fn route(&mut self, now: Instant, dst: Ipv4Addr, len: usize) -> Result<NextHop, SendError> {
        if len > MAX_PAYLOAD {
            self.ip_event(
                now,
                IpEvent::Dropped {
                    reason: IpDropReason::TooLong { len },
                    packet: None,
                },
            );
            return Err(SendError::TooLong(len));
        }
        match self.next_hop(dst) {
            Some(hop) => Ok(hop),
            None => {
                self.ip_event(now, IpEvent::NoRoute { dst });
                Err(SendError::NoRoute(dst))
            }
        }
    }

    fn header(&mut self, dst: Ipv4Addr, protocol: IpProtocol, len: usize) -> Ipv4Repr {
        let ident = self.next_ident;
        self.next_ident = self.next_ident.wrapping_add(1);
        Ipv4Repr {
            src_addr: self.config.addr,
            dst_addr: dst,
            protocol,
            payload_len: len,
            ttl: self.config.ttl,
            ident,
            dont_frag: self.config.dont_frag,
            tos: 0,
        }
    }

    fn hand_off(&mut self, now: Instant, hop: NextHop, packet: Vec<u8>) {
        match hop {
            NextHop::Broadcast => {
                let frame = self.frame(EthernetAddress::BROADCAST, EtherType::Ipv4, &packet);
                self.collect();
                self.transmit.push_back(frame);
            }
            NextHop::Direct(ip) | NextHop::Gateway(ip) => {
                self.neighbors.send(now, ip, packet);
                self.collect();
            }
        }
    }

    /// Handle one received Ethernet frame. ARP is answered/learned here (returns `None`);
    /// an IPv4 packet for us is returned for the upper layer; anything else is dropped with an
    /// [`IpEvent::Dropped`] event. Never panics, whatever the bytes.
    pub fn handle_frame(&mut self, now: Instant, bytes: &[u8]) -> Option<Inbound> {
        let frame = match wire::parse_frame(bytes, self.config.checksum) {
            Ok(f) => f,
            Err(e) => {
                let reason = match e {
                    wire::Error::Fragmented { offset, more } => {
                        IpDropReason::Fragment { offset, more }
                    }
                    e => IpDropReason::Malformed(e),
                };
                let packet = ipv4_summary(bytes);
                self.ip_event(now, IpEvent::Dropped { reason, packet });
                return None;
            }
        };
        let eth_dst = frame.eth().dst_addr;
        if eth_dst != self.config.mac && !eth_dst.is_broadcast() {
            let packet = ipv4_summary(bytes);
            self.drop_event(now, IpDropReason::NotOurMac { dst: eth_dst }, packet);
            return None;
        }
        let inbound = match frame {
            Frame::Arp { arp, .. } => {
                self.neighbors.process(now, &arp);
                self.collect();
                return None;
            }
            Frame::Tcp { ip, tcp, .. } => Inbound::Tcp { ip, tcp },
            Frame::OtherIpv4 { ip, payload, .. } => Inbound::Other { ip, payload },
        };
        let ip = *inbound.ip();
        let src = ip.src_addr;
        if src.is_broadcast()
            || src.is_multicast()
            || src.is_loopback()
            || src == self.config.addr
            || self.is_broadcast(src)
        {
            let packet = ipv4_summary(bytes);
            self.drop_event(now, IpDropReason::BadSource { src }, packet);
            return None;
        }
        // RFC 1122 §3.2.1.7: "A host MUST NOT discard a datagram just because it was received
        // with TTL less than 2": no TTL check on receive.
        if ip.dst_addr != self.config.addr && !self.is_broadcast(ip.dst_addr) {
            let packet = ipv4_summary(bytes);
            self.drop_event(now, IpDropReason::NotForUs { dst: ip.dst_addr }, packet);
            return None;
        }
        Some(inbound)
    }

    /// Whether [`handle_frame`](Self::handle_frame) would change nothing and log nothing for
    /// `bytes`: a well-formed ARP packet, sent to us or to broadcast, that the cache ignores
    /// ([`Neighbors::ignores`]). Anything else (IPv4, a malformed frame, another station's
    /// unicast) is not ignored: it is at least logged.
    pub fn ignores_frame(&self, bytes: &[u8]) -> bool {
        // Ethertype 0x0806 (ARP) at bytes 12..14; anything else takes the full path.
        if bytes.get(12..14) != Some(&[0x08, 0x06][..]) {
            return false;
        }
        match wire::parse_frame(bytes, self.config.checksum) {
            Ok(Frame::Arp { eth, arp }) => self.ignores_arp(eth.dst_addr, &arp),
            _ => false,
        }
    }

    /// [`ignores_frame`](Self::ignores_frame) for a frame already parsed as ARP (Ethernet
    /// destination `eth_dst`): a caller that hands one broadcast to many interfaces parses it
    /// once.
    pub fn ignores_arp(&self, eth_dst: EthernetAddress, arp: &wire::ArpRepr) -> bool {
        (eth_dst == self.config.mac || eth_dst.is_broadcast()) && self.neighbors.ignores(arp)
    }

    /// Starts recording the changes of the addresses whose ARP packets this interface does
    /// not ignore ([`Neighbors::watch_interest`]).
    pub fn watch_arp_interest(&mut self) {
        self.neighbors.watch_interest();
    }

    /// Moves the recorded ARP interest changes to `out` ([`Neighbors::drain_interest`]);
    /// false when not watching. For the broadcast Ethernet destination,
    /// [`ignores_arp`](Self::ignores_arp) is true for every ARP packet whose target is not an
    /// address we own and whose sender is not one we hold an entry for.
    pub fn drain_arp_interest(&mut self, out: &mut Vec<crate::arp::Interest>) -> bool {
        self.neighbors.drain_interest(out)
    }

    /// Hands the ARP interest watch to the interface that replaces this one (a reboot).
    pub fn pass_arp_interest_to(&mut self, next: &mut Interface) {
        self.neighbors.pass_interest_to(&mut next.neighbors);
    }

    /// The next Ethernet frame to put on the wire.
    pub fn poll_transmit(&mut self, _now: Instant) -> Option<Vec<u8>> {
        self.collect();
        self.transmit.pop_front()
    }

    /// The next ARP deadline (request retransmission, give-up, entry expiry).
    pub fn poll_at(&self) -> Option<Instant> {
        self.neighbors.poll_at()
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        self.neighbors.handle_timeout(now);
        self.collect();
    }

    /// Take every IP and ARP event logged since the last call, in order.
    pub fn take_events(&mut self) -> Vec<Timed<IfaceEvent>> {
        self.collect();
        std::mem::take(&mut self.events).into_iter().collect()
    }

    /// Drops every event logged since the last call (what [`Interface::take_events`] would
    /// return), for a caller that keeps none.
    pub fn discard_events(&mut self) {
        self.collect();
        self.events = BoxedDeque::new();
    }

    /// Move every event logged since the last call to the end of `out`, converted into the
    /// caller's event type.
    pub fn drain_events_into<E: From<IfaceEvent>>(&mut self, out: &mut Vec<Timed<E>>) {
        self.collect();
        // Taken, not drained: an idle interface holds no event buffer.
        out.extend(
            std::mem::take(&mut self.events)
                .into_iter()
                .map(Timed::map_into),
        );
    }

    /// Install a static ARP entry (never expires, never overwritten by ARP).
    pub fn add_static_neighbor(&mut self, now: Instant, ip: Ipv4Addr, mac: EthernetAddress) {
        self.neighbors.add_static(now, ip, mac);
        self.collect();
    }

    /// Put a dynamic ARP entry in the reachable state as if just confirmed.
    pub fn insert_neighbor(&mut self, now: Instant, ip: Ipv4Addr, mac: EthernetAddress) {
        self.neighbors.insert_dynamic(now, ip, mac);
        self.collect();
    }

    /// Expire the dynamic ARP entry for `ip` now; the next send re-resolves it.
    pub fn expire_neighbor(&mut self, now: Instant, ip: Ipv4Addr) -> bool {
        let expired = self.neighbors.expire(now, ip);
        self.collect();
        expired
    }

    /// The ARP entry for `ip`, if any.
    pub fn neighbor(&self, ip: Ipv4Addr) -> Option<NeighborEntry> {
        self.neighbors.lookup(ip)
    }

    /// Replace the ARP policy (queue bounds apply to packets queued from now on).
    pub fn set_arp_policy(&mut self, policy: ArpPolicy) {
        self.neighbors.set_policy(policy);
    }

    /// The neighbour cache, for introspection.
    pub fn neighbors(&self) -> &Neighbors {
        &self.neighbors
    }

    /// Move what the neighbour cache produced into our queues, framing each transmit.
    fn collect(&mut self) {
        while let Some(t) = self.neighbors.poll_transmit() {
            let frame = match t {
                Transmit::Arp { dst_mac, repr } => {
                    let eth = EthernetRepr {
                        src_addr: self.config.mac,
                        dst_addr: dst_mac,
                        ethertype: EtherType::Arp,
                    };
                    wire::build_arp_frame(&eth, &repr)
                }
                Transmit::Ipv4 { dst_mac, packet } => wire::prepend_ethernet(
                    &EthernetRepr {
                        src_addr: self.config.mac,
                        dst_addr: dst_mac,
                        ethertype: EtherType::Ipv4,
                    },
                    packet,
                ),
            };
            self.transmit.push_back(frame);
        }
        self.neighbors.drain_events_into(&mut self.events);
    }

    fn frame(&self, dst: EthernetAddress, ethertype: EtherType, payload: &[u8]) -> Vec<u8> {
        let eth = EthernetRepr {
            src_addr: self.config.mac,
            dst_addr: dst,
            ethertype,
        };
        wire::build_ethernet(&eth, payload)
    }

    fn drop_event(&mut self, now: Instant, reason: IpDropReason, packet: Option<PacketSummary>) {
        self.ip_event(now, IpEvent::Dropped { reason, packet });
    }

    fn ip_event(&mut self, time: Instant, e: IpEvent) {
        self.collect();
        self.events.push_back(Timed {
            time,
            event: IfaceEvent::Ip(e),
        });
    }
}

/// The summary of the IPv4 packet inside an Ethernet frame, if there is a readable one.
fn ipv4_summary(frame: &[u8]) -> Option<PacketSummary> {
    let body = frame.get(14..)?;
    if frame.get(12..14)? != [0x08, 0x00] {
        return None;
    }
    wire::summarize_ipv4(body)
}

#[cfg(test)]
mod tests;
