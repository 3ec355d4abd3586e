//! RFC 9293 §3.10.7.4 first check (sequence number) for segments wholly before RCV.NXT, and the
//! FreeBSD profile's own paths (tcp_input.c trimming, tcp_timewait.c) kept to their states.

use super::kit::*;
use crate::tcp::{DropReason, State, TcpEvent};
use rstest::rstest;

/// An old duplicate RST (SEG.SEQ < RCV.NXT, nothing in the window): "If an incoming segment is
/// not acceptable, an acknowledgment should be sent in reply (unless the RST bit is set, if so
/// drop the segment and return)". Neither accepted (RFC 793) nor challenged (RFC 5961 §3.2,
/// which only applies in the window).
#[rstest]
#[case("rfc793")]
#[case("rfc9293")]
#[case("freebsd")]
fn old_duplicate_rst_is_dropped_silently(#[case] profile: &str) {
    let mut k = Kit::fixture(Fx::Established, test_policy(profile), 1000, 5000);
    send!(k, R, 0, 0);
    recv_nothing!(k);
    assert_eq!(k.state(), State::Established);
}

/// An old duplicate (SEG.SEQ < RCV.NXT, nothing new) acknowledging our data. RFC 9293
/// §3.10.7.4: not acceptable, "an acknowledgment should be sent in reply ... After sending the
/// acknowledgment, drop the unacceptable segment and return": its ACK field is ignored and the
/// data stays unacknowledged. FreeBSD (`old_segment_ack`, tcp_input.c: trimmed to nothing "but
/// keep on processing for RST or ACK") takes the acknowledgment.
#[rstest]
#[case("rfc9293", false)]
#[case("freebsd", true)]
fn old_duplicate_ack_field(#[case] profile: &str, #[case] counts: bool) {
    let mut p = test_policy(profile);
    p.timestamps = false;
    let (mut k, h) = Kit::established_without_nagle(p);
    k.tcp.send(k.now, h, &[7u8; 10]).expect("send");
    recv!(k, A, 1, 1);
    send!(k, A, 0, 11);
    recv!(k, A, 11, 1);
    recv_nothing!(k);
    let una = k.tcp.tcb_info(h).expect("tcb").snd_una;
    assert_eq!(una, k.ours(if counts { 11 } else { 1 }), "SND.UNA");
}

/// An old duplicate SYN with RFC 5961 off on the FreeBSD profile: out of the window, so the
/// first check answers it with an ACK and drops it (tcp_input.c trims an old SYN away before
/// the SYN check); it never reaches the in-window SYN rule that resets the connection.
#[test]
fn old_duplicate_syn_is_acked_not_reset_on_freebsd() {
    let mut p = test_policy("freebsd");
    p.rfc5961 = false;
    p.timestamps = false;
    let mut k = Kit::fixture(Fx::Established, p, 1000, 5000);
    send!(k, S, 0, 0);
    recv!(k, A, 1, 1);
    recv_nothing!(k);
    assert_eq!(k.state(), State::Established);
}

/// FreeBSD's TIME-WAIT handling (`time_wait_bsd`, tcp_twcheck) is for TIME-WAIT only: in
/// ESTABLISHED, data is still delivered to the user (RFC 9293 §3.10.7.4 seventh step).
#[test]
fn freebsd_established_delivers_data() {
    let mut p = test_policy("freebsd");
    p.timestamps = false;
    let mut k = Kit::fixture(Fx::Established, p, 1000, 5000);
    let h = k.conn.expect("conn");
    send!(k, A, 1, 1, b"hello");
    recv!(k, A, 1, 6);
    let mut buf = [0u8; 16];
    assert_eq!(k.tcp.recv(k.now, h, &mut buf), Ok(5));
    assert_eq!(&buf[..5], b"hello");
}

/// The FreeBSD profile's TIME-WAIT (tcp_timewait.c `tcp_twcheck`), fixture ISS 1000, peer ISN
/// 5000: our FIN at 1, theirs at 1, RCV.NXT = SND.NXT = 2.
fn freebsd_time_wait() -> Kit {
    let mut p = test_policy("freebsd");
    p.timestamps = false;
    let k = Kit::fixture(Fx::TimeWait, p, 1000, 5000);
    assert_eq!(k.state(), State::TimeWait);
    k
}

/// tcp_twcheck: "Acknowledge the segment if it has data or is not a duplicate ACK": a
/// retransmitted FIN (with its ACK) is acknowledged and TIME-WAIT goes on.
#[test]
fn freebsd_time_wait_acks_a_retransmitted_fin() {
    let mut k = freebsd_time_wait();
    send!(k, fl(&[F, A]), 1, 2);
    recv!(k, A, 2, 2);
    recv_nothing!(k);
    assert_eq!(k.state(), State::TimeWait);
}

/// tcp_twcheck: a pure duplicate ACK (no data, SEG.SEQ = RCV.NXT, SEG.ACK = SND.NXT) draws
/// nothing.
#[test]
fn freebsd_time_wait_ignores_a_duplicate_ack() {
    let mut k = freebsd_time_wait();
    send!(k, A, 2, 2);
    recv_nothing!(k);
    assert_eq!(k.state(), State::TimeWait);
}

/// tcp_twcheck reopens only for a SYN ("if a new connection request is received ... start over
/// if the sequence numbers are above the previous ones"): data above RCV.NXT is just
/// acknowledged and TIME-WAIT goes on.
#[test]
fn freebsd_time_wait_data_above_rcv_nxt_does_not_reopen() {
    let mut k = freebsd_time_wait();
    send!(k, A, 10, 2, b"x");
    recv!(k, A, 2, 2);
    recv_nothing!(k);
    assert_eq!(k.state(), State::TimeWait);
}

/// tcp_twcheck: "Acknowledge the segment if it has data or is not a duplicate ACK": each of
/// the four ways a segment differs from a duplicate ACK draws an ACK on its own: other flags
/// (PSH), data at RCV.NXT, a sequence number off RCV.NXT, an acknowledgment off SND.NXT.
#[rstest]
#[case::flags(fl(&[P, A]), 2, 2, b"")]
#[case::data(A, 2, 2, b"x")]
#[case::seq(A, 10, 2, b"")]
#[case::ack(A, 2, 1, b"")]
fn freebsd_time_wait_acks_anything_but_a_duplicate_ack(
    #[case] flags: crate::wire::TcpFlags,
    #[case] seq: u32,
    #[case] ack: u32,
    #[case] payload: &[u8],
) {
    let mut k = freebsd_time_wait();
    send!(k, flags, seq, ack, payload);
    recv!(k, A, 2, 2);
    recv_nothing!(k);
    assert_eq!(k.state(), State::TimeWait);
}

/// tcp_twcheck: "Reset the 2MSL timer if this is a duplicate FIN" (SEG.SEQ + SEG.LEN =
/// RCV.NXT, FIN set); a duplicate ACK does not reset it.
#[test]
fn freebsd_time_wait_restarts_2msl_on_a_duplicate_fin_only() {
    let msl = test_policy("freebsd").msl;
    let ms = crate::time::Duration::from_millis(1);
    // A duplicate ACK half-way: TIME-WAIT still ends 2*MSL after it began.
    let mut k = freebsd_time_wait();
    k.advance(msl);
    send!(k, A, 2, 2);
    recv_nothing!(k);
    k.advance(msl - ms);
    assert_eq!(k.state(), State::TimeWait);
    k.advance(ms * 2);
    assert_ne!(k.state(), State::TimeWait);
    // A duplicate FIN half-way: 2*MSL again from it.
    let mut k = freebsd_time_wait();
    k.advance(msl);
    send!(k, fl(&[F, A]), 1, 2);
    recv!(k, A, 2, 2);
    k.advance(msl * 2 - ms);
    assert_eq!(k.state(), State::TimeWait);
    k.advance(ms * 2);
    assert_ne!(k.state(), State::TimeWait);
}

/// RFC 9293 §3.10.7.4 first check against RCV.WND: without window scaling the field caps the
/// window at 65535, so a segment starting 70000 octets past RCV.NXT is not acceptable even with
/// room in a 200000-byte buffer: ACKed and dropped. The FreeBSD profile (`rcv_wnd_from_buffer`,
/// tcp_input.c `rcv_wnd = imax(sbspace, rcv_adv - rcv_nxt)`) checks against the free buffer and
/// takes it (an out-of-order segment past the advertised window: ACKed, not held).
#[rstest]
#[case("linux", true)]
#[case("freebsd", false)]
fn a_segment_past_the_advertised_window(#[case] profile: &str, #[case] dropped: bool) {
    let mut p = test_policy(profile);
    p.timestamps = false;
    p.rcv_buf = 200_000;
    let mut k = Kit::fixture(Fx::Established, p, 1000, 5000);
    send!(k, fl(&[P, A]), 70_001, 1, b"x");
    recv!(k, A, 1, 1);
    recv_nothing!(k);
    let out_of_window = k.events().iter().any(|e| {
        matches!(
            e,
            TcpEvent::SegmentDropped {
                reason: DropReason::OutOfWindow,
                ..
            }
        )
    });
    assert_eq!(out_of_window, dropped);
}

/// An ACK we send in FIN-WAIT-1 (here the reply to an unacceptable segment) with our FIN still
/// unacknowledged: FreeBSD (`fin_on_acks`, tcp_output.c `tcp_outflags[]`) sends the FIN again,
/// `<SEQ=FIN><CTL=FIN,ACK>` (RFC 9293 §3.10.4 allows retransmitting it at any time); the others
/// the plain `<SEQ=SND.NXT><CTL=ACK>`.
#[rstest]
#[case("rfc9293", false)]
#[case("freebsd", true)]
fn an_ack_in_fin_wait_1_repeats_the_fin_on_freebsd(#[case] profile: &str, #[case] fin: bool) {
    let mut p = test_policy(profile);
    p.timestamps = false;
    let mut k = Kit::fixture(Fx::FinWait1, p, 1000, 5000);
    send!(k, fl(&[P, A]), 100_000, 1, b"x");
    if fin {
        recv!(k, fl(&[F, A]), 1, 1);
    } else {
        recv!(k, A, 2, 1);
    }
    recv_nothing!(k);
    assert_eq!(k.state(), State::FinWait1);
}
