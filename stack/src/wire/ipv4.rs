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
    /// The header of a TCP packet from `src` to `dst` as hosts commonly send it: TTL 64 (the
    /// default RFC 1700 recommends; RFC 1122 §3.2.1.7 asks for a configurable TTL), DF set
    /// (RFC 1191 path MTU discovery), identification 0, TOS 0. `payload_len` is 0:
    /// [`build_ipv4_tcp`](super::build_ipv4_tcp) fills it in. Change a field with struct
    /// update syntax, e.g. `Ipv4Repr { ident: 7, ..Ipv4Repr::tcp(a, b) }`.
    pub const fn tcp(src: Ipv4Addr, dst: Ipv4Addr) -> Ipv4Repr {
        Ipv4Repr {
            src_addr: src,
            dst_addr: dst,
            protocol: IpProtocol::Tcp,
            payload_len: 0,
            ttl: 64,
            ident: 0,
            dont_frag: true,
            tos: 0,
        }
    }

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::testutil::{hex, ipv4_repr, naive_sum};
    use proptest::prelude::*;
    use rstest::rstest;

    /// RFC 791 §3.1 header: version 4, IHL 5, tos 0, total 24, ident 0x1c46, DF, ttl 64,
    /// TCP, checksum 0x0a98, 10.0.0.1 -> 10.0.0.2; then 4 payload bytes.
    const PACKET: &str = "45 00 0018 1c46 4000 40 06 0a98 0a000001 0a000002 deadbeef";

    fn parse(bytes: &[u8]) -> Result<Ipv4Repr> {
        Ipv4Repr::parse(&Ipv4Packet::new_unchecked(bytes), ChecksumMode::Verify)
    }

    /// Recompute the header checksum with the naive test sum after a test edits the header.
    fn refill(bytes: &mut [u8]) {
        let hl = usize::from(bytes[0] & 0xf) * 4;
        bytes[10] = 0;
        bytes[11] = 0;
        let c = !naive_sum(&[&bytes[..hl.min(bytes.len())]]);
        bytes[10..12].copy_from_slice(&c.to_be_bytes());
    }

    #[test]
    fn known_packet_decodes_and_reencodes() {
        let bytes = hex(PACKET);
        assert_eq!(naive_sum(&[&bytes[..20]]), 0xffff, "test vector checksum");
        let repr = parse(&bytes).expect("parses");
        assert_eq!(
            repr,
            Ipv4Repr {
                src_addr: Ipv4Addr::new(10, 0, 0, 1),
                dst_addr: Ipv4Addr::new(10, 0, 0, 2),
                protocol: IpProtocol::Tcp,
                payload_len: 4,
                ttl: 64,
                ident: 0x1c46,
                dont_frag: true,
                tos: 0,
            }
        );
        let mut out = vec![0u8; 24];
        out[20..].copy_from_slice(&bytes[20..]);
        repr.emit(&mut Ipv4Packet::new_unchecked(&mut out[..]));
        assert_eq!(out, bytes);
    }

    #[test]
    fn ethernet_padding_is_trimmed() {
        let mut bytes = hex(PACKET);
        bytes.extend_from_slice(&[0; 22]);
        let p = Ipv4Packet::new_checked(&bytes[..]).expect("longer buffer is fine");
        assert_eq!(p.payload(), &hex("deadbeef")[..]);
        assert_eq!(parse(&bytes).map(|r| r.payload_len), Ok(4));
    }

    #[test]
    fn options_are_skipped() {
        // IHL 6 with one option word (NOP NOP NOP EOL), total 28.
        let mut bytes = hex("46 00 001c 0001 0000 40 06 0000 0a000001 0a000002 01010100 deadbeef");
        refill(&mut bytes);
        let p = Ipv4Packet::new_checked(&bytes[..]).expect("valid");
        assert_eq!(p.options(), &[1, 1, 1, 0]);
        assert_eq!(p.payload(), &hex("deadbeef")[..]);
        let r = parse(&bytes).expect("parses");
        assert_eq!(r.payload_len, 4);
        assert!(!r.dont_frag);
    }

    #[rstest]
    #[case::empty(0)]
    #[case::version_only(1)]
    #[case::before_addresses(12)]
    #[case::mid_destination(19)]
    fn truncated(#[case] len: usize) {
        assert_eq!(
            parse(&hex(PACKET)[..len]),
            Err(Error::Truncated { layer: "ipv4" })
        );
    }

    #[rstest]
    #[case::version_6(0, 0x65, Error::BadVersion(6))]
    #[case::version_0(0, 0x05, Error::BadVersion(0))]
    #[case::ihl_0(0, 0x40, Error::BadHeaderLength(0))]
    #[case::ihl_4(0, 0x44, Error::BadHeaderLength(4))]
    #[case::ihl_past_buffer(0, 0x47, Error::BadHeaderLength(7))]
    #[case::ihl_max_past_buffer(0, 0x4f, Error::BadHeaderLength(15))]
    #[case::total_below_header(3, 19, Error::BadLength { layer: "ipv4" })]
    #[case::total_zero(3, 0, Error::BadLength { layer: "ipv4" })]
    #[case::total_past_buffer(3, 25, Error::BadLength { layer: "ipv4" })]
    #[case::more_fragments(6, 0x60, Error::Fragmented { offset: 0, more: true })]
    #[case::last_fragment(7, 0x10, Error::Fragmented { offset: 0x10, more: false })]
    fn malformed(#[case] at: usize, #[case] v: u8, #[case] want: Error) {
        let mut bytes = hex(PACKET);
        bytes[at] = v;
        refill(&mut bytes);
        assert_eq!(parse(&bytes), Err(want));
    }

    #[rstest]
    #[case::checksum_field(10)]
    #[case::ttl(8)]
    #[case::source(15)]
    fn bad_checksum(#[case] at: usize) {
        let mut bytes = hex(PACKET);
        bytes[at] ^= 0x01;
        assert_eq!(parse(&bytes), Err(Error::BadChecksum { layer: "ipv4" }));
        let ignored = Ipv4Repr::parse(&Ipv4Packet::new_unchecked(&bytes[..]), ChecksumMode::Ignore);
        assert!(ignored.is_ok());
    }

    #[test]
    fn protocol_numbers_map_both_ways() {
        for v in 0..=255u8 {
            assert_eq!(u8::from(IpProtocol::from(v)), v);
        }
        assert_eq!(IpProtocol::from(6), IpProtocol::Tcp);
        assert_eq!(IpProtocol::from(17), IpProtocol::Udp);
        assert_eq!(IpProtocol::from(1), IpProtocol::Icmp);
    }

    proptest! {
        #[test]
        fn repr_round_trips(r in ipv4_repr(MAX_PAYLOAD_LEN)) {
            let mut buf = vec![0u8; r.buffer_len() + r.payload_len];
            r.emit(&mut Ipv4Packet::new_unchecked(&mut buf[..]));
            prop_assert_eq!(naive_sum(&[&buf[..20]]), 0xffff);
            prop_assert_eq!(parse(&buf), Ok(r));
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            let p = Ipv4Packet::new_unchecked(&bytes[..]);
            let _ = Ipv4Repr::parse(&p, ChecksumMode::Verify);
            let _ = Ipv4Repr::parse(&p, ChecksumMode::Ignore);
            if let Ok(p) = Ipv4Packet::new_checked(&bytes[..]) {
                let _ = (p.version(), p.tos(), p.ident(), p.dont_frag(), p.more_frags());
                let _ = (p.frag_offset(), p.ttl(), p.protocol(), p.checksum());
                let _ = (p.src_addr(), p.dst_addr(), p.options(), p.payload());
                let _ = p.verify_checksum();
            }
        }

        #[test]
        fn mutated_headers_never_panic(at in 0usize..24, v in any::<u8>(), fix in any::<bool>()) {
            let mut bytes = hex(PACKET);
            bytes[at] = v;
            if fix {
                refill(&mut bytes);
            }
            let _ = parse(&bytes);
        }
    }
}
