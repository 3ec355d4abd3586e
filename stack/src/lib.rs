//! `stack`: the reference TCP/ARP/IPv4 implementation of the harness.
//!
//! Pure, deterministic and sans-IO: no sockets, threads, wall clock, global state or unseeded
//! randomness. The caller passes time in (`now`) and takes frames out; every timer is reported as
//! a deadline. Layers: [`wire`] (formats), [`arp`], [`ip`], [`tcp`], tied together by a host.
#![forbid(unsafe_code)]

pub mod arp;
pub mod boxed_deque;
pub mod calendar;
pub mod host;
pub mod ip;
pub mod policy;
pub mod rand;
pub mod small_map;
pub mod suggest;
pub mod tcp;
pub mod time;
pub mod wire;

pub use host::{Event, EventKind, Layer};
pub use time::{Duration, Instant};
