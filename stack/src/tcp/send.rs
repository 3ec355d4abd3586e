//! Output: SYN / SYN-ACK, data under the peer's window with Nagle (RFC 1122 §4.2.3.4), FIN,
//! and ACKs. The sender is limited by min(cwnd, peer window) (RFC 5681 slow start and congestion
//! avoidance; no fast retransmit). Retransmission is go-back-N from SND.UNA, one segment after
//! a timeout (cwnd = 1 SMSS), growing again by slow start.

use super::tcb::{Ctx, Tcb};
use super::State;
use crate::policy::TcpPolicy;
use crate::time::{Duration, Instant};
use crate::wire::{TcpFlags, TcpRepr};

/// RFC 6298 §2: clock granularity G.
const CLOCK_G: Duration = Duration::from_millis(1);

impl Tcb {
    /// The next segment this connection wants to send, if any.
    pub fn dispatch(&mut self, ctx: &mut Ctx<'_>) -> Option<TcpRepr> {
        self.tick(ctx.now);
        // CLOSED (a closed socket the user still holds; a TCB is LISTEN only while its SYN is
        // taken) falls to the last arm, which sends nothing there: no data in an unsynchronized
        // state, `ack_now` cleared on entering CLOSED, no window update before synchronizing.
        let seg = match self.state {
            State::SynSent => (self.snd_cur == self.iss).then(|| self.emit_syn(ctx, false)),
            State::SynReceived => {
                if self.snd_cur == self.iss {
                    Some(self.emit_syn(ctx, true))
                } else {
                    self.emit_ack(ctx.policy)
                }
            }
            _ => self.emit_data(ctx).or_else(|| self.emit_ack(ctx.policy)),
        };
        self.update_timers(ctx.now, ctx.policy);
        seg
    }

    fn emit_syn(&mut self, ctx: &mut Ctx<'_>, syn_ack: bool) -> TcpRepr {
        let mut flags = TcpFlags::SYN;
        if syn_ack {
            flags |= TcpFlags::ACK;
        }
        let mut seg = self.segment(self.iss, flags, Vec::new());
        seg.options = self.syn_options(ctx.policy, syn_ack);
        self.snd_cur = self.iss + 1u32;
        if self.snd_nxt == self.iss {
            self.snd_nxt = self.snd_cur;
            let probe = (self.snd_cur, ctx.now);
            self.set_rare(|r| r.rtt_probe = Some(probe));
        }
        if syn_ack {
            self.note_ack_sent();
        }
        if self.rtx_at.is_none() {
            self.rtx_at = Some(ctx.now + self.rto);
        }
        seg
    }

    fn emit_data(&mut self, ctx: &mut Ctx<'_>) -> Option<TcpRepr> {
        if !self.can_send_data() {
            return None;
        }
        let data_end = self.data_end();
        let avail = data_end.diff(self.snd_cur).max(0) as usize;
        // RFC 5681 §3.1 / RFC 9293 §3.8.2 (MUST-19): send no more than min(cwnd, rwnd) beyond
        // SND.UNA.
        let wnd_end = self.snd_una + self.snd_wnd.min(self.cwnd);
        let usable = wnd_end.diff(self.snd_cur).max(0) as usize;
        let len = avail.min(usable).min(self.snd_mss);
        let retransmitting = self.snd_cur.lt(self.snd_nxt);
        // FIN goes after the last byte and does not need window space.
        let send_fin = self.fin_queued && len == avail && self.snd_cur.le(data_end);
        if len == 0 && !send_fin {
            return None;
        }
        // RFC 1122 §4.2.3.4 Nagle: with unacknowledged data outstanding, hold a partial segment
        // until a full one can be sent or everything is acknowledged. (`len` is not 0 here
        // unless a FIN goes, which Nagle never holds.)
        if len < self.snd_mss
            && !send_fin
            && !retransmitting
            && !self.opts.nodelay
            && self.snd_una != self.snd_nxt
        {
            return None;
        }
        let off = self.snd_cur.diff(self.tx_seq).max(0) as usize;
        let mut payload = vec![0; len];
        super::tcb::copy_out(self.tx(), off, &mut payload);
        let mut flags = TcpFlags::ACK;
        if len > 0 && len == avail {
            flags |= TcpFlags::PSH;
        }
        if send_fin {
            flags |= TcpFlags::FIN;
        }
        if len > 0 {
            // Linux tcp_event_data_sent: a reply within the delayed-ACK timeout (ATO) of the
            // last data received makes the connection interactive (pingpong). Any segment with
            // data counts, a retransmission too (`__tcp_transmit_skb`: `skb->len !=
            // tcp_header_size`), a bare FIN does not. `last_data_in` is kept in quick-ACK mode
            // only (`Tcb::quick_ack`), the one reader of pingpong.
            if let (Some(t), Some(ato)) = (self.last_data_in, ctx.policy.delayed_ack) {
                if ctx.now.saturating_since(t) < ato {
                    self.pingpong = true;
                }
            }
        }
        let seg = self.segment(self.snd_cur, flags, payload);
        let was_idle = self.snd_una == self.snd_nxt;
        self.snd_cur = self.snd_cur + (len + usize::from(send_fin));
        if self.snd_cur.gt(self.snd_nxt) {
            self.snd_nxt = self.snd_cur;
            if !retransmitting && self.rare().rtt_probe.is_none() {
                let probe = (self.snd_cur, ctx.now);
                self.set_rare(|r| r.rtt_probe = Some(probe));
            }
        }
        if was_idle || self.rare().ut_since.is_none() {
            let now = ctx.now;
            self.set_rare(|r| r.ut_since = Some(now));
        }
        if self.rtx_at.is_none() {
            self.rtx_at = Some(ctx.now + self.rto);
        }
        self.note_ack_sent();
        Some(seg)
    }

    fn emit_ack(&mut self, policy: &TcpPolicy) -> Option<TcpRepr> {
        if !self.ack_now && !self.window_update_due() {
            return None;
        }
        let seg = self.ack_segment(policy);
        self.note_ack_sent();
        Some(seg)
    }

    /// RFC 9293 §3.8.6.2.2 receiver SWS avoidance: announce a window that grew by at least
    /// min(RCV.BUFF/2, MSS) since the last advertisement.
    fn window_update_due(&self) -> bool {
        if !self.state.is_synchronized() || self.fin_received || self.state == State::TimeWait {
            return false;
        }
        // The threshold is at least 1: a window that did not grow never qualifies.
        self.rcv_wnd().saturating_sub(self.rcv_adv) >= self.sws_threshold()
    }

    /// Re-derive timers after any change (RFC 6298 §5.1 start, §5.2 stop; RFC 9293 §3.8.6.1
    /// persist timer when the peer's window is zero and data waits).
    pub fn update_timers(&mut self, now: Instant, policy: &TcpPolicy) {
        if self.state == State::Closed {
            self.clear_timers();
            return;
        }
        if self.state == State::TimeWait {
            self.clear_timers();
            return;
        }
        let persist = self.can_send_data() && self.snd_wnd == 0 && self.unacked_data() > 0;
        if persist {
            self.rtx_at = None;
            if self.rare().persist_at.is_none() {
                let at = now + self.persist_interval(policy);
                self.set_rare(|r| r.persist_at = Some(at));
            }
        } else {
            self.set_rare(|r| {
                r.persist_at = None;
                r.persist_n = 0;
            });
            if self.snd_una == self.snd_nxt {
                self.rtx_at = None;
                self.set_rare(|r| r.ut_since = None);
            } else if self.rtx_at.is_none() {
                self.rtx_at = Some(now + self.rto);
            }
        }
    }

    pub(crate) fn persist_interval(&self, policy: &TcpPolicy) -> Duration {
        let shift = self.rare().persist_n.min(16);
        (self.rto * (1u64 << shift)).min(policy.rto_max)
    }

    /// RFC 6298 §2.2/§2.3 RTT estimation, RTO = SRTT + max(G, 4·RTTVAR) clamped to the knobs.
    pub(crate) fn rtt_sample(&mut self, r: Duration, policy: &TcpPolicy) {
        match self.srtt {
            None => {
                self.srtt = Some(r);
                self.rttvar = Duration::from_micros(r.total_micros() / 2);
            }
            Some(srtt) => {
                let diff = srtt.total_micros().abs_diff(r.total_micros());
                self.rttvar = Duration::from_micros((3 * self.rttvar.total_micros() + diff) / 4);
                self.srtt = Some(Duration::from_micros(
                    (7 * srtt.total_micros() + r.total_micros()) / 8,
                ));
            }
        }
        let srtt = self.srtt.unwrap_or(r);
        let rto = srtt + CLOCK_G.max(self.rttvar * 4);
        self.rto = rto.max(policy.rto_min).min(policy.rto_max);
    }
}
