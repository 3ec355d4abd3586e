//! `diff_smoltcp`: differential fuzzing of smoltcp against the reference stack. The same
//! arbitrary sequence of peer segments, clock advances and socket calls goes to both, each
//! behind the [`Dut`] trait; after every step the connection's state class is compared, and a
//! divergence that no listed rule ([`Listed`]) explains is a [`Divergence`] (a panic in the
//! entry point, which libFuzzer records).
//!
//! The reference runs the profile closest to smoltcp ([`reference_profile`]): RFC 793 RST
//! handling (any in-window RST resets, as smoltcp does), TIME-WAIT of 10 s (smoltcp's
//! `CLOSE_DELAY`, i.e. MSL 5 s), smoltcp's 10 ms ACK delay; smoltcp runs at the RFC 9293
//! baseline (nothing requested). Segment fields are chosen relative to each stack's own
//! sequence space (its ISS and highest SND.NXT seen on the wire), so both see "the same"
//! segment although their ISNs differ.

mod listed;
mod sent;

pub use listed::Listed;
use listed::{explain, tolerated, Inbound, Seen};
pub use sent::Sent;

use crate::dut::{Dut, Errno, SockId, StackConfig};
use crate::peer;
use crate::stacks;
use arbitrary::{Arbitrary, Unstructured};
use core::net::SocketAddrV4;
use stack::policy::Profile;
use stack::tcp::State;
use stack::wire::{
    build_tcp_frame, parse_frame, ChecksumMode, EthernetAddress, Frame, Ipv4Addr, Ipv4Repr,
    SeqNumber, TcpFlags, TcpRepr,
};
use stack::{Duration, Instant};

const STACK_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const PEER_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
const STACK_MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 1]);
const PEER_MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 2]);
const PORT: u16 = 8080;
const PEER_PORT: u16 = 40_000;
/// Most operations per input.
pub const MAX_OPS: usize = 48;
/// Both stacks' ACK delay ([`reference_profile`], [`smoltcp_profile`]): after this long without
/// a peer segment, each has sent the ACK it owes.
const ACK_SETTLE: Duration = Duration::from_millis(10);

/// One fuzz case.
#[derive(Arbitrary, Clone, Debug, PartialEq, Eq)]
pub struct DiffCase {
    /// Passive open (the peer connects) or active (the stacks connect).
    pub passive: bool,
    pub peer_iss: u32,
    pub ops: Vec<DiffOp>,
}

/// One step.
#[derive(Arbitrary, Clone, Debug, PartialEq, Eq)]
pub enum DiffOp {
    /// A segment from the peer. `seq_delta` is relative to the peer's next sequence number,
    /// `ack_delta` to each stack's highest SND.NXT seen on the wire.
    Segment {
        flags: u8,
        seq_delta: i16,
        ack_delta: i16,
        len: u8,
        window: u16,
    },
    /// Advance the clock by this many milliseconds (timers fire on both).
    Advance(u16),
    Send(u8),
    Recv,
    Close,
    Abort,
}

/// The state classes compared: finer distinctions differ for listed reasons (timing of
/// FIN-WAIT-1 → FIN-WAIT-2, and so on).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    Closed,
    Opening,
    Open,
    Closing,
    TimeWait,
}

fn class(s: Option<State>) -> Class {
    match s {
        None | Some(State::Closed) | Some(State::Listen) => Class::Closed,
        Some(State::SynSent | State::SynReceived) => Class::Opening,
        Some(State::Established | State::CloseWait) => Class::Open,
        Some(State::FinWait1 | State::FinWait2 | State::Closing | State::LastAck) => Class::Closing,
        Some(State::TimeWait) => Class::TimeWait,
    }
}

/// What differs between the two stacks after a step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mismatch {
    /// The segments each sent during the step (normalised, in order).
    Sent {
        reference: Vec<Sent>,
        smoltcp: Vec<Sent>,
    },
    /// The acknowledgment point (SEG.ACK − peer ISS, window zero) each last advertised, once
    /// both ACK delays have passed since the peer's last segment.
    Acked {
        reference: Option<(u32, bool)>,
        smoltcp: Option<(u32, bool)>,
    },
    /// The connection's state class.
    State { reference: Class, smoltcp: Class },
}

/// An unlisted divergence: the step (`None`: the opening handshake), its operation and what
/// differed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Divergence {
    pub step: Option<usize>,
    pub op: Option<DiffOp>,
    pub what: Mismatch,
}

impl core::fmt::Display for Divergence {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.step {
            Some(s) => write!(f, "step {s} ({:?}): ", self.op)?,
            None => write!(f, "opening handshake: ")?,
        }
        match &self.what {
            Mismatch::Sent { reference, smoltcp } => write!(
                f,
                "the reference sent {reference:?}, smoltcp sent {smoltcp:?}"
            ),
            Mismatch::Acked { reference, smoltcp } => write!(
                f,
                "settled ACK (ack, zero window): the reference {reference:?}, smoltcp {smoltcp:?}"
            ),
            Mismatch::State { reference, smoltcp } => {
                write!(f, "reference is {reference:?}, smoltcp is {smoltcp:?}")
            }
        }
    }
}

/// The reference profile closest to smoltcp's fixed behaviour.
pub fn reference_profile() -> Profile {
    let mut p = Profile::rfc793();
    for (k, v) in [
        ("tcp.msl", "5s"),
        ("tcp.delayed_ack", "10ms"),
        ("tcp.window_scale", "off"),
    ] {
        // The knob names and values are fixed and valid.
        let _ = p.set(k, v);
    }
    p
}

/// smoltcp's configuration: the RFC 9293 baseline with the knobs it honours set as in
/// [`reference_profile`] (its own 10 ms ACK delay).
pub fn smoltcp_profile() -> Profile {
    let mut p = Profile::rfc9293();
    let _ = p.set("tcp.delayed_ack", "10ms");
    p
}

/// One stack plus what the peer knows of it.
pub(crate) struct Side {
    pub(crate) dut: Box<dyn Dut>,
    auto_arp: bool,
    pub(crate) sock: Option<SockId>,
    listener: Option<SockId>,
    iss: Option<SeqNumber>,
    peer_iss: SeqNumber,
    /// The segments sent since the last step began, normalised.
    sent: Vec<Sent>,
    /// The stack has sent some data or FIN again (a retransmission).
    pub(crate) resent: bool,
    /// The stack asked for the peer's address (ARP) during this step.
    pub(crate) resolving: bool,
    /// The last acknowledgment advertised (relative ACK, window zero), any segment.
    ack_point: Option<(u32, bool)>,
    snd_nxt: SeqNumber,
    /// The highest ACK the peer has sent within what the stack had sent (SND.UNA as the
    /// peer knows it).
    snd_una: SeqNumber,
    /// The first inbound segment the reference took and smoltcp dropped, for a listed reason:
    /// from then on their receive states differ (kept on the smoltcp side).
    parted: Option<Listed>,
    closed_by_app: bool,
    timed_out: bool,
    /// The stack's FIN has been on the wire.
    fin_sent: bool,
    /// Unread bytes on the socket when the application closed it (`None`: not closed yet, or
    /// the stack cannot tell).
    unread_at_close: Option<usize>,
}

impl Side {
    fn new(kind: &str, profile: Profile, peer_iss: SeqNumber) -> Option<Side> {
        let neighbor_control = stacks::registry()
            .get(kind)
            .ok()?
            .capabilities()
            .neighbor_control;
        let cfg = StackConfig {
            mac: STACK_MAC,
            addr: STACK_IP,
            prefix_len: 24,
            gateway: None,
            profile: profile.into(),
            seed: 1,
            static_arp: if neighbor_control {
                vec![(PEER_IP, PEER_MAC)]
            } else {
                Vec::new()
            },
        };
        let mut s = Side {
            dut: stacks::make(kind, &cfg).ok()?,
            auto_arp: !neighbor_control,
            sock: None,
            listener: None,
            iss: None,
            peer_iss,
            sent: Vec::new(),
            ack_point: None,
            resolving: false,
            resent: false,
            snd_nxt: SeqNumber(0),
            snd_una: SeqNumber(0),
            parted: None,
            closed_by_app: false,
            timed_out: false,
            fin_sent: false,
            unread_at_close: None,
        };
        if s.auto_arp {
            let req = peer::arp_request(PEER_MAC, PEER_IP, STACK_IP);
            s.dut.handle_frame(Instant::ZERO, &req);
            s.drain(Instant::ZERO);
        }
        Some(s)
    }

    /// Takes every frame the stack sends now, answering ARP and noting SND.NXT.
    fn drain(&mut self, now: Instant) {
        for _ in 0..10_000 {
            let Some(f) = self.dut.poll_transmit(now) else {
                return;
            };
            if peer::is_arp(&f) {
                self.resolving = true;
                if let Some(r) = peer::arp_reply(&f, PEER_MAC, PEER_IP).filter(|_| self.auto_arp) {
                    self.dut.handle_frame(now, &r);
                }
                continue;
            }
            if let Ok(Frame::Tcp { tcp, .. }) = parse_frame(&f, ChecksumMode::Verify) {
                if tcp.flags.contains(TcpFlags::SYN) && self.iss.is_none() {
                    self.iss = Some(tcp.seq);
                    self.snd_nxt = tcp.seq;
                }
                self.fin_sent |= tcp.flags.contains(TcpFlags::FIN);
                if let Some(iss) = self.iss {
                    let sent = Sent::new(&tcp, iss, self.peer_iss);
                    if let Some(a) = sent.ack.filter(|_| !sent.rst) {
                        self.ack_point = Some((a, sent.zero_window));
                    }
                    self.sent.push(sent);
                }
                let end = tcp.seq + tcp.seg_len();
                // An RST occupies no sequence space, and one answering a segment without ACK
                // carries SEQ = 0, outside the connection: it says nothing of SND.NXT.
                let end = if tcp.flags.contains(TcpFlags::RST) {
                    self.snd_nxt
                } else {
                    end
                };
                if self.iss.is_some_and(|i| tcp.seq != i) && tcp.seg_len() > 0 {
                    self.resent |= tcp.seq.diff(self.snd_nxt) < 0;
                }
                if end.diff(self.snd_nxt) > 0 {
                    self.snd_nxt = end;
                }
            }
        }
    }

    /// Fires every deadline up to `to`, draining as it goes.
    fn advance(&mut self, from: Instant, to: Instant) {
        let mut now = from;
        for _ in 0..100_000 {
            match self.dut.poll_at() {
                Some(t) if t <= to => {
                    now = t.max(now);
                    self.dut.handle_timeout(now);
                    self.drain(now);
                }
                _ => break,
            }
        }
        self.dut.handle_timeout(to);
        self.drain(to);
    }

    /// The segments of this step other than pure ACKs, whose number and timing each stack
    /// chooses within RFC 1122 §4.2.3.2 (an ACK MAY be delayed, up to 0.5 s); pure ACKs are
    /// compared by the point they acknowledge once both delays have passed ([`Mismatch::Acked`]).
    fn others(&self) -> Vec<&Sent> {
        self.sent.iter().filter(|s| !s.is_pure_ack()).collect()
    }

    fn state(&self) -> Class {
        match self.sock.filter(|_| !self.closed_by_app) {
            Some(s) => class(self.dut.state(s)),
            None => class(self.dut.connections().first().map(|c| c.1)),
        }
    }

    /// The connection's exact state, its unread bytes and every connection the stack holds
    /// (a listener's new ones included): did a segment change anything?
    #[allow(clippy::type_complexity)]
    fn footprint(&self) -> (Option<State>, Option<usize>, Vec<State>) {
        let all = self.dut.connections().into_iter().map(|c| c.1).collect();
        match self.sock.filter(|_| !self.closed_by_app) {
            Some(s) => (self.dut.state(s), self.dut.unread(s), all),
            None => (None, None, all),
        }
    }

    fn check_error(&mut self) {
        if let Some(s) = self.sock.filter(|_| !self.closed_by_app) {
            if self.dut.take_error(s) == Some(Errno::ETIMEDOUT) {
                self.timed_out = true;
            }
        }
    }
}

fn segment(
    flags: TcpFlags,
    seq: SeqNumber,
    ack: SeqNumber,
    window: u16,
    payload: Vec<u8>,
) -> Vec<u8> {
    let tcp = TcpRepr {
        src_port: PEER_PORT,
        dst_port: PORT,
        seq,
        ack,
        flags,
        window,
        urgent: 0,
        options: Vec::new(),
        payload,
    };
    build_tcp_frame(PEER_MAC, STACK_MAC, &Ipv4Repr::tcp(PEER_IP, STACK_IP), &tcp)
}

/// A segment that occupies sequence space beyond its SYN: data or FIN.
fn carries_data_or_fin(f: TcpFlags, len: u8) -> bool {
    len > 0 || f.contains(TcpFlags::FIN)
}

/// More than one of SYN, FIN, RST.
fn combination(f: TcpFlags) -> bool {
    u8::from(f.syn()) + u8::from(f.fin()) + u8::from(f.rst()) > 1
}

/// Runs one case: `Ok(listed)` when every difference was a listed one (in the order first met;
/// the last one may be where the two runs parted ways, which ends the comparison), `Err` on an
/// unlisted divergence. `None` when it cannot start.
pub fn run_diff(case: &DiffCase) -> Option<Result<Vec<Listed>, Divergence>> {
    let mut sides = [
        Side::new("reference", reference_profile(), SeqNumber(case.peer_iss))?,
        Side::new("smoltcp", smoltcp_profile(), SeqNumber(case.peer_iss))?,
    ];
    let mut now = Instant::ZERO;
    let mut peer_nxt = SeqNumber(case.peer_iss);
    // Open the connection on both.
    for s in sides.iter_mut() {
        if case.passive {
            s.listener = s.dut.listen(now, PORT, 4).ok();
            s.dut.handle_frame(
                now,
                &segment(TcpFlags::SYN, peer_nxt, SeqNumber(0), 65_535, Vec::new()),
            );
            s.drain(now);
            let iss = s.iss?;
            s.dut.handle_frame(
                now,
                &segment(
                    TcpFlags::ACK,
                    peer_nxt + 1u32,
                    iss + 1u32,
                    65_535,
                    Vec::new(),
                ),
            );
            s.drain(now);
            let l = s.listener?;
            s.sock = s.dut.accept(now, l).ok();
        } else {
            // The stack's port is PORT either way, so every peer segment fits both opens.
            s.sock = s
                .dut
                .connect(now, PORT, SocketAddrV4::new(PEER_IP, PEER_PORT))
                .ok();
            s.drain(now);
            let iss = s.iss?;
            s.dut.handle_frame(
                now,
                &segment(
                    TcpFlags::SYN | TcpFlags::ACK,
                    peer_nxt,
                    iss + 1u32,
                    65_535,
                    Vec::new(),
                ),
            );
            s.drain(now);
        }
    }
    for s in sides.iter_mut() {
        s.snd_una = s.iss? + 1u32;
    }
    #[cfg(test)]
    if std::env::var_os("DIFF_TRACE").is_some() {
        eprintln!(
            "open\n  ref {:?}\n  smol {:?}",
            sides[0].sent, sides[1].sent
        );
    }
    if sides[0].sent != sides[1].sent {
        return Some(Err(Divergence {
            step: None,
            op: None,
            what: sent_mismatch(&sides),
        }));
    }
    peer_nxt = peer_nxt + 1u32;
    let mut last_inbound: Option<(TcpFlags, bool)> = None;
    let mut data_after_close = false;
    let mut last_in = now;
    let mut peer_window: u16 = 65_535;
    let mut acked_unsent = false;
    let mut peer_fin = false;
    let mut ooo_window: Option<u16> = None;
    // The handshake's window (the SYN or SYN-ACK the peer sent) is the first in-order one.
    let mut inorder_window: Option<u16> = Some(65_535);
    let mut after_peer_fin = false;
    let mut met: Vec<Listed> = Vec::new();
    for (step, op) in case.ops.iter().take(MAX_OPS).enumerate() {
        for s in sides.iter_mut() {
            s.sent.clear();
            s.resolving = false;
        }
        let mut inbound = None;
        match op {
            DiffOp::Segment {
                flags,
                seq_delta,
                ack_delta,
                len,
                window,
            } => {
                // FIN, SYN, RST, PSH, ACK (RFC 9293 §3.1 control bits).
                let flags = TcpFlags(u16::from(*flags & 0x1f));
                let seq = peer_nxt + (i32::from(*seq_delta) as u32);
                let payload = vec![0x61; usize::from(*len)];
                let mut took = [false; 2];
                let mut old_ack = [false; 2];
                for (i, s) in sides.iter_mut().enumerate() {
                    let ack = s.snd_nxt + (i32::from(*ack_delta) as u32);
                    let before = s.footprint();
                    s.dut
                        .handle_frame(now, &segment(flags, seq, ack, *window, payload.clone()));
                    s.drain(now);
                    took[i] = s.footprint() != before;
                    let has_ack = flags.contains(TcpFlags::ACK);
                    old_ack[i] = has_ack && ack.diff(s.snd_una) < 0;
                    if has_ack && ack.diff(s.snd_una) > 0 && ack.diff(s.snd_nxt) <= 0 {
                        s.snd_una = ack;
                    }
                    if s.closed_by_app && *len > 0 {
                        data_after_close = true;
                    }
                }
                let carries = *len > 0 || flags.contains(TcpFlags::FIN);
                if took[0] && !took[1] && sides[1].parted.is_none() {
                    sides[1].parted = if combination(flags) {
                        Some(Listed::ControlCombination)
                    } else if flags.contains(TcpFlags::SYN) {
                        Some(Listed::SynInWindow)
                    } else if carries && old_ack[1] {
                        Some(Listed::OldAckDropsSegment)
                    } else {
                        None
                    };
                }
                if *seq_delta == 0 {
                    let fin = u32::from(flags.contains(TcpFlags::FIN));
                    let syn = u32::from(flags.contains(TcpFlags::SYN));
                    peer_nxt = peer_nxt + u32::from(*len) + fin + syn;
                }
                last_inbound = Some((flags, *seq_delta >= 0));
                // The window both stacks take from an in-order ACK (RFC 9293 §3.10.7.4, fifth
                // check: SND.WND is updated from acceptable segments).
                let window_bearing = flags.contains(TcpFlags::ACK)
                    && !flags.contains(TcpFlags::RST)
                    && !flags.contains(TcpFlags::SYN);
                if window_bearing && *seq_delta > 0 {
                    ooo_window = Some(*window);
                }
                if window_bearing && *seq_delta == 0 {
                    inorder_window = Some(*window);
                }
                if *seq_delta >= 0
                    && flags.contains(TcpFlags::ACK)
                    && !flags.contains(TcpFlags::RST)
                    && !flags.contains(TcpFlags::SYN)
                {
                    peer_window = *window;
                }
                // A segment with data or FIN at or past RCV.NXT (wherever it starts: one that
                // begins on the peer's FIN and carries text beyond it counts) after the peer's
                // FIN was taken in order: smoltcp drops it whole (its ACK and window too), so
                // the runs part from here. The peer's own FIN sent again reaches no further.
                let reaches_rcv_nxt = i64::from(*seq_delta)
                    + i64::from(*len)
                    + i64::from(flags.contains(TcpFlags::FIN))
                    > 0;
                after_peer_fin |= peer_fin && reaches_rcv_nxt && carries_data_or_fin(flags, *len);
                if *seq_delta == 0 && flags.contains(TcpFlags::FIN) && !combination(flags) {
                    peer_fin = true;
                }
                inbound = Some(Inbound {
                    flags,
                    seq: seq.0.wrapping_sub(case.peer_iss),
                    len: u32::from(*len),
                });
                // SEG.ACK is relative to each stack's highest SND.NXT on the wire: beyond
                // everything sent, for both alike.
                if flags.contains(TcpFlags::ACK) && *ack_delta > 0 {
                    acked_unsent = true;
                }
                last_in = now;
            }
            DiffOp::Advance(ms) => {
                let to = now + Duration::from_millis(u64::from(*ms));
                for s in sides.iter_mut() {
                    s.advance(now, to);
                }
                now = to;
            }
            DiffOp::Send(n) => {
                for s in sides.iter_mut() {
                    if let Some(id) = s.sock.filter(|_| !s.closed_by_app) {
                        let _ = s.dut.send(now, id, &vec![0x62; usize::from(*n)]);
                        s.drain(now);
                    }
                }
            }
            DiffOp::Recv => {
                for s in sides.iter_mut() {
                    if let Some(id) = s.sock.filter(|_| !s.closed_by_app) {
                        let mut buf = [0u8; 4096];
                        let _ = s.dut.recv(now, id, &mut buf);
                        s.drain(now);
                    }
                }
            }
            DiffOp::Close | DiffOp::Abort => {
                for s in sides.iter_mut() {
                    if let Some(id) = s.sock.filter(|_| !s.closed_by_app) {
                        s.check_error();
                        s.unread_at_close = s.dut.unread(id);
                        let _ = if *op == DiffOp::Close {
                            s.dut.close(now, id)
                        } else {
                            s.dut.abort(now, id).and_then(|()| s.dut.close(now, id))
                        };
                        s.closed_by_app = true;
                        s.drain(now);
                    }
                }
            }
        }
        for s in sides.iter_mut() {
            s.check_error();
        }
        #[cfg(test)]
        if std::env::var_os("DIFF_TRACE").is_some() {
            eprintln!(
                "{step} {op:?}\n  ref {:?} {:?}\n  smol {:?} {:?}",
                sides[0].state(),
                sides[0].sent,
                sides[1].state(),
                sides[1].sent
            );
        }
        let settled = now.saturating_since(last_in) >= ACK_SETTLE;
        let seen = Seen {
            op,
            inbound,
            peer_window,
            acked_unsent,
            smoltcp_resent: sides[1].resent,
            after_peer_fin,
            windows_disagree: ooo_window.is_some()
                && inorder_window.is_some()
                && ooo_window != inorder_window,
            last_inbound,
            data_after_close,
        };
        let (ro, mo) = (sides[0].others(), sides[1].others());
        let mut same = ro.len() == mo.len();
        if same {
            for (r, m) in ro.iter().zip(&mo) {
                if r == m {
                    continue;
                }
                match tolerated(r, m, &seen) {
                    Some(l) if !met.contains(&l) => met.push(l),
                    Some(_) => {}
                    None => same = false,
                }
            }
        }
        let what = if !same {
            sent_mismatch(&sides)
        } else if settled
            && sides[0].ack_point != sides[1].ack_point
            && ![sides[0].state(), sides[1].state()].contains(&Class::Closed)
        {
            Mismatch::Acked {
                reference: sides[0].ack_point,
                smoltcp: sides[1].ack_point,
            }
        } else {
            let (r, m) = (sides[0].state(), sides[1].state());
            if r == m {
                continue;
            }
            Mismatch::State {
                reference: r,
                smoltcp: m,
            }
        };
        if let Some(listed) = explain(&sides, &seen, &what) {
            // Once explained, the two runs have parted ways for a known reason.
            met.retain(|l| *l != listed);
            met.push(listed);
            return Some(Ok(met));
        }
        return Some(Err(Divergence {
            step: Some(step),
            op: Some(op.clone()),
            what,
        }));
    }
    Some(Ok(met))
}

fn sent_mismatch(sides: &[Side; 2]) -> Mismatch {
    Mismatch::Sent {
        reference: sides[0].sent.clone(),
        smoltcp: sides[1].sent.clone(),
    }
}

/// The fuzz entry point: panics on an unlisted divergence.
pub fn diff_smoltcp(data: &[u8]) {
    let Ok(case) = DiffCase::arbitrary(&mut Unstructured::new(data)) else {
        return;
    };
    if let Some(Err(d)) = run_diff(&case) {
        panic!("unlisted divergence between the reference stack and smoltcp: {d}");
    }
}

#[cfg(test)]
mod tests;
