//! Policies and named profiles: every behaviour that RFCs or real stacks disagree on is a named
//! knob here, and a profile bundles them. A profile is plain data: printable, comparable, and every
//! knob settable by name (`tcp.time_wait_rst=ignore`, `arp.queue_depth=1`).

use crate::time::Duration;

/// What the ARP layer does when a packet arrives for an unresolved address whose pending queue
/// is full (RFC 1122 §2.3.2.2: "SHOULD save at least one (the latest) packet").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum QueueOverflow {
    /// Keep only the newest packet: everything already queued is dropped and the new packet
    /// takes its place. With depth 1 this is the Windows behaviour behind incident A.
    KeepNewest,
    /// Drop the oldest queued packet to make room (Linux `unres_qlen` behaviour).
    DropOldest,
    /// Drop the packet that just arrived; what is queued stays.
    DropNewest,
}

impl QueueOverflow {
    pub fn name(self) -> &'static str {
        match self {
            QueueOverflow::KeepNewest => "keep-newest",
            QueueOverflow::DropOldest => "drop-oldest",
            QueueOverflow::DropNewest => "drop-newest",
        }
    }
    pub fn from_name(s: &str) -> Option<Self> {
        match s {
            "keep-newest" => Some(QueueOverflow::KeepNewest),
            "drop-oldest" => Some(QueueOverflow::DropOldest),
            "drop-newest" => Some(QueueOverflow::DropNewest),
            _ => None,
        }
    }
}

/// ARP knobs (neighbour cache and pending queue).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ArpPolicy {
    /// Packets held per unresolved address (RFC 1122 §2.3.2.2: at least 1).
    pub queue_depth: usize,
    /// Bytes held per unresolved address (Linux `unres_qlen_bytes`); 0 = no byte bound.
    pub queue_bytes: usize,
    /// What happens when the queue is full.
    pub overflow: QueueOverflow,
    /// How long a dynamic entry stays usable after it was confirmed.
    pub reachable_time: Duration,
    /// Time between ARP requests for one address.
    pub retransmit_interval: Duration,
    /// Requests sent before giving up (the first one included).
    pub max_requests: u32,
}

impl Default for ArpPolicy {
    /// Linux-like defaults: `unres_qlen` 101, `unres_qlen_bytes` 212992, drop-oldest,
    /// `base_reachable_time` 30 s, `retrans_time` 1 s, `mcast_solicit` 3.
    fn default() -> Self {
        ArpPolicy {
            queue_depth: 101,
            queue_bytes: 212_992,
            overflow: QueueOverflow::DropOldest,
            reachable_time: Duration::from_secs(30),
            retransmit_interval: Duration::from_secs(1),
            max_requests: 3,
        }
    }
}
