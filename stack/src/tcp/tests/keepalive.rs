//! RFC 1122 §4.2.3.6 keepalive: exact detection times and probe instants per profile.

use super::kit::*;
use crate::tcp::{DropCause, SocketError, SocketOption, State, TcpEvent};
use crate::time::{Duration, Instant};
use rstest::rstest;

/// An ESTABLISHED fixture in `profile` with keep-alive on (RFC 1122 §4.2.3.6) and an idle time
/// of 300 s; the interval and count are the profile's.
fn keepalive_after_300s(profile: &str) -> (Kit, crate::tcp::SocketHandle) {
    let mut k = Kit::fixture(Fx::Established, test_policy(profile), 1000, 5000);
    let h = k.conn.expect("conn");
    k.tcp
        .set_option(h, SocketOption::KeepAlive(true))
        .expect("opt");
    k.tcp
        .set_option(h, SocketOption::KeepIdle(Duration::from_secs(300)))
        .expect("opt");
    (k, h)
}

/// Established connection with keepalive on, idle 300 s; the peer then goes silent.
/// Returns (probe instants relative to the last received segment, drop instant, segments).
fn silent_peer(profile: &str) -> (Vec<u64>, u64, Vec<crate::wire::TcpRepr>, Vec<TcpEvent>) {
    let (mut k, h) = keepalive_after_300s(profile);
    let last_recv = k.now;
    let mut probes = Vec::new();
    let mut segs = Vec::new();
    let mut events = Vec::new();
    let limit = k.now + Duration::from_secs(100_000);
    while k.step(limit) {
        while let Some(o) = k.out() {
            segs.push(o.seg.clone());
            if o.seg.flags.rst() {
                continue;
            }
            probes.push((k.now - last_recv).secs());
        }
        let evs = k.events();
        let dropped = evs
            .iter()
            .any(|e| matches!(e, TcpEvent::ConnectionDropped { .. }));
        events.extend(evs);
        if dropped {
            break;
        }
    }
    let drop_at = (k.now - last_recv).total_micros();
    assert_eq!(k.tcp.state(h), Some(State::Closed));
    assert_eq!(k.tcp.take_error(h), Some(SocketError::TimedOut));
    assert_eq!(k.tcp.take_error(h), None, "reported once");
    (probes, drop_at, segs, events)
}

#[test]
fn linux_idle_300_drops_after_exactly_975_s() {
    let (probes, drop_at, segs, events) = silent_peer("linux");
    assert_eq!(drop_at, 975_000_000, "300 + 75*9");
    assert_eq!(probes, (0..9).map(|i| 300 + 75 * i).collect::<Vec<_>>());
    // Probe form: SEQ = SND.NXT - 1, no data (Linux); the drop sends an RST (tcp_keepalive_timer).
    assert!(segs[..9]
        .iter()
        .all(|s| s.payload.is_empty() && s.seq.0 == 1000));
    assert!(segs.last().is_some_and(|s| s.flags.rst()));
    assert!(events.iter().any(|e| matches!(
        e,
        TcpEvent::ConnectionDropped {
            reason: DropCause::KeepaliveTimeout,
            ..
        }
    )));
}

#[test]
fn windows_idle_300_drops_after_exactly_310_s() {
    let (probes, drop_at, segs, _) = silent_peer("windows");
    assert_eq!(drop_at, 310_000_000, "300 + 1*10");
    assert_eq!(probes, (0..10).map(|i| 300 + i).collect::<Vec<_>>());
    // Windows probes carry one garbage byte; no RST on drop.
    assert!(segs.iter().all(|s| s.payload.len() == 1 && !s.flags.rst()));
}

#[rstest]
#[case::hardened("hardened", 975_000_000)]
#[case::rfc9293("rfc9293", 975_000_000)]
fn other_profiles_follow_their_knobs(#[case] profile: &str, #[case] expect: u64) {
    let (_, drop_at, _, _) = silent_peer(profile);
    assert_eq!(drop_at, expect);
}

#[test]
fn an_answered_probe_restarts_the_cycle() {
    let (mut k, h) = keepalive_after_300s("linux");
    let t0 = k.now;
    assert_eq!(k.tcp.poll_at(), Some(t0 + Duration::from_secs(300)));
    assert!(k.step(Instant::MAX));
    recv!(k, crate::wire::TcpFlags::ACK, 0, 1); // probe: SND.NXT-1
    k.advance(Duration::from_secs(10));
    send!(k, A, 1, 1); // the peer answers
    recv_nothing!(k);
    // Next probe is a full idle period after the answer, not an interval.
    assert_eq!(k.tcp.poll_at(), Some(k.now + Duration::from_secs(300)));
    assert_eq!(k.tcp.state(h), Some(State::Established));
}

#[test]
fn keepalive_off_means_no_timer() {
    let k = Kit::fixture(Fx::Established, test_policy("linux"), 1000, 5000);
    assert_eq!(k.tcp.poll_at(), None);
}

#[test]
fn keepalive_options_read_back() {
    let mut k = Kit::fixture(Fx::Established, test_policy("linux"), 1000, 5000);
    let h = k.conn.expect("conn");
    use crate::tcp::OptionName as N;
    for (o, n) in [
        (SocketOption::KeepAlive(true), N::KeepAlive),
        (SocketOption::KeepIdle(Duration::from_secs(5)), N::KeepIdle),
        (
            SocketOption::KeepIntvl(Duration::from_secs(2)),
            N::KeepIntvl,
        ),
        (SocketOption::KeepCnt(3), N::KeepCnt),
        (SocketOption::Linger(Some(Duration::ZERO)), N::Linger),
        (SocketOption::NoDelay(true), N::NoDelay),
        (
            SocketOption::UserTimeout(Duration::from_secs(9)),
            N::UserTimeout,
        ),
        (SocketOption::ReuseAddr(true), N::ReuseAddr),
        (SocketOption::RecvBuf(1234), N::RecvBuf),
        (SocketOption::SendBuf(4321), N::SendBuf),
    ] {
        k.tcp.set_option(h, o).expect("set");
        assert_eq!(k.tcp.get_option(h, n), Ok(o));
    }
    assert!(k.tcp.set_option(h, SocketOption::KeepCnt(0)).is_err());
    assert!(k
        .tcp
        .set_option(h, SocketOption::KeepIntvl(Duration::ZERO))
        .is_err());
}

/// RFC 1122 §4.2.3.6: keep-alive probes an idle connection only. Data waiting behind a zero
/// window is not idle: the persist timer probes it (Linux `<SEQ=SND.UNA-1>`, nothing in
/// flight), indefinitely, and no keep-alive probe goes out or drops the connection.
#[test]
fn data_waiting_behind_a_zero_window_is_not_idle() {
    let (mut k, h) = keepalive_after_300s("linux");
    k.tcp
        .set_option(h, SocketOption::NoDelay(true))
        .expect("opt");
    let mut shut = k.seg(A, 1, 1, b"");
    shut.window = 0;
    k.inject(&shut);
    k.tcp.send(k.now, h, &[1; 100]).expect("send");
    recv_nothing!(k);
    let limit = k.now + Duration::from_secs(2000);
    while k.step(limit) {
        while k.out().is_some() {}
    }
    let events = k.events();
    assert!(events
        .iter()
        .any(|e| matches!(e, TcpEvent::ZeroWindowProbe { .. })));
    assert!(!events
        .iter()
        .any(|e| matches!(e, TcpEvent::KeepaliveProbe { .. })));
    assert_eq!(k.tcp.state(h), Some(State::Established));
}
