//! The stack-under-test plug-in point: everything the simulator and the script runner need
//! from a TCP stack — frames in, frames out, deadlines, a small socket API and optional
//! introspection — plus what each stack declares about itself.
//!
//! - [`Dut`]: the trait a stack under test implements.
//! - [`Capabilities`]: what an adapter can show and do (virtual or real time, events, state
//!   introspection, reboot, neighbour-cache control, which knobs it honours).
//! - [`StackConfig`]: stack-neutral configuration. Behaviour is asked for in the shared knob
//!   vocabulary ([`stack::policy`]); an adapter maps the knobs it can honour and refuses the rest
//!   by name with the reason ([`Refusal`]). Adapters never emulate a behaviour their stack lacks.
//! - [`Registry`]: the adapters by name, with typed errors ([`RegistryError`]).
//!
//! Adapters shipped here: [`reference`](mod@reference) (the workspace's own stack) and [`smoltcp`] (smoltcp
//! 0.14 in-process).
//!
//! Errors are POSIX `errno`s ([`Errno`]) because that is the vocabulary packetdrill scripts and
//! real kernels share, so one script can run against every stack.
#![forbid(unsafe_code)]

mod caps;
mod config;
mod errno;
pub mod reference;
mod registry;
pub mod skip;
pub mod smoltcp;
pub mod sysctl;

pub use caps::{Capabilities, KnobSupport, TimeModel};
pub use config::{Refusal, StackConfig};
pub use errno::{Errno, SockId};
pub use registry::{Adapter, AdapterSpec, Registry, RegistryError};
pub use sysctl::{RawSysctl, SysctlError};

/// The adapters [`Registry::builtin`] holds.
fn builtin_adapters() -> Vec<Box<dyn Adapter>> {
    vec![Box::new(reference::ADAPTER), Box::new(smoltcp::ADAPTER)]
}

use core::net::SocketAddrV4;
use stack::tcp::{FourTuple, State};
use stack::{Event, Instant};

/// Socket options the harness can set: the reference stack's own option type (every adapter
/// maps it onto its stack), so one vocabulary serves scripts, scenarios and stacks.
pub use stack::tcp::{OptionName as SockOptName, SocketOption as SockOpt};

/// A connection's congestion state (RFC 5681 §2 terms).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Congestion {
    /// cwnd, bytes.
    pub cwnd: usize,
    /// FlightSize: sent and not yet acknowledged (SND.NXT − SND.UNA), bytes.
    pub flight: usize,
}

/// A stack under test. Polling order each step: `handle_frame` for every arriving frame,
/// `handle_timeout` when `poll_at` is due, then `poll_transmit` until it returns `None`.
pub trait Dut {
    /// Short name for reports (`reference`, `smoltcp`, `linux`).
    fn kind(&self) -> &'static str;
    /// What this stack can show and do (the same as its adapter declares).
    fn capabilities(&self) -> &Capabilities;
    fn handle_frame(&mut self, now: Instant, frame: &[u8]);
    /// True only when [`handle_frame`](Self::handle_frame) would change nothing and log
    /// nothing for `frame` (e.g. an ARP broadcast for another host from a sender the stack
    /// does not know), so a simulator may skip delivering it. `false` is always safe.
    fn ignores_frame(&self, _frame: &[u8]) -> bool {
        false
    }
    /// [`ignores_frame`](Self::ignores_frame) for a frame that parsed (with
    /// `stack::wire::parse_frame`) as an ARP packet to `eth_dst`, so a simulator handing one
    /// broadcast to many stacks parses it once. `false` is always safe.
    fn ignores_arp(
        &self,
        _eth_dst: stack::wire::EthernetAddress,
        _arp: &stack::wire::ArpRepr,
    ) -> bool {
        false
    }
    /// Appends the changes of the stack's ARP interest ([`stack::arp::Interest`]): the
    /// addresses it owns and those it holds an ARP entry for, such that
    /// [`ignores_arp`](Self::ignores_arp) is true for every ARP packet to the broadcast
    /// address whose target it does not own and whose sender it holds no entry for. The
    /// first call reports the whole of it. A simulator indexes these to hand an ARP broadcast
    /// only to the stacks that may care. Returns false when the stack keeps no such record
    /// (then every broadcast must be offered to it).
    fn arp_interest(&mut self, _out: &mut Vec<stack::arp::Interest>) -> bool {
        false
    }
    fn handle_timeout(&mut self, now: Instant);
    /// Connections and ARP entries the stack visited so far (a work counter, for tests that
    /// check no input scans every connection); 0 when the stack does not count.
    fn work(&self) -> u64 {
        0
    }
    fn poll_transmit(&mut self, now: Instant) -> Option<Vec<u8>>;
    fn poll_at(&self) -> Option<Instant>;
    /// Stack events since the last call (empty for stacks that log none: see
    /// [`Capabilities::events`]).
    fn take_events(&mut self) -> Vec<Event>;
    /// [`take_events`](Self::take_events) for a caller that drops them (a run that keeps no
    /// trace): a stack may skip building the list.
    fn discard_events(&mut self) {
        self.take_events();
    }

    fn listen(&mut self, now: Instant, port: u16, backlog: usize) -> Result<SockId, Errno>;
    fn accept(&mut self, now: Instant, listener: SockId) -> Result<SockId, Errno>;
    /// Starts an active open from an ephemeral (or given, if non-zero) local port.
    fn connect(
        &mut self,
        now: Instant,
        local_port: u16,
        remote: SocketAddrV4,
    ) -> Result<SockId, Errno>;
    fn send(&mut self, now: Instant, s: SockId, data: &[u8]) -> Result<usize, Errno>;
    /// Reads into `buf`; `Ok(0)` is end of stream, `Err(EAGAIN)` nothing yet.
    fn recv(&mut self, now: Instant, s: SockId, buf: &mut [u8]) -> Result<usize, Errno>;
    fn close(&mut self, now: Instant, s: SockId) -> Result<(), Errno>;
    fn shutdown_write(&mut self, now: Instant, s: SockId) -> Result<(), Errno>;
    fn abort(&mut self, now: Instant, s: SockId) -> Result<(), Errno>;
    fn set_option(&mut self, s: SockId, opt: SockOpt) -> Result<(), Errno>;
    fn get_option(&self, s: SockId, name: SockOptName) -> Result<SockOpt, Errno>;
    /// `SO_ERROR`: the pending error, reported once.
    fn take_error(&mut self, s: SockId) -> Option<Errno>;
    /// TCP state of a socket, where the stack can tell.
    fn state(&self, s: SockId) -> Option<State>;
    /// Bytes received on a connection and not yet read by the application, where the stack can
    /// tell: the condition of RFC 1122 §4.2.2.13 / RFC 9293 §3.6.1 SHLD-3 ("a CLOSE call while
    /// received data is still pending" SHOULD send RST). `None` when the stack cannot tell.
    fn unread(&self, _s: SockId) -> Option<usize> {
        None
    }
    /// The sender's congestion state (RFC 5681 §2: cwnd and the flight size), where the stack
    /// can tell: the precondition of "the sender held data back under its congestion window".
    fn congestion(&self, _s: SockId) -> Option<Congestion> {
        None
    }
    fn four_tuple(&self, s: SockId) -> Option<FourTuple>;
    /// Every connection the stack holds (for oracles), in a deterministic order.
    fn connections(&self) -> Vec<(FourTuple, State)>;
    /// Forgets every connection without sending anything (a reboot / crash).
    fn reboot(&mut self, now: Instant);
    /// How long the stack holds TIME-WAIT (2·MSL), as it declares it for the configuration it
    /// was built with; `None` when it declares nothing. The oracles judge TIME-WAIT against it
    /// (`rfc-violation` time-wait-too-short, early ends) and report "cannot judge" without it.
    fn time_wait(&self) -> Option<stack::Duration> {
        None
    }
    /// Appends the sockets whose state may have changed since the last call (data, end of
    /// stream, error, a connection to accept), so applications need not poll every socket.
    /// Returns false when the stack cannot tell: then every socket must be polled.
    fn take_woken(&mut self, _out: &mut Vec<SockId>) -> bool {
        false
    }
    /// Removes a dynamic ARP entry so the next packet to `addr` must resolve it again.
    /// Returns false when the stack cannot do that.
    fn expire_neighbor(&mut self, _now: Instant, _addr: core::net::Ipv4Addr) -> bool {
        false
    }
    /// Writes one kernel sysctl in the stack's own network namespace, now (needs
    /// [`Capabilities::raw_sysctls`]; the default refuses). A sysctl the namespace lacks or
    /// cannot change is refused by name.
    fn set_sysctl(&mut self, _now: Instant, s: &RawSysctl) -> Result<(), Refusal> {
        Err(Refusal::Capability {
            stack: self.kind(),
            what: format!("set sysctl {s}"),
            reason: "it takes no raw sysctls (its behaviour is set by profile knobs)".into(),
        })
    }
}
