//! `harness bench --breakdown`: what each part of the world holds at the end of the run.
//!
//! The world is taken apart piece by piece once the run is over, and the allocator's count of
//! live bytes is read before and after each piece is freed: the difference is exactly what that
//! piece held (its own allocation included). Nothing is estimated from type sizes, and the
//! parts add up to the headline figure: what is not in a named part (segments, the event
//! queue, timers, the trace) is the `world` row.

use crate::sim::nat::Nat;
use crate::sim::{HostNode, World};

/// The parts, in print order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    ClientStack,
    ClientRecorder,
    ClientApp,
    ServerStack,
    ServerRecorder,
    ServerApp,
    Nat,
    Routers,
    World,
}

impl Part {
    pub const ALL: [Part; 9] = [
        Part::ClientStack,
        Part::ClientRecorder,
        Part::ClientApp,
        Part::ServerStack,
        Part::ServerRecorder,
        Part::ServerApp,
        Part::Nat,
        Part::Routers,
        Part::World,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Part::ClientStack => "client hosts: stack (TCP, TCB, ARP) and node",
            Part::ClientRecorder => "client hosts: evidence recorder",
            Part::ClientApp => "client hosts: application",
            Part::ServerStack => "server hosts: stack (TCP, TCBs, ARP) and node",
            Part::ServerRecorder => "server hosts: evidence recorder",
            Part::ServerApp => "server hosts: application",
            Part::Nat => "NAT: mappings, forwarding, ARP",
            Part::Routers => "routers: forwarding, ARP caches",
            Part::World => "world: segments, event queue, timers, trace",
        }
    }
}

/// Live heap bytes per part at the end of the run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Breakdown {
    pub bytes: [u64; 9],
}

impl Breakdown {
    pub fn get(&self, p: Part) -> u64 {
        self.bytes[p as usize]
    }

    pub fn total(&self) -> u64 {
        self.bytes.iter().sum()
    }
}

/// Frees every node of `world` piece by piece, reading `heap` (live bytes) around each free.
/// `total` is the live heap the whole world held (the headline figure): what the nodes did
/// not hold is booked to [`Part::World`]. Hosts named `server…` are servers (the bench's
/// naming), every other host a client.
pub fn weigh(world: &mut World, heap: fn() -> u64, total: u64) -> Breakdown {
    let mut b = Breakdown::default();
    let mut book = |p: Part, before: u64| {
        b.bytes[p as usize] += before.saturating_sub(heap());
    };
    for mut node in world.take_nodes() {
        let server = node.name().starts_with("server");
        let is_nat = node.as_any_mut().downcast_mut::<Nat>().is_some();
        let rest = if let Some(h) = node.as_any_mut().downcast_mut::<HostNode>() {
            let (app, rec, stack) = if server {
                (Part::ServerApp, Part::ServerRecorder, Part::ServerStack)
            } else {
                (Part::ClientApp, Part::ClientRecorder, Part::ClientStack)
            };
            let before = heap();
            drop(h.take_apps());
            book(app, before);
            let before = heap();
            h.dut.clear_records();
            book(rec, before);
            stack
        } else if is_nat {
            Part::Nat
        } else {
            Part::Routers
        };
        let before = heap();
        drop(node);
        book(rest, before);
    }
    let nodes: u64 = b.bytes.iter().sum();
    b.bytes[Part::World as usize] = total.saturating_sub(nodes);
    b
}
