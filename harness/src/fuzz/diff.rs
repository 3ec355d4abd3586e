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

use crate::dut::{Dut, Errno, SockId, StackConfig};
use crate::peer;
use crate::stacks;
use arbitrary::{Arbitrary, Unstructured};
use core::net::SocketAddrV4;
use stack::policy::Profile;
use stack::tcp::State;
use stack::wire::{
    build_ethernet, build_ipv4_tcp, parse_frame, ChecksumMode, EtherType, EthernetAddress,
    EthernetRepr, Frame, IpProtocol, Ipv4Addr, Ipv4Repr, SeqNumber, TcpFlags, TcpRepr,
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

/// Divergences that are known and judged (each also in `conformance/expectations/smoltcp.toml`
/// or the README's smoltcp table), by the evidence that explains them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Listed {
    /// RFC 793 §3.4 / RFC 9293 §3.10.7.4: a SYN in a synchronized state resets the connection
    /// under RFC 793; smoltcp answers it with a challenge ACK (RFC 5961 §4).
    SynInWindow,
    /// RFC 1122 §4.2.2.13 / RFC 9293 §3.6.1: data after close draws an RST from the reference;
    /// smoltcp's close is a half-close and takes the data.
    DataAfterClose,
    /// RFC 1122 §4.2.2.13 / RFC 9293 §3.6.1 SHLD-3: a CLOSE while received data is still
    /// pending SHOULD send RST; the reference does (and is gone), smoltcp's close is a
    /// half-close and sends FIN. Judged by the precondition itself: the reference reported
    /// unread bytes ([`Dut::unread`]) on the socket just before the close.
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
    /// data or FIN ([`Dut::unread`] or state changed) and smoltcp took nothing; the two
    /// receive streams differ from then on.
    OldAckDropsSegment,
    /// RFC 1122 §4.2.3.5: the reference gives up after R2 (ETIMEDOUT); smoltcp never does.
    RetransmissionGiveUp,
    /// RFC 9293 §3.10.7.4 checks the RST bit before SYN and FIN, so RST+FIN resets; smoltcp
    /// drops any segment with more than one of SYN, FIN, RST as malformed (`TcpRepr::parse`).
    ControlCombination,
}

/// An unlisted divergence: the step, and the two states.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Divergence {
    pub step: usize,
    pub op: Option<DiffOp>,
    pub reference: Class,
    pub smoltcp: Class,
}

impl core::fmt::Display for Divergence {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "step {} ({:?}): reference is {:?}, smoltcp is {:?}",
            self.step, self.op, self.reference, self.smoltcp
        )
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

/// One stack plus what the peer knows of it.
struct Side {
    dut: Box<dyn Dut>,
    auto_arp: bool,
    sock: Option<SockId>,
    listener: Option<SockId>,
    iss: Option<SeqNumber>,
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
    fn new(kind: &str, profile: Profile) -> Option<Side> {
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
                let end = tcp.seq + tcp.seg_len();
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
    let ip = Ipv4Repr {
        src_addr: PEER_IP,
        dst_addr: STACK_IP,
        protocol: IpProtocol::Tcp,
        payload_len: 0,
        ttl: 64,
        ident: 0,
        dont_frag: true,
        tos: 0,
    };
    let eth = EthernetRepr {
        src_addr: PEER_MAC,
        dst_addr: STACK_MAC,
        ethertype: EtherType::Ipv4,
    };
    build_ethernet(&eth, &build_ipv4_tcp(&ip, &tcp))
}

/// More than one of SYN, FIN, RST.
fn combination(f: TcpFlags) -> bool {
    u8::from(f.syn()) + u8::from(f.fin()) + u8::from(f.rst()) > 1
}

/// Runs one case: `Ok(None)` when the two stacks agree throughout, `Ok(Some(rule))` when they
/// part ways for a listed reason, `Err` on an unlisted divergence. `None` when it cannot start.
pub fn run_diff(case: &DiffCase) -> Option<Result<Option<Listed>, Divergence>> {
    let mut sides = [
        Side::new("reference", reference_profile())?,
        Side::new("smoltcp", Profile::rfc9293())?,
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
            s.sock = s
                .dut
                .connect(now, PEER_PORT, SocketAddrV4::new(PEER_IP, PORT))
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
    peer_nxt = peer_nxt + 1u32;
    let mut last_inbound: Option<(TcpFlags, bool)> = None;
    let mut data_after_close = false;
    for (step, op) in case.ops.iter().take(MAX_OPS).enumerate() {
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
        let (r, m) = (sides[0].state(), sides[1].state());
        if r == m {
            continue;
        }
        let listed = if sides[0].timed_out {
            Some(Listed::RetransmissionGiveUp)
        } else if data_after_close {
            Some(Listed::DataAfterClose)
        } else if *op == DiffOp::Close && sides[0].unread_at_close.is_some_and(|n| n > 0) {
            Some(Listed::UnreadDataAtClose)
        } else if sides[1].fin_sent && !sides[0].fin_sent {
            Some(Listed::SendsAheadWithoutCongestionControl)
        } else if sides[1].parted.is_some() {
            sides[1].parted
        } else if last_inbound.is_some_and(|(f, _)| combination(f)) {
            Some(Listed::ControlCombination)
        } else if last_inbound.is_some_and(|(f, _)| f.contains(TcpFlags::SYN)) {
            Some(Listed::SynInWindow)
        } else {
            None
        };
        if listed.is_some() {
            // Once explained, the two runs have parted ways for a known reason.
            return Some(Ok(listed));
        }
        return Some(Err(Divergence {
            step,
            op: Some(op.clone()),
            reference: r,
            smoltcp: m,
        }));
    }
    Some(Ok(None))
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
mod tests {
    use super::*;

    fn seg(flags: u8, len: u8) -> DiffOp {
        DiffOp::Segment {
            flags,
            seq_delta: 0,
            ack_delta: 0,
            len,
            window: 65_535,
        }
    }

    #[test]
    fn a_plain_exchange_agrees() {
        let case = DiffCase {
            passive: true,
            peer_iss: 1000,
            ops: vec![
                seg(0x18, 100),
                DiffOp::Recv,
                DiffOp::Send(10),
                DiffOp::Advance(300),
                seg(0x11, 0),
                DiffOp::Advance(50),
                DiffOp::Close,
                DiffOp::Advance(50),
                seg(0x10, 0),
                DiffOp::Advance(20_000),
            ],
        };
        assert_eq!(run_diff(&case), Some(Ok(None)));
    }

    #[test]
    fn an_in_window_rst_resets_both() {
        let case = DiffCase {
            passive: false,
            peer_iss: u32::MAX - 5,
            ops: vec![seg(0x14, 0), DiffOp::Advance(10)],
        };
        assert_eq!(run_diff(&case), Some(Ok(None)));
    }

    /// The crash diff_smoltcp found first (minimised by hand): data arrives, the application
    /// closes without reading it. The reference resets (RFC 1122 §4.2.2.13), smoltcp sends FIN.
    #[test]
    fn close_with_unread_data_is_the_listed_rst_versus_fin_divergence() {
        let case = DiffCase {
            passive: true,
            peer_iss: 1000,
            ops: vec![seg(0x18, 100), DiffOp::Close, DiffOp::Advance(50)],
        };
        assert_eq!(run_diff(&case), Some(Ok(Some(Listed::UnreadDataAtClose))));
        // Read first, and both close with FIN: no divergence at all.
        let case = DiffCase {
            ops: vec![
                seg(0x18, 100),
                DiffOp::Recv,
                DiffOp::Close,
                DiffOp::Advance(50),
            ],
            ..case
        };
        assert_eq!(run_diff(&case), Some(Ok(None)));
    }

    /// The second crash diff_smoltcp found (minimised by hand): unacknowledged data goes
    /// through retransmission timeouts, then the application sends more and closes. The
    /// reference's loss window (RFC 5681 §3.1) holds the new data and the FIN; smoltcp sends
    /// both, so the peer's FIN+ACK of "everything sent" moves smoltcp to TIME-WAIT and the
    /// reference to CLOSING.
    #[test]
    fn smoltcp_sending_ahead_after_a_timeout_is_listed() {
        let case = DiffCase {
            passive: true,
            peer_iss: 1000,
            ops: vec![
                DiffOp::Send(123),
                DiffOp::Advance(31_611),
                DiffOp::Send(200),
                DiffOp::Send(200),
                DiffOp::Send(200),
                DiffOp::Close,
                DiffOp::Segment {
                    flags: 0x19,
                    seq_delta: 0,
                    ack_delta: 0,
                    len: 0,
                    window: 0,
                },
            ],
        };
        assert_eq!(
            run_diff(&case),
            Some(Ok(Some(Listed::SendsAheadWithoutCongestionControl)))
        );
    }

    fn seg_at(flags: u8, seq_delta: i16, ack_delta: i16, len: u8) -> DiffOp {
        DiffOp::Segment {
            flags,
            seq_delta,
            ack_delta,
            len,
            window: 65_535,
        }
    }

    /// Third crash (by hand): data and FIN whose ACK is one below SND.UNA. The reference takes
    /// them (the old ACK is ignored, RFC 9293 §3.10.7.4); smoltcp drops the whole segment, so
    /// after both close, the peer's ACK ends the reference's LAST-ACK and leaves smoltcp in
    /// FIN-WAIT.
    #[test]
    fn smoltcp_dropping_a_segment_with_an_old_ack_is_listed() {
        let case = DiffCase {
            passive: true,
            peer_iss: 1000,
            ops: vec![
                seg_at(0x19, 0, -1, 10),
                DiffOp::Recv,
                DiffOp::Close,
                seg(0x10, 0),
            ],
        };
        assert_eq!(run_diff(&case), Some(Ok(Some(Listed::OldAckDropsSegment))));
        // The same segment with a current ACK: both take it and agree throughout.
        let case = DiffCase {
            ops: vec![
                seg_at(0x19, 0, 0, 10),
                DiffOp::Recv,
                DiffOp::Close,
                seg(0x10, 0),
            ],
            ..case
        };
        assert_eq!(run_diff(&case), Some(Ok(None)));
    }

    /// Fourth crash (by hand): an in-window RST ends both connections, then SYN+FIN reaches
    /// the listener. The reference (RFC 793: SYN checked, FIN later) opens a SYN-RECEIVED
    /// connection; smoltcp drops the segment as malformed. The difference shows only at a
    /// later step, when the application closes.
    #[test]
    fn a_dropped_control_combination_explains_later_divergences() {
        let case = DiffCase {
            passive: true,
            peer_iss: 1000,
            ops: vec![
                seg_at(0x14, 100, 0, 0),
                seg_at(0x03, 25_000, 0, 0),
                seg(0x00, 0),
                DiffOp::Close,
            ],
        };
        assert_eq!(run_diff(&case), Some(Ok(Some(Listed::ControlCombination))));
    }

    /// Decodes a crash input and prints the case and its verdict (run by hand:
    /// `DIFF_CASE=fuzz/artifacts/diff_smoltcp/crash-… cargo test -p harness diff_replay -- --ignored --nocapture`).
    #[test]
    #[ignore]
    fn diff_replay() {
        let path = std::env::var("DIFF_CASE").expect("DIFF_CASE=<crash file>");
        let data = std::fs::read(&path).expect("readable DIFF_CASE");
        let case = DiffCase::arbitrary(&mut Unstructured::new(&data)).expect("a case");
        println!("{case:#?}\n{:?}", run_diff(&case));
    }

    /// Explores random inputs and prints the distinct unlisted divergences (run by hand:
    /// `cargo test -p harness diff_explore -- --ignored --nocapture`).
    #[test]
    #[ignore]
    fn diff_explore() {
        let mut rng = stack::rand::Rng::new(7);
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..20_000 {
            let bytes: Vec<u8> = (0..200).map(|_| rng.next_u32() as u8).collect();
            let Ok(case) = DiffCase::arbitrary(&mut Unstructured::new(&bytes)) else {
                continue;
            };
            if let Some(Err(d)) = run_diff(&case) {
                let key = format!("{:?} {:?}", d.reference, d.smoltcp);
                if seen.insert(key) {
                    println!("{d}\n  {case:?}");
                }
            }
        }
    }
}
