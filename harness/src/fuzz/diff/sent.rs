//! What a stack sent, normalised so that two stacks with different ISNs and buffer layouts can
//! be compared segment by segment (RFC 9293 §3.1 header fields).
//!
//! Kept: the control bits SYN, FIN, RST, ACK; the sequence number relative to the stack's own
//! ISS; the acknowledgment number relative to the peer's ISS (when ACK is set); the payload
//! (length and bytes); whether the window is zero; the MSS option. Dropped, each for a stated
//! reason:
//! - PSH: RFC 9293 §3.9.1 (MAY-16/SHLD-x): the sender sets it at its discretion;
//! - the exact window value: each stack advertises from its own buffer accounting (RFC 9293
//!   §3.8.6.2 receiver SWS avoidance leaves the increments to the receiver); a closed window
//!   (zero) versus an open one is what flow control means, so that is compared;
//! - options other than MSS (window scale, SACK-permitted): each stack derives them from its
//!   configuration, and both here run without scaling (RFC 7323 §2.2 lets a stack offer it),
//!   see [`super::reference_profile`].

use core::fmt;
use stack::wire::{SeqNumber, TcpFlags, TcpRepr};

/// One segment a stack sent, normalised.
#[derive(Clone, PartialEq, Eq)]
pub struct Sent {
    pub syn: bool,
    pub fin: bool,
    pub rst: bool,
    /// `None`: no ACK bit.
    pub ack: Option<u32>,
    /// SEG.SEQ − ISS, or `None` for an RST with SEG.SEQ = 0 (the RFC 9293 §3.10.7.1 reply to
    /// a segment without ACK: "<SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>", not in any
    /// connection's sequence space).
    pub seq: Option<u32>,
    pub payload: Vec<u8>,
    pub zero_window: bool,
    pub mss: Option<u16>,
}

impl Sent {
    /// Normalises `tcp` sent by a stack whose ISS is `iss` to a peer whose ISS is `peer_iss`.
    pub fn new(tcp: &TcpRepr, iss: SeqNumber, peer_iss: SeqNumber) -> Sent {
        let f = tcp.flags;
        let rst = f.contains(TcpFlags::RST);
        Sent {
            syn: f.contains(TcpFlags::SYN),
            fin: f.contains(TcpFlags::FIN),
            rst,
            ack: f
                .contains(TcpFlags::ACK)
                .then(|| tcp.ack.0.wrapping_sub(peer_iss.0)),
            seq: (!(rst && tcp.seq.0 == 0)).then(|| tcp.seq.0.wrapping_sub(iss.0)),
            payload: tcp.payload.clone(),
            zero_window: tcp.window == 0,
            mss: tcp.mss(),
        }
    }

    /// SEG.LEN (RFC 9293 §3.4): payload plus SYN and FIN.
    pub fn seg_len(&self) -> u32 {
        self.payload.len() as u32 + u32::from(self.syn) + u32::from(self.fin)
    }

    /// The relative sequence number just past this segment.
    pub fn end(&self) -> Option<u32> {
        self.seq.map(|s| s.wrapping_add(self.seg_len()))
    }

    /// A bare ACK: no data, no control bit but ACK.
    pub fn is_pure_ack(&self) -> bool {
        self.ack.is_some() && !self.syn && !self.fin && !self.rst && self.payload.is_empty()
    }
}

/// tcpdump-like: `S. 0:0(0) ack 1 win>0 mss 1460`.
impl fmt::Debug for Sent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut flags = String::new();
        for (on, c) in [(self.syn, 'S'), (self.fin, 'F'), (self.rst, 'R')] {
            if on {
                flags.push(c);
            }
        }
        if self.ack.is_some() {
            flags.push('.');
        }
        match self.seq {
            Some(s) => write!(
                f,
                "{flags} {s}:{}({})",
                s.wrapping_add(self.payload.len() as u32),
                self.payload.len()
            )?,
            None => write!(f, "{flags} seq=0")?,
        }
        if let Some(a) = self.ack {
            write!(f, " ack {a}")?;
        }
        f.write_str(if self.zero_window { " win=0" } else { " win>0" })?;
        if let Some(m) = self.mss {
            write!(f, " mss {m}")?;
        }
        Ok(())
    }
}
