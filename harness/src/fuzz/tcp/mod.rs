//! `tcp_segments`: the reference [`Tcp`](stack::tcp::Tcp) endpoint, first driven into a chosen state, then fed
//! an arbitrary sequence of inbound segments, timer advances and socket calls.
//!
//! Segment fields are chosen *relative* to the connection (sequence number from RCV.NXT or the
//! peer's ISN, acknowledgment from SND.NXT, SND.UNA or our ISS, RFC 9293 §3.3.1), so that
//! the fuzzer reaches the acceptability and ACK-processing branches instead of spending its
//! time on segments that are out of window by billions. Every built segment goes through the
//! wire encoder and parser first, so the endpoint only ever sees what a real frame can carry.
//!
//! After every step the invariants of `check` are checked; a violation is a [`Violation`]
//! (and a panic in the [`tcp_segments`] entry point, which is what libFuzzer records).

mod check;
mod driver;
#[cfg(test)]
mod tests;

pub use check::Violation;
pub use driver::Outcome;

use arbitrary::{Arbitrary, Unstructured};
use stack::tcp::{SocketOption, State};
use stack::time::Duration;

/// Most operations run per input: enough for any state's interesting paths, few enough that a
/// single input stays fast.
pub const MAX_OPS: usize = 64;
/// Largest inbound payload (one Ethernet MSS).
pub const MAX_PAYLOAD: usize = 1460;

/// One fuzz case: which profile, which starting state, then the operations.
#[derive(Arbitrary, Clone, Debug, PartialEq, Eq)]
pub struct TcpCase {
    /// Index into `stack::policy::Profile::names()` (taken modulo its length).
    pub profile: u8,
    /// Seed of the endpoint (ISNs, ephemeral ports).
    pub seed: u16,
    /// The peer's initial sequence number: arbitrary, so wraparound is exercised.
    pub peer_iss: u32,
    pub start: Start,
    pub ops: Vec<Op>,
}

/// Where the endpoint is driven before the operations start.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Start {
    pub state: StartState,
    /// For states after the handshake: opened actively (connect) rather than passively.
    pub active: bool,
    /// The peer's SYN offers window scaling, SACK and timestamps (RFC 7323, RFC 2018).
    pub syn_options: bool,
}

/// The states the driver knows how to reach (RFC 9293 §3.3.2 names).
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartState {
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

impl StartState {
    pub const ALL: [StartState; 10] = [
        StartState::Listen,
        StartState::SynSent,
        StartState::SynReceived,
        StartState::Established,
        StartState::FinWait1,
        StartState::FinWait2,
        StartState::CloseWait,
        StartState::Closing,
        StartState::LastAck,
        StartState::TimeWait,
    ];

    /// The [`State`] this start should leave the connection (or listener) in.
    pub fn state(self) -> State {
        match self {
            StartState::Listen => State::Listen,
            StartState::SynSent => State::SynSent,
            StartState::SynReceived => State::SynReceived,
            StartState::Established => State::Established,
            StartState::FinWait1 => State::FinWait1,
            StartState::FinWait2 => State::FinWait2,
            StartState::CloseWait => State::CloseWait,
            StartState::Closing => State::Closing,
            StartState::LastAck => State::LastAck,
            StartState::TimeWait => State::TimeWait,
        }
    }
}

/// One step after the start.
#[derive(Arbitrary, Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// A segment from the peer.
    Segment(Seg),
    /// Let time pass, then run the timers.
    Advance(Step),
    /// `send` this many bytes.
    Send(u16),
    /// `recv` into a buffer of this many bytes.
    Recv(u16),
    Close,
    ShutdownWrite,
    Abort,
    Accept,
    SetOption(Opt),
}

/// How far time advances.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    Millis(u16),
    Secs(u8),
    /// To the endpoint's next deadline (`poll_at`), if it has one.
    NextDeadline,
}

/// An inbound segment, relative to the connection.
#[derive(Arbitrary, Clone, Debug, PartialEq, Eq)]
pub struct Seg {
    /// FIN, SYN, RST, PSH, ACK, URG, ECE, CWR in bit order (RFC 9293 §3.1, RFC 3168).
    pub flags: u8,
    pub seq: SeqRel,
    pub ack: AckRel,
    pub window: u16,
    /// Payload length, taken modulo [`MAX_PAYLOAD`] + 1.
    pub len: u16,
    pub urgent: u16,
    pub options: Vec<OptChoice>,
    /// Sent to a port nobody listens on (CLOSED processing, RFC 9293 §3.10.7.1).
    pub stray: bool,
}

/// SEG.SEQ relative to what the connection expects.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeqRel {
    /// RCV.NXT + offset.
    RcvNxt(i16),
    /// IRS (the peer's ISN) + offset.
    Irs(i32),
    Raw(u32),
}

/// SEG.ACK relative to the connection's send variables.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
pub enum AckRel {
    SndNxt(i16),
    SndUna(i16),
    Iss(i32),
    Raw(u32),
}

/// TCP options the peer may send (RFC 9293 §3.2, RFC 7323, RFC 2018).
#[derive(Arbitrary, Clone, Debug, PartialEq, Eq)]
pub enum OptChoice {
    NoOp,
    Mss(u16),
    WindowScale(u8),
    SackPermitted,
    /// SACK blocks as (left, length) relative to SND.UNA.
    Sack(Vec<(i16, u16)>),
    Timestamps {
        tsval: u32,
        tsecr: u32,
    },
    Unknown {
        kind: u8,
        len: u8,
    },
}

/// Socket options (the `setsockopt` set the endpoint models).
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Opt {
    KeepAlive(bool),
    KeepIdleSecs(u8),
    KeepIntvlSecs(u8),
    KeepCnt(u8),
    LingerSecs(Option<u8>),
    NoDelay(bool),
    UserTimeoutMillis(u16),
    ReuseAddr(bool),
    RecvBuf(u16),
    SendBuf(u16),
}

impl Opt {
    pub fn to_socket_option(self) -> SocketOption {
        let secs = |s: u8| Duration::from_secs(u64::from(s));
        match self {
            Opt::KeepAlive(b) => SocketOption::KeepAlive(b),
            Opt::KeepIdleSecs(s) => SocketOption::KeepIdle(secs(s)),
            Opt::KeepIntvlSecs(s) => SocketOption::KeepIntvl(secs(s)),
            Opt::KeepCnt(n) => SocketOption::KeepCnt(u32::from(n)),
            Opt::LingerSecs(s) => SocketOption::Linger(s.map(secs)),
            Opt::NoDelay(b) => SocketOption::NoDelay(b),
            Opt::UserTimeoutMillis(ms) => {
                SocketOption::UserTimeout(Duration::from_millis(u64::from(ms)))
            }
            Opt::ReuseAddr(b) => SocketOption::ReuseAddr(b),
            Opt::RecvBuf(n) => SocketOption::RecvBuf(usize::from(n)),
            Opt::SendBuf(n) => SocketOption::SendBuf(usize::from(n)),
        }
    }
}

/// Fuzz entry point: decode a [`TcpCase`] from the bytes and run it. Panics on an invariant
/// violation (never on undecodable bytes: those are simply not a case).
pub fn tcp_segments(data: &[u8]) {
    let Ok(case) = TcpCase::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    if let Err(v) = run_case(&case) {
        panic!("{v}\ncase: {case:#?}");
    }
}

/// Runs one case: the start, then at most [`MAX_OPS`] operations, checking the invariants
/// after each step. `Ok` tells how far the start got and where the connection ended.
pub fn run_case(case: &TcpCase) -> Result<Outcome, Violation> {
    let mut d = match driver::Driver::new(case) {
        Some(d) => d,
        None => return Ok(Outcome::default()),
    };
    let reached = d.start(case.start)?;
    for (i, op) in case.ops.iter().take(MAX_OPS).enumerate() {
        d.apply(i, op)?;
    }
    Ok(d.outcome(reached))
}
