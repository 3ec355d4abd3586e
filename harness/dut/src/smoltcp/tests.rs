use super::*;
use stack::wire::{
    self, ArpOperation, ArpRepr, EtherType, EthernetAddress, EthernetRepr, Frame, IpProtocol,
    Ipv4Repr, SeqNumber, TcpFlags, TcpRepr,
};

const MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 1]);
const PEER_MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 2]);
const ADDR: core::net::Ipv4Addr = core::net::Ipv4Addr::new(192, 0, 2, 1);
const PEER: core::net::Ipv4Addr = core::net::Ipv4Addr::new(192, 0, 2, 2);

fn config(profile: Profile) -> StackConfig {
    StackConfig {
        mac: MAC,
        addr: ADDR,
        prefix_len: 24,
        gateway: None,
        profile: profile.into(),
        seed: 7,
        static_arp: Vec::new(),
    }
}

fn syn(port: u16) -> Vec<u8> {
    let tcp = TcpRepr {
        src_port: 40_000,
        dst_port: port,
        seq: SeqNumber(1000),
        ack: SeqNumber(0),
        flags: TcpFlags::SYN,
        window: 8192,
        urgent: 0,
        options: Vec::new(),
        payload: Vec::new(),
    };
    let ip = Ipv4Repr {
        src_addr: PEER,
        dst_addr: ADDR,
        protocol: IpProtocol::Tcp,
        payload_len: 0,
        ttl: 64,
        ident: 1,
        dont_frag: true,
        tos: 0,
    };
    let eth = EthernetRepr {
        src_addr: PEER_MAC,
        dst_addr: MAC,
        ethertype: EtherType::Ipv4,
    };
    wire::build_ethernet(&eth, &wire::build_ipv4_tcp(&ip, &tcp))
}

fn arp_reply() -> Vec<u8> {
    let arp = ArpRepr {
        operation: ArpOperation::Reply,
        source_hardware_addr: PEER_MAC,
        source_protocol_addr: PEER,
        target_hardware_addr: MAC,
        target_protocol_addr: ADDR,
    };
    let eth = EthernetRepr {
        src_addr: PEER_MAC,
        dst_addr: MAC,
        ethertype: EtherType::Arp,
    };
    wire::build_arp_frame(&eth, &arp)
}

fn drain(d: &mut SmoltcpDut, now: Instant) -> Vec<Frame> {
    let mut v = Vec::new();
    while let Some(f) = d.poll_transmit(now) {
        v.push(wire::parse_frame(&f, wire::ChecksumMode::Verify).expect("smoltcp frames parse"));
    }
    v
}

#[test]
fn passive_open_resolves_the_peer_with_arp_then_answers_syn_ack() {
    let mut d = SmoltcpDut::new(&config(Profile::rfc9293())).unwrap();
    let l = d.listen(Instant::ZERO, 8080, 1).unwrap();
    d.handle_frame(Instant::ZERO, &syn(8080));
    // smoltcp does not learn from IP packets: it asks, and the SYN-ACK waits for the answer.
    let out = drain(&mut d, Instant::ZERO);
    assert!(
        matches!(&out[..], [Frame::Arp { arp, .. }] if arp.target_protocol_addr == PEER),
        "{out:?}"
    );
    let t = Instant::from_millis(10);
    d.handle_frame(t, &arp_reply());
    d.handle_timeout(t);
    let out = drain(&mut d, t);
    let synack = out.iter().find_map(|f| match f {
        Frame::Tcp { tcp, .. } if tcp.flags.contains(TcpFlags::SYN | TcpFlags::ACK) => Some(tcp),
        _ => None,
    });
    assert_eq!(synack.map(|t| t.ack), Some(SeqNumber(1001)), "{out:?}");
    assert_eq!(d.accept(t, l), Err(Errno::EAGAIN), "still in SYN-RECEIVED");
    assert_eq!(
        d.connections().iter().map(|c| c.1).collect::<Vec<_>>(),
        [State::SynReceived]
    );
}

#[test]
fn deadlines_come_from_the_virtual_clock() {
    let mut d = SmoltcpDut::new(&config(Profile::rfc9293())).unwrap();
    let s = d
        .connect(Instant::ZERO, 0, SocketAddrV4::new(PEER, 80))
        .unwrap();
    let _ = drain(&mut d, Instant::ZERO);
    assert_eq!(d.state(s), Some(State::SynSent));
    let next = d.poll_at().expect("a pending connect has a deadline");
    assert!(
        next > Instant::ZERO && next <= Instant::from_secs(2),
        "{next}"
    );
}

#[test]
fn knobs_it_cannot_honour_are_refused_by_name() {
    let e = SmoltcpDut::new(&config(Profile::rfc1337())).err().unwrap();
    assert_eq!(
        e.to_string(),
        "smoltcp cannot set tcp.time_wait_rst=ignore: its TIME-WAIT always closes on an \
         in-window RST"
    );
    let mut p = Profile::rfc9293();
    p.set("tcp.nagle", "off").unwrap();
    p.set("tcp.delayed_ack", "off").unwrap();
    assert!(
        SmoltcpDut::new(&config(p)).is_ok(),
        "honoured knobs are mapped"
    );
}

#[test]
fn static_neighbours_are_refused() {
    let mut c = config(Profile::rfc9293());
    c.static_arp.push((PEER, PEER_MAC));
    let e = SmoltcpDut::new(&c).err().unwrap();
    assert!(e.to_string().contains("neighbour"), "{e}");
}
