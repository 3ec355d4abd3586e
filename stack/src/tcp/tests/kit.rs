//! The kit: one [`Tcp`] under test at `LOCAL:80` or `LOCAL:4000`, a scripted peer at
//! `REMOTE:5000`. Sequence numbers in scripts are relative: ours to our ISS, theirs to the peer ISN.

/// `send!(kit, flags, seq_rel, ack_rel [, payload])`: inject a segment from the peer.
macro_rules! send {
    ($k:expr, $flags:expr, $seq:expr, $ack:expr) => {
        send!($k, $flags, $seq, $ack, b"")
    };
    ($k:expr, $flags:expr, $seq:expr, $ack:expr, $payload:expr) => {{
        let s = $k.seg($flags, $seq, $ack, $payload);
        $k.inject(&s);
    }};
}

/// `recv!(kit, flags, seq_rel, ack_rel)`: the next segment we send has exactly these flags
/// (ignoring PSH), our-relative seq and peer-relative ack (ack checked only if ACK is set).
macro_rules! recv {
    ($k:expr, $flags:expr, $seq:expr, $ack:expr) => {{
        let seg = $k.expect();
        let want: crate::wire::TcpFlags = $flags;
        assert_eq!(
            seg.flags.0 & !crate::wire::TcpFlags::PSH.0,
            want.0 & !crate::wire::TcpFlags::PSH.0,
            "flags of {seg:?}"
        );
        assert_eq!(seg.seq, $k.ours($seq), "seq of {seg:?}");
        if want.ack() {
            assert_eq!(seg.ack, $k.theirs($ack), "ack of {seg:?}");
        }
        seg
    }};
}

/// `recv_nothing!(kit)`: nothing to send.
macro_rules! recv_nothing {
    ($k:expr) => {
        $k.expect_nothing()
    };
}

use crate::policy::{IsnMode, Profile, TcpPolicy};
use crate::tcp::{FourTuple, Outgoing, SocketHandle, State, Tcp, TcpEvent};
use crate::time::{Duration, Instant};
use crate::wire::{SeqNumber, TcpFlags, TcpRepr};
use core::net::{Ipv4Addr, SocketAddrV4};

pub const LOCAL: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
pub const REMOTE: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
pub const LPORT: u16 = 80;
pub const RPORT: u16 = 5000;

pub const S: TcpFlags = TcpFlags::SYN;
pub const A: TcpFlags = TcpFlags::ACK;
pub const R: TcpFlags = TcpFlags::RST;
pub const F: TcpFlags = TcpFlags::FIN;
pub const P: TcpFlags = TcpFlags::PSH;
pub fn fl(parts: &[TcpFlags]) -> TcpFlags {
    parts.iter().fold(TcpFlags::NONE, |a, b| a | *b)
}

/// The 11 fixtures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fx {
    Closed,
    Listen,
    SynSent,
    SynReceived,
    Established,
    FinWait1,
    FinWait2,
    CloseWait,
    Closing,
    LastAck,
    TimeWait,
}

/// The TCP event inside a logged one (kept as an `Option` so callers can `extend`).
pub fn tcp_event(e: crate::time::Timed<TcpEvent>) -> Option<TcpEvent> {
    Some(e.event)
}

pub struct Kit {
    pub tcp: Tcp,
    pub now: Instant,
    pub iss: u32,
    pub peer_isn: u32,
    pub conn: Option<SocketHandle>,
    pub listener: Option<SocketHandle>,
    pub local_port: u16,
    /// Our SND.NXT and RCV.NXT (relative offsets) after the fixture.
    pub sn: u32,
    pub rn: u32,
    /// When the connection is gone, report LISTEN (passive fixtures before ESTABLISHED).
    pub back_to_listen: bool,
}

pub fn test_policy(profile: &str) -> TcpPolicy {
    let mut p = Profile::named(profile).expect("profile").tcp;
    p.delayed_ack = None;
    p.window_scale = None;
    p
}

impl Kit {
    pub fn new(mut policy: TcpPolicy, iss: u32, peer_isn: u32) -> Kit {
        policy.isn = IsnMode::Fixed(iss);
        Kit {
            tcp: Tcp::new(policy, 7),
            now: Instant::from_secs(1),
            iss,
            peer_isn,
            conn: None,
            listener: None,
            local_port: LPORT,
            sn: 0,
            rn: 0,
            back_to_listen: true,
        }
    }

    pub fn tuple(&self) -> FourTuple {
        FourTuple::new(LOCAL, self.local_port, REMOTE, RPORT)
    }
    pub fn ours(&self, off: u32) -> SeqNumber {
        SeqNumber(self.iss.wrapping_add(off))
    }
    pub fn theirs(&self, off: u32) -> SeqNumber {
        SeqNumber(self.peer_isn.wrapping_add(off))
    }

    /// A segment from the peer; `seq` relative to the peer ISN, `ack` relative to our ISS.
    pub fn seg(&self, flags: TcpFlags, seq: u32, ack: u32, payload: &[u8]) -> TcpRepr {
        TcpRepr {
            src_port: RPORT,
            dst_port: self.local_port,
            seq: self.theirs(seq),
            ack: if flags.ack() {
                self.ours(ack)
            } else {
                SeqNumber(0)
            },
            flags,
            window: 65535,
            urgent: 0,
            options: Vec::new(),
            payload: payload.to_vec(),
        }
    }

    pub fn inject(&mut self, seg: &TcpRepr) {
        self.tcp.handle_segment(self.now, REMOTE, LOCAL, seg);
    }

    pub fn out(&mut self) -> Option<Outgoing> {
        self.tcp.poll_transmit(self.now)
    }

    #[track_caller]
    pub fn expect(&mut self) -> TcpRepr {
        match self.out() {
            Some(o) => {
                assert_eq!((o.src, o.dst), (LOCAL, REMOTE), "addresses");
                o.seg
            }
            None => panic!("expected a segment, got nothing"),
        }
    }

    #[track_caller]
    pub fn expect_nothing(&mut self) {
        if let Some(o) = self.out() {
            panic!("expected nothing, got {:?}", o.seg);
        }
    }

    /// An ESTABLISHED fixture (ISS 1000, peer ISN 5000) with Nagle off (RFC 9293 §3.7.4), so
    /// each `send` leaves at once: the start of the window and timer tests that count segments.
    pub fn established_without_nagle(policy: TcpPolicy) -> (Kit, SocketHandle) {
        let mut k = Kit::fixture(Fx::Established, policy, 1000, 5000);
        let h = k.conn.expect("conn");
        k.tcp
            .set_option(h, crate::tcp::SocketOption::NoDelay(true))
            .expect("opt");
        (k, h)
    }

    /// Sends 1000 bytes of `byte` on `h` and checks they leave as two segments, 536 + 464
    /// bytes (the default SMSS, RFC 9293 §3.7.1), at our relative sequence numbers 1 and 537.
    #[track_caller]
    pub fn send_two_segments(&mut self, h: SocketHandle, byte: u8) {
        self.tcp.send(self.now, h, &[byte; 1000]).expect("send");
        recv!(self, TcpFlags::ACK, 1, 1);
        recv!(self, TcpFlags::ACK, 537, 1); // PSH is not compared
    }

    /// Move time forward by `d`, firing every deadline on its own instant (as a host would).
    pub fn advance(&mut self, d: Duration) {
        let target = self.now + d;
        for _ in 0..100_000 {
            match self.tcp.poll_at() {
                Some(t) if t <= target => {
                    self.now = self.now.max(t);
                    self.tcp.handle_timeout(self.now);
                }
                _ => break,
            }
        }
        self.now = target;
        self.tcp.handle_timeout(self.now);
    }

    /// Jump to the next deadline (if any, and not beyond `limit`) and fire it.
    pub fn step(&mut self, limit: Instant) -> bool {
        match self.tcp.poll_at() {
            Some(t) if t <= limit => {
                self.now = self.now.max(t);
                self.tcp.handle_timeout(self.now);
                true
            }
            _ => false,
        }
    }

    /// State of the kit's 4-tuple: the connection's, else LISTEN if a listener exists.
    pub fn state(&self) -> State {
        if let Some(h) = self.tcp.lookup(self.tuple()) {
            return self.tcp.tcb_info(h).map_or(State::Closed, |i| i.state);
        }
        if let Some(h) = self.conn {
            if let Some(s) = self.tcp.state(h) {
                return s;
            }
        }
        if self.listener.is_some() && self.back_to_listen {
            State::Listen
        } else {
            State::Closed
        }
    }

    pub fn events(&mut self) -> Vec<TcpEvent> {
        let mut v = Vec::new();
        while let Some(e) = self.tcp.poll_event() {
            v.extend(tcp_event(e));
        }
        v
    }

    /// Build a kit in fixture state `fx`.
    pub fn fixture(fx: Fx, policy: TcpPolicy, iss: u32, peer_isn: u32) -> Kit {
        let mut k = Kit::new(policy.clone(), iss, peer_isn);
        match fx {
            Fx::Closed => {}
            Fx::Listen => k.listen(),
            Fx::SynSent => {
                k.local_port = 4000;
                let h = k
                    .tcp
                    .connect(
                        k.now,
                        SocketAddrV4::new(LOCAL, 4000),
                        SocketAddrV4::new(REMOTE, RPORT),
                    )
                    .expect("connect");
                k.conn = Some(h);
                recv!(k, S, 0, 0);
                k.sn = 1;
            }
            Fx::SynReceived => {
                k.listen();
                send!(k, S, 0, 0);
                recv!(k, fl(&[S, A]), 0, 1);
                k.sn = 1;
                k.rn = 1;
            }
            _ => {
                let mut k = Kit::fixture(Fx::SynReceived, policy.clone(), iss, peer_isn);
                send!(k, A, 1, 1);
                recv_nothing!(k);
                let l = k.listener.expect("listener");
                k.conn = Some(k.tcp.accept(k.now, l).expect("accept"));
                k.back_to_listen = false;
                assert_eq!(k.state(), State::Established);
                k.drive_to(fx);
                k.events();
                return k;
            }
        }
        assert_eq!(k.state(), fx.state());
        k.events();
        k
    }

    fn drive_to(&mut self, fx: Fx) {
        let h = self.conn.expect("conn");
        match fx {
            Fx::Established => {}
            Fx::FinWait1 | Fx::FinWait2 | Fx::Closing | Fx::TimeWait => {
                self.tcp.close(self.now, h).expect("close");
                recv!(self, fl(&[F, A]), 1, 1);
                self.sn = 2;
                match fx {
                    Fx::FinWait2 => send!(self, A, 1, 2),
                    Fx::Closing => {
                        send!(self, fl(&[F, A]), 1, 1);
                        recv!(self, A, 2, 2);
                        self.rn = 2;
                    }
                    Fx::TimeWait => {
                        send!(self, A, 1, 2);
                        send!(self, fl(&[F, A]), 1, 2);
                        recv!(self, A, 2, 2);
                        self.rn = 2;
                    }
                    _ => {}
                }
                // close() released the handle; follow the tuple.
                self.conn = None;
            }
            Fx::CloseWait | Fx::LastAck => {
                send!(self, fl(&[F, A]), 1, 1);
                recv!(self, A, 1, 2);
                self.rn = 2;
                if fx == Fx::LastAck {
                    self.tcp.close(self.now, h).expect("close");
                    recv!(self, fl(&[F, A]), 1, 2);
                    self.sn = 2;
                    self.conn = None;
                }
            }
            _ => unreachable!(),
        }
        assert_eq!(self.state(), fx.state(), "fixture {fx:?}");
    }

    pub fn listen(&mut self) {
        self.listener = Some(
            self.tcp
                .listen(self.now, SocketAddrV4::new(LOCAL, LPORT), 8)
                .expect("listen"),
        );
    }

    /// A passive open (ISS 1000, peer ISN 5000) under `profile` with SACK on and timestamps off,
    /// whose SYN offered SACK (RFC 2018 §2): SYN-ACK answered, nothing left to send.
    pub fn sack_permitted_passive_open(profile: &str) -> Kit {
        let mut p = test_policy(profile);
        p.sack = true;
        p.timestamps = false;
        let mut k = Kit::new(p, 1000, 5000);
        k.listen();
        let mut syn = k.seg(TcpFlags::SYN, 0, 0, b"");
        syn.options = vec![crate::wire::TcpOption::SackPermitted];
        k.inject(&syn);
        recv!(k, fl(&[TcpFlags::SYN, TcpFlags::ACK]), 0, 1);
        send!(k, TcpFlags::ACK, 1, 1);
        recv_nothing!(k);
        k
    }
}

impl Fx {
    pub const ALL: [Fx; 11] = [
        Fx::Closed,
        Fx::Listen,
        Fx::SynSent,
        Fx::SynReceived,
        Fx::Established,
        Fx::FinWait1,
        Fx::FinWait2,
        Fx::CloseWait,
        Fx::Closing,
        Fx::LastAck,
        Fx::TimeWait,
    ];
    pub fn state(self) -> State {
        State::ALL[Fx::ALL.iter().position(|f| *f == self).unwrap_or(0)]
    }
}
