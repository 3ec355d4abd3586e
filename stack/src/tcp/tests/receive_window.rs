//! RFC 9293 §3.10.7.4 first check at a closed receive window ("If the RCV.WND is zero, no
//! segments will be acceptable, but special allowance should be made to accept valid ACKs, URGs,
//! and RSTs"), and text that runs past the window: trimmed, and a FIN behind trimmed bytes is
//! not taken (§3.10.7.4 seventh and eighth steps).

use super::kit::*;
use crate::tcp::{RstAction, State, TcpEvent};

/// Established with a 4-byte receive buffer, our 10 bytes in flight, and the peer's "full"
/// received: our window is closed.
fn closed_window() -> Kit {
    let mut p = test_policy("rfc9293");
    p.rcv_buf = 4;
    let mut k = Kit::fixture(Fx::Established, p, 1000, 5000);
    let h = k.conn.expect("conn");
    k.tcp.send(k.now, h, b"0123456789").expect("send");
    recv!(k, fl(&[P, A]), 1, 1);
    send!(k, fl(&[P, A]), 1, 1, b"full");
    let a = recv!(k, A, 11, 5);
    assert_eq!(a.window, 0);
    k
}

fn info(k: &Kit) -> crate::tcp::TcbInfo {
    k.tcp.tcb_info(k.conn.expect("conn")).expect("tcb")
}

#[test]
fn closed_window_still_takes_the_ack_and_the_window_of_a_data_segment() {
    let mut k = closed_window();
    let mut s = k.seg(fl(&[P, A]), 5, 11, b"x");
    s.window = 2000;
    k.inject(&s);
    // The text is not acceptable: an ACK that still says window 0 ...
    let a = recv!(k, A, 11, 5);
    assert_eq!(a.window, 0);
    recv_nothing!(k);
    // ... but the ACK and the window it carries were acted on.
    let i = info(&k);
    assert_eq!(i.snd_una, k.ours(11));
    assert_eq!(i.snd_wnd, 2000);
    assert_eq!(i.rx_queued, 4);
    assert_eq!(k.state(), State::Established);
}

#[test]
fn closed_window_still_takes_an_rst_carrying_data_at_rcv_nxt() {
    let mut k = closed_window();
    // RFC 9293 §3.5.3 allows data in an RST; SEG.LEN > 0 at RCV.WND = 0 is not acceptable, but
    // the allowance covers RSTs.
    send!(k, fl(&[R, A]), 5, 11, b"diagnostic");
    recv_nothing!(k);
    assert_eq!(k.state(), State::Closed);
}

#[test]
fn closed_window_ignores_an_rst_off_rcv_nxt() {
    let mut k = closed_window();
    // SEG.LEN = 0, RCV.WND = 0: acceptable only if SEG.SEQ = RCV.NXT; the allowance is for
    // segments at RCV.NXT too, so this RST is dropped without a reply.
    k.events();
    send!(k, fl(&[R, A]), 6, 11);
    recv_nothing!(k);
    assert_eq!(k.state(), State::Established);
    // The event log says the RST came and was ignored (what the oracles read).
    let seq = k.theirs(6);
    assert!(k.events().iter().any(|e| matches!(
        e,
        TcpEvent::RstReceived {
            action: RstAction::Ignored,
            state: State::Established,
            seq: s,
            ..
        } if *s == seq
    )));
}

#[test]
fn closed_window_does_not_take_a_fin() {
    let mut k = closed_window();
    send!(k, fl(&[F, A]), 5, 11);
    recv!(k, A, 11, 5);
    assert_eq!(k.state(), State::Established);
}

#[test]
fn text_past_the_window_is_trimmed_and_the_fin_behind_it_dropped() {
    let mut p = test_policy("rfc9293");
    p.rcv_buf = 8;
    let mut k = Kit::fixture(Fx::Established, p, 1000, 5000);
    let h = k.conn.expect("conn");
    // 12 bytes and a FIN against an 8-byte window: 8 are taken, the rest and the FIN are not.
    send!(k, fl(&[F, P, A]), 1, 1, b"0123456789AB");
    let a = recv!(k, A, 1, 9);
    assert_eq!(a.window, 0);
    recv_nothing!(k);
    assert_eq!(k.state(), State::Established);
    assert!(!k
        .events()
        .iter()
        .any(|e| matches!(e, TcpEvent::StateChange { .. })));
    // The reader drains the buffer; the peer resends the rest with its FIN.
    let mut buf = [0u8; 16];
    let n = k.tcp.recv(k.now, h, &mut buf).expect("recv");
    assert_eq!(&buf[..n], b"01234567");
    while k.out().is_some() {}
    send!(k, fl(&[F, P, A]), 9, 1, b"89AB");
    recv!(k, A, 1, 14);
    assert_eq!(k.state(), State::CloseWait);
}

#[test]
fn held_fin_is_taken_when_the_gap_fills() {
    let mut k = Kit::fixture(Fx::Established, test_policy("rfc9293"), 1000, 5000);
    send!(k, fl(&[F, P, A]), 5, 1, b"4567");
    recv!(k, A, 1, 1);
    assert_eq!(k.state(), State::Established);
    send!(k, fl(&[P, A]), 1, 1, b"0123");
    recv!(k, A, 1, 10);
    assert_eq!(k.state(), State::CloseWait);
}

#[test]
fn held_fin_behind_bytes_past_the_window_is_dropped() {
    let mut p = test_policy("rfc9293");
    p.rcv_buf = 8;
    let mut k = Kit::fixture(Fx::Established, p, 1000, 5000);
    // Bytes 4..10 and a FIN arrive first; the window ends at byte 8, so "AB" and the FIN are
    // beyond it and not held.
    send!(k, fl(&[F, P, A]), 5, 1, b"4567AB");
    recv!(k, A, 1, 1);
    send!(k, fl(&[P, A]), 1, 1, b"0123");
    recv!(k, A, 1, 9);
    assert_eq!(k.state(), State::Established);
}

#[test]
fn old_text_with_a_new_fin_after_close_takes_the_fin_without_a_reset() {
    // RFC 9293 §3.6.1 SHLD-3 resets only for *new* data after CLOSE. A retransmission of bytes
    // already received, now with the peer's FIN right after them (SEG.SEQ + SEG.LEN - 1 =
    // RCV.NXT, so acceptable by the FIN alone), has no new data: the FIN is taken (§3.10.7.4
    // eighth step, FIN-WAIT-2 -> TIME-WAIT) and acknowledged, nothing is reset.
    let mut k = Kit::fixture(Fx::Established, test_policy("rfc9293"), 1000, 5000);
    let h = k.conn.expect("conn");
    send!(k, fl(&[P, A]), 1, 1, b"abc");
    recv!(k, A, 1, 4);
    let mut buf = [0u8; 8];
    k.tcp.recv(k.now, h, &mut buf).expect("recv");
    k.tcp.close(k.now, h).expect("close");
    recv!(k, fl(&[F, A]), 1, 4);
    send!(k, A, 4, 2);
    assert_eq!(k.state(), State::FinWait2);
    send!(k, fl(&[F, P, A]), 1, 2, b"abc");
    recv!(k, A, 2, 5);
    recv_nothing!(k);
    assert_eq!(k.state(), State::TimeWait);
}
