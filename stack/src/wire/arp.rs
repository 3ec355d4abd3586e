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
