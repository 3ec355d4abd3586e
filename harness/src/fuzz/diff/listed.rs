//! The listed divergences between the reference stack and smoltcp: each is known, judged on
//! its precondition (what the driver saw), and named with the RFC requirement it concerns.
//!
//! Two kinds: [`tolerated`] differences in one segment that leave both connections where they
//! were (the comparison goes on), and [`explain`]ed ones after which the two runs part ways
//! (the comparison ends there).

use super::{combination, DiffOp, Mismatch, Sent, Side};
use stack::wire::TcpFlags;

/// Divergences that are known and judged (each also in `conformance/expectations/smoltcp.toml`
/// or the README's smoltcp table), by the evidence that explains them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Listed {
    /// RFC 9293 §3.10.5 (ABORT: "<SEQ=SND.NXT><CTL=RST>") and §3.10.7: a reset in a
    /// connection's sequence space carries no ACK in the RFC's text; smoltcp sets ACK on
    /// every RST it sends from a connection. The receiver validates an RST by its sequence
    /// number alone (§3.10.7.4, first check), so nothing changes. Judged per segment: both
    /// are RSTs with the same sequence number and payload and differ only in the ACK field
    /// (and the window, which an RST does not advertise).
    AckOnReset,
    /// RFC 9293 §3.10.7.4 (fifth check) updates SND.WND only "if SND.WL1 < SEG.SEQ or (SND.WL1
    /// = SEG.SEQ and SND.WL2 =< SEG.ACK)", and lets a stack hold segments beyond RCV.NXT for
    /// later. The reference takes the window of an acceptable segment beyond RCV.NXT and then,
    /// by the WL1 rule, not that of an in-order segment with a lower SEQ; smoltcp takes the
    /// window of the segment it processes last. With different windows in the two the stacks
    /// disagree on SND.WND, so one sends (or probes) where the other does not. Judged from the
    /// wire: a peer ACK beyond RCV.NXT and an in-order one advertised different windows, and
    /// the step's difference is in data segments only.
    WindowFromOutOfOrderSegment,
    /// RFC 9293 §3.10.7.4: after the peer's FIN, a segment with more text or another FIN is
    /// still checked for acceptability and its ACK processed ("CLOSE-WAIT ... LAST-ACK: ignore
    /// the FIN"; in LAST-ACK "if our FIN is now acknowledged, delete the TCB"). The reference
    /// does; smoltcp drops such a segment whole, its ACK of our FIN included, and stays in
    /// LAST-ACK until its FIN is acknowledged again (or keeps a window the segment changed).
    /// Judged from the wire: the peer's FIN was taken in order, and a later segment carried
    /// data or FIN at or past RCV.NXT; the runs part there.
    SegmentAfterPeerFin,
    /// RFC 9293 §3.8.6.2.1 (sender SWS avoidance, SHLD-38) and RFC 1122 §4.2.3.4 (Nagle): a
    /// small segment waits while data is unacknowledged unless all queued data can go. smoltcp
    /// turns Nagle off once the application has closed (`want_fin`) and sends what the peer's
    /// window allows at once, however small; the reference keeps holding it. Judged on the
    /// wire: at a close, smoltcp sent data segments shorter than the MSS (536 here) that the
    /// reference did not, and no FIN.
    SmallSegmentAtClose,
    /// RFC 9293 §3.10.5 ABORT sends `<SEQ=SND.NXT><CTL=RST>`, and RFC 6298 §5 (on a timeout,
    /// retransmit the earliest unacknowledged segment) says nothing of SND.NXT. smoltcp goes
    /// back on a timeout: SND.NXT returns to SND.UNA and what follows is sent again; the
    /// reference keeps SND.NXT where it was. An abort after a timeout therefore sends an RST
    /// with a lower SEQ from smoltcp (both within the peer's window). Judged per segment: both
    /// RSTs, smoltcp has retransmitted, its SEQ is below the reference's, nothing else differs.
    RetransmitRewindsSndNxt,
    /// RFC 9293 §3.8.6.1: "The transmitting host SHOULD send the first zero-window probe when
    /// a zero window has existed for the retransmission timeout period", then back off. The
    /// reference times its probes from when data is queued behind the closed window; smoltcp
    /// from when the window closed, so with the window closed longer than an RTO it probes at
    /// once. Judged on the wire: the peer's last in-order ACK closed the window, and every
    /// segment either stack sent in the step (pure ACKs aside) is a one-byte probe.
    ZeroWindowProbeTiming,
    /// RFC 9293 §3.10.7.4 (fifth check, ESTABLISHED): "If the ACK acks something not yet sent
    /// (SEG.ACK > SND.NXT), then send an ACK, drop the segment, and return." smoltcp accepts
    /// an ACK up to the end of its send *buffer* (`ack_max = local_seq_no + tx_buffer.len()`),
    /// so an ACK of queued, never-sent bytes takes them off the buffer: they are never sent,
    /// and its next segment starts past them (data lost from the stream), with the window of
    /// that segment taken too. Judged from the wire: a peer segment acknowledged beyond the
    /// highest sequence number either stack had sent; from then on the runs differ.
    AckOfUnsentData,
    /// RFC 9293 §3.8.6.1 (zero-window probing, MUST-36) does not say whether the probe's byte
    /// advances SND.NXT. The reference sends it as data (SND.NXT moves past it); smoltcp keeps
    /// SND.NXT where it was. Seen when the connection is aborted while probing: the RST carries
    /// SEQ = SND.NXT (§3.10.5), one higher from the reference. (Against an RFC 5961 peer, whose
    /// RCV.NXT did not take the byte, only smoltcp's RST is the exact match that resets at
    /// once; the reference's draws a challenge ACK first.) Judged per segment: both are RSTs,
    /// the peer's last in-order ACK closed the window, and the reference's SEQ is smoltcp's + 1.
    ProbeByteOutsideSndNxt,
    /// RFC 1122 §2.3.2.2: "The link layer SHOULD save (rather than discard) at least one (the
    /// latest) packet of each set of packets destined to the same unresolved IP address";
    /// smoltcp keeps none (see `arp.queue_depth` in its adapter). Data survives because the
    /// socket sends it again once the neighbour answers, but the RST of an abort is sent once
    /// from a socket that is already gone, so it is lost when smoltcp's neighbour entry has
    /// expired (60 s): the peer keeps a half-open connection (incident A's rst-loss). Judged
    /// on the wire: smoltcp asked for the peer's address in this step and sent no RST where
    /// the reference sent one.
    ResetLostWhileResolving,
    /// RFC 9293 §3.10.7.1: the reset answering a segment without ACK is
    /// "<SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>"; smoltcp (`rst_reply`) sets the ACK only
    /// when the segment was a SYN, so its reply to a bare segment (or a FIN) without ACK has
    /// none. Judged per segment: the peer's segment had neither ACK, SYN nor RST, the
    /// reference's reset acknowledges exactly SEG.SEQ+SEG.LEN, smoltcp's carries no ACK.
    ResetReplyWithoutAck,
    /// RFC 793 §3.4 / RFC 9293 §3.10.7.4: a SYN in a synchronized state resets the connection
    /// under RFC 793; smoltcp answers it with a challenge ACK (RFC 5961 §4).
    SynInWindow,
    /// RFC 1122 §4.2.2.13 / RFC 9293 §3.6.1: data after close draws an RST from the reference;
    /// smoltcp's close is a half-close and takes the data.
    DataAfterClose,
    /// RFC 1122 §4.2.2.13 / RFC 9293 §3.6.1 SHLD-3: a CLOSE while received data is still
    /// pending SHOULD send RST; the reference does (and is gone), smoltcp's close is a
    /// half-close and sends FIN. Judged by the precondition itself: the reference reported
    /// unread bytes ([`crate::dut::Dut::unread`]) on the socket just before the close.
    UnreadDataAtClose,
    /// RFC 9293 §3.8.2 MUST-19 / RFC 5681 §3.1: the reference holds data back under its
    /// congestion window (after a retransmission timeout, the loss window of one segment) and
    /// Nagle's rule; smoltcp as the adapter builds it (no `socket-tcp-reno`/`-cubic` feature:
    /// `CongestionControl::None`) sends all the peer's window allows, and may send a FIN the
    /// reference still holds. The peer here acknowledges what each stack has sent, so that ACK
    /// covers smoltcp's FIN and not the reference's. Judged on the wire: smoltcp's FIN has been
    /// sent and the reference's has not.
    SendsAheadWithoutCongestionControl,
    /// RFC 9293 §3.10.7.4 (fifth check): "If the ACK is a duplicate (SEG.ACK =< SND.UNA), it
    /// can be ignored" — the ACK field, not the segment: its text and FIN are still processed
    /// (RFC 5961 §5.2 accepts SEG.ACK down to SND.UNA - MAX.SND.WND). smoltcp drops the whole
    /// segment ("duplicate ACK"), so a reordered data segment is lost to it. Judged when the
    /// segment's ACK is below what the peer had already acknowledged, the reference took its
    /// data or FIN ([`crate::dut::Dut::unread`] or state changed) and smoltcp took nothing; the two
    /// receive streams differ from then on.
    OldAckDropsSegment,
    /// RFC 1122 §4.2.3.5: the reference gives up after R2 (ETIMEDOUT); smoltcp never does.
    RetransmissionGiveUp,
    /// RFC 9293 §3.10.7.4 checks the RST bit before SYN and FIN, so RST+FIN resets; smoltcp
    /// drops any segment with more than one of SYN, FIN, RST as malformed (`TcpRepr::parse`).
    ControlCombination,
}

/// A peer segment as the driver sent it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Inbound {
    pub flags: TcpFlags,
    /// SEG.SEQ − peer ISS.
    pub seq: u32,
    /// Payload length.
    pub len: u32,
}

/// The listed rule under which segments `r` (the reference's) and `m` (smoltcp's), sent at the
/// same place in the same step, differ without consequence; `None` when no rule covers it.
pub(crate) fn tolerated(r: &Sent, m: &Sent, seen: &Seen<'_>) -> Option<Listed> {
    // An RST advertises no window and (in a connection's sequence space) needs no ACK.
    let strip = |s: &Sent| Sent {
        ack: None,
        zero_window: false,
        ..s.clone()
    };
    if r.rst && m.rst && r.seq.is_some() && strip(r) == strip(m) {
        return Some(Listed::AckOnReset);
    }
    // The reference's RST one past smoltcp's, the peer's window closed: the probe byte.
    let probed = Sent {
        seq: m.seq.map(|s| s.wrapping_add(1)),
        ..strip(m)
    };
    if r.rst && m.rst && m.seq.is_some() && seen.peer_window == 0 && strip(r) == probed {
        return Some(Listed::ProbeByteOutsideSndNxt);
    }
    // smoltcp's RST below the reference's after smoltcp went back to retransmit.
    let behind = match (r.seq, m.seq) {
        (Some(a), Some(b)) => (a.wrapping_sub(b) as i32) > 0,
        _ => false,
    };
    let at_r = Sent {
        seq: r.seq,
        ..strip(m)
    };
    if r.rst && m.rst && behind && seen.smoltcp_resent && strip(r) == at_r {
        return Some(Listed::RetransmitRewindsSndNxt);
    }
    let bare = seen.inbound.filter(|i| {
        !i.flags.contains(TcpFlags::ACK)
            && !i.flags.contains(TcpFlags::SYN)
            && !i.flags.contains(TcpFlags::RST)
    });
    if let Some(i) = bare {
        let fin = u32::from(i.flags.contains(TcpFlags::FIN));
        if r.rst
            && m.rst
            && r.seq.is_none()
            && m.seq.is_none()
            && r.ack == Some(i.seq.wrapping_add(i.len + fin))
            && m.ack.is_none()
        {
            return Some(Listed::ResetReplyWithoutAck);
        }
    }
    None
}

/// What the driver saw up to the step that diverged.
pub(crate) struct Seen<'a> {
    /// This step's operation.
    pub op: &'a DiffOp,
    /// This step's peer segment, if it sent one.
    pub inbound: Option<Inbound>,
    /// The window of the peer's last in-order ACK.
    pub peer_window: u16,
    /// Some peer segment so far acknowledged data the stacks had not sent.
    pub acked_unsent: bool,
    /// smoltcp has retransmitted something.
    pub smoltcp_resent: bool,
    /// A peer segment carried data or FIN at or past RCV.NXT after the peer's FIN had been
    /// taken (this step or earlier).
    pub after_peer_fin: bool,
    /// A peer ACK beyond RCV.NXT and an in-order one advertised different windows.
    pub windows_disagree: bool,
    /// The flags of the last peer segment, and whether it was at or beyond RCV.NXT.
    pub last_inbound: Option<(TcpFlags, bool)>,
    /// The peer sent data after the application closed.
    pub data_after_close: bool,
}

/// The listed divergence whose precondition holds, if any (`sides`: reference, smoltcp).
pub(crate) fn explain(sides: &[Side; 2], seen: &Seen<'_>, what: &Mismatch) -> Option<Listed> {
    let (r, m) = (&sides[0], &sides[1]);
    if seen.acked_unsent {
        Some(Listed::AckOfUnsentData)
    } else if r.timed_out {
        Some(Listed::RetransmissionGiveUp)
    } else if seen.data_after_close {
        Some(Listed::DataAfterClose)
    } else if *seen.op == DiffOp::Close && r.unread_at_close.is_some_and(|n| n > 0) {
        Some(Listed::UnreadDataAtClose)
    } else if seen.windows_disagree && data_only(what) {
        Some(Listed::WindowFromOutOfOrderSegment)
    } else if seen.after_peer_fin {
        Some(Listed::SegmentAfterPeerFin)
    } else if *seen.op == DiffOp::Close && small_at_close(what) {
        Some(Listed::SmallSegmentAtClose)
    } else if seen.peer_window == 0 && only_probes(what) {
        Some(Listed::ZeroWindowProbeTiming)
    } else if m.resolving && reset_lost(what) {
        Some(Listed::ResetLostWhileResolving)
    } else if (m.fin_sent && !r.fin_sent) || sends_ahead(r, what) {
        Some(Listed::SendsAheadWithoutCongestionControl)
    } else if m.parted.is_some() {
        m.parted
    } else if seen.last_inbound.is_some_and(|(f, _)| combination(f)) {
        Some(Listed::ControlCombination)
    } else if seen
        .last_inbound
        .is_some_and(|(f, _)| f.contains(TcpFlags::SYN))
    {
        Some(Listed::SynInWindow)
    } else {
        None
    }
}

/// [`Listed::SendsAheadWithoutCongestionControl`] on the wire: smoltcp sent what the reference
/// sent this step, in the same order, and more (data or FIN, new or sent again: after a
/// timeout smoltcp goes back and resends all the peer's window allows, the reference one
/// segment per timeout); and the reference's own congestion state says its window has no room
/// for the first of those (RFC 5681 §3.1: FlightSize + the segment > cwnd).
fn sends_ahead(r: &Side, what: &Mismatch) -> bool {
    let Mismatch::Sent { reference, smoltcp } = what else {
        return false;
    };
    let keep = |v: &[Sent]| {
        v.iter()
            .filter(|s| !s.is_pure_ack())
            .cloned()
            .collect::<Vec<_>>()
    };
    let (ro, mo) = (keep(reference), keep(smoltcp));
    // The reference's segments as a subsequence of smoltcp's; the rest are extra.
    let mut next = ro.iter().peekable();
    let mut extra = Vec::new();
    for m in &mo {
        if next.peek() == Some(&m) {
            next.next();
        } else {
            extra.push(m);
        }
    }
    let Some(first) = extra.first() else {
        return false;
    };
    let carries = extra
        .iter()
        .all(|s| !s.rst && !s.syn && (s.fin || !s.payload.is_empty()));
    let congestion = r.sock.and_then(|s| r.dut.congestion(s));
    next.peek().is_none()
        && carries
        && congestion.is_some_and(|c| c.flight + first.payload.len().max(1) > c.cwnd)
}

/// The reference sent an RST this step and smoltcp sent none.
fn reset_lost(what: &Mismatch) -> bool {
    matches!(what, Mismatch::Sent { reference, smoltcp }
        if reference.iter().any(|s| s.rst) && !smoltcp.iter().any(|s| s.rst))
}

/// Every data segment either stack sent this step is a one-byte probe (and one sent some).
fn only_probes(what: &Mismatch) -> bool {
    let Mismatch::Sent { reference, smoltcp } = what else {
        return false;
    };
    let probe = |s: &Sent| !s.syn && !s.rst && !s.fin && s.payload.len() == 1;
    let others: Vec<&Sent> = reference
        .iter()
        .chain(smoltcp)
        .filter(|s| !s.is_pure_ack())
        .collect();
    !others.is_empty() && others.iter().all(|s| probe(s))
}

/// smoltcp sent sub-MSS data segments (no FIN) the reference did not send.
fn small_at_close(what: &Mismatch) -> bool {
    let Mismatch::Sent { reference, smoltcp } = what else {
        return false;
    };
    let data = |v: &[Sent]| {
        v.iter()
            .filter(|s| !s.is_pure_ack())
            .cloned()
            .collect::<Vec<_>>()
    };
    let (ro, mo) = (data(reference), data(smoltcp));
    mo.len() > ro.len()
        && mo.starts_with(&ro)
        && mo[ro.len()..]
            .iter()
            .all(|s| !s.fin && !s.rst && !s.syn && !s.payload.is_empty() && s.payload.len() < 536)
}

/// The step's segments (pure ACKs aside) differ in data only: no control bit.
fn data_only(what: &Mismatch) -> bool {
    let Mismatch::Sent { reference, smoltcp } = what else {
        return false;
    };
    reference
        .iter()
        .chain(smoltcp)
        .filter(|s| !s.is_pure_ack())
        .all(|s| !s.syn && !s.rst && !s.fin)
}
