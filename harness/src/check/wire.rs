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

/// Wire-level findings of one connection.
pub fn findings(conn: &Conn, arps: &[Arp]) -> Vec<Finding> {
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
