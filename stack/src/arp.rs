//! ARP neighbour cache and the RFC 1122 §2.3.2.2 pending-packet queue.

use core::fmt;

/// ARP-layer events (filled in by the ARP implementation).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ArpEvent {}

impl fmt::Display for ArpEvent {
    fn fmt(&self, _f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {}
    }
}
