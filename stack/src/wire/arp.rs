//! ARP for Ethernet/IPv4 (RFC 826).

use super::{Error, EthernetAddress, Result};
use core::net::Ipv4Addr;

/// ARP opcode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ArpOperation {
    Request,
    Reply,
}

impl ArpOperation {
    /// RFC 826: ar$op, 1 = REQUEST, 2 = REPLY.
    pub fn from_u16(v: u16) -> Result<Self> {
        match v {
            1 => Ok(ArpOperation::Request),
            2 => Ok(ArpOperation::Reply),
            other => Err(Error::UnknownArpOperation(other)),
        }
    }
}

impl From<ArpOperation> for u16 {
    fn from(op: ArpOperation) -> u16 {
        match op {
            ArpOperation::Request => 1,
            ArpOperation::Reply => 2,
        }
    }
}

/// A checked view of an ARP packet.
#[derive(Debug, Clone)]
pub struct ArpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

/// Field offsets for Ethernet/IPv4 ARP (RFC 826 "Packet format"): hlen 6, plen 4.
mod field {
    use core::ops::Range;
    pub const HTYPE: Range<usize> = 0..2;
    pub const PTYPE: Range<usize> = 2..4;
    pub const HLEN: usize = 4;
    pub const PLEN: usize = 5;
    pub const OPER: Range<usize> = 6..8;
    pub const SHA: Range<usize> = 8..14;
    pub const SPA: Range<usize> = 14..18;
    pub const THA: Range<usize> = 18..24;
    pub const TPA: Range<usize> = 24..28;
}

/// Fixed header length (hardware/protocol types, lengths, opcode): what `check_len` needs to
/// read the address lengths.
const FIXED_LEN: usize = 8;
/// Length of an Ethernet/IPv4 ARP packet.
pub const PACKET_LEN: usize = field::TPA.end;
/// RFC 826 ar$hrd for Ethernet (hardware type 1).
pub const HTYPE_ETHERNET: u16 = 1;
/// RFC 826 ar$pro: the ethertype of IPv4.
pub const PTYPE_IPV4: u16 = 0x0800;

impl<T: AsRef<[u8]>> ArpPacket<T> {
    pub const fn new_unchecked(buffer: T) -> Self {
        ArpPacket { buffer }
    }

    pub fn new_checked(buffer: T) -> Result<Self> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// `Err(Truncated)` unless the buffer holds the fixed part and both address pairs as sized
    /// by ar$hln/ar$pln. After `Ok`, no getter panics (the Ethernet/IPv4 getters also need
    /// hlen 6 / plen 4, which [`ArpRepr::parse`] checks; without it they read zeros past short
    /// fields rather than panic).
    pub fn check_len(&self) -> Result<()> {
        let b = self.buffer.as_ref();
        if b.len() < FIXED_LEN {
            return Err(Error::Truncated { layer: "arp" });
        }
        let need = FIXED_LEN + 2 * (usize::from(b[field::HLEN]) + usize::from(b[field::PLEN]));
        if b.len() < need {
            return Err(Error::Truncated { layer: "arp" });
        }
        Ok(())
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn u16_at(&self, r: core::ops::Range<usize>) -> u16 {
        let b = self.buffer.as_ref();
        match b.get(r) {
            Some(s) => u16::from_be_bytes([s[0], s[1]]),
            None => 0,
        }
    }

    fn bytes<const N: usize>(&self, r: core::ops::Range<usize>) -> [u8; N] {
        let mut out = [0u8; N];
        if let Some(s) = self.buffer.as_ref().get(r) {
            out.copy_from_slice(s);
        }
        out
    }

    pub fn hardware_type(&self) -> u16 {
        self.u16_at(field::HTYPE)
    }
    pub fn protocol_type(&self) -> u16 {
        self.u16_at(field::PTYPE)
    }
    pub fn hardware_len(&self) -> u8 {
        self.buffer.as_ref().get(field::HLEN).copied().unwrap_or(0)
    }
    pub fn protocol_len(&self) -> u8 {
        self.buffer.as_ref().get(field::PLEN).copied().unwrap_or(0)
    }
    /// Raw opcode (RFC 826 ar$op).
    pub fn operation(&self) -> u16 {
        self.u16_at(field::OPER)
    }
    pub fn source_hardware_addr(&self) -> EthernetAddress {
        EthernetAddress(self.bytes(field::SHA))
    }
    pub fn source_protocol_addr(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.bytes::<4>(field::SPA))
    }
    pub fn target_hardware_addr(&self) -> EthernetAddress {
        EthernetAddress(self.bytes(field::THA))
    }
    pub fn target_protocol_addr(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.bytes::<4>(field::TPA))
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> ArpPacket<T> {
    pub fn set_hardware_type(&mut self, v: u16) {
        self.buffer.as_mut()[field::HTYPE].copy_from_slice(&v.to_be_bytes());
    }
    pub fn set_protocol_type(&mut self, v: u16) {
        self.buffer.as_mut()[field::PTYPE].copy_from_slice(&v.to_be_bytes());
    }
    pub fn set_hardware_len(&mut self, v: u8) {
        self.buffer.as_mut()[field::HLEN] = v;
    }
    pub fn set_protocol_len(&mut self, v: u8) {
        self.buffer.as_mut()[field::PLEN] = v;
    }
    pub fn set_operation(&mut self, v: u16) {
        self.buffer.as_mut()[field::OPER].copy_from_slice(&v.to_be_bytes());
    }
    pub fn set_source_hardware_addr(&mut self, a: EthernetAddress) {
        self.buffer.as_mut()[field::SHA].copy_from_slice(&a.0);
    }
    pub fn set_source_protocol_addr(&mut self, a: Ipv4Addr) {
        self.buffer.as_mut()[field::SPA].copy_from_slice(&a.octets());
    }
    pub fn set_target_hardware_addr(&mut self, a: EthernetAddress) {
        self.buffer.as_mut()[field::THA].copy_from_slice(&a.0);
    }
    pub fn set_target_protocol_addr(&mut self, a: Ipv4Addr) {
        self.buffer.as_mut()[field::TPA].copy_from_slice(&a.octets());
    }
}

/// An Ethernet/IPv4 ARP packet (RFC 826 field names).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArpRepr {
    pub operation: ArpOperation,
    pub source_hardware_addr: EthernetAddress,
    pub source_protocol_addr: Ipv4Addr,
    pub target_hardware_addr: EthernetAddress,
    pub target_protocol_addr: Ipv4Addr,
}

impl ArpRepr {
    /// RFC 826: only ar$hrd = 1 (Ethernet), ar$pro = 0x0800 (IPv4), ar$hln = 6, ar$pln = 4 are
    /// supported (`UnsupportedArp` otherwise); ar$op must be 1 or 2 (`UnknownArpOperation`).
    pub fn parse<T: AsRef<[u8]>>(packet: &ArpPacket<T>) -> Result<Self> {
        packet.check_len()?;
        if packet.hardware_type() != HTYPE_ETHERNET
            || packet.protocol_type() != PTYPE_IPV4
            || packet.hardware_len() != 6
            || packet.protocol_len() != 4
        {
            return Err(Error::UnsupportedArp);
        }
        let operation = ArpOperation::from_u16(packet.operation())?;
        Ok(ArpRepr {
            operation,
            source_hardware_addr: packet.source_hardware_addr(),
            source_protocol_addr: packet.source_protocol_addr(),
            target_hardware_addr: packet.target_hardware_addr(),
            target_protocol_addr: packet.target_protocol_addr(),
        })
    }

    /// 28 bytes.
    pub const fn buffer_len(&self) -> usize {
        PACKET_LEN
    }

    /// Write all fields; the packet must be at least [`PACKET_LEN`] long.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut ArpPacket<T>) {
        packet.set_hardware_type(HTYPE_ETHERNET);
        packet.set_protocol_type(PTYPE_IPV4);
        packet.set_hardware_len(6);
        packet.set_protocol_len(4);
        packet.set_operation(self.operation.into());
        packet.set_source_hardware_addr(self.source_hardware_addr);
        packet.set_source_protocol_addr(self.source_protocol_addr);
        packet.set_target_hardware_addr(self.target_hardware_addr);
        packet.set_target_protocol_addr(self.target_protocol_addr);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::testutil::{arp_repr, hex};
    use proptest::prelude::*;
    use rstest::rstest;

    /// RFC 826 request "who has 10.0.0.2, tell 10.0.0.1" (ARP body only).
    const REQUEST: &str = "0001 0800 06 04 0001 020000000001 0a000001 000000000000 0a000002";
    /// RFC 826 reply "10.0.0.2 is at 02:00:00:00:00:02".
    const REPLY: &str = "0001 0800 06 04 0002 020000000002 0a000002 020000000001 0a000001";

    fn parse(bytes: &[u8]) -> Result<ArpRepr> {
        ArpRepr::parse(&ArpPacket::new_checked(bytes)?)
    }

    #[rstest]
    #[case::request(REQUEST, ArpOperation::Request, [2, 0, 0, 0, 0, 1], [10, 0, 0, 1], [0; 6], [10, 0, 0, 2])]
    #[case::reply(REPLY, ArpOperation::Reply, [2, 0, 0, 0, 0, 2], [10, 0, 0, 2], [2, 0, 0, 0, 0, 1], [10, 0, 0, 1])]
    fn known_packets(
        #[case] text: &str,
        #[case] op: ArpOperation,
        #[case] sha: [u8; 6],
        #[case] spa: [u8; 4],
        #[case] tha: [u8; 6],
        #[case] tpa: [u8; 4],
    ) {
        let bytes = hex(text);
        let repr = parse(&bytes).expect("parses");
        assert_eq!(
            repr,
            ArpRepr {
                operation: op,
                source_hardware_addr: EthernetAddress(sha),
                source_protocol_addr: Ipv4Addr::from(spa),
                target_hardware_addr: EthernetAddress(tha),
                target_protocol_addr: Ipv4Addr::from(tpa),
            }
        );
        let mut out = vec![0u8; repr.buffer_len()];
        repr.emit(&mut ArpPacket::new_unchecked(&mut out[..]));
        assert_eq!(out, bytes);
    }

    #[rstest]
    #[case::empty(0, Error::Truncated { layer: "arp" })]
    #[case::fixed_part(7, Error::Truncated { layer: "arp" })]
    #[case::after_fixed_part(8, Error::Truncated { layer: "arp" })]
    #[case::in_sender_hw(12, Error::Truncated { layer: "arp" })]
    #[case::in_target_ip(27, Error::Truncated { layer: "arp" })]
    fn truncated(#[case] len: usize, #[case] want: Error) {
        assert_eq!(parse(&hex(REQUEST)[..len]), Err(want));
    }

    #[rstest]
    #[case::hardware_type_ieee802(0, 0x00, 0x06, Error::UnsupportedArp)]
    #[case::protocol_type_ipv6(2, 0x86, 0xdd, Error::UnsupportedArp)]
    #[case::hlen_8(4, 0x08, 0x04, Error::UnsupportedArp)]
    #[case::plen_16(4, 0x06, 0x10, Error::UnsupportedArp)]
    #[case::opcode_0(6, 0x00, 0x00, Error::UnknownArpOperation(0))]
    #[case::opcode_3_rarp(6, 0x00, 0x03, Error::UnknownArpOperation(3))]
    #[case::opcode_large(6, 0xff, 0xff, Error::UnknownArpOperation(0xffff))]
    fn malformed(#[case] at: usize, #[case] a: u8, #[case] b: u8, #[case] want: Error) {
        let mut bytes = hex(REQUEST);
        // Room for larger address lengths so the length check is not what fails.
        bytes.resize(64, 0);
        bytes[at] = a;
        bytes[at + 1] = b;
        assert_eq!(parse(&bytes), Err(want));
    }

    #[test]
    fn short_address_lengths_do_not_panic_getters() {
        // hlen 0, plen 0: only the fixed part is required; getters read zeros.
        let bytes = hex("0001 0800 00 00 0001");
        let p = ArpPacket::new_checked(&bytes[..]).expect("lengths consistent");
        assert_eq!(p.source_hardware_addr(), EthernetAddress::ZERO);
        assert_eq!(p.target_protocol_addr(), Ipv4Addr::UNSPECIFIED);
        assert_eq!(ArpRepr::parse(&p), Err(Error::UnsupportedArp));
    }

    proptest! {
        #[test]
        fn repr_round_trips(r in arp_repr()) {
            let mut buf = vec![0u8; r.buffer_len()];
            r.emit(&mut ArpPacket::new_unchecked(&mut buf[..]));
            prop_assert_eq!(parse(&buf), Ok(r));
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(p) = ArpPacket::new_checked(&bytes[..]) {
                let _ = (p.hardware_type(), p.protocol_type(), p.operation());
                let _ = (p.source_hardware_addr(), p.source_protocol_addr());
                let _ = (p.target_hardware_addr(), p.target_protocol_addr());
                let _ = ArpRepr::parse(&p);
            }
        }

        /// Mutating a valid packet either still parses or yields a typed error.
        #[test]
        fn mutated_packets_never_panic(r in arp_repr(), at in 0usize..28, v in any::<u8>()) {
            let mut buf = vec![0u8; r.buffer_len()];
            r.emit(&mut ArpPacket::new_unchecked(&mut buf[..]));
            buf[at] = v;
            let _ = parse(&buf);
        }
    }
}
