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

/// Replays every crash input in a directory and prints each distinct unlisted divergence once
/// (run by hand: `DIFF_DIR=<artifacts dir> cargo test -p harness diff_triage -- --ignored --nocapture`).
#[test]
#[ignore]
fn diff_triage() {
    let dir = std::env::var("DIFF_DIR").expect("DIFF_DIR=<directory of crash files>");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("readable DIFF_DIR")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("crash-"))
        })
        .collect();
    files.sort();
    let mut seen = std::collections::BTreeMap::new();
    for f in files {
        let data = std::fs::read(&f).expect("readable crash");
        let Ok(case) = DiffCase::arbitrary(&mut Unstructured::new(&data)) else {
            continue;
        };
        match run_diff(&case) {
            Some(Err(d)) => {
                let what = format!(
                    "{:?} {}",
                    d.op.as_ref().map(std::mem::discriminant),
                    match &d.what {
                        Mismatch::Sent { .. } => "sent",
                        Mismatch::Acked { .. } => "acked",
                        Mismatch::State { .. } => "state",
                    }
                );
                seen.entry(what)
                    .or_insert_with(|| (f.clone(), d.to_string(), 0))
                    .2 += 1;
            }
            other => println!("{}: now {other:?}", f.display()),
        }
    }
    for (k, (f, d, n)) in seen {
        println!("[{n}] {k}\n  {}\n  {d}", f.display());
    }
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

/// Fuzz crash (minimised by hand): 646 bytes sent, more queued behind Nagle; an in-window
/// segment acknowledges 17 bytes more than were ever sent. The reference drops it with an ACK (RFC
/// 9293 §3.10.7.4); smoltcp takes the ACK, drops the 17 queued bytes unsent and goes on past
/// them.
#[test]
fn smoltcp_taking_an_ack_of_unsent_data_is_listed() {
    let mut ops: Vec<DiffOp> = std::iter::repeat_n(DiffOp::Send(109), 9).collect();
    ops.push(DiffOp::Send(85));
    ops.push(seg_at(0x11, 4_497, 17, 0));
    let case = DiffCase {
        passive: true,
        peer_iss: 1000,
        ops: ops.clone(),
    };
    let r = run_diff(&case);
    assert_eq!(r, Some(Ok(vec![Listed::AckOfUnsentData])), "{r:?}");
    // The same segment acknowledging only what was sent: no difference.
    ops.pop();
    ops.push(seg_at(0x11, 4_497, 0, 0));
    assert_eq!(run_diff(&DiffCase { ops, ..case }), Some(Ok(vec![])));
}

/// Fuzz crash (minimised by hand): the peer's FIN closes the window; 16.8 s later data is
/// written. smoltcp probes at once (the window has been closed longer than an RTO); the
/// reference starts its persist timer then.
#[test]
fn zero_window_probe_timing_is_listed() {
    let case = DiffCase {
        passive: true,
        peer_iss: 1000,
        ops: vec![
            DiffOp::Segment {
                flags: 0x11,
                seq_delta: 0,
                ack_delta: 0,
                len: 0,
                window: 0,
            },
            DiffOp::Advance(16_828),
            DiffOp::Send(9),
        ],
    };
    assert_eq!(
        run_diff(&case),
        Some(Ok(vec![Listed::ZeroWindowProbeTiming]))
    );
}

/// Fuzz crash (minimised by hand): two segments go unacknowledged through timeouts; smoltcp
/// goes back (SND.NXT = SND.UNA) and resends, the reference keeps SND.NXT; the abort's RST
/// carries each one's SND.NXT.
#[test]
fn the_rst_after_a_go_back_retransmission_is_listed() {
    let mut ops: Vec<DiffOp> = std::iter::repeat_n(DiffOp::Send(125), 7).collect();
    ops.extend([
        DiffOp::Advance(20_303),
        DiffOp::Advance(20_303),
        DiffOp::Abort,
    ]);
    let case = DiffCase {
        passive: true,
        peer_iss: 1000,
        ops,
    };
    assert_eq!(
        run_diff(&case),
        Some(Ok(vec![Listed::RetransmitRewindsSndNxt]))
    );
}

/// Fuzz crash (CI, 2026-11-30): after the peer's FIN (CLOSE-WAIT, its window closed) and
/// zero-window probing, the peer sends a segment that starts on its FIN's sequence number and
/// carries 255 bytes beyond it, with an open window. The reference takes the ACK and window and
/// sends its queued data; smoltcp drops the segment whole: the listed divergence, although the
/// segment starts one before RCV.NXT.
#[test]
fn a_segment_starting_on_the_peers_fin_with_text_beyond_it_is_listed() {
    let s = |flags: u8, seq_delta, ack_delta, len, window| DiffOp::Segment {
        flags,
        seq_delta,
        ack_delta,
        len,
        window,
    };
    let case = DiffCase {
        passive: true,
        peer_iss: 1644818397,
        ops: vec![
            s(17, 0, 0, 0, 0),
            s(131, -31869, -31869, 131, 33667),
            DiffOp::Recv,
            DiffOp::Send(107),
            DiffOp::Send(107),
            DiffOp::Send(255),
            DiffOp::Advance(33643),
            DiffOp::Recv,
            DiffOp::Recv,
            DiffOp::Recv,
            DiffOp::Recv,
            DiffOp::Recv,
            s(145, -1, -1, 255, 65535),
            DiffOp::Advance(31311),
        ],
    };
    assert_eq!(run_diff(&case), Some(Ok(vec![Listed::SegmentAfterPeerFin])));
}

/// Fuzz crash (minimised by hand): the peer's FIN, the application closes (LAST-ACK), then
/// the peer sends a second FIN that acknowledges ours. The reference takes the ACK and closes;
/// smoltcp drops the segment and stays in LAST-ACK.
#[test]
fn smoltcp_dropping_a_segment_after_the_peers_fin_is_listed() {
    let case = DiffCase {
        passive: true,
        peer_iss: 1000,
        ops: vec![seg(0x11, 0), DiffOp::Close, seg(0x11, 0)],
    };
    assert_eq!(run_diff(&case), Some(Ok(vec![Listed::SegmentAfterPeerFin])));
    // A plain ACK of our FIN closes both.
    let case = DiffCase {
        ops: vec![seg(0x11, 0), DiffOp::Close, seg(0x10, 0)],
        ..case
    };
    assert_eq!(run_diff(&case), Some(Ok(vec![])));
}

/// Fuzz crash (minimised by hand): the peer's window is 123 bytes; 103 are in flight and more
/// is queued. At close smoltcp sends the 20 bytes the window still allows; the reference holds
/// them (sender SWS avoidance, Nagle).
#[test]
fn smoltcps_small_segment_at_close_is_listed() {
    let mut ops = vec![DiffOp::Segment {
        flags: 0x10,
        seq_delta: 0,
        ack_delta: 0,
        len: 0,
        window: 123,
    }];
    ops.extend(std::iter::repeat_n(DiffOp::Send(103), 4));
    ops.push(DiffOp::Close);
    let case = DiffCase {
        passive: true,
        peer_iss: 1000,
        ops,
    };
    assert_eq!(run_diff(&case), Some(Ok(vec![Listed::SmallSegmentAtClose])));
}

/// Fuzz crash (minimised by hand): an out-of-order ACK advertises 128 bytes, then an in-order
/// FIN+ACK closes the window. By the SND.WL1 rule the reference keeps 128 and sends 20 more
/// bytes; smoltcp takes the zero window and sends none.
#[test]
fn a_window_from_an_out_of_order_segment_is_listed() {
    let case = DiffCase {
        passive: true,
        peer_iss: 1000,
        ops: vec![
            DiffOp::Segment {
                flags: 0x11,
                seq_delta: 4_369,
                ack_delta: 0,
                len: 0,
                window: 128,
            },
            DiffOp::Send(148),
            DiffOp::Segment {
                flags: 0x11,
                seq_delta: 0,
                ack_delta: 0,
                len: 0,
                window: 0,
            },
        ],
    };
    assert_eq!(
        run_diff(&case),
        Some(Ok(vec![Listed::WindowFromOutOfOrderSegment]))
    );
}

/// Fuzz crash (minimised by hand): the peer's FIN closes the window; a second FIN reopens it.
/// The reference takes the window and sends; smoltcp dropped the segment and probes.
#[test]
fn a_window_in_a_segment_after_the_peers_fin_is_listed() {
    let fin = |window| DiffOp::Segment {
        flags: 0x11,
        seq_delta: 0,
        ack_delta: 0,
        len: 0,
        window,
    };
    let case = DiffCase {
        passive: true,
        peer_iss: 1000,
        ops: vec![fin(0), fin(20_463), DiffOp::Send(67)],
    };
    assert_eq!(run_diff(&case), Some(Ok(vec![Listed::SegmentAfterPeerFin])));
}
