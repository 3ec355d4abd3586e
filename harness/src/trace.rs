//! The trace of a run: every frame put on a simulated segment (with its fate) and every event the
//! nodes logged, in time order. Oracles read traces; pcaps and ladders are drawn from them.

use core::fmt;
use core::net::SocketAddrV4;
use stack::tcp::FourTuple;
use stack::{Event, Instant};

/// Index of a node in the world.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(pub usize);

/// Index of an L2 segment in the world.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SegmentId(pub usize);

/// What became of a frame put on a segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fate {
    Delivered,
    /// Dropped by an impairment rule (`loss`, `outage`, ...).
    Dropped(String),
}

/// One frame as a capture tap on its segment saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameRecord {
    pub time: Instant,
    pub segment: SegmentId,
    /// 1-based number of the frame in its segment's pcap (what Wireshark shows).
    pub number: usize,
    pub from: NodeId,
    pub bytes: Vec<u8>,
    pub fate: Fate,
    /// When the frame reaches the other ports (None if dropped).
    pub delivered_at: Option<Instant>,
}

/// NAT box events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NatEvent {
    MappingCreated {
        inside: SocketAddrV4,
        outside: SocketAddrV4,
        remote: SocketAddrV4,
    },
    MappingExpired {
        inside: SocketAddrV4,
        outside: SocketAddrV4,
        remote: SocketAddrV4,
        idle_for: stack::Duration,
    },
    /// A packet that matched no mapping was dropped (silently, or answered with RST).
    NoMapping {
        from: SocketAddrV4,
        to: SocketAddrV4,
        flags: stack::wire::TcpFlags,
        answered_with_rst: bool,
    },
}

impl fmt::Display for NatEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NatEvent::MappingCreated {
                inside,
                outside,
                remote,
            } => write!(f, "nat map {inside} as {outside} for {remote}"),
            NatEvent::MappingExpired {
                inside,
                outside,
                remote,
                idle_for,
            } => write!(
                f,
                "nat expired {inside} as {outside} for {remote} after idle {idle_for}"
            ),
            NatEvent::NoMapping {
                from,
                to,
                answered_with_rst,
                ..
            } => write!(
                f,
                "nat no mapping for {from} > {to}: {}",
                if *answered_with_rst {
                    "answered with RST"
                } else {
                    "dropped silently"
                }
            ),
        }
    }
}

/// Application events (what a user of the connection saw).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AppEvent {
    Connected {
        conn: FourTuple,
    },
    ConnectFailed {
        remote: SocketAddrV4,
        error: String,
    },
    /// A request was written on a connection taken from the pool (not freshly opened).
    ReusedPooled {
        conn: FourTuple,
        idle_for: stack::Duration,
    },
    RequestDone {
        conn: FourTuple,
        latency: stack::Duration,
    },
    RequestFailed {
        conn: Option<FourTuple>,
        error: String,
    },
    /// The application closed a connection (idle timeout, reaper, heartbeat loss, ...).
    Closed {
        conn: FourTuple,
        how: String,
        why: String,
    },
    /// Free text for everything else.
    Note(String),
}

impl fmt::Display for AppEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AppEvent::Connected { conn } => write!(f, "app connected {conn}"),
            AppEvent::ConnectFailed { remote, error } => {
                write!(f, "app connect to {remote} failed: {error}")
            }
            AppEvent::ReusedPooled { conn, idle_for } => {
                write!(f, "app reused pooled {conn} idle {idle_for}")
            }
            AppEvent::RequestDone { conn, latency } => {
                write!(f, "app request on {conn} done in {latency}")
            }
            AppEvent::RequestFailed { conn, error } => match conn {
                Some(c) => write!(f, "app request on {c} failed: {error}"),
                None => write!(f, "app request failed: {error}"),
            },
            AppEvent::Closed { conn, how, why } => write!(f, "app {how} {conn}: {why}"),
            AppEvent::Note(s) => write!(f, "app {s}"),
        }
    }
}

/// What a trace entry is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TraceKind {
    Frame(FrameRecord),
    Stack {
        node: NodeId,
        event: Event,
    },
    Nat {
        node: NodeId,
        event: NatEvent,
    },
    App {
        node: NodeId,
        event: AppEvent,
    },
    /// The host lost all its state (reboot) or stopped answering (crash).
    HostDown {
        node: NodeId,
        reboot: bool,
    },
    HostUp {
        node: NodeId,
    },
    /// A frame injected by the scenario (old duplicate etc.).
    Injected {
        node: NodeId,
        note: String,
    },
}

/// One trace entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceEvent {
    pub time: Instant,
    pub kind: TraceKind,
}

/// Names of the things in a trace, for reports.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TraceMeta {
    pub node_names: Vec<String>,
    /// Host IPv4 addresses by node (routers/NATs: their first interface).
    pub node_addrs: Vec<Vec<core::net::Ipv4Addr>>,
    pub segment_names: Vec<String>,
}

/// A whole run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Trace {
    pub meta: TraceMeta,
    pub events: Vec<TraceEvent>,
    pub end: Instant,
}

impl Trace {
    pub fn node_name(&self, n: NodeId) -> &str {
        self.meta
            .node_names
            .get(n.0)
            .map(String::as_str)
            .unwrap_or("?")
    }

    /// Frames of one segment in capture order.
    pub fn frames(&self, seg: SegmentId) -> impl Iterator<Item = &FrameRecord> {
        self.events.iter().filter_map(move |e| match &e.kind {
            TraceKind::Frame(f) if f.segment == seg => Some(f),
            _ => None,
        })
    }

    /// The node that owns an IPv4 address, if any.
    pub fn node_of_addr(&self, a: core::net::Ipv4Addr) -> Option<NodeId> {
        self.meta
            .node_addrs
            .iter()
            .position(|v| v.contains(&a))
            .map(NodeId)
    }
}
