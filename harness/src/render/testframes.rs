//! Frames for tests of `pcap`, `render` and `ladder`, built with `stack::wire`.

use stack::wire::{
    build_arp_frame, build_tcp_frame, ArpOperation, ArpRepr, EtherType, EthernetAddress,
    EthernetRepr, Ipv4Addr, Ipv4Repr, SeqNumber, TcpFlags, TcpOption, TcpRepr,
};
use stack::Instant;

pub const CLIENT: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
pub const SERVER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
pub const CLIENT_PORT: u16 = 40000;
pub const SERVER_PORT: u16 = 8080;

pub fn mac(last: u8) -> EthernetAddress {
    EthernetAddress([0x02, 0, 0, 0, 0, last])
}

/// The MAC of a host in these tests: the last octet of its address.
pub fn mac_of(ip: Ipv4Addr) -> EthernetAddress {
    mac(ip.octets()[3])
}

/// A TCP segment under construction.
#[derive(Clone, Debug)]
pub struct Seg {
    pub src: (Ipv4Addr, u16),
    pub dst: (Ipv4Addr, u16),
    pub tcp: TcpRepr,
}

impl Seg {
    pub fn new(src: (Ipv4Addr, u16), dst: (Ipv4Addr, u16), flags: TcpFlags, seq: u32) -> Self {
        Seg {
            src,
            dst,
            tcp: TcpRepr {
                src_port: src.1,
                dst_port: dst.1,
                seq: SeqNumber(seq),
                flags,
                window: 65535,
                ..TcpRepr::default()
            },
        }
    }
    pub fn ack(mut self, ack: u32) -> Self {
        self.tcp.ack = SeqNumber(ack);
        self.tcp.flags |= TcpFlags::ACK;
        self
    }
    pub fn win(mut self, w: u16) -> Self {
        self.tcp.window = w;
        self
    }
    pub fn opts(mut self, o: Vec<TcpOption>) -> Self {
        self.tcp.options = o;
        self
    }
    pub fn data(mut self, d: &[u8]) -> Self {
        self.tcp.payload = d.to_vec();
        self
    }
    pub fn bytes(&self) -> Vec<u8> {
        build_tcp_frame(
            mac_of(self.src.0),
            mac_of(self.dst.0),
            &Ipv4Repr::tcp(self.src.0, self.dst.0),
            &self.tcp,
        )
    }
}

pub fn client() -> (Ipv4Addr, u16) {
    (CLIENT, CLIENT_PORT)
}
pub fn server() -> (Ipv4Addr, u16) {
    (SERVER, SERVER_PORT)
}

pub fn arp_request(sender: Ipv4Addr, target: Ipv4Addr) -> Vec<u8> {
    let eth = EthernetRepr {
        src_addr: mac_of(sender),
        dst_addr: EthernetAddress::BROADCAST,
        ethertype: EtherType::Arp,
    };
    let arp = ArpRepr {
        operation: ArpOperation::Request,
        source_hardware_addr: mac_of(sender),
        source_protocol_addr: sender,
        target_hardware_addr: EthernetAddress::ZERO,
        target_protocol_addr: target,
    };
    build_arp_frame(&eth, &arp)
}

pub fn arp_reply(sender: Ipv4Addr, target: Ipv4Addr) -> Vec<u8> {
    let eth = EthernetRepr {
        src_addr: mac_of(sender),
        dst_addr: mac_of(target),
        ethertype: EtherType::Arp,
    };
    let arp = ArpRepr {
        operation: ArpOperation::Reply,
        source_hardware_addr: mac_of(sender),
        source_protocol_addr: sender,
        target_hardware_addr: mac_of(target),
        target_protocol_addr: target,
    };
    build_arp_frame(&eth, &arp)
}

/// ARP resolution, a handshake with options, 5 bytes of data and its ACK, with the given ISNs.
pub fn handshake(isn_c: u32, isn_s: u32) -> Vec<(Instant, Vec<u8>)> {
    let c = client();
    let s = server();
    vec![
        (Instant::ZERO, arp_request(CLIENT, SERVER)),
        (Instant::from_micros(50), arp_reply(SERVER, CLIENT)),
        (
            Instant::from_micros(100),
            Seg::new(c, s, TcpFlags::SYN, isn_c)
                .opts(vec![
                    TcpOption::MaxSegmentSize(1460),
                    TcpOption::NoOp,
                    TcpOption::WindowScale(7),
                ])
                .bytes(),
        ),
        (
            Instant::from_micros(200),
            Seg::new(s, c, TcpFlags::SYN, isn_s)
                .ack(isn_c.wrapping_add(1))
                .opts(vec![
                    TcpOption::MaxSegmentSize(1460),
                    TcpOption::NoOp,
                    TcpOption::WindowScale(7),
                ])
                .bytes(),
        ),
        (
            Instant::from_micros(300),
            Seg::new(c, s, TcpFlags::NONE, isn_c.wrapping_add(1))
                .ack(isn_s.wrapping_add(1))
                .win(502)
                .bytes(),
        ),
        (
            Instant::from_millis(1),
            Seg::new(c, s, TcpFlags::PSH, isn_c.wrapping_add(1))
                .ack(isn_s.wrapping_add(1))
                .win(502)
                .data(b"hello")
                .bytes(),
        ),
        (
            Instant::from_micros(1_100),
            Seg::new(s, c, TcpFlags::NONE, isn_s.wrapping_add(1))
                .ack(isn_c.wrapping_add(6))
                .win(510)
                .bytes(),
        ),
    ]
}
