//! Opening corner cases: a SYN-ACK carrying text or FIN (RFC 9293 §3.10.7.3 "continue processing
//! at the sixth step"), RST in SYN-RECEIVED after an active vs a passive open (§3.10.7.4 second
//! check), and the `rst_on_bad_synrecv` knob (Linux answers nothing to a bad segment in
//! SYN-RECEIVED).

use super::kit::*;
use crate::tcp::{DropCause, SocketError, State, TcpEvent};

/// RFC 9293 §3.10.2 SEND in SYN-SENT: "queue the data for transmission after entering the
/// ESTABLISHED state". Until then it changes nothing: no window is known yet, so the SYN (not a
/// zero-window probe) goes again after the RTO, and the data follows the handshake.
#[test]
fn data_queued_in_syn_sent_waits_for_established() {
    let mut k = Kit::fixture(Fx::SynSent, test_policy("rfc9293"), 1000, 5000);
    let h = k.conn.expect("conn");
    k.tcp.send(k.now, h, &[1; 100]).expect("send");
    recv_nothing!(k);
    assert!(
        k.step(crate::time::Instant::MAX),
        "the retransmission timer"
    );
    recv!(k, S, 0, 0);
    send!(k, fl(&[S, A]), 0, 1);
    assert_eq!(recv!(k, A, 1, 1).payload.len(), 100);
}

#[test]
fn syn_ack_carrying_data_delivers_it() {
    let mut k = Kit::fixture(Fx::SynSent, test_policy("rfc9293"), 1000, 5000);
    let h = k.conn.expect("conn");
    send!(k, fl(&[S, A]), 0, 1, b"hello");
    recv!(k, A, 1, 6);
    assert_eq!(k.state(), State::Established);
    let mut buf = [0u8; 8];
    let n = k.tcp.recv(k.now, h, &mut buf).expect("recv");
    assert_eq!(&buf[..n], b"hello");
}

#[test]
fn syn_ack_carrying_fin_closes_the_receive_side() {
    let mut k = Kit::fixture(Fx::SynSent, test_policy("rfc9293"), 1000, 5000);
    send!(k, fl(&[S, F, A]), 0, 1, b"bye");
    recv!(k, A, 1, 5);
    assert_eq!(k.state(), State::CloseWait);
}

#[test]
fn rst_in_syn_received_after_active_open_refuses_the_connection() {
    // Simultaneous open: SYN-SENT, the peer's SYN crosses ours -> SYN-RECEIVED.
    let mut k = Kit::fixture(Fx::SynSent, test_policy("rfc9293"), 1000, 5000);
    let h = k.conn.expect("conn");
    send!(k, S, 0, 0);
    recv!(k, fl(&[S, A]), 0, 1);
    assert_eq!(k.state(), State::SynReceived);
    k.events();
    // "If this connection was initiated with an active OPEN ... connection refused".
    send!(k, R, 1, 0);
    recv_nothing!(k);
    assert_eq!(k.state(), State::Closed);
    assert_eq!(k.tcp.take_error(h), Some(SocketError::ConnectionRefused));
    assert!(k.events().iter().any(|e| matches!(
        e,
        TcpEvent::ConnectionDropped {
            reason: DropCause::Reset,
            state: State::SynReceived,
            ..
        }
    )));
}

#[test]
fn rst_in_syn_received_after_passive_open_returns_to_listen() {
    let mut k = Kit::fixture(Fx::SynReceived, test_policy("rfc9293"), 1000, 5000);
    send!(k, R, 1, 0);
    recv_nothing!(k);
    // "return this connection to the LISTEN state": the embryo goes quietly, no user sees an
    // error, and the listener takes the next SYN.
    let ev = k.events();
    assert!(
        !ev.iter()
            .any(|e| matches!(e, TcpEvent::ConnectionDropped { .. })),
        "{ev:?}"
    );
    assert!(ev.iter().any(|e| matches!(
        e,
        TcpEvent::StateChange {
            from: State::SynReceived,
            to: State::Closed,
            ..
        }
    )));
    send!(k, S, 100, 0);
    recv!(k, fl(&[S, A]), 0, 101);
    assert_eq!(k.state(), State::SynReceived);
}

/// Out-of-window text in SYN-RECEIVED and ESTABLISHED, with the knob on or off.
fn out_of_window(fx: Fx, rst_on_bad_synrecv: bool) -> Kit {
    let mut p = test_policy("rfc9293");
    p.rst_on_bad_synrecv = rst_on_bad_synrecv;
    let mut k = Kit::fixture(fx, p, 1000, 5000);
    send!(k, fl(&[P, A]), 1_000_000, 1, b"far");
    k
}

#[test]
fn syn_received_acks_out_of_window_text_by_default() {
    let mut k = out_of_window(Fx::SynReceived, true);
    recv!(k, A, 1, 1);
    recv_nothing!(k);
    assert_eq!(k.state(), State::SynReceived);
}

#[test]
fn syn_received_stays_silent_without_rst_on_bad_synrecv() {
    let mut k = out_of_window(Fx::SynReceived, false);
    recv_nothing!(k);
    assert_eq!(k.state(), State::SynReceived);
    // An unacceptable ACK draws no RST either.
    send!(k, A, 1, 1000);
    recv_nothing!(k);
    assert_eq!(k.state(), State::SynReceived);
}

#[test]
fn rst_on_bad_synrecv_does_not_touch_synchronized_states() {
    let mut k = out_of_window(Fx::Established, false);
    recv!(k, A, 1, 1);
    assert_eq!(k.state(), State::Established);
}

#[test]
fn retransmitted_syn_in_syn_received_repeats_the_syn_ack() {
    // Our SYN-ACK was lost and the peer sends its SYN again (SEG.SEQ = IRS): answer with the
    // same SYN-ACK, not a bare ACK.
    let mut k = Kit::fixture(Fx::SynReceived, test_policy("rfc9293"), 1000, 5000);
    send!(k, S, 0, 0);
    recv!(k, fl(&[S, A]), 0, 1);
    recv_nothing!(k);
    assert_eq!(k.state(), State::SynReceived);
}

#[test]
fn out_of_window_syn_in_syn_received_is_not_challenged() {
    // RFC 5961 §4.2's challenge ACK is for synchronized states; in SYN-RECEIVED an
    // out-of-window SYN is an unacceptable segment like any other, and with
    // `rst_on_bad_synrecv` off (Linux) it draws nothing at all.
    let mut p = test_policy("rfc5961");
    p.rst_on_bad_synrecv = false;
    let mut k = Kit::fixture(Fx::SynReceived, p, 1000, 5000);
    k.events();
    send!(k, S, 1_000_000, 0);
    recv_nothing!(k);
    assert_eq!(k.state(), State::SynReceived);
    // The same SYN in ESTABLISHED is challenged (and logged as a SYN-triggered challenge).
    let mut k = Kit::fixture(Fx::Established, test_policy("rfc5961"), 1000, 5000);
    k.events();
    send!(k, S, 1_000_000, 0);
    recv!(k, A, 1, 1);
    assert!(k.events().iter().any(|e| matches!(
        e,
        TcpEvent::ChallengeAck {
            trigger: crate::tcp::ChallengeTrigger::Syn,
            ..
        }
    )));
}
