//! The event log the layers share: what happened, when, in which layer and why.
//!
//! The harness reads this log (alongside the frames) to turn a trace into findings, so every
//! drop, state change, RST and timer that matters to connection death is an event with its reason.

use crate::time::Instant;
use crate::wire::{IpProtocol, Ipv4Addr, SeqNumber, TcpFlags};
use core::fmt;

/// One logged event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub time: Instant,
    pub kind: EventKind,
}

/// The layer an event comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Layer {
    Arp,
    Ip,
    Tcp,
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Layer::Arp => "arp",
            Layer::Ip => "ip",
            Layer::Tcp => "tcp",
        })
    }
}

/// What happened, per layer. Each layer module defines its own event enum.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventKind {
    Arp(crate::arp::ArpEvent),
    Ip(crate::ip::IpEvent),
    Tcp(crate::tcp::TcpEvent),
}

impl Event {
    pub fn layer(&self) -> Layer {
        match self.kind {
            EventKind::Arp(_) => Layer::Arp,
            EventKind::Ip(_) => Layer::Ip,
            EventKind::Tcp(_) => Layer::Tcp,
        }
    }
}

/// `time layer details`, e.g. `120.000000s arp drop ...`.
impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} ", self.time, self.layer())?;
        match &self.kind {
            EventKind::Arp(e) => write!(f, "{e}"),
            EventKind::Ip(e) => write!(f, "{e}"),
            EventKind::Tcp(e) => write!(f, "{e}"),
        }
    }
}

/// Enough of an IPv4 packet to say *which* packet an event is about (for TCP: the 4-tuple,
/// flags and sequence number), without keeping its bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PacketSummary {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub protocol: IpProtocol,
    /// TCP ports (0 for other protocols).
    pub src_port: u16,
    pub dst_port: u16,
    /// TCP flags (empty for other protocols).
    pub flags: TcpFlags,
    pub seq: SeqNumber,
    /// Length of the whole IPv4 packet in bytes.
    pub len: usize,
}
