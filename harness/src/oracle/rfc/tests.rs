//! One crafted violating exchange per rule (and its conforming twin where the rule has an
//! exception), judged through the wire model exactly as a capture would be.

use super::*;
use crate::oracle::wire::{replay, CallEffect};
use stack::wire::TcpFlags as F;

const A: u16 = F::ACK.0;
const S: u16 = F::SYN.0;
const R: u16 = F::RST.0;
const FI: u16 = F::FIN.0;
const P: u16 = F::PSH.0;

/// Connection `i` of a server at 192.0.2.1:80: client 192.0.2.2, port 40000 + `i`.
fn conn(i: u16) -> FourTuple {
    FourTuple::new(
        core::net::Ipv4Addr::new(192, 0, 2, 1),
        80,
        core::net::Ipv4Addr::new(192, 0, 2, 2),
        40000 + i,
    )
}

/// A connection as its host saw it, built segment by segment.
#[derive(Default)]
struct Conn {
    segs: Vec<Seg>,
}

impl Conn {
    fn at(&mut self, ms: u64, dir: Dir, flags: u16, seq: u32, ack: u32, len: u32) -> &mut Seg {
        let n = self.segs.len() + 1;
        let mut s = Seg::bare(Instant::from_micros(ms * 1000), dir, F(flags), seq, n);
        s.ack = SeqNumber(ack);
        s.len = len;
        s.window = 1000;
        self.segs.push(s);
        self.segs.last_mut().expect("just pushed")
    }
    fn rx(&mut self, ms: u64, flags: u16, seq: u32, ack: u32, len: u32) -> &mut Seg {
        self.at(ms, Dir::Received, flags, seq, ack, len)
    }
    fn tx(&mut self, ms: u64, flags: u16, seq: u32, ack: u32, len: u32) -> &mut Seg {
        self.at(ms, Dir::Sent, flags, seq, ack, len)
    }
    /// Passive open: peer ISN 100, ours 500.
    fn established(&mut self) -> &mut Self {
        self.rx(0, S, 100, 0, 0).mss = true;
        self.tx(0, S | A, 500, 101, 0).mss = true;
        self.rx(1, A, 101, 501, 0);
        self
    }
    /// Established, then our active close: our FIN at 2 ms, the peer's FIN and our ACK at 3 ms
    /// put us in TIME-WAIT.
    fn time_wait() -> Self {
        let mut c = Conn::default();
        c.established();
        c.tx(2, A | FI, 501, 101, 0);
        c.rx(3, A | FI, 101, 502, 0);
        c.tx(3, A, 502, 102, 0);
        c
    }
    fn rules(&self, tw: Option<Duration>) -> Vec<Violation> {
        let d = replay(
            &self.segs,
            &[],
            &[],
            tw,
            Instant::from_micros(10_000_000_000),
        );
        check_conn(&self.segs, tw, Some(&d))
            .into_iter()
            .map(|h| h.rule)
            .collect()
    }
}

#[test]
fn a_clean_exchange_breaks_nothing() {
    let mut c = Conn::default();
    c.established();
    c.rx(2, A | P, 101, 501, 10);
    c.tx(2, A | P, 501, 111, 20);
    c.rx(3, A | FI, 111, 521, 0);
    c.tx(3, A, 521, 112, 0);
    c.tx(4, A | FI, 521, 112, 0);
    c.rx(5, A, 112, 522, 0);
    assert_eq!(c.rules(Some(Duration::from_secs(60))), vec![]);
}

#[test]
fn rst_answering_rst() {
    let mut c = Conn::default();
    c.rx(0, R, 100, 0, 0);
    c.tx(0, R | A, 0, 100, 0);
    assert_eq!(c.rules(None), vec![Violation::RstAnswersRst]);
}

#[test]
fn rst_reply_to_an_ack_takes_seg_ack() {
    let mut c = Conn::default();
    c.rx(0, A, 100, 777, 0);
    c.tx(0, R, 0, 0, 0);
    assert_eq!(c.rules(None), vec![Violation::RstReplySeqNotSegAck]);
    let mut ok = Conn::default();
    ok.rx(0, A, 100, 777, 0);
    ok.tx(0, R, 777, 0, 0);
    assert_eq!(ok.rules(None), vec![]);
}

#[test]
fn rst_reply_to_a_syn_acks_seg_seq_plus_len() {
    let mut c = Conn::default();
    c.rx(0, S, 100, 0, 0);
    c.tx(0, R | A, 0, 100, 0); // should ack 101: the SYN counts
    assert_eq!(c.rules(None), vec![Violation::RstReplyAckNotSegEnd]);
    let mut no_ack = Conn::default();
    no_ack.rx(0, S, 100, 0, 0);
    no_ack.tx(0, R, 0, 101, 0); // ACK bit off
    assert_eq!(no_ack.rules(None), vec![Violation::RstReplyAckNotSegEnd]);
    let mut ok = Conn::default();
    ok.rx(0, S, 100, 0, 0);
    ok.tx(0, R | A, 0, 101, 0);
    assert_eq!(ok.rules(None), vec![]);
}

#[test]
fn data_after_fin() {
    let mut c = Conn::default();
    c.established();
    c.tx(2, A | FI, 501, 101, 0);
    c.tx(3, A | P, 502, 101, 5);
    assert_eq!(c.rules(None), vec![Violation::DataAfterFin]);
    // A retransmitted FIN is fine.
    let mut ok = Conn::default();
    ok.established();
    ok.tx(2, A | P | FI, 501, 101, 5);
    ok.tx(300, A | P | FI, 501, 101, 5);
    assert_eq!(ok.rules(None), vec![]);
}

#[test]
fn ack_missing_once_synchronized() {
    let mut c = Conn::default();
    c.established();
    c.tx(2, P, 501, 0, 5);
    assert_eq!(c.rules(None), vec![Violation::AckMissingWhenSynchronized]);
}

#[test]
fn options_only_on_syn() {
    let mut c = Conn::default();
    c.established();
    c.tx(2, A, 501, 101, 0).mss = true;
    c.tx(3, A, 501, 101, 0).window_scale = Some(7);
    c.tx(4, A, 501, 101, 0).sack_permitted = true;
    assert_eq!(
        c.rules(None),
        vec![
            Violation::MssOutsideSyn,
            Violation::WindowScaleOutsideSyn,
            Violation::SackPermittedOutsideSyn
        ]
    );
}

#[test]
fn window_scale_only_if_offered() {
    let mut c = Conn::default();
    c.rx(0, S, 100, 0, 0);
    c.tx(0, S | A, 500, 101, 0).window_scale = Some(7);
    assert_eq!(c.rules(None), vec![Violation::WindowScaleNotOffered]);
    let mut ok = Conn::default();
    ok.rx(0, S, 100, 0, 0).window_scale = Some(2);
    ok.tx(0, S | A, 500, 101, 0).window_scale = Some(7);
    assert_eq!(ok.rules(None), vec![]);
    // Only the peer's SYN offers: a later segment of its without ACK (here an RST outside the
    // window) changes nothing, the retransmitted SYN-ACK may still scale.
    ok.rx(1, R, 9999, 0, 0);
    ok.tx(2, S | A, 500, 101, 0).window_scale = Some(7);
    assert_eq!(ok.rules(None), vec![]);
}

/// Simultaneous open (RFC 9293 §3.5 figure 7): our own SYN goes out after the peer's SYN
/// arrived. Our SYN starts a new incarnation, but what the peer's SYN offered still holds: RFC
/// 7323 §2.2 "a TCP MAY send the Window Scale option in a <SYN,ACK> segment only if the option
/// was received in the initial <SYN> segment".
#[test]
fn window_scale_not_offered_survives_our_own_syn() {
    let mut c = Conn::default();
    c.rx(0, S, 100, 0, 0);
    c.tx(0, S, 500, 0, 0).window_scale = Some(7);
    c.tx(1, S | A, 500, 101, 0).window_scale = Some(7);
    assert_eq!(c.rules(None), vec![Violation::WindowScaleNotOffered]);
}

#[test]
fn ack_of_unseen_data() {
    let mut c = Conn::default();
    c.established();
    c.rx(2, A | P, 101, 501, 10);
    c.tx(2, A, 501, 200, 0);
    assert_eq!(c.rules(None), vec![Violation::AckOfUnseenData]);
}

#[test]
fn checksum_and_ttl() {
    let mut c = Conn::default();
    c.established();
    c.tx(2, A, 501, 101, 0).bad_checksum = true;
    c.tx(3, A, 501, 101, 0).ttl = 0;
    assert_eq!(
        c.rules(None),
        vec![Violation::BadChecksum, Violation::TtlZero]
    );
}

#[test]
fn time_wait_too_short_from_the_wire() {
    // Active close; the peer's FIN puts us in TIME-WAIT at 3 ms; a retransmitted FIN at 10 s
    // must draw an ACK, not an RST, while 2*MSL (60 s) runs.
    let tw = Some(Duration::from_secs(60));
    let mut c = Conn::time_wait();
    c.rx(10_000, A | FI, 101, 502, 0);
    c.tx(10_000, R, 502, 0, 0);
    assert_eq!(c.rules(tw), vec![Violation::TimeWaitTooShort]);
    // After 2*MSL the RST is right.
    let mut late = Conn::time_wait();
    late.rx(70_000, A | FI, 101, 502, 0);
    late.tx(70_000, R, 502, 0, 0);
    assert_eq!(late.rules(tw), vec![]);
    // A SYN arriving the instant 2*MSL ends (TIME-WAIT still the last state before it): the
    // stack may have taken it in TIME-WAIT, so an RST answering it is no violation.
    let mut edge = Conn::time_wait();
    edge.rx(60_003, S, 101, 0, 0);
    edge.tx(60_003, R | A, 0, 102, 0);
    assert_eq!(edge.rules(tw), vec![]);
    // After an RST reached TIME-WAIT (RFC 793 lets it end TIME-WAIT) the wire cannot tell.
    let mut hit = Conn::time_wait();
    hit.rx(5_000, R, 102, 0, 0);
    hit.rx(10_000, A | FI, 101, 502, 0);
    hit.tx(10_000, R, 502, 0, 0);
    assert_eq!(hit.rules(tw), vec![]);
}

/// A SYN that reached an earlier TIME-WAIT (and started a new incarnation) excuses nothing in
/// the next one: only an RST or SYN since this TIME-WAIT began may have ended it.
#[test]
fn time_wait_hits_count_from_the_current_time_wait_only() {
    let tw = Some(Duration::from_secs(60));
    let mut c = Conn::time_wait();
    c.rx(5, S, 1000, 0, 0);
    c.tx(5, S | A, 7000, 1001, 0);
    c.rx(6, A, 1001, 7001, 0);
    c.tx(7, A | FI, 7001, 1001, 0);
    c.rx(8, A | FI, 1001, 7002, 0);
    c.tx(8, A, 7002, 1002, 0);
    c.rx(10_000, A | FI, 1001, 7002, 0);
    c.tx(10_000, R, 7002, 0, 0);
    assert_eq!(c.rules(tw), vec![Violation::TimeWaitTooShort]);
}

#[test]
fn segment_after_reset() {
    let mut c = Conn::default();
    c.established();
    c.tx(2, R | A, 501, 101, 0);
    c.tx(3, A | P, 501, 101, 5);
    assert_eq!(c.rules(None), vec![Violation::SegmentAfterReset]);
    // A new connection on the same pair is fine.
    let mut ok = Conn::default();
    ok.established();
    ok.tx(2, R | A, 501, 101, 0);
    ok.tx(3, S, 9000, 0, 0);
    assert_eq!(ok.rules(None), vec![]);
}

#[test]
fn every_rule_has_a_name_and_a_citation() {
    for v in Violation::ALL {
        assert!(v.requirement().starts_with("RFC "), "{v}");
        // Findings carry the name as their cause; reports print it.
        assert_eq!(v.to_string(), v.name());
        assert_eq!(
            Violation::ALL
                .iter()
                .filter(|w| w.name() == v.name())
                .count(),
            1
        );
    }
}

/// An RST from SYN-SENT answering an unacceptable SYN-ACK (RFC 9293 §3.10.7.3: "<SEQ=SEG.ACK>
/// <CTL=RST>", the connection stays in SYN-SENT) does not end the connection as far as the
/// rules go: the handshake that completes after it sends nothing "after a reset".
#[test]
fn an_rst_before_synchronization_is_no_reset_of_the_connection() {
    let mut c = Conn::default();
    c.tx(0, S, 500, 0, 0);
    c.rx(1, S | A, 100, 999, 0);
    c.tx(1, R, 999, 0, 0);
    c.rx(2, S | A, 100, 501, 0);
    c.tx(2, A, 501, 101, 0);
    assert_eq!(c.rules(None), vec![]);
}

/// The wire model's TIME-WAIT (RFC 9293 §3.10.7.4, MUST-13): it lasts the stack's declared
/// 2·MSL from the moment TIME-WAIT began, not from an earlier state.
#[test]
fn the_wire_models_time_wait_lasts_2msl_from_its_start() {
    let mut c = Conn::default();
    c.established();
    c.tx(10, A | FI, 501, 101, 0);
    c.rx(11, A, 101, 502, 0);
    c.rx(12, A | FI, 101, 502, 0);
    c.tx(12, A, 502, 102, 0);
    let tw = Duration::from_secs(60);
    let d = replay(&c.segs, &[], &[], Some(tw), Instant::from_secs(1000));
    let last = *d.timeline.changes.last().expect("changes");
    assert_eq!(
        last,
        (
            Instant::from_millis(12) + tw,
            State::Closed,
            "time-wait-expired"
        )
    );
}

/// The wire model takes an RST in a synchronized state only with SEG.SEQ in the window the
/// host advertised (RFC 9293 §3.10.7.4 first check; RCV.NXT exactly with no window).
#[test]
fn the_wire_model_takes_an_rst_in_the_window_only() {
    let closed_at = |seq: u32| {
        let mut c = Conn::default();
        c.established();
        c.rx(20, R, seq, 0, 0);
        let d = replay(&c.segs, &[], &[], None, Instant::from_secs(1000));
        d.timeline
            .changes
            .iter()
            .find(|x| x.1 == State::Closed)
            .map(|x| (x.0, x.2))
    };
    assert_eq!(
        closed_at(101),
        Some((Instant::from_millis(20), "rst-received"))
    );
    assert_eq!(closed_at(5000), None, "out of the window");
}

/// A SYN without ACK does not move the wire model's RCV.NXT (in SYN-SENT, a simultaneous open,
/// our SYN-ACK sets it). In a synchronized state it is answered with a challenge ACK at most
/// (RFC 5961 §4.2) and changes nothing the host accepts: an RST at the old RCV.NXT still resets.
#[test]
fn the_wire_model_keeps_rcv_nxt_on_a_bare_syn() {
    let mut c = Conn::default();
    c.established();
    c.rx(15, S, 5000, 0, 0);
    c.rx(20, R, 101, 0, 0);
    let d = replay(&c.segs, &[], &[], None, Instant::from_secs(1000));
    let closed = d.timeline.changes.iter().find(|x| x.1 == State::Closed);
    assert_eq!(
        closed.map(|x| (x.0, x.2)),
        Some((Instant::from_millis(20), "rst-received"))
    );
}

/// The wire model closes a connection on an abort call, a reported error or a reboot
/// (RFC 9293 §3.10.4 ABORT), merged in time order with the segments.
#[test]
fn the_wire_model_closes_on_calls_and_reboots() {
    let mut c = Conn::default();
    c.established();
    let end = Instant::from_secs(1000);
    let ms = Instant::from_millis;
    let last = |calls: &[(Instant, CallEffect)], reboots: &[Instant]| {
        let d = replay(&c.segs, calls, reboots, None, end);
        d.timeline.changes.last().copied().map(|x| (x.0, x.1, x.2))
    };
    assert_eq!(
        last(&[(ms(5), CallEffect::Aborted)], &[]),
        Some((ms(5), State::Closed, "user-abort"))
    );
    assert_eq!(
        last(&[(ms(5), CallEffect::Failed)], &[]),
        Some((ms(5), State::Closed, "error-reported"))
    );
    assert_eq!(last(&[], &[ms(6)]), Some((ms(6), State::Closed, "reboot")));
    assert_eq!(
        last(&[], &[]),
        Some((ms(1), State::Established, "ack-received"))
    );
}

/// TIME-WAIT cut short as a stack reports its states (`check`; RFC 9293 §3.10.7.4, MUST-13):
/// a reported TIME-WAIT shorter than the declared 2·MSL breaks the rule unless an RST or a SYN
/// arrived as it ended (the stack may honour those; RFC 6191); a full 2·MSL is fine. Judged on
/// a host whose best evidence is its reported states only, not on one that logs events.
#[test]
fn a_reported_time_wait_shorter_than_2msl_is_a_violation() {
    use crate::oracle::wire::Timeline;
    use crate::trace::{StackEvidence, TraceMeta};
    let tw = Duration::from_secs(60);
    let stack = |events: bool| {
        Some(StackEvidence {
            stack: "reference".into(),
            state: true,
            events,
            time_wait: Some(tw),
            ..StackEvidence::default()
        })
    };
    let trace = Trace {
        meta: TraceMeta {
            node_names: vec!["states".into(), "logged".into()],
            stacks: vec![stack(false), stack(true)],
            ..TraceMeta::default()
        },
        end: Instant::from_secs(1000),
        ..Trace::default()
    };
    let mut f = Facts::extract(&trace);
    let s = Instant::from_secs;
    // (host, when TIME-WAIT (from 100 s) ended, what arrived then)
    let cases = [
        (0, 110, None),
        (0, 110, Some(R)),
        (0, 110, Some(S)),
        (0, 110, Some(A)),
        (0, 160, None),
        (1, 110, None),
    ];
    for (i, (node, end, arrived)) in cases.into_iter().enumerate() {
        let key = (NodeId(node), conn(i as u16));
        f.timelines.insert(
            key,
            Timeline {
                changes: vec![
                    (s(100), State::TimeWait, "reported"),
                    (s(end), State::Closed, "reported-gone"),
                ],
            },
        );
        if let Some(fl) = arrived {
            f.wire
                .conns
                .insert(key, vec![Seg::bare(s(end), Dir::Received, F(fl), 7, i + 1)]);
        }
    }
    let mut out = Vec::new();
    check(&trace, &f, &mut out);
    let got: Vec<(String, Option<String>, String)> = out
        .into_iter()
        .map(|x| (x.host, x.cause, x.connection))
        .collect();
    let short = |i: u16| {
        (
            "states".to_string(),
            Some("time-wait-too-short".to_string()),
            conn(i).to_string(),
        )
    };
    assert_eq!(got, vec![short(0), short(3)]);
}

/// A stack's log saying its own timer ended TIME-WAIT (not early) after less than its declared
/// 2·MSL is a violation; after 2·MSL or more, or an early end (an RST or SYN it honoured), not.
#[test]
fn a_logged_time_wait_end_before_2msl_is_a_violation() {
    use crate::trace::{StackEvidence, TraceEvent, TraceMeta};
    use stack::tcp::{TcpEvent, TimeWaitCause};
    let tw = Duration::from_secs(60);
    let ended = |i: u16, after: u64, early: bool| TraceEvent {
        time: Instant::from_secs(100 + u64::from(i)),
        kind: TraceKind::Stack {
            node: NodeId(0),
            event: stack::Event {
                time: Instant::from_secs(100 + u64::from(i)),
                kind: stack::EventKind::Tcp(TcpEvent::TimeWaitEnded {
                    conn: conn(i),
                    after: Duration::from_secs(after),
                    early,
                    cause: if early {
                        TimeWaitCause::RstReceived
                    } else {
                        TimeWaitCause::Expired
                    },
                }),
            },
        },
    };
    let trace = Trace {
        meta: TraceMeta {
            node_names: vec!["logged".into()],
            stacks: vec![Some(StackEvidence {
                stack: "reference".into(),
                events: true,
                time_wait: Some(tw),
                ..StackEvidence::default()
            })],
            ..TraceMeta::default()
        },
        events: vec![
            ended(0, 59, false),
            ended(1, 60, false),
            ended(2, 61, false),
            ended(3, 10, true),
        ],
        end: Instant::from_secs(1000),
    };
    let mut out = Vec::new();
    check(&trace, &Facts::extract(&trace), &mut out);
    let got: Vec<(Option<String>, String)> =
        out.into_iter().map(|x| (x.cause, x.connection)).collect();
    assert_eq!(
        got,
        vec![(Some("time-wait-too-short".to_string()), conn(0).to_string())]
    );
}
