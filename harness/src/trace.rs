//! The trace of a run: every frame put on a simulated segment (with its fate) and every event the
//! nodes logged, in time order. Oracles read traces; pcaps and ladders are drawn from them.

use crate::dut::Errno;
use core::fmt;
use core::net::SocketAddrV4;
use stack::tcp::{FourTuple, State};
use stack::{Duration, Event, Instant};

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

/// What a stack under test lets the oracles see besides the frames on the wire, as its adapter
/// declares it. The oracles judge from the wire first; each of these only adds evidence, and where
/// a kind needs one the stack lacks, the report says "cannot judge" (see `oracle::CannotJudge`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StackEvidence {
    /// The stack's name (`reference`, `smoltcp`, `linux`; `unknown` for a capture's endpoint).
    pub stack: String,
    /// The trace holds the stack's own event log ([`TraceKind::Stack`]): names causes such as
    /// `arp-queue-overflow`.
    pub events: bool,
    /// The trace holds the stack's per-connection states ([`TraceKind::ConnState`]).
    pub state: bool,
    /// The trace holds the socket calls made on the stack and their results ([`TraceKind::Call`]).
    pub calls: bool,
    /// How long the stack declares it holds TIME-WAIT (2·MSL), where it declares it.
    pub time_wait: Option<Duration>,
    /// The stack runs on the wall clock (a live kernel): its frames are stamped as they leave,
    /// which may be a little after the socket call that caused them has returned.
    pub real_time: bool,
}

/// A socket call a user of a stack made (an application, a script), by kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallOp {
    Connect,
    Send,
    Recv,
    /// `close()`; `linger_zero`: with `SO_LINGER` 0 set (an abort: RST, no TIME-WAIT).
    Close {
        linger_zero: bool,
    },
    /// `abort()` (what `close()` with `SO_LINGER` 0 asks for on sockets APIs).
    Abort,
    Shutdown,
    /// `SO_ERROR`: the pending error, reported once.
    TakeError,
}

impl fmt::Display for CallOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CallOp::Connect => "connect",
            CallOp::Send => "send",
            CallOp::Recv => "recv",
            CallOp::Close { linger_zero: false } => "close",
            CallOp::Close { linger_zero: true } => "close(SO_LINGER 0)",
            CallOp::Abort => "abort",
            CallOp::Shutdown => "shutdown",
            CallOp::TakeError => "SO_ERROR",
        })
    }
}

/// One socket call and what the stack answered: evidence every stack shows. Only calls that end
/// or fail a connection are recorded (successful sends and `EAGAIN`s are not), so the log stays
/// small on long runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SocketCall {
    /// The connection the socket was on when called, where it had one.
    pub conn: Option<FourTuple>,
    pub op: CallOp,
    /// `Ok(n)`: bytes for send/recv (0 = end of stream), 0 otherwise.
    pub result: Result<usize, Errno>,
}

impl fmt::Display for SocketCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.op)?;
        if let Some(c) = &self.conn {
            write!(f, " on {c}")?;
        }
        match &self.result {
            Ok(n) => write!(f, " = {n}"),
            Err(e) => write!(f, " = {e}"),
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
    /// A socket call on a stack under test and its result.
    Call {
        node: NodeId,
        call: SocketCall,
    },
    /// A connection's state as the stack reports it, recorded when it changes (`None`: the stack
    /// no longer holds the connection).
    ConnState {
        node: NodeId,
        conn: FourTuple,
        state: Option<State>,
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
    /// What each node's stack shows besides the wire, by node; `None` (or missing) for nodes that
    /// are no stack under test (routers, NAT boxes, a script's scripted peer).
    pub stacks: Vec<Option<StackEvidence>>,
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

    /// What node `n`'s stack shows, if `n` is a stack under test.
    pub fn stack_of(&self, n: NodeId) -> Option<&StackEvidence> {
        self.meta.stacks.get(n.0).and_then(Option::as_ref)
    }

    /// The same trace as a stack without an event log would have left: every
    /// [`TraceKind::Stack`] entry removed and each stack's `events` cleared. (Run with
    /// `Overrides::hide_events` instead to also get the states such a stack would report.)
    pub fn without_events(&self) -> Trace {
        let mut t = self.clone();
        t.events
            .retain(|e| !matches!(e.kind, TraceKind::Stack { .. }));
        for s in t.meta.stacks.iter_mut().flatten() {
            s.events = false;
        }
        t
    }

    /// A trace of one capture, for judging recorded traffic (`harness check`): every frame on
    /// one segment named `segment`, delivered when captured; each IPv4 address that sent a
    /// frame becomes a node named after it, a stack under test called `stack` that shows
    /// nothing but the wire; a frame's `from` is the node owning its source (or ARP sender)
    /// address. Frames with neither are kept on the wire but attributed to no stack.
    pub fn from_capture(
        segment: &str,
        stack: &str,
        frames: impl IntoIterator<Item = (Instant, Vec<u8>)>,
    ) -> Trace {
        use stack::wire::{parse_frame, ChecksumMode, Frame};
        let mut t = Trace::default();
        t.meta.segment_names.push(segment.to_string());
        let mut nodes: std::collections::BTreeMap<core::net::Ipv4Addr, NodeId> = Default::default();
        // Frames nobody can be named for come from a node that is no stack.
        t.meta.node_names.push("(unattributed)".into());
        t.meta.node_addrs.push(Vec::new());
        t.meta.stacks.push(None);
        for (i, (time, bytes)) in frames.into_iter().enumerate() {
            let src = match parse_frame(&bytes, ChecksumMode::Ignore) {
                Ok(Frame::Tcp { ip, .. }) | Ok(Frame::OtherIpv4 { ip, .. }) => Some(ip.src_addr),
                Ok(Frame::Arp { arp, .. }) => Some(arp.source_protocol_addr),
                Err(_) => None,
            };
            let from = match src {
                Some(a) if !a.is_unspecified() => *nodes.entry(a).or_insert_with(|| {
                    t.meta.node_names.push(a.to_string());
                    t.meta.node_addrs.push(vec![a]);
                    t.meta.stacks.push(Some(StackEvidence {
                        stack: stack.to_string(),
                        ..Default::default()
                    }));
                    NodeId(t.meta.node_names.len() - 1)
                }),
                _ => NodeId(0),
            };
            t.end = t.end.max(time);
            t.events.push(TraceEvent {
                time,
                kind: TraceKind::Frame(FrameRecord {
                    time,
                    segment: SegmentId(0),
                    number: i + 1,
                    from,
                    bytes,
                    fate: Fate::Delivered,
                    delivered_at: Some(time),
                }),
            });
        }
        t.events.sort_by_key(|e| e.time);
        t
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
