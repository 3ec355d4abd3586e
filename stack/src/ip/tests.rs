use super::*;
use crate::arp::{ArpDropReason, ArpEvent, EntryState};
use crate::policy::QueueOverflow;
use crate::time::Duration;
use crate::wire::{ArpOperation, ArpRepr, SeqNumber, TcpFlags};
use proptest::prelude::*;
use rstest::rstest;

const MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 2]);
const ADDR: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 2);
const GW: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 1);
const GW_MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 1]);
const PEER: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 7);
const PEER_MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 7]);
const REMOTE: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 5);

fn t(ms: u64) -> Instant {
    Instant::from_millis(ms)
}

fn config() -> InterfaceConfig {
    InterfaceConfig {
        gateway: Some(GW),
        ..InterfaceConfig::new(MAC, ADDR, 24)
    }
}

fn iface() -> Interface {
    Interface::new(config()).expect("valid config")
}

fn seg(sport: u16, flags: TcpFlags, seq: u32) -> TcpRepr {
    TcpRepr {
        src_port: sport,
        dst_port: 80,
        seq: SeqNumber(seq),
        ack: SeqNumber(0),
        flags,
        window: 1000,
        urgent: 0,
        options: vec![],
        payload: vec![],
    }
}

fn drain(i: &mut Interface) -> Vec<Frame> {
    std::iter::from_fn(|| i.poll_transmit(t(0)))
        .map(|b| wire::parse_frame(&b, ChecksumMode::Verify).expect("we emit valid frames"))
        .collect()
}

fn arp_targets(frames: &[Frame]) -> Vec<Ipv4Addr> {
    frames
        .iter()
        .filter_map(|f| match f {
            Frame::Arp { eth, arp } if arp.operation == ArpOperation::Request => {
                assert_eq!(eth.dst_addr, EthernetAddress::BROADCAST);
                assert_eq!(eth.src_addr, MAC);
                Some(arp.target_protocol_addr)
            }
            _ => None,
        })
        .collect()
}

/// (Ethernet destination, IPv4 destination, TCP seq) of every TCP frame.
fn tcp_out(frames: &[Frame]) -> Vec<(EthernetAddress, Ipv4Addr, u32)> {
    frames
        .iter()
        .filter_map(|f| match f {
            Frame::Tcp { eth, ip, tcp } => {
                assert_eq!(eth.src_addr, MAC);
                assert_eq!(ip.src_addr, ADDR);
                Some((eth.dst_addr, ip.dst_addr, tcp.seq.0))
            }
            _ => None,
        })
        .collect()
}

fn arp_frame(
    op: ArpOperation,
    from: Ipv4Addr,
    from_mac: EthernetAddress,
    target: Ipv4Addr,
    eth_dst: EthernetAddress,
) -> Vec<u8> {
    let eth = EthernetRepr {
        src_addr: from_mac,
        dst_addr: eth_dst,
        ethertype: EtherType::Arp,
    };
    let arp = ArpRepr {
        operation: op,
        source_hardware_addr: from_mac,
        source_protocol_addr: from,
        target_hardware_addr: if op == ArpOperation::Reply {
            MAC
        } else {
            EthernetAddress::ZERO
        },
        target_protocol_addr: target,
    };
    wire::build_arp_frame(&eth, &arp)
}

fn reply_from(ip: Ipv4Addr, mac: EthernetAddress) -> Vec<u8> {
    arp_frame(ArpOperation::Reply, ip, mac, ADDR, MAC)
}

fn tcp_frame(src: Ipv4Addr, dst: Ipv4Addr, eth_dst: EthernetAddress, tcp: &TcpRepr) -> Vec<u8> {
    let ip = Ipv4Repr {
        ident: 9,
        ..Ipv4Repr::tcp(src, dst)
    };
    wire::build_tcp_frame(GW_MAC, eth_dst, &ip, tcp)
}

fn ip_events(i: &mut Interface) -> Vec<IpEvent> {
    i.take_events()
        .into_iter()
        .filter_map(|e| match e.event {
            IfaceEvent::Ip(e) => Some(e),
            _ => None,
        })
        .collect()
}

#[rstest]
#[case::on_link(PEER, Some(NextHop::Direct(PEER)))]
#[case::gateway_itself(GW, Some(NextHop::Direct(GW)))]
#[case::off_link(REMOTE, Some(NextHop::Gateway(GW)))]
#[case::directed_broadcast(Ipv4Addr::new(192, 168, 1, 255), Some(NextHop::Broadcast))]
#[case::limited_broadcast(Ipv4Addr::BROADCAST, Some(NextHop::Broadcast))]
#[case::neighbouring_subnet(Ipv4Addr::new(192, 168, 2, 7), Some(NextHop::Gateway(GW)))]
#[case::ourselves(ADDR, None)]
#[case::unspecified(Ipv4Addr::UNSPECIFIED, None)]
#[case::loopback(Ipv4Addr::LOCALHOST, None)]
#[case::multicast(Ipv4Addr::new(224, 0, 0, 251), None)]
fn next_hop_choice(#[case] dst: Ipv4Addr, #[case] hop: Option<NextHop>) {
    assert_eq!(iface().next_hop(dst), hop);
}

#[rstest]
#[case(0, REMOTE, true)]
#[case(8, Ipv4Addr::new(192, 1, 1, 1), true)]
#[case(16, Ipv4Addr::new(192, 168, 200, 1), true)]
#[case(16, Ipv4Addr::new(192, 169, 0, 1), false)]
#[case(25, Ipv4Addr::new(192, 168, 1, 127), true)]
#[case(25, Ipv4Addr::new(192, 168, 1, 128), false)]
#[case(32, Ipv4Addr::new(192, 168, 1, 3), false)]
#[case(32, ADDR, true)]
fn prefix_decides_on_link(#[case] prefix: u8, #[case] dst: Ipv4Addr, #[case] on_link: bool) {
    let i = Interface::new(InterfaceConfig::new(MAC, ADDR, prefix)).expect("valid");
    assert_eq!(i.is_on_link(dst), on_link);
}

#[test]
fn on_link_send_resolves_the_destination() {
    let mut i = iface();
    i.send_tcp(t(0), PEER, &seg(1000, TcpFlags::SYN, 1))
        .expect("route");
    let out = drain(&mut i);
    assert_eq!(arp_targets(&out), vec![PEER]);
    assert!(tcp_out(&out).is_empty(), "waits for ARP");
    assert_eq!(i.handle_frame(t(1), &reply_from(PEER, PEER_MAC)), None);
    assert_eq!(tcp_out(&drain(&mut i)), vec![(PEER_MAC, PEER, 1)]);
}

#[test]
fn off_link_send_resolves_the_gateway() {
    let mut i = iface();
    i.send_tcp(t(0), REMOTE, &seg(1000, TcpFlags::SYN, 1))
        .expect("route");
    assert_eq!(arp_targets(&drain(&mut i)), vec![GW]);
    i.handle_frame(t(1), &reply_from(GW, GW_MAC));
    assert_eq!(tcp_out(&drain(&mut i)), vec![(GW_MAC, REMOTE, 1)]);
    // Resolved: the next packet goes straight out.
    i.send_tcp(t(2), REMOTE, &seg(1000, TcpFlags::ACK, 2))
        .expect("route");
    let out = drain(&mut i);
    assert!(arp_targets(&out).is_empty());
    assert_eq!(tcp_out(&out), vec![(GW_MAC, REMOTE, 2)]);
}

#[test]
fn no_gateway_means_no_route() {
    let mut i = Interface::new(InterfaceConfig::new(MAC, ADDR, 24)).expect("valid");
    assert_eq!(
        i.send_tcp(t(0), REMOTE, &seg(1, TcpFlags::SYN, 1)),
        Err(SendError::NoRoute(REMOTE))
    );
    assert!(drain(&mut i).is_empty());
    assert_eq!(ip_events(&mut i), vec![IpEvent::NoRoute { dst: REMOTE }]);
}

#[test]
fn header_fields_ttl_and_ident() {
    let mut cfg = config();
    cfg.ttl = 17;
    cfg.ident_start = u16::MAX;
    let mut i = Interface::new(cfg).expect("valid");
    i.add_static_neighbor(t(0), PEER, PEER_MAC);
    for s in 0..3 {
        i.send_tcp(t(0), PEER, &seg(1, TcpFlags::ACK, s))
            .expect("route");
    }
    i.send_ipv4(t(0), PEER, IpProtocol::Udp, b"hello")
        .expect("route");
    let out = drain(&mut i);
    let headers: Vec<(u16, u8, IpProtocol)> = out
        .iter()
        .map(|f| match f {
            Frame::Tcp { ip, .. } | Frame::OtherIpv4 { ip, .. } => (ip.ident, ip.ttl, ip.protocol),
            Frame::Arp { .. } => panic!("no ARP for a static neighbour"),
        })
        .collect();
    assert_eq!(
        headers,
        vec![
            (u16::MAX, 17, IpProtocol::Tcp),
            (0, 17, IpProtocol::Tcp),
            (1, 17, IpProtocol::Tcp),
            (2, 17, IpProtocol::Udp)
        ]
    );
    match &out[3] {
        Frame::OtherIpv4 { payload, .. } => assert_eq!(payload, b"hello"),
        other => panic!("expected UDP, got {other:?}"),
    }
}

#[test]
fn broadcast_needs_no_arp() {
    let mut i = iface();
    i.send_ipv4(t(0), Ipv4Addr::BROADCAST, IpProtocol::Udp, b"x")
        .expect("route");
    let out = drain(&mut i);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].eth().dst_addr, EthernetAddress::BROADCAST);
}

#[test]
fn oversize_payload_is_refused() {
    let mut i = iface();
    let big = vec![0u8; 65_516];
    assert_eq!(
        i.send_ipv4(t(0), PEER, IpProtocol::Udp, &big),
        Err(SendError::TooLong(65_516))
    );
    assert!(drain(&mut i).is_empty());
}

#[test]
fn answers_arp_for_our_address_only() {
    let mut i = iface();
    let req = arp_frame(
        ArpOperation::Request,
        PEER,
        PEER_MAC,
        ADDR,
        EthernetAddress::BROADCAST,
    );
    assert_eq!(i.handle_frame(t(0), &req), None);
    let out = drain(&mut i);
    assert_eq!(out.len(), 1);
    match &out[0] {
        Frame::Arp { eth, arp } => {
            assert_eq!(eth.dst_addr, PEER_MAC);
            assert_eq!(eth.src_addr, MAC);
            assert_eq!(arp.operation, ArpOperation::Reply);
            assert_eq!(arp.source_protocol_addr, ADDR);
            assert_eq!(arp.source_hardware_addr, MAC);
            assert_eq!(arp.target_protocol_addr, PEER);
        }
        other => panic!("expected an ARP reply, got {other:?}"),
    }
    // The requester was learned (RFC 826 merge rule).
    assert_eq!(i.neighbor(PEER).and_then(|e| e.mac()), Some(PEER_MAC));
    // A request for someone else: no reply.
    let other = arp_frame(
        ArpOperation::Request,
        PEER,
        PEER_MAC,
        GW,
        EthernetAddress::BROADCAST,
    );
    i.handle_frame(t(1), &other);
    assert!(drain(&mut i).is_empty());
}

#[test]
fn tcp_for_us_goes_up() {
    let mut i = iface();
    let s = seg(5555, TcpFlags::SYN, 42);
    let got = i.handle_frame(t(0), &tcp_frame(REMOTE, ADDR, MAC, &s));
    match got {
        Some(Inbound::Tcp { ip, tcp }) => {
            assert_eq!(ip.src_addr, REMOTE);
            assert_eq!(tcp, s);
        }
        other => panic!("expected TCP, got {other:?}"),
    }
    assert!(i.take_events().is_empty());
}

#[test]
fn frame_for_another_ip_is_dropped_with_an_event() {
    let mut i = iface();
    let s = seg(5555, TcpFlags::RST, 42);
    let frame = tcp_frame(REMOTE, PEER, MAC, &s);
    assert_eq!(i.handle_frame(t(3), &frame), None);
    let ev = i.take_events();
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].time, t(3));
    match &ev[0].event {
        IfaceEvent::Ip(IpEvent::Dropped {
            reason: IpDropReason::NotForUs { dst },
            packet: Some(p),
        }) => {
            assert_eq!(*dst, PEER);
            assert_eq!(
                (p.src, p.dst, p.src_port, p.flags),
                (REMOTE, PEER, 5555, TcpFlags::RST)
            );
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(
        crate::Event::from(ev[0].clone()).to_string(),
        "0.003000s ip drop reason=not-for-us(192.168.1.7) packet=203.0.113.5:5555>192.168.1.7:80 R seq=42 len=40"
    );
}

#[test]
fn frame_for_another_mac_is_dropped() {
    let mut i = iface();
    let frame = tcp_frame(REMOTE, ADDR, PEER_MAC, &seg(1, TcpFlags::ACK, 1));
    assert_eq!(i.handle_frame(t(0), &frame), None);
    assert!(matches!(
        ip_events(&mut i)[..],
        [IpEvent::Dropped {
            reason: IpDropReason::NotOurMac { dst: PEER_MAC },
            packet: Some(_)
        }]
    ));
}

#[rstest]
#[case::broadcast(Ipv4Addr::BROADCAST)]
#[case::multicast(Ipv4Addr::new(224, 0, 0, 1))]
#[case::our_own(ADDR)]
#[case::directed_broadcast(Ipv4Addr::new(192, 168, 1, 255))]
fn invalid_source_is_dropped(#[case] src: Ipv4Addr) {
    let mut i = iface();
    let frame = tcp_frame(src, ADDR, MAC, &seg(1, TcpFlags::SYN, 1));
    assert_eq!(i.handle_frame(t(0), &frame), None);
    assert_eq!(
        ip_events(&mut i).first().map(|e| match e {
            IpEvent::Dropped { reason, .. } => *reason,
            other => panic!("{other:?}"),
        }),
        Some(IpDropReason::BadSource { src })
    );
}

/// A valid TCP frame for us, then `edit` applied to its bytes.
fn corrupt(edit: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut f = tcp_frame(REMOTE, ADDR, MAC, &seg(1, TcpFlags::SYN, 1));
    edit(&mut f);
    f
}

fn fix_ip_checksum(f: &mut [u8]) {
    f[24] = 0;
    f[25] = 0;
    let c = wire::checksum::checksum(&f[14..34]);
    f[24..26].copy_from_slice(&c.to_be_bytes());
}

#[rstest]
#[case::empty(vec![], IpDropReason::Malformed(wire::Error::Truncated { layer: "ethernet" }))]
#[case::ethernet_only(corrupt(|f| f.truncate(14)), IpDropReason::Malformed(wire::Error::Truncated { layer: "ipv4" }))]
#[case::ipv6(corrupt(|f| f[12..14].copy_from_slice(&[0x86, 0xdd])), IpDropReason::Malformed(wire::Error::UnknownEtherType(0x86dd)))]
#[case::ip_checksum(corrupt(|f| f[24] ^= 0xff), IpDropReason::Malformed(wire::Error::BadChecksum { layer: "ipv4" }))]
#[case::tcp_checksum(corrupt(|f| f[50] ^= 0xff), IpDropReason::Malformed(wire::Error::BadChecksum { layer: "tcp" }))]
#[case::version(corrupt(|f| { f[14] = 0x65; fix_ip_checksum(f) }), IpDropReason::Malformed(wire::Error::BadVersion(6)))]
#[case::fragment(corrupt(|f| { f[20] = 0x20; fix_ip_checksum(f) }), IpDropReason::Fragment { offset: 0, more: true })]
fn malformed_frames_are_dropped_with_the_wire_error(
    #[case] frame: Vec<u8>,
    #[case] reason: IpDropReason,
) {
    let mut i = iface();
    assert_eq!(i.handle_frame(t(0), &frame), None);
    let ev = ip_events(&mut i);
    assert_eq!(ev.len(), 1, "{ev:?}");
    match &ev[0] {
        IpEvent::Dropped { reason: r, .. } => assert_eq!(*r, reason),
        other => panic!("{other:?}"),
    }
    assert!(drain(&mut i).is_empty());
}

#[test]
fn ttl_below_two_is_accepted() {
    // RFC 1122 §3.2.1.7: a host MUST NOT discard a datagram for a TTL below 2.
    let mut f = tcp_frame(REMOTE, ADDR, MAC, &seg(1, TcpFlags::SYN, 1));
    f[22] = 0;
    fix_ip_checksum(&mut f);
    assert!(iface().handle_frame(t(0), &f).is_some());
}

#[rstest]
#[case::prefix(InterfaceConfig { prefix_len: 33, ..config() }, ConfigError::PrefixLength(33))]
#[case::ttl(InterfaceConfig { ttl: 0, ..config() }, ConfigError::ZeroTtl)]
#[case::gw_off_link(InterfaceConfig { gateway: Some(REMOTE), ..config() }, ConfigError::GatewayNotOnLink(REMOTE))]
#[case::gw_is_us(InterfaceConfig { gateway: Some(ADDR), ..config() }, ConfigError::GatewayNotOnLink(ADDR))]
#[case::multicast_mac(InterfaceConfig { mac: EthernetAddress([1, 0, 0x5e, 0, 0, 1]), ..config() }, ConfigError::BadMac(EthernetAddress([1, 0, 0x5e, 0, 0, 1])))]
#[case::zero_addr(InterfaceConfig { addr: Ipv4Addr::UNSPECIFIED, gateway: None, ..config() }, ConfigError::BadAddress(Ipv4Addr::UNSPECIFIED))]
fn bad_configs_are_refused(#[case] cfg: InterfaceConfig, #[case] err: ConfigError) {
    assert_eq!(Interface::new(cfg).err(), Some(err));
}

#[test]
fn incident_a_depth_one_keep_newest_through_the_interface() {
    let mut cfg = config();
    cfg.arp = ArpPolicy {
        queue_depth: 1,
        overflow: QueueOverflow::KeepNewest,
        ..ArpPolicy::default()
    };
    let mut i = Interface::new(cfg).expect("valid");
    for s in 1..=10 {
        i.send_tcp(t(s), REMOTE, &seg(1000, TcpFlags::ACK, s as u32))
            .expect("route");
    }
    assert_eq!(arp_targets(&drain(&mut i)), vec![GW]);
    i.handle_frame(t(20), &reply_from(GW, GW_MAC));
    assert_eq!(tcp_out(&drain(&mut i)), vec![(GW_MAC, REMOTE, 10)]);
    let drops: Vec<(u32, ArpDropReason)> = i
        .take_events()
        .into_iter()
        .filter_map(|e| match e.event {
            IfaceEvent::Arp(ArpEvent::Dropped {
                packet,
                reason,
                addr,
            }) => {
                assert_eq!(addr, GW);
                assert_eq!(packet.dst, REMOTE);
                Some((packet.seq.0, reason))
            }
            _ => None,
        })
        .collect();
    let overflow = ArpDropReason::QueueOverflow {
        policy: QueueOverflow::KeepNewest,
    };
    assert_eq!(drops, (1..=9).map(|s| (s, overflow)).collect::<Vec<_>>());
}

#[test]
fn expired_neighbour_is_re_resolved_through_the_interface() {
    let mut i = iface();
    i.insert_neighbor(t(0), GW, GW_MAC);
    i.send_tcp(t(1), REMOTE, &seg(1, TcpFlags::ACK, 1))
        .expect("route");
    assert_eq!(tcp_out(&drain(&mut i)), vec![(GW_MAC, REMOTE, 1)]);
    assert!(i.expire_neighbor(t(2), GW));
    i.send_tcp(t(3), REMOTE, &seg(1, TcpFlags::ACK, 2))
        .expect("route");
    let out = drain(&mut i);
    assert_eq!(arp_targets(&out), vec![GW]);
    assert!(tcp_out(&out).is_empty());
    assert!(matches!(
        i.neighbor(GW).map(|e| e.state),
        Some(EntryState::Incomplete { queued: 1, .. })
    ));
}

#[test]
fn timeouts_drive_arp_retransmission() {
    let mut i = iface();
    i.send_tcp(t(0), PEER, &seg(1, TcpFlags::SYN, 1))
        .expect("route");
    drain(&mut i);
    let at = i.poll_at().expect("retransmit deadline");
    assert_eq!(at, t(0) + Duration::from_secs(1));
    i.handle_timeout(at);
    assert_eq!(arp_targets(&drain(&mut i)), vec![PEER]);
}

proptest! {
    /// Arbitrary bytes never panic, and a frame that does not parse always leaves exactly one
    /// Dropped event carrying the parser's error.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..120)) {
        let mut i = iface();
        let got = i.handle_frame(t(0), &bytes);
        let ev = ip_events(&mut i);
        match wire::parse_frame(&bytes, ChecksumMode::Verify) {
            Err(wire::Error::Fragmented { offset, more }) => prop_assert_eq!(
                ev[0].clone(),
                IpEvent::Dropped { reason: IpDropReason::Fragment { offset, more }, packet: ipv4_summary(&bytes) }
            ),
            Err(e) => {
                prop_assert_eq!(got, None);
                prop_assert_eq!(ev.len(), 1);
                let is_malformed = matches!(&ev[0], IpEvent::Dropped { reason: IpDropReason::Malformed(r), .. } if *r == e);
                prop_assert!(is_malformed);
            }
            Ok(_) => prop_assert!(got.is_some() || ev.len() <= 1),
        }
    }

    /// Mutations of valid frames (ARP and TCP) never panic either.
    #[test]
    fn mutated_frames_never_panic(
        which in 0usize..2,
        flips in proptest::collection::vec((0usize..80, any::<u8>()), 1..6),
        cut in 0usize..80,
    ) {
        let mut f = if which == 0 {
            arp_frame(ArpOperation::Request, PEER, PEER_MAC, ADDR, EthernetAddress::BROADCAST)
        } else {
            tcp_frame(REMOTE, ADDR, MAC, &seg(1, TcpFlags::SYN, 1))
        };
        for (at, v) in flips {
            if let Some(b) = f.get_mut(at) {
                *b = v;
            }
        }
        f.truncate(cut.max(1));
        let mut i = iface();
        let _ = i.handle_frame(t(0), &f);
        let _ = drain(&mut i);
        let _ = i.take_events();
    }
}

#[rstest]
#[case(IpEvent::NoRoute { dst: REMOTE }, "no-route 203.0.113.5")]
#[case(IpEvent::Dropped { reason: IpDropReason::Malformed(wire::Error::BadChecksum { layer: "tcp" }), packet: None }, "drop reason=malformed(tcp: bad checksum)")]
#[case(IpEvent::Dropped { reason: IpDropReason::Fragment { offset: 185, more: false }, packet: None }, "drop reason=fragment(offset=185 more=false)")]
#[case(IpEvent::Dropped { reason: IpDropReason::NotOurMac { dst: PEER_MAC }, packet: None }, "drop reason=not-our-mac(02:00:00:00:00:07)")]
#[case(IpEvent::Dropped { reason: IpDropReason::BadSource { src: Ipv4Addr::BROADCAST }, packet: None }, "drop reason=bad-source(255.255.255.255)")]
#[case(IpEvent::Dropped { reason: IpDropReason::TooLong { len: 70000 }, packet: None }, "drop reason=too-long(70000)")]
fn ip_events_display(#[case] e: IpEvent, #[case] text: &str) {
    assert_eq!(e.to_string(), text);
}

#[test]
fn sending_to_ourselves_is_no_route_not_an_arp_for_us() {
    let mut i = iface();
    assert_eq!(
        i.send_tcp(t(0), ADDR, &seg(1, TcpFlags::SYN, 1)),
        Err(SendError::NoRoute(ADDR))
    );
    assert!(drain(&mut i).is_empty());
}

#[test]
fn arp_policy_can_be_changed() {
    let mut i = iface();
    let p = ArpPolicy {
        queue_depth: 1,
        overflow: QueueOverflow::DropNewest,
        ..ArpPolicy::default()
    };
    i.set_arp_policy(p.clone());
    assert_eq!(i.config().arp, p);
    for s in 1..=3 {
        i.send_tcp(t(0), PEER, &seg(1, TcpFlags::ACK, s))
            .expect("route");
    }
    i.handle_frame(t(1), &reply_from(PEER, PEER_MAC));
    assert_eq!(tcp_out(&drain(&mut i)), vec![(PEER_MAC, PEER, 1)]);
}

/// An interface that has resolved its gateway (so an ARP packet from the gateway merges).
fn iface_knowing_gateway() -> Interface {
    let mut i = iface();
    i.insert_neighbor(t(0), GW, GW_MAC);
    let _ = i.take_events();
    i
}

#[rstest]
#[case::request_for_a_stranger_from_a_stranger(
    ArpOperation::Request,
    PEER,
    Ipv4Addr::new(192, 168, 1, 9),
    EthernetAddress::BROADCAST,
    true
)]
#[case::request_for_us(ArpOperation::Request, PEER, ADDR, EthernetAddress::BROADCAST, false)]
#[case::request_from_a_known_sender_merges(
    ArpOperation::Request,
    GW,
    PEER,
    EthernetAddress::BROADCAST,
    false
)]
#[case::reply_to_us(ArpOperation::Reply, PEER, ADDR, MAC, false)]
#[case::unicast_to_another_station_is_logged(
    ArpOperation::Request,
    PEER,
    Ipv4Addr::new(192, 168, 1, 9),
    PEER_MAC,
    false
)]
fn ignored_arp_frames(
    #[case] op: ArpOperation,
    #[case] from: Ipv4Addr,
    #[case] target: Ipv4Addr,
    #[case] eth_dst: EthernetAddress,
    #[case] ignored: bool,
) {
    let i = iface_knowing_gateway();
    let mac = if from == GW { GW_MAC } else { PEER_MAC };
    assert_eq!(
        i.ignores_frame(&arp_frame(op, from, mac, target, eth_dst)),
        ignored
    );
}

#[test]
fn tcp_and_malformed_frames_are_never_ignored() {
    let i = iface_knowing_gateway();
    assert!(!i.ignores_frame(&tcp_frame(REMOTE, ADDR, MAC, &seg(1, TcpFlags::SYN, 1))));
    let mut cut = arp_frame(
        ArpOperation::Request,
        PEER,
        PEER_MAC,
        GW,
        EthernetAddress::BROADCAST,
    );
    cut.truncate(20);
    assert!(!i.ignores_frame(&cut));
}

proptest! {
    /// `ignores_frame` is only ever true for a frame whose handling changes nothing: no
    /// upper-layer packet, nothing to send, no event, the same cache and the same deadline.
    #[test]
    fn an_ignored_frame_changes_nothing(
        op in prop_oneof![Just(ArpOperation::Request), Just(ArpOperation::Reply)],
        from in prop_oneof![Just(GW), Just(PEER), Just(ADDR), Just(Ipv4Addr::new(192, 168, 1, 9))],
        target in prop_oneof![Just(GW), Just(PEER), Just(ADDR), Just(Ipv4Addr::new(192, 168, 1, 9))],
        to_us in any::<bool>(),
        flips in proptest::collection::vec((0usize..42, any::<u8>()), 0..3),
        at in 0u64..60_000,
    ) {
        let mac = if from == GW { GW_MAC } else { PEER_MAC };
        let eth_dst = if to_us { MAC } else { EthernetAddress::BROADCAST };
        let mut f = arp_frame(op, from, mac, target, eth_dst);
        for (k, v) in flips {
            f[k] = v;
        }
        let mut i = iface_knowing_gateway();
        if i.ignores_frame(&f) {
            let (entries, deadline) = (i.neighbors().entries(), i.poll_at());
            prop_assert_eq!(i.handle_frame(t(at), &f), None);
            prop_assert!(drain(&mut i).is_empty());
            prop_assert!(i.take_events().is_empty());
            prop_assert_eq!(i.neighbors().entries(), entries);
            prop_assert_eq!(i.poll_at(), deadline);
        }
    }
}
