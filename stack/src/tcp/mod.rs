//! TCP (RFC 9293, with RFC 1122, RFC 1337, RFC 5961, RFC 6191, RFC 6298 where policies say so).
//!
//! The layer works on parsed segments ([`TcpRepr`] plus the IPv4 source and destination); the
//! host parses and emits bytes. [`Tcp`] is the whole TCP layer of one host. Modules:
//! `tcb` (the control block and `set_state`), `arrive` (SEGMENT ARRIVES, RFC 9293 §3.10.7),
//! `reassembly` (out-of-order queue, SHLD-31), `send` (output), `timers` (RTO, persist, delayed ACK, TIME-WAIT, keepalive, user timeout),
//! `endpoint` (demux, CLOSED/LISTEN, user calls), `socket` (handles, options, errors),
//! `event` (what is logged).

mod arrive;
mod endpoint;
pub mod event;
mod options;
mod reassembly;
mod send;
pub mod socket;
mod tcb;
#[cfg(test)]
mod tests;
mod timers;

pub use endpoint::{reset_for, TcbInfo, Tcp};
pub use event::{
    Cause, ChallengeTrigger, DropCause, DropReason, RstAction, RstReason, TcpEvent, TimeWaitCause,
};
pub use socket::{
    AcceptError, CloseError, ConnectError, ListenError, OptionError, OptionName, RecvError,
    SendError, SocketError, SocketHandle, SocketOption,
};

use crate::wire::TcpRepr;

use core::fmt;
use core::net::{Ipv4Addr, SocketAddrV4};

/// A connection's identity: (local address:port, remote address:port).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FourTuple {
    pub local: SocketAddrV4,
    pub remote: SocketAddrV4,
}

impl FourTuple {
    pub fn new(local: Ipv4Addr, local_port: u16, remote: Ipv4Addr, remote_port: u16) -> Self {
        FourTuple {
            local: SocketAddrV4::new(local, local_port),
            remote: SocketAddrV4::new(remote, remote_port),
        }
    }
    /// The same connection seen from the other end.
    pub fn reversed(self) -> Self {
        FourTuple {
            local: self.remote,
            remote: self.local,
        }
    }
}

/// `a.b.c.d:p-e.f.g.h:q` (local first), the form findings use.
impl fmt::Display for FourTuple {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.local, self.remote)
    }
}

/// The connection states, with RFC 9293 §3.3.2 names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum State {
    Closed,
    Listen,
    SynSent,
    SynReceived,
    Established,
    FinWait1,
    FinWait2,
    CloseWait,
    Closing,
    LastAck,
    TimeWait,
}

impl State {
    pub const ALL: [State; 11] = [
        State::Closed,
        State::Listen,
        State::SynSent,
        State::SynReceived,
        State::Established,
        State::FinWait1,
        State::FinWait2,
        State::CloseWait,
        State::Closing,
        State::LastAck,
        State::TimeWait,
    ];

    /// RFC 9293 §3.3.2 name, e.g. `SYN-RECEIVED`.
    pub fn name(self) -> &'static str {
        match self {
            State::Closed => "CLOSED",
            State::Listen => "LISTEN",
            State::SynSent => "SYN-SENT",
            State::SynReceived => "SYN-RECEIVED",
            State::Established => "ESTABLISHED",
            State::FinWait1 => "FIN-WAIT-1",
            State::FinWait2 => "FIN-WAIT-2",
            State::CloseWait => "CLOSE-WAIT",
            State::Closing => "CLOSING",
            State::LastAck => "LAST-ACK",
            State::TimeWait => "TIME-WAIT",
        }
    }

    /// Parses the RFC 9293 spelling (`TIME-WAIT`) or the Linux one (`TIME_WAIT`, `SYN_RECV`,
    /// `FIN_WAIT1`), in any case.
    pub fn from_name(s: &str) -> Option<State> {
        let norm = s.to_ascii_uppercase().replace('_', "-");
        let norm = match norm.as_str() {
            "SYN-RECV" => "SYN-RECEIVED",
            "FIN-WAIT1" => "FIN-WAIT-1",
            "FIN-WAIT2" => "FIN-WAIT-2",
            other => other,
        };
        State::ALL.into_iter().find(|st| st.name() == norm)
    }

    /// Synchronized states (RFC 9293 §3.5.2: ESTABLISHED and later, not TIME-WAIT's cousin CLOSED).
    pub fn is_synchronized(self) -> bool {
        !matches!(
            self,
            State::Closed | State::Listen | State::SynSent | State::SynReceived
        )
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A segment to send, with the IPv4 addresses it goes between.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outgoing {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub seg: TcpRepr,
}

#[cfg(test)]
mod names_tests {
    use super::*;

    /// RFC 9293 §3.3.2 names, read back from both spellings; Display is the name.
    #[test]
    fn state_names_round_trip_in_both_spellings() {
        let mut seen = std::collections::BTreeSet::new();
        for st in State::ALL {
            assert!(seen.insert(st.name()), "{st:?} shares its name");
            assert_eq!(st.to_string(), st.name());
            assert_eq!(State::from_name(st.name()), Some(st));
            assert_eq!(
                State::from_name(&st.name().replace('-', "_").to_lowercase()),
                Some(st)
            );
        }
        assert_eq!(State::SynReceived.name(), "SYN-RECEIVED");
        assert_eq!(State::from_name("SYN_RECV"), Some(State::SynReceived));
        assert_eq!(State::from_name("fin_wait1"), Some(State::FinWait1));
        assert_eq!(State::from_name("FIN_WAIT2"), Some(State::FinWait2));
        assert_eq!(State::from_name("ESTABLISHED-ISH"), None);
    }

    /// RFC 9293 §3.5.2: the synchronized states are ESTABLISHED and every later one.
    #[test]
    fn synchronized_states_are_established_and_later() {
        let sync: Vec<State> = State::ALL
            .into_iter()
            .filter(|s| s.is_synchronized())
            .collect();
        assert_eq!(sync, State::ALL[4..].to_vec());
    }

    #[test]
    fn a_four_tuple_prints_local_first_and_reverses() {
        let t = FourTuple::new(
            Ipv4Addr::new(192, 0, 2, 1),
            80,
            Ipv4Addr::new(198, 51, 100, 2),
            5000,
        );
        assert_eq!(t.to_string(), "192.0.2.1:80-198.51.100.2:5000");
        assert_eq!(t.reversed().to_string(), "198.51.100.2:5000-192.0.2.1:80");
        assert_eq!(t.reversed().reversed(), t);
    }
}
