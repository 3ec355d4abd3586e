//! `wire_parse`: the frame parsers of `stack::wire` on arbitrary bytes.
//!
//! Two properties:
//! - **no panic**: every view getter (after a successful `check_len`) and every `Repr::parse`
//!   returns a value or a typed error, whatever the bytes (the wire layer's no-panic rule);
//! - **round trip**: a frame that parses (checksums ignored) re-encodes to bytes that parse
//!   with checksums *verified*; the re-encoded bytes are a fixed point (encode → parse → encode
//!   gives the same bytes), and the re-parsed frame equals the first one except where the wire
//!   layer documents a normalisation (a TCP option list with an End-of-Option-List, RFC 9293
//!   §3.2, whose trailing padding is not represented).

use stack::wire::{
    self, parse_frame, parse_ipv4_tcp, summarize_ipv4, ArpPacket, ArpRepr, ChecksumMode,
    EthernetFrame, EthernetRepr, Frame, Ipv4Addr, Ipv4Packet, Ipv4Repr, TcpOption, TcpRepr,
    TcpSegment,
};

/// Ethernet II header length (IEEE 802.3 §3.1.1 without preamble/FCS).
const ETH_LEN: usize = 14;

/// Fuzz entry point: see the module documentation. Panics only on a broken property.
pub fn wire_parse(data: &[u8]) {
    touch_views(data);
    // The same bytes seen as a bare IPv4 packet and as a bare TCP segment exercise the inner
    // parsers on offsets the Ethernet layer would not give them.
    touch_ipv4(data);
    touch_tcp(data);
    if let Some(inner) = data.get(ETH_LEN..) {
        touch_ipv4(inner);
    }
    round_trip(data);
}

/// Every getter of every view, on the whole buffer, as each layer would see it.
fn touch_views(data: &[u8]) {
    let eth = EthernetFrame::new_unchecked(data);
    let _ = EthernetRepr::parse(&eth);
    if let Ok(eth) = EthernetFrame::new_checked(data) {
        let _ = (eth.dst_addr(), eth.src_addr(), eth.ethertype());
        let payload = eth.payload();
        let arp = ArpPacket::new_unchecked(payload);
        let _ = ArpRepr::parse(&arp);
        if let Ok(arp) = ArpPacket::new_checked(payload) {
            let _ = (arp.hardware_type(), arp.protocol_type(), arp.operation());
            let _ = (arp.hardware_len(), arp.protocol_len());
            let _ = (arp.source_hardware_addr(), arp.source_protocol_addr());
            let _ = (arp.target_hardware_addr(), arp.target_protocol_addr());
        }
    }
}

fn touch_ipv4(data: &[u8]) {
    let _ = summarize_ipv4(data);
    for mode in [ChecksumMode::Verify, ChecksumMode::Ignore] {
        let _ = parse_ipv4_tcp(data, mode);
        let _ = Ipv4Repr::parse(&Ipv4Packet::new_unchecked(data), mode);
    }
    if let Ok(ip) = Ipv4Packet::new_checked(data) {
        let _ = (
            ip.version(),
            ip.ihl(),
            ip.header_len(),
            ip.tos(),
            ip.total_len(),
        );
        let _ = (
            ip.ident(),
            ip.dont_frag(),
            ip.more_frags(),
            ip.frag_offset(),
            ip.ttl(),
        );
        let _ = (ip.protocol(), ip.checksum(), ip.src_addr(), ip.dst_addr());
        let _ = (ip.options(), ip.verify_checksum());
        touch_tcp(ip.payload());
    }
}

fn touch_tcp(data: &[u8]) {
    // Documentation addresses (RFC 5737): the pseudo-header only feeds the checksum.
    let (src, dst) = (Ipv4Addr::new(192, 0, 2, 1), Ipv4Addr::new(192, 0, 2, 2));
    let seg = TcpSegment::new_unchecked(data);
    for mode in [ChecksumMode::Verify, ChecksumMode::Ignore] {
        let _ = TcpRepr::parse(&seg, src, dst, mode);
    }
    let _ = wire::tcp::parse_options(data);
    if let Ok(s) = TcpSegment::new_checked(data) {
        let _ = (s.src_port(), s.dst_port(), s.seq_number(), s.ack_number());
        let _ = (s.data_offset(), s.header_len(), s.reserved(), s.flags());
        let _ = (
            s.window_len(),
            s.checksum(),
            s.urgent_at(),
            s.verify_checksum(src, dst),
        );
        let _ = wire::tcp::parse_options(s.options());
        let _ = s.payload();
    }
}

/// The round-trip property (see the module documentation).
fn round_trip(data: &[u8]) {
    let Ok(first) = parse_frame(data, ChecksumMode::Ignore) else {
        return;
    };
    let bytes = first.to_bytes();
    let second = match parse_frame(&bytes, ChecksumMode::Verify) {
        Ok(f) => f,
        Err(e) => panic!("re-encoded frame does not parse ({e:?}): {first:?}"),
    };
    let again = second.to_bytes();
    assert_eq!(again, bytes, "encode/parse/encode is not a fixed point");
    let had_eol =
        matches!(&first, Frame::Tcp { tcp, .. } if tcp.options.contains(&TcpOption::EndOfList));
    assert_eq!(
        normalise(first, had_eol),
        normalise(second, had_eol),
        "parse/encode/parse changed the frame"
    );
}

/// Erases what the wire layer documents as not preserved: for a TCP frame whose option list
/// holds an End-of-Option-List, the EOL itself (dropped when it would start mid-word) and the
/// IPv4 payload length (padding after the EOL is not re-emitted).
fn normalise(frame: Frame, had_eol: bool) -> Frame {
    match frame {
        Frame::Tcp {
            eth,
            mut ip,
            mut tcp,
        } => {
            if had_eol {
                tcp.options.retain(|o| *o != TcpOption::EndOfList);
                ip.payload_len = 0;
            }
            Frame::Tcp { eth, ip, tcp }
        }
        other => other,
    }
}
