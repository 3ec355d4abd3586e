//! A host in the world: one stack under test plus the applications running on it.

use super::app::{App, Woken};
use super::world::Node;
use crate::dut::{Dut, SockId};
use crate::evidence::Observed;
use crate::trace::{AppEvent, NodeId, TraceEvent, TraceKind};
use core::net::Ipv4Addr;
use stack::boxed_deque::BoxedDeque;
use stack::Instant;
use std::any::Any;

thread_local! {
    /// The sockets a host's stack woke, a scratch list shared by the hosts of a thread
    /// ([`HostNode::run_apps`] runs at every input of every host).
    static WOKEN: std::cell::Cell<Vec<SockId>> = const { std::cell::Cell::new(Vec::new()) };
}

/// A host: a [`Dut`] on port 0 and its applications.
pub struct HostNode {
    name: Box<str>,
    addr: Ipv4Addr,
    /// The stack under test, behind the recorder of what it shows (socket calls, states).
    pub dut: Observed,
    apps: Vec<Box<dyn App>>,
    /// False while crashed: frames in are ignored, nothing goes out, timers stop.
    up: bool,
    /// What the applications and the host logged since the last `drain_trace`: one word
    /// each while empty, as they are between events (no storage kept from a past burst).
    app_log: BoxedDeque<(Instant, AppEvent)>,
    pending: BoxedDeque<TraceEvent>,
}

impl HostNode {
    pub fn new(name: &str, addr: Ipv4Addr, dut: Box<dyn Dut>) -> HostNode {
        HostNode::with_events(name, addr, dut, true)
    }

    /// As [`HostNode::new`]; `events: false` runs the stack as one without an event log (its
    /// events are dropped, its connection states recorded instead where it reports them).
    pub fn with_events(name: &str, addr: Ipv4Addr, dut: Box<dyn Dut>, events: bool) -> HostNode {
        HostNode {
            name: name.into(),
            addr,
            dut: Observed::new(dut, events),
            apps: Vec::new(),
            up: true,
            app_log: BoxedDeque::new(),
            pending: BoxedDeque::new(),
        }
    }

    /// Takes the applications out (to weigh them apart from the stack: `bench --breakdown`).
    pub fn take_apps(&mut self) -> Vec<Box<dyn App>> {
        std::mem::take(&mut self.apps)
    }

    pub fn addr(&self) -> Ipv4Addr {
        self.addr
    }

    pub fn add_app(&mut self, app: Box<dyn App>) {
        // Hosts run one or two applications: no spare slots.
        self.apps.reserve_exact(1);
        self.apps.push(app);
    }

    pub fn is_up(&self) -> bool {
        self.up
    }

    /// Stops the host without telling anyone (power loss); `reboot` also forgets every
    /// connection, so that the host answers old segments with RST once it is back.
    pub fn go_down(&mut self, now: Instant, reboot: bool, me: NodeId) {
        self.up = false;
        if reboot {
            self.dut.reboot(now);
            for app in self.apps.iter_mut() {
                app.reset(now);
            }
        }
        self.pending.push_back(TraceEvent {
            time: now,
            kind: TraceKind::HostDown { node: me, reboot },
        });
    }

    pub fn come_up(&mut self, now: Instant, me: NodeId) {
        self.up = true;
        self.pending.push_back(TraceEvent {
            time: now,
            kind: TraceKind::HostUp { node: me },
        });
    }

    fn run_apps(&mut self, now: Instant) {
        if !self.up {
            return;
        }
        // Apps may react to each other's effects on the stack; two passes settle the common
        // request/response exchanges without looping. Each pass looks at the sockets the stack
        // woke since the last one (all of them when the stack cannot tell).
        // One scratch list for every host (an idle host keeps no storage of its own), taken
        // for the call and put back after it.
        let mut woken = WOKEN.take();
        for _ in 0..2 {
            woken.clear();
            let known = self.dut.take_woken(&mut woken);
            let w = if known {
                Woken::Only(&woken)
            } else {
                Woken::All
            };
            for app in self.apps.iter_mut() {
                let mut log = Vec::new();
                app.poll(now, &mut self.dut, w, &mut log);
                self.app_log.extend(log.into_iter().map(|e| (now, e)));
            }
        }
        woken.clear();
        WOKEN.set(woken);
    }
}

impl Node for HostNode {
    fn name(&self) -> &str {
        &self.name
    }

    fn addrs(&self) -> Vec<Ipv4Addr> {
        vec![self.addr]
    }

    fn handle_frame(&mut self, now: Instant, _port: usize, frame: &[u8]) {
        if !self.up {
            return;
        }
        self.dut.handle_frame(now, frame);
        self.run_apps(now);
    }

    fn ignores_frame(&mut self, now: Instant, _port: usize, frame: &[u8]) -> bool {
        !self.up || self.dut.skips_frame(now, frame)
    }

    fn ignores_arp(
        &mut self,
        now: Instant,
        _port: usize,
        eth_dst: stack::wire::EthernetAddress,
        arp: &stack::wire::ArpRepr,
    ) -> bool {
        !self.up || self.dut.skips_arp(now, eth_dst, arp)
    }

    fn arp_interest(&mut self, _port: usize, out: &mut Vec<stack::arp::Interest>) -> bool {
        // A host that is down ignores everything: the stack's set is a superset.
        self.dut.arp_interest(out)
    }

    fn work(&self) -> u64 {
        self.dut.work() + self.apps.iter().map(|a| a.work()).sum::<u64>()
    }

    fn handle_timeout(&mut self, now: Instant) {
        if !self.up {
            return;
        }
        if self.dut.poll_at().is_some_and(|t| t <= now) {
            self.dut.handle_timeout(now);
        }
        self.run_apps(now);
    }

    fn poll_transmit(&mut self, now: Instant) -> Option<(usize, Vec<u8>)> {
        if !self.up {
            return None;
        }
        self.dut.poll_transmit(now).map(|f| (0, f))
    }

    fn poll_at(&self) -> Option<Instant> {
        if !self.up {
            return None;
        }
        let d = self.dut.poll_at();
        let a = self.apps.iter().filter_map(|a| a.poll_at()).min();
        match (d, a) {
            (Some(x), Some(y)) => Some(x.min(y)),
            (x, y) => x.or(y),
        }
    }

    fn drain_trace(&mut self, me: NodeId, out: &mut Vec<TraceEvent>) {
        out.extend(std::mem::take(&mut self.pending));
        for event in self.dut.take_events() {
            out.push(TraceEvent {
                time: event.time,
                kind: TraceKind::Stack { node: me, event },
            });
        }
        self.dut.drain_into(me, out);
        for (time, event) in std::mem::take(&mut self.app_log) {
            out.push(TraceEvent {
                time,
                kind: TraceKind::App { node: me, event },
            });
        }
    }

    fn discard_trace(&mut self, _me: NodeId, _scratch: &mut Vec<TraceEvent>) {
        // What `drain_trace` does, in the same order, without building the entries.
        self.pending = BoxedDeque::new();
        self.dut.discard_events();
        self.dut.discard_log();
        self.app_log = BoxedDeque::new();
    }

    fn evidence(&self) -> Option<crate::trace::StackEvidence> {
        Some(self.dut.evidence())
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}
