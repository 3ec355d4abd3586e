//! The endpoint's own rules: what it does before a segment reaches a TCB (SYN+FIN filter, a
//! listener's answer to a SYN-ACK), its accept queue, its timer and wake-up bookkeeping.

use super::kit::*;
use crate::tcp::{
    AcceptError, CloseError, DropReason, OptionError, OptionName, RecvError, SendError,
    SocketOption, State, TcpEvent,
};
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

/// A connection waiting in the accept queue belongs to the listener, not to the user: every
/// call on its handle is refused as an invalid handle until `accept` hands it over. A listener's
/// handle is a socket, just not a connected one.
#[test]
fn the_socket_calls_refuse_handles_the_user_does_not_own() {
    let mut k = Kit::fixture(Fx::Listen, test_policy("rfc9293"), 1000, 5000);
    let listener = k.listener.expect("listener");
    send!(k, S, 0, 0);
    recv!(k, fl(&[S, A]), 0, 1);
    send!(k, A, 1, 1, b"queued");
    recv!(k, A, 1, 7);
    let child = k.tcp.lookup(k.tuple()).expect("the unaccepted connection");
    let mut buf = [0u8; 8];
    assert_eq!(
        k.tcp.send(k.now, child, b"x"),
        Err(SendError::InvalidHandle)
    );
    assert_eq!(
        k.tcp.recv(k.now, child, &mut buf),
        Err(RecvError::InvalidHandle)
    );
    assert_eq!(
        k.tcp.shutdown_write(k.now, child),
        Err(CloseError::InvalidHandle)
    );
    assert_eq!(k.tcp.abort(k.now, child), Err(CloseError::InvalidHandle));
    assert_eq!(k.tcp.close(k.now, child), Err(CloseError::InvalidHandle));
    assert_eq!(k.tcp.four_tuple(child), None);
    recv_nothing!(k);
    assert_eq!(
        k.tcp.send(k.now, listener, b"x"),
        Err(SendError::NotConnected)
    );
    assert_eq!(
        k.tcp.recv(k.now, listener, &mut buf),
        Err(RecvError::NotConnected)
    );
    assert_eq!(k.tcp.state(child), None);
    let keepalive = SocketOption::KeepAlive(true);
    assert_eq!(
        k.tcp.set_option(child, keepalive),
        Err(OptionError::InvalidHandle)
    );
    assert_eq!(
        k.tcp.get_option(child, OptionName::KeepAlive),
        Err(OptionError::InvalidHandle)
    );
    assert_eq!(k.tcp.state(listener), Some(State::Listen));
    assert_eq!(k.tcp.set_option(listener, keepalive), Ok(()));
    assert_eq!(
        k.tcp.get_option(listener, OptionName::KeepAlive),
        Ok(keepalive)
    );
    // Once accepted, the same handle works.
    assert_eq!(k.tcp.accept(k.now, listener), Ok(child));
    assert_eq!(k.tcp.recv(k.now, child, &mut buf), Ok(6));
}

/// RFC 9293 §3.10.3 RECEIVE: with nothing queued, a connection that may still get data says
/// "would block"; once the peer's FIN has been read past it is end of stream, `Ok(0)`; an empty
/// buffer reads nothing.
#[test]
fn recv_blocks_until_the_peers_fin_then_reads_end_of_stream() {
    let (mut k, h) = Kit::established_without_nagle(test_policy("rfc9293"));
    let mut buf = [0u8; 4];
    assert_eq!(k.tcp.recv(k.now, h, &mut buf), Err(RecvError::WouldBlock));
    assert_eq!(k.tcp.recv(k.now, h, &mut []), Ok(0));
    send!(k, fl(&[F, A]), 1, 1);
    assert_eq!(k.tcp.recv(k.now, h, &mut buf), Ok(0));
}

/// A connection that is over (reset by the peer; the handle stays valid until `close`):
/// `shutdown_write` is "not connected", and `abort` has nothing left to do: no RST, no event.
#[test]
fn a_reset_connection_cannot_be_shut_down_and_aborts_quietly() {
    let (mut k, h) = Kit::established_without_nagle(test_policy("rfc9293"));
    send!(k, R, 1, 0);
    assert_eq!(k.tcp.state(h), Some(State::Closed));
    k.events();
    assert_eq!(
        k.tcp.shutdown_write(k.now, h),
        Err(CloseError::NotConnected)
    );
    assert_eq!(k.tcp.abort(k.now, h), Ok(()));
    recv_nothing!(k);
    assert_eq!(k.events(), vec![]);
}

/// RFC 9293 §3.10.4 CLOSE in SYN-RECEIVED (here after a simultaneous open): the FIN is queued
/// and leaves once ESTABLISHED is reached, which then moves on to FIN-WAIT-1.
#[test]
fn a_shutdown_in_syn_received_sends_its_fin_once_established() {
    let mut k = Kit::fixture(Fx::SynSent, test_policy("rfc9293"), 1000, 5000);
    let h = k.conn.expect("conn");
    send!(k, S, 0, 0);
    recv!(k, fl(&[S, A]), 0, 1);
    assert_eq!(k.tcp.state(h), Some(State::SynReceived));
    k.tcp.shutdown_write(k.now, h).expect("shutdown");
    recv_nothing!(k);
    send!(k, A, 1, 1);
    recv!(k, fl(&[F, A]), 1, 1);
    assert_eq!(k.tcp.state(h), Some(State::FinWait1));
}

/// Closing a listener resets the connections it still holds (nobody will accept them) and no
/// other: not the ones already accepted, not another listener's. An embryonic one (SYN-RECEIVED)
/// dies silently unless the profile resets it (`listener_close_resets_embryonic`; FreeBSD's
/// syncache and Linux's request sockets send nothing).
#[rstest]
fn closing_a_listener_resets_only_its_own_unaccepted_connections(
    #[values(true, false)] resets_embryonic: bool,
) {
    let mut p = test_policy("rfc9293");
    p.listener_close_resets_embryonic = resets_embryonic;
    let mut k = Kit::fixture(Fx::Listen, p, 1000, 5000);
    let listener = k.listener.expect("listener");
    let other = k
        .tcp
        .listen(k.now, core::net::SocketAddrV4::new(LOCAL, 81), 8)
        .expect("second listener");
    // From ports 5000..=5003: accepted, queued, embryonic on port 80; queued on port 81.
    let open = |k: &mut Kit, port: u16, dst: u16, finish: bool| {
        let mut syn = k.seg(S, 0, 0, b"");
        (syn.src_port, syn.dst_port) = (port, dst);
        k.inject(&syn);
        assert!(k.expect().flags.syn());
        if finish {
            let mut ack = k.seg(A, 1, 1, b"");
            (ack.src_port, ack.dst_port) = (port, dst);
            k.inject(&ack);
        }
    };
    open(&mut k, 5000, 80, true);
    let accepted = k.tcp.accept(k.now, listener).expect("accept");
    open(&mut k, 5001, 80, true);
    open(&mut k, 5002, 80, false);
    open(&mut k, 5003, 81, true);
    recv_nothing!(k);
    k.tcp.close(k.now, listener).expect("close");
    let mut rst_to = Vec::new();
    while let Some(o) = k.out() {
        assert!(o.seg.flags.rst(), "{:?}", o.seg);
        rst_to.push(o.seg.dst_port);
    }
    rst_to.sort_unstable();
    let want = if resets_embryonic {
        vec![5001, 5002]
    } else {
        vec![5001]
    };
    assert_eq!(rst_to, want);
    assert_eq!(k.tcp.state(accepted), Some(State::Established));
    let h = k
        .tcp
        .accept(k.now, other)
        .expect("the other listener's connection");
    assert_eq!(k.tcp.state(h), Some(State::Established));
}

/// `poll_transmit` counts the connections it visits (the simulator's work counter).
#[test]
fn poll_transmit_counts_its_visits() {
    let (mut k, h) = Kit::established_without_nagle(test_policy("rfc9293"));
    let v = k.tcp.visits();
    k.tcp.send(k.now, h, b"x").expect("send");
    recv!(k, A, 1, 1);
    assert!(k.tcp.visits() > v);
}

/// `discard_events` drops every logged event.
#[test]
fn discard_events_leaves_nothing_to_poll() {
    let mut k = Kit::fixture(Fx::Listen, test_policy("rfc9293"), 1000, 5000);
    send!(k, S, 0, 0);
    k.tcp.discard_events();
    assert!(k.tcp.poll_event().is_none());
}
