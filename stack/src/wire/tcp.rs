//! TCP segments (RFC 9293 §3.1) with options (RFC 9293 §3.2, RFC 7323, RFC 2018).

use super::SeqNumber;

/// TCP control bits, including ECE/CWR (RFC 3168) and NS (RFC 3540).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct TcpFlags(pub u16);

impl TcpFlags {
    pub const FIN: TcpFlags = TcpFlags(0x001);
    pub const SYN: TcpFlags = TcpFlags(0x002);
    pub const RST: TcpFlags = TcpFlags(0x004);
    pub const PSH: TcpFlags = TcpFlags(0x008);
    pub const ACK: TcpFlags = TcpFlags(0x010);
    pub const URG: TcpFlags = TcpFlags(0x020);
    pub const ECE: TcpFlags = TcpFlags(0x040);
    pub const CWR: TcpFlags = TcpFlags(0x080);
    pub const NS: TcpFlags = TcpFlags(0x100);
    pub const NONE: TcpFlags = TcpFlags(0);

    pub fn contains(self, other: TcpFlags) -> bool {
        self.0 & other.0 == other.0
    }
    pub fn fin(self) -> bool {
        self.contains(Self::FIN)
    }
    pub fn syn(self) -> bool {
        self.contains(Self::SYN)
    }
    pub fn rst(self) -> bool {
        self.contains(Self::RST)
    }
    pub fn psh(self) -> bool {
        self.contains(Self::PSH)
    }
    pub fn ack(self) -> bool {
        self.contains(Self::ACK)
    }
    pub fn urg(self) -> bool {
        self.contains(Self::URG)
    }
}

impl core::ops::BitOr for TcpFlags {
    type Output = TcpFlags;
    fn bitor(self, o: TcpFlags) -> TcpFlags {
        TcpFlags(self.0 | o.0)
    }
}
impl core::ops::BitOrAssign for TcpFlags {
    fn bitor_assign(&mut self, o: TcpFlags) {
        self.0 |= o.0;
    }
}

/// One TCP option, in the order it appears in the header.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum TcpOption {
    /// Kind 0. Ends the option list; what follows is padding.
    EndOfList,
    /// Kind 1.
    NoOp,
    /// Kind 2, RFC 9293 §3.2.
    MaxSegmentSize(u16),
    /// Kind 3, RFC 7323 §2.
    WindowScale(u8),
    /// Kind 4, RFC 2018.
    SackPermitted,
    /// Kind 5, RFC 2018: (left edge, right edge) blocks, 1 to 4.
    SackRange(Vec<(u32, u32)>),
    /// Kind 8, RFC 7323 §3.
    Timestamps { tsval: u32, tsecr: u32 },
    /// Any other kind, data preserved byte for byte.
    Unknown { kind: u8, data: Vec<u8> },
}

/// A checked view of a TCP segment.
#[derive(Debug, Clone)]
pub struct TcpSegment<T: AsRef<[u8]>> {
    buffer: T,
}

/// A TCP segment as plain data. The payload is owned so segments can be queued, logged and
/// replayed without borrowing the frame they came from.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct TcpRepr {
    pub src_port: u16,
    pub dst_port: u16,
    pub seq: SeqNumber,
    /// Acknowledgment number field (meaningful when ACK is set; preserved either way).
    pub ack: SeqNumber,
    pub flags: TcpFlags,
    pub window: u16,
    pub urgent: u16,
    pub options: Vec<TcpOption>,
    pub payload: Vec<u8>,
}

impl TcpRepr {
    /// Sequence space the segment occupies: payload plus one for SYN and one for FIN
    /// (RFC 9293 §3.4, SEG.LEN).
    pub fn seg_len(&self) -> usize {
        self.payload.len() + usize::from(self.flags.syn()) + usize::from(self.flags.fin())
    }
    /// The MSS option, if present.
    pub fn mss(&self) -> Option<u16> {
        self.options.iter().find_map(|o| match o {
            TcpOption::MaxSegmentSize(m) => Some(*m),
            _ => None,
        })
    }
    /// The window scale option, if present.
    pub fn window_scale(&self) -> Option<u8> {
        self.options.iter().find_map(|o| match o {
            TcpOption::WindowScale(s) => Some(*s),
            _ => None,
        })
    }
    /// True when the SACK-permitted option is present.
    pub fn sack_permitted(&self) -> bool {
        self.options.contains(&TcpOption::SackPermitted)
    }
}
