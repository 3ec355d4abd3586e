//! The oracles on the shipped scenarios: the same findings with the stacks' event logs hidden.

use super::*;
use crate::scenario::{Overrides, Scenario};
use std::path::PathBuf;

fn scenarios() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../conformance/scenarios");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("conformance/scenarios")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    v.sort();
    v
}

fn kinds(f: &[Finding]) -> BTreeMap<FindingKind, usize> {
    let mut m = BTreeMap::new();
    for x in f {
        *m.entry(x.kind).or_default() += 1;
    }
    m
}

fn run(p: &std::path::Path, hide_events: bool) -> crate::scenario::ScenarioResult {
    let sc = Scenario::load(p).expect("scenario parses");
    sc.run(&Overrides {
        hide_events,
        ..Overrides::default()
    })
    .expect("scenario runs")
}

/// What a stack that reports nothing but frames and socket calls leaves: no events, no states.
fn wire_and_calls_only(t: &Trace) -> Trace {
    let mut t = t.without_events();
    t.events
        .retain(|e| !matches!(e.kind, TraceKind::ConnState { .. }));
    for s in t.meta.stacks.iter_mut().flatten() {
        s.state = false;
    }
    t
}

/// Issue 9's proof: every shipped scenario gives the same finding kinds and counts when the
/// stacks' event logs are hidden (the oracles then judge from frames, socket calls and the
/// states the stack reports), and nothing is reported as unjudgeable.
#[test]
fn scenarios_same_findings_with_events_hidden() {
    let all = scenarios();
    assert!(
        all.len() >= 18,
        "the shipped scenarios (17 incidents, e1 on smoltcp, the o* oracle checks): {}",
        all.len()
    );
    let mut bad = Vec::new();
    for p in &all {
        let with = run(p, false);
        let without = run(p, true);
        assert!(with.passed(), "{}: fails with events", p.display());
        assert!(
            without.trace.events.iter().all(|e| !matches!(
                &e.kind,
                TraceKind::Stack { node, .. } if without.trace.stack_of(*node).is_some()
            )),
            "{}: events hidden",
            p.display()
        );
        let (a, b) = (kinds(&with.findings), kinds(&without.findings));
        eprintln!(
            "{:<45} with events {:?} / hidden {:?}",
            p.file_name().unwrap().to_string_lossy(),
            a,
            b
        );
        if a != b {
            bad.push(format!("{}: {a:?} with events, {b:?} without", p.display()));
        }
        // The causes and durations the file expects hold too.
        if !without.passed() {
            bad.push(format!(
                "{}: verdicts without events: {:?}",
                p.display(),
                without
                    .verdicts
                    .iter()
                    .filter(|v| !v.ok)
                    .collect::<Vec<_>>()
            ));
        }
        let cj = judge(&without.trace, &OracleConfig::default()).cannot_judge;
        assert!(cj.is_empty(), "{}: {cj:?}", p.display());
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// With neither events nor states (frames and socket calls only: the wire model), the same
/// findings, except kinds the report names as unjudgeable.
#[test]
fn scenarios_same_findings_from_wire_and_calls() {
    let mut bad = Vec::new();
    for p in &scenarios() {
        let with = run(p, false);
        let bare = wire_and_calls_only(&run(p, true).trace);
        let grace = Scenario::load(p)
            .expect("parses")
            .spec
            .half_open_grace
            .map(|g| g.get_ref().parse::<stack::Duration>().expect("duration"))
            .unwrap_or(Duration::from_secs(5));
        let an = judge(
            &bare,
            &OracleConfig {
                half_open_grace: grace,
            },
        );
        let skip: Vec<FindingKind> = an.cannot_judge.iter().map(|c| c.kind).collect();
        let mut a = kinds(&with.findings);
        let mut b = kinds(&an.findings);
        a.retain(|k, _| !skip.contains(k));
        b.retain(|k, _| !skip.contains(k));
        eprintln!(
            "{:<45} wire+calls {:?} cannot judge {:?}",
            p.file_name().unwrap().to_string_lossy(),
            kinds(&an.findings),
            skip
        );
        if a != b {
            bad.push(format!(
                "{}: {a:?} with events, {b:?} from the wire",
                p.display()
            ));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

fn scripts(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("readable") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            scripts(&p, out);
        } else if p.extension().is_some_and(|e| e == "pkt") {
            out.push(p);
        }
    }
}

/// The shipped scripts too: the same findings (and verdicts) under every profile when the
/// reference stack's event log is hidden, so `%expect` lines hold for stacks that keep none.
#[test]
fn scripts_same_findings_with_events_hidden() {
    use crate::run::RunOptions;
    use crate::script::runner::{profiles_to_run, run_parsed};
    let mut files = Vec::new();
    scripts(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../conformance/scripts"),
        &mut files,
    );
    files.sort();
    assert!(files.len() >= 170, "the shipped scripts");
    let hidden = RunOptions {
        overrides: Overrides {
            hide_events: true,
            ..Overrides::default()
        },
        ..RunOptions::default()
    };
    let mut bad = Vec::new();
    for p in &files {
        let text = std::fs::read_to_string(p).expect("readable");
        let script = crate::script::parse(&p.display().to_string(), &text).expect("parses");
        for prof in profiles_to_run(&script, &RunOptions::default()).expect("profiles") {
            let a = run_parsed(&script, &prof, &RunOptions::default()).expect("runs");
            let b = run_parsed(&script, &prof, &hidden).expect("runs");
            if kinds(&a.findings) != kinds(&b.findings) || a.passed != b.passed {
                bad.push(format!(
                    "{} [{prof}]: {:?} (passed {}) with events, {:?} (passed {}) hidden: {:?}",
                    p.display(),
                    kinds(&a.findings),
                    a.passed,
                    kinds(&b.findings),
                    b.passed,
                    b.failures
                ));
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// A capture (frames only, as `harness check` reads them) of incident D's deliberate abort:
/// judged from the wire alone, and the kinds the wire cannot decide are named, not dropped.
#[test]
fn a_capture_is_judged_from_frames_alone() {
    let p = scenarios()
        .into_iter()
        .find(|p| p.to_string_lossy().contains("d3-"))
        .expect("d3 ships");
    let trace = run(&p, false).trace;
    let frames: Vec<(Instant, Vec<u8>)> = trace
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            TraceKind::Frame(f) => Some((f.time, f.bytes.clone())),
            _ => None,
        })
        .collect();
    let cap = Trace::from_capture("lan", "unknown", frames);
    assert_eq!(cap.meta.node_names.len(), 3, "unattributed + two hosts");
    let an = judge(&cap, &OracleConfig::default());
    assert_eq!(an.findings, vec![], "nothing the wire alone can prove");
    let cj: Vec<(FindingKind, &str)> = an
        .cannot_judge
        .iter()
        .map(|c| (c.kind, c.stack.as_str()))
        .collect();
    assert!(
        cj.contains(&(FindingKind::DeliberateAbort, "unknown")),
        "{cj:?}"
    );
    assert!(cj.contains(&(FindingKind::RstLoss, "unknown")), "{cj:?}");
    // Both hosts had connections: one entry names them both, once each.
    let rst_loss = an
        .cannot_judge
        .iter()
        .find(|c| c.kind == FindingKind::RstLoss)
        .expect("rst-loss");
    let mut hosts = rst_loss.hosts.clone();
    hosts.sort();
    hosts.dedup();
    assert_eq!(hosts.len(), 2, "{:?}", rst_loss.hosts);
    assert_eq!(rst_loss.hosts.len(), 2, "{:?}", rst_loss.hosts);
    let text = an.cannot_judge[0].to_string();
    assert!(text.starts_with("cannot judge "), "{text}");
}

/// Evidence: every finding of every shipped scenario names at least one frame.
#[test]
fn every_scenario_finding_names_its_frames() {
    for p in &scenarios() {
        for f in run(p, false).findings {
            assert!(!f.frames.is_empty(), "{}: {f} has no frames", p.display());
            assert!(f.evidence_line().contains('#'), "{}", f.evidence_line());
        }
    }
}

/// Dropped frames that carry a TCP segment with RST set, told by a full parse.
fn dropped_rst_frames(t: &Trace) -> (usize, usize) {
    let mut all = 0;
    let mut rst = 0;
    for e in &t.events {
        if let TraceKind::Frame(f) = &e.kind {
            if matches!(f.fate, crate::trace::Fate::Dropped(_)) {
                all += 1;
                if let Ok(stack::wire::Frame::Tcp { tcp, .. }) =
                    stack::wire::parse_frame(&f.bytes, stack::wire::ChecksumMode::Ignore)
                {
                    rst += usize::from(tcp.flags.rst());
                }
            }
        }
    }
    (all, rst)
}

/// The facts keep the link drops of RST segments only (what RST loss is judged from): a dropped
/// RST, on the sender's segment (o1) or past a NAT on the peer's (o7), is kept once; other TCP
/// segments lost on a link are not (the same runs, with every other TCP frame marked dropped).
#[test]
fn facts_keep_link_drops_of_rsts_only() {
    for (name, segment) in [("o1-", "lan"), ("o7-", "home")] {
        let p = scenarios()
            .into_iter()
            .find(|p| p.to_string_lossy().contains(name))
            .expect("ships");
        let mut trace = run(&p, false).trace;
        assert_eq!(
            dropped_rst_frames(&trace),
            (1, 1),
            "{name}: one RST dropped"
        );
        let f = facts::Facts::extract(&trace);
        let link: Vec<&facts::DropRecord> = f.drops.iter().filter(|d| d.frame.is_some()).collect();
        assert_eq!(link.len(), 1, "{name}: link drops among the facts");
        assert!(link[0].cause.starts_with("link-"), "{}", link[0].cause);
        // The evidence names the frame by its number on the segment that dropped it.
        assert!(
            link[0].evidence.starts_with("frame ")
                && link[0]
                    .evidence
                    .contains(&format!(" on segment {segment} dropped (")),
            "{}",
            link[0].evidence
        );
        // The lost RST's cause and evidence are that drop's, named once.
        let lost: Vec<&facts::LostRst> = f.lost.iter().filter(|l| l.time == link[0].time).collect();
        assert_eq!(lost.len(), 1, "{name}: one lost RST at the drop");
        assert_eq!(lost[0].cause, link[0].cause);
        assert_eq!(
            lost[0]
                .evidence
                .iter()
                .filter(|e| **e == link[0].evidence)
                .count(),
            1,
            "{name}: {:?}",
            lost[0].evidence
        );
        let rst_at = link[0].time;
        for e in trace.events.iter_mut() {
            if let TraceKind::Frame(fr) = &mut e.kind {
                if let Ok(stack::wire::Frame::Tcp { tcp, .. }) =
                    stack::wire::parse_frame(&fr.bytes, stack::wire::ChecksumMode::Ignore)
                {
                    if !tcp.flags.rst() {
                        fr.fate = crate::trace::Fate::Dropped("loss".into());
                    }
                }
            }
        }
        let (all, rst) = dropped_rst_frames(&trace);
        assert!(all > 5 && rst == 1, "{name}: {all} dropped");
        let f = facts::Facts::extract(&trace);
        let link: Vec<Instant> = f
            .drops
            .iter()
            .filter(|d| d.frame.is_some())
            .map(|d| d.time)
            .collect();
        assert_eq!(link, vec![rst_at], "{name}: only the RST's drop");
    }
}

/// A host's timelines come from the best evidence its stack declares, and from that alone
/// (module doc of `facts`). A trace of o6 holding both the stacks' event logs and their reported
/// states: declared with events, the logged causes (the reboot among them), not the reported
/// states; declared as states only, the reported states, not the events still in it nor the
/// reboot (which the states show themselves).
#[test]
fn timelines_come_from_the_declared_evidence_only() {
    let p = scenarios()
        .into_iter()
        .find(|p| p.to_string_lossy().contains("o6-"))
        .expect("ships");
    let hidden = run(&p, true).trace;
    let mut both = run(&p, false).trace;
    let states: Vec<_> = hidden
        .events
        .iter()
        .filter(|e| matches!(e.kind, TraceKind::ConnState { .. }))
        .cloned()
        .collect();
    assert!(!states.is_empty(), "the stacks report states");
    // One report no event agrees with: SYN-SENT on a connection at the run's end, when the log
    // has it long closed. A host declaring events is judged from them, so it changes nothing.
    let last = states.last().expect("a state").clone();
    let TraceKind::ConnState { node, conn, .. } = last.kind else {
        unreachable!("filtered")
    };
    both.events.extend(states);
    both.events.push(crate::trace::TraceEvent {
        time: both.end,
        kind: TraceKind::ConnState {
            node,
            conn,
            state: Some(State::SynSent),
        },
    });
    both.events.sort_by_key(|e| e.time);
    for s in both.meta.stacks.iter_mut().flatten() {
        assert!(s.events);
        s.state = true;
    }
    assert!(both
        .events
        .iter()
        .any(|e| matches!(e.kind, TraceKind::HostDown { reboot: true, .. })));
    let causes = |t: &Trace| -> BTreeMap<&'static str, usize> {
        let mut m = BTreeMap::new();
        for tl in facts::Facts::extract(t).timelines.values() {
            for c in &tl.changes {
                *m.entry(c.2).or_default() += 1;
            }
        }
        m
    };
    let logged = causes(&both);
    assert!(logged.contains_key("reboot"), "{logged:?}");
    assert!(
        !logged.contains_key("reported") && !logged.contains_key("reported-gone"),
        "{logged:?}"
    );
    for s in both.meta.stacks.iter_mut().flatten() {
        s.events = false;
    }
    let reported = causes(&both);
    assert!(
        reported
            .keys()
            .all(|k| *k == "reported" || *k == "reported-gone"),
        "{reported:?}"
    );
    assert!(!reported.is_empty());
}

/// RSTs the ARP pending queue dropped are facts from the stack's log (incident A): one drop
/// record per logged drop of a TCP segment with RST set.
#[test]
fn arp_queue_rst_drops_come_from_the_log() {
    use stack::arp::ArpEvent;
    use stack::EventKind;
    let p = scenarios()
        .into_iter()
        .find(|p| p.to_string_lossy().contains("a1-"))
        .expect("ships");
    let trace = run(&p, false).trace;
    let mut rst = 0;
    for e in &trace.events {
        if let TraceKind::Stack { event, .. } = &e.kind {
            if let EventKind::Arp(ArpEvent::Dropped { packet, .. }) = &event.kind {
                if packet.protocol == stack::wire::IpProtocol::Tcp && packet.flags.rst() {
                    rst += 1;
                }
            }
        }
    }
    assert!(rst > 0, "a1's ARP queue drops RSTs");
    let f = facts::Facts::extract(&trace);
    let logged: Vec<&facts::DropRecord> = f.drops.iter().filter(|d| d.from_event).collect();
    assert_eq!(logged.len(), rst);
    assert!(logged
        .iter()
        .all(|d| d.cause == "arp-queue-overflow" && d.evidence.contains(" R seq=")));
    // The same drops of plain ACKs are no RST loss: not facts.
    let mut acks = trace.clone();
    for e in acks.events.iter_mut() {
        if let TraceKind::Stack { event, .. } = &mut e.kind {
            if let EventKind::Arp(ArpEvent::Dropped { packet, .. }) = &mut event.kind {
                packet.flags = stack::wire::TcpFlags::ACK;
            }
        }
    }
    let f = facts::Facts::extract(&acks);
    assert_eq!(f.drops.iter().filter(|d| d.from_event).count(), 0);
}

/// A zero-linger close drops a connection (d3's deliberate abort); on a listener it drops no
/// connection and is no fact (RFC 9293 §3.10.4: a CLOSE in LISTEN deletes the TCB, nothing is
/// aborted).
#[test]
fn zero_linger_on_a_listener_is_no_abort() {
    use stack::tcp::{DropCause, TcpEvent};
    use stack::EventKind;
    let p = scenarios()
        .into_iter()
        .find(|p| p.to_string_lossy().contains("d3-"))
        .expect("ships");
    let mut trace = run(&p, false).trace;
    // From the log (socket calls show these aborts too).
    let logged = |t: &Trace| {
        facts::Facts::extract(t)
            .zero_linger
            .iter()
            .filter(|d| d.event.is_some())
            .count()
    };
    let n = logged(&trace);
    assert!(n > 0, "d3 aborts with SO_LINGER 0");
    let mut on_listener = trace
        .events
        .iter()
        .find(|e| {
            matches!(&e.kind, TraceKind::Stack { event, .. } if matches!(
                event.kind,
                EventKind::Tcp(TcpEvent::ConnectionDropped {
                    reason: DropCause::ZeroLinger,
                    ..
                })
            ))
        })
        .expect("the abort is logged")
        .clone();
    if let TraceKind::Stack { event, .. } = &mut on_listener.kind {
        if let EventKind::Tcp(TcpEvent::ConnectionDropped { state, .. }) = &mut event.kind {
            *state = State::Listen;
        }
    }
    trace.events.push(on_listener);
    trace.events.sort_by_key(|e| e.time);
    assert_eq!(logged(&trace), n);
}

/// An RST still on its way when the run ends (within `IN_FLIGHT` of being sent, no drop on
/// record) is not lost: every shipped scenario's RSTs that a live peer needed and no drop
/// record names, with the run cut at the moment each left its host; with nothing more seen
/// until `IN_FLIGHT` after it left, it is.
#[test]
fn an_rst_in_flight_at_the_end_is_not_lost() {
    let mut cut_any = 0;
    for p in scenarios() {
        let trace = run(&p, false).trace;
        let f = facts::Facts::extract(&trace);
        for r in f.rsts.iter().filter(|r| r.frame.is_some()) {
            if !f.peer_alive(r.node, r.conn, r.time) {
                continue;
            }
            let mut cut = trace.clone();
            cut.events.retain(|e| e.time <= r.time);
            cut.end = r.time;
            let g = facts::Facts::extract(&cut);
            let Some(peer) = g.peer_of(r.node, r.conn) else {
                continue;
            };
            // A drop on record (o1's outage) makes it lost whenever the run ends.
            let dropped = g
                .wire
                .segs(r.node, r.conn)
                .iter()
                .any(|s| Some(s.frame) == r.frame && s.dropped.is_some());
            if dropped || g.find_rst_drop(r).is_some() {
                continue;
            }
            // Cut before it arrived (else there is nothing to judge).
            if g.wire.segs(peer.node, peer.conn).iter().any(|s| {
                s.dir == Dir::Received && s.flags.rst() && s.time >= r.time && Some(s.seq) == r.seq
            }) {
                continue;
            }
            cut_any += 1;
            assert!(
                g.lost.iter().all(|l| g.rsts[l.rst].time != r.time),
                "{}: an RST sent at the run's end is reported lost",
                p.display()
            );
            // Nothing more seen for `IN_FLIGHT` after it left: lost. Just short of it: still on
            // its way.
            let lost_if_end_after = |d: Duration| {
                let mut t = cut.clone();
                t.end = r.time + d;
                let h = facts::Facts::extract(&t);
                h.lost.iter().any(|l| h.rsts[l.rst].time == r.time)
            };
            let just_short = Duration::from_micros(facts::IN_FLIGHT.total_micros() - 1);
            assert!(lost_if_end_after(facts::IN_FLIGHT), "{}", p.display());
            assert!(!lost_if_end_after(just_short), "{}", p.display());
        }
    }
    assert!(cut_any > 0, "no scenario has an RST a live peer needed");
}

/// Two RSTs with one sequence number on one connection (SND.NXT had not moved) are told apart
/// by time: an arrival before the second one counts for the first. Every shipped scenario's
/// delivered RSTs that a live peer needed, each sent again (and delivered) 10 s later.
#[test]
fn a_later_rst_with_the_same_seq_does_not_hide_an_arrival() {
    use crate::trace::{FrameRecord, TraceEvent};
    let later = Duration::from_secs(10);
    let mut checked = 0;
    for p in scenarios() {
        let trace = run(&p, false).trace;
        let f = facts::Facts::extract(&trace);
        for (i, r) in f.rsts.iter().enumerate() {
            let Some(fr) = r.frame else { continue };
            if f.lost.iter().any(|l| l.rst == i) || !f.peer_alive(r.node, r.conn, r.time) {
                continue;
            }
            let frames = || {
                trace.events.iter().filter_map(|e| match &e.kind {
                    TraceKind::Frame(x) if x.segment == fr.segment => Some(x),
                    _ => None,
                })
            };
            let rec = frames()
                .find(|x| x.number == fr.number)
                .expect("the RST's frame");
            let Some(delivered) = rec.delivered_at else {
                continue;
            };
            let again = FrameRecord {
                time: rec.time + later,
                number: frames().map(|x| x.number).max().unwrap_or(0) + 1,
                delivered_at: Some(delivered + later),
                ..rec.clone()
            };
            let mut two = trace.clone();
            two.end = two.end.max(again.time + later);
            two.events.push(TraceEvent {
                time: again.time,
                kind: TraceKind::Frame(again),
            });
            two.events.sort_by_key(|e| e.time);
            let g = facts::Facts::extract(&two);
            checked += 1;
            assert!(
                g.lost.iter().all(|l| g.rsts[l.rst].time != r.time),
                "{}: the RST at {} arrived before its twin, yet is reported lost",
                p.display(),
                r.time
            );
        }
    }
    assert!(
        checked > 0,
        "no scenario has a delivered RST a live peer needed"
    );
}

/// Half-open's cause when the peer holds no state (RFC 9293 §3.5.2: "half-open" when one end
/// has no knowledge of the connection): `peer-never-had-it` when the peer's connection appears
/// only later, `peer-closed (<why>)` when the peer had it and closed it before; a span no
/// longer than the grace period is none. Two hosts that report their connection states only
/// (no log, no frames).
#[test]
fn half_open_names_why_the_peer_lacks_the_connection() {
    use crate::trace::{StackEvidence, TraceEvent, TraceMeta};
    use core::net::Ipv4Addr;
    let conn = FourTuple::new(
        Ipv4Addr::new(192, 0, 2, 1),
        40000,
        Ipv4Addr::new(192, 0, 2, 2),
        80,
    );
    let state = |secs: u64, node: usize, conn: FourTuple, state: Option<State>| TraceEvent {
        time: Instant::from_secs(secs),
        kind: TraceKind::ConnState {
            node: NodeId(node),
            conn,
            state,
        },
    };
    let evidence = Some(StackEvidence {
        stack: "reference".into(),
        state: true,
        ..StackEvidence::default()
    });
    let trace = |peer: Vec<TraceEvent>| {
        let mut events = vec![state(1, 0, conn, Some(State::Established))];
        events.extend(peer);
        events.sort_by_key(|e| e.time);
        Trace {
            meta: TraceMeta {
                node_names: vec!["client".into(), "server".into()],
                node_addrs: vec![vec![*conn.local.ip()], vec![*conn.remote.ip()]],
                segment_names: vec!["lan".into()],
                stacks: vec![evidence.clone(), evidence.clone()],
            },
            events,
            end: Instant::from_secs(60),
        }
    };
    let half_open = |t: &Trace| -> Vec<(String, Option<String>, Option<u64>)> {
        analyze(t, &OracleConfig::default())
            .into_iter()
            .filter(|f| f.kind == FindingKind::HalfOpen)
            .map(|f| (f.host, f.cause, f.duration_us.map(|d| d / 1_000_000)))
            .collect()
    };
    // The server's end appears at 30 s (its SYN-ACK, say, long delayed): 29 s half-open.
    let later = trace(vec![state(
        30,
        1,
        conn.reversed(),
        Some(State::Established),
    )]);
    assert_eq!(
        half_open(&later),
        vec![("client".into(), Some("peer-never-had-it".into()), Some(29))]
    );
    // The server had it and dropped it at 2 s without a word: half-open to the end.
    let closed = trace(vec![
        state(0, 1, conn.reversed(), Some(State::Established)),
        state(2, 1, conn.reversed(), None),
    ]);
    assert_eq!(
        half_open(&closed),
        vec![(
            "client".into(),
            Some("peer-closed (reported-gone)".into()),
            Some(58)
        )]
    );
    // A span exactly as long as the grace period is a normal race, no finding: the server's end
    // appears 5 s after the client's, or the run ends 5 s after the server dropped it. One
    // microsecond more is one.
    let grace = OracleConfig::default().half_open_grace;
    let us = Duration::from_micros(1);
    let appears = |t: Instant| {
        trace(vec![TraceEvent {
            time: t,
            ..state(0, 1, conn.reversed(), Some(State::Established))
        }])
    };
    assert_eq!(half_open(&appears(Instant::from_secs(1) + grace)), vec![]);
    assert_eq!(
        half_open(&appears(Instant::from_secs(1) + grace + us)).len(),
        1
    );
    let ends = |end: Instant| Trace {
        end,
        ..closed.clone()
    };
    assert_eq!(half_open(&ends(Instant::from_secs(2) + grace)), vec![]);
    assert_eq!(
        half_open(&ends(Instant::from_secs(2) + grace + us)).len(),
        1
    );
}

/// Facts of `trace` and one connection to fill in: host 0, 192.0.2.1:40000 to 192.0.2.2:80.
fn one_connection(trace: &Trace) -> (facts::Facts<'_>, NodeId, FourTuple) {
    let conn = FourTuple::new(
        core::net::Ipv4Addr::new(192, 0, 2, 1),
        40000,
        core::net::Ipv4Addr::new(192, 0, 2, 2),
        80,
    );
    (facts::Facts::extract(trace), NodeId(0), conn)
}

/// A half-open finding's frames (`frames_around`): the host's last segment at or before the
/// span began and its first at or after the span ended.
#[test]
fn half_open_frames_bracket_the_span() {
    use stack::wire::TcpFlags;
    let trace = Trace::default();
    let (mut f, node, conn) = one_connection(&trace);
    let s = Instant::from_secs;
    f.wire.conns.insert(
        (node, conn),
        [1, 5, 10, 20, 30]
            .into_iter()
            .map(|t| wire::Seg::bare(s(t), Dir::Sent, TcpFlags::ACK, 1, t as usize))
            .collect(),
    );
    let around = |a: u64, b: u64| -> Vec<usize> {
        frames_around(&f, node, conn, s(a), s(b))
            .iter()
            .map(|fr| fr.number)
            .collect()
    };
    assert_eq!(around(5, 20), vec![5, 20]);
    assert_eq!(around(6, 21), vec![5, 30]);
    assert_eq!(around(0, 31), Vec::<usize>::new());
}

/// A deliberate abort's frame (`rst_sent_after`): the first RST the host itself sent at or after
/// the abort (RFC 9293 §3.10.4 ABORT: "send a reset segment"), not an earlier RST, another
/// segment it sent, nor an RST it received.
#[test]
fn a_deliberate_aborts_frame_is_the_first_rst_sent_after_it() {
    use stack::wire::TcpFlags;
    let trace = Trace::default();
    let (mut f, node, conn) = one_connection(&trace);
    let s = Instant::from_secs;
    let rst = TcpFlags::RST;
    f.wire.conns.insert(
        (node, conn),
        vec![
            wire::Seg::bare(s(5), Dir::Sent, rst, 1, 5),
            wire::Seg::bare(s(10), Dir::Sent, TcpFlags::ACK, 1, 10),
            wire::Seg::bare(s(11), Dir::Received, rst, 900, 11),
            wire::Seg::bare(s(12), Dir::Sent, rst, 1, 12),
        ],
    );
    let after = |t: u64| rst_sent_after(&f, node, conn, s(t)).map(|fr| fr.number);
    assert_eq!(after(10), Some(12));
    assert_eq!(after(5), Some(5));
    assert_eq!(after(13), None);
}

/// What `cannot_judge` names, from what each stack shows: a wire-only stack (no calls) is
/// named for TIME-WAIT assassination only where segments reached TIME-WAIT, for deliberate
/// abort only where it sent an RST on an open connection, for keepalive only where it sent
/// probes; RST loss and stale reuse wherever it had a connection. A stack reporting states
/// without a TIME-WAIT length is named only where a connection reached TIME-WAIT.
#[test]
fn cannot_judge_names_only_what_the_trace_needed() {
    use crate::trace::{StackEvidence, TraceMeta};
    use stack::wire::TcpFlags;
    let wire_only = StackEvidence {
        stack: "quiet".into(),
        ..StackEvidence::default()
    };
    let states = StackEvidence {
        stack: "stateful".into(),
        state: true,
        calls: true,
        ..StackEvidence::default()
    };
    let trace = Trace {
        meta: TraceMeta {
            node_names: vec![
                "plain".into(),
                "busy".into(),
                "st-plain".into(),
                "st-tw".into(),
            ],
            stacks: vec![
                Some(wire_only.clone()),
                Some(wire_only),
                Some(states.clone()),
                Some(states),
            ],
            ..TraceMeta::default()
        },
        ..Trace::default()
    };
    let mut f = facts::Facts::extract(&trace);
    let conn = FourTuple::new(
        core::net::Ipv4Addr::new(192, 0, 2, 1),
        40000,
        core::net::Ipv4Addr::new(192, 0, 2, 2),
        80,
    );
    let s = Instant::from_secs;
    let closed_by = |why: &'static str| wire::Timeline {
        changes: vec![
            (s(0), State::Established, "syn-ack-received"),
            (s(5), State::Closed, why),
        ],
    };
    // plain: a connection closed by a FIN exchange, no probes, nothing in TIME-WAIT.
    f.derived.insert(
        (NodeId(0), conn),
        wire::Derived {
            timeline: closed_by("fin-acked"),
            ..wire::Derived::default()
        },
    );
    // busy: reset while open, probed, hit in TIME-WAIT.
    let seg = wire::Seg::bare(s(3), Dir::Sent, TcpFlags::ACK, 1, 1);
    f.derived.insert(
        (NodeId(1), conn),
        wire::Derived {
            timeline: closed_by("rst-sent"),
            probes: vec![(seg.time, seg.frame)],
            time_wait_hits: vec![(seg.time, seg.frame)],
        },
    );
    f.timelines
        .insert((NodeId(2), conn), closed_by("reported-gone"));
    f.timelines.insert(
        (NodeId(3), conn),
        wire::Timeline {
            changes: vec![(s(0), State::TimeWait, "reported")],
        },
    );
    let named: Vec<(FindingKind, String)> = cannot_judge(&f)
        .into_iter()
        .flat_map(|c| c.hosts.into_iter().map(move |h| (c.kind, h)))
        .collect();
    let want = |k: FindingKind, h: &str| (k, h.to_string());
    let mut expected = vec![
        want(FindingKind::RstLoss, "plain"),
        want(FindingKind::RstLoss, "busy"),
        want(FindingKind::StaleReuse, "plain"),
        want(FindingKind::StaleReuse, "busy"),
        want(FindingKind::TimeWaitAssassination, "busy"),
        want(FindingKind::TimeWaitAssassination, "st-tw"),
        want(FindingKind::DeliberateAbort, "busy"),
        want(FindingKind::KeepaliveDetection, "busy"),
    ];
    let mut named_sorted = named.clone();
    named_sorted.sort();
    expected.sort();
    assert_eq!(named_sorted, expected, "{named:?}");
}

/// A NAT forgetting a mapping is a finding only while the inside host held the connection
/// synchronized and not in TIME-WAIT: not in SYN-SENT, TIME-WAIT or after it closed.
#[test]
fn nat_expiry_needs_a_synchronized_connection() {
    use crate::trace::{TraceEvent, TraceMeta};
    use core::net::{Ipv4Addr, SocketAddrV4};
    let inside_ip = Ipv4Addr::new(10, 0, 0, 2);
    let remote = SocketAddrV4::new(Ipv4Addr::new(198, 51, 100, 2), 80);
    let inside = |port: u16| SocketAddrV4::new(inside_ip, port);
    let s = Instant::from_secs;
    let expired = |port: u16| TraceEvent {
        time: s(50),
        kind: TraceKind::Nat {
            node: NodeId(1),
            event: NatEvent::MappingExpired {
                inside: inside(port),
                outside: SocketAddrV4::new(Ipv4Addr::new(203, 0, 113, 1), port),
                remote,
                idle_for: Duration::from_secs(30),
            },
        },
    };
    let states = [
        State::Established,
        State::SynSent,
        State::TimeWait,
        State::Closed,
        State::CloseWait,
    ];
    let ports: Vec<u16> = (0..states.len() as u16).map(|i| 40000 + i).collect();
    let trace = Trace {
        meta: TraceMeta {
            node_names: vec!["host".into(), "nat".into()],
            node_addrs: vec![vec![inside_ip], vec![Ipv4Addr::new(203, 0, 113, 1)]],
            ..TraceMeta::default()
        },
        events: ports.iter().map(|&p| expired(p)).collect(),
        end: s(100),
    };
    let mut f = Facts::extract(&trace);
    for (&p, &st) in ports.iter().zip(&states) {
        f.timelines.insert(
            (
                NodeId(0),
                FourTuple {
                    local: inside(p),
                    remote,
                },
            ),
            wire::Timeline {
                changes: vec![(s(10), st, "reported")],
            },
        );
    }
    let mut out = Vec::new();
    nat_expiry(&f, &mut out);
    let got: Vec<(FindingKind, String)> = out.into_iter().map(|x| (x.kind, x.connection)).collect();
    let conn = |p: u16| {
        FourTuple {
            local: inside(p),
            remote,
        }
        .to_string()
    };
    assert_eq!(
        got,
        vec![
            (FindingKind::NatExpiry, conn(40000)),
            (FindingKind::NatExpiry, conn(40004)),
        ]
    );
}
