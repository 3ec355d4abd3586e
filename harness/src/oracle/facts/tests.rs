//! The facts next to the code that pulls them out of a trace.

use super::*;

/// An Ethernet frame: IPv4 (IHL 5) carrying `proto`, with `flags` at the TCP flags offset.
fn frame(ethertype: [u8; 2], proto: u8, flags: u8) -> Vec<u8> {
    let mut b = vec![0u8; 14 + 20 + 20];
    b[12..14].copy_from_slice(&ethertype);
    b[14] = 0x45;
    b[23] = proto;
    b[14 + 20 + 13] = flags;
    b
}

/// `is_tcp_rst` reads the EtherType (IPv4), the IP protocol (TCP, RFC 9293 §3.1 / protocol 6)
/// and the RST bit of the TCP flags; a frame failing any one is not a TCP RST.
#[test]
fn is_tcp_rst_needs_ipv4_tcp_and_the_rst_bit() {
    const RST: u8 = 0x04;
    const IPV4: [u8; 2] = [0x08, 0x00];
    assert!(is_tcp_rst(&frame(IPV4, 6, RST)));
    assert!(is_tcp_rst(&frame(IPV4, 6, RST | 0x10)));
    assert!(!is_tcp_rst(&frame(IPV4, 6, 0x10)), "ACK only");
    assert!(!is_tcp_rst(&frame(IPV4, 17, RST)), "UDP");
    assert!(!is_tcp_rst(&frame([0x08, 0x06], 6, RST)), "ARP");
    assert!(!is_tcp_rst(&frame([0x86, 0xdd], 17, RST)), "IPv6");
    // IHL 6 (an IP option): the flags sit 4 bytes further on.
    let mut f = frame(IPV4, 6, 0);
    f[14] = 0x46;
    f.extend([0u8; 4]);
    f[14 + 24 + 13] = RST;
    assert!(is_tcp_rst(&f));
    assert!(
        !is_tcp_rst(&f[..14 + 24 + 13]),
        "truncated before the flags"
    );
    assert!(!is_tcp_rst(&[]));
}
