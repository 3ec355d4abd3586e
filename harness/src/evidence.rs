//! What a stack under test shows besides the wire, recorded into the trace for the oracles:
//! the socket calls made on it that end or fail a connection (with their results), and — for a
//! stack without an event log that can report connection states — each state change.
//!
//! [`Observed`] wraps any [`Dut`] and is itself a [`Dut`], so the simulator's hosts and the
//! script runner record the same evidence whatever the stack. The oracles never need the stack's
//! own event log; it only names causes (see `oracle`).

use crate::dut::{Capabilities, Dut, Errno, SockId, SockOpt, SockOptName};
use crate::trace::{CallOp, NodeId, SocketCall, StackEvidence, TraceEvent, TraceKind};
use core::net::SocketAddrV4;
use stack::boxed_deque::BoxedDeque;
use stack::small_map::{SmallMap, SmallSet};
use stack::tcp::{FourTuple, State};
use stack::{Duration, Event, Instant};

/// One recorded piece of evidence, not yet tied to a node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Witnessed {
    Call(SocketCall),
    State {
        conn: FourTuple,
        state: Option<State>,
    },
}

/// A stack under test with its evidence recorder.
pub struct Observed {
    inner: Box<dyn Dut>,
    /// Pass the stack's event log on (off: run it as a stack without one).
    keep_events: bool,
    /// What the stack declared when it was wrapped: an event log, states, its TIME-WAIT
    /// length (its name is asked again when needed: a world of many hosts keeps no copy).
    declared_events: bool,
    declared_state: bool,
    time_wait: Option<Duration>,
    /// The stack's capabilities with `events` cleared, when its log is not kept and it has
    /// one (`None`: the stack's own, unchanged).
    caps: Option<Box<Capabilities>>,
    linger_zero: SmallSet<SockId>,
    last_error: SmallMap<SockId, Errno>,
    /// Each socket's last known connection (a stack may forget it once the connection died).
    tuples: SmallMap<SockId, FourTuple>,
    states: SmallMap<FourTuple, State>,
    /// Taken by `drain_into` after every input: one word while empty.
    log: BoxedDeque<(Instant, Witnessed)>,
    now: Instant,
}

impl Observed {
    /// Wraps `inner`; `keep_events: false` drops its event log (what a stack without one would
    /// leave) and records its connection states instead, where it can report them.
    pub fn new(inner: Box<dyn Dut>, keep_events: bool) -> Observed {
        let declared = inner.capabilities();
        let (declared_events, declared_state) = (declared.events, declared.state);
        let caps = (declared_events && !keep_events).then(|| {
            Box::new(Capabilities {
                events: false,
                ..declared.clone()
            })
        });
        let time_wait = inner.time_wait();
        Observed {
            inner,
            keep_events,
            declared_events,
            declared_state,
            time_wait,
            caps,
            linger_zero: SmallSet::new(),
            last_error: SmallMap::new(),
            tuples: SmallMap::new(),
            states: SmallMap::new(),
            log: BoxedDeque::new(),
            now: Instant::ZERO,
        }
    }

    /// Drops what the recorder holds (its per-socket tables and unread log): for weighing it
    /// apart from the stack at the end of a run (`bench --breakdown`).
    pub fn clear_records(&mut self) {
        self.linger_zero.clear();
        self.last_error.clear();
        self.tuples.clear();
        self.states.clear();
        self.log = BoxedDeque::new();
    }

    /// The wrapped stack (for adapter-specific introspection).
    pub fn inner_mut(&mut self) -> &mut dyn Dut {
        self.inner.as_mut()
    }

    /// What the trace will hold about this stack besides the wire: socket calls always, its
    /// events if kept, its states where it reports them, its declared TIME-WAIT length.
    pub fn evidence(&self) -> StackEvidence {
        StackEvidence {
            stack: self.inner.kind().to_string(),
            events: self.declared_events && self.keep_events,
            state: self.declared_state,
            calls: true,
            time_wait: self.time_wait,
            real_time: self.inner.capabilities().time == crate::dut::TimeModel::Real,
        }
    }

    /// Moves the recorded evidence into `out` as trace entries of `node`. Call after
    /// [`Dut::take_events`] (which records the state changes up to now).
    pub fn drain_into(&mut self, node: NodeId, out: &mut Vec<TraceEvent>) {
        for (time, w) in std::mem::take(&mut self.log) {
            let kind = match w {
                Witnessed::Call(call) => TraceKind::Call { node, call },
                Witnessed::State { conn, state } => TraceKind::ConnState { node, conn, state },
            };
            out.push(TraceEvent { time, kind });
        }
    }

    /// Drops the recorded evidence ([`Observed::drain_into`] for a run that keeps no trace).
    pub fn discard_log(&mut self) {
        self.log = BoxedDeque::new();
    }

    /// [`Dut::ignores_frame`], with the clock advanced as a delivery would advance it.
    pub fn skips_frame(&mut self, now: Instant, frame: &[u8]) -> bool {
        self.tick(now);
        self.inner.ignores_frame(frame)
    }

    /// [`Dut::ignores_arp`], with the clock advanced as a delivery would advance it.
    pub fn skips_arp(
        &mut self,
        now: Instant,
        eth_dst: stack::wire::EthernetAddress,
        arp: &stack::wire::ArpRepr,
    ) -> bool {
        self.tick(now);
        self.inner.ignores_arp(eth_dst, arp)
    }

    fn tick(&mut self, now: Instant) {
        self.now = self.now.max(now);
    }

    fn call(&mut self, conn: Option<FourTuple>, op: CallOp, result: Result<usize, Errno>) {
        self.log
            .push_back((self.now, Witnessed::Call(SocketCall { conn, op, result })));
    }

    /// Records an error result once per socket and errno (apps poll dead sockets repeatedly).
    fn error(&mut self, s: SockId, op: CallOp, e: Errno) {
        if e == Errno::EAGAIN || self.last_error.get(&s) == Some(&e) {
            return;
        }
        self.last_error.insert(s, e);
        let conn = self.tuple(s);
        self.call(conn, op, Err(e));
    }

    /// The socket's connection, or the last one it was known to have.
    fn tuple(&mut self, s: SockId) -> Option<FourTuple> {
        match self.inner.four_tuple(s) {
            Some(t) => {
                self.tuples.insert(s, t);
                Some(t)
            }
            None => self.tuples.get(&s).copied(),
        }
    }

    /// Records the connections whose state changed since the last look (only for a stack that
    /// reports states and whose event log is not kept: the events already carry every change).
    fn snapshot(&mut self) {
        if self.keep_events && self.declared_events || !self.declared_state {
            return;
        }
        let now: SmallMap<FourTuple, State> = self.inner.connections().into_iter().collect();
        for (c, s) in &now {
            if self.states.get(c) != Some(s) {
                self.log.push_back((
                    self.now,
                    Witnessed::State {
                        conn: *c,
                        state: Some(*s),
                    },
                ));
            }
        }
        for c in self.states.keys() {
            if !now.contains_key(c) {
                self.log.push_back((
                    self.now,
                    Witnessed::State {
                        conn: *c,
                        state: None,
                    },
                ));
            }
        }
        self.states = now;
    }
}

impl Dut for Observed {
    fn kind(&self) -> &'static str {
        self.inner.kind()
    }
    fn capabilities(&self) -> &Capabilities {
        self.caps
            .as_deref()
            .unwrap_or_else(|| self.inner.capabilities())
    }
    fn time_wait(&self) -> Option<Duration> {
        self.inner.time_wait()
    }
    fn take_woken(&mut self, out: &mut Vec<SockId>) -> bool {
        self.inner.take_woken(out)
    }
    fn handle_frame(&mut self, now: Instant, frame: &[u8]) {
        self.tick(now);
        self.inner.handle_frame(now, frame)
    }
    fn ignores_frame(&self, frame: &[u8]) -> bool {
        self.inner.ignores_frame(frame)
    }
    fn ignores_arp(
        &self,
        eth_dst: stack::wire::EthernetAddress,
        arp: &stack::wire::ArpRepr,
    ) -> bool {
        self.inner.ignores_arp(eth_dst, arp)
    }
    fn arp_interest(&mut self, out: &mut Vec<stack::arp::Interest>) -> bool {
        self.inner.arp_interest(out)
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.tick(now);
        self.inner.handle_timeout(now)
    }
    fn work(&self) -> u64 {
        self.inner.work()
    }
    fn poll_transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
        self.tick(now);
        self.inner.poll_transmit(now)
    }
    fn poll_at(&self) -> Option<Instant> {
        self.inner.poll_at()
    }
    fn discard_events(&mut self) {
        self.inner.discard_events();
        self.snapshot();
    }
    fn take_events(&mut self) -> Vec<Event> {
        let ev = self.inner.take_events();
        self.snapshot();
        if self.keep_events {
            ev
        } else {
            Vec::new()
        }
    }
    fn listen(&mut self, now: Instant, port: u16, backlog: usize) -> Result<SockId, Errno> {
        self.tick(now);
        self.inner.listen(now, port, backlog)
    }
    fn accept(&mut self, now: Instant, listener: SockId) -> Result<SockId, Errno> {
        self.tick(now);
        let r = self.inner.accept(now, listener);
        if let Ok(s) = r {
            self.tuple(s);
        }
        r
    }
    fn connect(
        &mut self,
        now: Instant,
        local_port: u16,
        remote: SocketAddrV4,
    ) -> Result<SockId, Errno> {
        self.tick(now);
        let r = self.inner.connect(now, local_port, remote);
        match r {
            Ok(s) => {
                self.tuple(s);
            }
            Err(e) => self.call(None, CallOp::Connect, Err(e)),
        }
        r
    }
    fn send(&mut self, now: Instant, s: SockId, data: &[u8]) -> Result<usize, Errno> {
        self.tick(now);
        let r = self.inner.send(now, s, data);
        if let Err(e) = r {
            self.error(s, CallOp::Send, e);
        }
        r
    }
    fn recv(&mut self, now: Instant, s: SockId, buf: &mut [u8]) -> Result<usize, Errno> {
        self.tick(now);
        let r = self.inner.recv(now, s, buf);
        if let Err(e) = r {
            self.error(s, CallOp::Recv, e);
        }
        r
    }
    fn close(&mut self, now: Instant, s: SockId) -> Result<(), Errno> {
        self.tick(now);
        let conn = self.tuple(s);
        let linger_zero = self.linger_zero.remove(&s);
        self.last_error.remove(&s);
        self.tuples.remove(&s);
        let r = self.inner.close(now, s);
        self.call(conn, CallOp::Close { linger_zero }, r.map(|_| 0));
        r
    }
    fn shutdown_write(&mut self, now: Instant, s: SockId) -> Result<(), Errno> {
        self.tick(now);
        let conn = self.tuple(s);
        let r = self.inner.shutdown_write(now, s);
        self.call(conn, CallOp::Shutdown, r.map(|_| 0));
        r
    }
    fn abort(&mut self, now: Instant, s: SockId) -> Result<(), Errno> {
        self.tick(now);
        let conn = self.tuple(s);
        self.linger_zero.remove(&s);
        self.last_error.remove(&s);
        self.tuples.remove(&s);
        let r = self.inner.abort(now, s);
        self.call(conn, CallOp::Abort, r.map(|_| 0));
        r
    }
    fn set_option(&mut self, s: SockId, opt: SockOpt) -> Result<(), Errno> {
        let r = self.inner.set_option(s, opt);
        if r.is_ok() {
            if let SockOpt::Linger(l) = opt {
                if l == Some(Duration::ZERO) {
                    self.linger_zero.insert(s);
                } else {
                    self.linger_zero.remove(&s);
                }
            }
        }
        r
    }
    fn get_option(&self, s: SockId, name: SockOptName) -> Result<SockOpt, Errno> {
        self.inner.get_option(s, name)
    }
    fn take_error(&mut self, s: SockId) -> Option<Errno> {
        let r = self.inner.take_error(s);
        if let Some(e) = r {
            let conn = self.tuple(s);
            self.call(conn, CallOp::TakeError, Err(e));
        }
        r
    }
    fn state(&self, s: SockId) -> Option<State> {
        self.inner.state(s)
    }
    fn unread(&self, s: SockId) -> Option<usize> {
        self.inner.unread(s)
    }
    fn four_tuple(&self, s: SockId) -> Option<FourTuple> {
        self.inner.four_tuple(s)
    }
    fn connections(&self) -> Vec<(FourTuple, State)> {
        self.inner.connections()
    }
    fn reboot(&mut self, now: Instant) {
        self.tick(now);
        self.inner.reboot(now);
        self.linger_zero.clear();
        self.last_error.clear();
        self.tuples.clear();
        self.snapshot();
    }
    fn expire_neighbor(&mut self, now: Instant, addr: core::net::Ipv4Addr) -> bool {
        self.tick(now);
        self.inner.expire_neighbor(now, addr)
    }
    fn set_sysctl(
        &mut self,
        now: Instant,
        s: &crate::dut::RawSysctl,
    ) -> Result<(), crate::dut::Refusal> {
        self.tick(now);
        self.inner.set_sysctl(now, s)
    }
}
