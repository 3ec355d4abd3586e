//! Whole-frame tests: known frames hand-built from the RFC layouts (hex below, checksums
//! computed independently), truncation at every header boundary, and no-panic properties for
//! every parse entry point.

use super::testutil::{arp_repr, ethernet_repr, hex, ipv4_repr, naive_pseudo, naive_sum, tcp_repr};
use super::*;
use proptest::prelude::*;
use rstest::rstest;

const MAC_A: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 1]);
const MAC_B: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 2]);
const IP_A: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const IP_B: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

/// ARP request (RFC 826): who has 10.0.0.2? tell 10.0.0.1 (02:00:00:00:00:01).
const ARP_REQUEST: &str = "
    ffffffffffff 020000000001 0806
    0001 0800 06 04 0001 020000000001 0a000001 000000000000 0a000002";
/// ARP reply: 10.0.0.2 is at 02:00:00:00:00:02.
const ARP_REPLY: &str = "
    020000000001 020000000002 0806
    0001 0800 06 04 0002 020000000002 0a000002 020000000001 0a000001";
/// SYN 10.0.0.1:40000 -> 10.0.0.2:80, seq 0x11223344, window 64240, options
/// MSS 1460, SACK-permitted, timestamps (0x01020304, 0), NOP, window scale 7.
const SYN: &str = "
    020000000002 020000000001 0800
    45 00 003c 1c46 4000 40 06 0a74 0a000001 0a000002
    9c40 0050 11223344 00000000 a0 02 faf0 5410 0000
    020405b4 0402 080a 01020304 00000000 01 030307";
/// SYN-ACK 10.0.0.2:80 -> 10.0.0.1:40000, seq 0xaabbccdd, ack 0x11223345, window 65160,
/// options MSS 1460, NOP, NOP, SACK-permitted, NOP, window scale 7.
const SYN_ACK: &str = "
    020000000001 020000000002 0800
    45 00 0034 0000 4000 40 06 26c2 0a000002 0a000001
    0050 9c40 aabbccdd 11223345 80 12 fe88 03e5 0000
    020405b4 0101 0402 01 030307";
/// Data: PSH|ACK, seq 0x11223345, ack 0xaabbccde, window 502, NOP NOP timestamps, "hello\n".
const DATA: &str = "
    020000000002 020000000001 0800
    45 00 003a 1c47 4000 40 06 0a75 0a000001 0a000002
    9c40 0050 11223345 aabbccde 80 18 01f6 aa29 0000
    0101080a 01020305 0a0b0c0d
    68656c6c6f0a";
/// RST 10.0.0.2:80 -> 10.0.0.1:40000, seq 0xaabbccde, no ACK, ttl 255, no DF.
const RST: &str = "
    020000000001 020000000002 0800
    45 00 0028 0000 0000 ff 06 a7cd 0a000002 0a000001
    0050 9c40 aabbccde 00000000 50 04 0000 87b3 0000";

fn parse(text: &str) -> Frame {
    parse_frame(&hex(text), ChecksumMode::Verify).expect("known frame parses")
}

fn eth(src: EthernetAddress, dst: EthernetAddress, ethertype: EtherType) -> EthernetRepr {
    EthernetRepr {
        src_addr: src,
        dst_addr: dst,
        ethertype,
    }
}

fn ip(src: Ipv4Addr, dst: Ipv4Addr, payload_len: usize, ident: u16) -> Ipv4Repr {
    Ipv4Repr {
        payload_len,
        ident,
        ..Ipv4Repr::tcp(src, dst)
    }
}

#[rstest]
#[case::request(ARP_REQUEST, Frame::Arp {
    eth: eth(MAC_A, EthernetAddress::BROADCAST, EtherType::Arp),
    arp: ArpRepr {
        operation: ArpOperation::Request,
        source_hardware_addr: MAC_A,
        source_protocol_addr: IP_A,
        target_hardware_addr: EthernetAddress::ZERO,
        target_protocol_addr: IP_B,
    },
})]
#[case::reply(ARP_REPLY, Frame::Arp {
    eth: eth(MAC_B, MAC_A, EtherType::Arp),
    arp: ArpRepr {
        operation: ArpOperation::Reply,
        source_hardware_addr: MAC_B,
        source_protocol_addr: IP_B,
        target_hardware_addr: MAC_A,
        target_protocol_addr: IP_A,
    },
})]
#[case::syn(SYN, Frame::Tcp {
    eth: eth(MAC_A, MAC_B, EtherType::Ipv4),
    ip: ip(IP_A, IP_B, 40, 0x1c46),
    tcp: TcpRepr {
        src_port: 40000,
        dst_port: 80,
        seq: SeqNumber(0x1122_3344),
        ack: SeqNumber(0),
        flags: TcpFlags::SYN,
        window: 64240,
        urgent: 0,
        options: vec![
            TcpOption::MaxSegmentSize(1460),
            TcpOption::SackPermitted,
            TcpOption::Timestamps { tsval: 0x0102_0304, tsecr: 0 },
            TcpOption::NoOp,
            TcpOption::WindowScale(7),
        ],
        payload: vec![],
    },
})]
#[case::syn_ack(SYN_ACK, Frame::Tcp {
    eth: eth(MAC_B, MAC_A, EtherType::Ipv4),
    ip: ip(IP_B, IP_A, 32, 0),
    tcp: TcpRepr {
        src_port: 80,
        dst_port: 40000,
        seq: SeqNumber(0xaabb_ccdd),
        ack: SeqNumber(0x1122_3345),
        flags: TcpFlags::SYN | TcpFlags::ACK,
        window: 65160,
        urgent: 0,
        options: vec![
            TcpOption::MaxSegmentSize(1460),
            TcpOption::NoOp,
            TcpOption::NoOp,
            TcpOption::SackPermitted,
            TcpOption::NoOp,
            TcpOption::WindowScale(7),
        ],
        payload: vec![],
    },
})]
#[case::data(DATA, Frame::Tcp {
    eth: eth(MAC_A, MAC_B, EtherType::Ipv4),
    ip: ip(IP_A, IP_B, 38, 0x1c47),
    tcp: TcpRepr {
        src_port: 40000,
        dst_port: 80,
        seq: SeqNumber(0x1122_3345),
        ack: SeqNumber(0xaabb_ccde),
        flags: TcpFlags::PSH | TcpFlags::ACK,
        window: 502,
        urgent: 0,
        options: vec![
            TcpOption::NoOp,
            TcpOption::NoOp,
            TcpOption::Timestamps { tsval: 0x0102_0305, tsecr: 0x0a0b_0c0d },
        ],
        payload: b"hello\n".to_vec(),
    },
})]
#[case::rst(RST, Frame::Tcp {
    eth: eth(MAC_B, MAC_A, EtherType::Ipv4),
    ip: Ipv4Repr { ttl: 255, dont_frag: false, ..ip(IP_B, IP_A, 20, 0) },
    tcp: TcpRepr {
        src_port: 80,
        dst_port: 40000,
        seq: SeqNumber(0xaabb_ccde),
        ack: SeqNumber(0),
        flags: TcpFlags::RST,
        window: 0,
        urgent: 0,
        options: vec![],
        payload: vec![],
    },
})]
fn known_frames_decode_and_reencode(#[case] text: &str, #[case] want: Frame) {
    let bytes = hex(text);
    let got = parse(text);
    assert_eq!(got, want);
    assert_eq!(got.to_bytes(), bytes, "re-encodes to the same bytes");
    // The builders used by the rest of the workspace produce the same bytes.
    let rebuilt = match &want {
        Frame::Arp { eth, arp } => build_arp_frame(eth, arp),
        Frame::Tcp { eth, ip, tcp } => build_ethernet(eth, &build_ipv4_tcp(ip, tcp)),
        Frame::OtherIpv4 { .. } => unreachable!("no such case"),
    };
    assert_eq!(rebuilt, bytes);
}

#[rstest]
#[case::syn(SYN, 40000, 80, TcpFlags::SYN, 0x1122_3344)]
#[case::rst(RST, 80, 40000, TcpFlags::RST, 0xaabb_ccde)]
fn known_frames_summarize(
    #[case] text: &str,
    #[case] sport: u16,
    #[case] dport: u16,
    #[case] flags: TcpFlags,
    #[case] seq: u32,
) {
    let bytes = hex(text);
    let s = summarize_ipv4(&bytes[14..]).expect("summarizes");
    assert_eq!(
        (s.src_port, s.dst_port, s.flags, s.seq),
        (sport, dport, flags, SeqNumber(seq))
    );
    assert_eq!(s.protocol, IpProtocol::Tcp);
    assert_eq!(s.len, bytes.len() - 14);
}

/// Cutting a frame at each header boundary (and inside each header) reports the right layer.
#[rstest]
#[case::eth_empty(ARP_REQUEST, 0, Error::Truncated { layer: "ethernet" })]
#[case::eth_mid(ARP_REQUEST, 13, Error::Truncated { layer: "ethernet" })]
#[case::arp_empty(ARP_REQUEST, 14, Error::Truncated { layer: "arp" })]
#[case::arp_fixed(ARP_REQUEST, 14 + 8, Error::Truncated { layer: "arp" })]
#[case::arp_last_byte(ARP_REPLY, 14 + 27, Error::Truncated { layer: "arp" })]
#[case::ipv4_empty(SYN, 14, Error::Truncated { layer: "ipv4" })]
#[case::ipv4_mid(SYN, 14 + 19, Error::Truncated { layer: "ipv4" })]
#[case::ipv4_total_past_end(SYN, 14 + 20, Error::BadLength { layer: "ipv4" })]
#[case::ipv4_total_one_short(DATA, 14 + 57, Error::BadLength { layer: "ipv4" })]
fn truncated_frames(#[case] text: &str, #[case] len: usize, #[case] want: Error) {
    let bytes = hex(text);
    assert_eq!(parse_frame(&bytes[..len], ChecksumMode::Verify), Err(want));
}

/// A TCP header cut short inside a valid IPv4 packet (total length and checksum consistent).
#[rstest]
#[case::tcp_empty(0, Error::Truncated { layer: "tcp" })]
#[case::tcp_fixed(19, Error::Truncated { layer: "tcp" })]
#[case::tcp_options(20, Error::BadDataOffset(10))]
#[case::tcp_options_last_byte(39, Error::BadDataOffset(10))]
fn truncated_tcp(#[case] len: usize, #[case] want: Error) {
    let bytes = hex(SYN);
    let Frame::Tcp { ip, .. } = parse(SYN) else {
        panic!("SYN is TCP")
    };
    let packet = build_ipv4(&ip, &bytes[34..34 + len]);
    assert_eq!(parse_ipv4_tcp(&packet, ChecksumMode::Verify), Err(want));
    let frame = build_ethernet(&eth(MAC_A, MAC_B, EtherType::Ipv4), &packet);
    assert_eq!(parse_frame(&frame, ChecksumMode::Verify), Err(want));
}

#[rstest]
#[case::ipv6(0x86dd)]
#[case::vlan(0x8100)]
#[case::zero(0x0000)]
fn unknown_ethertype(#[case] t: u16) {
    let mut bytes = hex(SYN);
    bytes[12..14].copy_from_slice(&t.to_be_bytes());
    assert_eq!(
        parse_frame(&bytes, ChecksumMode::Verify),
        Err(Error::UnknownEtherType(t))
    );
}

#[rstest]
#[case::ip_checksum(14 + 10, Error::BadChecksum { layer: "ipv4" })]
#[case::ip_ttl(14 + 8, Error::BadChecksum { layer: "ipv4" })]
#[case::tcp_checksum(34 + 16, Error::BadChecksum { layer: "tcp" })]
#[case::tcp_payload(54 + 12, Error::BadChecksum { layer: "tcp" })]
#[case::ip_version(14, Error::BadVersion(6))]
fn corrupted_frames(#[case] at: usize, #[case] want: Error) {
    let mut bytes = hex(DATA);
    bytes[at] ^= 0x20;
    assert_eq!(parse_frame(&bytes, ChecksumMode::Verify), Err(want));
}

/// RFC 791 §2.3: fragments (MF set, or a non-zero offset) are recognised and reported.
#[rstest]
#[case::first_fragment(0x20, 0x00, Error::Fragmented { offset: 0, more: true })]
#[case::middle_fragment(0x20, 0xb9, Error::Fragmented { offset: 0xb9, more: true })]
#[case::last_fragment(0x00, 0xb9, Error::Fragmented { offset: 0xb9, more: false })]
#[case::df_and_offset(0x5f, 0xff, Error::Fragmented { offset: 0x1fff, more: false })]
fn fragments(#[case] hi: u8, #[case] lo: u8, #[case] want: Error) {
    let mut bytes = hex(DATA);
    bytes[14 + 6] = hi;
    bytes[14 + 7] = lo;
    bytes[14 + 10] = 0;
    bytes[14 + 11] = 0;
    let c = !naive_sum(&[&bytes[14..34]]);
    bytes[14 + 10..14 + 12].copy_from_slice(&c.to_be_bytes());
    assert_eq!(parse_frame(&bytes, ChecksumMode::Verify), Err(want));
    assert_eq!(
        parse_ipv4_tcp(&bytes[14..], ChecksumMode::Verify),
        Err(want)
    );
    // Summaries still name the packet; only the first fragment has TCP ports.
    let s = summarize_ipv4(&bytes[14..]).expect("summarizes");
    assert_eq!(s.src_port != 0, lo == 0 && hi & 0x1f == 0);
}

#[test]
fn ignore_mode_accepts_bad_checksums() {
    let mut bytes = hex(DATA);
    bytes[14 + 10] ^= 1;
    bytes[34 + 16] ^= 1;
    assert!(parse_frame(&bytes, ChecksumMode::Verify).is_err());
    assert!(matches!(
        parse_frame(&bytes, ChecksumMode::Ignore),
        Ok(Frame::Tcp { .. })
    ));
}

#[rstest]
#[case::opcode_3(ARP_REQUEST, 14 + 7, 3, Error::UnknownArpOperation(3))]
#[case::hardware_type(ARP_REQUEST, 14 + 1, 6, Error::UnsupportedArp)]
#[case::protocol_type(ARP_REPLY, 14 + 2, 0x86, Error::UnsupportedArp)]
fn bad_arp_frames(#[case] text: &str, #[case] at: usize, #[case] v: u8, #[case] want: Error) {
    let mut bytes = hex(text);
    bytes[at] = v;
    assert_eq!(parse_frame(&bytes, ChecksumMode::Verify), Err(want));
}

#[test]
fn padded_tcp_frame_parses_to_the_same_frame() {
    let bytes = hex(RST);
    assert_eq!(bytes.len(), 54);
    let mut padded = bytes.clone();
    padded.resize(60, 0);
    assert_eq!(
        parse_frame(&padded, ChecksumMode::Verify),
        parse_frame(&bytes, ChecksumMode::Verify)
    );
}

fn tcp_frame() -> impl Strategy<Value = (EthernetRepr, Ipv4Repr, TcpRepr)> {
    (ethernet_repr(), ipv4_repr(0), tcp_repr()).prop_map(|(mut e, mut i, t)| {
        e.ethertype = EtherType::Ipv4;
        i.protocol = IpProtocol::Tcp;
        i.payload_len = t.buffer_len();
        (e, i, t)
    })
}

proptest! {
    #[test]
    fn tcp_frames_round_trip_and_checksums_verify((e, i, t) in tcp_frame()) {
        let packet = build_ipv4_tcp(&i, &t);
        // Independent checksum checks: IPv4 header, and TCP over the pseudo-header.
        prop_assert_eq!(naive_sum(&[&packet[..20]]), 0xffff);
        let seg = &packet[20..];
        prop_assert_eq!(naive_sum(&[&naive_pseudo(i.src_addr, i.dst_addr, seg.len()), seg]), 0xffff);
        prop_assert_eq!(usize::from(u16::from_be_bytes([packet[2], packet[3]])), packet.len());
        prop_assert_eq!(parse_ipv4_tcp(&packet, ChecksumMode::Verify), Ok((i, t.clone())));
        let frame = build_ethernet(&e, &packet);
        // The header put in front of the builder's own buffer: the same bytes.
        prop_assert_eq!(&prepend_ethernet(&e, packet.clone()), &frame);
        let parsed = parse_frame(&frame, ChecksumMode::Verify);
        prop_assert_eq!(parsed, Ok(Frame::Tcp { eth: e, ip: i, tcp: t }));
    }

    #[test]
    fn prepending_a_header_is_building_the_frame(e in ethernet_repr(), payload in proptest::collection::vec(any::<u8>(), 0..100)) {
        prop_assert_eq!(prepend_ethernet(&e, payload.clone()), build_ethernet(&e, &payload));
    }

    #[test]
    fn arp_frames_round_trip(mut e in ethernet_repr(), a in arp_repr()) {
        e.ethertype = EtherType::Arp;
        let frame = build_arp_frame(&e, &a);
        prop_assert_eq!(frame.len(), 42);
        prop_assert_eq!(parse_frame(&frame, ChecksumMode::Verify), Ok(Frame::Arp { eth: e, arp: a }));
    }

    #[test]
    fn other_ipv4_round_trips(mut e in ethernet_repr(), mut i in ipv4_repr(0),
                              payload in proptest::collection::vec(any::<u8>(), 0..64)) {
        e.ethertype = EtherType::Ipv4;
        if i.protocol == IpProtocol::Tcp {
            i.protocol = IpProtocol::Udp;
        }
        i.payload_len = payload.len();
        let frame = build_ethernet(&e, &build_ipv4(&i, &payload));
        let want = Frame::OtherIpv4 { eth: e, ip: i, payload };
        prop_assert_eq!(parse_frame(&frame, ChecksumMode::Verify), Ok(want));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..128)) {
        for mode in [ChecksumMode::Verify, ChecksumMode::Ignore] {
            let _ = parse_frame(&bytes, mode);
            let _ = parse_ipv4_tcp(&bytes, mode);
        }
        let _ = summarize_ipv4(&bytes);
    }

    /// Byte edits of known frames reach deep into every parser; with checksums ignored, the
    /// edits are not all stopped at the first checksum.
    #[test]
    fn mutated_known_frames_never_panic(
        which in 0usize..6,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        cut in any::<prop::sample::Index>(),
    ) {
        let text = [ARP_REQUEST, ARP_REPLY, SYN, SYN_ACK, DATA, RST][which];
        let mut bytes = hex(text);
        for (at, v) in edits {
            let i = at.index(bytes.len());
            bytes[i] = v;
        }
        let len = cut.index(bytes.len() + 1);
        for b in [&bytes[..], &bytes[..len]] {
            for mode in [ChecksumMode::Verify, ChecksumMode::Ignore] {
                if let Ok(f) = parse_frame(b, mode) {
                    // Whatever parses re-encodes and parses again to the same kind of frame.
                    let again = parse_frame(&f.to_bytes(), ChecksumMode::Verify);
                    prop_assert!(again.is_ok(), "{:?}", again);
                }
                let _ = parse_ipv4_tcp(b.get(14..).unwrap_or(&[]), mode);
            }
            let _ = summarize_ipv4(b.get(14..).unwrap_or(&[]));
        }
    }
}
