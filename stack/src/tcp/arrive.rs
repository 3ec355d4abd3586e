//! SEGMENT ARRIVES (RFC 9293 §3.10.7) for a connection that has a TCB: SYN-SENT (§3.10.7.3)
//! and the other states (§3.10.7.4), checked in the RFC's order. CLOSED and LISTEN, which have
//! no TCB of their own, are in `endpoint.rs`.

use super::event::{
    Cause, ChallengeTrigger, DropCause, DropReason, RstAction, RstReason, TcpEvent, TimeWaitCause,
};
use super::socket::SocketError;
use super::tcb::{Ctx, Tcb};
use super::State;
use crate::policy::{SynInTimeWait, TimeWaitRst};
use crate::wire::{SeqNumber, TcpRepr};

/// What the endpoint must do after a segment was handled by a TCB.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Arrival {
    Done,
    /// TIME-WAIT ended because of a new SYN (RFC 6191); the endpoint hands the SYN to the
    /// listener with an ISS above `old_snd_nxt`.
    Reopen {
        old_snd_nxt: SeqNumber,
    },
}

impl Tcb {
    /// Process one segment addressed to this connection.
    pub fn on_segment(&mut self, ctx: &mut Ctx<'_>, seg: &TcpRepr) -> Arrival {
        self.tick(ctx.now);
        let r = match self.state {
            State::Closed | State::Listen => {
                self.dropped(ctx, DropReason::Unexpected);
                Arrival::Done
            }
            State::SynSent => {
                self.arrive_syn_sent(ctx, seg);
                Arrival::Done
            }
            _ => self.arrive_synchronized(ctx, seg),
        };
        self.update_timers(ctx.now, ctx.policy);
        r
    }

    /// RFC 9293 §3.10.7.3 SYN-SENT.
    fn arrive_syn_sent(&mut self, ctx: &mut Ctx<'_>, seg: &TcpRepr) {
        let f = seg.flags;
        // First: check the ACK bit.
        if f.ack() {
            // "If SEG.ACK =< ISS or SEG.ACK > SND.NXT, send a reset (unless the RST bit is set,
            // if so drop the segment and return) <SEQ=SEG.ACK><CTL=RST>".
            if seg.ack.le(self.iss) || seg.ack.gt(self.snd_nxt) {
                if f.rst() {
                    self.rst_event(ctx, seg, RstAction::Ignored);
                } else {
                    self.dropped(ctx, DropReason::AckTooNew);
                    self.send_rst(ctx, seg.ack, None, RstReason::BadAckInSynSent);
                }
                return;
            }
        }
        // Second: check the RST bit. "If the ACK was acceptable, then signal to the user
        // 'error: connection reset', drop the segment, enter CLOSED state, delete TCB, and
        // return. Otherwise (no ACK), drop the segment and return." (RFC 5961 §3.2 agrees.)
        if f.rst() {
            if f.ack() {
                self.rst_event(ctx, seg, RstAction::Accepted);
                self.drop_connection(
                    ctx,
                    DropCause::Reset,
                    Some(SocketError::ConnectionRefused),
                    Cause::RstReceived,
                );
            } else {
                self.rst_event(ctx, seg, RstAction::Ignored);
            }
            return;
        }
        // Fourth: check the SYN bit.
        if f.syn() {
            self.irs = seg.seq;
            self.rcv_nxt = seg.seq + 1u32;
            self.take_syn_options(ctx.policy, seg);
            self.last_recv = ctx.now;
            // RFC 9293 §3.10.7.3: the window in a SYN is never scaled (RFC 7323 §2.2).
            self.snd_wnd = u32::from(seg.window);
            self.max_snd_wnd = self.max_snd_wnd.max(self.snd_wnd);
            self.snd_wl1 = seg.seq;
            self.snd_wl2 = seg.ack;
            if f.ack() {
                self.ack_advances(ctx, seg.ack);
            }
            if self.snd_una.gt(self.iss) {
                // "If SND.UNA > ISS (our SYN has been ACKed), change the connection state to
                // ESTABLISHED, form an ACK segment <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>".
                self.set_state(ctx, State::Established, Cause::SynAckReceived);
                self.ack_now = true;
                // "...continue processing at the sixth step below where the URG bit is checked".
                self.text_and_fin(ctx, seg.seq + 1u32, &seg.payload, f.fin());
            } else {
                // Simultaneous open: "enter SYN-RECEIVED, form a SYN,ACK segment
                // <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK> and send it". Text in the SYN is not
                // queued by this stack (the peer retransmits it).
                self.set_state(ctx, State::SynReceived, Cause::SynReceived);
                self.snd_cur = self.iss;
            }
            return;
        }
        // Fifth: "If neither of the SYN or RST bits is set, then drop the segment and return."
        self.dropped(ctx, DropReason::Unexpected);
    }

    fn rst_event(&self, ctx: &mut Ctx<'_>, seg: &TcpRepr, action: RstAction) {
        ctx.emit(TcpEvent::RstReceived {
            conn: self.tuple,
            state: self.state,
            seq: seg.seq,
            action,
        });
    }

    /// RFC 9293 §3.10.7.4: SYN-RECEIVED and the synchronized states.
    fn arrive_synchronized(&mut self, ctx: &mut Ctx<'_>, seg: &TcpRepr) -> Arrival {
        let f = seg.flags;
        let len = seg.seg_len();

        if self.state == State::TimeWait && ctx.policy.time_wait_bsd {
            return self.arrive_time_wait_bsd(ctx, seg);
        }
        // TIME-WAIT special cases that real stacks check before the window test.
        if self.state == State::TimeWait && !f.rst() {
            // RFC 1122 §4.2.2.13 / RFC 6191 (Linux tcp_timewait_state_process): a SYN above the
            // old RCV.NXT may reopen the connection.
            if let Some(reopen) = self.syn_reopens_time_wait(ctx, seg) {
                return reopen;
            }
            // "The only thing that can arrive in this state is a retransmission of the remote
            // FIN. Acknowledge it, and restart the 2 MSL timeout."
            if f.fin() && !f.syn() && seg.seq + len == self.rcv_nxt {
                self.send_ack_now(ctx);
                self.start_time_wait(ctx.now, ctx.policy);
                return Arrival::Done;
            }
        }
        // SYN-RECEIVED: a retransmitted SYN means our SYN-ACK was lost: send it again.
        if self.state == State::SynReceived
            && f.syn()
            && !f.ack()
            && !f.rst()
            && seg.seq == self.irs
        {
            self.snd_cur = self.iss;
            return Arrival::Done;
        }

        // RFC 7323 §5.3 R1-R2: PAWS before the sequence number check.
        if !self.paws_accepts(ctx, seg) {
            return Arrival::Done;
        }
        // First: check sequence number.
        let mut zero_window_allowance = false;
        if !self.seq_acceptable(ctx.policy, seg.seq, len) {
            // "If the RCV.WND is zero, no segments will be acceptable, but special allowance
            // should be made to accept valid ACKs, URGs, and RSTs."
            if self.acceptance_window(ctx.policy) == 0 && seg.seq == self.rcv_nxt && !f.syn() {
                // Only a segment with SEG.LEN > 0 gets here (an empty one at RCV.NXT is
                // acceptable): acknowledge it, still showing the closed window.
                zero_window_allowance = true;
                self.ack_now = true;
            } else if ctx.policy.old_segment_ack
                && !f.rst()
                && !f.syn()
                && seg.seq.lt(self.rcv_nxt)
                && (seg.seq + len).le(self.rcv_nxt)
            {
                // BSD tcp_input.c: an old duplicate is trimmed to nothing, an ACK is due, "but
                // keep on processing for RST or ACK": its ACK field still counts.
                self.dropped(ctx, DropReason::OutOfWindow);
                zero_window_allowance = true;
                self.ack_now = true;
            } else if f.syn() && ctx.policy.rfc5961 && self.state != State::SynReceived {
                // RFC 5961 §4.2: "If the SYN bit is set, irrespective of the sequence number,
                // TCP MUST send an ACK (also referred to as challenge ACK)".
                self.dropped(ctx, DropReason::OutOfWindow);
                self.challenge_ack(ctx, ChallengeTrigger::Syn);
                return Arrival::Done;
            } else if f.rst() {
                // "...unless the RST bit is set, if so drop the segment and return".
                self.rst_event(ctx, seg, RstAction::Ignored);
                self.dropped(ctx, DropReason::RstOutOfWindow);
                return Arrival::Done;
            } else {
                // "an acknowledgment should be sent in reply <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>"
                // (in TIME-WAIT this is the ACK that starts incident D).
                self.dropped(ctx, DropReason::OutOfWindow);
                if self.state == State::SynReceived && !ctx.policy.rst_on_bad_synrecv {
                    return Arrival::Done;
                }
                self.send_ack_now(ctx);
                return Arrival::Done;
            }
        }
        // The peer is alive: RFC 1122 §4.2.3.6 keepalive cycle restarts.
        self.last_recv = ctx.now;
        self.ka_probes = 0;

        // Second: check the RST bit.
        if f.rst() {
            if ctx.policy.rfc5961 && seg.seq != self.rcv_nxt {
                // RFC 5961 §3.2: in window but not exact: challenge ACK.
                self.rst_event(ctx, seg, RstAction::ChallengeAck);
                self.challenge_ack(ctx, ChallengeTrigger::Rst);
                return Arrival::Done;
            }
            self.rst_accepted(ctx, seg);
            return Arrival::Done;
        }

        // Fourth: check the SYN bit (third, security, is not modelled).
        if f.syn() {
            if self.state == State::SynReceived && self.passive {
                // "If the connection was initiated with a passive OPEN, then return this
                // connection to the LISTEN state and return." (The listener is still there;
                // this embryonic connection is deleted.)
                self.dropped(ctx, DropReason::Unexpected);
                self.set_state(ctx, State::Closed, Cause::SynInWindow);
                return Arrival::Done;
            }
            // FreeBSD insecure_syn=1: an in-window SYN resets as in RFC 793; others are
            // challenged.
            let insecure = ctx.policy.insecure_syn && self.seq_acceptable(ctx.policy, seg.seq, 1);
            if ctx.policy.rfc5961 && !insecure {
                // RFC 5961 §4.2: "send a 'challenge ACK'" whatever the sequence number.
                self.challenge_ack(ctx, ChallengeTrigger::Syn);
                return Arrival::Done;
            }
            // RFC 793: "If the SYN is in the window it is an error, send a reset, any
            // outstanding RECEIVEs and SEND should receive 'reset' responses ... enter CLOSED".
            if ctx.policy.abort_rst_ack {
                // FreeBSD tcp_input.c: `tcp_drop(tp, ECONNRESET)`, the ABORT form.
                self.send_abort_rst(ctx, RstReason::SynInWindow);
            } else {
                let seq = if f.ack() { seg.ack } else { self.snd_nxt };
                self.send_rst(ctx, seq, None, RstReason::SynInWindow);
            }
            if self.state == State::TimeWait {
                self.end_time_wait(ctx, TimeWaitCause::SynInWindow, Cause::SynInWindow);
            } else {
                self.drop_connection(
                    ctx,
                    DropCause::Reset,
                    Some(SocketError::ConnectionReset),
                    Cause::SynInWindow,
                );
            }
            return Arrival::Done;
        }

        // Fifth: check the ACK field. "if the ACK bit is off, drop the segment and return".
        if !f.ack() {
            self.dropped(ctx, DropReason::NoAck);
            return Arrival::Done;
        }
        if self.state == State::SynReceived {
            // "If SND.UNA < SEG.ACK =< SND.NXT, then enter ESTABLISHED state and continue
            // processing ... If the segment acknowledgment is not acceptable, form a reset segment
            // <SEQ=SEG.ACK><CTL=RST>".
            if self.snd_una.lt(seg.ack) && seg.ack.le(self.snd_nxt) {
                // The send window is taken by the update below (SND.WL1 is the SYN's sequence
                // number, so this segment always passes its test).
                self.set_state(ctx, State::Established, Cause::AckOfSyn);
                if self.fin_queued {
                    // CLOSE was called in SYN-RECEIVED: the FIN goes out now (RFC 9293 §3.10.4).
                    self.set_state(ctx, State::FinWait1, Cause::UserClose);
                }
            } else {
                self.dropped(ctx, DropReason::AckTooNew);
                if ctx.policy.rst_on_bad_synrecv {
                    self.send_rst(ctx, seg.ack, None, RstReason::BadAckInSynReceived);
                }
                return Arrival::Done;
            }
        }
        if ctx.policy.rfc5961 {
            // RFC 5961 §5.2: acceptable iff (SND.UNA - MAX.SND.WND) =< SEG.ACK =< SND.NXT;
            // otherwise challenge ACK and drop.
            let lo = self.snd_una - self.max_snd_wnd.max(1);
            if seg.ack.lt(lo) || seg.ack.gt(self.snd_nxt) {
                self.dropped(
                    ctx,
                    if seg.ack.lt(lo) {
                        DropReason::AckTooOld
                    } else {
                        DropReason::AckTooNew
                    },
                );
                self.challenge_ack(ctx, ChallengeTrigger::Ack);
                return Arrival::Done;
            }
        }
        // ESTABLISHED ACK processing (shared by the later states).
        if seg.ack.gt(self.snd_nxt) {
            // "If the ACK acks something not yet sent (SEG.ACK > SND.NXT), then send an ACK, drop
            // the segment, and return."
            self.dropped(ctx, DropReason::AckTooNew);
            self.send_ack_now(ctx);
            return Arrival::Done;
        }
        if self.snd_una.lt(seg.ack) {
            self.ack_advances(ctx, seg.ack);
        }
        // "If SND.UNA =< SEG.ACK =< SND.NXT, the send window should be updated. If
        // (SND.WL1 < SEG.SEQ or (SND.WL1 = SEG.SEQ and SND.WL2 =< SEG.ACK))".
        if self.snd_una.le(seg.ack)
            && (self.snd_wl1.lt(seg.seq) || (self.snd_wl1 == seg.seq && self.snd_wl2.le(seg.ack)))
        {
            let old = self.snd_wnd;
            self.snd_wnd = u32::from(seg.window) << self.snd_scale;
            self.max_snd_wnd = self.max_snd_wnd.max(self.snd_wnd);
            self.snd_wl1 = seg.seq;
            self.snd_wl2 = seg.ack;
            if old == 0 && self.snd_wnd > 0 {
                // Window reopened: resume from the oldest unacknowledged byte.
                self.snd_cur = self.snd_una;
            }
        }
        match self.state {
            State::FinWait1 if self.our_fin_acked() => {
                // "if the FIN segment is now acknowledged, then enter FIN-WAIT-2".
                self.set_state(ctx, State::FinWait2, Cause::AckOfFin);
            }
            State::Closing => {
                // "if the ACK acknowledges our FIN, then enter the TIME-WAIT state".
                if self.our_fin_acked() {
                    self.set_state(ctx, State::TimeWait, Cause::AckOfFin);
                }
                return Arrival::Done;
            }
            State::LastAck => {
                // "If our FIN is now acknowledged, delete the TCB, enter the CLOSED state".
                if self.our_fin_acked() {
                    self.set_state(ctx, State::Closed, Cause::AckOfFin);
                }
                return Arrival::Done;
            }
            _ => {}
        }
        if zero_window_allowance {
            return Arrival::Done;
        }
        // Sixth (URG) is parsed by `wire` and ignored here. Seventh and eighth: text and FIN.
        self.text_and_fin(ctx, seg.seq, &seg.payload, f.fin());
        Arrival::Done
    }

    /// TIME-WAIT as FreeBSD `tcp_twcheck` (tcp_timewait.c) handles it, in its order.
    fn arrive_time_wait_bsd(&mut self, ctx: &mut Ctx<'_>, seg: &TcpRepr) -> Arrival {
        let f = seg.flags;
        // "If the segment contains RST: Drop the segment - see Stevens, vol. 2, p. 964 and
        // RFC 1337."
        if f.rst() {
            self.rst_event(ctx, seg, RstAction::Ignored);
            self.dropped(ctx, DropReason::RstInTimeWait);
            return Arrival::Done;
        }
        // "If a new connection request is received while in TIME_WAIT, drop the old
        // connection and start over if the sequence numbers are above the previous ones."
        if let Some(reopen) = self.syn_reopens_time_wait(ctx, seg) {
            return reopen;
        }
        // "Drop the segment if it does not contain an ACK."
        if !f.ack() {
            self.dropped(ctx, DropReason::NoAck);
            return Arrival::Done;
        }
        // "Reset the 2MSL timer if this is a duplicate FIN."
        if f.fin() && seg.seq + seg.seg_len() == self.rcv_nxt {
            self.start_time_wait(ctx.now, ctx.policy);
        }
        // "Acknowledge the segment if it has data or is not a duplicate ACK."
        if f != crate::wire::TcpFlags::ACK
            || !seg.payload.is_empty()
            || seg.seq != self.rcv_nxt
            || seg.ack != self.snd_nxt
        {
            self.send_ack_now(ctx);
        } else {
            self.dropped(ctx, DropReason::Unexpected);
        }
        Arrival::Done
    }

    /// RFC 9293 §3.10.7.4 second check, an acceptable RST, per state.
    fn rst_accepted(&mut self, ctx: &mut Ctx<'_>, seg: &TcpRepr) {
        match self.state {
            State::TimeWait => match ctx.policy.time_wait_rst {
                TimeWaitRst::Close => {
                    self.rst_event(ctx, seg, RstAction::Accepted);
                    self.end_time_wait(ctx, TimeWaitCause::RstReceived, Cause::RstReceived);
                }
                TimeWaitRst::Ignore => {
                    // RFC 1337 §3 F1: "Ignore RST segments in TIME-WAIT state."
                    self.rst_event(ctx, seg, RstAction::Ignored);
                    self.dropped(ctx, DropReason::RstInTimeWait);
                }
            },
            State::SynReceived => {
                self.rst_event(ctx, seg, RstAction::Accepted);
                if self.passive {
                    // "return this connection to the LISTEN state" (the listener persists).
                    self.set_state(ctx, State::Closed, Cause::RstReceived);
                } else {
                    // "If this connection was initiated with an active OPEN ... connection
                    // refused".
                    self.drop_connection(
                        ctx,
                        DropCause::Reset,
                        Some(SocketError::ConnectionRefused),
                        Cause::RstReceived,
                    );
                }
            }
            State::Established | State::FinWait1 | State::FinWait2 | State::CloseWait => {
                self.rst_event(ctx, seg, RstAction::Accepted);
                self.drop_connection(
                    ctx,
                    DropCause::Reset,
                    Some(SocketError::ConnectionReset),
                    Cause::RstReceived,
                );
            }
            _ => {
                // CLOSING, LAST-ACK: "enter the CLOSED state, delete the TCB, and return"
                // (reported as a reset with `rst_error_after_fin`, as FreeBSD and Linux do).
                self.rst_event(ctx, seg, RstAction::Accepted);
                let error = ctx
                    .policy
                    .rst_error_after_fin
                    .then_some(SocketError::ConnectionReset);
                self.drop_connection(ctx, DropCause::Reset, error, Cause::RstReceived);
            }
        }
    }

    /// A SYN without ACK whose sequence number is above the old RCV.NXT reopens a connection in
    /// TIME-WAIT when the profile accepts it (RFC 9293 §3.10.7.4 / RFC 1122 §4.2.2.13 "if a new
    /// connection request is received while in TIME_WAIT, drop the old connection and start over
    /// if the sequence numbers are above the previous ones"; RFC 6191): ends TIME-WAIT and returns
    /// the arrival that reopens it.
    fn syn_reopens_time_wait(&mut self, ctx: &mut Ctx<'_>, seg: &TcpRepr) -> Option<Arrival> {
        let f = seg.flags;
        if f.syn()
            && !f.ack()
            && ctx.policy.syn_in_time_wait == SynInTimeWait::Accept
            && seg.seq.gt(self.rcv_nxt)
        {
            let old_snd_nxt = self.snd_nxt;
            self.end_time_wait(ctx, TimeWaitCause::SynReuse, Cause::SynReuse);
            return Some(Arrival::Reopen { old_snd_nxt });
        }
        None
    }

    /// Leave TIME-WAIT before 2·MSL, saying why (what oracles call an assassination).
    fn end_time_wait(&mut self, ctx: &mut Ctx<'_>, cause: TimeWaitCause, state_cause: Cause) {
        ctx.emit(TcpEvent::TimeWaitEnded {
            conn: self.tuple,
            after: ctx.now.saturating_since(self.tw_start),
            early: true,
            cause,
        });
        self.set_state(ctx, State::Closed, state_cause);
    }

    /// SND.UNA advances to `ack`; both callers have checked SND.UNA < ack =< SND.NXT.
    fn ack_advances(&mut self, ctx: &mut Ctx<'_>, ack: SeqNumber) {
        debug_assert!(self.snd_una.lt(ack) && ack.le(self.snd_nxt));
        // RFC 5681 §3.1: slow start, "cwnd += min (N, SMSS)" (eq. 2) while cwnd < ssthresh;
        // congestion avoidance, "cwnd += SMSS*SMSS/cwnd" (eq. 3) once per ACK otherwise.
        let newly = ack.diff(self.snd_una).max(0) as u32;
        let smss = self.snd_mss as u32;
        if self.cwnd < self.ssthresh {
            self.cwnd = self.cwnd.saturating_add(newly.min(smss));
        } else {
            let inc = (u64::from(smss) * u64::from(smss) / u64::from(self.cwnd.max(1))).max(1);
            self.cwnd = self.cwnd.saturating_add(inc as u32);
        }
        let acked_data = (ack.diff(self.tx_seq).max(0) as usize).min(self.tx().len());
        if let Some(b) = &mut self.bufs {
            b.tx.drain(..acked_data);
            super::tcb::release_if_empty(&mut b.tx);
        }
        self.release_bufs();
        self.tx_seq = self.tx_seq + acked_data;
        self.snd_una = ack;
        if self.snd_cur.lt(ack) {
            self.snd_cur = ack;
        }
        // RFC 7323 §4.1 RTTM when timestamps are on; otherwise RFC 6298 §2 with Karn's
        // algorithm: only segments never retransmitted are timed.
        if let Some(r) = self.rttm_sample() {
            self.rtt_sample(r, ctx.policy);
            self.set_rare(|r| r.rtt_probe = None);
        } else if let Some((end, sent)) = self.rare().rtt_probe {
            if end.le(ack) {
                self.rtt_sample(ctx.now.saturating_since(sent), ctx.policy);
                self.set_rare(|r| r.rtt_probe = None);
            }
        }
        self.retries = 0;
        // RFC 6298 §5.2/§5.3: stop the timer when all data is acked, else restart it.
        if self.snd_una == self.snd_nxt {
            self.rtx_at = None;
            self.set_rare(|r| r.ut_since = None);
        } else {
            self.rtx_at = Some(ctx.now + self.rto);
            let now = ctx.now;
            self.set_rare(|r| r.ut_since = Some(now));
        }
    }

    /// Seventh and eighth steps: segment text and FIN, for a segment whose text starts at `seq`.
    fn text_and_fin(
        &mut self,
        ctx: &mut Ctx<'_>,
        seq: crate::wire::SeqNumber,
        payload: &[u8],
        fin: bool,
    ) {
        let ahead = seq.diff(self.rcv_nxt);
        let new_data = i64::from(ahead) + payload.len() as i64 > 0;
        if self.user_closed
            && !payload.is_empty()
            && new_data
            && matches!(self.state, State::FinWait1 | State::FinWait2)
        {
            // RFC 9293 §3.6.1: "if new data is received after CLOSE is called, its TCP
            // implementation SHOULD send a RST to show that data was lost (SHLD-3)" (RFC 1122
            // §4.2.2.13). Nobody can read it: reset `<SEQ=SND.NXT><CTL=RST>` and close. The
            // reset answers the segment (SND.NXT = its ACK here), so it carries no ACK even
            // where an ABORT's does: Linux returns from tcp_rcv_state_process into
            // tcp_v4_send_reset (`seq = th->ack_seq`, no ACK), FreeBSD goes to `dropwithreset`
            // (tcp_respond with `th_ack` as the sequence number).
            self.send_rst(ctx, self.snd_nxt, None, RstReason::DataAfterClose);
            self.drop_connection(ctx, DropCause::DataLost, None, Cause::ResetSent);
            return;
        }
        let accepting = matches!(
            self.state,
            State::Established | State::FinWait1 | State::FinWait2
        );
        if ahead > 0 {
            // RFC 9293 §3.10.7.4: "Segments with higher beginning sequence numbers SHOULD be
            // held for later processing (SHLD-31)", within the window only. RFC 5681 §4.2 (via
            // §3.8.6.3): "A TCP receiver SHOULD send an immediate duplicate ACK when an
            // out-of-order segment arrives."
            if !payload.is_empty() || fin {
                if accepting {
                    let limit = self.rcv_wnd() as usize;
                    let fin_at = fin.then(|| seq + payload.len());
                    self.bufs_mut()
                        .ooo
                        .insert(ahead as usize, payload, limit, fin_at);
                    self.release_bufs();
                    if !payload.is_empty() {
                        self.set_rare(|r| r.last_ooo = Some(seq));
                    }
                } else {
                    self.dropped(ctx, DropReason::OutOfOrder);
                }
                self.ack_now = true;
            }
            return;
        }
        let skip = (-ahead) as usize;
        let mut fin_in_order = fin && skip <= payload.len();
        let filling_gap = !self.ooo().is_empty() && skip < payload.len();
        if skip < payload.len() {
            let fresh = &payload[skip..];
            if accepting {
                let room = self.opts.rcv_buf().saturating_sub(self.rx().len());
                let take = fresh.len().min(room);
                if take > 0 {
                    let b = self.bufs_mut();
                    b.rx.extend(&fresh[..take]);
                    b.ooo.advance(take);
                }
                self.rcv_nxt = self.rcv_nxt + take;
                if take < fresh.len() {
                    self.dropped(ctx, DropReason::NoBufferSpace);
                    fin_in_order = false;
                    self.ack_now = true;
                }
                self.schedule_ack(ctx, take);
            } else {
                fin_in_order = false;
            }
        } else if !payload.is_empty() {
            // Entirely old data: acknowledge so the peer stops resending it.
            self.ack_now = true;
        }
        if accepting && filling_gap {
            // Held segments that are now in order (SHLD-31), and RFC 5681 §4.2: "an ACK
            // SHOULD be generated immediately" for a segment that fills all or part of a gap.
            let room = self.opts.rcv_buf().saturating_sub(self.rx().len());
            let b = self.bufs_mut();
            let ready = b.ooo.pop_ready(room);
            b.rx.extend(&ready);
            self.rcv_nxt = self.rcv_nxt + ready.len();
            let rcv_nxt = self.rcv_nxt;
            if !fin_in_order && self.bufs_mut().ooo.take_fin_at(rcv_nxt) {
                fin_in_order = true;
            }
            self.release_bufs();
            self.ack_now = true;
        }
        if fin_in_order && !self.fin_received_here() {
            self.receive_fin(ctx);
        }
    }

    /// Linux quick-ACK mode (tcp_input.c `tcp_event_data_recv`, `tcp_incr_quickack`): the first
    /// data segment, or one after an idle gap longer than the RTO, refills the quick ACKs to
    /// min(TCP_MAX_QUICKACKS, max(2, RCV.WND / (2 * rcv_mss))); while some are left and the
    /// connection is not interactive, every data segment is ACKed at once (`__tcp_ack_snd_check`
    /// `tcp_in_quickack_mode`).
    fn quick_ack(&mut self, ctx: &mut Ctx<'_>, seg_len: usize) -> bool {
        let max = ctx.policy.quickack;
        if max == 0 {
            return false;
        }
        let refill = self
            .last_data_in
            .is_none_or(|t| ctx.now.saturating_since(t) > self.rto);
        if refill {
            // tcp_measure_rcv_mss: the segment's size, at least TCP_MSS_DEFAULT 536 and at most
            // our MSS.
            let rcv_mss = seg_len.clamp(536, usize::from(ctx.policy.mss).max(536));
            let fit = (self.rcv_wnd() as usize / (2 * rcv_mss)).max(2);
            self.quick_acks = self.quick_acks.max(fit.min(max as usize) as u32);
        }
        self.last_data_in = Some(ctx.now);
        self.quick_acks > 0 && !self.pingpong
    }

    fn fin_received_here(&self) -> bool {
        matches!(
            self.state,
            State::CloseWait | State::Closing | State::LastAck | State::TimeWait
        )
    }

    /// Eighth step: "advance RCV.NXT over the FIN, and send an acknowledgment for the FIN".
    fn receive_fin(&mut self, ctx: &mut Ctx<'_>) {
        self.rcv_nxt = self.rcv_nxt + 1u32;
        // The FIN occupies sequence space but no buffer: the right window edge moves with it
        // (moving it right is always allowed; RFC 9293 §3.8.6.2.2 only keeps it from creeping).
        if let Some(edge) = self.rcv_edge {
            self.rcv_edge = Some(edge + 1u32);
        }
        self.fin_received = true;
        self.ack_now = true;
        match self.state {
            State::SynReceived | State::Established => {
                self.set_state(ctx, State::CloseWait, Cause::FinReceived)
            }
            State::FinWait1 => {
                // "If our FIN has been ACKed ... enter TIME-WAIT ... otherwise, enter CLOSING".
                if self.our_fin_acked() {
                    self.set_state(ctx, State::TimeWait, Cause::FinReceived);
                } else {
                    self.set_state(ctx, State::Closing, Cause::FinReceived);
                }
            }
            State::FinWait2 => self.set_state(ctx, State::TimeWait, Cause::FinReceived),
            _ => {}
        }
    }

    /// RFC 1122 §4.2.3.2 delayed ACK: at least every second full segment, and within the
    /// delayed-ACK timeout; with `quickack`, Linux's quick-ACK mode first.
    fn schedule_ack(&mut self, ctx: &mut Ctx<'_>, seg_len: usize) {
        if self.quick_ack(ctx, seg_len) {
            self.ack_now = true;
            return;
        }
        match ctx.policy.delayed_ack {
            None => self.ack_now = true,
            Some(d) => {
                self.unacked_segs += 1;
                if self.unacked_segs >= 2 {
                    self.ack_now = true;
                } else if self.delack_at.is_none() {
                    self.delack_at = Some(ctx.now + d);
                }
            }
        }
    }
}
