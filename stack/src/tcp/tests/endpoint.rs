//! The endpoint's own rules: what it does before a segment reaches a TCB (SYN+FIN filter, a
//! listener's answer to a SYN-ACK), its accept queue, its timer and wake-up bookkeeping.

use super::kit::*;
use crate::tcp::{AcceptError, DropReason, State, TcpEvent};
use crate::time::Duration;
use rstest::rstest;

/// The SYN+FIN filter (FreeBSD `net.inet.tcp.drop_synfin`) drops before any state machine runs,
/// and the drop names the state the segment met: the connection's, else LISTEN where a
/// listener has the port, else CLOSED.
#[rstest]
fn a_syn_fin_is_dropped_in_the_state_it_met(
    #[values(Fx::Established, Fx::Listen, Fx::Closed)] fx: Fx,
) {
    let mut p = test_policy("rfc9293");
    p.drop_synfin = true;
    let mut k = Kit::fixture(fx, p, 1000, 5000);
    k.events();
    send!(k, fl(&[S, F]), 0, 0);
    recv_nothing!(k);
    assert_eq!(
        k.events(),
        vec![TcpEvent::SegmentDropped {
            conn: k.tuple(),
            state: fx.state(),
            reason: DropReason::SynFin,
        }]
    );
}

/// RFC 9293 §3.10.7.2: an ACK-bearing segment at a LISTEN socket gets <SEQ=SEG.ACK><CTL=RST>;
/// FreeBSD drops a SYN-ACK there without one (tcp_input.c: "(SYN|ACK) is bogus on a listen
/// socket"), which `listen_synack_rst = false` models.
#[rstest]
fn a_syn_ack_at_a_listener_is_reset_unless_the_profile_drops_it(#[values(true, false)] rst: bool) {
    let mut p = test_policy("rfc9293");
    p.listen_synack_rst = rst;
    let mut k = Kit::fixture(Fx::Listen, p, 1000, 5000);
    k.events();
    send!(k, fl(&[S, A]), 0, 77);
    if rst {
        recv!(k, R, 77, 0);
    } else {
        recv_nothing!(k);
        assert!(k.events().contains(&TcpEvent::SegmentDropped {
            conn: k.tuple(),
            state: State::Listen,
            reason: DropReason::Unexpected,
        }));
    }
    assert_eq!(k.state(), State::Listen);
}

/// A connection reset while it waits in the accept queue leaves the queue; the others stay,
/// in order.
#[test]
fn a_reset_connection_leaves_the_accept_queue_and_only_it() {
    let mut k = Kit::fixture(Fx::Listen, test_policy("rfc9293"), 1000, 5000);
    let listener = k.listener.expect("listener");
    for port in [RPORT, RPORT + 1] {
        let mut syn = k.seg(S, 0, 0, b"");
        syn.src_port = port;
        k.inject(&syn);
        assert!(k.expect().flags.syn());
        let mut ack = k.seg(A, 1, 1, b"");
        ack.src_port = port;
        k.inject(&ack);
    }
    send!(k, R, 1, 0);
    let h = k
        .tcp
        .accept(k.now, listener)
        .expect("the second connection");
    assert_eq!(
        k.tcp.four_tuple(h).map(|t| t.remote.port()),
        Some(RPORT + 1)
    );
    assert_eq!(k.tcp.state(h), Some(State::Established));
    assert_eq!(k.tcp.accept(k.now, listener), Err(AcceptError::WouldBlock));
}

/// `handle_timeout` called after a deadline (a late caller) still fires it, and counts one
/// visit per due connection, none before its deadline (the simulator's work counter).
#[test]
fn an_overdue_timer_fires_and_counts_one_visit() {
    let (mut k, h) = Kit::established_without_nagle(test_policy("rfc9293"));
    k.tcp.send(k.now, h, b"0123456789").expect("send");
    recv!(k, A, 1, 1);
    let rto = k.tcp.poll_at().expect("retransmission timer");
    let v = k.tcp.visits();
    k.tcp.handle_timeout(rto - Duration::from_millis(1));
    assert_eq!(k.tcp.visits(), v, "not due yet");
    k.now = rto + Duration::from_millis(5);
    k.tcp.handle_timeout(k.now);
    assert_eq!(k.tcp.visits(), v + 1);
    let again = recv!(k, A, 1, 1);
    assert_eq!(again.payload, b"0123456789");
}

/// Applications poll only the sockets an input woke: a segment for a connection wakes it, once.
#[test]
fn a_segment_wakes_its_connection_once() {
    let (mut k, h) = Kit::established_without_nagle(test_policy("rfc9293"));
    k.tcp.take_woken().for_each(drop);
    send!(k, A, 1, 1, b"hi");
    assert_eq!(k.tcp.take_woken().collect::<Vec<_>>(), vec![h]);
    assert_eq!(k.tcp.take_woken().count(), 0);
}

/// The endpoint runs the policy it was built with.
#[test]
fn the_policy_is_the_one_it_was_built_with() {
    let mut p = test_policy("freebsd");
    p.drop_synfin = true;
    let k = Kit::new(p.clone(), 1000, 5000);
    p.isn = crate::policy::IsnMode::Fixed(1000);
    assert_eq!(k.tcp.policy(), &p);
}

/// A passive connection joins the accept queue once, when it becomes synchronized (RFC 9293
/// §3.10.7.2 leaves it in SYN-RECEIVED until the handshake's ACK): not before, and not again
/// when later segments change it.
#[test]
fn a_connection_is_queued_for_accept_once_synchronized() {
    let mut k = Kit::fixture(Fx::Listen, test_policy("rfc9293"), 1000, 5000);
    let listener = k.listener.expect("listener");
    send!(k, S, 0, 0);
    recv!(k, fl(&[S, A]), 0, 1);
    assert_eq!(
        k.tcp.accept(k.now, listener),
        Err(AcceptError::WouldBlock),
        "SYN-RECEIVED is not accepted"
    );
    send!(k, A, 1, 1);
    send!(k, A, 1, 1, b"data");
    let h = k.tcp.accept(k.now, listener).expect("established");
    assert_eq!(k.tcp.state(h), Some(State::Established));
    assert_eq!(
        k.tcp.accept(k.now, listener),
        Err(AcceptError::WouldBlock),
        "queued once"
    );
}
