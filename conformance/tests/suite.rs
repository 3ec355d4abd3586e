//! The conformance suite: one test per script file (every profile it declares, each with a
//! timeline snapshot) and one per scenario file. Adding a file adds a test.

use conformance::{run_all_profiles, script_name, snapshot_text};
use harness::run::{run_scenario, RunOptions};
use harness::scenario::Overrides;
use harness::script::runner::run_script;
use rstest::rstest;
use std::path::{Path, PathBuf};

fn settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path("snapshots");
    s.set_prepend_module_to_snapshot(false);
    s
}

#[rstest]
fn script(#[files("scripts/**/*.pkt")] path: PathBuf) {
    // The suite's own scripts are strict about findings, directives or not.
    let strict = RunOptions {
        strict_findings: true,
        ..RunOptions::default()
    };
    let outcomes =
        run_all_profiles(&path, &strict).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        !outcomes.is_empty(),
        "{}: no profile to run",
        path.display()
    );
    let name = script_name(&path);
    for o in &outcomes {
        assert!(
            o.passed,
            "{name} [{}] failed:\n{}\ntimeline:\n{}",
            o.profile,
            o.failures.join("\n"),
            o.timeline
        );
        let snap = format!(
            "{}.{}",
            name.trim_end_matches(".pkt").replace('/', "__"),
            o.profile
        );
        settings().bind(|| insta::assert_snapshot!(snap, snapshot_text(o)));
    }
}

#[rstest]
fn scenario(#[files("scenarios/*.toml")] path: PathBuf) {
    let r = run_scenario(&path, &RunOptions::default())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        r.passed(),
        "{} failed:\n{}",
        path.display(),
        r.failures.join("\n")
    );
}

// ---- Mutation sanity: flip one knob and the scripts that depend on it must fail, readably. ----

fn run_with(
    file: &str,
    profile: &str,
    knob: &str,
    value: &str,
) -> harness::script::runner::ScriptOutcome {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scripts")
        .join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{file}: {e}"));
    let opts = RunOptions {
        overrides: Overrides {
            knobs: vec![(knob.to_string(), value.to_string())],
            ..Overrides::default()
        },
        strict_findings: true,
        ..RunOptions::default()
    };
    run_script(&text, file, Some(profile), &opts).unwrap_or_else(|e| panic!("{file}: {e}"))
}

#[rstest]
// RFC 1337 F1 off: the RST now kills TIME-WAIT under the rfc1337 profile.
#[case(
    "rfc1337/f1-ignore-rst-in-time-wait.pkt",
    "rfc1337",
    "tcp.time_wait_rst",
    "close",
    "rfc1337/f1-ignore-rst-in-time-wait.pkt:25:1: fd=4 (closed; connection 192.0.2.1:8080-192.0.2.2:40000) is in state CLOSED, expected TIME-WAIT"
)]
// RFC 1337 F1 on under rfc793: the assassination the script expects does not happen.
#[case(
    "rfc1337/f1-ignore-rst-in-time-wait.pkt",
    "rfc793",
    "tcp.time_wait_rst",
    "ignore",
    "is in state TIME-WAIT, expected CLOSED"
)]
// RFC 5961 off: no challenge ACK, the RST resets the connection.
#[case(
    "rfc5961/3.2-challenge-ack-for-rst.pkt",
    "rfc9293",
    "tcp.rfc5961",
    "off",
    "rfc5961/3.2-challenge-ack-for-rst.pkt:17:1: expected outbound packet by 0.204000, but the stack sent nothing by then, nor in the 5 s after\n  expected: +0 > . 1:1(0) ack 1"
)]
// Delayed ACK off: the ACK comes 200 ms early.
#[case(
    "rfc9293/3.8.6.3-delayed-ack.pkt",
    "rfc9293",
    "tcp.delayed_ack",
    "off",
    "rfc9293/3.8.6.3-delayed-ack.pkt:14:1: outbound packet at 0.200000 is too early (expected from 0.396000)\n  expected: +0.2 > . 1:1(0) ack 201 win 65335\n  actual:   0.200000 > . 1:1(0) ack 201 win 65335"
)]
// A different MSS: the SYN-ACK's option list differs.
#[case(
    "rfc9293/3.5-passive-open.pkt",
    "rfc9293",
    "tcp.mss",
    "1000",
    "rfc9293/3.5-passive-open.pkt:12:1: outbound packet at 0.000000 does not match: options <mss 1000> (expected <mss 1460>)\n  expected: +0 > S. 0:0(0) ack 1 win 65535 <mss 1460>\n  actual:   0.000000 > S. 0:0(0) ack 1 win 65535 <mss 1000>"
)]
// FreeBSD profile, tcp.fin_on_acks=off: ACKs in CLOSING no longer carry the FIN.
#[case(
    "freebsd/fin-on-acks-closing.pkt",
    "freebsd",
    "tcp.fin_on_acks",
    "off",
    "freebsd/fin-on-acks-closing.pkt:16:1: outbound packet at 0.300000 does not match: flags . (expected F.), seq 2 (expected 1)"
)]
// FreeBSD profile, tcp.rcv_wnd_from_buffer=off: the RST at the buffer's right edge is outside the 65535 window.
#[case(
    "freebsd/rcv-wnd-from-buffer-rst-right-edge.pkt",
    "freebsd",
    "tcp.rcv_wnd_from_buffer",
    "off",
    "freebsd/rcv-wnd-from-buffer-rst-right-edge.pkt:16:1: expected outbound packet by 0.204000, but the stack sent nothing by then"
)]
// FreeBSD profile, tcp.abort_rst_ack=off: the ABORT's RST loses its ACK.
#[case(
    "freebsd/abort-rst-carries-ack.pkt",
    "freebsd",
    "tcp.abort_rst_ack",
    "off",
    "freebsd/abort-rst-carries-ack.pkt:15:1: outbound packet at 0.200000 does not match: flags R (expected R.)"
)]
// FreeBSD profile, tcp.time_wait_bsd=off: RFC 9293 TIME-WAIT: the exact RST closes it.
#[case(
    "freebsd/time-wait-twcheck.pkt",
    "freebsd",
    "tcp.time_wait_bsd",
    "off",
    "freebsd/time-wait-twcheck.pkt:19:1: the connection is in state CLOSED, expected TIME-WAIT"
)]
// FreeBSD profile, tcp.old_segment_ack=off: the old segment's ACK is ignored.
#[case(
    "freebsd/old-segment-ack-closes-last-ack.pkt",
    "freebsd",
    "tcp.old_segment_ack",
    "off",
    "freebsd/old-segment-ack-closes-last-ack.pkt:18:1: the connection is in state LAST-ACK, expected CLOSED"
)]
// FreeBSD profile, tcp.rst_error_after_fin=off: the RST in LAST-ACK is not reported.
#[case(
    "freebsd/rst-error-after-fin.pkt",
    "freebsd",
    "tcp.rst_error_after_fin",
    "off",
    "freebsd/rst-error-after-fin.pkt:17:1: getsockopt(SO_ERROR) gave [0], expected [ECONNRESET]"
)]
// FreeBSD profile, tcp.listener_close_resets_embryonic=on: closing the listener resets the half-open connection.
#[case(
    "freebsd/listener-close-drops-syncache.pkt",
    "freebsd",
    "tcp.listener_close_resets_embryonic",
    "on",
    "freebsd/listener-close-drops-syncache.pkt:15:1: unexpected outbound packet at 0.200000 after the last line"
)]
// FreeBSD profile, tcp.listen_synack_rst=on: the SYN-ACK at the listener draws an RST.
#[case(
    "freebsd/listener-close-drops-syncache.pkt",
    "freebsd",
    "tcp.listen_synack_rst",
    "on",
    "freebsd/listener-close-drops-syncache.pkt:13:1: unexpected outbound packet at 0.100000 before this line ran"
)]
// Linux quick-ACK mode off: the first segment's ACK waits for the delayed-ACK timer.
#[case(
    "rfc1122/4.2.3.2-linux-quickack.pkt",
    "linux",
    "tcp.quickack",
    "0",
    "rfc1122/4.2.3.2-linux-quickack.pkt:17:1: expected outbound packet by 0.204000, but the stack sent nothing by then"
)]
fn mutation_fails_readably(
    #[case] file: &str,
    #[case] profile: &str,
    #[case] knob: &str,
    #[case] value: &str,
    #[case] needle: &str,
) {
    let o = run_with(file, profile, knob, value);
    assert!(
        !o.passed,
        "{file} [{profile}] with {knob}={value} still passes"
    );
    let text = o.failures.join("\n");
    assert!(
        text.contains(needle),
        "{file} [{profile}] with {knob}={value}: failure text\n{text}\ndoes not contain\n{needle}"
    );
}

#[test]
fn unmutated_scripts_pass_under_the_same_profiles() {
    // The mutation cases above are meaningful only if the same scripts pass untouched.
    for (file, profile) in [
        ("rfc1337/f1-ignore-rst-in-time-wait.pkt", "rfc1337"),
        ("rfc1337/f1-ignore-rst-in-time-wait.pkt", "rfc793"),
        ("rfc5961/3.2-challenge-ack-for-rst.pkt", "rfc9293"),
        ("rfc9293/3.8.6.3-delayed-ack.pkt", "rfc9293"),
        ("freebsd/fin-on-acks-closing.pkt", "freebsd"),
        ("rfc1122/4.2.3.2-linux-quickack.pkt", "linux"),
        ("freebsd/rcv-wnd-from-buffer-rst-right-edge.pkt", "freebsd"),
        ("freebsd/abort-rst-carries-ack.pkt", "freebsd"),
        ("freebsd/time-wait-twcheck.pkt", "freebsd"),
        ("freebsd/old-segment-ack-closes-last-ack.pkt", "freebsd"),
        ("freebsd/rst-error-after-fin.pkt", "freebsd"),
        ("freebsd/listener-close-drops-syncache.pkt", "freebsd"),
    ] {
        let o = run_with(file, profile, "tcp.mss", "1460");
        assert!(o.passed, "{file} [{profile}]: {}", o.failures.join("\n"));
    }
}

// ---- Snapshot hygiene: every snapshot belongs to a script and a profile it runs under. ----

#[test]
fn no_unreferenced_snapshots() {
    let root = conformance::root();
    let dir = root.join("tests/snapshots");
    let mut stale = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("snapshots dir") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        if name.ends_with(".snap.new") || name.ends_with(".pending-snap") {
            stale.push(format!("{name}: not reviewed (run `cargo insta review`)"));
            continue;
        }
        let Some(stem) = name.strip_suffix(".snap") else {
            continue;
        };
        let Some((script, profile)) = stem.rsplit_once('.') else {
            stale.push(format!("{name}: not <rfc>__<script>.<profile>.snap"));
            continue;
        };
        let file = root
            .join("scripts")
            .join(format!("{}.pkt", script.replacen("__", "/", 1)));
        let Ok(text) = std::fs::read_to_string(&file) else {
            stale.push(format!("{name}: no script {}", file.display()));
            continue;
        };
        let parsed = harness::script::parse(&file.to_string_lossy(), &text).expect("script parses");
        let profiles = harness::script::runner::profiles_to_run(&parsed, &RunOptions::default())
            .expect("profiles");
        if !profiles.iter().any(|p| p == profile) {
            stale.push(format!(
                "{name}: {} does not run under {profile}",
                file.display()
            ));
        }
    }
    assert!(
        stale.is_empty(),
        "unreferenced snapshots:\n{}",
        stale.join("\n")
    );
}
