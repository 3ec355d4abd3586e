//! ARP (RFC 826) for Ethernet/IPv4: the neighbour cache, request retransmission and the
//! RFC 1122 §2.3.2.2 pending-packet queue per unresolved address.
//!
//! Sans-IO, at the `Repr` level: the cache never parses or builds bytes. It takes
//! [`crate::wire::ArpRepr`]s in ([`Neighbors::process`]), IPv4 packets to send
//! ([`Neighbors::send`]) and the time (`now`), and hands out [`Transmit`]s (an ARP packet or an
//! IPv4 packet, each with its destination MAC) for the interface to frame.
//!
//! Events are kept in an **internal queue drained by the caller** ([`Neighbors::take_events`] or
//! [`Neighbors::drain_events_into`]), each stamped with the `now` that caused it.
//!
//! Polling order after every input: drain [`Neighbors::poll_transmit`], drain events, then sleep
//! until [`Neighbors::poll_at`] and call [`Neighbors::handle_timeout`].

mod cache;
mod event;

pub use cache::{EntryState, Interest, NeighborEntry, Neighbors, Transmit};
pub(crate) use event::write_summary;
pub use event::{ArpDropReason, ArpEvent};
