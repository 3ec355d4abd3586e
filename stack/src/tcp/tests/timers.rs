//! Retransmission (RFC 6298), R2 / SYN retries (RFC 1122 §4.2.3.5), delayed ACK, user timeout,
//! RFC 5961 §7 rate limit.

use super::kit::*;
use crate::tcp::{DropCause, SocketError, SocketHandle, SocketOption, State, TcpEvent};
use crate::time::{Duration, Instant};
use rstest::rstest;

/// The linux profile with a delayed-ACK timeout of `ms` and `quickack` segments ACKed at once
/// first (Linux's quick-ACK mode; 0 delays from the first segment).
fn linux_delayed_ack(ms: u64, quickack: u32) -> crate::policy::TcpPolicy {
    let mut p = test_policy("linux");
    p.delayed_ack = Some(Duration::from_millis(ms));
    p.quickack = quickack;
    p
}

#[test]
fn syn_retries_back_off_then_time_out() {
    // linux: RTO 1 s initial, doubling, max 120 s; tcp_syn_retries 6 -> SYNs at 0,1,3,7,15,31,63,
    // dead at 127 s.
    let mut k = Kit::fixture(Fx::SynSent, test_policy("linux"), 1000, 5000);
    let h = k.conn.expect("conn");
    let t0 = k.now;
    let mut at = Vec::new();
    while k.step(Instant::MAX) {
        while let Some(o) = k.out() {
            assert!(o.seg.flags.syn());
            at.push((k.now - t0).secs());
        }
    }
    assert_eq!(at, vec![1, 3, 7, 15, 31, 63]);
    assert_eq!((k.now - t0).secs(), 127);
    assert_eq!(k.tcp.state(h), Some(State::Closed));
    assert_eq!(k.tcp.take_error(h), Some(SocketError::TimedOut));
}

/// RFC 9293 §3.8.3 MUST-23: "R2 for a SYN segment MUST be set large enough to provide
/// retransmission of the segment for at least 3 minutes" in every RFC profile; Linux (127 s) and
/// Windows (7 s) keep their own documented counts.
#[rstest]
#[case::rfc793("rfc793", 183, 8)]
#[case::rfc1337("rfc1337", 183, 8)]
#[case::rfc5961("rfc5961", 183, 8)]
#[case::rfc9293("rfc9293", 183, 8)]
#[case::hardened("hardened", 183, 8)]
#[case::linux("linux", 127, 7)]
#[case::windows("windows", 7, 3)]
fn syn_give_up_time_per_profile(#[case] profile: &str, #[case] secs: u64, #[case] syns: usize) {
    let mut k = Kit::new(test_policy(profile), 1000, 5000);
    let t0 = k.now;
    let h = k
        .tcp
        .connect(
            k.now,
            core::net::SocketAddrV4::new(LOCAL, 4000),
            core::net::SocketAddrV4::new(REMOTE, RPORT),
        )
        .expect("connect");
    let mut sent = Vec::new();
    loop {
        while let Some(o) = k.out() {
            assert!(o.seg.flags.syn());
            sent.push((k.now - t0).secs());
        }
        if !k.step(Instant::MAX) {
            break;
        }
    }
    assert_eq!(sent.len(), syns, "{sent:?}");
    assert_eq!((k.now - t0).secs(), secs);
    if !matches!(profile, "linux" | "windows") {
        assert!(k.now - t0 >= Duration::from_secs(180));
    }
    assert_eq!(k.tcp.take_error(h), Some(SocketError::TimedOut));
}

#[rstest]
#[case::windows_5("windows", 5)]
#[case::linux_15("linux", 15)]
fn data_retransmissions_give_up_after_r2(#[case] profile: &str, #[case] retries: u32) {
    let mut k = Kit::fixture(Fx::Established, test_policy(profile), 1000, 5000);
    let h = k.conn.expect("conn");
    k.tcp.send(k.now, h, b"hello").expect("send");
    recv!(k, fl(&[P, A]), 1, 1);
    let mut attempts = 0;
    while k.step(Instant::MAX) {
        while let Some(o) = k.out() {
            assert_eq!(o.seg.payload, b"hello");
            attempts += 1;
        }
    }
    assert_eq!(attempts, retries);
    assert_eq!(k.tcp.take_error(h), Some(SocketError::TimedOut));
    let evs = k.events();
    assert!(evs.iter().any(|e| matches!(
        e,
        TcpEvent::ConnectionDropped {
            reason: DropCause::RetransmitTimeout,
            ..
        }
    )));
    let n = evs
        .iter()
        .filter(|e| matches!(e, TcpEvent::Retransmit { .. }))
        .count();
    assert_eq!(n as u32, retries);
}

#[test]
fn rto_is_clamped_to_rto_max() {
    let mut p = test_policy("rfc9293");
    p.rto_max = Duration::from_secs(4);
    let mut k = Kit::fixture(Fx::Established, p, 1000, 5000);
    let h = k.conn.expect("conn");
    k.tcp.send(k.now, h, b"x").expect("send");
    recv!(k, fl(&[P, A]), 1, 1);
    let mut last = k.now;
    let mut gaps = Vec::new();
    for _ in 0..5 {
        assert!(k.step(Instant::MAX));
        k.expect();
        gaps.push((k.now - last).secs());
        last = k.now;
    }
    assert_eq!(gaps, vec![1, 2, 4, 4, 4]);
}

/// RFC 6298 §3 (Karn): "RTT samples MUST NOT be made using segments that were retransmitted".
/// A retransmission that also carries new data (Nagle held 300 bytes behind the first 100) is
/// not timed either (Linux takes no sample from an ACK covering retransmitted data), so its ACK
/// leaves the backed-off RTO (§5.5) in place.
#[test]
fn a_retransmission_carrying_new_data_is_not_timed() {
    let mut k = Kit::fixture(Fx::Established, test_policy("rfc9293"), 1000, 5000);
    let h = k.conn.expect("conn");
    k.tcp.send(k.now, h, &[1; 100]).expect("send");
    assert_eq!(recv!(k, A, 1, 1).payload.len(), 100);
    k.tcp.send(k.now, h, &[2; 300]).expect("send");
    recv_nothing!(k);
    assert!(k.step(Instant::MAX), "the retransmission timer");
    assert_eq!(recv!(k, A, 1, 1).payload.len(), 400);
    k.advance(Duration::from_millis(100));
    send!(k, A, 1, 401);
    assert_eq!(k.tcp.tcb_info(h).expect("info").rto, Duration::from_secs(2));
}

#[test]
fn rtt_sample_sets_rto_per_rfc6298() {
    let mut k = Kit::new(test_policy("linux"), 1000, 5000);
    k.listen();
    send!(k, S, 0, 0);
    recv!(k, fl(&[S, A]), 0, 1);
    k.advance(Duration::from_millis(100));
    send!(k, A, 1, 1);
    let h = k.tcp.lookup(k.tuple()).expect("conn");
    // First sample R = 100 ms (RFC 6298 §2.2): SRTT = R, RTTVAR = R/2,
    // RTO = SRTT + max(G, 4*RTTVAR) = 300 ms (above Linux's 200 ms floor).
    assert_eq!(
        k.tcp.tcb_info(h).expect("info").rto,
        Duration::from_millis(300)
    );
    // Second sample R = 20 ms (§2.3): RTTVAR = 3/4*50 + 1/4*80 = 57.5, SRTT = 7/8*100 + 20/8 = 90,
    // RTO = 90 + 230 = 320 ms.
    let c = k.tcp.accept(k.now, k.listener.expect("l")).expect("accept");
    k.tcp.send(k.now, c, b"abc").expect("send");
    recv!(k, fl(&[P, A]), 1, 1);
    k.advance(Duration::from_millis(20));
    send!(k, A, 1, 4);
    assert_eq!(
        k.tcp.tcb_info(c).expect("info").rto,
        Duration::from_millis(320)
    );
}

#[test]
fn delayed_ack_waits_then_fires() {
    // Delayed ACK from the first segment: Linux's quick-ACK mode off.
    let p = linux_delayed_ack(40, 0);
    let mut k = Kit::fixture(Fx::Established, p, 1000, 5000);
    send!(k, fl(&[P, A]), 1, 1, b"one");
    recv_nothing!(k);
    assert_eq!(k.tcp.poll_at(), Some(k.now + Duration::from_millis(40)));
    assert!(k.step(Instant::MAX));
    recv!(k, A, 1, 4);
}

#[test]
fn delayed_ack_acks_every_second_segment() {
    // Delayed ACK from the first segment: Linux's quick-ACK mode off.
    let p = linux_delayed_ack(200, 0);
    let mut k = Kit::fixture(Fx::Established, p, 1000, 5000);
    send!(k, fl(&[P, A]), 1, 1, b"one");
    recv_nothing!(k);
    send!(k, fl(&[P, A]), 4, 1, b"two");
    recv!(k, A, 1, 7);
}

/// Linux quick-ACK mode (`quickack`): the first data is ACKed at once; a reply within the
/// delayed-ACK timeout makes the connection interactive and the next ACK waits; a reply one full
/// timeout later does not (tcp_event_data_sent: `now - lrcvtime < ato`).
#[rstest]
#[case::within_the_timeout(10, true)]
#[case::one_timeout_later(40, false)]
fn quickack_then_pingpong_delays(#[case] reply_ms: u64, #[case] interactive: bool) {
    let p = linux_delayed_ack(40, 16);
    let mut k = Kit::fixture(Fx::Established, p, 1000, 5000);
    let c = k.conn.expect("conn");
    send!(k, fl(&[P, A]), 1, 1, b"one");
    recv!(k, A, 1, 4);
    k.advance(Duration::from_millis(reply_ms));
    k.tcp.send(k.now, c, b"re").expect("send");
    recv!(k, fl(&[P, A]), 1, 4);
    send!(k, fl(&[P, A]), 4, 3, b"two");
    if interactive {
        recv_nothing!(k);
        assert_eq!(k.tcp.poll_at(), Some(k.now + Duration::from_millis(40)));
    } else {
        recv!(k, A, 3, 7);
    }
}

#[test]
fn user_timeout_aborts_unacknowledged_data() {
    let mut k = Kit::fixture(Fx::Established, test_policy("linux"), 1000, 5000);
    let h = k.conn.expect("conn");
    k.tcp
        .set_option(h, SocketOption::UserTimeout(Duration::from_secs(5)))
        .expect("opt");
    let t0 = k.now;
    k.tcp.send(k.now, h, b"data").expect("send");
    recv!(k, fl(&[P, A]), 1, 1);
    while k.step(Instant::MAX) {
        while k.out().is_some() {}
    }
    assert_eq!(k.now - t0, Duration::from_secs(5));
    assert_eq!(k.tcp.take_error(h), Some(SocketError::TimedOut));
    assert!(k.events().iter().any(|e| matches!(
        e,
        TcpEvent::ConnectionDropped {
            reason: DropCause::UserTimeout,
            ..
        }
    )));
}

#[test]
fn challenge_acks_are_rate_limited() {
    let mut p = test_policy("rfc5961");
    p.challenge_ack_limit = 3;
    let mut k = Kit::fixture(Fx::Established, p, 1000, 5000);
    let mut acks = 0;
    for i in 0..10 {
        send!(k, R, 100 + i, 0);
        while k.out().is_some() {
            acks += 1;
        }
    }
    assert_eq!(acks, 3);
    k.advance(Duration::from_secs(1));
    send!(k, R, 100, 0);
    assert!(k.out().is_some(), "a new second allows more");
    assert_eq!(k.state(), State::Established);
}

#[test]
fn overlapping_retransmission_is_trimmed() {
    let mut k = Kit::fixture(Fx::Established, test_policy("rfc9293"), 1000, 5000);
    let h = k.conn.expect("conn");
    send!(k, fl(&[P, A]), 1, 1, b"abcd");
    recv!(k, A, 1, 5);
    send!(k, fl(&[P, A]), 3, 1, b"cdef");
    recv!(k, A, 1, 7);
    let mut buf = [0u8; 16];
    let n = k.tcp.recv(k.now, h, &mut buf).expect("recv");
    assert_eq!(&buf[..n], b"abcdef");
}

#[test]
fn zero_receive_window_accepts_only_acks() {
    let mut p = test_policy("rfc9293");
    p.rcv_buf = 4;
    let mut k = Kit::fixture(Fx::Established, p, 1000, 5000);
    send!(k, fl(&[P, A]), 1, 1, b"full");
    let a = recv!(k, A, 1, 5);
    assert_eq!(a.window, 0);
    // RFC 9293 §3.10.7.4 first check, window 0 and SEG.LEN > 0: not acceptable -> ACK.
    send!(k, fl(&[P, A]), 5, 1, b"x");
    recv!(k, A, 1, 5);
    assert_eq!(k.state(), State::Established);
}

#[test]
fn connect_errors_and_ephemeral_ports_are_deterministic() {
    use core::net::SocketAddrV4;
    let mut a = Kit::new(test_policy("rfc9293"), 1, 1);
    let mut b = Kit::new(test_policy("rfc9293"), 1, 1);
    let remote = SocketAddrV4::new(REMOTE, 80);
    let ha = a
        .tcp
        .connect(a.now, SocketAddrV4::new(LOCAL, 0), remote)
        .expect("a");
    let hb = b
        .tcp
        .connect(b.now, SocketAddrV4::new(LOCAL, 0), remote)
        .expect("b");
    let pa = a.tcp.four_tuple(ha).expect("tuple").local.port();
    assert_eq!(pa, b.tcp.four_tuple(hb).expect("tuple").local.port());
    assert!(pa >= 49152);
    assert_eq!(
        a.tcp.connect(a.now, SocketAddrV4::new(LOCAL, pa), remote),
        Err(crate::tcp::ConnectError::AddressInUse)
    );
    assert_eq!(
        a.tcp.connect(
            a.now,
            SocketAddrV4::new(LOCAL, 0),
            SocketAddrV4::new(REMOTE, 0)
        ),
        Err(crate::tcp::ConnectError::InvalidRemote)
    );
}

#[test]
fn listen_errors() {
    use crate::tcp::ListenError;
    use core::net::SocketAddrV4;
    let mut k = Kit::new(test_policy("rfc9293"), 1, 1);
    let addr = SocketAddrV4::new(LOCAL, 80);
    let l = k.tcp.listen(k.now, addr, 1).expect("listen");
    assert_eq!(k.tcp.listen(k.now, addr, 1), Err(ListenError::AddressInUse));
    assert_eq!(
        k.tcp.listen(k.now, SocketAddrV4::new(LOCAL, 0), 1),
        Err(ListenError::InvalidPort)
    );
    assert_eq!(
        k.tcp.listen(k.now, SocketAddrV4::new(LOCAL, 81), 0),
        Err(ListenError::InvalidBacklog)
    );
    assert_eq!(
        k.tcp.accept(k.now, l),
        Err(crate::tcp::AcceptError::WouldBlock)
    );
    // Backlog 1: the second SYN from another port is dropped.
    k.listener = Some(l);
    send!(k, S, 0, 0);
    k.expect();
    let mut other = k.seg(S, 0, 0, b"");
    other.src_port = 5001;
    k.inject(&other);
    recv_nothing!(k);
    assert!(k.events().iter().any(|e| matches!(
        e,
        TcpEvent::SegmentDropped {
            reason: crate::tcp::DropReason::BacklogFull,
            ..
        }
    )));
}

#[test]
fn closing_a_listener_resets_unaccepted_connections() {
    let mut k = Kit::fixture(Fx::SynReceived, test_policy("rfc9293"), 1000, 5000);
    send!(k, A, 1, 1);
    let l = k.listener.expect("l");
    k.tcp.close(k.now, l).expect("close");
    let r = k.expect();
    assert!(r.flags.rst());
    assert_eq!(k.tcp.connections().count(), 0);
}

#[test]
fn event_lines_are_single_line() {
    let mut k = Kit::fixture(Fx::TimeWait, test_policy("rfc793"), 1000, 5000);
    send!(k, R, 2, 0);
    k.advance(Duration::from_secs(1));
    let mut saw = 0;
    while let Some(e) = k.tcp.poll_event() {
        let s = crate::Event::from(e).to_string();
        assert!(!s.contains('\n'));
        assert!(s.contains("tcp "));
        saw += 1;
    }
    assert!(saw >= 2);
}

/// An established connection (rfc9293 profile, Nagle off) with a 10 s user timeout that has just
/// sent 1000 bytes as two segments (536 + 464): the start of both user-timeout tests below.
fn two_segments_in_flight_with_a_10s_user_timeout() -> (Kit, SocketHandle, Instant) {
    let (mut k, h) = Kit::established_without_nagle(test_policy("rfc9293"));
    k.tcp
        .set_option(h, SocketOption::UserTimeout(Duration::from_secs(10)))
        .expect("opt");
    let t0 = k.now;
    k.send_two_segments(h, 1);
    (k, h, t0)
}

#[test]
fn user_timeout_restarts_on_a_partial_ack() {
    // RFC 5482 / RFC 9293 §3.8.3: the user timeout measures how long data stays unacknowledged;
    // an ACK for part of it restarts the clock for the rest.
    let (mut k, h, t0) = two_segments_in_flight_with_a_10s_user_timeout();
    k.advance(Duration::from_secs(6));
    while k.out().is_some() {}
    // The first segment is acknowledged at t0+6 s: the retransmission timer restarts with a
    // full RTO (RFC 6298 §5.3) and the 10 s count starts again.
    send!(k, A, 1, 537);
    while k.out().is_some() {}
    assert!(k.tcp.poll_at().is_some_and(|t| t > k.now));
    while k.step(Instant::MAX) {
        while k.out().is_some() {}
    }
    assert_eq!(k.now - t0, Duration::from_secs(16));
    assert_eq!(k.tcp.take_error(h), Some(SocketError::TimedOut));
}

#[test]
fn user_timeout_counts_from_a_partial_ack_with_nothing_left_to_send() {
    // Both segments are in flight and the first is acknowledged before any retransmission:
    // nothing new goes out, yet the user timeout still restarts from that ACK (not from the
    // next retransmission).
    let (mut k, h, t0) = two_segments_in_flight_with_a_10s_user_timeout();
    k.advance(Duration::from_millis(500));
    send!(k, A, 1, 537);
    recv_nothing!(k);
    while k.step(Instant::MAX) {
        while k.out().is_some() {}
    }
    assert_eq!(k.now - t0, Duration::from_millis(10_500));
    assert_eq!(k.tcp.take_error(h), Some(SocketError::TimedOut));
}

/// Linux quick-ACK mode's budget (tcp_input.c `tcp_incr_quickack`): the first data segment
/// grants min(16, max(2, RCV.WND / (2 * rcv_mss))) immediate ACKs (RCV.WND once its data is
/// queued); past them every second
/// segment is ACKed at once (RFC 1122 §4.2.3.2) and a lone one waits for the delayed-ACK timer.
/// After an idle gap longer than the RTO (strictly: `m > icsk_rto`) the budget is granted again.
#[test]
fn quickack_budget_follows_the_window_and_refills_after_idle() {
    let mut p = linux_delayed_ack(40, 16);
    p.rcv_buf = 4 * 2 * 536;
    let mut k = Kit::fixture(Fx::Established, p, 1000, 5000);
    let h = k.conn.expect("conn");
    // The window the first segment leaves (it is counted after its data is queued).
    let wnd = k.tcp.tcb_info(h).expect("tcb").rcv_wnd as usize - 536;
    let budget = (wnd / (2 * 536)).clamp(2, 16) as u32;
    assert!((2..8).contains(&budget), "window {wnd}: budget {budget}");
    let seg = [1u8; 536];
    let mut at = 1;
    for _ in 0..budget {
        send!(k, fl(&[P, A]), at, 1, &seg);
        at += 536;
        recv!(k, A, 1, at);
    }
    // Budget spent: a lone segment waits.
    send!(k, fl(&[P, A]), at, 1, &seg);
    let last = k.now;
    at += 536;
    recv_nothing!(k);
    k.advance(Duration::from_millis(40));
    recv!(k, A, 1, at);
    // Read it all. A gap of exactly one RTO is not "longer than the RTO" (`m > icsk_rto`): no
    // refill, the segment waits for the timer.
    let mut buf = vec![0u8; 8192];
    while k.tcp.recv(k.now, h, &mut buf).unwrap_or(0) > 0 {}
    while k.out().is_some() {}
    let rto = k.tcp.tcb_info(h).expect("tcb").rto;
    k.advance(last + rto - k.now);
    while k.out().is_some() {}
    send!(k, fl(&[P, A]), at, 1, &seg);
    at += 536;
    recv_nothing!(k);
    k.advance(Duration::from_millis(40));
    recv!(k, A, 1, at);
    // Idle for longer than the RTO: the next segment is ACKed at once.
    while k.tcp.recv(k.now, h, &mut buf).unwrap_or(0) > 0 {}
    while k.out().is_some() {}
    k.advance(rto + Duration::from_millis(1) - Duration::from_millis(40));
    while k.out().is_some() {}
    send!(k, fl(&[P, A]), at, 1, &seg);
    at += 536;
    recv!(k, A, 1, at);
}

/// RFC 9293 §3.10.4: CLOSE of a listener deletes it: its address is free to listen on again,
/// and the endpoint keeps no listener table once the last one is gone.
#[test]
fn closing_a_listener_frees_its_address() {
    use core::net::SocketAddrV4;
    let mut k = Kit::new(test_policy("rfc9293"), 1, 1);
    let addr = SocketAddrV4::new(LOCAL, 80);
    assert!(!k.tcp.has_listeners());
    let l = k.tcp.listen(k.now, addr, 1).expect("listen");
    assert!(k.tcp.has_listeners());
    k.tcp.close(k.now, l).expect("close the listener");
    let again = k
        .tcp
        .listen(k.now, addr, 1)
        .expect("the address is free again");
    assert_ne!(again, l, "a new handle");
    k.tcp.close(k.now, again).expect("close");
    assert!(!k.tcp.has_listeners(), "no listener table kept");
}

/// RFC 5482: the user timeout measures how long sent data stays unacknowledged. When the first
/// byte left as a zero-window probe (RFC 9293 §3.8.6.1, one byte of new data) and the window
/// then opens without acknowledging it, the data sent next starts the count.
#[test]
fn user_timeout_counts_the_data_sent_after_a_window_probe() {
    let (mut k, h) = data_waiting_on_a_zero_window("rfc9293");
    k.tcp
        .set_option(h, SocketOption::UserTimeout(Duration::from_secs(10)))
        .expect("opt");
    assert!(k.step(Instant::MAX), "the persist timer");
    let probe = recv!(k, A, 1, 1);
    assert_eq!(probe.payload.len(), 1);
    // The window opens; the probe byte stays unacknowledged and goes again with the rest.
    send!(k, A, 1, 1);
    let t0 = k.now;
    let all = recv!(k, A, 1, 1);
    assert_eq!(all.payload.len(), 100);
    while k.step(Instant::MAX) {
        while k.out().is_some() {}
    }
    assert_eq!(k.now - t0, Duration::from_secs(10));
    assert_eq!(k.tcp.take_error(h), Some(SocketError::TimedOut));
}

/// An ESTABLISHED kit (Nagle off) under `profile` whose peer shut its window before 100 bytes
/// were sent: the data waits for the persist timer (RFC 9293 §3.8.6.1), nothing leaves.
fn data_waiting_on_a_zero_window(profile: &str) -> (Kit, SocketHandle) {
    let (mut k, h) = Kit::established_without_nagle(test_policy(profile));
    let mut shut = k.seg(A, 1, 1, b"");
    shut.window = 0;
    k.inject(&shut);
    k.tcp.send(k.now, h, &[7; 100]).expect("send");
    recv_nothing!(k);
    (k, h)
}

/// RFC 9293 §3.8.6.1: the byte a zero-window probe carries is new data, so it moves SND.NXT:
/// a peer that takes it and reopens its window acknowledges it (not an ACK of unsent data),
/// and the rest of the data follows it.
#[test]
fn an_acknowledged_window_probe_byte_is_not_sent_again() {
    let (mut k, _) = data_waiting_on_a_zero_window("rfc9293");
    assert!(k.step(Instant::MAX), "the persist timer");
    assert_eq!(recv!(k, A, 1, 1).payload, [7]);
    send!(k, A, 1, 2);
    assert_eq!(recv!(k, A, 2, 1).payload.len(), 99);
    recv_nothing!(k);
}

/// RFC 9293 §3.8.6.1 / RFC 1122 §4.2.2.17: a zero window is probed one RTO after data waits,
/// then at doubling intervals; once the window opens, the retransmission timer runs one RTO
/// from the data sent (RFC 6298 §5.1).
#[test]
fn zero_window_probes_back_off_then_the_retransmission_timer_takes_over() {
    let (mut k, _) = data_waiting_on_a_zero_window("rfc9293");
    let rto = Duration::from_secs(1);
    for n in 0..3 {
        let at = k.now + rto * (1u64 << n);
        assert_eq!(k.tcp.poll_at(), Some(at), "probe {n}");
        assert!(k.step(Instant::MAX));
        let probe = recv!(k, A, 1, 1);
        assert_eq!(probe.payload.len(), 1);
    }
    send!(k, A, 1, 1);
    assert_eq!(recv!(k, A, 1, 1).payload.len(), 100);
    assert_eq!(k.tcp.poll_at(), Some(k.now + rto));
}

/// Linux quick-ACK budget (tcp_input.c `tcp_dec_quickack_mode`): only an ACK of received data
/// uses up a quick ACK; our own data segments with nothing new to acknowledge do not. Budget 2:
/// the first data segment takes one; after our reply (sent past the delayed-ACK timeout, so not
/// interactive) the next data segment is still ACKed at once.
#[test]
fn our_data_does_not_use_up_the_quickack_budget() {
    let p = linux_delayed_ack(40, 2);
    let (mut k, h) = Kit::established_without_nagle(p);
    send!(k, fl(&[P, A]), 1, 1, b"ping");
    recv!(k, A, 1, 5);
    k.advance(Duration::from_millis(50));
    k.tcp.send(k.now, h, b"0123456789").expect("send");
    recv!(k, A, 1, 5);
    send!(k, fl(&[P, A]), 5, 11, b"pong");
    recv!(k, A, 11, 9);
}

/// The Linux profile probes a zero window with `<SEQ=SND.UNA-1><CTL=ACK>` and no data
/// (tcp_output.c `tcp_xmit_probe_skb`): an old sequence number, which the receiver answers
/// with an ACK carrying its current window (RFC 9293 §3.10.7.4 first check).
#[test]
fn linux_probes_a_zero_window_with_an_old_sequence_number() {
    let (mut k, _) = data_waiting_on_a_zero_window("linux");
    assert!(k.step(Instant::MAX), "the persist timer");
    let probe = recv!(k, A, 0, 1);
    assert!(probe.payload.is_empty());
    recv_nothing!(k);
}

/// RFC 6056 §3.3.1 (Algorithm 1): the ephemeral port search starts at a random offset and goes
/// up, `min_ephemeral + (offset + count) % num_ephemeral`: when the first pick is in use, the
/// next port is taken.
#[test]
fn the_ephemeral_port_search_goes_up_from_a_taken_pick() {
    use core::net::SocketAddrV4;
    let remote = SocketAddrV4::new(REMOTE, 80);
    let mut b = Kit::new(test_policy("rfc9293"), 1, 1);
    let hb = b
        .tcp
        .connect(b.now, SocketAddrV4::new(LOCAL, 0), remote)
        .expect("b");
    let pick = b.tcp.four_tuple(hb).expect("tuple").local.port();
    // The same endpoint (same seed) with that port already in use towards the same remote.
    let mut a = Kit::new(test_policy("rfc9293"), 1, 1);
    a.tcp
        .connect(a.now, SocketAddrV4::new(LOCAL, pick), remote)
        .expect("explicit");
    let ha = a
        .tcp
        .connect(a.now, SocketAddrV4::new(LOCAL, 0), remote)
        .expect("a");
    let next = if pick == 65535 { 49152 } else { pick + 1 };
    assert_eq!(a.tcp.four_tuple(ha).expect("tuple").local.port(), next);
}

/// RFC 6528 §3: ISN = M + F(localip, localport, remoteip, remoteport, secretkey), M a 4 µs
/// timer: 64 connections that differ only in the local port get 64 different ISNs, and the same
/// 4-tuple 40 µs later gets an ISN 10 higher.
#[test]
fn rfc6528_isns_differ_per_connection_and_follow_the_clock() {
    use crate::policy::IsnMode;
    use crate::tcp::Tcp;
    use core::net::SocketAddrV4;
    let mut p = test_policy("rfc9293");
    p.isn = IsnMode::Rfc6528;
    let remote = SocketAddrV4::new(REMOTE, 80);
    let now = Instant::from_secs(1);
    let isn = |tcp: &mut Tcp, now: Instant, port: u16| {
        let h = tcp
            .connect(now, SocketAddrV4::new(LOCAL, port), remote)
            .expect("connect");
        tcp.tcb_info(h).expect("tcb").iss
    };
    let mut tcp = Tcp::new(p.clone(), 7);
    let isns: std::collections::BTreeSet<u32> = (4000..4064)
        .map(|port| isn(&mut tcp, now, port).0)
        .collect();
    assert_eq!(isns.len(), 64);
    let first = isn(&mut Tcp::new(p.clone(), 7), now, 4000);
    let later = isn(&mut Tcp::new(p, 7), now + Duration::from_micros(40), 4000);
    assert_eq!(later.0.wrapping_sub(first.0), 10);
}

/// RFC 9293 §3.10.4: after CLOSE the user's handle is gone, though the connection lives on in
/// FIN-WAIT-1: SEND on it is an invalid handle (not a shut-down write side).
#[test]
fn send_after_close_is_an_invalid_handle() {
    let (mut k, h) = Kit::established_without_nagle(test_policy("rfc9293"));
    k.tcp.close(k.now, h).expect("close");
    recv!(k, fl(&[F, A]), 1, 1);
    assert_eq!(k.state(), State::FinWait1);
    assert_eq!(
        k.tcp.send(k.now, h, b"late"),
        Err(crate::tcp::SendError::InvalidHandle)
    );
}

/// RFC 6335 §6: the dynamic (ephemeral) ports are 49152-65535, both ends included. With every
/// other one taken by a listener, an active open picks 65535; then none is left.
#[test]
fn the_last_ephemeral_port_is_used_too() {
    use core::net::SocketAddrV4;
    let mut k = Kit::new(test_policy("rfc9293"), 1, 1);
    for port in 49152..65535 {
        k.tcp
            .listen(k.now, SocketAddrV4::new(LOCAL, port), 1)
            .expect("listen");
    }
    let remote = SocketAddrV4::new(REMOTE, 80);
    let h = k
        .tcp
        .connect(k.now, SocketAddrV4::new(LOCAL, 0), remote)
        .expect("connect");
    assert_eq!(k.tcp.four_tuple(h).expect("tuple").local.port(), 65535);
    assert_eq!(
        k.tcp.connect(k.now, SocketAddrV4::new(LOCAL, 0), remote),
        Err(crate::tcp::ConnectError::NoEphemeralPort)
    );
}

/// Linux tcp_event_data_sent (called from `__tcp_transmit_skb` when `skb->len !=
/// tcp_header_size`): only a segment carrying data counts as a reply. A bare FIN sent within the
/// delayed-ACK timeout of data in leaves the connection out of pingpong, so the peer's next data
/// is still ACKed at once (quick-ACK mode).
#[test]
fn a_bare_fin_is_no_interactive_reply() {
    let p = linux_delayed_ack(40, 16);
    let mut k = Kit::fixture(Fx::Established, p, 1000, 5000);
    let c = k.conn.expect("conn");
    send!(k, fl(&[P, A]), 1, 1, b"one");
    recv!(k, A, 1, 4);
    k.advance(Duration::from_millis(10));
    k.tcp.shutdown_write(k.now, c).expect("shutdown");
    recv!(k, fl(&[F, A]), 1, 4);
    send!(k, fl(&[P, A]), 4, 2, b"two");
    recv!(k, A, 2, 7);
}

/// Linux counts every data segment `__tcp_transmit_skb` sends, a retransmission too
/// (`tcp_retransmit_skb` goes through it): data resent by the RTO within the delayed-ACK timeout
/// of data in makes the connection interactive, and the peer's next data waits for the
/// delayed ACK.
#[test]
fn a_retransmission_within_the_ato_is_an_interactive_reply() {
    let p = linux_delayed_ack(40, 16);
    let (mut k, c) = Kit::established_without_nagle(p);
    k.tcp.send(k.now, c, b"abc").expect("send");
    recv!(k, A, 1, 1);
    let rto_at = k.tcp.poll_at().expect("rto");
    // The peer's data (not acknowledging ours) 10 ms before the RTO: ACKed at once.
    k.advance(rto_at - k.now - Duration::from_millis(10));
    send!(k, fl(&[P, A]), 1, 1, b"one");
    recv!(k, A, 4, 4);
    assert!(k.step(Instant::MAX), "the RTO");
    assert_eq!(recv!(k, A, 1, 4).payload, b"abc");
    send!(k, fl(&[P, A]), 4, 4, b"two");
    recv_nothing!(k);
    assert_eq!(k.tcp.poll_at(), Some(k.now + Duration::from_millis(40)));
}

/// RFC 9293 §3.8.6.1: the persist timer runs only while data waits on a zero window; a peer
/// shutting its window with nothing of ours queued arms no timer and draws no probe.
#[test]
fn a_zero_window_with_nothing_to_send_runs_no_timer() {
    let (mut k, _) = Kit::established_without_nagle(test_policy("rfc9293"));
    let mut shut = k.seg(A, 1, 1, b"");
    shut.window = 0;
    k.inject(&shut);
    recv_nothing!(k);
    assert_eq!(k.tcp.poll_at(), None);
}
