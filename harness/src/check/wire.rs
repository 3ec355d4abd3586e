//! Findings read from the frames alone (no stack events): what a capture proves about the
//! connection deaths of MISSION.md.
//!
//! - **half-open**: the DUT answers a segment of a synchronized connection with a reset for an
//!   unknown connection (RST without ACK, `seq` = the segment's ACK, RFC 9293 §3.10.7.1) although
//!   it never sent an RST or FIN for that connection on the wire: it had forgotten the
//!   connection without telling its peer, which was half-open from the DUT's last segment until
//!   that reset. The usual cause is an RST lost before it reached the wire (incident A: an ARP
//!   queue that keeps one packet per unresolved next hop), hence `cause = lost-rst` when the
//!   DUT was resolving a next hop with ARP at the time it went quiet.
//! - **rst-loss**: such a forgotten connection, when the same ARP resolution let out an RST of
//!   the DUT's on *another* connection that no segment of the peer had provoked (an abort:
//!   `close` with SO_LINGER 0): the DUT was aborting connections at that moment, one abort
//!   reached the wire once the next hop resolved, and this connection's did not. That is
//!   incident A seen from the wire: the unresolved neighbour's queue kept one packet
//!   (RFC 1122 §2.3.2.2 asks for "at least one"), the others were dropped.

use super::conn::Conn;
use super::segment::Arp;
use crate::oracle::{Finding, FindingKind};
use stack::tcp::FourTuple;
use stack::Duration;

/// Shortest silence after which a forgotten connection is reported (the oracles' grace).
pub const HALF_OPEN_GRACE: Duration = Duration::from_secs(5);

/// How soon after the peer's segment an RST counts as the answer to it (room for the DUT to
/// resolve the peer's address with ARP first: one retransmission interval).
pub const RESPONSE_WINDOW: Duration = Duration::from_secs(1);

/// An RST the DUT sent on its own (no segment of the peer within [`RESPONSE_WINDOW`] before
/// it asked for one) on a connection it had synchronized: an abort that reached the wire.
#[derive(Clone, Copy, Debug)]
pub struct Abort {
    pub frame: usize,
    pub time: stack::Instant,
    pub dut: core::net::SocketAddrV4,
    pub peer: core::net::SocketAddrV4,
}

/// Every unprovoked RST of the DUT in `conns`.
pub fn aborts(conns: &[Conn]) -> Vec<Abort> {
    let mut out = Vec::new();
    for c in conns {
        let mut synchronized = false;
        let mut last_peer: Option<stack::Instant> = None;
        for s in &c.segs {
            if s.src == c.peer {
                last_peer = Some(s.time);
                continue;
            }
            let provoked = last_peer.is_some_and(|t| s.time.saturating_since(t) <= RESPONSE_WINDOW);
            if s.flags.rst() && synchronized && !provoked {
                out.push(Abort {
                    frame: s.frame,
                    time: s.time,
                    dut: c.dut,
                    peer: c.peer,
                });
            }
            if s.flags.ack() && !s.flags.rst() && !s.flags.syn() {
                synchronized = true;
            }
        }
    }
    out
}

/// Wire-level findings of one connection; `aborts` are the DUT's aborts on every connection
/// of the capture ([`aborts`]).
pub fn findings(conn: &Conn, arps: &[Arp], aborts: &[Abort]) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut synchronized = false;
    let mut dut_closed = false;
    let mut last_dut: Option<&super::segment::Seg> = None;
    let mut prev_peer: Option<&super::segment::Seg> = None;
    // The DUT's send edge and the peer's highest acknowledgment: a DUT that went quiet
    // retransmitting data the peer never acknowledged gave up on an unresponsive peer
    // (RFC 1122 §4.2.3.5 R2), which is not forgetting a live connection.
    let mut dut_edge: Option<u32> = None;
    let mut peer_acked: Option<u32> = None;
    let mut acked_at_last_dut: Option<u32> = None;
    let mut last_was_rtx = false;
    let after = |a: u32, b: u32| (a.wrapping_sub(b) as i32) > 0;
    for s in &conn.segs {
        if s.src == conn.peer {
            prev_peer = Some(s);
            if s.flags.ack() && peer_acked.is_none_or(|p| after(s.ack, p)) {
                peer_acked = Some(s.ack);
            }
            if s.flags.rst() {
                dut_closed = true;
            }
            continue;
        }
        let unknown_reset = s.flags.rst() && !s.flags.ack();
        let gave_up = last_was_rtx
            && matches!((dut_edge, acked_at_last_dut), (Some(e), Some(a)) if after(e, a));
        if unknown_reset && synchronized && !dut_closed && !gave_up {
            if let (Some(last), Some(trigger)) = (last_dut, prev_peer) {
                let held = s.time.saturating_since(last.time);
                let answer = s.time.saturating_since(trigger.time) <= RESPONSE_WINDOW;
                if answer && trigger.flags.ack() && trigger.ack == s.seq && held > HALF_OPEN_GRACE {
                    let conn_tuple = FourTuple {
                        local: conn.peer,
                        remote: conn.dut,
                    };
                    // Was the DUT resolving a neighbour with ARP when it went quiet?
                    let arping = arps.iter().find(|a| {
                        a.request
                            && a.sender_ip == *conn.dut.ip()
                            && a.time >= last.time
                            && a.time <= s.time
                    });
                    let cause = if arping.is_some() {
                        "lost-rst"
                    } else {
                        "dut-forgot-silently"
                    };
                    let mut f = Finding::new(
                        FindingKind::HalfOpen,
                        last.time,
                        conn_tuple,
                        &conn.peer.ip().to_string(),
                    )
                    .cause(cause)
                    .duration(held)
                    .evidence(format!(
                        "frame {}: last segment from the DUT {}",
                        last.frame, conn.dut
                    ))
                    .evidence(format!(
                        "frame {}: the peer still uses the connection",
                        trigger.frame
                    ))
                    .evidence(format!(
                        "frame {}: the DUT resets it as unknown (RST, seq = the peer's ACK)",
                        s.frame
                    ));
                    if let Some(a) = arping {
                        f = f.evidence(format!(
                            "frame {}: the DUT was resolving {} with ARP in between",
                            a.frame, a.target_ip
                        ));
                    }
                    out.push(f);
                    // An abort of another connection let out by the same resolution.
                    let sibling = arping.and_then(|a| {
                        aborts.iter().find(|x| {
                            (x.dut, x.peer) != (conn.dut, conn.peer)
                                && x.time >= a.time
                                && x.time.saturating_since(a.time) <= RESPONSE_WINDOW
                        })
                    });
                    if let (Some(a), Some(x)) = (arping, sibling) {
                        out.push(
                            Finding::new(
                                FindingKind::RstLoss,
                                x.time,
                                FourTuple {
                                    local: conn.dut,
                                    remote: conn.peer,
                                },
                                &conn.dut.ip().to_string(),
                            )
                                .cause("arp-queue-overflow")
                                .evidence(format!(
                                    "frame {}: the DUT resolves {} with ARP while it aborts connections",
                                    a.frame, a.target_ip
                                ))
                                .evidence(format!(
                                    "frame {}: one abort reaches the wire once it resolves (RST on {}-{})",
                                    x.frame, x.dut, x.peer
                                ))
                                .evidence(format!(
                                    "frame {}: this connection's never did: the DUT resets it as unknown",
                                    s.frame
                                )),
                        );
                    }
                }
            }
        }
        if s.flags.rst() || s.flags.fin() {
            dut_closed = true;
        }
        if !s.flags.rst() {
            let end = s.seq.wrapping_add(s.seg_len());
            last_was_rtx = s.seg_len() > 0 && dut_edge.is_some_and(|e| !after(end, e));
            if dut_edge.is_none_or(|e| after(end, e)) {
                dut_edge = Some(end);
            }
        }
        // Synchronized once the DUT acknowledges outside its SYN-ACK (RFC 9293 §3.3.2).
        if s.flags.ack() && !s.flags.rst() && !s.flags.syn() {
            synchronized = true;
        }
        last_dut = Some(s);
        acked_at_last_dut = peer_acked;
    }
    out
}
