//! Two endpoints over an in-memory wire: segments pass between two `Tcp`s, time jumps to the
//! earliest deadline; optional seeded loss.

use crate::policy::{Profile, TcpPolicy};
use crate::rand::Rng;
use crate::tcp::{SocketHandle, State, Tcp, TcpEvent};
use crate::time::{Duration, Instant};
use core::net::{Ipv4Addr, SocketAddrV4};

pub const A_IP: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 1);
pub const B_IP: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 2);

pub struct Pair {
    pub a: Tcp,
    pub b: Tcp,
    pub now: Instant,
    pub loss: f64,
    pub rng: Rng,
    /// One-way delay.
    pub delay: Duration,
    /// (arrival time, to_b, segment) in flight.
    pub wire: Vec<(Instant, bool, crate::tcp::Outgoing)>,
    pub delivered: u64,
    pub lost: u64,
    pub events_a: Vec<TcpEvent>,
    pub events_b: Vec<TcpEvent>,
}

impl Pair {
    pub fn new(pa: TcpPolicy, pb: TcpPolicy) -> Pair {
        Pair {
            a: Tcp::new(pa, 1),
            b: Tcp::new(pb, 2),
            now: Instant::ZERO,
            loss: 0.0,
            rng: Rng::new(42),
            delay: Duration::from_millis(10),
            wire: Vec::new(),
            delivered: 0,
            lost: 0,
            events_a: Vec::new(),
            events_b: Vec::new(),
        }
    }

    fn flush(&mut self) {
        while let Some(o) = self.a.poll_transmit(self.now) {
            self.put(true, o);
        }
        while let Some(o) = self.b.poll_transmit(self.now) {
            self.put(false, o);
        }
        while let Some(e) = self.a.poll_event() {
            self.events_a.extend(super::kit::tcp_event(e));
        }
        while let Some(e) = self.b.poll_event() {
            self.events_b.extend(super::kit::tcp_event(e));
        }
    }

    fn put(&mut self, to_b: bool, o: crate::tcp::Outgoing) {
        if self.rng.chance(self.loss) {
            self.lost += 1;
        } else {
            self.wire.push((self.now + self.delay, to_b, o));
        }
    }

    /// One step: send what is pending, then jump to the next arrival or deadline. False when
    /// nothing is left to happen before `limit`.
    pub fn step(&mut self, limit: Instant) -> bool {
        self.flush();
        let next_wire = self.wire.iter().map(|w| w.0).min();
        let next_timer = [self.a.poll_at(), self.b.poll_at()]
            .into_iter()
            .flatten()
            .min();
        let next = match [next_wire, next_timer].into_iter().flatten().min() {
            Some(t) if t <= limit => t,
            _ => return false,
        };
        self.now = self.now.max(next);
        // Deliver everything due, in order of arrival.
        let mut due: Vec<_> = Vec::new();
        let mut i = 0;
        while i < self.wire.len() {
            if self.wire[i].0 <= self.now {
                due.push(self.wire.remove(i));
            } else {
                i += 1;
            }
        }
        for (_, to_b, o) in due {
            self.delivered += 1;
            if to_b {
                self.b.handle_segment(self.now, o.src, o.dst, &o.seg);
            } else {
                self.a.handle_segment(self.now, o.src, o.dst, &o.seg);
            }
        }
        self.a.handle_timeout(self.now);
        self.b.handle_timeout(self.now);
        self.flush();
        true
    }

    /// Step until `done` or `limit`; panics on livelock (too many steps).
    pub fn run_until(&mut self, limit: Instant, mut done: impl FnMut(&mut Pair) -> bool) -> bool {
        for _ in 0..5_000_000 {
            if done(self) {
                return true;
            }
            if !self.step(limit) {
                return done(self);
            }
        }
        panic!("livelock: too many steps");
    }

    /// a connects to b's listener; returns (a's socket, b's accepted socket).
    pub fn connect(&mut self) -> (SocketHandle, SocketHandle) {
        let l = self
            .b
            .listen(self.now, SocketAddrV4::new(B_IP, 80), 16)
            .expect("listen");
        let c = self
            .a
            .connect(
                self.now,
                SocketAddrV4::new(A_IP, 0),
                SocketAddrV4::new(B_IP, 80),
            )
            .expect("connect");
        let limit = self.now + Duration::from_secs(10);
        let mut accepted = None;
        self.run_until(limit, |p| {
            if accepted.is_none() {
                accepted = p.b.accept(p.now, l).ok();
            }
            accepted.is_some() && p.a.state(c) == Some(State::Established)
        });
        (c, accepted.expect("accepted"))
    }
}

fn policy(name: &str) -> TcpPolicy {
    Profile::named(name).expect("profile").tcp
}

/// Push `data` from `tx` on side a to side b's `rx`, collecting what arrives.
fn transfer(
    p: &mut Pair,
    tx: SocketHandle,
    rx: SocketHandle,
    data: &[u8],
    limit: Instant,
) -> Vec<u8> {
    let mut sent = 0;
    let mut got = Vec::with_capacity(data.len());
    let mut buf = vec![0u8; 65536];
    p.run_until(limit, |p| {
        while sent < data.len() {
            match p.a.send(p.now, tx, &data[sent..]) {
                Ok(n) => sent += n,
                Err(_) => break,
            }
        }
        while let Ok(n) = p.b.recv(p.now, rx, &mut buf) {
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        got.len() >= data.len()
    });
    got
}

fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut r = Rng::new(seed);
    (0..len).map(|_| r.next_u32() as u8).collect()
}

#[test]
fn ten_mib_transfer_is_byte_identical() {
    let mut p = Pair::new(policy("linux"), policy("linux"));
    let (c, s) = p.connect();
    let data = pattern(10 << 20, 1);
    let got = transfer(&mut p, c, s, &data, Instant::from_secs(3600));
    assert_eq!(got.len(), data.len());
    assert!(got == data, "payload differs");
}

#[test]
fn ten_mib_transfer_survives_five_percent_loss() {
    let mut p = Pair::new(policy("linux"), policy("linux"));
    let (c, s) = p.connect();
    p.loss = 0.05;
    let data = pattern(10 << 20, 2);
    let got = transfer(&mut p, c, s, &data, Instant::from_secs(100_000));
    assert!(p.lost > 0, "loss model dropped nothing");
    assert_eq!(got.len(), data.len());
    assert!(got == data, "payload differs");
    assert!(p
        .events_a
        .iter()
        .any(|e| matches!(e, TcpEvent::Retransmit { .. })));
}

#[test]
fn transfer_with_window_scaling_and_rfc9293_profile() {
    let mut pa = policy("rfc9293");
    pa.window_scale = Some(4);
    pa.rcv_buf = 1 << 20;
    let mut pb = pa.clone();
    pb.rcv_buf = 1 << 20;
    let mut p = Pair::new(pa, pb);
    let (c, s) = p.connect();
    let data = pattern(3 << 20, 3);
    let got = transfer(&mut p, c, s, &data, Instant::from_secs(3600));
    assert!(got == data);
    let info = p.a.tcb_info(c).expect("info");
    assert!(
        info.snd_wnd > 65_535,
        "window scaling in effect: {}",
        info.snd_wnd
    );
}

fn states(evs: &[TcpEvent]) -> Vec<State> {
    evs.iter()
        .filter_map(|e| match e {
            TcpEvent::StateChange { to, .. } => Some(*to),
            _ => None,
        })
        .collect()
}

#[test]
fn clean_close_through_every_closing_state() {
    let mut p = Pair::new(policy("rfc9293"), policy("rfc9293"));
    let (c, s) = p.connect();
    p.a.close(p.now, c).expect("close");
    let limit = p.now + Duration::from_secs(5);
    p.run_until(limit, |p| p.b.state(s) == Some(State::CloseWait));
    let mut buf = [0u8; 8];
    assert_eq!(p.b.recv(p.now, s, &mut buf), Ok(0), "EOF after FIN");
    p.b.close(p.now, s).expect("close");
    let limit = p.now + Duration::from_secs(1000);
    p.run_until(limit, |p| {
        p.a.connections().count() == 0 && p.b.connections().count() == 0
    });
    let sa = states(&p.events_a);
    let sb = states(&p.events_b);
    assert_eq!(
        sa,
        vec![
            State::SynSent,
            State::Established,
            State::FinWait1,
            State::FinWait2,
            State::TimeWait,
            State::Closed
        ]
    );
    assert_eq!(
        sb,
        vec![
            State::SynReceived,
            State::Established,
            State::CloseWait,
            State::LastAck,
            State::Closed
        ]
    );
    // TIME-WAIT lasted exactly 2·MSL.
    let tw = p.events_a.iter().find_map(|e| match e {
        TcpEvent::TimeWaitEnded { after, early, .. } => Some((*after, *early)),
        _ => None,
    });
    assert_eq!(tw, Some((Duration::from_secs(240), false)));
}

#[test]
fn simultaneous_close_goes_through_closing() {
    let mut p = Pair::new(policy("rfc9293"), policy("rfc9293"));
    let (c, s) = p.connect();
    p.a.close(p.now, c).expect("close");
    p.b.close(p.now, s).expect("close");
    let limit = p.now + Duration::from_secs(1000);
    p.run_until(limit, |p| {
        p.a.connections().count() == 0 && p.b.connections().count() == 0
    });
    assert!(states(&p.events_a).contains(&State::Closing));
    assert!(states(&p.events_b).contains(&State::Closing));
    assert_eq!(states(&p.events_a).last(), Some(&State::Closed));
    assert_eq!(states(&p.events_b).last(), Some(&State::Closed));
}

#[test]
fn half_close_lets_the_other_side_keep_sending() {
    let mut p = Pair::new(policy("linux"), policy("linux"));
    let (c, s) = p.connect();
    p.a.shutdown_write(p.now, c).expect("shutdown");
    let limit = p.now + Duration::from_secs(5);
    p.run_until(limit, |p| p.b.state(s) == Some(State::CloseWait));
    assert_eq!(p.b.send(p.now, s, b"still talking"), Ok(13));
    let mut got = Vec::new();
    let mut buf = [0u8; 64];
    p.run_until(limit, |p| {
        if let Ok(n) = p.a.recv(p.now, c, &mut buf) {
            got.extend_from_slice(&buf[..n]);
        }
        got.len() == 13
    });
    assert_eq!(got, b"still talking");
    assert_eq!(p.a.state(c), Some(State::FinWait2));
}

#[test]
fn simultaneous_open() {
    let mut p = Pair::new(policy("rfc9293"), policy("rfc9293"));
    let ca =
        p.a.connect(
            p.now,
            SocketAddrV4::new(A_IP, 1111),
            SocketAddrV4::new(B_IP, 2222),
        )
        .expect("a");
    let cb =
        p.b.connect(
            p.now,
            SocketAddrV4::new(B_IP, 2222),
            SocketAddrV4::new(A_IP, 1111),
        )
        .expect("b");
    let limit = p.now + Duration::from_secs(30);
    let ok = p.run_until(limit, |p| {
        p.a.state(ca) == Some(State::Established) && p.b.state(cb) == Some(State::Established)
    });
    assert!(ok);
    assert!(states(&p.events_a).contains(&State::SynReceived));
}

#[test]
fn refused_connect_reports_once() {
    let mut p = Pair::new(policy("rfc9293"), policy("rfc9293"));
    let c =
        p.a.connect(
            p.now,
            SocketAddrV4::new(A_IP, 0),
            SocketAddrV4::new(B_IP, 81),
        )
        .expect("connect");
    let limit = p.now + Duration::from_secs(5);
    p.run_until(limit, |p| p.a.state(c) == Some(State::Closed));
    assert_eq!(
        p.a.send(p.now, c, b"x"),
        Err(crate::tcp::SendError::ConnectionRefused)
    );
    assert_eq!(
        p.a.send(p.now, c, b"x"),
        Err(crate::tcp::SendError::NotConnected)
    );
    assert_eq!(p.a.take_error(c), None);
}

#[test]
fn zero_window_is_probed_until_the_reader_drains() {
    for form in ["data-byte", "una-minus-one"] {
        let mut pb = policy("linux");
        pb.rcv_buf = 4096;
        pb.window_scale = None;
        let mut pa = pb.clone();
        let mut prof = Profile::linux();
        prof.set("tcp.zero_window_probe", form).expect("knob");
        pa.zero_window_probe = prof.tcp.zero_window_probe;
        let mut p = Pair::new(pa, pb);
        let (c, s) = p.connect();
        let data = pattern(20_000, 4);
        let mut sent = 0;
        let limit = p.now + Duration::from_secs(60);
        // Fill the receiver without reading.
        p.run_until(limit, |p| {
            if sent < data.len() {
                if let Ok(n) = p.a.send(p.now, c, &data[sent..]) {
                    sent += n;
                }
            }
            false
        });
        assert_eq!(p.b.tcb_info(s).expect("b").rcv_wnd, 0, "{form}");
        assert!(
            p.events_a
                .iter()
                .any(|e| matches!(e, TcpEvent::ZeroWindowProbe { .. })),
            "{form}: persist probes"
        );
        assert_eq!(
            p.a.state(c),
            Some(State::Established),
            "{form}: probing never gives up"
        );
        // Now read everything.
        let mut got = Vec::new();
        let mut buf = vec![0u8; 8192];
        let limit = p.now + Duration::from_secs(600);
        p.run_until(limit, |p| {
            if sent < data.len() {
                if let Ok(n) = p.a.send(p.now, c, &data[sent..]) {
                    sent += n;
                }
            }
            while let Ok(n) = p.b.recv(p.now, s, &mut buf) {
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&buf[..n]);
            }
            got.len() == data.len()
        });
        assert!(got == data, "{form}: data intact");
    }
}

#[test]
fn nagle_holds_small_segments_nodelay_does_not() {
    for nodelay in [false, true] {
        let mut p = Pair::new(policy("linux"), policy("linux"));
        let (c, _s) = p.connect();
        p.a.set_option(c, crate::tcp::SocketOption::NoDelay(nodelay))
            .expect("opt");
        p.a.send(p.now, c, b"a").expect("send");
        let first = p.a.poll_transmit(p.now).expect("first small segment goes");
        assert_eq!(first.seg.payload, b"a");
        p.a.send(p.now, c, b"b").expect("send");
        let second = p.a.poll_transmit(p.now);
        assert_eq!(second.is_some(), nodelay, "nodelay={nodelay}");
    }
}
