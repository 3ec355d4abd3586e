//! TCP options beyond MSS: the SYN option layout of each profile, RFC 7323 timestamps (TS
//! option, PAWS, RTTM), RFC 2018 SACK (negotiation and the blocks our ACKs carry), and
//! FreeBSD's rounding of socket buffers to the MSS.

use super::event::DropReason;
use super::reassembly::Reassembly;
use super::tcb::{Ctx, Tcb, MAX_WSCALE, MIN_MSS};
use crate::policy::{SynLayout, TcpPolicy};
use crate::time::{Duration, Instant};
use crate::wire::{SeqNumber, TcpOption, TcpRepr};

/// RFC 7323 §4.2 / §7.1: bytes the timestamps option takes on every segment (with its two
/// NOPs); the data per segment shrinks by this much once timestamps are on.
pub(crate) const TS_OPTION_LEN: usize = 12;

/// Our timestamp clock: milliseconds on the caller's clock (RFC 7323 §5.4: between 1 ms and
/// 1 s per tick; Linux and FreeBSD tick in milliseconds).
pub(crate) fn ts_clock(now: Instant) -> u32 {
    (now.total_micros() / 1_000) as u32
}

/// RFC 7323 §5.2: TSval `a` is older than `b` in 32-bit modular arithmetic.
fn ts_before(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

/// RFC 2018 §3: a SACK option holds at most four blocks (three beside a timestamp).
const MAX_SACK_BLOCKS: usize = 4;

impl Tcb {
    /// Options for our SYN / SYN-ACK: MSS always (RFC 9293 §3.7.1 SHOULD), window scale per
    /// RFC 7323 §2.2 and SACK-permitted per RFC 2018 §2 (on a SYN-ACK only when the peer's SYN
    /// carried them), in the order and padding of `policy.syn_layout`.
    pub fn syn_options(&self, policy: &TcpPolicy, syn_ack: bool) -> Vec<TcpOption> {
        let ws = policy
            .window_scale
            .filter(|_| !syn_ack || self.ws_active)
            .map(|s| s.min(MAX_WSCALE));
        // RFC 2018 §2: "Sack-Permitted ... MUST NOT be sent on non-SYN segments"; a SYN-ACK
        // carries it only if the SYN did.
        let sack = policy.sack && (!syn_ack || self.sack_ok);
        // RFC 7323 §3.2: a SYN may carry TS (TSecr 0); a SYN-ACK only if the SYN did, echoing it.
        let ts = (policy.timestamps && (!syn_ack || self.ts_ok)).then_some(TcpOption::Timestamps {
            tsval: self.ts_now,
            tsecr: if syn_ack { self.ts_recent } else { 0 },
        });
        let mss = TcpOption::MaxSegmentSize(policy.mss);
        let mut o = vec![mss];
        match policy.syn_layout {
            SynLayout::Plain => {
                if let Some(s) = ws {
                    o.extend([TcpOption::NoOp, TcpOption::WindowScale(s)]);
                }
                if sack {
                    o.extend([TcpOption::NoOp, TcpOption::NoOp, TcpOption::SackPermitted]);
                }
                if let Some(t) = ts {
                    o.extend([TcpOption::NoOp, TcpOption::NoOp, t]);
                }
            }
            SynLayout::Linux => {
                // tcp_output.c tcp_options_write: SACK-permitted shares the timestamps' word
                // (`sackOK, TS`), alone it is `nop, nop, sackOK`, TS alone `nop, nop, TS`;
                // window scale is `nop, wscale` last.
                match (sack, ts) {
                    (true, Some(t)) => o.extend([TcpOption::SackPermitted, t]),
                    (false, Some(t)) => o.extend([TcpOption::NoOp, TcpOption::NoOp, t]),
                    (true, None) => {
                        o.extend([TcpOption::NoOp, TcpOption::NoOp, TcpOption::SackPermitted])
                    }
                    (false, None) => {}
                }
                if let Some(s) = ws {
                    o.extend([TcpOption::NoOp, TcpOption::WindowScale(s)]);
                }
            }
            SynLayout::FreeBsd => {
                // tcp_output.c tcp_addoptions: NOPs so that wscale starts at an odd offset,
                // sackOK at an even one and TS 2 bytes past a multiple of 4. After the 4-byte
                // MSS that is `nop, wscale` (to offset 8), sackOK as it comes (+2), and two NOPs
                // before TS unless sackOK already left it 2 past the boundary.
                if let Some(s) = ws {
                    o.extend([TcpOption::NoOp, TcpOption::WindowScale(s)]);
                }
                if sack {
                    o.push(TcpOption::SackPermitted);
                }
                if let Some(t) = ts {
                    if !sack {
                        o.extend([TcpOption::NoOp, TcpOption::NoOp]);
                    }
                    o.push(t);
                }
                // The EOL bytes that pad the list to a multiple of 4 are the zero padding
                // `TcpRepr::emit` writes, so they are left implicit: the segment stays in the
                // canonical form parsing gives back (`wire::tcp::parse_options`).
            }
        }
        o
    }

    /// What the peer's SYN (or SYN-ACK) says beyond MSS and window scale: SACK is used when
    /// both sides offered it (RFC 2018 §2); with `buf_round_to_mss` the socket buffers grow to a
    /// multiple of the MSS (FreeBSD `tcp_mss()`).
    pub(crate) fn take_syn_extras(&mut self, policy: &TcpPolicy, seg: &TcpRepr) {
        self.sack_ok = policy.sack && seg.sack_permitted();
        // RFC 7323 §3.2: timestamps are on when both SYNs carried them (we offer whenever the
        // policy says so, and answer only a SYN that did).
        match seg.timestamps().filter(|_| policy.timestamps) {
            Some((tsval, _)) => {
                self.ts_ok = true;
                self.ts_recent = tsval;
                self.snd_mss = self.snd_mss.saturating_sub(TS_OPTION_LEN).max(MIN_MSS);
            }
            None => self.ts_ok = false,
        }
        if policy.buf_round_to_mss {
            let mss = self.snd_mss.max(1);
            let round = |n: usize| super::socket::to_u32(n.div_ceil(mss).saturating_mul(mss));
            self.opts.rcv_buf = round(self.opts.rcv_buf());
            self.opts.snd_buf = round(self.opts.snd_buf());
        }
    }

    /// Options on a segment other than a SYN: RFC 2018 §4 SACK blocks while out-of-order data is
    /// held ("the receiver SHOULD send an ACK for every valid segment that arrives containing new
    /// data, and each of these ACKs SHOULD include a SACK option").
    /// RFC 7323 §3.2: "Once TSopt has been successfully negotiated ... the TSopt MUST be sent
    /// in every non-<RST> segment", as `nop, nop, TS` (Appendix A layout) before any SACK.
    pub(crate) fn segment_options(&self) -> Vec<TcpOption> {
        let mut o = Vec::new();
        if self.ts_ok {
            o.extend([
                TcpOption::NoOp,
                TcpOption::NoOp,
                TcpOption::Timestamps {
                    tsval: self.ts_now,
                    tsecr: self.ts_recent,
                },
            ]);
        }
        if self.sack_ok {
            let mut blocks = sack_blocks(self.ooo(), self.rcv_nxt, self.rare().last_ooo);
            // RFC 2018 §3: three blocks fit beside a timestamp.
            blocks.truncate(if self.ts_ok { 3 } else { MAX_SACK_BLOCKS });
            if !blocks.is_empty() {
                o.extend([
                    TcpOption::NoOp,
                    TcpOption::NoOp,
                    TcpOption::SackRange(blocks),
                ]);
            }
        }
        o
    }

    /// Advance our timestamp clock to `now` (every input does, so TSval is current).
    pub(crate) fn tick(&mut self, now: Instant) {
        self.ts_now = ts_clock(now);
    }

    /// RFC 7323 §5.3 PAWS and §4.3 TS.Recent, for a segment in a synchronized state. `false`:
    /// the segment is an old duplicate and was dropped (an ACK is sent unless it is an RST: "If
    /// ... SEG.TSval < TS.Recent ... then treat the arriving segment as not acceptable: Send an
    /// acknowledgment in reply as specified in [RFC 793] ... and drop the segment").
    pub(crate) fn paws_accepts(&mut self, ctx: &mut Ctx<'_>, seg: &TcpRepr) -> bool {
        self.ts_ecr_in = None;
        if !self.ts_ok {
            return true;
        }
        let Some((tsval, tsecr)) = seg.timestamps() else {
            // RFC 7323 §3.2: a non-RST segment without TSopt after negotiation SHOULD be
            // dropped; stacks accept it (Linux, FreeBSD), and so do we.
            return true;
        };
        if !seg.flags.rst() && ts_before(tsval, self.ts_recent) {
            self.dropped(ctx, DropReason::Paws);
            self.send_ack_now(ctx);
            return false;
        }
        // §4.3 (2): "If SEG.TSval >= TS.Recent and SEG.SEQ <= Last.ACK.sent then SEG.TSval is
        // copied to TS.Recent"; Last.ACK.sent is RCV.NXT as of our latest ACK.
        if !ts_before(tsval, self.ts_recent) && seg.seq.le(self.rcv_nxt) {
            self.ts_recent = tsval;
        }
        if seg.flags.ack() {
            self.ts_ecr_in = Some(tsecr);
        }
        true
    }

    /// RFC 7323 §4.1 RTTM: an ACK that advances SND.UNA gives an RTT sample from its TSecr
    /// (`None` when timestamps are off or TSecr is 0, then Karn's timed segment is used;
    /// `paws_accepts` records a TSecr only while timestamps are on).
    pub(crate) fn rttm_sample(&mut self) -> Option<Duration> {
        let ecr = self.ts_ecr_in.take().filter(|e| *e != 0)?;
        Some(Duration::from_millis(u64::from(
            self.ts_now.wrapping_sub(ecr),
        )))
    }
}

/// The SACK blocks for what `ooo` holds above `rcv_nxt`: RFC 2018 §4 "The first SACK block
/// (i.e., the one immediately following the kind and length fields in the option) MUST specify
/// the contiguous block of data containing the segment which triggered this ACK"; the others
/// follow from the highest down, at most [`MAX_SACK_BLOCKS`].
pub(crate) fn sack_blocks(
    ooo: &Reassembly,
    rcv_nxt: SeqNumber,
    latest: Option<SeqNumber>,
) -> Vec<(u32, u32)> {
    let mut runs: Vec<(u32, u32)> = ooo
        .runs()
        .into_iter()
        .map(|(a, b)| ((rcv_nxt + a).0, (rcv_nxt + b).0))
        .collect();
    runs.reverse();
    if let Some(l) = latest {
        if let Some(i) = runs
            .iter()
            .position(|(a, b)| l.in_range(SeqNumber(*a), SeqNumber(*b)))
        {
            let first = runs.remove(i);
            runs.insert(0, first);
        }
    }
    runs.truncate(MAX_SACK_BLOCKS);
    runs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(parts: &[(usize, usize)]) -> Reassembly {
        let mut r = Reassembly::default();
        for &(off, len) in parts {
            r.insert(off, &vec![0; len], 1 << 20, None);
        }
        r
    }

    #[test]
    fn rfc2018_first_block_holds_the_latest_segment() {
        let r = held(&[(100, 10), (200, 10), (300, 10)]);
        let base = SeqNumber(1000);
        assert_eq!(
            sack_blocks(&r, base, Some(SeqNumber(1205))),
            vec![(1200, 1210), (1300, 1310), (1100, 1110)]
        );
        assert_eq!(
            sack_blocks(&r, base, None),
            vec![(1300, 1310), (1200, 1210), (1100, 1110)]
        );
    }

    #[test]
    fn rfc2018_at_most_four_blocks_and_none_without_holes() {
        let r = held(&[(10, 1), (20, 1), (30, 1), (40, 1), (50, 1)]);
        assert_eq!(sack_blocks(&r, SeqNumber(0), None).len(), 4);
        assert!(sack_blocks(&Reassembly::default(), SeqNumber(0), None).is_empty());
    }
}
