//! TCP options in use: the SYN option layout of each profile (RFC 7323 §2.2, §3.2; RFC 2018 §2),
//! RFC 7323 timestamps: TSval from our clock, PAWS (§5.3) and RTTM (§4.1).

use super::kit::*;
use crate::tcp::{DropReason, SocketHandle, State, TcpEvent};
use crate::time::{Duration, Instant};
use crate::wire::{TcpFlags, TcpOption, TcpRepr};
use rstest::rstest;

const NOP: TcpOption = TcpOption::NoOp;

fn ts(tsval: u32, tsecr: u32) -> TcpOption {
    TcpOption::Timestamps { tsval, tsecr }
}

/// A segment from the peer carrying the timestamps option.
fn with_ts(k: &Kit, flags: TcpFlags, seq: u32, ack: u32, payload: &[u8], tsval: u32) -> TcpRepr {
    let mut s = k.seg(flags, seq, ack, payload);
    s.options = vec![NOP, NOP, ts(tsval, k.now.total_micros() as u32 / 1000)];
    s
}

/// Our SYN with window scale 7 and timestamps on (SACK as given): every option of the profile,
/// in its order and padding
/// (TSval is our clock in milliseconds, 1 s in the kit; TSecr 0).
#[rstest]
#[case("linux", true, vec![TcpOption::SackPermitted, ts(1000, 0), NOP, TcpOption::WindowScale(7)])]
#[case("freebsd", true, vec![NOP, TcpOption::WindowScale(7), TcpOption::SackPermitted, ts(1000, 0)])]
#[case("freebsd", false, vec![NOP, TcpOption::WindowScale(7), NOP, NOP, ts(1000, 0)])]
#[case("rfc9293", true, vec![NOP, TcpOption::WindowScale(7), NOP, NOP, TcpOption::SackPermitted, NOP, NOP, ts(1000, 0)])]
fn our_syn_carries_the_profile_options_in_its_layout(
    #[case] profile: &str,
    #[case] sack: bool,
    #[case] rest: Vec<TcpOption>,
) {
    let mut p = test_policy(profile);
    p.window_scale = Some(7);
    p.sack = sack;
    p.timestamps = true;
    let mss = p.mss;
    let mut k = Kit::fixture(Fx::SynSent, p, 1000, 5000);
    k.tcp.abort(k.now, k.conn.expect("conn")).expect("abort");
    while k.out().is_some() {}
    let h = k
        .tcp
        .connect(
            k.now,
            core::net::SocketAddrV4::new(LOCAL, 4001),
            core::net::SocketAddrV4::new(REMOTE, RPORT),
        )
        .expect("connect");
    let syn = k.out().expect("syn").seg;
    assert!(syn.flags.syn() && !syn.flags.ack());
    let mut want = vec![TcpOption::MaxSegmentSize(mss)];
    want.extend(rest);
    assert_eq!(syn.options, want);
    assert_eq!(k.tcp.state(h), Some(State::SynSent));
}

/// A SYN-ACK carries window scale, SACK-permitted and timestamps only when the SYN did
/// (RFC 7323 §1.3, §3.2; RFC 2018 §2): to a bare SYN, MSS alone.
#[test]
fn a_syn_ack_answers_only_the_options_the_syn_carried() {
    let mut p = test_policy("linux");
    p.window_scale = Some(7);
    let mss = p.mss;
    let mut k = Kit::new(p, 1000, 5000);
    k.listen();
    send!(k, S, 0, 0);
    let synack = recv!(k, fl(&[S, A]), 0, 1);
    assert_eq!(synack.options, vec![TcpOption::MaxSegmentSize(mss)]);
}

/// A passive open whose SYN carried timestamps (TSval 100): the SYN-ACK echoes it, and the
/// connection is ESTABLISHED with timestamps on (TS.Recent 101 after the ACK).
fn established_with_timestamps(profile: &str) -> (Kit, SocketHandle) {
    let mut p = test_policy(profile);
    p.timestamps = true;
    p.sack = false;
    let mut k = Kit::new(p, 1000, 5000);
    k.listen();
    let mut syn = k.seg(S, 0, 0, b"");
    syn.options = vec![ts(100, 0)];
    k.inject(&syn);
    let synack = recv!(k, fl(&[S, A]), 0, 1);
    assert_eq!(synack.timestamps(), Some((1000, 100)), "{synack:?}");
    let ack = with_ts(&k, A, 1, 1, b"", 101);
    k.inject(&ack);
    recv_nothing!(k);
    let l = k.listener.expect("listener");
    let h = k.tcp.accept(k.now, l).expect("accept");
    k.conn = Some(h);
    k.back_to_listen = false;
    k.tcp
        .set_option(h, crate::tcp::SocketOption::NoDelay(true))
        .expect("opt");
    (k, h)
}

/// RFC 7323 §5.3 PAWS: a segment whose TSval is older than TS.Recent is an old duplicate:
/// acknowledged and dropped. An equal TSval is not older (§5.3 R1: "less than").
#[test]
fn paws_drops_a_segment_with_an_older_tsval() {
    let (mut k, _) = established_with_timestamps("linux");
    let s = with_ts(&k, fl(&[P, A]), 1, 1, b"a", 101);
    k.inject(&s);
    let ack = recv!(k, A, 1, 2);
    assert_eq!(
        ack.timestamps(),
        Some((1000, 101)),
        "TSval is our clock, TSecr TS.Recent"
    );
    k.events();
    let old = with_ts(&k, fl(&[P, A]), 2, 1, b"b", 50);
    k.inject(&old);
    recv!(k, A, 1, 2);
    recv_nothing!(k);
    assert!(k.events().iter().any(|e| matches!(
        e,
        TcpEvent::SegmentDropped {
            reason: DropReason::Paws,
            ..
        }
    )));
}

/// RFC 7323 §4.1 RTTM: an ACK echoing the TSval of a retransmission still gives an RTT sample
/// (Karn's algorithm, RFC 6298 §3, only holds for the timed-segment method). The handshake's
/// sample was 0 (SRTT 0, RTO.min 200 ms on Linux); the retransmission leaves at 1.2 s with
/// TSval 1200 and its ACK comes 300 ms later: RTTVAR = 300/4, SRTT = 300/8, RTO = SRTT +
/// 4·RTTVAR = 337.5 ms (RFC 6298 §2.3), not the backed-off 400 ms.
#[test]
fn rttm_takes_a_sample_from_a_retransmission() {
    let (mut k, h) = established_with_timestamps("linux");
    let rto = k.tcp.tcb_info(h).expect("tcb").rto;
    assert_eq!(rto, Duration::from_millis(200));
    k.tcp.send(k.now, h, b"0123456789").expect("send");
    recv!(k, A, 1, 1);
    assert!(k.step(Instant::MAX));
    let re = recv!(k, A, 1, 1);
    assert_eq!(k.tcp.tcb_info(h).expect("tcb").rto, rto * 2);
    let (tsval, _) = re.timestamps().expect("TS on the retransmission");
    assert_eq!(tsval, 1200, "TSval is the clock when it leaves");
    k.advance(Duration::from_millis(300));
    let mut ack = k.seg(A, 1, 11, b"");
    ack.options = vec![NOP, NOP, ts(102, tsval)];
    k.inject(&ack);
    assert_eq!(
        k.tcp.tcb_info(h).expect("tcb").rto,
        Duration::from_micros(337_500)
    );
}

/// RFC 7323 §4.3: TS.Recent takes SEG.TSval only from a segment at or below Last.ACK.sent
/// (RCV.NXT): an out-of-order segment's newer TSval is not echoed, an in-order one's is.
#[test]
fn ts_recent_follows_in_order_segments_only() {
    let (mut k, _) = established_with_timestamps("linux");
    let ahead = with_ts(&k, fl(&[P, A]), 11, 1, b"later", 200);
    k.inject(&ahead);
    let dup = recv!(k, A, 1, 1);
    assert_eq!(dup.timestamps(), Some((1000, 101)));
    let next = with_ts(&k, fl(&[P, A]), 1, 1, b"0123456789", 150);
    k.inject(&next);
    let ack = recv!(k, A, 1, 16);
    assert_eq!(ack.timestamps(), Some((1000, 150)));
}

/// RFC 2018 §4: with SACK on, an ACK sent while out-of-order data is held carries a SACK
/// block for it; once the hole is filled the ACK carries none.
#[test]
fn sack_blocks_ride_on_acks_only_while_data_is_held() {
    let mut k = Kit::sack_permitted_passive_open("linux");
    send!(k, fl(&[P, A]), 11, 1, b"later");
    let dup = recv!(k, A, 1, 1);
    let (l, r) = (k.theirs(11).0, k.theirs(16).0);
    assert_eq!(
        dup.options,
        vec![NOP, NOP, TcpOption::SackRange(vec![(l, r)])]
    );
    send!(k, fl(&[P, A]), 1, 1, b"0123456789");
    let ack = recv!(k, A, 1, 16);
    assert!(ack.options.is_empty(), "{:?}", ack.options);
}

/// RFC 7323 §3.2: TSopt "MUST be sent in every non-<RST> segment ... and SHOULD be sent in an
/// <RST> segment". Our RSTs carry no options at all: an RST is judged by its sequence number
/// alone here (§5.3 R1 exempts RSTs from PAWS), and Linux's reply RSTs (`tcp_v4_send_reset`)
/// carry no TSopt either. (Linux's abort, `tcp_send_active_reset`, does carry one: a SHOULD
/// this stack leaves out.)
#[test]
fn our_rst_carries_no_timestamps() {
    let (mut k, h) = established_with_timestamps("linux");
    k.tcp.abort(k.now, h).expect("abort");
    let rst = recv!(k, fl(&[R, A]), 1, 1);
    assert!(rst.options.is_empty(), "{rst:?}");
}
