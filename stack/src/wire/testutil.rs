//! Test support for the wire layer: proptest strategies for canonical reprs, an independent
//! naive checksum, and hex decoding. Compiled only for tests.

use super::tcp::MAX_OPTIONS_LEN;
use super::{
    ArpOperation, ArpRepr, EtherType, EthernetAddress, EthernetRepr, IpProtocol, Ipv4Addr,
    Ipv4Repr, SeqNumber, TcpFlags, TcpOption, TcpRepr,
};
use proptest::collection::vec;
use proptest::prelude::*;

/// Decode a hex string, ignoring whitespace (test inputs are written as annotated hex).
pub fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    assert!(digits.len() % 2 == 0, "odd hex length");
    digits
        .chunks(2)
        .map(|p| {
            let h = std::str::from_utf8(p).expect("ascii");
            u8::from_str_radix(h, 16).expect("hex digit")
        })
        .collect()
}

/// The Internet checksum computed the slow, obvious way, independently of `checksum.rs`:
/// add every big-endian 16-bit word (odd byte padded with zero) in a u64, then fold.
pub fn naive_sum(parts: &[&[u8]]) -> u16 {
    let mut bytes = Vec::new();
    for p in parts {
        bytes.extend_from_slice(p);
    }
    if bytes.len() % 2 == 1 {
        bytes.push(0);
    }
    let mut total: u64 = 0;
    let mut i = 0;
    while i < bytes.len() {
        total += (u64::from(bytes[i]) << 8) + u64::from(bytes[i + 1]);
        i += 2;
    }
    while total > 0xffff {
        total = (total >> 16) + (total & 0xffff);
    }
    total as u16
}

/// The 12-byte TCP/IPv4 pseudo-header, spelled out (RFC 9293 §3.1).
pub fn naive_pseudo(src: Ipv4Addr, dst: Ipv4Addr, len: usize) -> Vec<u8> {
    let mut p = Vec::new();
    p.extend_from_slice(&src.octets());
    p.extend_from_slice(&dst.octets());
    p.push(0);
    p.push(6);
    p.extend_from_slice(&(len as u16).to_be_bytes());
    p
}

pub fn eth_addr() -> impl Strategy<Value = EthernetAddress> {
    any::<[u8; 6]>().prop_map(EthernetAddress)
}

pub fn ipv4_addr() -> impl Strategy<Value = Ipv4Addr> {
    any::<[u8; 4]>().prop_map(Ipv4Addr::from)
}

pub fn ethertype() -> impl Strategy<Value = EtherType> {
    prop_oneof![
        Just(EtherType::Ipv4),
        Just(EtherType::Arp),
        any::<u16>().prop_map(EtherType::from),
    ]
}

pub fn ethernet_repr() -> impl Strategy<Value = EthernetRepr> {
    (eth_addr(), eth_addr(), ethertype()).prop_map(|(src_addr, dst_addr, ethertype)| EthernetRepr {
        src_addr,
        dst_addr,
        ethertype,
    })
}

pub fn arp_repr() -> impl Strategy<Value = ArpRepr> {
    (
        prop_oneof![Just(ArpOperation::Request), Just(ArpOperation::Reply)],
        eth_addr(),
        ipv4_addr(),
        eth_addr(),
        ipv4_addr(),
    )
        .prop_map(|(operation, sha, spa, tha, tpa)| ArpRepr {
            operation,
            source_hardware_addr: sha,
            source_protocol_addr: spa,
            target_hardware_addr: tha,
            target_protocol_addr: tpa,
        })
}

/// Valid IPv4 reprs; `payload_len` is at most `max_payload`.
pub fn ipv4_repr(max_payload: usize) -> impl Strategy<Value = Ipv4Repr> {
    (
        ipv4_addr(),
        ipv4_addr(),
        any::<u8>().prop_map(IpProtocol::from),
        0..=max_payload,
        any::<u8>(),
        any::<u16>(),
        any::<bool>(),
        any::<u8>(),
    )
        .prop_map(
            |(src_addr, dst_addr, protocol, payload_len, ttl, ident, dont_frag, tos)| Ipv4Repr {
                src_addr,
                dst_addr,
                protocol,
                payload_len,
                ttl,
                ident,
                dont_frag,
                tos,
            },
        )
}

/// One well-formed option other than EOL.
pub fn tcp_option() -> impl Strategy<Value = TcpOption> {
    prop_oneof![
        Just(TcpOption::NoOp),
        any::<u16>().prop_map(TcpOption::MaxSegmentSize),
        any::<u8>().prop_map(TcpOption::WindowScale),
        Just(TcpOption::SackPermitted),
        vec(any::<(u32, u32)>(), 1..=4).prop_map(TcpOption::SackRange),
        any::<(u32, u32)>().prop_map(|(tsval, tsecr)| TcpOption::Timestamps { tsval, tsecr }),
        (
            any::<u8>().prop_filter("unknown kind", |k| !matches!(k, 0..=5 | 8)),
            vec(any::<u8>(), 0..12)
        )
            .prop_map(|(kind, data)| TcpOption::Unknown { kind, data }),
    ]
}

/// A canonical option list (see `TcpRepr` docs): fits in 40 bytes, EOL only last and only at
/// a word boundary.
pub fn tcp_options() -> impl Strategy<Value = Vec<TcpOption>> {
    (vec(tcp_option(), 0..8), any::<bool>()).prop_map(|(opts, eol)| {
        let mut out = Vec::new();
        let mut len = 0;
        for o in opts {
            if len + o.buffer_len() > MAX_OPTIONS_LEN {
                break;
            }
            len += o.buffer_len();
            out.push(o);
        }
        if eol && len % 4 == 0 && len < MAX_OPTIONS_LEN {
            out.push(TcpOption::EndOfList);
        }
        out
    })
}

pub fn tcp_repr() -> impl Strategy<Value = TcpRepr> {
    (
        any::<(u16, u16, u32, u32)>(),
        0u16..0x200,
        any::<(u16, u16)>(),
        tcp_options(),
        vec(any::<u8>(), 0..64),
    )
        .prop_map(
            |((src_port, dst_port, seq, ack), flags, (window, urgent), options, payload)| TcpRepr {
                src_port,
                dst_port,
                seq: SeqNumber(seq),
                ack: SeqNumber(ack),
                flags: TcpFlags(flags),
                window,
                urgent,
                options,
                payload,
            },
        )
}
