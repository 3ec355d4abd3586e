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
