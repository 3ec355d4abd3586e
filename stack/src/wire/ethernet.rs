//! Ethernet II frames (no 802.1Q, no FCS).

use super::{Error, Result};
use core::fmt;

/// A 48-bit MAC address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct EthernetAddress(pub [u8; 6]);

impl EthernetAddress {
    pub const BROADCAST: EthernetAddress = EthernetAddress([0xff; 6]);
    pub const ZERO: EthernetAddress = EthernetAddress([0; 6]);

    pub fn is_broadcast(&self) -> bool {
        *self == Self::BROADCAST
    }
}

impl fmt::Display for EthernetAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

/// Ethertype values the stack knows; anything else is kept as `Unknown`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EtherType {
    Ipv4,
    Arp,
    Unknown(u16),
}

impl From<u16> for EtherType {
    fn from(v: u16) -> Self {
        match v {
            0x0800 => EtherType::Ipv4,
            0x0806 => EtherType::Arp,
            other => EtherType::Unknown(other),
        }
    }
}

impl From<EtherType> for u16 {
    fn from(t: EtherType) -> u16 {
        match t {
            EtherType::Ipv4 => 0x0800,
            EtherType::Arp => 0x0806,
            EtherType::Unknown(v) => v,
        }
    }
}

/// A checked view of an Ethernet II frame.
#[derive(Debug, Clone)]
pub struct EthernetFrame<T: AsRef<[u8]>> {
    buffer: T,
}

/// The header fields of an Ethernet II frame; the payload stays in the buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EthernetRepr {
    pub src_addr: EthernetAddress,
    pub dst_addr: EthernetAddress,
    pub ethertype: EtherType,
}

mod field {
    use core::ops::{Range, RangeFrom};
    pub const DESTINATION: Range<usize> = 0..6;
    pub const SOURCE: Range<usize> = 6..12;
    pub const ETHERTYPE: Range<usize> = 12..14;
    pub const PAYLOAD: RangeFrom<usize> = 14..;
}

/// Length of an Ethernet II header (destination, source, ethertype).
pub const HEADER_LEN: usize = field::PAYLOAD.start;

/// Minimum Ethernet frame length without FCS (IEEE 802.3 §3.2.8: 64 octets including the FCS).
/// [`build_ethernet`](super::build_ethernet) does **not** pad to this; parsing accepts both.
pub const MIN_FRAME_LEN: usize = 60;

impl<T: AsRef<[u8]>> EthernetFrame<T> {
    /// Wrap a buffer without checking its length.
    pub const fn new_unchecked(buffer: T) -> Self {
        EthernetFrame { buffer }
    }

    /// Wrap a buffer and check that it holds a whole Ethernet header.
    pub fn new_checked(buffer: T) -> Result<Self> {
        let f = Self::new_unchecked(buffer);
        f.check_len()?;
        Ok(f)
    }

    /// `Err(Truncated)` unless the buffer holds the 14-byte header; after `Ok`, no getter panics.
    pub fn check_len(&self) -> Result<()> {
        if self.buffer.as_ref().len() < HEADER_LEN {
            Err(Error::Truncated { layer: "ethernet" })
        } else {
            Ok(())
        }
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn addr(&self, r: core::ops::Range<usize>) -> EthernetAddress {
        let mut a = [0u8; 6];
        a.copy_from_slice(&self.buffer.as_ref()[r]);
        EthernetAddress(a)
    }

    pub fn dst_addr(&self) -> EthernetAddress {
        self.addr(field::DESTINATION)
    }

    pub fn src_addr(&self) -> EthernetAddress {
        self.addr(field::SOURCE)
    }

    pub fn ethertype(&self) -> EtherType {
        let b = &self.buffer.as_ref()[field::ETHERTYPE];
        EtherType::from(u16::from_be_bytes([b[0], b[1]]))
    }

    /// Everything after the header (including any padding the sender added).
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[field::PAYLOAD]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> EthernetFrame<T> {
    pub fn set_dst_addr(&mut self, a: EthernetAddress) {
        self.buffer.as_mut()[field::DESTINATION].copy_from_slice(&a.0);
    }

    pub fn set_src_addr(&mut self, a: EthernetAddress) {
        self.buffer.as_mut()[field::SOURCE].copy_from_slice(&a.0);
    }

    pub fn set_ethertype(&mut self, t: EtherType) {
        self.buffer.as_mut()[field::ETHERTYPE].copy_from_slice(&u16::from(t).to_be_bytes());
    }

    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::PAYLOAD]
    }
}

impl EthernetRepr {
    /// Read the header of a frame (any ethertype, `Unknown` included).
    pub fn parse<T: AsRef<[u8]>>(frame: &EthernetFrame<T>) -> Result<Self> {
        frame.check_len()?;
        Ok(EthernetRepr {
            src_addr: frame.src_addr(),
            dst_addr: frame.dst_addr(),
            ethertype: frame.ethertype(),
        })
    }

    /// Header length: 14.
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Write the header; the frame must be at least [`HEADER_LEN`] long (a broken invariant of
    /// the caller otherwise).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, frame: &mut EthernetFrame<T>) {
        frame.set_dst_addr(self.dst_addr);
        frame.set_src_addr(self.src_addr);
        frame.set_ethertype(self.ethertype);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::testutil::{ethernet_repr, hex};
    use proptest::prelude::*;
    use rstest::rstest;

    #[rstest]
    #[case::empty(0)]
    #[case::mid_dst(3)]
    #[case::mid_src(9)]
    #[case::mid_ethertype(13)]
    fn truncated_header(#[case] len: usize) {
        let bytes = [0xaau8; 14];
        let err = EthernetFrame::new_checked(&bytes[..len]).map(|_| ());
        assert_eq!(err, Err(Error::Truncated { layer: "ethernet" }));
    }

    #[rstest]
    #[case::ipv4("0800", EtherType::Ipv4)]
    #[case::arp("0806", EtherType::Arp)]
    #[case::ipv6("86dd", EtherType::Unknown(0x86dd))]
    #[case::vlan("8100", EtherType::Unknown(0x8100))]
    fn known_header_decodes(#[case] ty: &str, #[case] want: EtherType) {
        let bytes = hex(&format!("ffffffffffff 020000000001 {ty} 0102"));
        let frame = EthernetFrame::new_checked(&bytes[..]).expect("header present");
        let repr = EthernetRepr::parse(&frame).expect("parses");
        assert_eq!(repr.dst_addr, EthernetAddress::BROADCAST);
        assert!(repr.dst_addr.is_broadcast());
        assert_eq!(repr.src_addr, EthernetAddress([2, 0, 0, 0, 0, 1]));
        assert_eq!(repr.ethertype, want);
        assert_eq!(frame.payload(), &[1, 2]);
        let mut out = vec![0u8; repr.buffer_len() + 2];
        repr.emit(&mut EthernetFrame::new_unchecked(&mut out[..]));
        out[14..].copy_from_slice(&[1, 2]);
        assert_eq!(out, bytes);
    }

    #[test]
    fn address_displays_as_colon_hex() {
        let a = EthernetAddress([0x02, 0, 0xab, 0, 0, 0x1f]);
        assert_eq!(a.to_string(), "02:00:ab:00:00:1f");
    }

    proptest! {
        #[test]
        fn repr_round_trips(r in ethernet_repr()) {
            let mut buf = vec![0u8; r.buffer_len()];
            r.emit(&mut EthernetFrame::new_unchecked(&mut buf[..]));
            let frame = EthernetFrame::new_checked(&buf[..]).expect("emitted header");
            prop_assert_eq!(EthernetRepr::parse(&frame), Ok(r));
            prop_assert_eq!(u16::from(r.ethertype), u16::from_be_bytes([buf[12], buf[13]]));
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            if let Ok(f) = EthernetFrame::new_checked(&bytes[..]) {
                let _ = (f.src_addr(), f.dst_addr(), f.ethertype(), f.payload());
                prop_assert!(EthernetRepr::parse(&f).is_ok());
            } else {
                prop_assert!(bytes.len() < HEADER_LEN);
            }
        }
    }
}
