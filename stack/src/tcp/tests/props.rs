//! proptest: random segments, user calls and timer jumps against a TCB in each of the 11 states,
//! with ISNs near 2^32−1 so comparisons cross the wrap. Invariants: no panic; SND.UNA ≤ SND.NXT;
//! never an RST in reply to an RST; RCV.NXT only moves forward; TIME-WAIT ends after exactly
//! 2·MSL unless an event says why it ended early.

use super::kit::*;
use crate::tcp::{SocketHandle, State, TcpEvent, TimeWaitCause};
use crate::time::Duration;
use crate::wire::{SeqNumber, TcpFlags};
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Op {
    Seg {
        flags: u16,
        seq_off: i32,
        ack_off: i32,
        len: usize,
        window: u16,
    },
    Advance(u64),
    Send(usize),
    Recv,
    Close,
    Abort,
    KeepAlive,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (
            0u16..64,
            prop_oneof![Just(0i32), -3i32..3, -70_000i32..70_000, any::<i32>()],
            prop_oneof![Just(0i32), -3i32..3, -70_000i32..70_000, any::<i32>()],
            prop_oneof![Just(0usize), 1usize..20, Just(1460usize)],
            prop_oneof![Just(0u16), Just(1u16), Just(65535u16), any::<u16>()],
        )
            .prop_map(|(flags, seq_off, ack_off, len, window)| Op::Seg {
                flags,
                seq_off,
                ack_off,
                len,
                window
            }),
        2 => prop_oneof![1u64..500, 500u64..300_000, Just(240_000u64)].prop_map(Op::Advance),
        1 => (1usize..3000).prop_map(Op::Send),
        1 => Just(Op::Recv),
        1 => Just(Op::Close),
        1 => Just(Op::KeepAlive),
        1 => Just(Op::Abort),
    ]
}

fn fixture() -> impl Strategy<Value = Fx> {
    (0usize..11).prop_map(|i| Fx::ALL[i])
}

fn isns() -> impl Strategy<Value = (u32, u32)> {
    prop_oneof![
        Just((u32::MAX, u32::MAX - 1)),
        (u32::MAX - 3000..=u32::MAX, u32::MAX - 3000..=u32::MAX),
        (any::<u32>(), any::<u32>()),
    ]
}

fn profile() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        Just("rfc793"),
        Just("rfc1337"),
        Just("rfc5961"),
        Just("linux"),
        Just("windows"),
        Just("hardened")
    ]
}

fn rel(base: SeqNumber, off: i32) -> u32 {
    base.0.wrapping_add(off as u32)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, .. ProptestConfig::default() })]

    #[test]
    fn invariants_hold(fx in fixture(), (iss, peer) in isns(), prof in profile(),
                       ops in proptest::collection::vec(op(), 1..40)) {
        let policy = test_policy(prof);
        let two_msl = policy.msl * 2;
        let mut k = Kit::fixture(fx, policy, iss, peer);
        let mut last_rcv: Option<(SocketHandle, SeqNumber)> = None;
        let mut tw_left = 0usize;
        let mut tw_ended = 0usize;
        for op in ops {
            let conn = k.tcp.lookup(k.tuple());
            let info = conn.and_then(|h| k.tcp.tcb_info(h));
            let (rn, sn) = info.map_or((k.theirs(k.rn), k.ours(k.sn)), |i| (i.rcv_nxt, i.snd_nxt));
            let mut injected_rst = false;
            match op {
                Op::Seg { flags, seq_off, ack_off, len, window } => {
                    let mut s = k.seg(TcpFlags(flags), 0, 0, &vec![0x5a; len]);
                    s.seq = SeqNumber(rel(rn, seq_off));
                    s.ack = SeqNumber(rel(sn, ack_off));
                    s.window = window;
                    injected_rst = s.flags.rst();
                    k.inject(&s);
                }
                Op::Advance(ms) => k.advance(Duration::from_millis(ms)),
                Op::Send(n) => { if let Some(h) = k.conn { let _ = k.tcp.send(k.now, h, &vec![1; n]); } }
                Op::Recv => { if let Some(h) = k.conn { let mut b = [0u8; 512]; let _ = k.tcp.recv(k.now, h, &mut b); } }
                Op::Close => { if let Some(h) = k.conn.take() { let _ = k.tcp.close(k.now, h); } }
                Op::Abort => { if let Some(h) = k.conn { let _ = k.tcp.abort(k.now, h); } }
                Op::KeepAlive => { if let Some(h) = k.conn { let _ = k.tcp.set_option(h, crate::tcp::SocketOption::KeepAlive(true)); } }
            }
            while let Some(o) = k.out() {
                if injected_rst {
                    prop_assert!(!o.seg.flags.rst(), "RST in reply to RST: {:?}", o.seg);
                }
            }
            for e in k.events() {
                match e {
                    TcpEvent::StateChange { from: State::TimeWait, .. } => tw_left += 1,
                    TcpEvent::TimeWaitEnded { after, early, cause, .. } => {
                        tw_ended += 1;
                        if early {
                            prop_assert!(cause != TimeWaitCause::Expired);
                        } else {
                            prop_assert_eq!(after, two_msl);
                            prop_assert_eq!(cause, TimeWaitCause::Expired);
                        }
                    }
                    _ => {}
                }
            }
            prop_assert_eq!(tw_left, tw_ended, "TIME-WAIT left without saying why");
            for (h, _, _) in k.tcp.connections().collect::<Vec<_>>() {
                let i = k.tcp.tcb_info(h).expect("info");
                prop_assert!(i.snd_una.le(i.snd_nxt), "SND.UNA > SND.NXT: {:?}", i);
            }
            if let Some(h) = k.tcp.lookup(k.tuple()) {
                let i = k.tcp.tcb_info(h).expect("info");
                if let Some((ph, prev)) = last_rcv {
                    if ph == h && i.state.is_synchronized() {
                        prop_assert!(i.rcv_nxt.ge(prev), "RCV.NXT went back: {} -> {}", prev, i.rcv_nxt);
                    }
                }
                if i.state.is_synchronized() || i.state == State::SynReceived {
                    last_rcv = Some((h, i.rcv_nxt));
                }
            }
        }
    }
}
