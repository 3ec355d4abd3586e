//! Incident D (RFC 1337): in TIME-WAIT an old duplicate draws our ACK, the peer (which has
//! forgotten the connection) answers with RST, and under RFC 793 that RST assassinates
//! TIME-WAIT. SO_LINGER 0 is the deliberate variant: RST, no TIME-WAIT, logged as an abort.

use super::kit::*;
use crate::tcp::{Cause, DropCause, RstReason, SocketOption, State, TcpEvent, TimeWaitCause};
use crate::time::{Duration, Instant};

/// TIME-WAIT, then an old duplicate (data from long ago, below RCV.NXT), then the peer's RST
/// answering our ACK. Returns the kit after the RST.
fn assassinate(profile: &str) -> (Kit, Vec<TcpEvent>) {
    let mut k = Kit::fixture(Fx::TimeWait, test_policy(profile), 1000, 5000);
    k.advance(Duration::from_secs(10));
    // Old duplicate: 100 bytes that were delivered long before.
    let old = k.seg(fl(&[P, A]), 1u32.wrapping_sub(70_000), 1, &[7u8; 100]);
    k.inject(&old);
    // Our ACK <SEQ=SND.NXT><ACK=RCV.NXT> — the ACK that starts incident D.
    let ack = recv!(k, A, 2, 2);
    recv_nothing!(k);
    // The peer no longer knows the connection: RFC 9293 §3.10.7.1, ACK on -> <SEQ=SEG.ACK><RST>.
    let rst = crate::tcp::reset_for(&crate::wire::TcpRepr {
        src_port: ack.src_port,
        dst_port: ack.dst_port,
        ..ack.clone()
    });
    let rst = crate::wire::TcpRepr {
        src_port: RPORT,
        dst_port: LPORT,
        ..rst
    };
    assert_eq!(rst.seq, k.theirs(2), "the RST is exactly at RCV.NXT");
    k.inject(&rst);
    recv_nothing!(k); // never an RST in reply to an RST
    let evs = k.events();
    (k, evs)
}

#[test]
fn rfc793_time_wait_is_assassinated_at_once() {
    let (k, evs) = assassinate("rfc793");
    assert_eq!(k.state(), State::Closed);
    let ended = evs.iter().find_map(|e| match e {
        TcpEvent::TimeWaitEnded {
            after,
            early,
            cause,
            ..
        } => Some((*after, *early, *cause)),
        _ => None,
    });
    assert_eq!(
        ended,
        Some((Duration::from_secs(10), true, TimeWaitCause::RstReceived))
    );
}

#[test]
fn linux_default_is_also_assassinated() {
    let (k, _) = assassinate("linux");
    assert_eq!(k.state(), State::Closed);
}

#[test]
fn rfc1337_time_wait_survives_to_two_msl() {
    let (mut k, evs) = assassinate("rfc1337");
    assert_eq!(k.state(), State::TimeWait);
    assert!(evs
        .iter()
        .all(|e| !matches!(e, TcpEvent::TimeWaitEnded { .. })));
    // Runs to exactly 2·MSL from its start (10 s have already passed).
    let deadline = k.tcp.poll_at().expect("timer");
    assert!(k.step(Instant::MAX));
    assert_eq!(k.state(), State::Closed);
    let ended = k.events().into_iter().find_map(|e| match e {
        TcpEvent::TimeWaitEnded {
            after,
            early,
            cause,
            ..
        } => Some((after, early, cause)),
        _ => None,
    });
    assert_eq!(
        ended,
        Some((Duration::from_secs(240), false, TimeWaitCause::Expired))
    );
    assert_eq!(deadline, k.now);
}

#[test]
fn hardened_time_wait_survives() {
    let (k, _) = assassinate("hardened");
    assert_eq!(k.state(), State::TimeWait);
}

#[test]
fn retransmitted_fin_restarts_time_wait() {
    let mut k = Kit::fixture(Fx::TimeWait, test_policy("rfc9293"), 1000, 5000);
    let start = k.now;
    k.advance(Duration::from_secs(100));
    send!(k, fl(&[F, A]), 1, 2); // the peer's FIN again
    recv!(k, A, 2, 2);
    assert_eq!(
        k.tcp.poll_at(),
        Some(start + Duration::from_secs(100) + Duration::from_secs(240))
    );
}

#[test]
fn so_linger_zero_aborts_with_rst_and_no_time_wait() {
    let mut k = Kit::fixture(Fx::Established, test_policy("rfc1337"), 1000, 5000);
    let h = k.conn.expect("conn");
    k.tcp
        .set_option(h, SocketOption::Linger(Some(Duration::ZERO)))
        .expect("linger");
    k.tcp.close(k.now, h).expect("close");
    let rst = k.expect();
    assert_eq!(rst.flags, R);
    assert_eq!(rst.seq, k.ours(1), "<SEQ=SND.NXT><CTL=RST>");
    recv_nothing!(k);
    assert_eq!(k.state(), State::Closed);
    let evs = k.events();
    assert!(evs.iter().any(|e| matches!(
        e,
        TcpEvent::RstSent {
            reason: RstReason::UserAbort,
            ..
        }
    )));
    assert!(evs.iter().any(|e| matches!(
        e,
        TcpEvent::ConnectionDropped {
            reason: DropCause::ZeroLinger,
            ..
        }
    )));
    assert!(evs.iter().any(|e| matches!(
        e,
        TcpEvent::StateChange {
            to: State::Closed,
            cause: Cause::UserAbort,
            ..
        }
    )));
    // Deliberate: no TIME-WAIT at all, so no assassination.
    assert!(evs.iter().all(|e| !matches!(
        e,
        TcpEvent::TimeWaitEnded { .. }
            | TcpEvent::StateChange {
                to: State::TimeWait,
                ..
            }
    )));
    assert_eq!(k.tcp.connections().count(), 0);
}

#[test]
fn syn_in_time_wait_reopens_under_linux() {
    let mut k = Kit::fixture(Fx::TimeWait, test_policy("linux"), 1000, 5000);
    // A new SYN with a higher sequence number than the old RCV.NXT.
    send!(k, S, 100_000, 0);
    let synack = k.expect();
    assert_eq!(synack.flags, fl(&[S, A]));
    assert!(synack.seq.gt(k.ours(2)), "new ISS above the old SND.NXT");
    assert_eq!(synack.ack, k.theirs(100_001));
    assert_eq!(k.state(), State::SynReceived);
    let evs = k.events();
    assert!(evs.iter().any(|e| matches!(
        e,
        TcpEvent::TimeWaitEnded {
            early: true,
            cause: TimeWaitCause::SynReuse,
            ..
        }
    )));
}

#[test]
fn syn_in_time_wait_rejected_under_hardened() {
    let mut k = Kit::fixture(Fx::TimeWait, test_policy("hardened"), 1000, 5000);
    send!(k, S, 100_000, 0);
    // Out of window: plain ACK, TIME-WAIT stays.
    recv!(k, A, 2, 2);
    assert_eq!(k.state(), State::TimeWait);
}

#[test]
fn abort_in_established_reports_no_error_and_sends_rst() {
    let mut k = Kit::fixture(Fx::Established, test_policy("rfc9293"), 1000, 5000);
    let h = k.conn.expect("conn");
    k.tcp.abort(k.now, h).expect("abort");
    let rst = k.expect();
    assert_eq!(rst.flags, R);
    assert_eq!(k.tcp.state(h), Some(State::Closed));
    assert_eq!(k.tcp.take_error(h), None);
    k.tcp.close(k.now, h).expect("close releases");
    assert_eq!(k.tcp.state(h), None);
}

/// RFC 9293 §3.10.7.4, an RST in a synchronized state: "All segment queues should be flushed"
/// and the connection is CLOSED. The user still holds it: it keeps no data to send, no timer.
#[test]
fn a_peer_reset_flushes_the_send_queue_and_the_timers() {
    let mut k = Kit::fixture(Fx::Established, test_policy("rfc9293"), 1000, 5000);
    let h = k.conn.expect("conn");
    k.tcp.send(k.now, h, &[1; 100]).expect("send");
    recv!(k, A, 1, 1);
    send!(k, R, 1, 0);
    assert_eq!(k.tcp.state(h), Some(State::Closed));
    assert_eq!(k.tcp.tcb_info(h).expect("info").tx_queued, 0);
    assert_eq!(k.tcp.poll_at(), None);
}

#[test]
fn peer_reset_is_reported_exactly_once() {
    let mut k = Kit::fixture(Fx::Established, test_policy("rfc9293"), 1000, 5000);
    let h = k.conn.expect("conn");
    send!(k, R, 1, 0);
    let mut buf = [0u8; 4];
    assert_eq!(
        k.tcp.recv(k.now, h, &mut buf),
        Err(crate::tcp::RecvError::ConnectionReset)
    );
    assert_eq!(k.tcp.recv(k.now, h, &mut buf), Ok(0));
    assert_eq!(k.tcp.take_error(h), None);
}
