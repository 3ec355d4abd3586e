//! The invariants checked after every step of a `tcp_segments` run.

use stack::tcp::{Outgoing, State, Tcp};
use stack::time::Instant;
use stack::wire::{build_ipv4_tcp, parse_ipv4_tcp, ChecksumMode, Ipv4Repr, TcpRepr};
use std::fmt;

/// A broken invariant: which operation (`None` = during the start), and what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    pub op: Option<usize>,
    pub during: Option<String>,
    pub what: String,
}

impl Violation {
    /// `index` is the operation number, `usize::MAX` for the start exchange.
    pub fn new(index: usize, what: String) -> Violation {
        Violation {
            op: (index != usize::MAX).then_some(index),
            during: None,
            what,
        }
    }

    pub fn during(mut self, what: &str) -> Violation {
        self.during = Some(what.to_string());
        self
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.op, &self.during) {
            (Some(i), _) => write!(f, "invariant broken at op {i}: {}", self.what),
            (None, Some(d)) => write!(f, "invariant broken during start ({d}): {}", self.what),
            (None, None) => write!(f, "invariant broken during start: {}", self.what),
        }
    }
}

impl std::error::Error for Violation {}

/// Checks on what one step sent, `input` being the segment that caused it (if any):
/// - RFC 9293 §3.10.7.1–4 ("An incoming segment containing a RST is discarded"; in every state
///   a reset is never answered with a reset): no RST in reply to a RST;
/// - RFC 9293 §3.10.7.4 ("Once in the ESTABLISHED state all segments must carry current
///   acknowledgment information"): every segment but a RST and the initial SYN carries ACK;
/// - what the endpoint sends is canonical: it survives the wire encoder and parser unchanged,
///   so what the log and the peer see is what the endpoint meant.
pub fn outputs(index: usize, input: Option<&TcpRepr>, out: &[Outgoing]) -> Result<(), Violation> {
    let fail = |what: String| Err(Violation::new(index, what));
    let input_rst = input.is_some_and(|s| s.flags.rst());
    for o in out {
        let f = o.seg.flags;
        if input_rst && f.rst() {
            return fail(format!("RST sent in reply to a RST: {:?}", o.seg));
        }
        let initial_syn = f.syn() && !f.fin();
        if !f.rst() && !f.ack() && !initial_syn {
            return fail(format!("segment without ACK: {:?}", o.seg));
        }
        let ip = Ipv4Repr::tcp(o.src, o.dst);
        match parse_ipv4_tcp(&build_ipv4_tcp(&ip, &o.seg), ChecksumMode::Verify) {
            Ok((_, back)) if back == o.seg => {}
            Ok((_, back)) => {
                return fail(format!(
                    "sent segment is not canonical: {:?} encodes to {back:?}",
                    o.seg
                ))
            }
            Err(e) => return fail(format!("sent segment does not parse ({e:?}): {:?}", o.seg)),
        }
    }
    Ok(())
}

/// Checks on every connection (RFC 9293 §3.3.1 send sequence space):
/// - SND.UNA ≤ SND.NXT;
/// - SND.NXT − SND.UNA ≤ unacknowledged data + 2 (one SYN and one FIN occupy sequence space).
///
/// CLOSED connections are skipped: RFC 9293 §3.3.2 calls CLOSED "no connection state at all",
/// and a handle the user has not closed yet keeps stale variables.
pub fn connections(index: usize, tcp: &Tcp) -> Result<(), Violation> {
    for (h, tuple, state) in tcp.connections() {
        if state == State::Closed {
            continue;
        }
        let Some(i) = tcp.tcb_info(h) else { continue };
        if !i.snd_una.le(i.snd_nxt) {
            return Err(Violation::new(
                index,
                format!(
                    "{tuple} {}: SND.UNA {} > SND.NXT {}",
                    i.state, i.snd_una, i.snd_nxt
                ),
            ));
        }
        let in_flight = i.snd_nxt - i.snd_una;
        if in_flight > i.tx_queued + 2 {
            return Err(Violation::new(
                index,
                format!(
                    "{tuple} {}: {in_flight} bytes in flight but only {} unacknowledged",
                    i.state, i.tx_queued
                ),
            ));
        }
    }
    Ok(())
}

/// How many extra `handle_timeout(now)` calls a due deadline may take to clear.
pub const MAX_TIMEOUT_ROUNDS: usize = 16;

/// After `handle_timeout(now)` (repeated at most [`MAX_TIMEOUT_ROUNDS`] times while a deadline
/// is still due) the next deadline is in the future: otherwise a driver loop calling
/// `handle_timeout` at `poll_at` would spin.
pub fn deadline_after_timeout(
    index: usize,
    now: Instant,
    next: Option<Instant>,
) -> Result<(), Violation> {
    match next {
        Some(t) if t <= now => Err(Violation::new(
            index,
            format!("poll_at {t:?} not after handle_timeout({now:?})"),
        )),
        _ => Ok(()),
    }
}
