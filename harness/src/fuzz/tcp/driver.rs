//! The driver: one [`Tcp`] endpoint under test and a scripted peer. It reaches the start
//! state with a textbook exchange (RFC 9293 §3.5 figures 6–13), then applies operations.

use super::check::{self, Violation};
use super::{AckRel, Op, OptChoice, Seg, SeqRel, Start, StartState, Step, TcpCase, MAX_PAYLOAD};
use stack::policy::Profile;
use stack::tcp::{FourTuple, Outgoing, SocketHandle, State, Tcp};
use stack::time::{Duration, Instant};
use stack::wire::{
    build_ipv4_tcp, parse_ipv4_tcp, ChecksumMode, Ipv4Addr, Ipv4Repr, SeqNumber, TcpFlags,
    TcpOption, TcpRepr,
};
use std::net::SocketAddrV4;

/// Our address and the peer's (RFC 5737 documentation range).
pub const LOCAL: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
pub const PEER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
/// The port we listen on (passive) or connect to (active).
pub const SERVER_PORT: u16 = 80;
/// The client's port.
pub const CLIENT_PORT: u16 = 40000;
/// A port nobody listens on, for stray segments.
pub const STRAY_PORT: u16 = 9;

/// What a run ended with.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// The state the start left the connection in (`None`: no connection or listener).
    pub reached: Option<State>,
    /// The connection's state at the end (`None`: it is gone).
    pub end: Option<State>,
    /// Segments the endpoint sent, start included.
    pub sent: usize,
}

pub(super) struct Driver {
    tcp: Tcp,
    now: Instant,
    tuple: FourTuple,
    listener: Option<SocketHandle>,
    conn: Option<SocketHandle>,
    peer_iss: SeqNumber,
    /// The peer's next sequence number as far as the start exchange went.
    peer_nxt: SeqNumber,
    /// Our ISS, once seen on the wire.
    our_iss: SeqNumber,
    sent: usize,
}

impl Driver {
    pub fn new(case: &TcpCase) -> Option<Driver> {
        let names = Profile::names();
        let name = names.get(usize::from(case.profile) % names.len())?;
        let profile = Profile::named(name).ok()?;
        let peer_iss = SeqNumber(case.peer_iss);
        Some(Driver {
            tcp: Tcp::new(profile.tcp, u64::from(case.seed)),
            now: Instant::from_secs(1),
            tuple: FourTuple::new(LOCAL, SERVER_PORT, PEER, CLIENT_PORT),
            listener: None,
            conn: None,
            peer_iss,
            peer_nxt: peer_iss,
            our_iss: SeqNumber(0),
            sent: 0,
        })
    }

    /// Drives the endpoint into `start.state`; returns the state actually reached (a profile
    /// may legitimately refuse a step, e.g. answer with RST).
    pub fn start(&mut self, start: Start) -> Result<Option<State>, Violation> {
        use StartState as S;
        let want = start.state;
        if want == S::SynSent || (start.active && want != S::Listen && want != S::SynReceived) {
            self.active_open(start.syn_options, want != S::SynSent)?;
        } else {
            self.passive_open(want, start.syn_options)?;
        }
        if matches!(want, S::Listen | S::SynSent | S::SynReceived) {
            return Ok(self.conn_state().or(self.listener.map(|_| State::Listen)));
        }
        match want {
            S::FinWait1 | S::FinWait2 | S::Closing | S::TimeWait => {
                self.user(|tcp, now, h| tcp.close(now, h).is_ok())?;
                if want == S::FinWait2 || want == S::TimeWait {
                    self.peer_ack()?;
                }
                if want == S::Closing || want == S::TimeWait {
                    self.peer_fin()?;
                }
            }
            S::CloseWait | S::LastAck => {
                self.peer_fin()?;
                if want == S::LastAck {
                    self.user(|tcp, now, h| tcp.close(now, h).is_ok())?;
                }
            }
            _ => {}
        }
        Ok(self.conn_state())
    }

    fn active_open(&mut self, syn_options: bool, complete: bool) -> Result<(), Violation> {
        self.tuple = FourTuple::new(LOCAL, CLIENT_PORT, PEER, SERVER_PORT);
        let (local, remote) = (self.tuple.local, self.tuple.remote);
        let Ok(h) = self.tcp.connect(self.now, local, remote) else {
            return Ok(());
        };
        self.conn = Some(h);
        let out = self.step("connect", None)?;
        let Some(syn) = out.iter().find(|o| o.seg.flags.syn()) else {
            return Ok(());
        };
        self.our_iss = syn.seg.seq;
        if !complete {
            return Ok(());
        }
        // The peer answers SYN-ACK.
        let synack = self.segment(
            TcpFlags(TcpFlags::SYN.0 | TcpFlags::ACK.0),
            self.peer_iss,
            self.our_iss + 1u32,
            peer_syn_options(syn_options),
            0,
        );
        self.peer_nxt = self.peer_iss + 1u32;
        self.inject(synack)?;
        Ok(())
    }

    fn passive_open(&mut self, want: StartState, syn_options: bool) -> Result<(), Violation> {
        let local = SocketAddrV4::new(LOCAL, SERVER_PORT);
        let Ok(l) = self.tcp.listen(self.now, local, 4) else {
            return Ok(());
        };
        self.listener = Some(l);
        if want == StartState::Listen {
            return Ok(());
        }
        let syn = self.segment(
            TcpFlags::SYN,
            self.peer_iss,
            SeqNumber(0),
            peer_syn_options(syn_options),
            0,
        );
        let out = self.inject(syn)?;
        self.peer_nxt = self.peer_iss + 1u32;
        let Some(synack) = out.iter().find(|o| o.seg.flags.syn()) else {
            return Ok(());
        };
        self.our_iss = synack.seg.seq;
        if want == StartState::SynReceived {
            return Ok(());
        }
        let ack = self.segment(TcpFlags::ACK, self.peer_nxt, self.our_iss + 1u32, vec![], 0);
        self.inject(ack)?;
        if let Ok(h) = self.tcp.accept(self.now, l) {
            self.conn = Some(h);
        }
        Ok(())
    }

    /// The peer acknowledges everything we sent.
    fn peer_ack(&mut self) -> Result<(), Violation> {
        let Some(info) = self.info() else {
            return Ok(());
        };
        let ack = self.segment(TcpFlags::ACK, info.rcv_nxt, info.snd_nxt, vec![], 0);
        self.inject(ack).map(drop)
    }

    /// The peer closes: FIN at RCV.NXT, acknowledging only what was already acknowledged, so
    /// that a FIN of ours still in flight stays unacknowledged (simultaneous close, §3.6).
    fn peer_fin(&mut self) -> Result<(), Violation> {
        let Some(info) = self.info() else {
            return Ok(());
        };
        let flags = TcpFlags(TcpFlags::FIN.0 | TcpFlags::ACK.0);
        let fin = self.segment(flags, info.rcv_nxt, info.snd_una, vec![], 0);
        self.inject(fin).map(drop)
    }

    /// A user call on the connection, then the output it caused.
    fn user(
        &mut self,
        call: impl FnOnce(&mut Tcp, Instant, SocketHandle) -> bool,
    ) -> Result<(), Violation> {
        if let Some(h) = self.conn {
            call(&mut self.tcp, self.now, h);
        }
        self.step("user call", None).map(drop)
    }

    pub fn apply(&mut self, index: usize, op: &Op) -> Result<(), Violation> {
        let now = self.now;
        let target = self.conn.or(self.listener);
        match op {
            Op::Segment(seg) => {
                let repr = self.build(seg);
                self.inject_as(repr, seg.stray, index)?;
                return Ok(());
            }
            Op::Advance(step) => return self.advance(*step, index),
            Op::Send(n) => {
                if let Some(h) = target {
                    let data: Vec<u8> = (0..*n).map(|i| i as u8).collect();
                    let _ = self.tcp.send(now, h, &data);
                }
            }
            Op::Recv(n) => {
                if let Some(h) = target {
                    let mut buf = vec![0u8; usize::from(*n)];
                    let _ = self.tcp.recv(now, h, &mut buf);
                }
            }
            Op::Close => {
                if let Some(h) = target {
                    let _ = self.tcp.close(now, h);
                }
            }
            Op::ShutdownWrite => {
                if let Some(h) = target {
                    let _ = self.tcp.shutdown_write(now, h);
                }
            }
            Op::Abort => {
                if let Some(h) = target {
                    let _ = self.tcp.abort(now, h);
                }
            }
            Op::Accept => {
                if let Some(l) = self.listener {
                    if let Ok(h) = self.tcp.accept(now, l) {
                        self.conn = Some(h);
                    }
                }
            }
            Op::SetOption(opt) => {
                if let Some(h) = target {
                    let _ = self.tcp.set_option(h, opt.to_socket_option());
                }
            }
        }
        self.step_at(index, None).map(drop)
    }

    fn advance(&mut self, step: Step, index: usize) -> Result<(), Violation> {
        let to = match step {
            Step::Millis(ms) => self.now + Duration::from_millis(u64::from(ms)),
            Step::Secs(s) => self.now + Duration::from_secs(u64::from(s)),
            Step::NextDeadline => match self.tcp.poll_at() {
                Some(t) if t > self.now => t,
                _ => self.now,
            },
        };
        self.now = to;
        self.tcp.handle_timeout(to);
        self.step_at(index, None)?;
        // A deadline still due after `handle_timeout` is tolerated a bounded number of times
        // (a call may run one timer at a time); one that never clears would spin a driver loop.
        for _ in 0..check::MAX_TIMEOUT_ROUNDS {
            if self.tcp.poll_at().is_none_or(|t| t > to) {
                break;
            }
            self.tcp.handle_timeout(to);
            self.step_at(index, None)?;
        }
        check::deadline_after_timeout(index, to, self.tcp.poll_at())
    }

    /// Builds the peer's segment for `seg`, relative to the connection's variables.
    fn build(&self, seg: &Seg) -> TcpRepr {
        let info = self.info();
        let rcv_nxt = info.map_or(self.peer_nxt, |i| i.rcv_nxt);
        let irs = info.map_or(self.peer_iss, |i| i.irs);
        let snd_nxt = info.map_or(self.our_iss + 1u32, |i| i.snd_nxt);
        let snd_una = info.map_or(self.our_iss + 1u32, |i| i.snd_una);
        let iss = info.map_or(self.our_iss, |i| i.iss);
        let seq = match seg.seq {
            SeqRel::RcvNxt(o) => SeqNumber(rcv_nxt.0.wrapping_add_signed(i32::from(o))),
            SeqRel::Irs(o) => SeqNumber(irs.0.wrapping_add_signed(o)),
            SeqRel::Raw(n) => SeqNumber(n),
        };
        let ack = match seg.ack {
            AckRel::SndNxt(o) => SeqNumber(snd_nxt.0.wrapping_add_signed(i32::from(o))),
            AckRel::SndUna(o) => SeqNumber(snd_una.0.wrapping_add_signed(i32::from(o))),
            AckRel::Iss(o) => SeqNumber(iss.0.wrapping_add_signed(o)),
            AckRel::Raw(n) => SeqNumber(n),
        };
        let options = seg
            .options
            .iter()
            .take(8)
            .map(|o| option(o, snd_una))
            .collect();
        let len = usize::from(seg.len) % (MAX_PAYLOAD + 1);
        let mut repr = self.segment(TcpFlags(u16::from(seg.flags)), seq, ack, options, len);
        repr.window = seg.window;
        repr.urgent = seg.urgent;
        repr
    }

    /// A segment from the peer on the connection's 4-tuple.
    fn segment(
        &self,
        flags: TcpFlags,
        seq: SeqNumber,
        ack: SeqNumber,
        options: Vec<TcpOption>,
        len: usize,
    ) -> TcpRepr {
        TcpRepr {
            src_port: self.tuple.remote.port(),
            dst_port: self.tuple.local.port(),
            seq,
            ack,
            flags,
            window: 65535,
            urgent: 0,
            options,
            payload: (0..len).map(|i| (i % 251) as u8).collect(),
        }
    }

    fn inject(&mut self, seg: TcpRepr) -> Result<Vec<Outgoing>, Violation> {
        self.inject_as(seg, false, usize::MAX)
    }

    /// Sends `seg` through the wire encoder and parser, hands the result to the endpoint and
    /// collects what it sends.
    fn inject_as(
        &mut self,
        mut seg: TcpRepr,
        stray: bool,
        index: usize,
    ) -> Result<Vec<Outgoing>, Violation> {
        if stray {
            seg.dst_port = STRAY_PORT;
        }
        let bytes = build_ipv4_tcp(&Ipv4Repr::tcp(PEER, LOCAL), &seg);
        let seg = match parse_ipv4_tcp(&bytes, ChecksumMode::Verify) {
            Ok((_, seg)) => seg,
            Err(e) => {
                return Err(Violation::new(
                    index,
                    format!("built segment does not parse: {e:?}"),
                ))
            }
        };
        self.tcp.handle_segment(self.now, PEER, LOCAL, &seg);
        self.step_at(index, Some(&seg))
    }

    fn step(&mut self, what: &str, input: Option<&TcpRepr>) -> Result<Vec<Outgoing>, Violation> {
        self.step_at(usize::MAX, input).map_err(|v| v.during(what))
    }

    /// Drains output and events, then checks every invariant.
    fn step_at(
        &mut self,
        index: usize,
        input: Option<&TcpRepr>,
    ) -> Result<Vec<Outgoing>, Violation> {
        let mut out = Vec::new();
        // A bound well above anything legitimate: an endpoint that never stops transmitting
        // is itself a finding.
        for _ in 0..10_000 {
            match self.tcp.poll_transmit(self.now) {
                Some(o) => out.push(o),
                None => break,
            }
        }
        if self.tcp.poll_transmit(self.now).is_some() {
            return Err(Violation::new(
                index,
                "poll_transmit never returns None".into(),
            ));
        }
        while self.tcp.poll_event().is_some() {}
        self.sent += out.len();
        check::outputs(index, input, &out)?;
        check::connections(index, &self.tcp)?;
        Ok(out)
    }

    fn info(&self) -> Option<stack::tcp::TcbInfo> {
        self.tcp
            .lookup(self.tuple)
            .and_then(|h| self.tcp.tcb_info(h))
    }

    fn conn_state(&self) -> Option<State> {
        self.info().map(|i| i.state)
    }

    pub fn outcome(&self, reached: Option<State>) -> super::Outcome {
        super::Outcome {
            reached,
            end: self.conn_state(),
            sent: self.sent,
        }
    }
}

/// The peer's SYN options: always MSS; with `full`, also window scale, SACK-permitted and
/// timestamps, in the order Linux sends them.
fn peer_syn_options(full: bool) -> Vec<TcpOption> {
    let mut v = vec![TcpOption::MaxSegmentSize(1460)];
    if full {
        v.extend([
            TcpOption::SackPermitted,
            TcpOption::Timestamps { tsval: 1, tsecr: 0 },
            TcpOption::NoOp,
            TcpOption::WindowScale(7),
        ]);
    }
    v
}

fn option(o: &OptChoice, snd_una: SeqNumber) -> TcpOption {
    match o {
        OptChoice::NoOp => TcpOption::NoOp,
        OptChoice::Mss(m) => TcpOption::MaxSegmentSize(*m),
        OptChoice::WindowScale(s) => TcpOption::WindowScale(*s),
        OptChoice::SackPermitted => TcpOption::SackPermitted,
        OptChoice::Sack(blocks) => {
            let mut v: Vec<(u32, u32)> = blocks
                .iter()
                .take(4)
                .map(|(l, n)| {
                    let left = snd_una.0.wrapping_add_signed(i32::from(*l));
                    (left, left.wrapping_add(u32::from(*n)))
                })
                .collect();
            if v.is_empty() {
                v.push((snd_una.0, snd_una.0));
            }
            TcpOption::SackRange(v)
        }
        OptChoice::Timestamps { tsval, tsecr } => TcpOption::Timestamps {
            tsval: *tsval,
            tsecr: *tsecr,
        },
        OptChoice::Unknown { kind, len } => {
            // Kinds the parser knows (0-5, 8) would not round-trip as `Unknown`.
            let kind = if matches!(kind, 0..=5 | 8) {
                kind + 30
            } else {
                *kind
            };
            TcpOption::Unknown {
                kind,
                data: vec![0xAB; usize::from(*len % 8)],
            }
        }
    }
}
