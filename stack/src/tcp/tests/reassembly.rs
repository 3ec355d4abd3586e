//! RFC 9293 §3.10.7.4 SHLD-31 (hold out-of-order segments) and RFC 5681 §4.2 (immediate ACKs for
//! out-of-order segments and for segments that fill a gap), through the endpoint API.

use super::kit::*;
use crate::tcp::State;

fn read_all(k: &mut Kit) -> Vec<u8> {
    let h = k.conn.expect("conn");
    let mut buf = [0u8; 4096];
    match k.tcp.recv(k.now, h, &mut buf) {
        Ok(n) => buf[..n].to_vec(),
        Err(_) => Vec::new(),
    }
}

/// Delayed ACKs on (the rfc9293 default), so "immediate" is observable.
fn delack_policy() -> crate::policy::TcpPolicy {
    let mut p = test_policy("rfc9293");
    p.delayed_ack = Some(crate::time::Duration::from_millis(200));
    p
}

#[test]
fn out_of_order_held_then_delivered_when_gap_fills() {
    let mut k = Kit::fixture(Fx::Established, delack_policy(), 1000, 5000);
    send!(k, fl(&[P, A]), 11, 1, b"later");
    // Immediate duplicate ACK, window unchanged (the right edge stays where it was).
    let dup = recv!(k, A, 1, 1);
    assert_eq!(usize::from(dup.window), 65_535);
    assert!(read_all(&mut k).is_empty());
    send!(k, fl(&[P, A]), 1, 1, b"0123456789");
    // The gap is filled: ACK at once, covering the held bytes too.
    let ack = recv!(k, A, 1, 16);
    assert_eq!(usize::from(ack.window), 65_535 - 15);
    assert_eq!(read_all(&mut k), b"0123456789later");
}

#[test]
fn several_holes_fill_in_any_order() {
    let mut k = Kit::fixture(Fx::Established, test_policy("rfc9293"), 1000, 5000);
    send!(k, fl(&[P, A]), 9, 1, b"ij");
    recv!(k, A, 1, 1);
    send!(k, fl(&[P, A]), 5, 1, b"ef");
    recv!(k, A, 1, 1);
    send!(k, fl(&[P, A]), 3, 1, b"cd");
    recv!(k, A, 1, 1);
    send!(k, fl(&[P, A]), 1, 1, b"ab");
    // a..f contiguous, g..h still missing.
    recv!(k, A, 1, 7);
    send!(k, fl(&[P, A]), 7, 1, b"gh");
    recv!(k, A, 1, 11);
    assert_eq!(read_all(&mut k), b"abcdefghij");
}

#[test]
fn held_fin_processed_when_data_before_it_arrives() {
    let mut k = Kit::fixture(Fx::Established, test_policy("rfc9293"), 1000, 5000);
    send!(k, fl(&[F, P, A]), 6, 1, b"world");
    recv!(k, A, 1, 1);
    assert_eq!(k.state(), State::Established);
    send!(k, fl(&[P, A]), 1, 1, b"hello");
    // Data and FIN: RCV.NXT = 1 + 10 + 1.
    recv!(k, A, 1, 12);
    assert_eq!(k.state(), State::CloseWait);
    assert_eq!(read_all(&mut k), b"helloworld");
}

#[test]
fn only_the_window_is_held() {
    let mut p = test_policy("rfc9293");
    p.rcv_buf = 20;
    let mut k = Kit::fixture(Fx::Established, p, 1000, 5000);
    // Bytes 11..=30 arrive: only 11..=20 fit the 20-octet window.
    send!(k, fl(&[P, A]), 11, 1, &[7u8; 20]);
    recv!(k, A, 1, 1);
    send!(k, fl(&[P, A]), 1, 1, &[1u8; 10]);
    recv!(k, A, 1, 21);
    let got = read_all(&mut k);
    assert_eq!(got.len(), 20);
    assert_eq!(&got[10..], &[7u8; 10]);
}

#[test]
fn pure_ack_while_data_held_draws_no_ack() {
    let mut k = Kit::fixture(Fx::Established, test_policy("rfc9293"), 1000, 5000);
    send!(k, fl(&[P, A]), 11, 1, b"later");
    recv!(k, A, 1, 1);
    send!(k, A, 1, 1);
    recv_nothing!(k);
}

/// RFC 2018 §4: "The first SACK block ... MUST specify the contiguous block of data containing
/// the segment which triggered this ACK": a hole filled below a held block moves the new
/// block to the front; the others follow from the highest down.
#[test]
fn first_sack_block_is_the_latest_segments() {
    use crate::wire::TcpOption;
    let mut k = Kit::sack_permitted_passive_open("rfc9293");
    let sack = |k: &Kit, ranges: &[(u32, u32)]| {
        let blocks = ranges
            .iter()
            .map(|&(a, b)| (k.theirs(a).0, k.theirs(b).0))
            .collect();
        vec![
            TcpOption::NoOp,
            TcpOption::NoOp,
            TcpOption::SackRange(blocks),
        ]
    };
    send!(k, A, 1001, 1, &[1u8; 100]);
    let ack = recv!(k, A, 1, 1);
    assert_eq!(ack.options, sack(&k, &[(1001, 1101)]));
    send!(k, A, 201, 1, &[2u8; 100]);
    let ack = recv!(k, A, 1, 1);
    assert_eq!(ack.options, sack(&k, &[(201, 301), (1001, 1101)]));
    send!(k, A, 501, 1, &[3u8; 100]);
    let ack = recv!(k, A, 1, 1);
    assert_eq!(
        ack.options,
        sack(&k, &[(501, 601), (1001, 1101), (201, 301)])
    );
}
