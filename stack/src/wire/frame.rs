//! Whole frames in one call: the convenience layer the rest of the workspace uses.
//!
//! Ethernet frames are built **without FCS and without padding** to the 60-byte minimum, so a
//! capture shows exactly the bytes the stack produced; parsing accepts padded frames too
//! (trailing bytes after an ARP packet or past the IPv4 total length are ignored).

use super::arp::PACKET_LEN as ARP_LEN;
use super::ethernet::HEADER_LEN as ETH_LEN;
use super::ipv4::HEADER_LEN as IPV4_LEN;
use super::tcp::HEADER_LEN as TCP_LEN;
use super::{
    ArpPacket, ArpRepr, ChecksumMode, Error, EtherType, EthernetAddress, EthernetFrame,
    EthernetRepr, IpProtocol, Ipv4Packet, Ipv4Repr, Result, SeqNumber, TcpFlags, TcpRepr,
    TcpSegment,
};

/// A parsed Ethernet frame the stack understands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    Arp {
        eth: EthernetRepr,
        arp: ArpRepr,
    },
    Tcp {
        eth: EthernetRepr,
        ip: Ipv4Repr,
        tcp: TcpRepr,
    },
    /// IPv4 carrying anything but TCP; `payload` is the IPv4 payload (padding trimmed).
    OtherIpv4 {
        eth: EthernetRepr,
        ip: Ipv4Repr,
        payload: Vec<u8>,
    },
}

impl Frame {
    /// The Ethernet header of any frame.
    pub fn eth(&self) -> &EthernetRepr {
        match self {
            Frame::Arp { eth, .. } | Frame::Tcp { eth, .. } | Frame::OtherIpv4 { eth, .. } => eth,
        }
    }

    /// Re-encode the frame (inverse of [`parse_frame`] for canonical reprs). The Ethernet
    /// ethertype is written as stored in `eth`.
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            Frame::Arp { eth, arp } => build_arp_frame(eth, arp),
            Frame::Tcp { eth, ip, tcp } => build_ethernet(eth, &build_ipv4_tcp(ip, tcp)),
            Frame::OtherIpv4 { eth, ip, payload } => build_ethernet(eth, &build_ipv4(ip, payload)),
        }
    }
}

/// Parse an Ethernet frame: ARP, IPv4/TCP or other IPv4. An ethertype other than IPv4/ARP is
/// `UnknownEtherType`; every header error of the inner layers is passed through.
pub fn parse_frame(bytes: &[u8], mode: ChecksumMode) -> Result<Frame> {
    let frame = EthernetFrame::new_checked(bytes)?;
    let eth = EthernetRepr::parse(&frame)?;
    match eth.ethertype {
        EtherType::Arp => {
            let pkt = ArpPacket::new_checked(frame.payload())?;
            let arp = ArpRepr::parse(&pkt)?;
            Ok(Frame::Arp { eth, arp })
        }
        EtherType::Ipv4 => match parse_ipv4(frame.payload(), mode)? {
            Ipv4Parsed::Tcp(ip, tcp) => Ok(Frame::Tcp { eth, ip, tcp }),
            Ipv4Parsed::Other(ip, payload) => Ok(Frame::OtherIpv4 { eth, ip, payload }),
        },
        EtherType::Unknown(t) => Err(Error::UnknownEtherType(t)),
    }
}

enum Ipv4Parsed {
    Tcp(Ipv4Repr, TcpRepr),
    Other(Ipv4Repr, Vec<u8>),
}

fn parse_ipv4(packet: &[u8], mode: ChecksumMode) -> Result<Ipv4Parsed> {
    let pkt = Ipv4Packet::new_unchecked(packet);
    let ip = Ipv4Repr::parse(&pkt, mode)?;
    if ip.protocol == IpProtocol::Tcp {
        let seg = TcpSegment::new_checked(pkt.payload())?;
        let tcp = TcpRepr::parse(&seg, ip.src_addr, ip.dst_addr, mode)?;
        Ok(Ipv4Parsed::Tcp(ip, tcp))
    } else {
        Ok(Ipv4Parsed::Other(ip, pkt.payload().to_vec()))
    }
}

/// Parse an IPv4 packet (no Ethernet header) that must carry TCP; any other protocol is
/// `UnknownProtocol`.
pub fn parse_ipv4_tcp(packet: &[u8], mode: ChecksumMode) -> Result<(Ipv4Repr, TcpRepr)> {
    match parse_ipv4(packet, mode)? {
        Ipv4Parsed::Tcp(ip, tcp) => Ok((ip, tcp)),
        Ipv4Parsed::Other(ip, _) => Err(Error::UnknownProtocol(ip.protocol.into())),
    }
}

/// Build an IPv4 packet around `payload`; `payload_len` is taken from `payload`, not `ip`.
pub fn build_ipv4(ip: &Ipv4Repr, payload: &[u8]) -> Vec<u8> {
    let ip = Ipv4Repr {
        payload_len: payload.len(),
        ..*ip
    };
    let mut buf = with_headroom(IPV4_LEN + payload.len());
    buf[IPV4_LEN..].copy_from_slice(payload);
    ip.emit(&mut Ipv4Packet::new_unchecked(&mut buf[..]));
    buf
}

/// `len` zero bytes, with room for an Ethernet header in front
/// ([`prepend_ethernet`] then needs no new allocation).
fn with_headroom(len: usize) -> Vec<u8> {
    let mut buf = Vec::with_capacity(ETH_LEN + len);
    buf.resize(len, 0);
    buf
}

/// [`build_ethernet`] for a payload the caller owns: the header goes in front of it, in the
/// same buffer (the IPv4 builders leave room for it), instead of into a new one. The bytes
/// are the same as `build_ethernet(eth, &payload)`.
pub fn prepend_ethernet(eth: &EthernetRepr, mut payload: Vec<u8>) -> Vec<u8> {
    // Moved up in place (a memmove of the packet, no iterator machinery).
    let len = payload.len();
    payload.resize(len + ETH_LEN, 0);
    payload.copy_within(0..len, ETH_LEN);
    eth.emit(&mut EthernetFrame::new_unchecked(&mut payload[..]));
    payload
}

/// Build an IPv4/TCP packet. `ip.payload_len` is ignored and set to the TCP length; the
/// protocol is forced to TCP. Both checksums are filled.
pub fn build_ipv4_tcp(ip: &Ipv4Repr, tcp: &TcpRepr) -> Vec<u8> {
    let ip = Ipv4Repr {
        payload_len: tcp.buffer_len(),
        protocol: IpProtocol::Tcp,
        ..*ip
    };
    let mut buf = with_headroom(IPV4_LEN + tcp.buffer_len());
    ip.emit(&mut Ipv4Packet::new_unchecked(&mut buf[..]));
    tcp.emit(
        &mut TcpSegment::new_unchecked(&mut buf[IPV4_LEN..]),
        ip.src_addr,
        ip.dst_addr,
    );
    buf
}

/// Build an Ethernet II frame carrying the IPv4/TCP packet [`build_ipv4_tcp`] makes of `ip` and
/// `tcp`, from `src` to `dst` (no FCS, no padding).
pub fn build_tcp_frame(
    src: EthernetAddress,
    dst: EthernetAddress,
    ip: &Ipv4Repr,
    tcp: &TcpRepr,
) -> Vec<u8> {
    let eth = EthernetRepr {
        src_addr: src,
        dst_addr: dst,
        ethertype: EtherType::Ipv4,
    };
    build_ethernet(&eth, &build_ipv4_tcp(ip, tcp))
}

/// Build an Ethernet II frame (no FCS, no padding).
pub fn build_ethernet(eth: &EthernetRepr, payload: &[u8]) -> Vec<u8> {
    let mut buf = vec![0u8; ETH_LEN + payload.len()];
    eth.emit(&mut EthernetFrame::new_unchecked(&mut buf[..]));
    buf[ETH_LEN..].copy_from_slice(payload);
    buf
}

/// Build an Ethernet frame carrying `arp` (42 bytes, unpadded). The ethertype is written as
/// stored in `eth` (normally [`EtherType::Arp`]).
pub fn build_arp_frame(eth: &EthernetRepr, arp: &ArpRepr) -> Vec<u8> {
    let mut body = [0u8; ARP_LEN];
    arp.emit(&mut ArpPacket::new_unchecked(&mut body[..]));
    build_ethernet(eth, &body)
}

/// Enough of an IPv4 packet to say *which* packet an event is about (for TCP: the 4-tuple,
/// flags and sequence number), without keeping its bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PacketSummary {
    pub src: super::Ipv4Addr,
    pub dst: super::Ipv4Addr,
    pub protocol: IpProtocol,
    /// TCP ports (0 for other protocols).
    pub src_port: u16,
    pub dst_port: u16,
    /// TCP flags (empty for other protocols).
    pub flags: TcpFlags,
    pub seq: SeqNumber,
    /// Length of the whole IPv4 packet in bytes.
    pub len: usize,
}

/// Summarize an IPv4 packet for the event log, without verifying checksums. `None` unless the
/// IPv4 header is valid (version 4, IHL and total length consistent). For TCP (non-fragment or
/// first fragment) with at least the fixed 20-byte header, ports, flags and sequence number
/// are filled; otherwise they are zero.
pub fn summarize_ipv4(packet: &[u8]) -> Option<PacketSummary> {
    let pkt = Ipv4Packet::new_checked(packet).ok()?;
    if pkt.version() != 4 {
        return None;
    }
    let mut s = PacketSummary {
        src: pkt.src_addr(),
        dst: pkt.dst_addr(),
        protocol: pkt.protocol(),
        src_port: 0,
        dst_port: 0,
        flags: TcpFlags::NONE,
        seq: SeqNumber(0),
        len: usize::from(pkt.total_len()),
    };
    if s.protocol == IpProtocol::Tcp && pkt.frag_offset() == 0 && pkt.payload().len() >= TCP_LEN {
        let seg = TcpSegment::new_unchecked(pkt.payload());
        s.src_port = seg.src_port();
        s.dst_port = seg.dst_port();
        s.flags = seg.flags();
        s.seq = seg.seq_number();
    }
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{ArpOperation, EthernetAddress, Ipv4Addr, TcpOption};

    fn eth(t: EtherType) -> EthernetRepr {
        EthernetRepr {
            src_addr: EthernetAddress([2, 0, 0, 0, 0, 1]),
            dst_addr: EthernetAddress([2, 0, 0, 0, 0, 2]),
            ethertype: t,
        }
    }

    fn ip() -> Ipv4Repr {
        Ipv4Repr {
            src_addr: Ipv4Addr::new(10, 0, 0, 1),
            dst_addr: Ipv4Addr::new(10, 0, 0, 2),
            protocol: IpProtocol::Tcp,
            payload_len: 0,
            ttl: 64,
            ident: 7,
            dont_frag: true,
            tos: 0,
        }
    }

    fn syn() -> TcpRepr {
        TcpRepr {
            src_port: 40000,
            dst_port: 80,
            seq: SeqNumber(1000),
            flags: TcpFlags::SYN,
            window: 65535,
            options: vec![TcpOption::MaxSegmentSize(1460), TcpOption::WindowScale(7)],
            payload: b"hi".to_vec(),
            ..TcpRepr::default()
        }
    }

    #[test]
    fn tcp_frame_round_trips() {
        let bytes = build_ethernet(&eth(EtherType::Ipv4), &build_ipv4_tcp(&ip(), &syn()));
        let f = parse_frame(&bytes, ChecksumMode::Verify).expect("parses");
        let want_ip = Ipv4Repr {
            payload_len: syn().buffer_len(),
            ..ip()
        };
        assert_eq!(
            f,
            Frame::Tcp {
                eth: eth(EtherType::Ipv4),
                ip: want_ip,
                tcp: syn()
            }
        );
        assert_eq!(f.to_bytes(), bytes);
    }

    #[test]
    fn arp_frame_round_trips_and_accepts_padding() {
        let arp = ArpRepr {
            operation: ArpOperation::Request,
            source_hardware_addr: EthernetAddress([2, 0, 0, 0, 0, 1]),
            source_protocol_addr: Ipv4Addr::new(10, 0, 0, 1),
            target_hardware_addr: EthernetAddress::ZERO,
            target_protocol_addr: Ipv4Addr::new(10, 0, 0, 2),
        };
        let mut bytes = build_arp_frame(&eth(EtherType::Arp), &arp);
        assert_eq!(bytes.len(), 42);
        bytes.resize(60, 0);
        let f = parse_frame(&bytes, ChecksumMode::Verify).expect("parses");
        assert_eq!(
            f,
            Frame::Arp {
                eth: eth(EtherType::Arp),
                arp
            }
        );
    }

    #[test]
    fn summary_reads_tcp_fields_without_checksums() {
        let mut pkt = build_ipv4_tcp(&ip(), &syn());
        pkt[10] ^= 0xff; // corrupt IPv4 checksum: summaries do not verify
        let s = summarize_ipv4(&pkt).expect("summarizes");
        assert_eq!((s.src_port, s.dst_port), (40000, 80));
        assert_eq!(s.flags, TcpFlags::SYN);
        assert_eq!(s.seq, SeqNumber(1000));
        assert_eq!(s.len, pkt.len());
        assert_eq!(summarize_ipv4(&pkt[..19]), None);
    }

    #[test]
    fn non_tcp_ipv4_is_other_and_rejected_by_parse_ipv4_tcp() {
        let udp = Ipv4Repr {
            protocol: IpProtocol::Udp,
            ..ip()
        };
        let pkt = build_ipv4(&udp, &[1, 2, 3]);
        assert_eq!(
            parse_ipv4_tcp(&pkt, ChecksumMode::Verify),
            Err(Error::UnknownProtocol(17))
        );
        let f = parse_frame(
            &build_ethernet(&eth(EtherType::Ipv4), &pkt),
            ChecksumMode::Verify,
        )
        .expect("parses");
        assert!(matches!(f, Frame::OtherIpv4 { ref payload, .. } if payload == &[1, 2, 3]));
    }
}
