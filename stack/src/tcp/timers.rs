//! Timers: retransmission (RFC 6298, R2 of RFC 1122 §4.2.3.5), persist (RFC 9293 §3.8.6.1),
//! delayed ACK (RFC 1122 §4.2.3.2), TIME-WAIT (2·MSL), keepalive (RFC 1122 §4.2.3.6) and the
//! user timeout (RFC 5482). Deadlines are derived from the TCB so `poll_at` is exact.

use super::event::{Cause, DropCause, RstReason, TcpEvent, TimeWaitCause};
use super::socket::SocketError;
use super::tcb::{Ctx, Tcb};
use super::State;
use crate::policy::ZeroWindowProbe;
use crate::time::Instant;
use crate::wire::TcpFlags;

impl Tcb {
    /// Keepalive deadline: RFC 1122 §4.2.3.6 probes only an idle connection ("no data or
    /// acknowledgement packets have been received ... within an interval"). The k-th probe goes
    /// out at last_recv + idle + (k−1)·intvl and the connection drops at
    /// last_recv + idle + probes·intvl, exactly. (In these states nothing but data is ever in
    /// flight, our FIN being unsent or acknowledged, so data not yet acknowledged covers every
    /// segment outstanding as well as data waiting to go.)
    pub fn keepalive_deadline(&self) -> Option<Instant> {
        if !self.opts.keepalive
            || !matches!(
                self.state,
                State::Established | State::CloseWait | State::FinWait2
            )
            || self.unacked_data() > 0
        {
            return None;
        }
        Some(
            self.last_recv + self.opts.keep_idle + self.opts.keep_intvl * u64::from(self.ka_probes),
        )
    }

    /// RFC 5482 user timeout: sent data unacknowledged for this long aborts the connection.
    /// (`ut_since` is kept only while something is outstanding or the persist timer runs:
    /// `update_timers`, which every input ends with, clears it otherwise.)
    pub fn user_timeout_deadline(&self) -> Option<Instant> {
        Some(self.rare().ut_since? + self.opts.user_timeout?)
    }

    /// The earliest deadline of this connection.
    pub fn next_deadline(&self) -> Option<Instant> {
        [
            self.rtx_at,
            self.rare().persist_at,
            self.delack_at,
            self.rare().tw_at,
            self.keepalive_deadline(),
            self.user_timeout_deadline(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Fire every timer due at `ctx.now`.
    pub fn on_timeout(&mut self, ctx: &mut Ctx<'_>) {
        self.tick(ctx.now);
        let now = ctx.now;
        if self.state == State::Closed {
            return;
        }
        if let Some(t) = self.rare().tw_at {
            if t <= now {
                ctx.emit(TcpEvent::TimeWaitEnded {
                    conn: self.tuple,
                    after: now.saturating_since(self.tw_start),
                    early: false,
                    cause: TimeWaitCause::Expired,
                });
                self.set_rare(|r| r.tw_at = None);
                self.set_state(ctx, State::Closed, Cause::TimeWaitTimeout);
                return;
            }
        }
        if self.user_timeout_deadline().is_some_and(|t| t <= now) {
            self.drop_connection(
                ctx,
                DropCause::UserTimeout,
                Some(SocketError::TimedOut),
                Cause::UserTimeout,
            );
            return;
        }
        // (An RTO that gives up leaves CLOSED with every timer cleared: what follows is a no-op.)
        if self.rtx_at.is_some_and(|t| t <= now) {
            self.on_retransmit_timeout(ctx);
        }
        if self.rare().persist_at.is_some_and(|t| t <= now) {
            self.on_persist_timeout(ctx);
        }
        if self.delack_at.is_some_and(|t| t <= now) {
            self.delack_at = None;
            self.ack_now = true;
            // Linux tcp_delack_timer_handler: "Delayed ACK missed: leave pingpong mode".
            self.pingpong = false;
        }
        if self.keepalive_deadline().is_some_and(|t| t <= now) {
            self.on_keepalive_timeout(ctx);
        }
        self.update_timers(now, ctx.policy);
    }

    /// RFC 6298 §5.4–§5.6: retransmit the earliest unacknowledged segment, back off, restart.
    fn on_retransmit_timeout(&mut self, ctx: &mut Ctx<'_>) {
        self.rtx_at = None;
        if self.snd_una == self.snd_nxt {
            return;
        }
        let limit = match self.state {
            State::SynSent | State::SynReceived => ctx.policy.syn_retries,
            _ => ctx.policy.max_retries,
        };
        if self.retries >= limit {
            // RFC 1122 §4.2.3.5: "when R2 is reached ... close the connection".
            self.drop_connection(
                ctx,
                DropCause::RetransmitTimeout,
                Some(SocketError::TimedOut),
                Cause::RetransmitTimeout,
            );
            return;
        }
        if self.state.is_synchronized() {
            // RFC 5681 §3.1: on a timeout for a segment not yet resent by the timer,
            // "ssthresh = max (FlightSize / 2, 2*SMSS)" (eq. 4); and "cwnd MUST be set to no
            // more than the loss window, LW, which equals 1 full-sized segment", so the
            // retransmission sends one segment.
            let smss = self.snd_mss as u32;
            if self.retries == 0 {
                let flight = self.snd_nxt.diff(self.snd_una).max(0) as u32;
                self.ssthresh = (flight / 2).max(2 * smss);
            }
            self.cwnd = smss;
        }
        self.retries += 1;
        self.rto = (self.rto * 2).min(ctx.policy.rto_max);
        self.snd_cur = self.snd_una;
        self.set_rare(|r| r.rtt_probe = None); // Karn
        ctx.emit(TcpEvent::Retransmit {
            conn: self.tuple,
            seq: self.snd_una,
            attempt: self.retries,
        });
        self.rtx_at = Some(ctx.now + self.rto);
    }

    /// RFC 9293 §3.8.6.1 / RFC 1122 §4.2.2.17: probe a zero window, backing off, indefinitely.
    fn on_persist_timeout(&mut self, ctx: &mut Ctx<'_>) {
        self.set_rare(|r| r.persist_n += 1);
        ctx.emit(TcpEvent::ZeroWindowProbe {
            conn: self.tuple,
            n: self.rare().persist_n,
        });
        // The byte at SND.UNA (FreeBSD forces out one byte of data), or none: Linux's
        // `<SEQ=SND.UNA-1><CTL=ACK>` (the persist timer runs only while data waits, so a
        // data-byte probe always has its byte).
        let byte = match ctx.policy.zero_window_probe {
            ZeroWindowProbe::DataByte => {
                let off = self.snd_una.diff(self.tx_seq).max(0) as usize;
                self.tx().get(off).copied()
            }
            ZeroWindowProbe::UnaMinusOne => None,
        };
        let seg = match byte {
            Some(b) => {
                let seg = self.segment(self.snd_una, TcpFlags::ACK, vec![b]);
                let end = self.snd_una + 1u32;
                if end.gt(self.snd_nxt) {
                    self.snd_nxt = end;
                }
                if end.gt(self.snd_cur) {
                    self.snd_cur = end;
                }
                seg
            }
            None => self.segment(self.snd_una - 1u32, TcpFlags::ACK, Vec::new()),
        };
        self.note_ack_sent();
        ctx.out.push_back(self.outgoing(seg));
        let at = ctx.now + self.persist_interval(ctx.policy);
        self.set_rare(|r| r.persist_at = Some(at));
    }

    /// RFC 1122 §4.2.3.6: send a probe `<SEQ=SND.NXT-1>` (optionally with one garbage octet),
    /// or drop the connection once `probes` went unanswered.
    fn on_keepalive_timeout(&mut self, ctx: &mut Ctx<'_>) {
        if self.ka_probes >= self.opts.keep_cnt {
            if ctx.policy.keepalive.rst_on_drop {
                self.send_abort_rst(ctx, RstReason::KeepaliveTimeout);
            }
            self.drop_connection(
                ctx,
                DropCause::KeepaliveTimeout,
                Some(SocketError::TimedOut),
                Cause::KeepaliveTimeout,
            );
            return;
        }
        self.ka_probes += 1;
        ctx.emit(TcpEvent::KeepaliveProbe {
            conn: self.tuple,
            n: self.ka_probes,
        });
        let payload = if ctx.policy.keepalive.probe_garbage_byte {
            vec![0]
        } else {
            Vec::new()
        };
        let seg = self.segment(self.snd_nxt - 1u32, TcpFlags::ACK, payload);
        ctx.out.push_back(self.outgoing(seg));
    }
}
