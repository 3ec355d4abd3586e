//! What smoltcp 0.14 can be told, knob by knob. Fixed values and reasons come from its source
//! (`socket/tcp.rs`, `iface/neighbor.rs`); each reason says what smoltcp does instead.

use crate::caps::KnobSupport::{self, Fixed, Honoured, Unmapped};

const NO_ARP_QUEUE: &str = "smoltcp holds no packet while it resolves an address: the packet is \
     dropped and the socket retransmits it after the neighbour answers";

/// Per knob of `stack::policy::Profile`. Knobs not listed are refused with a generic reason.
pub const KNOBS: &[(&str, KnobSupport)] = &[
    (
        "tcp.time_wait_rst",
        Fixed {
            value: "close",
            reason: "its TIME-WAIT always closes on an in-window RST",
        },
    ),
    (
        "tcp.rfc5961",
        Unmapped {
            reason: "smoltcp accepts any in-window RST (no RFC 5961 §3.2 exact match) yet \
                     challenge-ACKs out-of-window segments: neither on nor off describes it",
        },
    ),
    (
        "tcp.challenge_ack_limit",
        Unmapped {
            reason: "smoltcp has no challenge-ACK rate setting",
        },
    ),
    (
        "tcp.syn_in_time_wait",
        Unmapped {
            reason: "smoltcp has no setting for a SYN in TIME-WAIT",
        },
    ),
    (
        "tcp.isn",
        Unmapped {
            reason: "ISNs come from smoltcp's own generator, seeded by the interface's random seed",
        },
    ),
    (
        "tcp.rst_on_bad_synrecv",
        Fixed {
            value: "on",
            reason: "an unacceptable ACK in SYN-RECEIVED always draws an RST",
        },
    ),
    ("tcp.keepalive.enabled", Honoured),
    ("tcp.keepalive.idle", Honoured),
    (
        "tcp.keepalive.intvl",
        Unmapped {
            reason: "smoltcp sends keep-alives at one interval (the idle time); there is no \
                     separate probe interval",
        },
    ),
    (
        "tcp.keepalive.probes",
        Unmapped {
            reason: "smoltcp never drops a connection for unanswered keep-alives; only its \
                     timeout (tcp.user_timeout) does",
        },
    ),
    (
        "tcp.keepalive.rst_on_drop",
        Fixed {
            value: "off",
            reason: "smoltcp never gives up on keep-alives, so it never sends an RST for it",
        },
    ),
    ("tcp.delayed_ack", Honoured),
    (
        "tcp.msl",
        Fixed {
            value: "5s",
            reason: "TIME-WAIT lasts a fixed 10 s (CLOSE_DELAY), i.e. 2·MSL with MSL = 5 s",
        },
    ),
    (
        "tcp.rto_initial",
        Fixed {
            value: "1s",
            reason: "the initial RTO is the constant RTTE_INITIAL_RTO = 1 s",
        },
    ),
    (
        "tcp.rto_min",
        Fixed {
            value: "1s",
            reason: "the RTO lower bound is the constant RTTE_MIN_RTO = 1 s",
        },
    ),
    (
        "tcp.rto_max",
        Fixed {
            value: "60s",
            reason: "the RTO upper bound is the constant RTTE_MAX_RTO = 60 s",
        },
    ),
    (
        "tcp.max_retries",
        Unmapped {
            reason: "smoltcp retransmits until its timeout (tcp.user_timeout) fires; it counts \
                     no retries",
        },
    ),
    (
        "tcp.syn_retries",
        Unmapped {
            reason: "smoltcp retransmits a SYN until its timeout (tcp.user_timeout) fires; it \
                     counts no retries",
        },
    ),
    ("tcp.mss", Honoured),
    ("tcp.rcv_buf", Honoured),
    ("tcp.snd_buf", Honoured),
    (
        "tcp.window_scale",
        Unmapped {
            reason: "smoltcp derives the window-scale shift from the receive buffer size",
        },
    ),
    ("tcp.nagle", Honoured),
    ("tcp.user_timeout", Honoured),
    (
        "arp.queue_depth",
        Unmapped {
            reason: NO_ARP_QUEUE,
        },
    ),
    (
        "arp.queue_bytes",
        Unmapped {
            reason: NO_ARP_QUEUE,
        },
    ),
    (
        "arp.overflow",
        Unmapped {
            reason: NO_ARP_QUEUE,
        },
    ),
    (
        "arp.reachable_time",
        Fixed {
            value: "60s",
            reason: "neighbour entries live a fixed 60 s (ENTRY_LIFETIME)",
        },
    ),
    (
        "arp.retransmit_interval",
        Fixed {
            value: "1s",
            reason: "ARP requests are rate-limited to one per second (SILENT_TIME)",
        },
    ),
    (
        "arp.max_requests",
        Unmapped {
            reason: "smoltcp asks again for as long as a socket has something to send; it never \
                     gives up",
        },
    ),
];
