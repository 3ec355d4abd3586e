//! An IPv4 interface: address, prefix, default gateway, next-hop choice, ARP hand-off.

use core::fmt;

/// IP-layer events (filled in by the IP implementation).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IpEvent {}

impl fmt::Display for IpEvent {
    fn fmt(&self, _f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {}
    }
}
