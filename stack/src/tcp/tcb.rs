//! The transmission control block (RFC 9293 §3.3.1): send/receive sequence variables, buffers,
//! timers, and the single state-setting function that logs every transition.

use super::event::{Cause, ChallengeTrigger, DropCause, DropReason, RstReason, TcpEvent};
use super::reassembly::Reassembly;
use super::socket::{Options, SocketError, SocketHandle};
use super::{FourTuple, Outgoing, State};
use crate::policy::TcpPolicy;
use crate::time::Timed;
use crate::time::{Duration, Instant};
use crate::wire::{SeqNumber, TcpFlags, TcpRepr};
use std::collections::VecDeque;

/// RFC 9293 §3.7.1: "If an MSS Option is not received at connection setup, TCP implementations
/// MUST assume a default send MSS of 536".
pub(crate) const DEFAULT_MSS: usize = 536;
/// Floor on the send MSS so a peer's MSS 0 cannot make us emit empty data segments forever
/// (Linux `TCP_MIN_SND_MSS` is 48).
pub(crate) const MIN_MSS: usize = 48;
/// RFC 7323 §2.3: shift counts above 14 are treated as 14.
pub(crate) const MAX_WSCALE: u8 = 14;

/// RFC 5681 §3.1 (RFC 3390): "IW = min (4*SMSS, max (2*SMSS, 4380 bytes))".
pub(crate) fn initial_window(smss: usize) -> u32 {
    let smss = smss as u64;
    (4 * smss)
        .min((2 * smss).max(4380))
        .min(u64::from(u32::MAX)) as u32
}

/// Copies `out.len()` bytes of `q` starting at `off` into `out`, a slice copy per half of the
/// ring (the caller checks the range).
pub(crate) fn copy_out(q: &VecDeque<u8>, off: usize, out: &mut [u8]) {
    let (a, b) = q.as_slices();
    let end = off + out.len();
    let from_a = a.len().min(end).saturating_sub(off.min(a.len()));
    let a_start = off.min(a.len());
    out[..from_a].copy_from_slice(&a[a_start..a_start + from_a]);
    let b_start = off.saturating_sub(a.len());
    let rest = out.len() - from_a;
    out[from_a..].copy_from_slice(&b[b_start..b_start + rest]);
}

/// Frees `q`'s buffer once it is empty: an idle connection holds no buffer memory (buffers are
/// allocated again on demand when data comes).
pub(crate) fn release_if_empty<T>(q: &mut VecDeque<T>) {
    if q.is_empty() && q.capacity() > 0 {
        *q = VecDeque::new();
    }
}

/// The data a connection holds: bytes to send or not yet acknowledged, bytes received and
/// not yet read, and out-of-order bytes. Allocated when the first byte comes and freed when
/// all three are empty, so an idle connection holds none ([`Tcb::release_bufs`]).
#[derive(Clone, Debug, Default)]
pub(crate) struct Buffers {
    /// Unacknowledged and unsent data; `tx[0]` has sequence number `Tcb::tx_seq`.
    pub tx: VecDeque<u8>,
    pub rx: VecDeque<u8>,
    /// Out-of-order data above RCV.NXT (RFC 9293 §3.10.7.4 SHLD-31).
    pub ooo: Reassembly,
}

impl Buffers {
    fn is_empty(&self) -> bool {
        self.tx.is_empty() && self.rx.is_empty() && self.ooo.is_empty()
    }
}

/// The part of a TCB an idle connection leaves clear, boxed while any of it is set
/// ([`Tcb::set_rare`]): each connection end of an idle population saves its size.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Rare {
    /// RFC 6298 §3: the segment being timed (end sequence number, when it was sent).
    pub rtt_probe: Option<(SeqNumber, Instant)>,
    /// When the oldest unacknowledged data was sent (user timeout, RFC 5482); `None` while
    /// nothing is outstanding and no zero window is being probed (`Tcb::update_timers`).
    pub ut_since: Option<Instant>,
    /// RFC 9293 §3.8.6.1 persist timer and the probes sent since the window closed.
    pub persist_at: Option<Instant>,
    pub persist_n: u32,
    /// RFC 9293 §3.10.7.4: the TIME-WAIT timer.
    pub tw_at: Option<Instant>,
    /// Where the latest out-of-order segment started (the first SACK block holds it).
    pub last_ooo: Option<SeqNumber>,
}

impl Rare {
    const CLEAR: Rare = Rare {
        rtt_probe: None,
        ut_since: None,
        persist_at: None,
        persist_n: 0,
        tw_at: None,
        last_ooo: None,
    };
}

/// What [`Tcb::rare`] reads while a connection holds none of it.
static NO_RARE: Rare = Rare::CLEAR;

/// What [`Tcb::tx`] and [`Tcb::rx`] read while a connection holds no buffers.
static NO_BYTES: VecDeque<u8> = VecDeque::new();
/// What [`Tcb::ooo`] reads while a connection holds no buffers.
static NO_OOO: Reassembly = Reassembly::EMPTY;

/// Everything a TCB needs from its endpoint while handling one input.
pub(crate) struct Ctx<'a> {
    pub now: Instant,
    pub policy: &'a TcpPolicy,
    pub events: &'a mut crate::boxed_deque::BoxedDeque<Timed<TcpEvent>>,
    /// Control segments (RSTs, challenge ACKs, probes) leave through the endpoint's queue so
    /// they survive the TCB that generated them.
    pub out: &'a mut crate::boxed_deque::BoxedDeque<Outgoing>,
    pub limiter: &'a mut RateLimiter,
}

impl Ctx<'_> {
    pub fn emit(&mut self, e: TcpEvent) {
        self.events.push_back(Timed {
            time: self.now,
            event: e,
        });
    }
}

/// RFC 5961 §7: challenge ACKs per second, endpoint-wide (the pre-4.7 Linux behaviour).
#[derive(Clone, Debug, Default)]
pub(crate) struct RateLimiter {
    window_start: Instant,
    count: u32,
}

impl RateLimiter {
    pub fn allow(&mut self, now: Instant, limit: u32) -> bool {
        if limit == 0 {
            return true;
        }
        if now.saturating_since(self.window_start) >= Duration::from_secs(1) {
            self.window_start = now;
            self.count = 0;
        }
        if self.count < limit {
            self.count += 1;
            true
        } else {
            false
        }
    }
}

/// One connection.
#[derive(Clone, Debug)]
pub(crate) struct Tcb {
    pub tuple: FourTuple,
    pub state: State,
    /// Opened by a listener (RFC 9293: "initiated with a passive OPEN").
    pub passive: bool,
    pub parent: Option<SocketHandle>,
    pub queued_for_accept: bool,
    pub opts: Options,
    /// The user holds a handle to this socket (false for unaccepted children and after close()).
    pub user_owned: bool,
    /// The user called close() (the socket is orphaned; data that still arrives is discarded).
    pub user_closed: bool,
    pub pending_error: Option<SocketError>,

    // --- send sequence space (RFC 9293 §3.3.1) ---
    pub iss: SeqNumber,
    pub snd_una: SeqNumber,
    /// Highest sequence number sent so far plus one.
    pub snd_nxt: SeqNumber,
    /// Next sequence number to transmit (go-back-N: rewound to SND.UNA on a retransmission
    /// timeout; always SND.UNA <= snd_cur <= SND.NXT).
    pub snd_cur: SeqNumber,
    /// Send window in bytes (already scaled).
    pub snd_wnd: u32,
    pub max_snd_wnd: u32,
    pub snd_wl1: SeqNumber,
    pub snd_wl2: SeqNumber,
    pub snd_mss: usize,
    pub snd_scale: u8,
    pub rcv_scale: u8,
    pub ws_active: bool,
    /// RFC 2018 §2: both SYNs carried SACK-permitted.
    pub sack_ok: bool,
    /// RFC 7323 §3: both SYNs carried timestamps.
    pub ts_ok: bool,
    /// RFC 7323 §4.3 TS.Recent: the TSval to echo.
    pub ts_recent: u32,
    /// Our timestamp clock (milliseconds) at the latest input: the TSval we send.
    pub ts_now: u32,
    /// TSecr of the segment being processed (RFC 7323 §4.1 RTTM sample source).
    pub ts_ecr_in: Option<u32>,
    /// RFC 5681 §3.1 congestion window and slow-start threshold (bytes).
    pub cwnd: u32,
    pub ssthresh: u32,
    /// The send, receive and reassembly buffers; `None` while all are empty.
    pub bufs: Option<Box<Buffers>>,
    /// Sequence number of the first byte of the send buffer.
    pub tx_seq: SeqNumber,
    /// The user closed the write side: a FIN follows the last byte of `tx`.
    pub fin_queued: bool,

    // --- receive sequence space ---
    pub irs: SeqNumber,
    pub rcv_nxt: SeqNumber,
    pub fin_received: bool,
    /// Window we last advertised (bytes), for window-update decisions.
    pub rcv_adv: u32,
    /// Right edge of the window we last advertised, RCV.NXT + RCV.WND (receiver SWS avoidance,
    /// RFC 9293 §3.8.6.2.2); `None` before the first advertisement.
    pub rcv_edge: Option<SeqNumber>,

    // --- ACK generation ---
    pub ack_now: bool,
    pub unacked_segs: u32,
    /// Linux quick-ACK mode: immediate ACKs left (policy `quickack`).
    pub quick_acks: u32,
    /// When in-order data last arrived (Linux `icsk_ack.lrcvtime`).
    pub last_data_in: Option<Instant>,
    /// Interactive mode (Linux pingpong): data went out within the delayed-ACK timeout of
    /// data coming in, so ACKs wait to ride on the replies.
    pub pingpong: bool,

    // --- timers ---
    pub rto: Duration,
    pub srtt: Option<Duration>,
    pub rttvar: Duration,
    pub retries: u32,
    pub rtx_at: Option<Instant>,
    pub delack_at: Option<Instant>,
    pub tw_start: Instant,
    pub last_recv: Instant,
    pub ka_probes: u32,

    /// Recovery and timer state an idle connection does not hold; `None` while all of it
    /// is clear.
    pub rare: Option<Box<Rare>>,

    // --- endpoint bookkeeping ---
    /// The deadline this connection is filed under in the endpoint's index.
    pub filed_at: Option<Instant>,
    /// Counted in the parent listener's embryonic connections.
    pub embryonic: bool,
}

impl Tcb {
    /// A TCB in CLOSED, ready for `open_active` or `open_passive`.
    pub fn new(
        tuple: FourTuple,
        opts: Options,
        policy: &TcpPolicy,
        iss: SeqNumber,
        now: Instant,
    ) -> Tcb {
        Tcb {
            tuple,
            state: State::Closed,
            passive: false,
            parent: None,
            queued_for_accept: false,
            opts,
            user_owned: true,
            user_closed: false,
            pending_error: None,
            iss,
            snd_una: iss,
            snd_nxt: iss,
            snd_cur: iss,
            snd_wnd: 0,
            max_snd_wnd: 0,
            snd_wl1: SeqNumber(0),
            snd_wl2: iss,
            snd_mss: DEFAULT_MSS,
            snd_scale: 0,
            rcv_scale: policy.window_scale.unwrap_or(0).min(MAX_WSCALE),
            ws_active: false,
            sack_ok: false,
            ts_ok: false,
            ts_recent: 0,
            ts_now: super::options::ts_clock(now),
            ts_ecr_in: None,
            cwnd: initial_window(DEFAULT_MSS),
            // RFC 5681 §3.1: "The initial value of ssthresh SHOULD be set arbitrarily high".
            ssthresh: u32::MAX,
            bufs: None,
            tx_seq: iss + 1u32,
            fin_queued: false,
            irs: SeqNumber(0),
            rcv_nxt: SeqNumber(0),
            fin_received: false,
            rcv_adv: 0,
            rcv_edge: None,
            ack_now: false,
            unacked_segs: 0,
            quick_acks: 0,
            last_data_in: None,
            pingpong: false,
            rto: policy.rto_initial.max(policy.rto_min).min(policy.rto_max),
            srtt: None,
            rttvar: Duration::ZERO,
            retries: 0,
            rtx_at: None,
            delack_at: None,
            tw_start: now,
            last_recv: now,
            ka_probes: 0,
            rare: None,
            filed_at: None,
            embryonic: false,
        }
    }

    /// The one place a state changes: logs `(from, to, cause)` and does the entry actions
    /// (RFC 9293 §3.10.7.4 TIME-WAIT: "start the time-wait timer, turn off the other timers";
    /// CLOSED: "delete the TCB", modelled as clearing every timer and the send queue).
    pub fn set_state(&mut self, ctx: &mut Ctx<'_>, to: State, cause: Cause) {
        let from = self.state;
        if from == to {
            return;
        }
        self.state = to;
        ctx.emit(TcpEvent::StateChange {
            conn: self.tuple,
            from,
            to,
            cause,
        });
        match to {
            State::TimeWait => {
                self.clear_timers();
                self.start_time_wait(ctx.now, ctx.policy);
            }
            State::Closed => {
                self.clear_timers();
                self.set_rare(|r| r.tw_at = None);
                if let Some(b) = &mut self.bufs {
                    b.tx.clear();
                    b.ooo.clear();
                }
                self.release_bufs();
                self.ack_now = false;
            }
            // ESTABLISHED and CLOSE-WAIT are entered only on a segment's arrival, which has
            // already restarted the keepalive cycle (`last_recv`, `ka_probes`: arrive.rs).
            _ => {}
        }
    }

    pub fn start_time_wait(&mut self, now: Instant, policy: &TcpPolicy) {
        self.tw_start = now;
        let at = now + policy.msl * 2;
        self.set_rare(|r| r.tw_at = Some(at));
    }

    pub fn clear_timers(&mut self) {
        self.rtx_at = None;
        self.delack_at = None;
        self.set_rare(|r| {
            r.persist_at = None;
            r.ut_since = None;
        });
    }

    /// Kill the connection with an error for the user (reported once) and an event.
    pub fn drop_connection(
        &mut self,
        ctx: &mut Ctx<'_>,
        reason: DropCause,
        error: Option<SocketError>,
        cause: Cause,
    ) {
        ctx.emit(TcpEvent::ConnectionDropped {
            conn: self.tuple,
            state: self.state,
            reason,
        });
        if error.is_some() {
            self.pending_error = error;
            self.clear_rx();
        }
        self.set_state(ctx, State::Closed, cause);
    }

    // --- buffers -------------------------------------------------------------------------------

    /// Data to send or not yet acknowledged.
    pub fn tx(&self) -> &VecDeque<u8> {
        self.bufs.as_ref().map_or(&NO_BYTES, |b| &b.tx)
    }

    /// Data received and not yet read.
    pub fn rx(&self) -> &VecDeque<u8> {
        self.bufs.as_ref().map_or(&NO_BYTES, |b| &b.rx)
    }

    /// Out-of-order data above RCV.NXT.
    pub fn ooo(&self) -> &Reassembly {
        self.bufs.as_ref().map_or(&NO_OOO, |b| &b.ooo)
    }

    /// The buffers, allocated if the connection holds none.
    pub fn bufs_mut(&mut self) -> &mut Buffers {
        self.bufs.get_or_insert_with(Box::default)
    }

    /// Frees the buffers once all are empty (an idle connection holds none).
    pub fn release_bufs(&mut self) {
        if self.bufs.as_ref().is_some_and(|b| b.is_empty()) {
            self.bufs = None;
        }
    }

    /// Discards the data received and not yet read.
    pub fn clear_rx(&mut self) {
        if let Some(b) = &mut self.bufs {
            b.rx.clear();
        }
        self.release_bufs();
    }

    /// The recovery and timer state of [`Rare`] (all clear while the connection holds none).
    pub fn rare(&self) -> &Rare {
        self.rare.as_deref().unwrap_or(&NO_RARE)
    }

    /// Changes the [`Rare`] state: boxed when something in it is set, freed when all is clear.
    pub fn set_rare(&mut self, f: impl FnOnce(&mut Rare)) {
        match &mut self.rare {
            Some(r) => {
                f(r);
                if **r == Rare::CLEAR {
                    self.rare = None;
                }
            }
            None => {
                let mut r = Rare::CLEAR;
                f(&mut r);
                if r != Rare::CLEAR {
                    self.rare = Some(Box::new(r));
                }
            }
        }
    }

    // --- windows -------------------------------------------------------------------------------

    /// Free receive buffer, capped at what the header can advertise.
    pub fn free_window(&self) -> u32 {
        let free = self.opts.rcv_buf().saturating_sub(self.rx().len());
        let shift = if self.ws_active { self.rcv_scale } else { 0 };
        let max = 65_535u64 << shift;
        (free as u64).min(max) as u32
    }

    /// RFC 9293 §3.8.6.2.2: the receiver's SWS threshold, min(Fr * RCV.BUFF, Eff.snd.MSS) with
    /// Fr = 1/2.
    pub fn sws_threshold(&self) -> u32 {
        ((self.opts.rcv_buf() / 2).min(self.snd_mss).max(1)).min(u32::MAX as usize) as u32
    }

    /// RCV.WND. RFC 9293 §3.8.6.2.2 (MUST-39): "keep RCV.NXT+RCV.WND fixed until the reduction
    /// satisfies: RCV.BUFF - RCV.USER - RCV.WND >= min( Fr * RCV.BUFF, Eff.snd.MSS )". The
    /// right edge last advertised stays put (it never moves left: §3.8.6 SHLD-14, "shrinking
    /// the window" is strongly discouraged) until the free space exceeds it by the threshold;
    /// then the whole free buffer is offered.
    pub fn rcv_wnd(&self) -> u32 {
        let free = self.free_window();
        let Some(edge) = self.rcv_edge else {
            return free;
        };
        let fixed = edge.diff(self.rcv_nxt).max(0) as u32;
        if free >= fixed.saturating_add(self.sws_threshold()) {
            free
        } else {
            fixed
        }
    }

    /// The 16-bit window field (RFC 7323 §2.2: never scaled on SYN segments).
    pub fn window_field(&self, syn: bool) -> u16 {
        let w = self.rcv_wnd();
        if syn || !self.ws_active {
            w.min(65_535) as u16
        } else {
            (w >> self.rcv_scale).min(65_535) as u16
        }
    }

    /// Sequence number just past the last byte of queued data (where our FIN goes).
    pub fn data_end(&self) -> SeqNumber {
        self.tx_seq + self.tx().len()
    }

    /// Our FIN has been sent and acknowledged.
    pub fn our_fin_acked(&self) -> bool {
        self.fin_queued && self.tx().is_empty() && self.snd_una == self.tx_seq + 1u32
    }

    /// States in which we may send data (RFC 9293 §3.10.2 SEND).
    pub fn can_send_data(&self) -> bool {
        matches!(
            self.state,
            State::Established
                | State::CloseWait
                | State::FinWait1
                | State::Closing
                | State::LastAck
        )
    }

    /// Data bytes not yet acknowledged (sent or not).
    pub fn unacked_data(&self) -> usize {
        let acked_in_tx = self.snd_una.diff(self.tx_seq).max(0) as usize;
        self.tx().len().saturating_sub(acked_in_tx)
    }

    // --- segments ------------------------------------------------------------------------------

    /// A segment from this connection with ACK = RCV.NXT and the current window.
    pub fn segment(&self, seq: SeqNumber, flags: TcpFlags, payload: Vec<u8>) -> TcpRepr {
        let has_ack = flags.ack();
        TcpRepr {
            src_port: self.tuple.local.port(),
            dst_port: self.tuple.remote.port(),
            seq,
            ack: if has_ack { self.rcv_nxt } else { SeqNumber(0) },
            flags,
            window: self.window_field(flags.syn()),
            urgent: 0,
            options: if flags.syn() || flags.rst() {
                Vec::new()
            } else {
                self.segment_options()
            },
            payload,
        }
    }

    pub fn outgoing(&self, seg: TcpRepr) -> Outgoing {
        Outgoing {
            src: *self.tuple.local.ip(),
            dst: *self.tuple.remote.ip(),
            seg,
        }
    }

    /// Queue an RST from this connection and log it. RFC 9293 §3.10.7: never in reply to an RST
    /// (callers check).
    pub fn send_rst(
        &mut self,
        ctx: &mut Ctx<'_>,
        seq: SeqNumber,
        ack: Option<SeqNumber>,
        reason: RstReason,
    ) {
        let mut seg = self.segment(seq, TcpFlags::RST, Vec::new());
        seg.window = 0;
        if let Some(a) = ack {
            seg.flags |= TcpFlags::ACK;
            seg.ack = a;
        }
        ctx.emit(TcpEvent::RstSent {
            conn: self.tuple,
            seq,
            ack,
            reason,
        });
        ctx.out.push_back(self.outgoing(seg));
    }

    /// An immediate `<SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>` through the control queue (with
    /// `fin_on_acks`, the re-sent FIN of [`Tcb::ack_segment`]).
    pub fn send_ack_now(&mut self, ctx: &mut Ctx<'_>) {
        let seg = self.ack_segment(ctx.policy);
        self.note_ack_sent();
        ctx.out.push_back(self.outgoing(seg));
    }

    /// Our FIN went out and is not acknowledged yet (FIN-WAIT-1, CLOSING, LAST-ACK).
    pub fn fin_unacked(&self) -> bool {
        matches!(
            self.state,
            State::FinWait1 | State::Closing | State::LastAck
        ) && self.fin_queued
            && self.snd_nxt == self.data_end() + 1u32
    }

    /// The empty ACK the output path sends: `<SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>`, or with
    /// `fin_on_acks` and our FIN outstanding, that FIN again, `<SEQ=FIN><CTL=FIN,ACK>` (FreeBSD
    /// `tcp_outflags[]`; RFC 9293 §3.10.4 lets a FIN be retransmitted at any time).
    pub fn ack_segment(&self, policy: &TcpPolicy) -> TcpRepr {
        if policy.fin_on_acks && self.fin_unacked() {
            self.segment(self.data_end(), TcpFlags::ACK | TcpFlags::FIN, Vec::new())
        } else {
            self.segment(self.snd_nxt, TcpFlags::ACK, Vec::new())
        }
    }

    /// The RST of an ABORT, RFC 9293 §3.10.5: `<SEQ=SND.NXT><CTL=RST>`; with `abort_rst_ack`
    /// also `ACK=RCV.NXT` (FreeBSD `tcp_drop`, Linux `tcp_send_active_reset`).
    pub fn send_abort_rst(&mut self, ctx: &mut Ctx<'_>, reason: RstReason) {
        let ack = ctx.policy.abort_rst_ack.then_some(self.rcv_nxt);
        let seq = self.snd_nxt;
        self.send_rst(ctx, seq, ack, reason);
    }

    /// RFC 5961 §3.2/§4.2/§5.2 challenge ACK, rate-limited per §7. Always the plain
    /// `<SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>` (FreeBSD sends it with `tcp_respond`, not through
    /// `tcp_output`).
    pub fn challenge_ack(&mut self, ctx: &mut Ctx<'_>, trigger: ChallengeTrigger) {
        if ctx.limiter.allow(ctx.now, ctx.policy.challenge_ack_limit) {
            ctx.emit(TcpEvent::ChallengeAck {
                conn: self.tuple,
                trigger,
            });
            let seg = self.segment(self.snd_nxt, TcpFlags::ACK, Vec::new());
            self.note_ack_sent();
            ctx.out.push_back(self.outgoing(seg));
        } else {
            self.dropped(ctx, DropReason::ChallengeAckRateLimited);
        }
    }

    pub fn dropped(&self, ctx: &mut Ctx<'_>, reason: DropReason) {
        ctx.emit(TcpEvent::SegmentDropped {
            conn: self.tuple,
            state: self.state,
            reason,
        });
    }

    pub fn note_ack_sent(&mut self) {
        // Linux tcp_dec_quickack_mode: an ACK of new data uses up one quick ACK. (Data whose ACK
        // is not sent yet has the delayed-ACK timer running or `ack_now` set, `schedule_ack`.)
        if self.ack_now || self.delack_at.is_some() {
            self.quick_acks = self.quick_acks.saturating_sub(1);
        }
        self.ack_now = false;
        self.unacked_segs = 0;
        self.delack_at = None;
        self.rcv_adv = self.rcv_wnd();
        self.rcv_edge = Some(self.rcv_nxt + self.rcv_adv);
    }

    /// Take the peer's SYN options: MSS (RFC 9293 §3.7.1) and window scale (RFC 7323 §2.2:
    /// on when both SYNs carry it; ours does whenever the policy has a shift, and a SYN-ACK
    /// only answers a SYN that did).
    pub fn take_syn_options(&mut self, policy: &TcpPolicy, seg: &TcpRepr) {
        let peer_mss = seg.mss().map_or(DEFAULT_MSS, usize::from);
        self.snd_mss = peer_mss.min(usize::from(policy.mss)).max(MIN_MSS);
        self.cwnd = match policy.initial_window {
            // RFC 6928 §2: "IW = min (10*MSS, max (2*MSS, 14600))" (Linux TCP_INIT_CWND 10).
            0 => initial_window(self.snd_mss),
            n => (self.snd_mss as u64 * u64::from(n)).min(u64::from(u32::MAX)) as u32,
        };
        self.take_syn_extras(policy, seg);
        match (seg.window_scale(), policy.window_scale) {
            (Some(peer), Some(ours)) => {
                self.ws_active = true;
                self.snd_scale = peer.min(MAX_WSCALE);
                self.rcv_scale = ours.min(MAX_WSCALE);
            }
            _ => {
                self.ws_active = false;
                self.snd_scale = 0;
                self.rcv_scale = 0;
            }
        }
    }

    /// The window the sequence check uses: RCV.WND, or with `rcv_wnd_from_buffer` at least the
    /// free receive buffer, even past what an unscaled window field can advertise (FreeBSD
    /// tcp_input.c `rcv_wnd = imax(sbspace, rcv_adv - rcv_nxt)`).
    pub fn acceptance_window(&self, policy: &TcpPolicy) -> u32 {
        let wnd = self.rcv_wnd();
        // A passive SYN-RECEIVED connection is a syncache entry in FreeBSD, checked against
        // the window it advertised (`sc_wnd`, at most TCP_MAXWIN).
        let syncache = self.state == State::SynReceived && self.passive;
        if policy.rcv_wnd_from_buffer && !syncache {
            let free = self.opts.rcv_buf().saturating_sub(self.rx().len());
            wnd.max(free.min(u32::MAX as usize) as u32)
        } else {
            wnd
        }
    }

    /// RFC 9293 §3.10.7.4 first check: the four-case acceptability test.
    pub fn seq_acceptable(&self, policy: &TcpPolicy, seq: SeqNumber, len: usize) -> bool {
        let wnd = self.acceptance_window(policy);
        let lo = self.rcv_nxt;
        let hi = lo + wnd;
        match (len, wnd) {
            (0, 0) => seq == lo,
            (0, _) => seq.in_range(lo, hi),
            (_, 0) => false,
            (_, _) => seq.in_range(lo, hi) || (seq + (len as u32 - 1)).in_range(lo, hi),
        }
    }
}

#[cfg(test)]
mod copy_tests {
    use super::{copy_out, release_if_empty, Tcb};
    use std::collections::VecDeque;

    /// A CLOSED TCB under the default policy, made at time zero.
    fn closed_tcb() -> Tcb {
        let policy = crate::policy::TcpPolicy::default();
        let tuple = super::FourTuple::new(
            core::net::Ipv4Addr::new(192, 0, 2, 1),
            1,
            core::net::Ipv4Addr::new(192, 0, 2, 2),
            2,
        );
        let opts = super::Options::from_policy(&policy);
        let now = crate::time::Instant::ZERO;
        Tcb::new(tuple, opts, &policy, crate::wire::SeqNumber(7), now)
    }

    /// A simulation keeps one TCB per end of every connection: the buffers and the rare
    /// recovery/timer state live behind one pointer each (absent while empty or clear).
    /// Fails if the block grows back.
    #[test]
    fn rare_state_is_boxed_only_while_set() {
        let now = crate::time::Instant::ZERO;
        let mut tcb = closed_tcb();
        assert!(tcb.rare.is_none());
        tcb.set_rare(|r| r.persist_n = 0);
        assert!(
            tcb.rare.is_none(),
            "clearing what is clear allocates nothing"
        );
        tcb.set_rare(|r| r.tw_at = Some(now));
        assert_eq!(tcb.rare().tw_at, Some(now));
        tcb.set_rare(|r| r.tw_at = None);
        assert!(tcb.rare.is_none(), "freed once clear again");
    }

    /// An idle connection holds no buffer memory: the buffers go once the last of the data
    /// in any of them is gone, not before.
    #[test]
    fn buffers_are_freed_once_all_are_empty() {
        let mut tcb = closed_tcb();
        tcb.bufs_mut().rx.push_back(1);
        tcb.bufs_mut().tx.push_back(2);
        tcb.clear_rx();
        assert!(tcb.bufs.is_some(), "the send buffer still holds a byte");
        tcb.bufs_mut().tx.clear();
        tcb.release_bufs();
        assert!(tcb.bufs.is_none(), "freed once empty");
    }

    /// A queue drained to empty gives its allocation back; one still holding data keeps it.
    #[test]
    fn an_emptied_queue_gives_its_memory_back() {
        let mut q: VecDeque<u8> = VecDeque::with_capacity(8);
        q.push_back(1);
        release_if_empty(&mut q);
        assert_eq!(q, [1]);
        q.clear();
        release_if_empty(&mut q);
        assert_eq!(q.capacity(), 0);
    }

    #[test]
    fn a_tcb_stays_small() {
        assert!(size_of::<Tcb>() <= 280, "Tcb is {} bytes", size_of::<Tcb>());
    }

    #[test]
    fn copy_out_reads_across_the_ring_wrap() {
        let mut q: VecDeque<u8> = VecDeque::with_capacity(8);
        q.extend([0, 0, 0, 0, 0, 0]);
        q.drain(..5);
        q.extend(1..=6); // wraps: [0, 1, 2, 3, 4, 5, 6] across both halves
        let want: Vec<u8> = q.iter().copied().collect();
        for off in 0..want.len() {
            for len in 0..=want.len() - off {
                let mut out = vec![0xee; len];
                copy_out(&q, off, &mut out);
                assert_eq!(out, want[off..off + len], "off {off} len {len}");
            }
        }
    }
}
