//! Judging one recorded connection against a model: a stack under test (the reference stack
//! under a profile for `check`, any stack for `replay`) is driven with the peer's segments at
//! their recorded times, and what the recorded DUT sent is compared with what the model sends.
//!
//! How the recording is mapped onto the model:
//! - **Application calls are inferred** from what the DUT sent: a SYN from the DUT is a
//!   `connect`, a SYN from the peer finds a listener, data beyond what the model was given is a
//!   `send` of those bytes, a FIN is `shutdown(SHUT_WR)`, an RST the model does not send by
//!   itself is an abort (`close` with SO_LINGER 0). The model's application reads everything.
//! - **ISNs are mapped**: the model picks its own initial sequence number; the offset to the
//!   recorded one is added to what the model sends and subtracted from the peer's ACK fields.
//! - **A capture that starts mid-connection** is judged from the first DUT segment: a handshake
//!   is synthesised from that segment's sequence and acknowledgment numbers.
//!
//! Tolerances (what is *not* a divergence):
//! - window values and TCP options are not compared (buffer sizes and option sets are
//!   configuration, not behaviour); PSH is ignored;
//! - ACK timing: a pure ACK the model sends is never required (the DUT may delay or coalesce
//!   it), and a pure ACK the DUT sends matches a model ACK up to [`Tolerances::ack_delay`] later,
//!   or any acknowledgment number the model has already sent;
//! - timers: a segment the model sends matches a DUT segment up to [`Tolerances::timer_slack`]
//!   earlier or later; a non-ACK segment the model sent that the DUT has not sent within the
//!   slack, before the capture ends, is a divergence ("expected ..., the DUT sent nothing").
//!
//! The first divergence of a connection ends its judgement (the model and the DUT no longer
//! share a state); everything matched before it counts as explained.

use super::conn::Conn;
use super::segment::{self, flag_letters, Parsed, Seg};
use crate::dut::StackConfig;
use crate::dut::{Dut, SockId};
use stack::policy::Profile;
use stack::wire::{
    build_tcp_frame, EthernetAddress, Ipv4Repr, SeqNumber, TcpFlags, TcpOption, TcpRepr,
};
use stack::{Duration, Event, Instant};
use std::collections::{BTreeSet, VecDeque};

/// Documented slack for timing differences between the model and the recording.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tolerances {
    /// How much later than the DUT the model may send the same pure ACK (RFC 9293 §3.8.6.3
    /// allows delaying an ACK by up to 0.5 s).
    pub ack_delay: Duration,
    /// How far apart the model's and the DUT's timer-driven segments may be.
    pub timer_slack: Duration,
}

impl Default for Tolerances {
    fn default() -> Self {
        Tolerances {
            ack_delay: Duration::from_millis(500),
            timer_slack: Duration::from_millis(250),
        }
    }
}

/// Builds the model stack for one connection.
pub type MakeModel<'a> = dyn Fn(&StackConfig) -> Result<Box<dyn Dut>, String> + 'a;

/// The first point where the DUT left what the model allows.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Divergence {
    /// The frame at fault: the DUT's segment, or the frame after which the model's expected
    /// segment was due.
    pub frame: usize,
    pub time_us: u64,
    /// What the model sends (or allows) at that point.
    pub expected: String,
    /// What the DUT sent.
    pub actual: String,
}

/// The judgement of one connection.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ConnJudgement {
    pub connection: String,
    /// DUT segments in the connection.
    pub dut_segments: usize,
    /// DUT segments the model explained (before the first divergence).
    pub explained: usize,
    /// Of those, the ones whose MSS and window-scale options are the
    /// model's too: how closely the profile fits, beyond what the tolerances accept.
    pub exact: usize,
    /// Set when the capture starts mid-connection: judged from this frame on.
    pub judged_from: Option<usize>,
    pub divergence: Option<Divergence>,
    /// Set when the connection cannot be judged at all (no DUT segment, model refused).
    pub skipped: Option<String>,
    /// Application calls inferred to explain the DUT (connect, send, close, abort, options).
    pub inferred: usize,
    /// Stack events of the model (for the oracles), with model time already mapped back to
    /// recorded time.
    #[serde(skip)]
    pub events: Vec<(Instant, Event)>,
}

/// One segment the model sent, in recorded sequence space.
#[derive(Clone, Debug)]
struct Out {
    time: Instant,
    seq: u32,
    ack: u32,
    flags: TcpFlags,
    len: usize,
    /// The peer frame after which it was produced (for "expected but never sent").
    after_frame: usize,
    mss: Option<u16>,
    wscale: Option<u8>,
}

impl Out {
    fn pure_ack(&self) -> bool {
        self.len == 0 && !self.flags.syn() && !self.flags.fin() && !self.flags.rst()
    }
    fn matches(&self, s: &Seg) -> bool {
        let f = |x: TcpFlags| x.0 & !0x08; // PSH ignored
        f(self.flags) == f(s.flags)
            && self.seq == s.seq
            && (!s.flags.ack() || self.ack == s.ack)
            && self.len == s.len
    }
    /// Whether `s` (which [`Out::matches`]) also carries the same MSS and window-scale
    /// options: details a profile fixes that the tolerances otherwise let pass. Counted,
    /// never a divergence. (The window is left out: no profile models Linux's initial
    /// window, tcp_select_initial_window's 64240, so it would only tell the kernel from
    /// every profile alike.)
    fn exact(&self, s: &Seg) -> bool {
        self.mss == s.mss && self.wscale == s.wscale
    }
    fn describe(&self) -> String {
        let mut s = format!("{} seq {}", flag_letters(self.flags), self.seq);
        if self.flags.ack() {
            s.push_str(&format!(" ack {}", self.ack));
        }
        s.push_str(&format!(" len {}", self.len));
        s
    }
}

fn describe_dut(s: &Seg) -> String {
    let mut d = format!("{} seq {}", flag_letters(s.flags), s.seq);
    if s.flags.ack() {
        d.push_str(&format!(" ack {}", s.ack));
    }
    d.push_str(&format!(" len {}", s.len));
    d
}

const MODEL_MAC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 0x01]);
const PEER_MAC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 0x02]);

struct Engine<'a> {
    model: Box<dyn Dut>,
    conn: &'a Conn,
    tol: Tolerances,
    /// Recorded time of model time zero.
    t0: Instant,
    now: Instant,
    /// Recorded DUT ISN minus model ISN.
    off: Option<u32>,
    listener: Option<SockId>,
    sock: Option<SockId>,
    /// End (recorded DUT sequence space) of the data given to the model's `send`.
    given: Option<u32>,
    shut: bool,
    aborted: bool,
    nodelay: bool,
    /// A segment the model owed that the DUT skipped (set by a failed match).
    missed: Option<Out>,
    /// When the peer was last heard (keepalive idle is measured from there).
    last_peer_time: Instant,
    /// The previous keepalive probe the DUT sent.
    last_probe: Option<Instant>,
    /// Application calls made on the model to explain the DUT.
    inferred: usize,
    /// Whether the last segment explained matched the model's options too ([`Out::exact`]).
    last_exact: bool,
    pending: VecDeque<Out>,
    acks_sent: BTreeSet<u32>,
    last_peer_frame: usize,
    events: Vec<(Instant, Event)>,
}

impl Engine<'_> {
    fn model_time(&self, t: Instant) -> Instant {
        Instant::from_micros(t.total_micros().saturating_sub(self.t0.total_micros()))
    }
    fn rec_time(&self, m: Instant) -> Instant {
        Instant::from_micros(m.total_micros() + self.t0.total_micros())
    }

    /// Fires the model's next deadline if it is due by model time `target`, collecting what it
    /// sends; false when none is.
    fn fire_next_timer(&mut self, target: Instant) -> bool {
        match self.model.poll_at() {
            Some(at) if at <= target => {
                let at = at.max(self.model_time(self.now));
                self.now = self.rec_time(at);
                self.model.handle_timeout(at);
                self.drain();
                true
            }
            _ => false,
        }
    }

    /// Runs the model's timers up to recorded time `t`, collecting what it sends.
    fn advance(&mut self, t: Instant) {
        let target = self.model_time(t);
        for _ in 0..100_000 {
            if !self.fire_next_timer(target) {
                break;
            }
        }
        if t > self.now {
            self.now = t;
        }
    }

    /// Collects the model's output frames (sent at `self.now`) and events.
    fn drain(&mut self) {
        let mt = self.model_time(self.now);
        while let Some(frame) = self.model.poll_transmit(mt) {
            if let Parsed::Tcp(s) = segment::parse(0, self.now, &frame) {
                if s.dst != self.conn.peer {
                    continue;
                }
                // Before the ISN offset is bound (by the DUT's SYN) the model's SYN stays raw.
                let off = self.off.unwrap_or(0);
                if s.flags.ack() {
                    self.acks_sent.insert(s.ack);
                }
                self.pending.push_back(Out {
                    time: self.now,
                    seq: s.seq.wrapping_add(off),
                    ack: s.ack,
                    flags: s.flags,
                    len: s.len,
                    after_frame: self.last_peer_frame,
                    mss: s.mss,
                    wscale: s.wscale,
                });
            }
        }
        for mut e in self.model.take_events() {
            e.time = self.rec_time(e.time);
            self.events.push((self.now, e));
        }
        self.read_all();
    }

    /// The model's application: accepts and reads everything.
    fn read_all(&mut self) {
        let mt = self.model_time(self.now);
        if self.sock.is_none() {
            if let Some(l) = self.listener {
                if let Ok(s) = self.model.accept(mt, l) {
                    self.sock = Some(s);
                }
            }
        }
        if let Some(s) = self.sock {
            let mut buf = [0u8; 65536];
            for _ in 0..64 {
                match self.model.recv(mt, s, &mut buf) {
                    Ok(n) if n > 0 => {}
                    _ => break,
                }
            }
        }
    }

    /// Feeds a peer segment to the model.
    fn feed(&mut self, s: &Seg) {
        self.advance(s.time);
        self.last_peer_frame = s.frame;
        self.last_peer_time = s.time;
        let off = self.off.unwrap_or(0);
        let mut payload = s.payload.clone();
        payload.resize(s.len, 0);
        let mut options = Vec::new();
        if let Some(m) = s.mss {
            options.push(TcpOption::MaxSegmentSize(m));
        }
        let tcp = TcpRepr {
            src_port: s.src.port(),
            dst_port: s.dst.port(),
            seq: SeqNumber(s.seq),
            ack: SeqNumber(if s.flags.ack() {
                s.ack.wrapping_sub(off)
            } else {
                s.ack
            }),
            flags: s.flags,
            window: s.window,
            urgent: 0,
            options,
            payload,
        };
        self.inject(&tcp);
    }

    fn inject(&mut self, tcp: &TcpRepr) {
        let ip = Ipv4Repr::tcp(*self.conn.peer.ip(), *self.conn.dut.ip());
        let frame = build_tcp_frame(PEER_MAC, MODEL_MAC, &ip, tcp);
        let mt = self.model_time(self.now);
        self.model.handle_frame(mt, &frame);
        self.drain();
    }

    /// Finds and removes the pending segment matching `s`, dropping the pure ACKs before it.
    fn take_match(&mut self, s: &Seg) -> bool {
        let Some(i) = self.pending.iter().position(|o| o.matches(s)) else {
            return false;
        };
        self.last_exact = self.pending[i].exact(s);
        // A segment the model owed an earlier peer frame must not be skipped over.
        let owed = self
            .pending
            .iter()
            .take(i)
            .find(|o| !o.pure_ack() && o.after_frame < self.pending[i].after_frame);
        if let Some(o) = owed {
            self.missed = Some(o.clone());
            return false;
        }
        let mut kept = VecDeque::new();
        for (j, o) in self.pending.drain(..).enumerate() {
            if j != i && !(j < i && o.pure_ack()) {
                kept.push_back(o);
            }
        }
        self.pending = kept;
        true
    }

    /// A SYN the model retransmits that the DUT never did: the application closed the socket
    /// in SYN-SENT, which sends nothing (RFC 9293 §3.10.4, CLOSE/ABORT in SYN-SENT: "delete
    /// the TCB"). The model's socket is closed the same way.
    fn silent_abort(&mut self, t: Instant) {
        let Some(sock) = self.sock else { return };
        let overdue_syn = self
            .overdue(t)
            .is_some_and(|o| o.flags.syn() && !o.flags.ack());
        if overdue_syn && self.model.state(sock) == Some(stack::tcp::State::SynSent) {
            let mt = self.model_time(self.now);
            if self.model.abort(mt, sock).is_ok() {
                // The descriptor is gone too: the port answers like a closed one.
                let _ = self.model.close(mt, sock);
                self.sock = None;
                self.aborted = true;
                self.pending.retain(|o| !o.flags.syn());
                self.drain();
            }
        }
    }

    /// A non-ACK segment the model sent that the DUT has not sent within the slack, before `t`.
    fn overdue(&self, t: Instant) -> Option<&Out> {
        self.pending
            .iter()
            .find(|o| !o.pure_ack() && o.time + self.tol.timer_slack < t)
    }

    /// Tries to explain DUT segment `s`; false is a divergence.
    fn explain(&mut self, s: &Seg) -> bool {
        self.last_exact = true;
        if self.try_now(s) {
            return true;
        }
        // Inferred application calls.
        let mt = self.model_time(self.now);
        let Some(sock) = self.sock else {
            return self.try_later(s);
        };
        let mut called = false;
        let end = s.seq.wrapping_add(s.len as u32);
        let mut sent_data = false;
        if let Some(given) = self.given {
            if s.len > 0 && (end.wrapping_sub(given) as i32) > 0 {
                let n = end.wrapping_sub(given) as usize;
                let data = vec![0u8; n];
                if self.model.send(mt, sock, &data).is_ok() {
                    self.given = Some(end);
                    self.inferred += 1;
                    called = true;
                    sent_data = true;
                }
            }
        }
        if s.flags.fin() && !self.shut {
            self.shut = true;
            called |= self.model.close(mt, sock).is_ok();
            self.inferred += 1;
        }
        if called {
            self.drain();
            if self.try_now(s) {
                return true;
            }
        }
        // Data the model holds back (Nagle) that the DUT sent: the application set
        // TCP_NODELAY (RFC 1122 §4.2.3.4 lets an application disable Nagle).
        if sent_data && !self.nodelay {
            self.nodelay = true;
            self.inferred += 1;
            if self
                .model
                .set_option(sock, crate::dut::SockOpt::NoDelay(true))
                .is_ok()
            {
                // The option takes effect at the next transmission opportunity.
                let _ = self.model.send(mt, sock, &[]);
                self.drain();
                if self.try_now(s) {
                    return true;
                }
            }
        }
        if self.try_later(s) || self.keepalive_probe(s, sock) {
            return true;
        }
        if s.flags.rst() && !self.aborted {
            self.aborted = true;
            self.inferred += 1;
            if self.model.abort(mt, sock).is_ok() {
                self.drain();
                return self.try_match(s);
            }
        }
        false
    }

    /// A keepalive probe the model does not send (RFC 1122 §4.2.3.6: `SEG.SEQ = SND.NXT-1`, no
    /// or one garbage octet): the application turned SO_KEEPALIVE on. The idle time is read
    /// off the recording (since the peer was last heard), the interval from the gap to the
    /// previous probe.
    fn keepalive_probe(&mut self, s: &Seg, sock: SockId) -> bool {
        let plain = s.flags.ack() && !s.flags.syn() && !s.flags.fin() && !s.flags.rst();
        let at_edge = self.given.is_some_and(|g| s.seq == g.wrapping_sub(1));
        if !(plain && s.len <= 1 && at_edge) {
            return false;
        }
        let set = |m: &mut Box<dyn Dut>, o: crate::dut::SockOpt| m.set_option(sock, o).is_ok();
        let ok = match self.last_probe {
            None => {
                let idle = s.time.saturating_since(self.last_peer_time);
                set(&mut self.model, crate::dut::SockOpt::KeepAlive(true))
                    && set(&mut self.model, crate::dut::SockOpt::KeepIdle(idle))
            }
            Some(prev) => {
                let intvl = s.time.saturating_since(prev);
                set(&mut self.model, crate::dut::SockOpt::KeepIntvl(intvl))
            }
        };
        self.last_probe = Some(s.time);
        self.inferred += 1;
        if !ok {
            return false;
        }
        self.advance(s.time);
        self.try_match(s)
    }

    /// Matches `s` against what the model has sent, or sends within the tolerances.
    fn try_match(&mut self, s: &Seg) -> bool {
        self.try_now(s) || self.try_later(s)
    }

    /// Matches `s` against what the model has already sent.
    fn try_now(&mut self, s: &Seg) -> bool {
        if self.take_match(s) {
            return true;
        }
        let pure_ack = s.len == 0 && !s.flags.syn() && !s.flags.fin() && !s.flags.rst();
        // A pure ACK the model has already sent (the DUT repeated it, or updated a window).
        pure_ack && self.acks_sent.contains(&s.ack) && self.seq_ok(s)
    }

    /// Matches `s` against what the model sends within the tolerances after `s.time`. The
    /// model's clock moves only as far as the timers that fired.
    fn try_later(&mut self, s: &Seg) -> bool {
        let pure_ack = s.len == 0 && !s.flags.syn() && !s.flags.fin() && !s.flags.rst();
        let slack = if pure_ack {
            self.tol.ack_delay.max(self.tol.timer_slack)
        } else {
            self.tol.timer_slack
        };
        let target = self.model_time(s.time + slack);
        for _ in 0..100_000 {
            if self.pending.iter().any(|o| o.matches(s)) {
                break;
            }
            if !self.fire_next_timer(target) {
                break;
            }
        }
        self.take_match(s)
    }

    /// Whether a pure ACK's sequence number is where the model's next segment would be.
    fn seq_ok(&self, s: &Seg) -> bool {
        self.given.is_none_or(|g| {
            let d = g.wrapping_sub(s.seq) as i32;
            // At the send edge, or one below it (keepalive-style), or after our FIN.
            (-1..=1).contains(&d)
        })
    }
}

fn params(conn: &Conn, profile: &Profile, seed: u64) -> StackConfig {
    StackConfig {
        mac: MODEL_MAC,
        addr: *conn.dut.ip(),
        prefix_len: 0,
        gateway: None,
        profile: profile.clone().into(),
        seed,
        static_arp: vec![(*conn.peer.ip(), PEER_MAC)],
    }
}

/// Judges one connection. `capture_end` is the time of the capture's last frame (a model
/// segment due after it is not required). When the DUT's first segment diverges from the
/// inferred set-up (a listener for a peer's SYN, a synthesised handshake for a capture that
/// starts mid-connection), the connection is judged again with no socket at all (a closed
/// port) and the better judgement is kept.
pub fn judge(
    conn: &Conn,
    make: &MakeModel<'_>,
    profile: &Profile,
    tol: Tolerances,
    capture_end: Instant,
) -> ConnJudgement {
    let first = judge_with(conn, make, profile, tol, capture_end, true);
    if first.explained > 0 || (first.divergence.is_none() && first.skipped.is_none()) {
        return first;
    }
    if conn.segs[0].src == conn.dut {
        return first;
    }
    let closed = judge_with(conn, make, profile, tol, capture_end, false);
    let score = |j: &ConnJudgement| (j.skipped.is_none(), j.divergence.is_none(), j.explained);
    if score(&closed) > score(&first) {
        closed
    } else {
        first
    }
}

fn judge_with(
    conn: &Conn,
    make: &MakeModel<'_>,
    profile: &Profile,
    tol: Tolerances,
    capture_end: Instant,
    socket: bool,
) -> ConnJudgement {
    let dut_segments = conn.segs.iter().filter(|s| s.src == conn.dut).count();
    let mut out = ConnJudgement {
        connection: conn.name(),
        dut_segments,
        explained: 0,
        exact: 0,
        judged_from: None,
        divergence: None,
        skipped: None,
        inferred: 0,
        events: Vec::new(),
    };
    let model = match make(&params(conn, profile, 1)) {
        Ok(m) => m,
        Err(e) => {
            out.skipped = Some(format!("model: {e}"));
            return out;
        }
    };
    let t0 = conn.segs[0].time;
    let mut e = Engine {
        model,
        conn,
        tol,
        t0,
        now: t0,
        off: None,
        listener: None,
        sock: None,
        given: None,
        shut: false,
        aborted: false,
        nodelay: false,
        missed: None,
        last_peer_time: t0,
        last_probe: None,
        inferred: 0,
        last_exact: true,
        pending: VecDeque::new(),
        acks_sent: BTreeSet::new(),
        last_peer_frame: conn.segs[0].frame,
        events: Vec::new(),
    };
    let first = &conn.segs[0];
    let mut start = 0;
    let opening = first.flags.syn() && !first.flags.ack();
    if !socket {
        // A closed port: the model answers everything by itself.
    } else if opening && first.src == conn.peer {
        match e.model.listen(Instant::ZERO, conn.dut.port(), 128) {
            Ok(l) => e.listener = Some(l),
            Err(err) => {
                out.skipped = Some(format!("model listen: {err}"));
                return out;
            }
        }
    } else if opening && first.src == conn.dut {
        e.now = first.time;
        match e
            .model
            .connect(e.model_time(first.time), conn.dut.port(), conn.peer)
        {
            Ok(s) => e.sock = Some(s),
            Err(err) => {
                out.skipped = Some(format!("model connect: {err}"));
                return out;
            }
        }
        e.drain();
        let Some(syn) = e.pending.iter().position(|o| o.flags.syn()) else {
            out.skipped = Some("model sent no SYN on connect".into());
            return out;
        };
        let off = first.seq.wrapping_sub(e.pending[syn].seq);
        bind_offset(&mut e, off);
    } else {
        // Mid-connection: synthesise a handshake from the first DUT segment that acks.
        let Some(i) = conn
            .segs
            .iter()
            .position(|s| s.src == conn.dut && s.flags.ack() && !s.flags.syn())
        else {
            out.skipped = Some("starts mid-connection and the DUT never acknowledges".into());
            return out;
        };
        let d = &conn.segs[i];
        out.judged_from = Some(d.frame);
        e.now = d.time;
        e.last_peer_frame = d.frame;
        let Ok(l) = e.model.listen(Instant::ZERO, conn.dut.port(), 128) else {
            out.skipped = Some("model listen failed".into());
            return out;
        };
        e.listener = Some(l);
        let syn = TcpRepr {
            src_port: conn.peer.port(),
            dst_port: conn.dut.port(),
            seq: SeqNumber(d.ack.wrapping_sub(1)),
            flags: TcpFlags::SYN,
            window: 65535,
            options: vec![TcpOption::MaxSegmentSize(1460)],
            ..TcpRepr::default()
        };
        e.inject(&syn);
        let Some(sa) = e.pending.iter().find(|o| o.flags.syn()).cloned() else {
            out.skipped = Some("model did not answer the synthesised SYN".into());
            return out;
        };
        let off = d.seq.wrapping_sub(sa.seq.wrapping_add(1));
        e.pending.clear();
        e.off = Some(off);
        e.given = Some(d.seq);
        let ack = TcpRepr {
            src_port: conn.peer.port(),
            dst_port: conn.dut.port(),
            seq: SeqNumber(d.ack),
            ack: SeqNumber(sa.seq.wrapping_add(1)),
            flags: TcpFlags::ACK,
            window: 65535,
            ..TcpRepr::default()
        };
        e.inject(&ack);
        e.pending.clear();
        e.acks_sent.clear();
        start = i;
    }

    for s in &conn.segs[start..] {
        e.advance(s.time);
        e.silent_abort(s.time);
        if let Some(o) = e.overdue(s.time) {
            out.divergence = Some(Divergence {
                frame: s.frame,
                time_us: s.time.total_micros(),
                expected: format!(
                    "{} by {} (due after frame {})",
                    o.describe(),
                    o.time + tol.timer_slack,
                    o.after_frame
                ),
                actual: if s.src == conn.dut {
                    describe_dut(s)
                } else {
                    format!("nothing from the DUT before frame {}", s.frame)
                },
            });
            break;
        }
        if s.src == conn.peer {
            e.feed(s);
            continue;
        }
        e.advance(s.time);
        if e.off.is_none() && s.flags.syn() {
            // The model's SYN-ACK binds the offset.
            if let Some(i) = e.pending.iter().position(|o| o.flags.syn()) {
                let off = s.seq.wrapping_sub(e.pending[i].seq);
                bind_offset(&mut e, off);
            }
        }
        let before = e.inferred;
        if e.explain(s) {
            out.explained += 1;
            out.exact += usize::from(e.last_exact);
            out.inferred += usize::from(e.inferred > before);
        } else if let Some(o) = e.missed.take() {
            out.divergence = Some(Divergence {
                frame: o.after_frame,
                time_us: o.time.total_micros(),
                expected: format!("{} (due after frame {})", o.describe(), o.after_frame),
                actual: format!(
                    "nothing; the DUT went on with {} at frame {}",
                    describe_dut(s),
                    s.frame
                ),
            });
            break;
        } else {
            let allowed: Vec<String> = e.pending.iter().map(Out::describe).collect();
            out.divergence = Some(Divergence {
                frame: s.frame,
                time_us: s.time.total_micros(),
                expected: if allowed.is_empty() {
                    "nothing (the model sends no segment here)".into()
                } else {
                    allowed.join(" | ")
                },
                actual: describe_dut(s),
            });
            break;
        }
    }
    if out.divergence.is_none() {
        e.advance(capture_end);
        e.silent_abort(capture_end);
        if let Some(o) = e.overdue(capture_end) {
            out.divergence = Some(Divergence {
                frame: o.after_frame,
                time_us: o.time.total_micros(),
                expected: format!(
                    "{} by {} (due after frame {})",
                    o.describe(),
                    o.time + tol.timer_slack,
                    o.after_frame
                ),
                actual: "nothing from the DUT until the capture ends".into(),
            });
        }
    }
    out.events = e.events;
    out
}

/// Records the ISN offset: pending model segments move into recorded sequence space.
fn bind_offset(e: &mut Engine<'_>, off: u32) {
    e.off = Some(off);
    for o in e.pending.iter_mut() {
        o.seq = o.seq.wrapping_add(off);
    }
    if let Some(syn) = e.pending.iter().find(|o| o.flags.syn()) {
        e.given = Some(syn.seq.wrapping_add(1));
    }
}
