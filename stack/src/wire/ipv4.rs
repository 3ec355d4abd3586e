//! IPv4 (RFC 791): options skipped safely, fragments recognised and reported, header checksum.

use core::net::Ipv4Addr;

/// The IP protocol field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IpProtocol {
    Icmp,
    Tcp,
    Udp,
    Unknown(u8),
}

/// A checked view of an IPv4 packet.
#[derive(Debug, Clone)]
pub struct Ipv4Packet<T: AsRef<[u8]>> {
    buffer: T,
}

/// The IPv4 header fields the stack uses. `payload_len` is the length of what follows the
/// header; options are not represented (skipped on parse, never emitted).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv4Repr {
    pub src_addr: Ipv4Addr,
    pub dst_addr: Ipv4Addr,
    pub protocol: IpProtocol,
    pub payload_len: usize,
    pub ttl: u8,
    pub ident: u16,
    pub dont_frag: bool,
    /// DSCP/ECN byte.
    pub tos: u8,
}
