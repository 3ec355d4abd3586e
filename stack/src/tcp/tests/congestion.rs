//! RFC 5681 congestion control (RFC 9293 §3.8.2 MUST-19): initial window, slow start, and one
//! segment after a retransmission timeout.

use super::kit::*;
use crate::tcp::tcb::initial_window;
use crate::time::{Duration, Instant};
use rstest::rstest;

/// RFC 5681 §3.1: IW = min(4*SMSS, max(2*SMSS, 4380 bytes)).
#[rstest]
#[case(536, 2144)]
#[case(1000, 4000)]
#[case(1460, 4380)]
#[case(2190, 4380)]
#[case(3000, 6000)]
fn initial_window_per_rfc5681(#[case] smss: usize, #[case] iw: u32) {
    assert_eq!(initial_window(smss), iw);
}

/// Segments sent (payload lengths) until nothing more goes out.
fn burst(k: &mut Kit) -> Vec<usize> {
    let mut v = Vec::new();
    while let Some(o) = k.out() {
        v.push(o.seg.payload.len());
    }
    v
}

#[test]
fn slow_start_grows_by_one_smss_per_ack() {
    // The kit's peer sends no MSS option: SMSS 536, IW 2144 = four segments.
    let mut k = Kit::fixture(Fx::Established, test_policy("rfc9293"), 1000, 5000);
    let h = k.conn.expect("conn");
    k.tcp.send(k.now, h, &[0u8; 536 * 20]).expect("send");
    assert_eq!(burst(&mut k), vec![536; 4]);
    // One ACK for two segments: cwnd 2144 + 536; four in flight before, two acked -> three go.
    send!(k, A, 1, 1 + 2 * 536);
    assert_eq!(burst(&mut k), vec![536; 3]);
}

#[test]
fn timeout_sends_one_segment_then_slow_start() {
    let mut k = Kit::fixture(Fx::Established, test_policy("rfc9293"), 1000, 5000);
    let h = k.conn.expect("conn");
    k.tcp.send(k.now, h, &[0u8; 536 * 8]).expect("send");
    assert_eq!(burst(&mut k), vec![536; 4]);
    // No ACK: the RTO fires and exactly one segment (the oldest) is resent.
    assert!(k.step(Instant::MAX));
    let re = burst(&mut k);
    assert_eq!(re, vec![536]);
    // Its ACK doubles cwnd (1 -> 2 SMSS): two segments.
    k.advance(Duration::from_millis(10));
    send!(k, A, 1, 1 + 536);
    assert_eq!(burst(&mut k), vec![536; 2]);
}

/// Bytes in flight (SND.NXT − SND.UNA).
fn flight(k: &Kit) -> i32 {
    let i = k.tcp.tcb_info(k.conn.expect("conn")).expect("tcb");
    i.snd_nxt.diff(i.snd_una)
}

#[test]
fn congestion_avoidance_adds_smss_squared_over_cwnd_per_ack() {
    // Nagle off, so the sender fills cwnd to the byte and the flight size shows cwnd.
    let (mut k, h) = Kit::established_without_nagle(test_policy("rfc9293"));
    k.tcp.send(k.now, h, &[0u8; 536 * 40]).expect("send");
    burst(&mut k);
    let first = flight(&k) as u32;
    assert!(first >= 4 * 536, "initial window {first}");
    // RTO: ssthresh = max(FlightSize/2, 2*SMSS) = 1072 (eq. 4), cwnd = 1 SMSS.
    assert!(k.step(Instant::MAX));
    assert_eq!(burst(&mut k), vec![536]);
    // Slow start (cwnd 536 < ssthresh): cwnd += SMSS -> 1072 = ssthresh.
    let mut acked = 1 + first;
    send!(k, A, 1, acked);
    assert_eq!(burst(&mut k), vec![536, 536]);
    assert_eq!(flight(&k), 1072);
    // cwnd >= ssthresh: congestion avoidance, cwnd += SMSS*SMSS/cwnd (eq. 3) per ACK:
    // 1072 + 536*536/1072 = 1340, then 1340 + 214 = 1554.
    acked += 1072;
    send!(k, A, 1, acked);
    burst(&mut k);
    assert_eq!(flight(&k), 1340);
    acked += 1340;
    send!(k, A, 1, acked);
    burst(&mut k);
    assert_eq!(flight(&k), 1554);
}

/// RFC 1122 §4.2.2.2 (MUST-61): without a PUSH flag on SEND, "the sending TCP ... [sets] the
/// PSH bit in the last buffered segment": of 1000 bytes sent as 536 + 464, only the second
/// carries PSH.
#[test]
fn psh_marks_the_last_segment_of_the_buffered_data() {
    let (mut k, h) = Kit::established_without_nagle(test_policy("rfc9293"));
    k.tcp.send(k.now, h, &[3; 1000]).expect("send");
    let first = recv!(k, A, 1, 1);
    let last = recv!(k, A, 537, 1);
    assert_eq!((first.payload.len(), last.payload.len()), (536, 464));
    assert!(!first.flags.psh(), "{first:?}");
    assert!(last.flags.psh(), "{last:?}");
}

/// PSH marks data (RFC 1122 §4.2.2.2, "the last buffered segment"): a FIN sent once all the
/// data has gone carries none (Linux `tcp_send_fin` sends ACK|FIN; FreeBSD `tcp_output` sets
/// TH_PUSH only when the segment has data).
#[test]
fn a_fin_without_data_carries_no_psh() {
    let mut k = Kit::fixture(Fx::Established, test_policy("rfc9293"), 1000, 5000);
    let h = k.conn.expect("conn");
    k.tcp.close(k.now, h).expect("close");
    let fin = recv!(k, fl(&[F, A]), 1, 1);
    assert_eq!(fin.flags, fl(&[F, A]), "{fin:?}");
}

/// RFC 5681 §3.1 eq. 4: after a timeout "ssthresh = max (FlightSize / 2, 2*SMSS)". With three
/// segments in flight (the peer's window held it to 1608 bytes) FlightSize / 2 is 804, so the
/// floor 2*SMSS = 1072 is the threshold: slow start runs until cwnd reaches 1072, not 804.
#[test]
fn ssthresh_after_a_timeout_is_at_least_two_segments() {
    let (mut k, h) = Kit::established_without_nagle(test_policy("rfc9293"));
    let mut narrow = k.seg(A, 1, 1, b"");
    narrow.window = 3 * 536;
    k.inject(&narrow);
    k.tcp.send(k.now, h, &[0u8; 536 * 8]).expect("send");
    assert_eq!(burst(&mut k), vec![536; 3]);
    assert!(k.step(Instant::MAX));
    assert_eq!(burst(&mut k), vec![536]);
    // Partial ACK of 300 bytes, window open: slow start, cwnd 536 + 300 = 836.
    send!(k, A, 1, 301);
    assert_eq!(burst(&mut k), vec![536, 64]);
    // The rest of the retransmission: still below ssthresh, cwnd 836 + 236 = 1072: the window
    // ends at 537 + 1072 = 1609, where the first flight ended.
    send!(k, A, 1, 537);
    assert_eq!(burst(&mut k), vec![472]);
}

/// RFC 5681 §3.1: after a timeout ssthresh = FlightSize / 2 (eq. 4; here above the 2*SMSS
/// floor) and cwnd = 1 SMSS; slow start then adds one SMSS per ACK up to ssthresh and
/// congestion avoidance SMSS*SMSS/cwnd per ACK beyond it. An initial window of 10 segments
/// (RFC 6928) plus the byte the ACK of our SYN added in slow start: 5361 bytes in flight,
/// ssthresh = 2680.
#[test]
fn ssthresh_after_a_timeout_is_half_the_flight() {
    let mut p = test_policy("rfc9293");
    p.initial_window = 10;
    let (mut k, h) = Kit::established_without_nagle(p);
    let cwnd = |k: &Kit| k.tcp.tcb_info(h).expect("tcb").cwnd;
    k.tcp.send(k.now, h, &[0u8; 536 * 20]).expect("send");
    let mut first = vec![536; 10];
    first.push(1);
    assert_eq!(burst(&mut k), first);
    assert!(k.step(Instant::MAX));
    assert_eq!(burst(&mut k), vec![536]);
    assert_eq!(cwnd(&k), 536);
    let mut grown = Vec::new();
    for n in 1..=5 {
        send!(k, A, 1, 1 + 536 * n);
        burst(&mut k);
        grown.push(cwnd(&k));
    }
    assert_eq!(grown, vec![1072, 1608, 2144, 2680, 2680 + 536 * 536 / 2680]);
}
