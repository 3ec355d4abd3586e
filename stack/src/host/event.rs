//! The host's event log: each layer's events (they own their types: [`ArpEvent`],
//! [`IpEvent`], [`TcpEvent`]) wrapped with the layer they come from, in time order.
//!
//! The harness may read this log as extra evidence (it names causes such as
//! `arp-queue-overflow`); the frames remain the primary evidence.

use crate::arp::ArpEvent;
use crate::ip::{IfaceEvent, IpEvent};
use crate::tcp::TcpEvent;
use crate::time::{Instant, Timed};
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
    Arp(ArpEvent),
    Ip(IpEvent),
    Tcp(TcpEvent),
}

impl From<ArpEvent> for EventKind {
    fn from(e: ArpEvent) -> Self {
        EventKind::Arp(e)
    }
}

impl From<IpEvent> for EventKind {
    fn from(e: IpEvent) -> Self {
        EventKind::Ip(e)
    }
}

impl From<TcpEvent> for EventKind {
    fn from(e: TcpEvent) -> Self {
        EventKind::Tcp(e)
    }
}

impl From<IfaceEvent> for EventKind {
    fn from(e: IfaceEvent) -> Self {
        match e {
            IfaceEvent::Ip(e) => EventKind::Ip(e),
            IfaceEvent::Arp(e) => EventKind::Arp(e),
        }
    }
}

impl<E: Into<EventKind>> From<Timed<E>> for Event {
    fn from(t: Timed<E>) -> Self {
        Event {
            time: t.time,
            kind: t.event.into(),
        }
    }
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
