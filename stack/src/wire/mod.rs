//! Frames on the wire: Ethernet II, ARP (RFC 826), IPv4 (RFC 791) and TCP (RFC 9293).
//!
//! Each format has two halves, in the smoltcp shape:
//! - a zero-copy view `Xxx<T: AsRef<[u8]>>` (`EthernetFrame`, `ArpPacket`, `Ipv4Packet`,
//!   `TcpSegment`) with `new_unchecked`, `new_checked`, `check_len` and `into_inner`; field
//!   offsets live in a private `mod field`; setters are in a separate
//!   `impl<T: AsRef<[u8]> + AsMut<[u8]>>`;
//! - a plain `XxxRepr` struct with `parse` (from a view), `buffer_len` and `emit` (into a view),
//!   such that `parse(emit(r)) == r` for every valid (canonical) `r`.
//!
//! # The no-panic rule
//! **Once `check_len()` has returned `Ok` on a view, no getter of that view panics, whatever the
//! bytes are.** `check_len` checks every length the getters rely on (including IHL, total length
//! and data offset); getters whose range depends on a field the check does not pin use
//! `get(..)` and fall back to an empty slice or zero. `Repr::parse` calls `check_len` itself,
//! so `Repr::parse(&View::new_unchecked(bytes))` is safe on any bytes. Setters and `emit` may
//! panic if the caller's buffer is too short: that is a bug of ours, never of the input.
//!
//! Every malformed input is an [`Error`], never a panic. Checksums are verified unless the caller
//! switches verification off with a [`ChecksumMode`] value (fuzz targets may), never with a `cfg`.
//!
//! # Convenience layer
//! [`parse_frame`], [`parse_ipv4_tcp`], [`build_ipv4_tcp`], [`build_ipv4`], [`build_ethernet`],
//! [`build_arp_frame`] and [`summarize_ipv4`] (in [`frame`]) handle whole frames. Built Ethernet
//! frames carry no FCS and are **not** padded to 60 bytes; parsing accepts padded frames.

pub mod arp;
pub mod checksum;
pub mod ethernet;
pub mod frame;
pub mod ipv4;
pub mod seq;
pub mod tcp;
#[cfg(test)]
mod tests;
#[cfg(test)]
pub(crate) mod testutil;

pub use arp::{ArpOperation, ArpPacket, ArpRepr};
pub use ethernet::{EtherType, EthernetAddress, EthernetFrame, EthernetRepr};
pub use frame::{
    build_arp_frame, build_ethernet, build_ipv4, build_ipv4_tcp, build_tcp_frame, parse_frame,
    parse_ipv4_tcp, prepend_ethernet, summarize_ipv4, Frame, PacketSummary,
};
pub use ipv4::{IpProtocol, Ipv4Packet, Ipv4Repr};
pub use seq::SeqNumber;
pub use tcp::{TcpFlags, TcpOption, TcpRepr, TcpSegment};

pub use core::net::Ipv4Addr;

/// Whether checksums are verified on parse.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ChecksumMode {
    /// Verify every checksum (the default).
    #[default]
    Verify,
    /// Skip verification (fuzzing, captures with offloaded checksums).
    Ignore,
}

/// Why bytes could not be parsed. One variant per distinct defect, so tests and findings can
/// say exactly what was wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The buffer ends before the fixed header of `layer` does.
    Truncated { layer: &'static str },
    /// A length field disagrees with the buffer (`layer` names the header).
    BadLength { layer: &'static str },
    /// A checksum did not verify.
    BadChecksum { layer: &'static str },
    /// IPv4 version field is not 4.
    BadVersion(u8),
    /// IPv4 IHL below 5 or past the packet.
    BadHeaderLength(u8),
    /// TCP data offset below 5 or past the segment.
    BadDataOffset(u8),
    /// A TCP option's length byte is 0 or 1, or runs past the header; `kind` names the option.
    BadOptionLength { kind: u8 },
    /// A TCP option whose length does not fit its kind (e.g. MSS with length 5).
    BadOptionValue { kind: u8 },
    /// Ethertype the stack does not handle.
    UnknownEtherType(u16),
    /// ARP opcode other than request (1) / reply (2).
    UnknownArpOperation(u16),
    /// ARP hardware/protocol type or address lengths other than Ethernet/IPv4.
    UnsupportedArp,
    /// IPv4 fragment (MF set or non-zero offset): recognised and reported, not reassembled.
    /// `offset` is the header's fragment offset field, in units of 8 octets (RFC 791 §3.1).
    Fragmented { offset: u16, more: bool },
    /// IP protocol the stack does not handle.
    UnknownProtocol(u8),
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Error::Truncated { layer } => write!(f, "{layer}: truncated"),
            Error::BadLength { layer } => write!(f, "{layer}: bad length field"),
            Error::BadChecksum { layer } => write!(f, "{layer}: bad checksum"),
            Error::BadVersion(v) => write!(f, "ipv4: version {v} is not 4"),
            Error::BadHeaderLength(l) => write!(f, "ipv4: bad header length {l}"),
            Error::BadDataOffset(o) => write!(f, "tcp: bad data offset {o}"),
            Error::BadOptionLength { kind } => write!(f, "tcp: option {kind} has a bad length"),
            Error::BadOptionValue { kind } => write!(f, "tcp: option {kind} has a bad value"),
            Error::UnknownEtherType(t) => write!(f, "ethernet: unknown ethertype {t:#06x}"),
            Error::UnknownArpOperation(o) => write!(f, "arp: unknown operation {o}"),
            Error::UnsupportedArp => write!(f, "arp: not Ethernet/IPv4"),
            Error::Fragmented { offset, more } => {
                write!(f, "ipv4: fragment (offset {offset}, more fragments {more})")
            }
            Error::UnknownProtocol(p) => write!(f, "ipv4: unknown protocol {p}"),
        }
    }
}

impl std::error::Error for Error {}

/// Result of parsing.
pub type Result<T> = core::result::Result<T, Error>;
