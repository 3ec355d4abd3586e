//! [`Tcp`]: every connection and listener of one host, the demultiplexer, CLOSED and LISTEN
//! segment processing (RFC 9293 §3.10.7.1–2), and the user calls (RFC 9293 §3.10.1–6).

use super::arrive::Arrival;
use super::event::{Cause, DropCause, DropReason, RstAction, RstReason, TcpEvent};
use super::socket::*;
use super::tcb::{Ctx, RateLimiter, Tcb};
use super::{FourTuple, Outgoing, State};
use crate::boxed_deque::BoxedDeque;
use crate::policy::{IsnMode, Profile, TcpPolicy};
use crate::rand::Rng;
use crate::small_map::{SmallMap, SmallSet};
use crate::time::Timed;
use crate::time::{Duration, Instant};
use crate::wire::{SeqNumber, TcpFlags, TcpRepr};
use core::net::{Ipv4Addr, SocketAddrV4};
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

/// RFC 6335 §6: the dynamic port range used for ephemeral ports.
const EPHEMERAL: core::ops::RangeInclusive<u16> = 49152..=65535;

#[derive(Clone, Debug)]
struct Listener {
    local: SocketAddrV4,
    backlog: usize,
    accept_q: VecDeque<SocketHandle>,
    /// Children not yet ESTABLISHED nor CLOSED (kept by [`Tcp::reindex`], so the backlog check
    /// does not scan).
    embryonic: usize,
    opts: Options,
}

#[derive(Clone, Debug)]
enum Sock {
    // Boxed, like a connection: the map of sockets then stores two words per entry, which
    // keeps a host with one connection from paying for a node of listener-sized slots.
    Listener(Box<Listener>),
    Conn(Box<Tcb>),
}

/// A snapshot of a connection's sequence variables (RFC 9293 §3.3.1), for oracles and tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcbInfo {
    pub state: State,
    pub iss: SeqNumber,
    pub irs: SeqNumber,
    pub snd_una: SeqNumber,
    pub snd_nxt: SeqNumber,
    pub snd_wnd: u32,
    pub rcv_nxt: SeqNumber,
    pub rcv_wnd: u32,
    pub snd_mss: usize,
    pub rto: Duration,
    /// Bytes waiting in the receive buffer.
    pub rx_queued: usize,
    /// Bytes not yet acknowledged by the peer.
    pub tx_queued: usize,
    /// The congestion window (RFC 5681 §2 cwnd), bytes.
    pub cwnd: u32,
}

/// The TCP layer of one host ("endpoint"): all connections and listeners.
///
/// Sans-IO, quinn style. Inputs: [`Tcp::handle_segment`] (a parsed segment plus its IPv4
/// addresses), [`Tcp::handle_timeout`], and the socket calls. Outputs, to be drained in this
/// order after every input: [`Tcp::poll_transmit`] until `None`, [`Tcp::poll_event`] until
/// `None`, then [`Tcp::poll_at`] for the next deadline (call `handle_timeout` then). Nothing here
/// reads a clock or OS randomness: ISNs and ephemeral ports come from the `seed`.
#[derive(Clone, Debug)]
pub struct Tcp {
    /// The host's profile, shared by every host built from it (only its TCP policy is read).
    profile: Arc<Profile>,
    rng: Rng,
    secret: u64,
    next_handle: u32,
    sockets: SmallMap<SocketHandle, Sock>,
    conns: SmallMap<FourTuple, SocketHandle>,
    listeners: Listeners,
    events: BoxedDeque<Timed<TcpEvent>>,
    out: BoxedDeque<Outgoing>,
    limiter: RateLimiter,
    /// Round-robin cursor for `poll_transmit`.
    cursor: u32,
    /// Every connection's earliest deadline, ordered (the TCB keeps the key it is filed
    /// under), so `poll_at` and `handle_timeout` touch only what is due.
    deadlines: SmallSet<(Instant, SocketHandle)>,
    /// Connections touched since they last had nothing to send: the only ones
    /// `poll_transmit` visits.
    ready: SmallSet<SocketHandle>,
    /// Sockets an input may have changed for the user (data, end of stream, error, a
    /// connection to accept), drained by [`Tcp::take_woken`].
    woken: SmallSet<SocketHandle>,
    /// Connections visited by `poll_transmit` and `handle_timeout` (a work counter for tests
    /// that check nothing scans every connection).
    visits: u64,
}

/// The listening sockets by local address: one word while there are none, as on every client
/// host of a large simulation (an empty `BTreeMap` is three words inline).
#[derive(Clone, Debug, Default)]
struct Listeners(
    #[allow(clippy::box_collection)] Option<Box<BTreeMap<SocketAddrV4, SocketHandle>>>,
);

impl Listeners {
    fn get(&self, local: &SocketAddrV4) -> Option<&SocketHandle> {
        self.0.as_ref()?.get(local)
    }

    fn contains_key(&self, local: &SocketAddrV4) -> bool {
        self.get(local).is_some()
    }

    fn insert(&mut self, local: SocketAddrV4, h: SocketHandle) {
        self.0.get_or_insert_default().insert(local, h);
    }

    /// Removes `local`'s listener; the map is freed with the last one.
    fn remove(&mut self, local: &SocketAddrV4) {
        if let Some(m) = self.0.as_mut() {
            m.remove(local);
            if m.is_empty() {
                self.0 = None;
            }
        }
    }
}

macro_rules! ctx {
    ($self:ident, $now:expr) => {
        Ctx {
            now: $now,
            policy: &$self.profile.tcp,
            events: &mut $self.events,
            out: &mut $self.out,
            limiter: &mut $self.limiter,
        }
    };
}

impl Tcp {
    /// An endpoint with its own copy of `policy`.
    pub fn new(policy: TcpPolicy, seed: u64) -> Tcp {
        Tcp::with_profile(
            Arc::new(Profile {
                tcp: policy,
                ..Profile::default()
            }),
            seed,
        )
    }

    /// An endpoint under `profile`'s TCP policy, sharing it with every other holder (a
    /// simulation of many hosts keeps one copy per distinct profile).
    pub fn with_profile(profile: Arc<Profile>, seed: u64) -> Tcp {
        let mut rng = Rng::new(seed);
        let secret = rng.next_u64();
        Tcp {
            profile,
            rng,
            secret,
            next_handle: 1,
            sockets: SmallMap::new(),
            conns: SmallMap::new(),
            listeners: Listeners::default(),
            events: BoxedDeque::new(),
            out: BoxedDeque::new(),
            limiter: RateLimiter::default(),
            cursor: 0,
            deadlines: SmallSet::new(),
            ready: SmallSet::new(),
            woken: SmallSet::new(),
            visits: 0,
        }
    }

    pub fn policy(&self) -> &TcpPolicy {
        &self.profile.tcp
    }

    fn emit(&mut self, now: Instant, e: TcpEvent) {
        self.events.push_back(Timed {
            time: now,
            event: e,
        });
    }

    fn alloc_handle(&mut self) -> SocketHandle {
        let h = SocketHandle(self.next_handle);
        self.next_handle = self.next_handle.wrapping_add(1);
        h
    }

    /// RFC 6528 §3: ISN = M + F(4-tuple, secret), M a 4 µs clock. F is a keyed 64-bit mix of the
    /// 4-tuple (deterministic, not cryptographic: this is a reference model).
    fn isn(&mut self, now: Instant, t: FourTuple) -> SeqNumber {
        match self.profile.tcp.isn {
            IsnMode::Zero => SeqNumber(0),
            IsnMode::Fixed(n) => SeqNumber(n),
            IsnMode::Random => SeqNumber(self.rng.next_u32()),
            IsnMode::Rfc6528 => {
                let mut h = self.secret;
                for v in [
                    u64::from(u32::from(*t.local.ip())),
                    u64::from(t.local.port()),
                    u64::from(u32::from(*t.remote.ip())),
                    u64::from(t.remote.port()),
                ] {
                    h = mix64(h ^ v);
                }
                let m = (now.total_micros() / 4) as u32;
                SeqNumber(m.wrapping_add((h >> 32) as u32))
            }
        }
    }

    // --- input ---------------------------------------------------------------------------------

    /// A segment arrived from `src` for `dst` (already parsed and checksum-verified).
    pub fn handle_segment(&mut self, now: Instant, src: Ipv4Addr, dst: Ipv4Addr, seg: &TcpRepr) {
        let tuple = FourTuple::new(dst, seg.dst_port, src, seg.src_port);
        if self.profile.tcp.drop_synfin && seg.flags.syn() && seg.flags.fin() {
            let state = match self.conns.get(&tuple).and_then(|h| self.sockets.get(h)) {
                Some(Sock::Conn(tcb)) => tcb.state,
                _ if self.find_listener(tuple.local).is_some() => State::Listen,
                _ => State::Closed,
            };
            self.emit(
                now,
                TcpEvent::SegmentDropped {
                    conn: tuple,
                    state,
                    reason: DropReason::SynFin,
                },
            );
            return;
        }
        let mut iss_floor = None;
        if let Some(&h) = self.conns.get(&tuple) {
            let arrival = match self.sockets.get_mut(&h) {
                Some(Sock::Conn(tcb)) => {
                    let mut ctx = ctx!(self, now);
                    tcb.on_segment(&mut ctx, seg)
                }
                _ => Arrival::Done,
            };
            self.after(h);
            match arrival {
                Arrival::Done => return,
                Arrival::Reopen { old_snd_nxt } => iss_floor = Some(old_snd_nxt),
            }
        }
        if let Some(l) = self.find_listener(tuple.local) {
            self.listen_segment(now, l, tuple, seg, iss_floor);
            return;
        }
        self.closed_segment(now, tuple, seg);
    }

    fn find_listener(&self, local: SocketAddrV4) -> Option<SocketHandle> {
        self.listeners
            .get(&local)
            .or_else(|| {
                self.listeners
                    .get(&SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, local.port()))
            })
            .copied()
    }

    /// RFC 9293 §3.10.7.1 CLOSED: "An incoming segment containing a RST is discarded. An incoming
    /// segment not containing a RST causes a RST to be sent in response."
    fn closed_segment(&mut self, now: Instant, tuple: FourTuple, seg: &TcpRepr) {
        if seg.flags.rst() {
            self.emit(
                now,
                TcpEvent::RstReceived {
                    conn: tuple,
                    state: State::Closed,
                    seq: seg.seq,
                    action: RstAction::Ignored,
                },
            );
            return;
        }
        let rst = reset_for(seg);
        self.emit(
            now,
            TcpEvent::RstSent {
                conn: tuple,
                seq: rst.seq,
                ack: rst.flags.ack().then_some(rst.ack),
                reason: RstReason::NoConnection,
            },
        );
        self.out.push_back(Outgoing {
            src: *tuple.local.ip(),
            dst: *tuple.remote.ip(),
            seg: rst,
        });
    }

    /// A segment a listener drops without answering (RFC 9293 §3.10.7.2), logged with why.
    fn dropped_at_listener(&mut self, now: Instant, tuple: FourTuple, reason: DropReason) {
        self.emit(
            now,
            TcpEvent::SegmentDropped {
                conn: tuple,
                state: State::Listen,
                reason,
            },
        );
    }

    /// RFC 9293 §3.10.7.2 LISTEN.
    fn listen_segment(
        &mut self,
        now: Instant,
        lh: SocketHandle,
        tuple: FourTuple,
        seg: &TcpRepr,
        iss_floor: Option<SeqNumber>,
    ) {
        let f = seg.flags;
        // "First, check for a RST: An incoming RST segment could not be valid ... ignored."
        if f.rst() {
            self.emit(
                now,
                TcpEvent::RstReceived {
                    conn: tuple,
                    state: State::Listen,
                    seq: seg.seq,
                    action: RstAction::Ignored,
                },
            );
            return;
        }
        // FreeBSD tcp_input.c: "(SYN|ACK) is bogus on a listen socket", dropped without a RST.
        if f.ack() && f.syn() && !self.profile.tcp.listen_synack_rst {
            self.dropped_at_listener(now, tuple, DropReason::Unexpected);
            return;
        }
        // "Second, check for an ACK: ... an acceptable reset segment should be formed for any
        // arriving ACK-bearing segment. The RST should be formatted as <SEQ=SEG.ACK><CTL=RST>".
        if f.ack() {
            self.emit(
                now,
                TcpEvent::RstSent {
                    conn: tuple,
                    seq: seg.ack,
                    ack: None,
                    reason: RstReason::AckInListen,
                },
            );
            self.out.push_back(Outgoing {
                src: *tuple.local.ip(),
                dst: *tuple.remote.ip(),
                seg: rst_segment(seg, seg.ack, None),
            });
            return;
        }
        if !f.syn() {
            // "Fourth, other data or control: ... drop the segment and return."
            self.dropped_at_listener(now, tuple, DropReason::Unexpected);
            return;
        }
        // "Third, check for a SYN".
        let (backlog, pending, opts) = match self.sockets.get(&lh) {
            Some(Sock::Listener(l)) => (l.backlog, l.accept_q.len() + l.embryonic, l.opts),
            _ => return,
        };
        if pending >= backlog {
            self.dropped_at_listener(now, tuple, DropReason::BacklogFull);
            return;
        }
        let mut iss = self.isn(now, tuple);
        if let Some(floor) = iss_floor {
            // RFC 1122 §4.2.2.13 (1): the new ISS is larger than the largest sequence number used
            // by the previous incarnation (Linux: tw_snd_nxt + 65535 + 2).
            iss = floor + 65_537u32;
        }
        let h = self.alloc_handle();
        let mut tcb = Tcb::new(tuple, opts, &self.profile.tcp, iss, now);
        tcb.passive = true;
        tcb.parent = Some(lh);
        tcb.user_owned = false;
        tcb.state = State::Listen;
        tcb.irs = seg.seq;
        tcb.rcv_nxt = seg.seq + 1u32;
        tcb.take_syn_options(&self.profile.tcp, seg);
        tcb.snd_wnd = u32::from(seg.window);
        tcb.max_snd_wnd = tcb.snd_wnd;
        tcb.snd_wl1 = seg.seq;
        tcb.snd_wl2 = seg.ack;
        {
            let mut ctx = ctx!(self, now);
            tcb.set_state(&mut ctx, State::SynReceived, Cause::SynReceived);
        }
        self.sockets.insert(h, Sock::Conn(Box::new(tcb)));
        self.conns.insert(tuple, h);
        self.reindex(h);
    }

    /// Fire every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        let mut due: Vec<SocketHandle> = self
            .deadlines
            .iter()
            .take_while(|(t, _)| *t <= now)
            .map(|(_, h)| *h)
            .collect();
        // Fired in handle order, as a scan of every connection would.
        due.sort_unstable();
        for h in due {
            self.visits += 1;
            // One call settles every timer due by `now` (a timer may make another due, e.g.
            // a retransmission that gives up and starts TIME-WAIT's successor), so that
            // `poll_at()` is in the future afterwards. Bounded: each round fires at least one timer.
            for _ in 0..16 {
                let Some(Sock::Conn(tcb)) = self.sockets.get_mut(&h) else {
                    break;
                };
                if tcb.next_deadline().is_none_or(|d| d > now) {
                    break;
                }
                let mut ctx = ctx!(self, now);
                tcb.on_timeout(&mut ctx);
            }
            self.after(h);
        }
    }

    /// Re-files a connection after anything about it changed: its deadline, the ready queue
    /// (it may have something to send), the listener's embryonic count.
    fn reindex(&mut self, h: SocketHandle) {
        let Some(Sock::Conn(tcb)) = self.sockets.get_mut(&h) else {
            return;
        };
        let due = tcb.next_deadline();
        if due != tcb.filed_at {
            match (tcb.filed_at, due) {
                (Some(old), Some(new)) => {
                    self.deadlines.replace(&(old, h), (new, h));
                }
                (Some(old), None) => {
                    self.deadlines.remove(&(old, h));
                }
                (None, Some(new)) => {
                    self.deadlines.insert((new, h));
                }
                (None, None) => {}
            }
            tcb.filed_at = due;
        }
        let embryonic =
            tcb.parent.is_some() && !tcb.queued_for_accept && tcb.state != State::Closed;
        let recount = (embryonic != tcb.embryonic).then_some(tcb.parent).flatten();
        tcb.embryonic = embryonic;
        if let Some(Sock::Listener(l)) = recount.and_then(|p| self.sockets.get_mut(&p)) {
            if embryonic {
                l.embryonic += 1;
            } else {
                l.embryonic = l.embryonic.saturating_sub(1);
            }
        }
        self.ready.insert(h);
    }

    /// Removes a connection from every index.
    fn forget(&mut self, h: SocketHandle) {
        if let Some(Sock::Conn(tcb)) = self.sockets.remove(&h) {
            if let Some(at) = tcb.filed_at {
                self.deadlines.remove(&(at, h));
            }
            if let Some(Sock::Listener(l)) = tcb.parent.and_then(|p| self.sockets.get_mut(&p)) {
                if tcb.embryonic {
                    l.embryonic = l.embryonic.saturating_sub(1);
                }
                l.accept_q.retain(|x| *x != h);
            }
        }
        self.ready.remove(&h);
        self.woken.remove(&h);
    }

    /// Sockets whose state an input may have changed since the last call, in handle order
    /// (a superset: a woken socket may have nothing new). Applications poll only these.
    pub fn take_woken(&mut self) -> impl Iterator<Item = SocketHandle> {
        std::mem::take(&mut self.woken).into_iter()
    }

    /// Connections visited so far by `poll_transmit` and `handle_timeout` (work counter).
    pub fn visits(&self) -> u64 {
        self.visits
    }

    /// Bookkeeping after a TCB changed: accept queue, demux index, orphan cleanup.
    fn after(&mut self, h: SocketHandle) {
        let Some(Sock::Conn(tcb)) = self.sockets.get_mut(&h) else {
            return;
        };
        let mut enqueue = None;
        if let Some(p) = tcb.parent {
            if !tcb.queued_for_accept && tcb.state.is_synchronized() && tcb.state != State::TimeWait
            {
                tcb.queued_for_accept = true;
                enqueue = Some(p);
            }
        }
        let closed = tcb.state == State::Closed;
        let remove = closed && !tcb.user_owned;
        if tcb.user_owned {
            self.woken.insert(h);
        }
        let tuple = tcb.tuple;
        if closed && self.conns.get(&tuple) == Some(&h) {
            self.conns.remove(&tuple);
        }
        if let Some(p) = enqueue {
            match self.sockets.get_mut(&p) {
                Some(Sock::Listener(l)) => {
                    l.accept_q.push_back(h);
                    self.woken.insert(p);
                }
                _ => {
                    // Listener gone: nobody will accept this connection.
                    if let Some(Sock::Conn(tcb)) = self.sockets.get_mut(&h) {
                        tcb.parent = None;
                    }
                }
            }
        }
        self.reindex(h);
        if remove {
            self.forget(h);
        }
    }

    // --- output --------------------------------------------------------------------------------

    /// The next segment to send, if any. Call until `None` after every input.
    #[must_use]
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Outgoing> {
        if let Some(o) = self.out.pop_front() {
            return Some(o);
        }
        // Round robin from the cursor over the connections that may have something to send;
        // one that has nothing leaves the queue until an input touches it again (what
        // `dispatch` sends depends only on the TCB).
        let mut wrapped = false;
        let mut from = core::ops::Bound::Included(SocketHandle(self.cursor));
        loop {
            let next = self.ready.range((from, core::ops::Bound::Unbounded)).next();
            let h = match next {
                Some(&h) => h,
                None if !wrapped => {
                    wrapped = true;
                    from = core::ops::Bound::Unbounded;
                    continue;
                }
                None => return None,
            };
            from = core::ops::Bound::Excluded(h);
            self.visits += 1;
            let seg = match self.sockets.get_mut(&h) {
                Some(Sock::Conn(tcb)) => {
                    let mut ctx = ctx!(self, now);
                    tcb.dispatch(&mut ctx).map(|s| tcb.outgoing(s))
                }
                _ => None,
            };
            self.reindex(h);
            if seg.is_none() {
                self.ready.remove(&h);
            }
            // Timers may have queued control segments.
            if let Some(o) = self.out.pop_front() {
                if let Some(s) = seg {
                    self.out.push_front(s);
                }
                return Some(o);
            }
            if seg.is_some() {
                self.cursor = h.0.wrapping_add(1);
                return seg;
            }
        }
    }

    /// The earliest timer deadline over all connections.
    #[must_use]
    pub fn poll_at(&self) -> Option<Instant> {
        self.deadlines.first().map(|(t, _)| *t)
    }

    /// Drops every logged event (what [`Tcp::poll_event`] would return until `None`), for a
    /// caller that keeps none.
    pub fn discard_events(&mut self) {
        self.events = BoxedDeque::new();
    }

    /// The next logged event.
    pub fn poll_event(&mut self) -> Option<Timed<TcpEvent>> {
        // An idle endpoint keeps no queue buffers (a drained `BoxedDeque` frees its own).
        self.events.pop_front()
    }

    // --- user calls (RFC 9293 §3.10.1–6) ----------------------------------------------------------

    /// Passive OPEN on `local` (0.0.0.0 = any local address).
    pub fn listen(
        &mut self,
        _now: Instant,
        local: SocketAddrV4,
        backlog: usize,
    ) -> Result<SocketHandle, ListenError> {
        if local.port() == 0 {
            return Err(ListenError::InvalidPort);
        }
        if backlog == 0 {
            return Err(ListenError::InvalidBacklog);
        }
        if self.listeners.contains_key(&local) {
            return Err(ListenError::AddressInUse);
        }
        let h = self.alloc_handle();
        self.sockets.insert(
            h,
            Sock::Listener(Box::new(Listener {
                local,
                backlog,
                accept_q: VecDeque::new(),
                embryonic: 0,
                opts: Options::from_policy(&self.profile.tcp),
            })),
        );
        self.listeners.insert(local, h);
        Ok(h)
    }

    /// Take one established connection from a listener's queue.
    pub fn accept(
        &mut self,
        _now: Instant,
        listener: SocketHandle,
    ) -> Result<SocketHandle, AcceptError> {
        let h = match self.sockets.get_mut(&listener) {
            Some(Sock::Listener(l)) => l.accept_q.pop_front().ok_or(AcceptError::WouldBlock)?,
            Some(Sock::Conn(_)) => return Err(AcceptError::NotListening),
            None => return Err(AcceptError::InvalidHandle),
        };
        if let Some(Sock::Conn(tcb)) = self.sockets.get_mut(&h) {
            tcb.user_owned = true;
            tcb.parent = None;
        }
        Ok(h)
    }

    /// Active OPEN from `local` (port 0 = pick an ephemeral port) to `remote`.
    pub fn connect(
        &mut self,
        now: Instant,
        local: SocketAddrV4,
        remote: SocketAddrV4,
    ) -> Result<SocketHandle, ConnectError> {
        if remote.port() == 0 || remote.ip().is_unspecified() {
            return Err(ConnectError::InvalidRemote);
        }
        let tuple = if local.port() == 0 {
            let span = u64::from(EPHEMERAL.end() - EPHEMERAL.start()) + 1;
            let start = self.rng.below(span);
            (0..span)
                .map(|i| {
                    let port = *EPHEMERAL.start() + ((start + i) % span) as u16;
                    FourTuple {
                        local: SocketAddrV4::new(*local.ip(), port),
                        remote,
                    }
                })
                .find(|t| !self.conns.contains_key(t) && !self.listeners.contains_key(&t.local))
                .ok_or(ConnectError::NoEphemeralPort)?
        } else {
            let t = FourTuple { local, remote };
            if self.conns.contains_key(&t) {
                return Err(ConnectError::AddressInUse);
            }
            t
        };
        let iss = self.isn(now, tuple);
        let h = self.alloc_handle();
        let mut tcb = Tcb::new(
            tuple,
            Options::from_policy(&self.profile.tcp),
            &self.profile.tcp,
            iss,
            now,
        );
        {
            let mut ctx = ctx!(self, now);
            tcb.set_state(&mut ctx, State::SynSent, Cause::ActiveOpen);
        }
        self.sockets.insert(h, Sock::Conn(Box::new(tcb)));
        self.conns.insert(tuple, h);
        self.reindex(h);
        Ok(h)
    }

    fn tcb_mut(&mut self, h: SocketHandle) -> Option<&mut Tcb> {
        match self.sockets.get_mut(&h) {
            Some(Sock::Conn(t)) if t.user_owned => Some(t),
            _ => None,
        }
    }

    fn tcb(&self, h: SocketHandle) -> Option<&Tcb> {
        match self.sockets.get(&h) {
            Some(Sock::Conn(t)) if t.user_owned => Some(t),
            _ => None,
        }
    }

    /// RFC 9293 §3.10.2 SEND: queue as much of `data` as the send buffer holds.
    pub fn send(
        &mut self,
        _now: Instant,
        h: SocketHandle,
        data: &[u8],
    ) -> Result<usize, SendError> {
        let tcb = match self.sockets.get_mut(&h) {
            Some(Sock::Conn(t)) if t.user_owned => t,
            Some(Sock::Listener(_)) => return Err(SendError::NotConnected),
            _ => return Err(SendError::InvalidHandle),
        };
        if let Some(e) = tcb.pending_error.take() {
            return Err(e.into());
        }
        let open = matches!(
            tcb.state,
            State::SynSent | State::SynReceived | State::Established | State::CloseWait
        );
        if !open || tcb.fin_queued {
            return Err(SendError::NotConnected);
        }
        let room = tcb.opts.snd_buf().saturating_sub(tcb.tx().len());
        if room == 0 {
            return Err(SendError::WouldBlock);
        }
        let n = room.min(data.len());
        tcb.bufs_mut().tx.extend(&data[..n]);
        self.reindex(h);
        Ok(n)
    }

    /// RFC 9293 §3.10.3 RECEIVE. `Ok(0)` is end of stream.
    pub fn recv(
        &mut self,
        _now: Instant,
        h: SocketHandle,
        buf: &mut [u8],
    ) -> Result<usize, RecvError> {
        let tcb = match self.sockets.get_mut(&h) {
            Some(Sock::Conn(t)) if t.user_owned => t,
            Some(Sock::Listener(_)) => return Err(RecvError::NotConnected),
            _ => return Err(RecvError::InvalidHandle),
        };
        if let Some(e) = tcb.pending_error.take() {
            return Err(e.into());
        }
        if let Some(b) = tcb.bufs.as_mut().filter(|b| !b.rx.is_empty()) {
            let n = buf.len().min(b.rx.len());
            super::tcb::copy_out(&b.rx, 0, &mut buf[..n]);
            b.rx.drain(..n);
            super::tcb::release_if_empty(&mut b.rx);
            tcb.release_bufs();
            // A window update may be due now.
            self.reindex(h);
            return Ok(n);
        }
        if buf.is_empty() {
            return Ok(0);
        }
        match tcb.state {
            State::SynSent
            | State::SynReceived
            | State::Established
            | State::FinWait1
            | State::FinWait2 => Err(RecvError::WouldBlock),
            _ => Ok(0),
        }
    }

    /// RFC 9293 §3.10.4 CLOSE (SO_LINGER 0: ABORT instead). The handle is released.
    pub fn close(&mut self, now: Instant, h: SocketHandle) -> Result<(), CloseError> {
        match self.sockets.get(&h) {
            Some(Sock::Listener(l)) => {
                let local = l.local;
                self.listeners.remove(&local);
                self.sockets.remove(&h);
                // Connections nobody accepted are reset.
                let children: Vec<SocketHandle> = self
                    .sockets
                    .iter()
                    .filter_map(|(c, s)| match s {
                        Sock::Conn(t) if t.parent == Some(h) && !t.user_owned => Some(*c),
                        _ => None,
                    })
                    .collect();
                for c in children {
                    if let Some(Sock::Conn(tcb)) = self.sockets.get_mut(&c) {
                        let mut ctx = ctx!(self, now);
                        // Embryonic connections die silently unless the profile resets them
                        // (FreeBSD syncache entries and Linux request sockets send nothing).
                        if tcb.state != State::SynReceived
                            || ctx.policy.listener_close_resets_embryonic
                        {
                            tcb.send_abort_rst(&mut ctx, RstReason::ListenerClosed);
                        }
                        tcb.set_state(&mut ctx, State::Closed, Cause::ListenerClosed);
                        tcb.parent = None;
                    }
                    self.after(c);
                }
                Ok(())
            }
            Some(Sock::Conn(t)) if t.user_owned => {
                if t.opts.linger == Some(Duration::ZERO) {
                    self.abort_inner(now, h, true);
                } else if !t.rx().is_empty()
                    && t.state.is_synchronized()
                    && t.state != State::TimeWait
                {
                    self.close_losing_data(now, h);
                } else {
                    self.shutdown_inner(now, h);
                }
                if let Some(Sock::Conn(t)) = self.sockets.get_mut(&h) {
                    t.user_owned = false;
                    t.user_closed = true;
                    t.clear_rx();
                }
                self.after(h);
                Ok(())
            }
            _ => Err(CloseError::InvalidHandle),
        }
    }

    /// RFC 9293 §3.6.1: "If such a host issues a CLOSE call while received data is still
    /// pending in the TCP connection ... its TCP implementation SHOULD send a RST to show that
    /// data was lost (SHLD-3)" (RFC 1122 §4.2.2.13, RFC 2525 §2.17). The RST is the ABORT form
    /// of §3.10.5, `<SEQ=SND.NXT><CTL=RST>`, and no FIN is sent.
    fn close_losing_data(&mut self, now: Instant, h: SocketHandle) {
        let Some(Sock::Conn(tcb)) = self.sockets.get_mut(&h) else {
            return;
        };
        let mut ctx = ctx!(self, now);
        tcb.send_abort_rst(&mut ctx, RstReason::UnreadDataOnClose);
        tcb.drop_connection(&mut ctx, DropCause::DataLost, None, Cause::UserClose);
        tcb.clear_rx();
    }

    /// Half-close: send FIN after the queued data; reading continues.
    pub fn shutdown_write(&mut self, now: Instant, h: SocketHandle) -> Result<(), CloseError> {
        match self.tcb(h) {
            Some(t) if t.state != State::Closed && t.state != State::Listen => {}
            Some(_) => return Err(CloseError::NotConnected),
            None => return Err(CloseError::InvalidHandle),
        }
        self.shutdown_inner(now, h);
        self.after(h);
        Ok(())
    }

    fn shutdown_inner(&mut self, now: Instant, h: SocketHandle) {
        let Some(Sock::Conn(tcb)) = self.sockets.get_mut(&h) else {
            return;
        };
        let mut ctx = ctx!(self, now);
        match tcb.state {
            // "SYN-SENT STATE: Delete the TCB and return 'error: closing' responses".
            State::SynSent => tcb.set_state(&mut ctx, State::Closed, Cause::UserClose),
            // "SYN-RECEIVED: If no SENDs have been issued ... form a FIN ... FIN-WAIT-1;
            // otherwise, queue for processing after entering ESTABLISHED". We queue the FIN and
            // send it when ESTABLISHED is reached.
            State::SynReceived => tcb.fin_queued = true,
            // "ESTABLISHED: Queue this until all preceding SENDs have been segmentized, then form
            // a FIN segment and send it. In any case, enter FIN-WAIT-1 state."
            State::Established => {
                tcb.fin_queued = true;
                tcb.set_state(&mut ctx, State::FinWait1, Cause::UserClose);
            }
            // "CLOSE-WAIT: ... send a FIN segment, enter LAST-ACK state."
            State::CloseWait => {
                tcb.fin_queued = true;
                tcb.set_state(&mut ctx, State::LastAck, Cause::UserClose);
            }
            _ => {}
        }
        tcb.update_timers(now, &self.profile.tcp);
    }

    /// RFC 9293 §3.10.5 ABORT: RST `<SEQ=SND.NXT>` in SYN-RECEIVED and the synchronized states
    /// before TIME-WAIT, then CLOSED. Logged as a deliberate abort. The handle stays valid
    /// (state CLOSED) until `close`.
    pub fn abort(&mut self, now: Instant, h: SocketHandle) -> Result<(), CloseError> {
        if self.tcb(h).is_none() {
            return Err(CloseError::InvalidHandle);
        }
        self.abort_inner(now, h, false);
        self.after(h);
        Ok(())
    }

    fn abort_inner(&mut self, now: Instant, h: SocketHandle, linger: bool) {
        let Some(Sock::Conn(tcb)) = self.sockets.get_mut(&h) else {
            return;
        };
        let why = if linger {
            DropCause::ZeroLinger
        } else {
            DropCause::UserAbort
        };
        let mut ctx = ctx!(self, now);
        match tcb.state {
            State::SynReceived
            | State::Established
            | State::FinWait1
            | State::FinWait2
            | State::CloseWait => {
                tcb.send_abort_rst(&mut ctx, RstReason::UserAbort);
                tcb.drop_connection(&mut ctx, why, None, Cause::UserAbort);
            }
            State::Closed => {}
            _ => tcb.drop_connection(&mut ctx, why, None, Cause::UserAbort),
        }
        tcb.clear_rx();
    }

    pub fn set_option(&mut self, h: SocketHandle, opt: SocketOption) -> Result<(), OptionError> {
        match self.sockets.get_mut(&h) {
            Some(Sock::Listener(l)) => l.opts.set(opt),
            Some(Sock::Conn(t)) if t.user_owned => {
                t.opts.set(opt)?;
                if matches!(opt, SocketOption::KeepAlive(true)) {
                    // Like Linux tcp_set_keepalive: the idle period counts from now at the latest.
                    t.ka_probes = 0;
                }
                self.reindex(h);
                Ok(())
            }
            _ => Err(OptionError::InvalidHandle),
        }
    }

    pub fn get_option(
        &self,
        h: SocketHandle,
        name: OptionName,
    ) -> Result<SocketOption, OptionError> {
        match self.sockets.get(&h) {
            Some(Sock::Listener(l)) => Ok(l.opts.get(name)),
            Some(Sock::Conn(t)) if t.user_owned => Ok(t.opts.get(name)),
            _ => Err(OptionError::InvalidHandle),
        }
    }

    /// SO_ERROR: the pending error, reported once.
    pub fn take_error(&mut self, h: SocketHandle) -> Option<SocketError> {
        self.tcb_mut(h).and_then(|t| t.pending_error.take())
    }

    /// Whether any socket listens (the listener table exists only while one does).
    pub fn has_listeners(&self) -> bool {
        self.listeners.0.is_some()
    }

    /// State of a socket the user holds (listeners report LISTEN).
    pub fn state(&self, h: SocketHandle) -> Option<State> {
        match self.sockets.get(&h) {
            Some(Sock::Listener(_)) => Some(State::Listen),
            Some(Sock::Conn(t)) if t.user_owned => Some(t.state),
            _ => None,
        }
    }

    pub fn four_tuple(&self, h: SocketHandle) -> Option<FourTuple> {
        self.tcb(h).map(|t| t.tuple)
    }

    /// Every connection (accepted or not, orphaned or not), in handle order.
    pub fn connections(&self) -> impl Iterator<Item = (SocketHandle, FourTuple, State)> + '_ {
        self.sockets.iter().filter_map(|(h, s)| match s {
            Sock::Conn(t) => Some((*h, t.tuple, t.state)),
            Sock::Listener(_) => None,
        })
    }

    /// Sequence variables of any connection (including orphans), for oracles and tests.
    pub fn tcb_info(&self, h: SocketHandle) -> Option<TcbInfo> {
        match self.sockets.get(&h) {
            Some(Sock::Conn(t)) => Some(TcbInfo {
                state: t.state,
                iss: t.iss,
                irs: t.irs,
                snd_una: t.snd_una,
                snd_nxt: t.snd_nxt,
                snd_wnd: t.snd_wnd,
                rcv_nxt: t.rcv_nxt,
                rcv_wnd: t.rcv_wnd(),
                snd_mss: t.snd_mss,
                rto: t.rto,
                rx_queued: t.rx().len(),
                tx_queued: t.unacked_data(),
                cwnd: t.cwnd,
            }),
            _ => None,
        }
    }

    /// The connection handle for a 4-tuple (local first), if one is live.
    pub fn lookup(&self, tuple: FourTuple) -> Option<SocketHandle> {
        self.conns.get(&tuple).copied()
    }
}

/// RFC 9293 §3.10.7.1 reset generation for a segment that has no connection: "If the ACK bit is
/// off, sequence number zero is used, <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>. If the ACK bit
/// is on, <SEQ=SEG.ACK><CTL=RST>". Callers never pass an RST.
pub fn reset_for(seg: &TcpRepr) -> TcpRepr {
    if seg.flags.ack() {
        rst_segment(seg, seg.ack, None)
    } else {
        rst_segment(seg, SeqNumber(0), Some(seg.seq + seg.seg_len()))
    }
}

fn rst_segment(reply_to: &TcpRepr, seq: SeqNumber, ack: Option<SeqNumber>) -> TcpRepr {
    let mut flags = TcpFlags::RST;
    if ack.is_some() {
        flags |= TcpFlags::ACK;
    }
    TcpRepr {
        src_port: reply_to.dst_port,
        dst_port: reply_to.src_port,
        seq,
        ack: ack.unwrap_or(SeqNumber(0)),
        flags,
        window: 0,
        urgent: 0,
        options: Vec::new(),
        payload: Vec::new(),
    }
}

/// splitmix64 finaliser.
fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod mix_tests {
    /// `mix64(state)` is one step of splitmix64 (Steele, Lea, Flood 2014; Vigna's reference
    /// splitmix64.c): seeded with 0 the generator's first two outputs are these published values.
    #[test]
    fn mix64_is_splitmix64() {
        assert_eq!(super::mix64(0), 0xe220_a839_7b1d_cdaf);
        assert_eq!(super::mix64(0x9e37_79b9_7f4a_7c15), 0x6e78_9e6a_a1b9_65f4);
    }
}
