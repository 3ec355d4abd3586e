//! IPv4 (RFC 791): options skipped safely, fragments recognised and reported, header checksum.

use super::checksum;
use super::{ChecksumMode, Error, Result};
use core::net::Ipv4Addr;

/// The IP protocol field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IpProtocol {
    Icmp,
    Tcp,
    Udp,
    Unknown(u8),
}

impl From<u8> for IpProtocol {
    /// RFC 790 / IANA assigned numbers: 1 ICMP, 6 TCP, 17 UDP.
    fn from(v: u8) -> Self {
        match v {
            1 => IpProtocol::Icmp,
            6 => IpProtocol::Tcp,
            17 => IpProtocol::Udp,
            other => IpProtocol::Unknown(other),
        }
    }
}

impl From<IpProtocol> for u8 {
    fn from(p: IpProtocol) -> u8 {
        match p {
            IpProtocol::Icmp => 1,
            IpProtocol::Tcp => 6,
            IpProtocol::Udp => 17,
            IpProtocol::Unknown(v) => v,
        }
    }
}

/// A checked view of an IPv4 packet.
#[derive(Debug, Clone)]
pub struct Ipv4Packet<T: AsRef<[u8]>> {
    buffer: T,
}

/// RFC 791 §3.1 header layout.
mod field {
    use core::ops::Range;
    pub const VER_IHL: usize = 0;
    pub const TOS: usize = 1;
    pub const TOTAL_LEN: Range<usize> = 2..4;
    pub const IDENT: Range<usize> = 4..6;
    pub const FLAGS_FRAG: Range<usize> = 6..8;
    pub const TTL: usize = 8;
    pub const PROTOCOL: usize = 9;
    pub const CHECKSUM: Range<usize> = 10..12;
    pub const SRC_ADDR: Range<usize> = 12..16;
    pub const DST_ADDR: Range<usize> = 16..20;
}

/// Length of an IPv4 header without options.
pub const HEADER_LEN: usize = field::DST_ADDR.end;

/// RFC 791 §3.1 flags: bit 1 "DF", bit 2 "MF" of the 3-bit flags field.
const FLAG_DF: u16 = 0x4000;
const FLAG_MF: u16 = 0x2000;
const FRAG_OFFSET_MASK: u16 = 0x1fff;

impl<T: AsRef<[u8]>> Ipv4Packet<T> {
    pub const fn new_unchecked(buffer: T) -> Self {
        Ipv4Packet { buffer }
    }

    pub fn new_checked(buffer: T) -> Result<Self> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// Checks, in order: the 20-byte fixed header is present (`Truncated`); IHL >= 5 and the
    /// header fits in the buffer (`BadHeaderLength`, RFC 791 §3.1 "minimum value ... is 5");
    /// IHL*4 <= total length <= buffer length (`BadLength`). A buffer longer than the total
    /// length is accepted (Ethernet padding); [`Ipv4Packet::payload`] trims it.
    /// After `Ok`, no getter panics. The version is checked by [`Ipv4Repr::parse`].
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(Error::Truncated { layer: "ipv4" });
        }
        let ihl = self.ihl();
        if ihl < 5 || self.header_len() > len {
            return Err(Error::BadHeaderLength(ihl));
        }
        let total = usize::from(self.total_len());
        if total < self.header_len() || total > len {
            return Err(Error::BadLength { layer: "ipv4" });
        }
        Ok(())
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn u16_at(&self, r: core::ops::Range<usize>) -> u16 {
        let b = &self.buffer.as_ref()[r];
        u16::from_be_bytes([b[0], b[1]])
    }

    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VER_IHL] >> 4
    }
    /// Internet Header Length in 32-bit words.
    pub fn ihl(&self) -> u8 {
        self.buffer.as_ref()[field::VER_IHL] & 0x0f
    }
    /// Header length in bytes (IHL * 4).
    pub fn header_len(&self) -> usize {
        usize::from(self.ihl()) * 4
    }
    /// Type of service / DSCP+ECN byte.
    pub fn tos(&self) -> u8 {
        self.buffer.as_ref()[field::TOS]
    }
    pub fn total_len(&self) -> u16 {
        self.u16_at(field::TOTAL_LEN)
    }
    pub fn ident(&self) -> u16 {
        self.u16_at(field::IDENT)
    }
    pub fn dont_frag(&self) -> bool {
        self.u16_at(field::FLAGS_FRAG) & FLAG_DF != 0
    }
    pub fn more_frags(&self) -> bool {
        self.u16_at(field::FLAGS_FRAG) & FLAG_MF != 0
    }
    /// Fragment offset in units of 8 octets (RFC 791 §3.1), as carried in the header.
    pub fn frag_offset(&self) -> u16 {
        self.u16_at(field::FLAGS_FRAG) & FRAG_OFFSET_MASK
    }
    pub fn ttl(&self) -> u8 {
        self.buffer.as_ref()[field::TTL]
    }
    pub fn protocol(&self) -> IpProtocol {
        IpProtocol::from(self.buffer.as_ref()[field::PROTOCOL])
    }
    pub fn checksum(&self) -> u16 {
        self.u16_at(field::CHECKSUM)
    }
    pub fn src_addr(&self) -> Ipv4Addr {
        let b = &self.buffer.as_ref()[field::SRC_ADDR];
        Ipv4Addr::new(b[0], b[1], b[2], b[3])
    }
    pub fn dst_addr(&self) -> Ipv4Addr {
        let b = &self.buffer.as_ref()[field::DST_ADDR];
        Ipv4Addr::new(b[0], b[1], b[2], b[3])
    }
    /// The options area (between the fixed header and IHL*4), possibly empty. Never
    /// interpreted: RFC 1122 §3.2.1.8 lets a host ignore options it does not implement.
    pub fn options(&self) -> &[u8] {
        let b = self.buffer.as_ref();
        b.get(HEADER_LEN..self.header_len()).unwrap_or(&[])
    }
    /// RFC 791 §3.1: the one's-complement sum over the header (IHL*4 bytes) verifies.
    pub fn verify_checksum(&self) -> bool {
        let b = self.buffer.as_ref();
        match b.get(..self.header_len()) {
            Some(h) => checksum::sum(h) == 0xffff,
            None => false,
        }
    }
    /// The payload: from IHL*4 to the total length (Ethernet padding trimmed).
    pub fn payload(&self) -> &[u8] {
        let b = self.buffer.as_ref();
        b.get(self.header_len()..usize::from(self.total_len()))
            .unwrap_or(&[])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv4Packet<T> {
    /// Sets version and IHL (in 32-bit words).
    pub fn set_version_ihl(&mut self, version: u8, ihl: u8) {
        self.buffer.as_mut()[field::VER_IHL] = (version << 4) | (ihl & 0x0f);
    }
    pub fn set_tos(&mut self, v: u8) {
        self.buffer.as_mut()[field::TOS] = v;
    }
    pub fn set_total_len(&mut self, v: u16) {
        self.buffer.as_mut()[field::TOTAL_LEN].copy_from_slice(&v.to_be_bytes());
    }
    pub fn set_ident(&mut self, v: u16) {
        self.buffer.as_mut()[field::IDENT].copy_from_slice(&v.to_be_bytes());
    }
    /// Sets DF, MF and the fragment offset (8-octet units) together.
    pub fn set_flags_frag(&mut self, dont_frag: bool, more_frags: bool, offset: u16) {
        let v = (if dont_frag { FLAG_DF } else { 0 })
            | (if more_frags { FLAG_MF } else { 0 })
            | (offset & FRAG_OFFSET_MASK);
        self.buffer.as_mut()[field::FLAGS_FRAG].copy_from_slice(&v.to_be_bytes());
    }
    pub fn set_ttl(&mut self, v: u8) {
        self.buffer.as_mut()[field::TTL] = v;
    }
    pub fn set_protocol(&mut self, p: IpProtocol) {
        self.buffer.as_mut()[field::PROTOCOL] = p.into();
    }
    pub fn set_checksum(&mut self, v: u16) {
        self.buffer.as_mut()[field::CHECKSUM].copy_from_slice(&v.to_be_bytes());
    }
    pub fn set_src_addr(&mut self, a: Ipv4Addr) {
        self.buffer.as_mut()[field::SRC_ADDR].copy_from_slice(&a.octets());
    }
    pub fn set_dst_addr(&mut self, a: Ipv4Addr) {
        self.buffer.as_mut()[field::DST_ADDR].copy_from_slice(&a.octets());
    }
    /// RFC 791 §3.1: zero the checksum field, then store the complement of the header sum.
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let hl = self.header_len();
        let c = checksum::checksum(&self.buffer.as_ref()[..hl]);
        self.set_checksum(c);
    }
    /// Mutable payload (from IHL*4 to the total length).
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let hl = self.header_len();
        let total = usize::from(self.total_len());
        &mut self.buffer.as_mut()[hl..total]
    }
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

/// Largest payload an options-free IPv4 header can carry (total length is 16 bits).
pub const MAX_PAYLOAD_LEN: usize = u16::MAX as usize - HEADER_LEN;

impl Ipv4Repr {
    /// Parse and validate, in order: fixed header present (`Truncated`), version 4
    /// (`BadVersion`), IHL and total length ([`Ipv4Packet::check_len`]), header checksum unless
    /// `mode` is [`ChecksumMode::Ignore`] (`BadChecksum`), then fragments: MF set or a non-zero
    /// offset is reported as `Fragmented` (RFC 791 §2.3; this stack does not reassemble).
    /// Options are skipped.
    pub fn parse<T: AsRef<[u8]>>(packet: &Ipv4Packet<T>, mode: ChecksumMode) -> Result<Self> {
        if packet.buffer.as_ref().len() < HEADER_LEN {
            return Err(Error::Truncated { layer: "ipv4" });
        }
        // RFC 791 §3.1: "The Version field indicates the format of the internet header."
        if packet.version() != 4 {
            return Err(Error::BadVersion(packet.version()));
        }
        packet.check_len()?;
        if mode == ChecksumMode::Verify && !packet.verify_checksum() {
            return Err(Error::BadChecksum { layer: "ipv4" });
        }
        if packet.more_frags() || packet.frag_offset() != 0 {
            return Err(Error::Fragmented {
                offset: packet.frag_offset(),
                more: packet.more_frags(),
            });
        }
        Ok(Ipv4Repr {
            src_addr: packet.src_addr(),
            dst_addr: packet.dst_addr(),
            protocol: packet.protocol(),
            payload_len: usize::from(packet.total_len()) - packet.header_len(),
            ttl: packet.ttl(),
            ident: packet.ident(),
            dont_frag: packet.dont_frag(),
            tos: packet.tos(),
        })
    }

    /// Header length as emitted: 20 (options are never emitted).
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Write the 20-byte header (IHL 5, no fragmentation) with its checksum. The packet buffer
    /// must hold at least the header. A `payload_len` above [`MAX_PAYLOAD_LEN`] is a caller bug;
    /// the total length field then saturates at 65535.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Ipv4Packet<T>) {
        packet.set_version_ihl(4, 5);
        packet.set_tos(self.tos);
        let total = u16::try_from(HEADER_LEN + self.payload_len).unwrap_or(u16::MAX);
        packet.set_total_len(total);
        packet.set_ident(self.ident);
        packet.set_flags_frag(self.dont_frag, false, 0);
        packet.set_ttl(self.ttl);
        packet.set_protocol(self.protocol);
        packet.set_src_addr(self.src_addr);
        packet.set_dst_addr(self.dst_addr);
        packet.fill_checksum();
    }
}
