//! The listed divergences, each judged on its precondition, and the crash inputs that
//! found them.
use super::*;

fn seg(flags: u8, len: u8) -> DiffOp {
    DiffOp::Segment {
        flags,
        seq_delta: 0,
        ack_delta: 0,
        len,
        window: 65_535,
    }
}

#[test]
fn a_plain_exchange_agrees() {
    let case = DiffCase {
        passive: true,
        peer_iss: 1000,
        ops: vec![
            seg(0x18, 100),
            DiffOp::Recv,
            DiffOp::Send(10),
            DiffOp::Advance(300),
            seg(0x11, 0),
            DiffOp::Advance(50),
            DiffOp::Close,
            DiffOp::Advance(50),
            seg(0x10, 0),
            DiffOp::Advance(20_000),
        ],
    };
    assert_eq!(run_diff(&case), Some(Ok(vec![])));
}

#[test]
fn an_in_window_rst_resets_both() {
    let case = DiffCase {
        passive: false,
        peer_iss: u32::MAX - 5,
        ops: vec![seg(0x14, 0), DiffOp::Advance(10)],
    };
    assert_eq!(run_diff(&case), Some(Ok(vec![])));
}

/// The crash diff_smoltcp found first (minimised by hand): data arrives, the application
/// closes without reading it. The reference resets (RFC 1122 §4.2.2.13), smoltcp sends FIN.
#[test]
fn close_with_unread_data_is_the_listed_rst_versus_fin_divergence() {
    let case = DiffCase {
        passive: true,
        peer_iss: 1000,
        ops: vec![seg(0x18, 100), DiffOp::Close, DiffOp::Advance(50)],
    };
    assert_eq!(run_diff(&case), Some(Ok(vec![Listed::UnreadDataAtClose])));
    // Read first, and both close with FIN: no divergence at all.
    let case = DiffCase {
        ops: vec![
            seg(0x18, 100),
            DiffOp::Recv,
            DiffOp::Close,
            DiffOp::Advance(50),
        ],
        ..case
    };
    assert_eq!(run_diff(&case), Some(Ok(vec![])));
}

/// The second crash diff_smoltcp found (minimised by hand): unacknowledged data goes
/// through retransmission timeouts, then the application sends more and closes. The
/// reference's loss window (RFC 5681 §3.1) holds the new data and the FIN; smoltcp sends
/// both, so the peer's FIN+ACK of "everything sent" moves smoltcp to TIME-WAIT and the
/// reference to CLOSING.
#[test]
fn smoltcp_sending_ahead_after_a_timeout_is_listed() {
    let case = DiffCase {
        passive: true,
        peer_iss: 1000,
        ops: vec![
            DiffOp::Send(123),
            DiffOp::Advance(31_611),
            DiffOp::Send(200),
            DiffOp::Send(200),
            DiffOp::Send(200),
            DiffOp::Close,
            DiffOp::Segment {
                flags: 0x19,
                seq_delta: 0,
                ack_delta: 0,
                len: 0,
                window: 0,
            },
        ],
    };
    assert_eq!(
        run_diff(&case),
        Some(Ok(vec![Listed::SendsAheadWithoutCongestionControl]))
    );
}

fn seg_at(flags: u8, seq_delta: i16, ack_delta: i16, len: u8) -> DiffOp {
    DiffOp::Segment {
        flags,
        seq_delta,
        ack_delta,
        len,
        window: 65_535,
    }
}

/// Third crash (by hand): data and FIN whose ACK is one below SND.UNA. The reference takes
/// them (the old ACK is ignored, RFC 9293 §3.10.7.4); smoltcp drops the whole segment, so
/// after both close, the peer's ACK ends the reference's LAST-ACK and leaves smoltcp in
/// FIN-WAIT.
#[test]
fn smoltcp_dropping_a_segment_with_an_old_ack_is_listed() {
    let case = DiffCase {
        passive: true,
        peer_iss: 1000,
        ops: vec![
            seg_at(0x19, 0, -1, 10),
            DiffOp::Recv,
            DiffOp::Close,
            seg(0x10, 0),
        ],
    };
    assert_eq!(run_diff(&case), Some(Ok(vec![Listed::OldAckDropsSegment])));
    // The same segment with a current ACK: both take it and agree throughout.
    let case = DiffCase {
        ops: vec![
            seg_at(0x19, 0, 0, 10),
            DiffOp::Recv,
            DiffOp::Close,
            seg(0x10, 0),
        ],
        ..case
    };
    assert_eq!(run_diff(&case), Some(Ok(vec![])));
}

/// Fourth crash (by hand): an in-window RST ends both connections, then SYN+FIN reaches
/// the listener. The reference (RFC 793: SYN checked, FIN later) opens a SYN-RECEIVED
/// connection; smoltcp drops the segment as malformed. The difference shows only at a
/// later step, when the application closes.
#[test]
fn a_dropped_control_combination_explains_later_divergences() {
    let case = DiffCase {
        passive: true,
        peer_iss: 1000,
        ops: vec![
            seg_at(0x14, 100, 0, 0),
            seg_at(0x03, 25_000, 0, 0),
            seg(0x00, 0),
            DiffOp::Close,
        ],
    };
    assert_eq!(run_diff(&case), Some(Ok(vec![Listed::ControlCombination])));
}

/// Decodes a crash input and prints the case and its verdict (run by hand:
/// `DIFF_CASE=fuzz/artifacts/diff_smoltcp/crash-… cargo test -p harness diff_replay -- --ignored --nocapture`).
#[test]
#[ignore]
fn diff_replay() {
    let path = std::env::var("DIFF_CASE").expect("DIFF_CASE=<crash file>");
    let data = std::fs::read(&path).expect("readable DIFF_CASE");
    let case = DiffCase::arbitrary(&mut Unstructured::new(&data)).expect("a case");
    println!("{case:#?}\n{:?}", run_diff(&case));
}

/// Explores random inputs and prints the distinct unlisted divergences (run by hand:
/// `cargo test -p harness diff_explore -- --ignored --nocapture`).
#[test]
#[ignore]
fn diff_explore() {
    let mut rng = stack::rand::Rng::new(7);
    let mut seen = std::collections::BTreeSet::new();
    let n: usize = std::env::var("DIFF_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    for _ in 0..n {
        let len = 50 + (rng.next_u32() % 400) as usize;
        let bytes: Vec<u8> = (0..len).map(|_| rng.next_u32() as u8).collect();
        let Ok(case) = DiffCase::arbitrary(&mut Unstructured::new(&bytes)) else {
            continue;
        };
        if let Some(Err(d)) = run_diff(&case) {
            let key = match &d.what {
                Mismatch::State { reference, smoltcp } => format!("{reference:?} {smoltcp:?}"),
                Mismatch::Acked { .. } => {
                    format!("acked {:?}", d.op.as_ref().map(std::mem::discriminant))
                }
                Mismatch::Sent { reference, smoltcp } => {
                    let shape = |v: &Vec<Sent>| {
                        v.iter()
                            .map(|s| format!("{s:?}").split(' ').next().unwrap_or("").to_owned())
                            .collect::<Vec<_>>()
                            .join(",")
                    };
                    format!(
                        "sent {:?}: [{}] [{}]",
                        d.op.as_ref().map(std::mem::discriminant),
                        shape(reference),
                        shape(smoltcp)
                    )
                }
            };
            if seen.insert(key) {
                println!("{d}\n  {case:?}");
            }
        }
    }
}

/// Found by the segment comparison: after 86 s idle smoltcp's neighbour entry has expired, so
/// the RST of an abort goes to ARP resolution and is dropped (smoltcp queues nothing); the
/// reference (static neighbour) sends it.
#[test]
fn an_abort_after_the_neighbour_expired_loses_smoltcps_reset() {
    let case = DiffCase {
        passive: true,
        peer_iss: 1000,
        ops: vec![
            DiffOp::Advance(44_503),
            DiffOp::Advance(41_676),
            DiffOp::Abort,
        ],
    };
    assert_eq!(
        run_diff(&case),
        Some(Ok(vec![Listed::ResetLostWhileResolving]))
    );
    // Within smoltcp's 60 s entry lifetime, both send the RST (smoltcp's with ACK set).
    let case = DiffCase {
        ops: vec![DiffOp::Advance(44_503), DiffOp::Abort],
        ..case
    };
    assert_eq!(run_diff(&case), Some(Ok(vec![Listed::AckOnReset])));
}

/// smoltcp's reply to a segment without ACK, SYN or RST carries no ACK (RFC 9293 §3.10.7.1
/// asks for `<SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>`).
#[test]
fn smoltcps_reset_reply_without_ack_is_listed() {
    let case = DiffCase {
        // No listener behind the connection (a listener drops such a segment silently).
        passive: false,
        peer_iss: 1000,
        // An in-window RST ends both connections; then a bare segment with 5 bytes.
        ops: vec![seg(0x14, 0), seg_at(0x00, 0, 0, 5)],
    };
    assert_eq!(
        run_diff(&case),
        Some(Ok(vec![Listed::ResetReplyWithoutAck]))
    );
}

/// diff_smoltcp's first crash after the segment comparison (minimised by hand): eight small
/// writes (Nagle packs them into two segments, the second with FIN) go unacknowledged through
/// retransmission timeouts. The reference resends one segment per timeout (its loss window,
/// RFC 5681 §3.1); smoltcp resends both each time.
#[test]
fn smoltcp_resending_everything_after_a_timeout_is_listed() {
    let mut ops = vec![DiffOp::Advance(18_060)];
    ops.extend(std::iter::repeat_n(DiffOp::Send(121), 8));
    ops.extend([DiffOp::Close, DiffOp::Advance(65_535)]);
    let case = DiffCase {
        passive: true,
        peer_iss: 3_708_684_642,
        ops,
    };
    assert_eq!(
        run_diff(&case),
        Some(Ok(vec![Listed::SendsAheadWithoutCongestionControl]))
    );
}

/// Second fuzz crash after the segment comparison (minimised by hand): the peer closes its
/// window with a FIN; data waits behind it and both stacks probe the zero window (same
/// timing); the abort's RST carries SND.NXT, which the reference's probe byte advanced and
/// smoltcp's did not.
#[test]
fn the_rst_after_zero_window_probes_is_listed() {
    let zero = DiffOp::Segment {
        flags: 0x11,
        seq_delta: 0,
        ack_delta: 0,
        len: 0,
        window: 0,
    };
    let case = DiffCase {
        passive: true,
        peer_iss: 3_708_684_642,
        ops: vec![
            zero,
            DiffOp::Send(204),
            DiffOp::Advance(25_127),
            DiffOp::Abort,
        ],
    };
    assert_eq!(
        run_diff(&case),
        Some(Ok(vec![Listed::ProbeByteOutsideSndNxt]))
    );
    // Aborted before any probe went out, both RSTs carry the same SEQ.
    let case = DiffCase {
        ops: vec![case.ops[0].clone(), DiffOp::Send(204), DiffOp::Abort],
        ..case
    };
    assert_eq!(run_diff(&case), Some(Ok(vec![Listed::AckOnReset])));
}
