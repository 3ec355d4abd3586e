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

// ------------------------------------------------------------------------------------------------
// TCP policy
// ------------------------------------------------------------------------------------------------

/// What an RST does to a connection in TIME-WAIT.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TimeWaitRst {
    /// RFC 793 / RFC 9293 §3.10.7.4 (second check, TIME-WAIT): "If the RST bit is set then, enter
    /// the CLOSED state, delete the TCB, and return." This is the behaviour behind incident D.
    Close,
    /// RFC 1337 §3 fix F1: "Ignore RST segments in TIME-WAIT state" (Linux `tcp_rfc1337=1`).
    Ignore,
}

/// What a SYN does to a connection in TIME-WAIT.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SynInTimeWait {
    /// Treat it as in any synchronized state (RFC 9293 §3.10.7.4 fourth check; with RFC 5961 a
    /// challenge ACK).
    Reject,
    /// RFC 1122 §4.2.2.13 / RFC 6191 / Linux `tcp_timewait_state_process`: a SYN whose sequence
    /// number is above the old RCV.NXT reopens the pair as a new connection (TIME-WAIT ends early),
    /// with an ISS above the old SND.NXT.
    Accept,
}

/// How initial sequence numbers are chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IsnMode {
    /// RFC 6528 §3: ISN = M + F(localip, localport, remoteip, remoteport, secretkey), M a 4 µs
    /// clock; the secret comes from the endpoint seed.
    Rfc6528,
    /// Uniformly random from the seeded generator.
    Random,
    /// Always 0 (readable tests).
    Zero,
    /// Always this value (tests near the 2^32 wrap).
    Fixed(u32),
}

/// The form of a zero-window probe (RFC 9293 §3.8.6.1 persist timer).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ZeroWindowProbe {
    /// RFC 9293 §3.8.6.1 / RFC 1122 §4.2.2.17: send one byte of new data past the window.
    DataByte,
    /// Linux `tcp_xmit_probe_skb`: an empty segment with SEQ = SND.UNA−1 that forces an ACK.
    UnaMinusOne,
}

/// The order and padding of the options in our SYN and SYN-ACK (every layout is valid; real
/// stacks differ, and scripts recorded on them compare the exact list).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SynLayout {
    /// `mss, nop, wscale, [nop, nop, sackOK], [nop, nop, TS]`: each option padded to 4 bytes.
    Plain,
    /// Linux `tcp_options_write`: `mss, sackOK, TS, nop, wscale` (SACK-permitted shares the
    /// TS word; `nop, nop, sackOK` without TS, `nop, nop, TS` without SACK).
    Linux,
    /// FreeBSD `tcp_addoptions`: `mss, nop, wscale, sackOK, TS`, NOPs only to align the next
    /// option, EOLs to pad the end to 4 bytes (`mss, sackOK, eol, eol`).
    FreeBsd,
}

impl SynLayout {
    pub fn name(self) -> &'static str {
        match self {
            SynLayout::Plain => "plain",
            SynLayout::Linux => "linux",
            SynLayout::FreeBsd => "freebsd",
        }
    }
}

/// Keepalive defaults (RFC 1122 §4.2.3.6); per-socket options override them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct KeepalivePolicy {
    /// SO_KEEPALIVE on new sockets. RFC 1122 §4.2.3.6: "MUST default to off".
    pub enabled: bool,
    /// Idle time before the first probe. RFC 1122: "MUST be configurable and MUST default to no
    /// less than two hours" (Linux `tcp_keepalive_time` 7200, Windows `KeepAliveTime` 7200000 ms).
    pub idle: Duration,
    /// Time between unanswered probes (Linux `tcp_keepalive_intvl` 75, Windows 1 s).
    pub interval: Duration,
    /// Unanswered probes before the connection is dropped (Linux 9, Windows Vista+ 10).
    pub probes: u32,
    /// RFC 1122 §4.2.3.6: a probe MAY carry one garbage octet (for peers that ignore empty ones).
    pub probe_garbage_byte: bool,
    /// Send an RST when the last probe went unanswered (Linux `tcp_keepalive_timer` calls
    /// `tcp_send_active_reset` then `tcp_write_err`).
    pub rst_on_drop: bool,
}

/// Every TCP behaviour that RFCs or real stacks disagree on.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TcpPolicy {
    /// RST in TIME-WAIT: close (RFC 793) or ignore (RFC 1337).
    pub time_wait_rst: TimeWaitRst,
    /// RFC 5961 §3–§5: RST must match RCV.NXT exactly (else challenge ACK when in window), SYN in a
    /// synchronized state draws a challenge ACK, ACKs outside [SND.UNA−MAX.SND.WND, SND.NXT] draw
    /// a challenge ACK.
    pub rfc5961: bool,
    /// RFC 5961 §7: challenge ACKs sent per second at most (Linux `tcp_challenge_ack_limit`,
    /// 1000 before 4.7's per-socket rate); 0 = unlimited.
    pub challenge_ack_limit: u32,
    /// SYN arriving in TIME-WAIT: reject or accept as a new incarnation.
    pub syn_in_time_wait: SynInTimeWait,
    /// ISN generator.
    pub isn: IsnMode,
    /// RFC 9293 §3.10.7.4 fifth check, SYN-RECEIVED: an unacceptable ACK draws
    /// `<SEQ=SEG.ACK><CTL=RST>`; when false such segments are dropped silently.
    pub rst_on_bad_synrecv: bool,
    /// Keepalive defaults.
    pub keepalive: KeepalivePolicy,
    /// RFC 1122 §4.2.3.2 / RFC 9293 §3.8.6.3: delayed-ACK timeout (MUST be < 0.5 s); `None` = ACK
    /// every segment at once.
    pub delayed_ack: Option<Duration>,
    /// Maximum segment lifetime; TIME-WAIT lasts 2·MSL (RFC 9293 §3.4.2: MSL 2 minutes).
    pub msl: Duration,
    /// RFC 6298 §2.1: initial RTO (1 s).
    pub rto_initial: Duration,
    /// RFC 6298 §2.4: lower bound on RTO (1 s; Linux `TCP_RTO_MIN` 200 ms).
    pub rto_min: Duration,
    /// RFC 6298 §2.5: upper bound on RTO (at least 60 s; Linux `TCP_RTO_MAX` 120 s).
    pub rto_max: Duration,
    /// RFC 1122 §4.2.3.5 R2: retransmissions of one segment before the connection is aborted
    /// (Linux `tcp_retries2` 15, Windows `TcpMaxDataRetransmissions` 5).
    pub max_retries: u32,
    /// SYN (and SYN-ACK) retransmissions before giving up: 7 in the RFC profiles (give-up at
    /// 183 s >= the 3 minutes of RFC 9293 MUST-23); Linux `tcp_syn_retries` 6 (127 s) and Windows
    /// `TcpMaxConnectRetransmissions` 2 are those systems' own deviations.
    pub syn_retries: u32,
    /// MSS announced on SYN (RFC 9293 §3.7.1; 1460 for Ethernet).
    pub mss: u16,
    /// Receive buffer in bytes (the largest window offered).
    pub rcv_buf: usize,
    /// Send buffer in bytes.
    pub snd_buf: usize,
    /// RFC 7323 §2: window-scale shift offered on SYN; `None` = option not sent.
    pub window_scale: Option<u8>,
    /// RFC 1122 §4.2.3.4 / RFC 896: Nagle on by default (TCP_NODELAY off).
    pub nagle: bool,
    /// Zero-window probe form.
    pub zero_window_probe: ZeroWindowProbe,
    /// RFC 5482 / RFC 9293 §3.8.3 user timeout default: abort when sent data stays unacknowledged
    /// this long; `None` = only R2 applies.
    pub user_timeout: Option<Duration>,
    /// RFC 2018 §2: offer SACK-permitted on SYN (and answer it on SYN-ACK); when both sides
    /// did, ACKs carry SACK blocks for out-of-order data held (§4).
    pub sack: bool,
    /// RFC 7323 §3-§5: offer timestamps on SYN (answer them on SYN-ACK); when both sides did,
    /// every segment carries TSval/TSecr, PAWS drops old duplicates and RTT is measured from
    /// TSecr (RTTM).
    pub timestamps: bool,
    /// Order and padding of SYN / SYN-ACK options.
    pub syn_layout: SynLayout,
    /// FreeBSD `tcp_mss()`: once the connection's MSS is known, round the socket buffers up to
    /// a multiple of it (SO_RCVBUF 65536 reads back 65700 with MSS 1460).
    pub buf_round_to_mss: bool,
    /// SYN in a synchronized state and inside the window: with RFC 5961 on, `false` sends a
    /// challenge ACK (RFC 5961 §4.2), `true` resets the connection as RFC 793 did (FreeBSD
    /// `net.inet.tcp.insecure_syn=1`; out-of-window SYNs still get a challenge ACK).
    pub insecure_syn: bool,
    /// Drop any segment with both SYN and FIN set (FreeBSD `net.inet.tcp.drop_synfin`).
    pub drop_synfin: bool,
    /// FreeBSD `tcp_outflags[]` (tcp_fsm.h) gives FIN-WAIT-1, CLOSING and LAST-ACK the flags
    /// `FIN|ACK`: while our FIN is unacknowledged, every ACK `tcp_output` builds re-sends it
    /// (`SEQ` = the FIN's, tcp_output.c "snd_nxt--"). Retransmitting a FIN is always allowed
    /// (RFC 9293 §3.10.4); RFC 5961 challenge ACKs (`tcp_respond`) stay plain.
    pub fin_on_acks: bool,
    /// FreeBSD tcp_input.c: `rcv_wnd = imax(sbspace(&so->so_rcv), rcv_adv - rcv_nxt)`. The
    /// sequence check accepts up to the free receive buffer even where the unscaled 16-bit
    /// window field could only advertise 65535 (RFC 9293 §3.10.7.4 uses RCV.WND, which the
    /// RFC does not tie to the advertised field).
    pub rcv_wnd_from_buffer: bool,
    /// The RST of an ABORT (RFC 9293 §3.10.5 `<SEQ=SND.NXT><CTL=RST>`) also carries
    /// `ACK=RCV.NXT`: FreeBSD `tcp_drop` sends it through `tcp_output` with
    /// `tcp_outflags[TCPS_CLOSED] = RST|ACK`; Linux `tcp_send_active_reset` sets ACK too.
    pub abort_rst_ack: bool,
    /// TIME-WAIT input as FreeBSD `tcp_twcheck` (tcp_timewait.c) does it instead of RFC 9293
    /// §3.10.7.4: RSTs are dropped ("see Stevens, vol. 2, p. 964 and RFC 1337"), a SYN above
    /// RCV.NXT recycles the pair, segments without ACK are dropped, a retransmitted FIN
    /// restarts 2·MSL, and anything but an exact duplicate ACK is acknowledged.
    pub time_wait_bsd: bool,
    /// BSD tcp_input.c trimming: a segment wholly left of the window (an old duplicate) is
    /// trimmed to nothing, an ACK is scheduled, and its ACK field is still processed ("keep
    /// on processing for RST or ACK") instead of being dropped after the ACK (RFC 9293
    /// §3.10.7.4 first check).
    pub old_segment_ack: bool,
    /// An acceptable RST in CLOSING or LAST-ACK is reported to the user as ECONNRESET (FreeBSD
    /// tcp_input.c `so_error = ECONNRESET` for every synchronized state; Linux `tcp_reset`).
    /// RFC 9293 §3.10.7.4 only says "enter the CLOSED state" there.
    pub rst_error_after_fin: bool,
    /// Closing a listener resets connections still in SYN-RECEIVED. When off they are dropped
    /// silently, as FreeBSD's syncache and Linux's request sockets are (only connections that
    /// completed the handshake but were never accepted are reset).
    pub listener_close_resets_embryonic: bool,
    /// A SYN-ACK arriving at a listener draws `<SEQ=SEG.ACK><CTL=RST>` (RFC 9293 §3.10.7.2
    /// second check). When off it is dropped: FreeBSD tcp_input.c "(SYN|ACK) is bogus on a
    /// listen socket" goes to `dropunlock`.
    pub listen_synack_rst: bool,
    /// Linux quick-ACK mode (tcp_input.c `tcp_incr_quickack`, `__tcp_ack_snd_check`): the first
    /// data of a connection, and data after an idle gap longer than the RTO, are ACKed at once
    /// for up to this many ACKs (TCP_MAX_QUICKACKS 16; fewer when the window holds fewer than
    /// two segments per ACK, at least 2), unless the connection is interactive ("pingpong":
    /// it sent data within the delayed-ACK timeout of receiving some). 0 = off (RFC 1122
    /// §4.2.3.2 delayed ACK from the first segment).
    pub quickack: u32,
    /// Initial congestion window in segments; 0 = RFC 5681 §3.1 (RFC 3390) `min(4*SMSS,
    /// max(2*SMSS, 4380))`. Linux uses 10 (RFC 6928, include/net/tcp.h TCP_INIT_CWND).
    pub initial_window: u32,
}

impl Default for TcpPolicy {
    /// The `rfc9293` profile's TCP policy.
    fn default() -> Self {
        TcpPolicy {
            time_wait_rst: TimeWaitRst::Close,
            // RFC 9293 §3.10.7.4: RFC 5961 mitigations are a SHOULD; we choose to apply them in
            // the RFC 9293 profile (the `rfc793` profile keeps the old behaviour).
            rfc5961: true,
            challenge_ack_limit: 1000,
            syn_in_time_wait: SynInTimeWait::Reject,
            isn: IsnMode::Rfc6528,
            rst_on_bad_synrecv: true,
            keepalive: KeepalivePolicy {
                enabled: false,
                idle: Duration::from_secs(7200),
                interval: Duration::from_secs(75),
                probes: 9,
                probe_garbage_byte: false,
                rst_on_drop: false,
            },
            delayed_ack: Some(Duration::from_millis(200)),
            msl: Duration::from_secs(120),
            rto_initial: Duration::from_secs(1),
            rto_min: Duration::from_secs(1),
            rto_max: Duration::from_secs(60),
            max_retries: 15,
            // RFC 9293 §3.8.3 MUST-23 (RFC 1122 §4.2.3.5): "R2 for a SYN segment MUST be set large
            // enough to provide retransmission of the segment for at least 3 minutes". With
            // RTO 1 s doubling (RFC 6298 §5.5) and capped at 60 s (§2.5), SYNs go out at 0, 1, 3,
            // 7, 15, 31, 63 and 123 s and the attempt is abandoned at 183 s: 7 retransmissions.
            syn_retries: 7,
            mss: 1460,
            rcv_buf: 65_535,
            snd_buf: 65_535,
            window_scale: None,
            nagle: true,
            zero_window_probe: ZeroWindowProbe::DataByte,
            user_timeout: None,
            sack: false,
            timestamps: false,
            syn_layout: SynLayout::Plain,
            buf_round_to_mss: false,
            insecure_syn: false,
            drop_synfin: false,
            fin_on_acks: false,
            rcv_wnd_from_buffer: false,
            abort_rst_ack: false,
            time_wait_bsd: false,
            old_segment_ack: false,
            rst_error_after_fin: false,
            listener_close_resets_embryonic: true,
            listen_synack_rst: true,
            quickack: 0,
            initial_window: 0,
        }
    }
}

impl TimeWaitRst {
    pub fn name(self) -> &'static str {
        match self {
            TimeWaitRst::Close => "close",
            TimeWaitRst::Ignore => "ignore",
        }
    }
}
impl SynInTimeWait {
    pub fn name(self) -> &'static str {
        match self {
            SynInTimeWait::Reject => "reject",
            SynInTimeWait::Accept => "accept",
        }
    }
}
impl ZeroWindowProbe {
    pub fn name(self) -> &'static str {
        match self {
            ZeroWindowProbe::DataByte => "data-byte",
            ZeroWindowProbe::UnaMinusOne => "una-minus-one",
        }
    }
}
impl core::fmt::Display for IsnMode {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            IsnMode::Rfc6528 => f.write_str("rfc6528"),
            IsnMode::Random => f.write_str("random"),
            IsnMode::Zero => f.write_str("zero"),
            IsnMode::Fixed(n) => write!(f, "fixed:{n}"),
        }
    }
}

// ------------------------------------------------------------------------------------------------
// Profiles and knobs by name
// ------------------------------------------------------------------------------------------------

/// Why a profile, knob or value was refused. Each message names what would have been accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PolicyError {
    /// No profile with this name.
    UnknownProfile {
        name: String,
        known: &'static [&'static str],
    },
    /// No knob with this dotted name.
    UnknownKnob {
        name: String,
        known: Vec<&'static str>,
    },
    /// The knob exists but the value does not parse; `expected` describes the allowed values.
    BadValue {
        knob: &'static str,
        value: String,
        expected: &'static str,
    },
    /// `knob=value` text without `=`.
    MissingEquals(String),
}

impl core::fmt::Display for PolicyError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            PolicyError::UnknownProfile { name, known } => write!(
                f,
                "unknown profile `{name}`{} (known: {})",
                crate::suggest::did_you_mean(name, known.iter().copied()),
                known.join(", ")
            ),
            PolicyError::UnknownKnob { name, known } => {
                let section = name.split('.').next().unwrap_or("");
                let same: Vec<&str> = known
                    .iter()
                    .copied()
                    .filter(|k| k.split('.').next() == Some(section))
                    .collect();
                write!(
                    f,
                    "unknown knob `{name}`{}",
                    crate::suggest::did_you_mean(name, known.iter().copied())
                )?;
                if !same.is_empty() && same.len() <= 12 {
                    write!(f, " (`{section}.` knobs: {})", same.join(", "))
                } else {
                    write!(
                        f,
                        " (`harness profiles rfc9293` lists all {} knobs)",
                        known.len()
                    )
                }
            }
            PolicyError::BadValue {
                knob,
                value,
                expected,
            } => write!(f, "bad value `{value}` for `{knob}`: expected {expected}"),
            PolicyError::MissingEquals(s) => write!(f, "expected `knob=value`, got `{s}`"),
        }
    }
}

impl std::error::Error for PolicyError {}

/// One knob as text: dotted name, current value (in the syntax [`Profile::set`] accepts) and
/// what it models.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Knob {
    pub name: &'static str,
    pub value: String,
    pub doc: &'static str,
}

/// A named bundle of policies for one host. Plain data: printable (one knob per line),
/// comparable, and every knob settable by its dotted name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Profile {
    pub name: String,
    pub description: String,
    pub tcp: TcpPolicy,
    pub arp: ArpPolicy,
}

const PROFILE_NAMES: &[&str] = &[
    "rfc793", "rfc1337", "rfc5961", "rfc9293", "linux", "windows", "hardened", "freebsd",
];

impl Default for Profile {
    /// The `rfc9293` profile.
    fn default() -> Self {
        Profile::rfc9293()
    }
}

impl Profile {
    /// Names accepted by [`Profile::named`], in a fixed order.
    pub fn names() -> &'static [&'static str] {
        PROFILE_NAMES
    }

    /// The profile called `name`, or an error listing the known names.
    pub fn named(name: &str) -> Result<Profile, PolicyError> {
        match name {
            "rfc793" => Ok(Profile::rfc793()),
            "rfc1337" => Ok(Profile::rfc1337()),
            "rfc5961" => Ok(Profile::rfc5961()),
            "rfc9293" => Ok(Profile::rfc9293()),
            "linux" => Ok(Profile::linux()),
            "freebsd" => Ok(Profile::freebsd()),
            "windows" => Ok(Profile::windows()),
            "hardened" => Ok(Profile::hardened()),
            _ => Err(PolicyError::UnknownProfile {
                name: name.to_string(),
                known: PROFILE_NAMES,
            }),
        }
    }

    /// RFC 9293 defaults; RFC 5961 (a SHOULD in RFC 9293 §3.10.7.4) is applied.
    pub fn rfc9293() -> Profile {
        Profile {
            name: "rfc9293".into(),
            description: "RFC 9293 defaults (RFC 5961 mitigations on, RST closes TIME-WAIT)".into(),
            tcp: TcpPolicy::default(),
            arp: ArpPolicy::default(),
        }
    }

    /// RFC 793 as written: RST closes TIME-WAIT, no RFC 5961 checks.
    pub fn rfc793() -> Profile {
        let mut p = Profile::rfc9293();
        p.name = "rfc793".into();
        p.description = "RFC 793 as written: RST in TIME-WAIT closes it, no RFC 5961".into();
        p.tcp.rfc5961 = false;
        p.tcp.challenge_ack_limit = 0;
        p
    }

    /// RFC 793 plus RFC 1337 fix F1 (ignore RST in TIME-WAIT).
    pub fn rfc1337() -> Profile {
        let mut p = Profile::rfc793();
        p.name = "rfc1337".into();
        p.description = "RFC 793 with RFC 1337 F1: RST in TIME-WAIT ignored".into();
        p.tcp.time_wait_rst = TimeWaitRst::Ignore;
        p
    }

    /// RFC 9293 with RFC 5961 on (explicitly; identical TCP knobs to `rfc9293` today).
    pub fn rfc5961() -> Profile {
        let mut p = Profile::rfc9293();
        p.name = "rfc5961".into();
        p.description = "RFC 9293 with RFC 5961 challenge ACKs".into();
        p.tcp.rfc5961 = true;
        p
    }

    /// A current Linux kernel with default sysctls (Documentation/networking/ip-sysctl.rst,
    /// net/ipv4/tcp_timer.c, tcp_minisocks.c, include/net/tcp.h).
    pub fn linux() -> Profile {
        let mut p = Profile::rfc9293();
        p.name = "linux".into();
        p.description = "Linux default sysctls (tcp_rfc1337=0, RFC 5961, 60 s TIME-WAIT)".into();
        let t = &mut p.tcp;
        // ip-sysctl.rst tcp_rfc1337: "default: 0" -> RST in TIME-WAIT kills it.
        t.time_wait_rst = TimeWaitRst::Close;
        t.rfc5961 = true;
        // tcp_challenge_ack_limit: 1000 per second (older kernels; now per-socket rate).
        t.challenge_ack_limit = 1000;
        // tcp_minisocks.c tcp_timewait_state_process: SYN with after(seq, rcv_nxt) reopens.
        t.syn_in_time_wait = SynInTimeWait::Accept;
        t.isn = IsnMode::Rfc6528;
        t.rst_on_bad_synrecv = true;
        // ip-sysctl.rst: tcp_keepalive_time 7200, tcp_keepalive_intvl 75, tcp_keepalive_probes 9;
        // tcp_timer.c tcp_keepalive_timer: tcp_send_active_reset() then tcp_write_err().
        t.keepalive = KeepalivePolicy {
            enabled: false,
            idle: Duration::from_secs(7200),
            interval: Duration::from_secs(75),
            probes: 9,
            probe_garbage_byte: false,
            rst_on_drop: true,
        };
        // include/net/tcp.h TCP_DELACK_MIN (HZ/25 = 40 ms).
        t.delayed_ack = Some(Duration::from_millis(40));
        // TCP_TIMEWAIT_LEN 60 s (independent of MSL): modelled as MSL 30 s.
        t.msl = Duration::from_secs(30);
        // TCP_TIMEOUT_INIT 1 s, TCP_RTO_MIN 200 ms, TCP_RTO_MAX 120 s.
        t.rto_initial = Duration::from_secs(1);
        t.rto_min = Duration::from_millis(200);
        t.rto_max = Duration::from_secs(120);
        // tcp_retries2 15, tcp_syn_retries 6 (counted, not converted to time: a simplification).
        // Linux's own deviation from RFC 9293 MUST-23: it gives up on a SYN after 127 s, not
        // the 3 minutes the RFC asks.
        t.max_retries = 15;
        t.syn_retries = 6;
        t.mss = 1460;
        t.rcv_buf = 131_072;
        t.snd_buf = 16_384 * 4;
        // tcp_window_scaling 1; shift 7 for a ~128 KiB-6 MiB buffer.
        t.window_scale = Some(7);
        t.nagle = true;
        // tcp_output.c tcp_xmit_probe_skb: SEQ = SND.UNA - 1, no data.
        t.zero_window_probe = ZeroWindowProbe::UnaMinusOne;
        t.user_timeout = None;
        // ip-sysctl.rst tcp_sack 1, tcp_timestamps 1; tcp_output.c tcp_options_write order.
        t.sack = true;
        t.timestamps = true;
        t.syn_layout = SynLayout::Linux;
        // tcp_output.c tcp_send_active_reset: `TCPHDR_ACK | TCPHDR_RST`; tcp_input.c tcp_reset:
        // ECONNRESET in every state but SYN-SENT and CLOSE-WAIT; inet_connection_sock.c
        // inet_csk_listen_stop resets accepted-queue children only (request sockets in
        // SYN-RECEIVED are freed silently).
        t.abort_rst_ack = true;
        t.rst_error_after_fin = true;
        t.listener_close_resets_embryonic = false;
        // include/net/tcp.h TCP_MAX_QUICKACKS 16.
        t.quickack = 16;
        // include/net/tcp.h TCP_INIT_CWND 10 (RFC 6928).
        t.initial_window = 10;
        // neigh unres_qlen 101, drop oldest.
        p.arp = ArpPolicy::default();
        p
    }

    /// FreeBSD 14 with default sysctls (tcp(4), sys/netinet/tcp_timer.h, tcp_output.c
    /// `tcp_addoptions`, tcp_input.c `tcp_mss`), as the FreeBSD tcp-testsuite expects it.
    pub fn freebsd() -> Profile {
        let mut p = Profile::rfc9293();
        p.name = "freebsd".into();
        p.description =
            "FreeBSD 14 default sysctls (RFC 5961 on, 30 s MSL, 40 ms delayed ACK, SACK)".into();
        let t = &mut p.tcp;
        // tcp(4) insecure_rst=0, insecure_syn=0: RFC 5961 §3 and §4 on.
        t.rfc5961 = true;
        t.insecure_syn = false;
        // tcp(4) ack_war_cnt 5 per ack_war_timewindow 1000 ms: challenge ACKs per second.
        t.challenge_ack_limit = 5;
        t.time_wait_rst = TimeWaitRst::Close;
        // tcp_timewait.c tcp_twcheck: a SYN with SEQ above RCV.NXT recycles TIME-WAIT into a
        // new connection when a listener owns the port.
        t.syn_in_time_wait = SynInTimeWait::Accept;
        t.isn = IsnMode::Rfc6528;
        // tcp(4) keepidle 7200000 ms, keepintvl 75000 ms, keepcnt 8; always_keepalive 1 only
        // affects sockets that asked for SO_KEEPALIVE.
        t.keepalive = KeepalivePolicy {
            enabled: false,
            idle: Duration::from_secs(7200),
            interval: Duration::from_secs(75),
            probes: 8,
            probe_garbage_byte: false,
            rst_on_drop: true,
        };
        // tcp(4) delacktime 40 ms (TCPTV_DELACK = hz/25).
        t.delayed_ack = Some(Duration::from_millis(40));
        // tcp(4) msl 30000 ms: TIME-WAIT lasts 60 s.
        t.msl = Duration::from_secs(30);
        // tcp(4) rexmit_initial 1000 ms, rexmit_min 30 ms; tcp_timer.h TCPTV_REXMTMAX 64 s.
        t.rto_initial = Duration::from_secs(1);
        t.rto_min = Duration::from_millis(30);
        t.rto_max = Duration::from_secs(64);
        // tcp_timer.h TCP_MAXRXTSHIFT 12; SYNs give up after keepinit (75 s): 6 retries.
        t.max_retries = 12;
        t.syn_retries = 6;
        t.mss = 1460;
        // tcp(4) recvspace 65536, sendspace 32768.
        t.rcv_buf = 65_536;
        t.snd_buf = 32_768;
        // tcp_syncache.c / tcp_usrreq.c: the smallest shift with 65535 << s >= kern.ipc.maxsockbuf
        // (2097152 by default): 6.
        t.window_scale = Some(6);
        t.nagle = true;
        // tcp_output.c: the persist timer forces out one byte of new data.
        t.zero_window_probe = ZeroWindowProbe::DataByte;
        t.user_timeout = None;
        // tcp(4) sack.enable 1; rfc1323 1 (window scale and timestamps).
        t.sack = true;
        t.timestamps = true;
        t.syn_layout = SynLayout::FreeBsd;
        t.buf_round_to_mss = true;
        // tcp(4) drop_synfin 0.
        t.drop_synfin = false;
        // tcp_fsm.h tcp_outflags[], tcp_input.c rcv_wnd / trimming / RST, tcp_timewait.c
        // tcp_twcheck, tcp_subr.c tcp_drop, tcp_syncache.c (entries die silently).
        t.fin_on_acks = true;
        t.rcv_wnd_from_buffer = true;
        t.abort_rst_ack = true;
        t.time_wait_bsd = true;
        t.old_segment_ack = true;
        t.rst_error_after_fin = true;
        t.listener_close_resets_embryonic = false;
        t.listen_synack_rst = false;
        p
    }

    /// Windows (Server 2008+) defaults from the Tcpip\Parameters registry documentation.
    pub fn windows() -> Profile {
        let mut p = Profile::rfc9293();
        p.name = "windows".into();
        p.description = "Windows Server 2008+ registry defaults; ARP keeps one packet".into();
        let t = &mut p.tcp;
        t.time_wait_rst = TimeWaitRst::Close;
        t.rfc5961 = true;
        t.syn_in_time_wait = SynInTimeWait::Reject;
        t.isn = IsnMode::Rfc6528;
        // KeepAliveTime 7200000 ms, KeepAliveInterval 1000 ms, 10 probes (TcpMaxDataRetransmissions
        // for keepalives on Vista+).
        t.keepalive = KeepalivePolicy {
            enabled: false,
            idle: Duration::from_secs(7200),
            interval: Duration::from_secs(1),
            probes: 10,
            probe_garbage_byte: true,
            rst_on_drop: false,
        };
        // TcpAckFrequency/TcpDelAckTicks: 200 ms delayed ACK.
        t.delayed_ack = Some(Duration::from_millis(200));
        // TcpTimedWaitDelay 240 s = 2 * MSL with MSL 120 s.
        t.msl = Duration::from_secs(120);
        // TcpInitialRtt 3 s on old systems; 1 s (RFC 6298) on Vista+; min RTO 300 ms.
        t.rto_initial = Duration::from_secs(1);
        t.rto_min = Duration::from_millis(300);
        t.rto_max = Duration::from_secs(60);
        // TcpMaxDataRetransmissions 5, TcpMaxConnectRetransmissions 2 (Windows' documented
        // default; it deviates from RFC 9293 MUST-23's 3 minutes: connect() fails after 7 s).
        t.max_retries = 5;
        t.syn_retries = 2;
        t.window_scale = Some(8);
        t.rcv_buf = 65_535;
        t.zero_window_probe = ZeroWindowProbe::DataByte;
        // Incident A: one packet per unresolved address, the newest one kept.
        p.arp.queue_depth = 1;
        p.arp.overflow = QueueOverflow::KeepNewest;
        p
    }

    /// A configuration that avoids the three failure families: RFC 1337 F1, RFC 5961,
    /// keepalive on with idle shorter than common NAT timeouts, deep ARP queue.
    pub fn hardened() -> Profile {
        let mut p = Profile::rfc9293();
        p.name = "hardened".into();
        p.description =
            "RFC 1337 + RFC 5961, keepalive on at 300 s, user timeout 120 s, SYN in TIME-WAIT rejected, deep ARP queue"
                .into();
        let t = &mut p.tcp;
        t.time_wait_rst = TimeWaitRst::Ignore;
        t.rfc5961 = true;
        t.syn_in_time_wait = SynInTimeWait::Reject;
        t.keepalive = KeepalivePolicy {
            enabled: true,
            idle: Duration::from_secs(300),
            interval: Duration::from_secs(75),
            probes: 9,
            probe_garbage_byte: false,
            rst_on_drop: true,
        };
        // RFC 5482 / Linux TCP_USER_TIMEOUT: keepalive stops while data is outstanding, so a
        // dead peer met by a write would otherwise take R2 (Linux: ~15 min) to notice.
        t.user_timeout = Some(Duration::from_secs(120));
        p.arp.queue_depth = 256;
        p.arp.overflow = QueueOverflow::DropOldest;
        p
    }

    /// Every knob with its current value, in a fixed order.
    pub fn knobs(&self) -> Vec<Knob> {
        KNOBS
            .iter()
            .map(|k| Knob {
                name: k.name,
                value: (k.get)(self),
                doc: k.doc,
            })
            .collect()
    }

    /// All knob names, in the order [`Profile::knobs`] uses.
    pub fn knob_names() -> Vec<&'static str> {
        KNOBS.iter().map(|k| k.name).collect()
    }

    /// The value of one knob as text.
    pub fn get(&self, knob: &str) -> Result<String, PolicyError> {
        let k = find_knob(knob)?;
        Ok((k.get)(self))
    }

    /// Set one knob by dotted name (`tcp.time_wait_rst`, `tcp.keepalive.idle`, `arp.overflow`).
    pub fn set(&mut self, knob: &str, value: &str) -> Result<(), PolicyError> {
        let k = find_knob(knob)?;
        (k.set)(self, value.trim()).map_err(|expected| PolicyError::BadValue {
            knob: k.name,
            value: value.to_string(),
            expected,
        })
    }

    /// Apply `knob=value`.
    pub fn apply(&mut self, assignment: &str) -> Result<(), PolicyError> {
        let (k, v) = assignment
            .split_once('=')
            .ok_or_else(|| PolicyError::MissingEquals(assignment.to_string()))?;
        self.set(k.trim(), v)
    }
}

/// `profile <name>: <description>` then one `knob = value` line per knob.
impl core::fmt::Display for Profile {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        writeln!(f, "profile {}: {}", self.name, self.description)?;
        for k in self.knobs() {
            writeln!(f, "{} = {}", k.name, k.value)?;
        }
        Ok(())
    }
}

fn find_knob(name: &str) -> Result<&'static KnobDef, PolicyError> {
    KNOBS
        .iter()
        .find(|k| k.name == name)
        .ok_or_else(|| PolicyError::UnknownKnob {
            name: name.to_string(),
            known: Profile::knob_names(),
        })
}

struct KnobDef {
    name: &'static str,
    doc: &'static str,
    get: fn(&Profile) -> String,
    set: fn(&mut Profile, &str) -> Result<(), &'static str>,
}

const BOOL: &str = "on|off (or true|false, yes|no, 1|0)";
const DUR: &str = "a duration such as 300s, 250ms, 1.5s, 100us";
const OPT_DUR: &str = "off, or a duration such as 300s, 250ms, 1.5s";
const UINT: &str = "a non-negative integer";

/// Parse `on/off/true/false/yes/no/1/0`.
pub fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "on" | "true" | "yes" | "1" => Some(true),
        "off" | "false" | "no" | "0" => Some(false),
        _ => None,
    }
}

/// Parse `300s`, `250ms`, `1.5s`, `100us`, `2m`; no unit is an error. The syntax is
/// [`Duration`]'s `FromStr`; this is its `Option` form for knob values.
pub fn parse_duration(s: &str) -> Option<Duration> {
    s.parse().ok()
}

/// The shortest exact text form of a duration (`300s`, `250ms`, `1500us`).
pub fn format_duration(d: Duration) -> String {
    let us = d.total_micros();
    if us % 1_000_000 == 0 {
        format!("{}s", us / 1_000_000)
    } else if us % 1_000 == 0 {
        format!("{}ms", us / 1_000)
    } else {
        format!("{us}us")
    }
}

fn parse_opt_duration(s: &str) -> Option<Option<Duration>> {
    match s {
        "off" | "none" => Some(None),
        _ => parse_duration(s).map(Some),
    }
}
fn format_opt_duration(d: Option<Duration>) -> String {
    d.map_or_else(|| "off".to_string(), format_duration)
}
fn onoff(b: bool) -> String {
    if b { "on" } else { "off" }.to_string()
}

macro_rules! knob {
    ($name:literal, $doc:literal, |$p:ident| $get:expr, |$q:ident, $v:ident| $set:expr) => {
        KnobDef {
            name: $name,
            doc: $doc,
            get: |$p: &Profile| $get,
            set: |$q: &mut Profile, $v: &str| $set,
        }
    };
}

macro_rules! bool_knob {
    ($name:literal, $doc:literal, $($field:ident).+) => {
        knob!($name, $doc, |p| onoff(p.$($field).+), |p, v| {
            p.$($field).+ = parse_bool(v).ok_or(BOOL)?;
            Ok(())
        })
    };
}
macro_rules! dur_knob {
    ($name:literal, $doc:literal, $($field:ident).+) => {
        knob!($name, $doc, |p| format_duration(p.$($field).+), |p, v| {
            p.$($field).+ = parse_duration(v).ok_or(DUR)?;
            Ok(())
        })
    };
}
macro_rules! opt_dur_knob {
    ($name:literal, $doc:literal, $($field:ident).+) => {
        knob!($name, $doc, |p| format_opt_duration(p.$($field).+), |p, v| {
            p.$($field).+ = parse_opt_duration(v).ok_or(OPT_DUR)?;
            Ok(())
        })
    };
}
macro_rules! num_knob {
    ($name:literal, $doc:literal, $($field:ident).+) => {
        knob!($name, $doc, |p| p.$($field).+.to_string(), |p, v| {
            p.$($field).+ = v.parse().map_err(|_| UINT)?;
            Ok(())
        })
    };
}

/// A numeric knob that must be at least 1 (`$expected` says so in the error).
macro_rules! positive_knob {
    ($name:literal, $doc:literal, $($field:ident).+) => {
        knob!($name, $doc, |p| p.$($field).+.to_string(), |p, v| {
            const POSITIVE: &str = "a positive integer (at least 1)";
            let n = v.parse().map_err(|_| POSITIVE)?;
            if n == 0 {
                return Err(POSITIVE);
            }
            p.$($field).+ = n;
            Ok(())
        })
    };
}

static KNOBS: &[KnobDef] = &[
    knob!(
        "tcp.time_wait_rst",
        "RST in TIME-WAIT: close (RFC 793/9293 §3.10.7.4) | ignore (RFC 1337 F1, Linux tcp_rfc1337=1)",
        |p| p.tcp.time_wait_rst.name().to_string(),
        |p, v| {
            p.tcp.time_wait_rst = match v {
                "close" => TimeWaitRst::Close,
                "ignore" => TimeWaitRst::Ignore,
                _ => return Err("close|ignore"),
            };
            Ok(())
        }
    ),
    bool_knob!(
        "tcp.rfc5961",
        "RFC 5961 §3-§5: exact-match RST else challenge ACK, challenge ACK for SYN and bad ACKs",
        tcp.rfc5961
    ),
    num_knob!(
        "tcp.challenge_ack_limit",
        "RFC 5961 §7: challenge ACKs per second (Linux tcp_challenge_ack_limit 1000); 0 = unlimited",
        tcp.challenge_ack_limit
    ),
    knob!(
        "tcp.syn_in_time_wait",
        "SYN in TIME-WAIT: reject (RFC 9293) | accept if SEQ > RCV.NXT (RFC 6191, Linux)",
        |p| p.tcp.syn_in_time_wait.name().to_string(),
        |p, v| {
            p.tcp.syn_in_time_wait = match v {
                "reject" => SynInTimeWait::Reject,
                "accept" => SynInTimeWait::Accept,
                _ => return Err("reject|accept"),
            };
            Ok(())
        }
    ),
    knob!(
        "tcp.isn",
        "ISN generator: rfc6528 (hash + 4 us clock) | random (seeded) | zero | fixed:<u32>",
        |p| p.tcp.isn.to_string(),
        |p, v| {
            p.tcp.isn = match v {
                "rfc6528" => IsnMode::Rfc6528,
                "random" => IsnMode::Random,
                "zero" => IsnMode::Zero,
                _ => IsnMode::Fixed(
                    v.strip_prefix("fixed:")
                        .and_then(|n| n.parse().ok())
                        .ok_or("rfc6528|random|zero|fixed:<u32>")?,
                ),
            };
            Ok(())
        }
    ),
    bool_knob!(
        "tcp.rst_on_bad_synrecv",
        "RFC 9293 §3.10.7.4: unacceptable ACK in SYN-RECEIVED draws <SEQ=SEG.ACK><CTL=RST> (off: drop)",
        tcp.rst_on_bad_synrecv
    ),
    bool_knob!(
        "tcp.keepalive.enabled",
        "SO_KEEPALIVE default for new sockets (RFC 1122 §4.2.3.6: MUST default to off)",
        tcp.keepalive.enabled
    ),
    dur_knob!(
        "tcp.keepalive.idle",
        "idle before the first probe (RFC 1122 >= 2 h; Linux tcp_keepalive_time, Windows KeepAliveTime)",
        tcp.keepalive.idle
    ),
    dur_knob!(
        "tcp.keepalive.intvl",
        "between unanswered probes (Linux tcp_keepalive_intvl 75 s, Windows KeepAliveInterval 1 s)",
        tcp.keepalive.interval
    ),
    num_knob!(
        "tcp.keepalive.probes",
        "unanswered probes before the drop (Linux tcp_keepalive_probes 9, Windows 10)",
        tcp.keepalive.probes
    ),
    bool_knob!(
        "tcp.keepalive.probe_garbage_byte",
        "RFC 1122 §4.2.3.6: probe carries one garbage octet",
        tcp.keepalive.probe_garbage_byte
    ),
    bool_knob!(
        "tcp.keepalive.rst_on_drop",
        "send RST when keepalive gives up (Linux tcp_keepalive_timer: tcp_send_active_reset)",
        tcp.keepalive.rst_on_drop
    ),
    opt_dur_knob!(
        "tcp.delayed_ack",
        "RFC 1122 §4.2.3.2 delayed-ACK timeout (< 500 ms) or off",
        tcp.delayed_ack
    ),
    dur_knob!(
        "tcp.msl",
        "maximum segment lifetime; TIME-WAIT = 2*MSL (RFC 9293 §3.4.2: 2 min)",
        tcp.msl
    ),
    dur_knob!("tcp.rto_initial", "RFC 6298 §2.1 initial RTO (1 s)", tcp.rto_initial),
    dur_knob!("tcp.rto_min", "RFC 6298 §2.4 RTO lower bound (1 s; Linux 200 ms)", tcp.rto_min),
    dur_knob!("tcp.rto_max", "RFC 6298 §2.5 RTO upper bound (>= 60 s; Linux 120 s)", tcp.rto_max),
    num_knob!(
        "tcp.max_retries",
        "RFC 1122 §4.2.3.5 R2 as a count (Linux tcp_retries2 15, Windows TcpMaxDataRetransmissions 5)",
        tcp.max_retries
    ),
    num_knob!(
        "tcp.syn_retries",
        "SYN / SYN-ACK retransmissions (7 = 183 s, RFC 9293 MUST-23; Linux tcp_syn_retries 6)",
        tcp.syn_retries
    ),
    positive_knob!("tcp.mss", "MSS option on SYN (RFC 9293 §3.7.1)", tcp.mss),
    positive_knob!("tcp.rcv_buf", "receive buffer bytes (largest window offered)", tcp.rcv_buf),
    positive_knob!("tcp.snd_buf", "send buffer bytes", tcp.snd_buf),
    knob!(
        "tcp.window_scale",
        "RFC 7323 §2 window-scale shift offered (0-14) or off",
        |p| p.tcp.window_scale.map_or_else(|| "off".into(), |s| s.to_string()),
        |p, v| {
            p.tcp.window_scale = match v {
                "off" | "none" => None,
                _ => Some(v.parse::<u8>().ok().filter(|s| *s <= 14).ok_or("off or 0-14")?),
            };
            Ok(())
        }
    ),
    bool_knob!(
        "tcp.nagle",
        "RFC 1122 §4.2.3.4 Nagle algorithm default (off = TCP_NODELAY)",
        tcp.nagle
    ),
    knob!(
        "tcp.zero_window_probe",
        "persist probe: data-byte (RFC 9293 §3.8.6.1) | una-minus-one (Linux tcp_xmit_probe_skb)",
        |p| p.tcp.zero_window_probe.name().to_string(),
        |p, v| {
            p.tcp.zero_window_probe = match v {
                "data-byte" => ZeroWindowProbe::DataByte,
                "una-minus-one" => ZeroWindowProbe::UnaMinusOne,
                _ => return Err("data-byte|una-minus-one"),
            };
            Ok(())
        }
    ),
    opt_dur_knob!(
        "tcp.user_timeout",
        "RFC 5482 / RFC 9293 §3.8.3 user timeout default, or off",
        tcp.user_timeout
    ),
    bool_knob!(
        "tcp.timestamps",
        "RFC 7323: offer/accept timestamps; TS on every segment, PAWS, RTTM",
        tcp.timestamps
    ),
    bool_knob!(
        "tcp.sack",
        "RFC 2018: offer/accept SACK-permitted; SACK blocks in ACKs for out-of-order data",
        tcp.sack
    ),
    knob!(
        "tcp.syn_layout",
        "order and padding of SYN options: plain | linux (mss,sackOK,TS,nop,wscale) | freebsd (mss,nop,wscale,sackOK,TS, EOL padding)",
        |p| p.tcp.syn_layout.name().to_string(),
        |p, v| {
            p.tcp.syn_layout = match v {
                "plain" => SynLayout::Plain,
                "linux" => SynLayout::Linux,
                "freebsd" => SynLayout::FreeBsd,
                _ => return Err("plain|linux|freebsd"),
            };
            Ok(())
        }
    ),
    bool_knob!(
        "tcp.buf_round_to_mss",
        "FreeBSD tcp_mss(): socket buffers rounded up to a multiple of the MSS once it is known",
        tcp.buf_round_to_mss
    ),
    bool_knob!(
        "tcp.insecure_syn",
        "in-window SYN in a synchronized state resets the connection (RFC 793; FreeBSD insecure_syn=1) instead of a RFC 5961 §4 challenge ACK",
        tcp.insecure_syn
    ),
    bool_knob!(
        "tcp.drop_synfin",
        "drop segments with both SYN and FIN (FreeBSD net.inet.tcp.drop_synfin)",
        tcp.drop_synfin
    ),
    bool_knob!(
        "tcp.fin_on_acks",
        "ACKs re-send our unacknowledged FIN in FIN-WAIT-1/CLOSING/LAST-ACK (FreeBSD tcp_outflags)",
        tcp.fin_on_acks
    ),
    bool_knob!(
        "tcp.rcv_wnd_from_buffer",
        "sequence check accepts up to the free buffer, beyond the unscaled 65535 (FreeBSD tcp_input rcv_wnd)",
        tcp.rcv_wnd_from_buffer
    ),
    bool_knob!(
        "tcp.abort_rst_ack",
        "ABORT's RST carries ACK=RCV.NXT (FreeBSD tcp_drop, Linux tcp_send_active_reset)",
        tcp.abort_rst_ack
    ),
    bool_knob!(
        "tcp.time_wait_bsd",
        "TIME-WAIT input as FreeBSD tcp_twcheck: RST dropped, no-ACK dropped, ACK all but exact dup ACKs",
        tcp.time_wait_bsd
    ),
    bool_knob!(
        "tcp.old_segment_ack",
        "a segment left of the window still has its ACK processed (BSD tcp_input trimming)",
        tcp.old_segment_ack
    ),
    bool_knob!(
        "tcp.rst_error_after_fin",
        "RST in CLOSING/LAST-ACK reports ECONNRESET (FreeBSD, Linux tcp_reset)",
        tcp.rst_error_after_fin
    ),
    bool_knob!(
        "tcp.listener_close_resets_embryonic",
        "closing a listener resets its SYN-RECEIVED connections (off: dropped silently, FreeBSD syncache, Linux)",
        tcp.listener_close_resets_embryonic
    ),
    bool_knob!(
        "tcp.listen_synack_rst",
        "SYN-ACK at a listener draws RST (RFC 9293 §3.10.7.2; off: dropped, FreeBSD tcp_input)",
        tcp.listen_synack_rst
    ),
    num_knob!(
        "tcp.initial_window",
        "initial cwnd in segments (Linux TCP_INIT_CWND 10, RFC 6928); 0 = RFC 5681/3390 min(4*SMSS, max(2*SMSS, 4380))",
        tcp.initial_window
    ),
    num_knob!(
        "tcp.quickack",
        "Linux quick-ACK mode: ACKs sent at once for new or idle connections (TCP_MAX_QUICKACKS 16); 0 = off",
        tcp.quickack
    ),
    positive_knob!(
        "arp.queue_depth",
        "packets held per unresolved address (RFC 1122 §2.3.2.2: at least 1)",
        arp.queue_depth
    ),
    num_knob!(
        "arp.queue_bytes",
        "bytes held per unresolved address (Linux unres_qlen_bytes); 0 = no bound",
        arp.queue_bytes
    ),
    knob!(
        "arp.overflow",
        "full pending queue: keep-newest (Windows; replaces the WHOLE queue with the new packet, whatever the depth) | drop-oldest (Linux) | drop-newest",
        |p| p.arp.overflow.name().to_string(),
        |p, v| {
            p.arp.overflow =
                QueueOverflow::from_name(v).ok_or("keep-newest|drop-oldest|drop-newest")?;
            Ok(())
        }
    ),
    dur_knob!(
        "arp.reachable_time",
        "dynamic entry lifetime after confirmation (Linux base_reachable_time 30 s)",
        arp.reachable_time
    ),
    dur_knob!(
        "arp.retransmit_interval",
        "time between ARP requests (Linux retrans_time 1 s)",
        arp.retransmit_interval
    ),
    positive_knob!(
        "arp.max_requests",
        "ARP requests before giving up (Linux mcast_solicit 3)",
        arp.max_requests
    ),
];

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[test]
    fn every_profile_name_resolves_and_is_named() {
        for n in Profile::names() {
            let p = Profile::named(n).expect("known");
            assert_eq!(p.name, *n);
        }
        assert_eq!(Profile::default(), Profile::rfc9293());
    }

    #[test]
    fn unknown_profile_lists_the_names() {
        let e = Profile::named("bsd").unwrap_err();
        let msg = e.to_string();
        for n in Profile::names() {
            assert!(msg.contains(n), "{msg}");
        }
    }

    /// Every knob: set it to a value different from the current one, read it back.
    #[rstest]
    fn every_knob_settable_and_read_back(
        #[values(
            "rfc793", "rfc1337", "rfc5961", "rfc9293", "linux", "windows", "hardened", "freebsd"
        )]
        name: &str,
    ) {
        let mut p = Profile::named(name).expect("profile");
        for k in p.knobs() {
            let candidates = [
                "on",
                "off",
                "7",
                "1",
                "300s",
                "250ms",
                "1.5s",
                "ignore",
                "close",
                "accept",
                "reject",
                "random",
                "fixed:4294967295",
                "keep-newest",
                "drop-newest",
                "una-minus-one",
                "data-byte",
                "freebsd",
                "plain",
                "3",
            ];
            let mut changed = false;
            for c in candidates {
                let before = p.clone();
                if p.set(k.name, c).is_ok() {
                    let now = p.get(k.name).expect("get");
                    if now != k.value {
                        changed = true;
                        // Round trip: setting the printed value gives the same profile.
                        let mut q = p.clone();
                        q.set(k.name, &now).expect("printed value parses");
                        assert_eq!(q, p);
                        break;
                    }
                } else {
                    assert_eq!(p, before, "failed set must not change {}", k.name);
                }
            }
            assert!(changed, "knob {} could not be changed", k.name);
        }
    }

    #[rstest]
    #[case("tcp.time_wait_rst", "ignore")]
    #[case("tcp.keepalive.idle", "300s")]
    #[case("tcp.keepalive.intvl", "1.5s")]
    #[case("tcp.delayed_ack", "off")]
    #[case("tcp.delayed_ack", "40ms")]
    #[case("arp.queue_depth", "1")]
    #[case("arp.overflow", "keep-newest")]
    #[case("tcp.isn", "zero")]
    #[case("tcp.window_scale", "14")]
    #[case("tcp.user_timeout", "30s")]
    #[case("tcp.sack", "on")]
    #[case("tcp.syn_layout", "freebsd")]
    #[case("tcp.insecure_syn", "on")]
    fn named_examples(#[case] knob: &str, #[case] value: &str) {
        let mut p = Profile::rfc9293();
        p.apply(&format!("{knob}={value}")).expect("apply");
        let want = if value == "1.5s" { "1500ms" } else { value };
        assert_eq!(p.get(knob).expect("get"), want);
    }

    #[rstest]
    #[case("tcp.time_wait_rst", "maybe", "close|ignore")]
    #[case("tcp.rfc5961", "perhaps", "on|off")]
    #[case("tcp.keepalive.idle", "300", "duration")]
    #[case("tcp.keepalive.idle", "5 parsecs", "duration")]
    #[case("tcp.mss", "-1", "integer")]
    #[case("tcp.window_scale", "15", "0-14")]
    #[case("arp.overflow", "drop-all", "keep-newest|drop-oldest|drop-newest")]
    #[case("tcp.isn", "fixed:x", "fixed:<u32>")]
    fn bad_values_name_the_allowed_ones(
        #[case] knob: &str,
        #[case] value: &str,
        #[case] hint: &str,
    ) {
        let mut p = Profile::rfc9293();
        let e = p.set(knob, value).unwrap_err();
        assert!(matches!(e, PolicyError::BadValue { .. }));
        assert!(e.to_string().contains(hint), "{e}");
        assert_eq!(p, Profile::rfc9293());
    }

    #[test]
    fn zero_is_refused_where_it_means_nothing() {
        for knob in [
            "tcp.mss",
            "arp.queue_depth",
            "tcp.rcv_buf",
            "arp.max_requests",
        ] {
            let e = Profile::rfc9293().set(knob, "0").unwrap_err();
            assert!(e.to_string().contains("at least 1"), "{knob}: {e}");
        }
        assert!(Profile::rfc9293().set("arp.queue_depth", "3").is_ok());
    }

    #[test]
    fn unknown_knob_and_missing_equals() {
        let mut p = Profile::rfc9293();
        let e = p.set("tcp.nonsense", "1").unwrap_err();
        assert!(matches!(e, PolicyError::UnknownKnob { .. }));
        // Not every knob on one line: a pointer to the list instead.
        assert!(!e.to_string().contains("tcp.time_wait_rst"), "{e}");
        assert!(e.to_string().contains("lists all"), "{e}");
        let e = p.set("tcp.time_wait_rts", "1").unwrap_err();
        assert!(
            e.to_string().contains("did you mean `tcp.time_wait_rst`?"),
            "{e}"
        );
        assert!(matches!(
            p.apply("tcp.msl"),
            Err(PolicyError::MissingEquals(_))
        ));
    }

    #[test]
    fn display_prints_every_knob_once_in_order() {
        let p = Profile::linux();
        let text = p.to_string();
        let lines: Vec<&str> = text.lines().skip(1).collect();
        let names = Profile::knob_names();
        assert_eq!(lines.len(), names.len());
        for (l, n) in lines.iter().zip(names) {
            assert!(l.starts_with(&format!("{n} = ")), "{l}");
        }
        assert!(Profile::knobs(&p).iter().all(|k| !k.doc.is_empty()));
    }

    #[test]
    fn profiles_differ_where_documented() {
        let (r793, r1337, linux, win, hard) = (
            Profile::rfc793(),
            Profile::rfc1337(),
            Profile::linux(),
            Profile::windows(),
            Profile::hardened(),
        );
        assert_eq!(r793.tcp.time_wait_rst, TimeWaitRst::Close);
        assert!(!r793.tcp.rfc5961);
        assert_eq!(r1337.tcp.time_wait_rst, TimeWaitRst::Ignore);
        assert!(Profile::rfc5961().tcp.rfc5961);
        assert_eq!(linux.tcp.msl * 2, Duration::from_secs(60));
        assert_eq!(linux.tcp.rto_min, Duration::from_millis(200));
        assert_eq!(linux.tcp.rto_max, Duration::from_secs(120));
        assert_eq!((linux.tcp.max_retries, linux.tcp.syn_retries), (15, 6));
        assert_eq!(linux.tcp.keepalive.probes, 9);
        assert!(linux.tcp.keepalive.rst_on_drop);
        assert_eq!(linux.tcp.syn_in_time_wait, SynInTimeWait::Accept);
        assert_eq!(linux.arp.queue_depth, 101);
        assert_eq!(win.tcp.msl * 2, Duration::from_secs(240));
        assert_eq!(win.tcp.keepalive.interval, Duration::from_secs(1));
        assert_eq!(win.tcp.keepalive.probes, 10);
        assert_eq!(win.tcp.max_retries, 5);
        assert_eq!(
            (win.arp.queue_depth, win.arp.overflow),
            (1, QueueOverflow::KeepNewest)
        );
        assert!(hard.tcp.keepalive.enabled);
        assert_eq!(hard.tcp.keepalive.idle, Duration::from_secs(300));
        assert_eq!(hard.tcp.time_wait_rst, TimeWaitRst::Ignore);
        assert_eq!(hard.tcp.syn_in_time_wait, SynInTimeWait::Reject);
        assert_ne!(r793, r1337, "diffable");
    }

    #[rstest]
    #[case("300s", 300_000_000)]
    #[case("250ms", 250_000)]
    #[case("1.5s", 1_500_000)]
    #[case("100us", 100)]
    #[case("2m", 120_000_000)]
    #[case(".5s", 500_000)]
    fn durations_parse(#[case] s: &str, #[case] us: u64) {
        assert_eq!(parse_duration(s), Some(Duration::from_micros(us)));
        assert_eq!(
            parse_duration(&format_duration(Duration::from_micros(us))),
            Some(Duration::from_micros(us))
        );
    }

    #[rstest]
    #[case("")]
    #[case("s")]
    #[case("10")]
    #[case("1.0000001s")]
    #[case("1.2.3s")]
    #[case("99999999999999999999s")]
    fn bad_durations_rejected(#[case] s: &str) {
        assert_eq!(parse_duration(s), None);
    }
}
