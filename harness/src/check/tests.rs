use super::*;
use crate::pcap::CapturedFrame;
use stack::Duration;

fn path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(rel)
}

/// The frames of one run of a conformance script or scenario (the first segment's capture).
fn frames(rel: &str) -> Vec<CapturedFrame> {
    crate::capture::frames_of(&path(rel))
        .expect("run")
        .into_iter()
        .map(|(time, data)| CapturedFrame {
            time,
            orig_len: data.len(),
            data,
        })
        .collect()
}

fn check(frames: &[CapturedFrame], profile: Option<&str>) -> FileReport {
    check_dut(frames, profile, None)
}

/// A hand-edited capture names its DUT: the guess prefers the end the model explains best,
/// which an edit can change.
fn check_dut(frames: &[CapturedFrame], profile: Option<&str>, dut: Option<&str>) -> FileReport {
    let opts = CheckOptions {
        profile: profile.map(str::to_string),
        dut: dut.map(|d| d.parse().expect("address")),
        ..CheckOptions::default()
    };
    check_frames("test", frames, &opts).expect("check")
}

fn tcp_seg(f: &CapturedFrame) -> Seg {
    match segment::parse(0, f.time, &f.data) {
        Parsed::Tcp(s) => s,
        other => panic!("not TCP: {other:?}"),
    }
}

const CLOSED_PORT: &str = "conformance/scripts/rfc9293/3.10.7.1-rst-for-closed-port.pkt";
const NODELAY: &str = "conformance/scripts/rfc9293/3.7.4-nodelay.pkt";

#[test]
fn simulator_recordings_check_clean() {
    for rel in [CLOSED_PORT, NODELAY] {
        let r = check(&frames(rel), None);
        assert!(
            r.clean(),
            "{rel}: {}",
            render_text(std::slice::from_ref(&r), true)
        );
        assert_eq!(r.dut.as_deref(), Some("192.0.2.1"), "{rel}");
        assert!(r.connections.iter().all(|c| c.explained == c.dut_segments));
    }
}

#[test]
fn removed_rst_is_caught_after_the_frame_that_needed_it() {
    let mut f = frames(CLOSED_PORT);
    // Frame 4 is the DUT's RST answering the peer's stray ACK (frame 3).
    assert!(tcp_seg(&f[3]).flags.rst());
    f.remove(3);
    let r = check_dut(&f, None, Some("192.0.2.1"));
    assert!(!r.clean());
    let d = r.connections[0].divergence.as_ref().expect("divergence");
    assert_eq!(d.frame, 3, "{d:?}");
    assert!(d.expected.starts_with("R seq 5000"), "{d:?}");
    assert!(d.actual.contains("nothing"), "{d:?}");
}

#[test]
fn changed_ack_number_is_caught_at_its_frame() {
    let mut f = frames(NODELAY);
    // Frame 5: the DUT's second data segment; bump its acknowledgment number.
    let s = tcp_seg(&f[4]);
    assert!(s.len > 0 && s.flags.ack());
    let at = 14 + 20 + 8;
    f[4].data[at..at + 4].copy_from_slice(&(s.ack + 7).to_be_bytes());
    let r = check_dut(&f, Some("rfc9293"), Some("192.0.2.1"));
    let d = r.connections[0].divergence.as_ref().expect("divergence");
    assert_eq!(d.frame, 5, "{d:?}");
    assert!(d.actual.contains(&format!("ack {}", s.ack + 7)), "{d:?}");
    assert!(d.expected.contains(&format!("ack {}", s.ack)), "{d:?}");
    assert_eq!(r.connections[0].explained, 2);
}

#[test]
fn capture_starting_mid_connection_is_judged_from_the_first_dut_ack() {
    let f = frames(NODELAY);
    // Drop the handshake: the capture starts with the DUT's first data segment.
    let r = check(&f[3..], Some("rfc9293"));
    let c = &r.connections[0];
    assert_eq!(c.judged_from, Some(1));
    assert!(c.divergence.is_none(), "{c:?}");
    assert_eq!(c.explained, c.dut_segments);
}

#[test]
fn snaplen_cut_payloads_keep_their_length() {
    let mut f = frames(NODELAY);
    for fr in &mut f {
        fr.data.truncate(54);
    }
    let r = check(&f, Some("rfc9293"));
    assert!(
        r.clean(),
        "{}",
        render_text(std::slice::from_ref(&r), false)
    );
}

#[test]
fn unrelated_traffic_is_ignored() {
    let mut f = frames(NODELAY);
    let mut udp = f[0].data.clone();
    udp[14 + 9] = 17;
    f.insert(
        1,
        CapturedFrame {
            time: f[0].time,
            orig_len: udp.len(),
            data: udp,
        },
    );
    f.insert(
        0,
        CapturedFrame {
            time: f[0].time,
            orig_len: 3,
            data: vec![1, 2, 3],
        },
    );
    let r = check(&f, Some("rfc9293"));
    assert_eq!(r.unrelated, 2);
    assert!(
        r.clean(),
        "{}",
        render_text(std::slice::from_ref(&r), false)
    );
}

/// Checks a committed capture as `harness check FILE` does (DUT guessed, every profile tried).
fn check_committed(rel: &str) -> FileReport {
    check_file(&path(rel), &CheckOptions::default()).expect("check")
}

/// Checks an edited recording of the live kernel (DUT 192.0.2.1): the guess of which side is the
/// stack under test must survive the edit; returns the first connection.
fn first_connection_of_edited_kernel_capture(rel: &str) -> ConnJudgement {
    let r = check_committed(rel);
    assert_eq!(
        r.dut.as_deref(),
        Some("192.0.2.1"),
        "the guess must not flip"
    );
    r.connections.into_iter().next().expect("a connection")
}

#[test]
fn edited_kernel_capture_without_its_rst_is_caught_after_the_frame_that_needed_it() {
    // Made with `scripts/edit-pcap ... drop 4` from the live kernel's recording: frame 4 was
    // the kernel's RST answering the peer's stray ACK (frame 3) to a closed port.
    let c = first_connection_of_edited_kernel_capture(
        "corpora/pcap/edited/rst-removed.3.10.7.1-rst-for-closed-port.linux-kernel.pcap",
    );
    let d = c.divergence.as_ref().expect("divergence");
    assert_eq!(d.frame, 3, "{d:?}");
    assert!(d.expected.starts_with("R seq"), "{d:?}");
    assert!(d.actual.starts_with("nothing"), "{d:?}");
}

#[test]
fn edited_kernel_capture_with_a_changed_ack_is_caught_at_its_frame() {
    // Made with `scripts/edit-pcap ... set-ack 6 8` from the live kernel's recording: frame 6
    // is the kernel's coalesced data segment, which acknowledges 1, not 8.
    let c = first_connection_of_edited_kernel_capture(
        "corpora/pcap/edited/ack-changed.4.2.3.4-nagle-coalesces-small-writes.linux-kernel.pcap",
    );
    let d = c.divergence.as_ref().expect("divergence");
    assert_eq!(d.frame, 6, "{d:?}");
    assert!(d.actual.contains("ack 8"), "{d:?}");
    assert!(d.expected.contains("ack 1 "), "{d:?}");
    assert_eq!(c.explained, 2, "the SYN-ACK and the first data segment");
}

#[test]
fn options_the_profile_would_not_send_lower_the_exact_count() {
    // The reference stack's active open under rfc9293 sends <mss 1460>; linux would add
    // window scaling (and SACK, timestamps): both explain the segments, only one exactly.
    let f: Vec<CapturedFrame> =
        crate::pcap::read_pcap(&path("corpora/pcap/reference/3.5-active-open.rfc9293.pcap"))
            .expect("read");
    let own = check_dut(&f, Some("rfc9293"), Some("192.0.2.1"));
    let linux = check_dut(&f, Some("linux"), Some("192.0.2.1"));
    let c = (&own.connections[0], &linux.connections[0]);
    assert_eq!(c.0.explained, c.1.explained);
    assert_eq!(c.0.exact, c.0.explained);
    assert!(c.1.exact < c.1.explained, "{:?}", c.1);
    let best = check_dut(&f, None, Some("192.0.2.1"));
    assert_ne!(best.profile, "linux");
    let all = overall_ranking(&[own.clone(), linux.clone()]);
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].profile, "rfc9293");
}

#[test]
fn overall_ranking_sums_each_profile_over_the_captures() {
    let a = check(&frames(NODELAY), None);
    let b = check(&frames(CLOSED_PORT), None);
    let all = overall_ranking(&[a.clone(), b.clone()]);
    for x in &all {
        let of = |r: &FileReport| {
            r.ranking
                .iter()
                .find(|y| y.profile == x.profile)
                .map_or(0, |y| y.explained)
        };
        assert_eq!(x.explained, of(&a) + of(&b), "{}", x.profile);
    }
    let text = render_text(&[a, b], true);
    assert!(
        text.contains("best profile over all 2 captures: "),
        "{text}"
    );
}

#[test]
fn incident_a_capture_alone_reports_the_lost_rsts() {
    let f = frames("conformance/scenarios/a1-iis-rst-loss-windows.toml");
    let r = check(&f, None);
    let lost: Vec<&Finding> = r
        .findings
        .iter()
        .filter(|f| f.kind == FindingKind::RstLoss)
        .collect();
    // 20 connections aborted at once behind an unresolved gateway: one RST reaches the wire,
    // 19 never do.
    assert_eq!(
        lost.len(),
        19,
        "{}",
        render_text(std::slice::from_ref(&r), false)
    );
    assert!(lost
        .iter()
        .all(|f| f.host == "203.0.113.10" && f.cause.as_deref() == Some("arp-queue-overflow")));
    assert!(lost.iter().all(|f| f
        .evidence
        .iter()
        .any(|e| e.contains("one abort reaches the wire"))));
    assert!(!r.clean(), "lost RSTs are findings: exit 1");
}

#[test]
fn without_the_abort_that_got_through_no_rst_loss_is_claimed() {
    // The wire proves the loss only beside a sibling abort that did leave: take it out and
    // the forgotten connections are half-open with no claim about an RST.
    let mut f = frames("conformance/scenarios/a1-iis-rst-loss-windows.toml");
    let r = check(&f, None);
    let abort = r
        .findings
        .iter()
        .find(|f| f.kind == FindingKind::RstLoss)
        .and_then(|f| f.evidence.iter().find(|e| e.contains("one abort")))
        .and_then(|e| e.strip_prefix("frame "))
        .and_then(|e| e.split(':').next())
        .and_then(|n| n.parse::<usize>().ok())
        .expect("the abort's frame");
    assert!(tcp_seg(&f[abort - 1]).flags.rst());
    f.remove(abort - 1);
    let r = check(&f, None);
    assert!(r.findings.iter().all(|f| f.kind != FindingKind::RstLoss));
    assert!(r
        .findings
        .iter()
        .any(|f| f.kind == FindingKind::HalfOpen && f.cause.as_deref() == Some("lost-rst")));
}

#[test]
fn incident_a_capture_shows_the_lost_rsts_as_half_open() {
    let f = frames("conformance/scenarios/a1-iis-rst-loss-windows.toml");
    let r = check(&f, None);
    assert_eq!(r.dut.as_deref(), Some("203.0.113.10"));
    let lost: Vec<&Finding> = r
        .findings
        .iter()
        .filter(|f| f.kind == FindingKind::HalfOpen && f.cause.as_deref() == Some("lost-rst"))
        .collect();
    // 19 of the 20 reaped connections lost their RST behind the unresolved gateway.
    assert_eq!(
        lost.len(),
        19,
        "{}",
        render_text(std::slice::from_ref(&r), false)
    );
    assert!(lost.iter().all(|f| f
        .duration_us
        .is_some_and(|d| d > Duration::from_secs(100).total_micros())));
}

#[test]
fn best_profile_prefers_the_profile_without_an_unproven_assassination() {
    // RFC 1337's F1 script: an RST reaches a connection in TIME-WAIT. rfc793 and rfc1337
    // explain the frames alike; only rfc793 would call it an assassination.
    let f = frames("conformance/scripts/rfc1337/f1-ignore-rst-in-time-wait.pkt");
    let r = check(&f, None);
    assert!(
        r.findings.is_empty(),
        "{}",
        render_text(std::slice::from_ref(&r), true)
    );
    let r = check(&f, Some("rfc793"));
    assert!(r
        .findings
        .iter()
        .any(|f| f.kind == FindingKind::TimeWaitAssassination));
}
