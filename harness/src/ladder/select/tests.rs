use super::*;
use crate::ladder::{ladder_svg, ladder_text};
use stack::Duration;
use std::path::PathBuf;

fn incident_a() -> (Trace, Vec<Finding>) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../conformance/scenarios/a1-iis-rst-loss-windows.toml");
    let trace = crate::capture::trace_of(&path).expect("incident A runs");
    let findings = crate::oracle::analyze(&trace, &crate::oracle::OracleConfig::default());
    (trace, findings)
}

/// The drawing choices of `harness ladder` when stdout is not a terminal.
fn drawn(mut l: Ladder) -> Ladder {
    l.width = Some(160);
    l.fold_idle = Some(Duration::from_secs(10));
    l
}

fn widest(text: &str) -> usize {
    text.lines().map(|l| l.chars().count()).max().unwrap_or(0)
}

#[test]
fn incident_a_default_ladder_summarises_the_nineteen_and_marks_the_lost_rsts() {
    let (trace, findings) = incident_a();
    let l = drawn(ladder_of_trace(&trace, &findings, &Selection::default()).expect("ladder"));
    let text = ladder_text(&l);
    assert!(widest(&text) <= 160, "{} columns", widest(&text));
    assert!(
        text.contains("× 19 the same: RST lost at the ARP queue (connections 1-19"),
        "{text}"
    );
    // The representative's RST ends in an X right beside the server's column.
    let bars: Vec<usize> = text
        .lines()
        .nth(2)
        .expect("bars")
        .match_indices('|')
        .map(|(i, _)| i)
        .collect();
    let lost = text
        .lines()
        .find(|l| l.contains("lost: ARP queue full"))
        .expect("lost RST");
    assert_eq!(lost.find("--X"), Some(bars[1] + 1), "{lost}");
    // Quiet stretches are folded.
    assert!(
        text.contains("… 124 s idle …") && text.contains("… 175 s idle …"),
        "{text}"
    );
    insta::assert_snapshot!(text);
}

#[test]
fn conn_ladder_shows_one_connection_and_its_arp() {
    let (trace, findings) = incident_a();
    let sel = Selection {
        conn: Some("2".into()),
        ..Selection::default()
    };
    let text = ladder_text(&drawn(
        ladder_of_trace(&trace, &findings, &sel).expect("ladder"),
    ));
    // The same connection by 4-tuple, either end first.
    for tuple in [
        "198.51.100.11:52480-203.0.113.10:80",
        "203.0.113.10:80-198.51.100.11:52480",
    ] {
        let by_tuple = Selection {
            conn: Some(tuple.into()),
            ..Selection::default()
        };
        let other = ladder_text(&drawn(
            ladder_of_trace(&trace, &findings, &by_tuple).expect("ladder"),
        ));
        assert_eq!(other, text);
    }
    assert!(
        !text.contains("198.51.100.10 ") && !text.contains("× "),
        "{text}"
    );
    insta::assert_snapshot!(text);
}

#[test]
fn around_shows_the_finding_marked_with_context() {
    let (trace, findings) = incident_a();
    let sel = Selection {
        around: Some("half-open#2".into()),
        context: Some(3),
        ..Selection::default()
    };
    let text = ladder_text(&drawn(
        ladder_of_trace(&trace, &findings, &sel).expect("ladder"),
    ));
    let marked: Vec<&str> = text.lines().filter(|l| l.contains("<==")).collect();
    assert_eq!(marked.len(), 1, "{text}");
    assert!(marked[0].contains("half-open (lost-rst)"), "{text}");
    // Three rows either side at most (plus idle lines and the header).
    let rows = text.lines().skip(3).filter(|l| !l.contains("idle")).count();
    assert!(rows <= 7, "{text}");
}

#[test]
fn host_filter_keeps_only_that_hosts_frames() {
    let (trace, findings) = incident_a();
    let sel = Selection {
        host: Some("client-20".into()),
        ..Selection::default()
    };
    let text = ladder_text(&ladder_of_trace(&trace, &findings, &sel).expect("ladder"));
    assert!(
        text.contains("198.51.100.29") && !text.contains("198.51.100.10 "),
        "{text}"
    );
    assert!(
        !text.contains("arp"),
        "the gateway's ARP is not client-20's: {text}"
    );
}

#[test]
fn all_draws_every_connection() {
    let (trace, findings) = incident_a();
    let sel = Selection {
        all: true,
        ..Selection::default()
    };
    let l = ladder_of_trace(&trace, &findings, &sel).expect("ladder");
    assert_eq!(l.lost.len(), 19);
    assert!(l.notes.iter().all(|n| !n.text.contains("× ")));
}

#[test]
fn narrow_width_is_kept() {
    let (trace, findings) = incident_a();
    let mut l = drawn(ladder_of_trace(&trace, &findings, &Selection::default()).expect("ladder"));
    l.width = Some(72);
    let text = ladder_text(&l);
    assert!(widest(&text) <= 72, "{text}");
}

#[test]
fn svg_follows_the_same_choices_and_stays_readable() {
    let (trace, findings) = incident_a();
    let l = drawn(ladder_of_trace(&trace, &findings, &Selection::default()).expect("ladder"));
    let svg = ladder_svg(&l);
    crate::ladder::tests::check_xml(&svg).expect("well-formed");
    assert!(svg.contains("× 19 the same") && svg.contains("class=\"arrow lost\""));
    assert!(svg.contains("… 124 s idle …"));
    let head = svg.lines().nth(1).expect("svg element");
    let attr = |name: &str| -> f64 {
        let at = head.find(&format!(" {name}=\"")).expect(name) + name.len() + 3;
        head[at..]
            .split('"')
            .next()
            .and_then(|v| v.parse().ok())
            .expect(name)
    };
    assert!(attr("width") <= 160.0 * 8.0, "{head}");
    assert!(attr("height") <= 1200.0, "{head}");
}

#[rstest::rstest]
#[case::host(Selection { host: Some("nobody".into()), ..Selection::default() }, "--host nobody: no such host")]
#[case::conn_index(Selection { conn: Some("22".into()), ..Selection::default() }, "--conn 22: no such connection (1..21")]
#[case::conn_tuple(Selection { conn: Some("192.0.2.1:1-192.0.2.2:2".into()), ..Selection::default() }, "no such connection")]
#[case::finding(Selection { around: Some("time-wait-assassination".into()), ..Selection::default() }, "no such finding (1..57, a kind (rst-loss, half-open, stale-reuse)")]
#[case::finding_nth(Selection { around: Some("rst-loss#20".into()), ..Selection::default() }, "no such finding")]
#[case::finding_zero(Selection { around: Some("0".into()), ..Selection::default() }, "no such finding")]
fn a_selection_that_matches_nothing_is_an_error(#[case] sel: Selection, #[case] msg: &str) {
    let (trace, findings) = incident_a();
    let err = ladder_of_trace(&trace, &findings, &sel).expect_err("no match");
    assert!(err.to_string().contains(msg), "{err}");
}

#[test]
fn connections_are_listed_in_order_of_first_appearance() {
    let (trace, _) = incident_a();
    let conns = connections(&trace);
    assert_eq!(conns.len(), 21);
    assert!(conns[0].0.starts_with("198.51.100.10:"), "{:?}", conns[0]);
    assert_eq!(conns[0].1, 7);
}

#[rstest::rstest]
#[case(&[1, 2, 3], "1-3")]
#[case(&[1, 3, 5, 6, 7, 9], "1, 3, 5-7, 9")]
#[case(&[4], "4")]
fn ranges_are_compact(#[case] v: &[usize], #[case] expect: &str) {
    assert_eq!(ranges(v), expect);
}
