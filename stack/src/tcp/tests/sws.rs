//! RFC 9293 §3.8.6.2.2 (MUST-39) receiver SWS avoidance: the right window edge stays fixed until
//! the free space grows by min(RCV.BUFF/2, Eff.snd.MSS).

use super::kit::*;

fn read(k: &mut Kit, n: usize) -> usize {
    let h = k.conn.expect("conn");
    let mut buf = vec![0u8; n];
    k.tcp.recv(k.now, h, &mut buf).unwrap_or(0)
}

/// Right edge (relative to the peer's ISN) a segment from us advertises.
fn edge(seg: &crate::wire::TcpRepr, k: &Kit) -> u32 {
    seg.ack.diff(k.theirs(0)) as u32 + u32::from(seg.window)
}

#[test]
fn small_reads_keep_the_right_edge() {
    // rcv_buf 65535, MSS 536 (no MSS option from the kit's peer): threshold 536.
    let mut k = Kit::fixture(Fx::Established, test_policy("rfc9293"), 1000, 5000);
    send!(k, fl(&[P, A]), 1, 1, &[1u8; 1000]);
    let a = recv!(k, A, 1, 1001);
    let e0 = edge(&a, &k);
    assert_eq!(e0, 1 + 65_535);
    // Reading 500 frees less than the threshold: no window update, edge unchanged.
    assert_eq!(read(&mut k, 500), 500);
    recv_nothing!(k);
    send!(k, fl(&[P, A]), 1001, 1, &[2u8; 10]);
    let a = recv!(k, A, 1, 1011);
    assert_eq!(edge(&a, &k), e0, "edge moved by a small read");
    // Reading the rest frees 1010 >= 536: the edge advances and an update goes out at once.
    assert_eq!(read(&mut k, 2000), 510);
    let upd = recv!(k, A, 1, 1011);
    assert_eq!(usize::from(upd.window), 65_535);
    assert!(edge(&upd, &k) > e0);
}

/// A 600-byte receive buffer (smaller than one SMSS) holding 400 unread bytes: the ACK of them
/// offers the 200 bytes left.
fn small_buffer_holding_400() -> (Kit, crate::wire::TcpRepr) {
    let mut p = test_policy("rfc9293");
    p.rcv_buf = 600;
    let mut k = Kit::fixture(Fx::Established, p, 1000, 5000);
    send!(k, fl(&[P, A]), 1, 1, &[1u8; 400]);
    let a = recv!(k, A, 1, 401);
    assert_eq!(a.window, 200);
    (k, a)
}

#[test]
fn threshold_is_half_the_buffer_when_smaller_than_mss() {
    let (mut k, _) = small_buffer_holding_400();
    // 299 freed < 300 = RCV.BUFF/2: nothing.
    assert_eq!(read(&mut k, 299), 299);
    recv_nothing!(k);
    // 300 freed: update.
    assert_eq!(read(&mut k, 1), 1);
    let upd = recv!(k, A, 1, 401);
    // 100 octets still unread: the whole free space, 500, is offered.
    assert_eq!(upd.window, 500);
}

#[test]
fn the_edge_never_moves_left() {
    let mut k = Kit::fixture(Fx::Established, test_policy("rfc9293"), 1000, 5000);
    let mut last = 0;
    for i in 0..20u32 {
        send!(k, fl(&[P, A]), 1 + i * 300, 1, &[3u8; 300]);
        let a = recv!(k, A, 1, 1 + (i + 1) * 300);
        let e = edge(&a, &k);
        assert!(e >= last, "edge {e} < {last}");
        last = e;
        read(&mut k, 100 + (i as usize % 3) * 200);
        while k.out().is_some() {}
    }
}

/// The update is due once the window grew by the threshold since the last advertisement, not as
/// soon as the free space passes the fixed right edge: with data in since (its ACK delayed, RFC
/// 1122 §4.2.3.2) the edge is closer, so a window of 400 after an advertised 200 (growth 200 <
/// 300 = RCV.BUFF/2) waits for the delayed ACK.
#[test]
fn a_window_update_needs_growth_by_the_threshold_since_the_last_advertisement() {
    let mut p = test_policy("rfc9293");
    p.rcv_buf = 600;
    p.delayed_ack = Some(crate::time::Duration::from_millis(200));
    let mut k = Kit::fixture(Fx::Established, p, 1000, 5000);
    send!(k, fl(&[P, A]), 1, 1, &[1u8; 400]);
    recv_nothing!(k);
    k.advance(crate::time::Duration::from_millis(200));
    assert_eq!(recv!(k, A, 1, 401).window, 200);
    assert_eq!(read(&mut k, 299), 299);
    send!(k, fl(&[P, A]), 401, 1, &[2u8; 100]);
    recv_nothing!(k);
    // 200 unread: 400 free, the fixed edge 100 away, so RCV.WND is 400, grown by only 200.
    assert_eq!(read(&mut k, 1), 1);
    recv_nothing!(k);
    k.advance(crate::time::Duration::from_millis(200));
    assert_eq!(recv!(k, A, 1, 501).window, 400);
}

/// After the peer's FIN no more data can come (RFC 9293 §3.10.7.4 eighth step), so a read that
/// frees the window by more than the threshold sends no window update (Linux
/// `tcp_cleanup_rbuf`: none "in states, where we will not receive more").
#[test]
fn no_window_update_after_the_peers_fin() {
    let (mut k, _) = small_buffer_holding_400();
    send!(k, fl(&[F, A]), 401, 1);
    recv!(k, A, 1, 402);
    assert_eq!(k.state(), crate::tcp::State::CloseWait);
    assert_eq!(read(&mut k, 400), 400);
    recv_nothing!(k);
}

#[test]
fn a_fin_moves_the_fixed_right_edge_with_it() {
    // The FIN takes one sequence number but no buffer space (RFC 9293 §3.10.7.4 eighth step
    // advances RCV.NXT over it): while the edge is held fixed (§3.8.6.2.2), the ACK of the FIN
    // still offers the same window, so the edge moves right by one. It never moves left
    // (§3.8.6 SHLD-14, no shrinking).
    let (mut k, a) = small_buffer_holding_400();
    let e0 = edge(&a, &k);
    // 299 freed < 300 = RCV.BUFF/2: the edge stays where it was.
    assert_eq!(read(&mut k, 299), 299);
    recv_nothing!(k);
    send!(k, fl(&[F, A]), 401, 1);
    let a = recv!(k, A, 1, 402);
    assert_eq!(a.window, 200, "the FIN used no buffer");
    assert_eq!(edge(&a, &k), e0 + 1);
    assert_eq!(k.state(), crate::tcp::State::CloseWait);
}

/// A reset discards the unread data (RFC 9293 §3.10.7.4: "all segment queues should be
/// flushed"), freeing the whole buffer, but the CLOSED connection the user still holds sends no
/// window update: updates are for synchronized states only.
#[test]
fn no_window_update_from_a_reset_connection() {
    let mut k = Kit::fixture(Fx::Established, test_policy("rfc9293"), 1000, 5000);
    send!(k, fl(&[P, A]), 1, 1, &[1u8; 1000]);
    recv!(k, A, 1, 1001);
    send!(k, R, 1001, 0);
    assert_eq!(k.state(), crate::tcp::State::Closed);
    recv_nothing!(k);
}
