//! RFC 9293 §3.6.1 SHLD-3 / RFC 1122 §4.2.2.13: an RST shows that received data was lost,
//! whether it was unread at close() or arrived after close().

use super::kit::*;
use crate::tcp::{DropCause, RstReason, State, TcpEvent};
use rstest::rstest;

fn rst_reason(evs: &[TcpEvent]) -> Option<RstReason> {
    evs.iter().find_map(|e| match e {
        TcpEvent::RstSent { reason, .. } => Some(*reason),
        _ => None,
    })
}

fn dropped_data_lost(evs: &[TcpEvent]) -> bool {
    evs.iter().any(|e| {
        matches!(
            e,
            TcpEvent::ConnectionDropped {
                reason: DropCause::DataLost,
                ..
            }
        )
    })
}

#[test]
fn close_with_unread_data_sends_rst_not_fin() {
    let mut k = Kit::fixture(Fx::Established, test_policy("rfc9293"), 1000, 5000);
    let h = k.conn.expect("conn");
    send!(k, fl(&[P, A]), 1, 1, &[7u8; 100]);
    recv!(k, A, 1, 101);
    assert_eq!(k.tcp.tcb_info(h).expect("tcb").rx_queued, 100);
    k.tcp.close(k.now, h).expect("close");
    // <SEQ=SND.NXT><CTL=RST>, no FIN, connection gone.
    let rst = recv!(k, R, 1, 0);
    assert!(!rst.flags.ack() && !rst.flags.fin());
    recv_nothing!(k);
    assert_eq!(k.state(), State::Closed);
    let evs = k.events();
    assert_eq!(rst_reason(&evs), Some(RstReason::UnreadDataOnClose));
    assert!(dropped_data_lost(&evs));
}

#[test]
fn close_after_reading_everything_sends_fin() {
    let mut k = Kit::fixture(Fx::Established, test_policy("rfc9293"), 1000, 5000);
    let h = k.conn.expect("conn");
    send!(k, fl(&[P, A]), 1, 1, &[7u8; 100]);
    recv!(k, A, 1, 101);
    let mut buf = [0u8; 200];
    assert_eq!(k.tcp.recv(k.now, h, &mut buf), Ok(100));
    k.tcp.close(k.now, h).expect("close");
    recv!(k, fl(&[F, A]), 1, 101);
    assert_eq!(k.state(), State::FinWait1);
}

#[test]
fn close_wait_with_unread_data_resets() {
    let mut k = Kit::fixture(Fx::Established, test_policy("rfc9293"), 1000, 5000);
    let h = k.conn.expect("conn");
    send!(k, fl(&[F, P, A]), 1, 1, &[7u8; 10]);
    recv!(k, A, 1, 12);
    assert_eq!(k.state(), State::CloseWait);
    k.tcp.close(k.now, h).expect("close");
    recv!(k, R, 1, 0);
    recv_nothing!(k);
    assert_eq!(k.state(), State::Closed);
}

#[rstest]
#[case::fin_wait_1(Fx::FinWait1)]
#[case::fin_wait_2(Fx::FinWait2)]
fn data_after_close_draws_rst(#[case] fx: Fx) {
    let mut k = Kit::fixture(fx, test_policy("rfc9293"), 1000, 5000);
    let ack = if fx == Fx::FinWait2 { 2 } else { 1 };
    send!(k, fl(&[P, A]), 1, ack, &[1u8; 50]);
    recv!(k, R, 2, 0);
    recv_nothing!(k);
    assert_eq!(k.state(), State::Closed);
    let evs = k.events();
    assert_eq!(rst_reason(&evs), Some(RstReason::DataAfterClose));
    assert!(dropped_data_lost(&evs));
}

#[test]
fn old_duplicate_after_close_is_only_acked() {
    // Data the connection already acknowledged before close() is not "new data": no RST.
    let mut k = Kit::fixture(Fx::Established, test_policy("rfc9293"), 1000, 5000);
    let h = k.conn.expect("conn");
    send!(k, fl(&[P, A]), 1, 1, &[7u8; 10]);
    recv!(k, A, 1, 11);
    let mut buf = [0u8; 10];
    assert_eq!(k.tcp.recv(k.now, h, &mut buf), Ok(10));
    k.tcp.close(k.now, h).expect("close");
    recv!(k, fl(&[F, A]), 1, 11);
    send!(k, A, 11, 2);
    assert_eq!(k.state(), State::FinWait2);
    send!(k, fl(&[P, A]), 1, 2, &[7u8; 10]);
    recv!(k, A, 2, 11);
    assert_eq!(k.state(), State::FinWait2);
}

#[test]
fn data_after_shutdown_write_is_delivered() {
    // Half-duplex close only applies to close(): after shutdown(SHUT_WR) reading continues.
    let mut k = Kit::fixture(Fx::Established, test_policy("rfc9293"), 1000, 5000);
    let h = k.conn.expect("conn");
    k.tcp.shutdown_write(k.now, h).expect("shutdown");
    recv!(k, fl(&[F, A]), 1, 1);
    send!(k, A, 1, 2);
    send!(k, fl(&[P, A]), 1, 2, &[9u8; 50]);
    recv!(k, A, 2, 51);
    assert_eq!(k.state(), State::FinWait2);
    let mut buf = [0u8; 64];
    assert_eq!(k.tcp.recv(k.now, h, &mut buf), Ok(50));
}

/// RFC 9293 §3.10.4 CLOSE in SYN-SENT (a shutdown of the write side included): "Delete the TCB
/// and return 'error: closing' responses to any queued SENDs" — CLOSED at once, and the SYN is
/// not retransmitted.
#[test]
fn shutdown_write_in_syn_sent_deletes_the_connection() {
    let mut k = Kit::fixture(Fx::SynSent, test_policy("rfc9293"), 1000, 5000);
    let h = k.conn.expect("conn");
    k.tcp.shutdown_write(k.now, h).expect("shutdown");
    assert_eq!(k.tcp.state(h), Some(State::Closed));
    recv_nothing!(k);
    assert_eq!(k.tcp.poll_at(), None, "no SYN retransmission");
}
