//! A deterministic discrete-event world on a virtual clock.
//!
//! Nodes (hosts running a stack under test plus applications, routers, NAT boxes) are attached by
//! ports to L2 segments. Time jumps to the next deadline — a frame delivery or a node's timer — and
//! never sleeps, so hours of virtual time run in milliseconds. Every choice that could vary (loss,
//! duplication, reordering) draws from one seeded RNG in a fixed order: the same seed gives the
//! same trace, byte for byte.

pub mod app;
pub mod fault;
pub mod host;
pub mod nat;
pub mod router;
pub mod slab;
pub mod world;

pub use fault::{Rule, Verdict};
pub use host::HostNode;
pub use world::{Node, SimError, World};
