//! RFC 9293 §3.10.7.4 fifth check, the send-window update: "If SND.UNA =< SEG.ACK =< SND.NXT,
//! the send window should be updated. If (SND.WL1 < SEG.SEQ or (SND.WL1 = SEG.SEQ and
//! SND.WL2 =< SEG.ACK)), set SND.WND <- SEG.WND, set SND.WL1 <- SEG.SEQ, and set
//! SND.WL2 <- SEG.ACK." SND.WL1/WL2 keep an old, reordered segment from putting back a window
//! the peer has since replaced; RFC 7323 §2.3 scales every window but the SYN's.

use super::kit::*;
use crate::tcp::State;
use crate::wire::{TcpFlags, TcpOption};

fn snd_wnd(k: &Kit) -> u32 {
    let h = k.conn.expect("conn");
    k.tcp.tcb_info(h).expect("tcb").snd_wnd
}

/// A segment from the peer advertising `window`.
fn send_w(k: &mut Kit, flags: TcpFlags, seq: u32, ack: u32, payload: &[u8], window: u16) {
    let mut s = k.seg(flags, seq, ack, payload);
    s.window = window;
    k.inject(&s);
}

#[test]
fn reordered_older_segment_does_not_restore_its_window() {
    let mut k = Kit::fixture(Fx::Established, test_policy("rfc9293"), 1000, 5000);
    // The peer sent "0123456789" (window 1000) then "abcdefghij" (window 2000); the second
    // arrives first and is held (SHLD-31), its window is taken (SND.WL1 < SEG.SEQ).
    send_w(&mut k, fl(&[P, A]), 11, 1, b"abcdefghij", 2000);
    recv!(k, A, 1, 1);
    assert_eq!(snd_wnd(&k), 2000);
    // The older segment fills the gap, but SEG.SEQ < SND.WL1: its window is stale.
    send_w(&mut k, fl(&[P, A]), 1, 1, b"0123456789", 1000);
    recv!(k, A, 1, 21);
    assert_eq!(snd_wnd(&k), 2000);
}

#[test]
fn same_seq_with_an_equal_or_newer_ack_updates_the_window() {
    let mut k = Kit::fixture(Fx::Established, test_policy("rfc9293"), 1000, 5000);
    let h = k.conn.expect("conn");
    k.tcp.send(k.now, h, &[7u8; 100]).expect("send");
    recv!(k, fl(&[P, A]), 1, 1);
    // Pure ACKs keep SEG.SEQ = SND.WL1: a newer ACK (SND.WL2 < SEG.ACK) ...
    send_w(&mut k, A, 1, 101, b"", 3000);
    assert_eq!(snd_wnd(&k), 3000);
    // ... and the same ACK again (SND.WL2 = SEG.ACK: a pure window update) both count.
    send_w(&mut k, A, 1, 101, b"", 4000);
    assert_eq!(snd_wnd(&k), 4000);
    recv_nothing!(k);
}

#[test]
fn ack_below_snd_una_never_moves_the_window() {
    let mut k = Kit::fixture(Fx::Established, test_policy("rfc793"), 1000, 5000);
    let h = k.conn.expect("conn");
    k.tcp.send(k.now, h, &[7u8; 100]).expect("send");
    recv!(k, fl(&[P, A]), 1, 1);
    send_w(&mut k, fl(&[P, A]), 1, 101, b"abc", 3000);
    recv!(k, A, 101, 4);
    assert_eq!(snd_wnd(&k), 3000);
    // New data (SEG.SEQ > SND.WL1) carrying a duplicate ACK (SEG.ACK < SND.UNA): "it can be
    // ignored" for the window, the text is still taken.
    send_w(&mut k, fl(&[P, A]), 4, 51, b"def", 0);
    recv!(k, A, 101, 7);
    assert_eq!(snd_wnd(&k), 3000);
    assert_eq!(k.state(), State::Established);
}

#[test]
fn window_scale_applies_after_the_syn_active_open() {
    let mut p = test_policy("rfc9293");
    p.window_scale = Some(2);
    let mut k = Kit::fixture(Fx::SynSent, p, 1000, 5000);
    let mut synack = k.seg(fl(&[S, A]), 0, 1, b"");
    synack.options = vec![TcpOption::WindowScale(3)];
    synack.window = 1000;
    k.inject(&synack);
    recv!(k, A, 1, 1);
    assert_eq!(k.state(), State::Established);
    // RFC 7323 §2.2: the window in a SYN is never scaled.
    assert_eq!(snd_wnd(&k), 1000);
    send_w(&mut k, A, 1, 1, b"", 1000);
    assert_eq!(snd_wnd(&k), 8000);
}

#[test]
fn window_scale_applies_to_the_ack_that_completes_a_passive_open() {
    let mut p = test_policy("rfc9293");
    p.window_scale = Some(2);
    let mut k = Kit::new(p, 1000, 5000);
    k.listen();
    let mut syn = k.seg(S, 0, 0, b"");
    syn.options = vec![TcpOption::WindowScale(3)];
    syn.window = 1000;
    k.inject(&syn);
    // Our own window: unscaled in the SYN-ACK (65535 of the 65535-byte buffer), scaled by our
    // shift 2 afterwards.
    let synack = recv!(k, fl(&[S, A]), 0, 1);
    assert_eq!(synack.window, 65535);
    send_w(&mut k, A, 1, 1, b"", 1000);
    recv_nothing!(k);
    let l = k.listener.expect("listener");
    k.conn = Some(k.tcp.accept(k.now, l).expect("accept"));
    assert_eq!(k.state(), State::Established);
    assert_eq!(snd_wnd(&k), 8000);
    send_w(&mut k, A, 1, 1, b"x", 1000);
    assert_eq!(recv!(k, A, 1, 2).window, (65535 - 1) >> 2);
}

#[test]
fn window_reopening_resends_from_snd_una() {
    let (mut k, h) = Kit::established_without_nagle(test_policy("rfc9293"));
    k.send_two_segments(h, 7);
    recv_nothing!(k);
    // The peer closes its window without acknowledging anything ...
    send_w(&mut k, A, 1, 1, b"", 0);
    assert_eq!(snd_wnd(&k), 0);
    recv_nothing!(k);
    // ... and reopens it: sending resumes from the oldest unacknowledged byte.
    send_w(&mut k, A, 1, 1, b"", 65535);
    recv!(k, A, 1, 1);
}

#[test]
fn partial_ack_does_not_resend_data_in_flight() {
    let (mut k, h) = Kit::established_without_nagle(test_policy("rfc9293"));
    k.send_two_segments(h, 7);
    // An ACK for the first segment with an unchanged (open) window moves nothing back.
    send_w(&mut k, A, 1, 537, b"", 65535);
    recv_nothing!(k);
    assert_eq!(snd_wnd(&k), 65535);
}
