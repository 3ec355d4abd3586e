//! A host: one IPv4 [`Interface`] (with its ARP cache) and one [`Tcp`] endpoint, tied together,
//! with a single event log. This is what the harness drives as "the reference stack".
//!
//! Polling order, after any input (`handle_frame`, a socket call, `handle_timeout`): drain
//! [`Host::poll_transmit`] until `None`, drain [`Host::take_events`], then wait until
//! [`Host::poll_at`] and call [`Host::handle_timeout`].

use crate::ip::{ConfigError, Inbound, Interface, InterfaceConfig};
use crate::policy::Profile;
use crate::tcp::Tcp;
use crate::time::Instant;
use crate::wire::{EthernetAddress, Ipv4Addr};
use std::sync::Arc;

mod event;
pub use event::{Event, EventKind, Layer};

/// How to build a host.
#[derive(Clone, Debug, PartialEq)]
pub struct HostConfig {
    pub mac: EthernetAddress,
    pub addr: Ipv4Addr,
    pub prefix_len: u8,
    pub gateway: Option<Ipv4Addr>,
    /// TCP and ARP policies, shared: hosts built from one `Arc` keep a single copy (a
    /// `Profile` converts with `.into()`).
    pub profile: Arc<Profile>,
    /// Seeds the ISN generator and ephemeral ports.
    pub seed: u64,
}

/// The reference host.
#[derive(Debug)]
pub struct Host {
    iface: Interface,
    tcp: Tcp,
    profile: Arc<Profile>,
    seed: u64,
    boots: u64,
}

impl Host {
    pub fn new(cfg: HostConfig) -> Result<Host, ConfigError> {
        let mut ic = InterfaceConfig::new(cfg.mac, cfg.addr, cfg.prefix_len);
        ic.gateway = cfg.gateway;
        ic.arp = cfg.profile.arp.clone();
        let iface = Interface::new(ic)?;
        Ok(Host {
            iface,
            tcp: Tcp::with_profile(cfg.profile.clone(), cfg.seed),
            profile: cfg.profile,
            seed: cfg.seed,
            boots: 0,
        })
    }

    pub fn addr(&self) -> Ipv4Addr {
        self.iface.addr()
    }

    pub fn mac(&self) -> EthernetAddress {
        self.iface.mac()
    }

    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    /// The TCP endpoint, for socket calls.
    pub fn tcp(&mut self) -> &mut Tcp {
        &mut self.tcp
    }

    pub fn tcp_ref(&self) -> &Tcp {
        &self.tcp
    }

    /// The IPv4 interface (ARP entries, static neighbours).
    pub fn iface(&mut self) -> &mut Interface {
        &mut self.iface
    }

    pub fn iface_ref(&self) -> &Interface {
        &self.iface
    }

    /// A frame arrived from the wire.
    pub fn handle_frame(&mut self, now: Instant, frame: &[u8]) {
        if let Some(Inbound::Tcp { ip, tcp }) = self.iface.handle_frame(now, frame) {
            self.tcp.handle_segment(now, ip.src_addr, ip.dst_addr, &tcp);
        }
    }

    /// Whether [`handle_frame`](Self::handle_frame) would change nothing and log nothing for
    /// `frame` (an ARP broadcast for another host, from a sender we hold no entry for; see
    /// [`Interface::ignores_frame`]). A simulator may then skip the delivery.
    pub fn ignores_frame(&self, frame: &[u8]) -> bool {
        self.iface.ignores_frame(frame)
    }

    /// [`ignores_frame`](Self::ignores_frame) for a frame already parsed as ARP
    /// ([`Interface::ignores_arp`]).
    pub fn ignores_arp(&self, eth_dst: EthernetAddress, arp: &crate::wire::ArpRepr) -> bool {
        self.iface.ignores_arp(eth_dst, arp)
    }

    /// Starts recording the changes of the addresses whose ARP packets this host does not
    /// ignore ([`Interface::watch_arp_interest`]); they survive a reboot.
    pub fn watch_arp_interest(&mut self) {
        self.iface.watch_arp_interest();
    }

    /// Moves the recorded ARP interest changes to `out` ([`Interface::drain_arp_interest`]);
    /// false when not watching.
    pub fn drain_arp_interest(&mut self, out: &mut Vec<crate::arp::Interest>) -> bool {
        self.iface.drain_arp_interest(out)
    }

    /// Connections and ARP entries visited so far by the timers and the transmit path (a
    /// work counter: [`Tcp::visits`] plus [`crate::arp::Neighbors::visits`]).
    pub fn work(&self) -> u64 {
        self.tcp.visits() + self.iface.neighbors().visits()
    }

    /// Fires whatever timers are due.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.iface.poll_at().is_some_and(|t| t <= now) {
            self.iface.handle_timeout(now);
        }
        if self.tcp.poll_at().is_some_and(|t| t <= now) {
            self.tcp.handle_timeout(now);
        }
    }

    /// The next frame to put on the wire.
    #[must_use]
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
        while let Some(out) = self.tcp.poll_transmit(now) {
            // A failed send (no route) is logged by the interface as an event.
            let _ = self.iface.send_tcp(now, out.dst, &out.seg);
        }
        self.iface.poll_transmit(now)
    }

    /// The next deadline of any layer.
    #[must_use]
    pub fn poll_at(&self) -> Option<Instant> {
        match (self.iface.poll_at(), self.tcp.poll_at()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Every event logged since the last call, in order.
    pub fn take_events(&mut self) -> Vec<Event> {
        // Merged in a fresh list: a host keeps no event buffer between calls.
        let mut iface = Vec::new();
        self.iface.drain_events_into::<EventKind>(&mut iface);
        let mut events: Vec<Event> = iface.into_iter().map(Event::from).collect();
        while let Some(e) = self.tcp.poll_event() {
            events.push(e.into());
        }
        events.sort_by_key(|e| e.time);
        events
    }

    /// Drops every event logged since the last call (what [`Host::take_events`] would
    /// return) without building the list: for a caller that keeps none (a benchmark run).
    pub fn discard_events(&mut self) {
        self.iface.discard_events();
        self.tcp.discard_events();
    }

    /// Loses all TCP state, as a reboot does (the ARP cache is lost too). The new boot gets a
    /// different ISN sequence.
    pub fn reboot(&mut self, _now: Instant) {
        self.boots += 1;
        let seed = self.seed ^ self.boots.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        self.tcp = Tcp::with_profile(self.profile.clone(), seed);
        let cfg = self.iface.config();
        if let Ok(mut i) = Interface::new(cfg) {
            self.iface.pass_arp_interest_to(&mut i);
            self.iface = i;
        }
    }
}

#[cfg(test)]
mod tests {
    /// A simulation of 100,000 hosts keeps 100,000 of these: the idle queues hold no heap and
    /// small maps are three words. Fails if the host grows back.
    #[test]
    fn a_host_stays_small() {
        let size = size_of::<super::Host>();
        assert!(size <= 400, "Host is {size} bytes");
    }
}
