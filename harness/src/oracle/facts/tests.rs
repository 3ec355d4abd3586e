//! The facts next to the code that pulls them out of a trace.

use super::super::wire::Seg;
use super::*;

/// An Ethernet frame: IPv4 (IHL 5) carrying `proto`, with `flags` at the TCP flags offset.
fn frame(ethertype: [u8; 2], proto: u8, flags: u8) -> Vec<u8> {
    let mut b = vec![0u8; 14 + 20 + 20];
    b[12..14].copy_from_slice(&ethertype);
    b[14] = 0x45;
    b[23] = proto;
    b[14 + 20 + 13] = flags;
    b
}

/// `is_tcp_rst` reads the EtherType (IPv4), the IP protocol (TCP, RFC 9293 §3.1 / protocol 6)
/// and the RST bit of the TCP flags; a frame failing any one is not a TCP RST.
#[test]
fn is_tcp_rst_needs_ipv4_tcp_and_the_rst_bit() {
    const RST: u8 = 0x04;
    const IPV4: [u8; 2] = [0x08, 0x00];
    assert!(is_tcp_rst(&frame(IPV4, 6, RST)));
    assert!(is_tcp_rst(&frame(IPV4, 6, RST | 0x10)));
    assert!(!is_tcp_rst(&frame(IPV4, 6, 0x10)), "ACK only");
    assert!(!is_tcp_rst(&frame(IPV4, 17, RST)), "UDP");
    assert!(!is_tcp_rst(&frame([0x08, 0x06], 6, RST)), "ARP");
    assert!(!is_tcp_rst(&frame([0x86, 0xdd], 17, RST)), "IPv6");
    // IHL 6 (an IP option): the flags sit 4 bytes further on.
    let mut f = frame(IPV4, 6, 0);
    f[14] = 0x46;
    f.extend([0u8; 4]);
    f[14 + 24 + 13] = RST;
    assert!(is_tcp_rst(&f));
    assert!(
        !is_tcp_rst(&f[..14 + 24 + 13]),
        "truncated before the flags"
    );
    assert!(!is_tcp_rst(&[]));
}

/// Incident A on a stack that stamps its frames as they leave (a live kernel): the ARP request
/// that an RST waited behind may carry a stamp just after the `close(SO_LINGER 0)` that queued
/// the RST. Within the real-time settle window it still names the cause; on virtual time, or
/// past the window, the RST was never sent as far as the trace shows.
#[test]
fn a_real_time_stacks_late_arp_request_still_explains_the_lost_rsts() {
    use crate::scenario::{Overrides, Scenario};
    // a6 (the live kernel, unres_qlen 1) on the reference stack with the same queue: virtual
    // time, so the ARP request is stamped at the RST's instant exactly.
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../conformance/live/a6-linux-rst-loss-unres-qlen-1.toml"
    );
    let text = std::fs::read_to_string(path)
        .expect("a6 ships")
        .replace("stack = \"linux\"\n", "");
    let sc = Scenario::parse("a6-on-reference.toml", &text).expect("parses");
    let res = sc
        .run(&Overrides {
            hide_events: true,
            ..Overrides::default()
        })
        .expect("runs");
    let causes = |t: &Trace| -> Vec<String> {
        let f = Facts::extract(t);
        f.lost.iter().map(|l| l.cause.clone()).collect()
    };
    let n = causes(&res.trace).len();
    assert!(n >= 4, "{:?}", causes(&res.trace));
    assert_eq!(causes(&res.trace), vec!["arp-queue-overflow"; n]);
    let server = NodeId(
        res.trace
            .meta
            .node_names
            .iter()
            .position(|n| n == "linux")
            .expect("server"),
    );
    let rst_at = Facts::extract(&res.trace).lost[0].time;
    // The trace with the server's ARP resolution (its request at the RST instant and the
    // gateway's reply) moved `late` ms on, from a stack on virtual or on real time.
    let shifted = |late: u64, real_time: bool| {
        let mut t = res.trace.clone();
        let mut requests = 0;
        let d = Duration::from_millis(late);
        for e in &mut t.events {
            if let TraceKind::Frame(f) = &mut e.kind {
                let arp = f.bytes.get(12..14) == Some(&[0x08, 0x06][..]);
                let resolving = f.time >= rst_at && f.time < rst_at + Duration::from_millis(50);
                if arp && resolving {
                    requests +=
                        usize::from(f.from == server && f.bytes.get(20..22) == Some(&[0, 1][..]));
                    f.time += d;
                    f.delivered_at = f.delivered_at.map(|x| x + d);
                    e.time += d;
                }
            }
        }
        assert_eq!(requests, 1, "one ARP request at the RST instant");
        t.meta.stacks[server.0].as_mut().expect("a stack").real_time = real_time;
        causes(&t)
    };
    let overflow = vec!["arp-queue-overflow"; n];
    let never = vec!["never-sent"; n];
    // Just after the RST: a real-time stack's request; virtual time allows no lateness.
    assert_eq!(shifted(1, true), overflow);
    assert_eq!(shifted(1, false), never);
    // At the edge of the window, and just past it.
    let edge = REAL_TIME_SETTLE.total_millis();
    assert_eq!(shifted(edge, true), overflow);
    assert_eq!(shifted(edge + 1, true), never);
}

/// A shipped scenario (by name prefix) run on the reference stack with its event log.
fn run_scenario(prefix: &str) -> Trace {
    use crate::scenario::{Overrides, Scenario};
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../conformance/scenarios");
    let path = std::fs::read_dir(dir)
        .expect("conformance/scenarios")
        .map(|e| e.expect("entry").path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(prefix))
        })
        .expect("ships");
    let sc = Scenario::load(&path).expect("parses");
    sc.run(&Overrides::default()).expect("runs").trace
}

/// A NAT's "no mapping" drop is a fact only for an RST (what RST loss is judged from): o3's
/// NAT drops the RST of a connection whose mapping expired; the same drops of plain ACKs are
/// no drop records, so they cannot stand in for an RST's loss (`find_rst_drop` takes any
/// `nat-no-mapping` drop between the RST's endpoints, whatever its sequence number).
#[test]
fn nat_no_mapping_drops_are_facts_for_rsts_only() {
    let trace = run_scenario("o3-");
    let rsts = trace
        .events
        .iter()
        .filter(|e| {
            matches!(&e.kind, TraceKind::Nat { event: NatEvent::NoMapping { flags, .. }, .. }
                if flags.rst())
        })
        .count();
    assert!(rsts > 0, "o3's NAT drops an RST for want of a mapping");
    let nat_drops = |t: &Trace| {
        Facts::extract(t)
            .drops
            .iter()
            .filter(|d| d.cause == "nat-no-mapping")
            .count()
    };
    assert_eq!(nat_drops(&trace), rsts);
    let mut acks = trace.clone();
    for e in acks.events.iter_mut() {
        if let TraceKind::Nat {
            event: NatEvent::NoMapping { flags, .. },
            ..
        } = &mut e.kind
        {
            *flags = wire::TcpFlags::ACK;
        }
    }
    assert_eq!(nat_drops(&acks), 0, "ACKs dropped for want of a mapping");
}

/// `wire_rst_for`: the RST a host put on the wire owing to something at `t` is the first RST
/// it sent at or after `t` before anything more arrived (an RST may wait for ARP; a later RST
/// answers a later arrival, RFC 9293 §3.10.7.1). Not any segment it sent, and not an RST it
/// received.
#[test]
fn the_rst_sent_for_an_instant_is_the_first_sent_rst_before_the_next_arrival() {
    let trace = Trace::default();
    let mut f = Facts::extract(&trace);
    let node = NodeId(0);
    let conn = FourTuple::new(
        core::net::Ipv4Addr::new(192, 0, 2, 1),
        80,
        core::net::Ipv4Addr::new(192, 0, 2, 2),
        40000,
    );
    let seg = |secs: u64, dir: Dir, flags: wire::TcpFlags, seq: u32| {
        Seg::bare(Instant::from_secs(secs), dir, flags, seq, secs as usize)
    };
    let ack = wire::TcpFlags::ACK;
    let rst = wire::TcpFlags::RST;
    f.wire.conns.insert(
        (node, conn),
        vec![
            seg(1, Dir::Received, ack, 500),
            seg(2, Dir::Sent, ack, 100),
            seg(3, Dir::Sent, rst, 100),
            seg(4, Dir::Received, ack, 500),
            seg(5, Dir::Sent, rst, 101),
            seg(6, Dir::Received, rst, 500),
        ],
    );
    let at = |secs: u64| {
        f.wire_rst_for(node, conn, Instant::from_secs(secs))
            .map(|s| (s.time.secs(), s.seq.0))
    };
    // From an arrival (at the same instant) or a plain ACK sent on, the RST at 3 s.
    assert_eq!(at(1), Some((3, 100)));
    assert_eq!(at(2), Some((3, 100)));
    assert_eq!(at(3), Some((3, 100)));
    // The arrival at 4 s is answered by the RST at 5 s.
    assert_eq!(at(4), Some((5, 100 + 1)));
    // Only a received RST from 6 s on: none sent.
    assert_eq!(at(6), None);
}

/// An empty trace of two nodes, `client` (node 0) and `server` (node 1), ending at 100 s: the
/// start of the tests that add facts by hand.
fn client_server_trace() -> Trace {
    Trace {
        meta: crate::trace::TraceMeta {
            node_names: vec!["client".into(), "server".into()],
            ..Default::default()
        },
        end: Instant::from_secs(100),
        ..Trace::default()
    }
}

/// A later RST with the same sequence number answers for itself only when it goes to the same
/// peer connection (`judge_rsts`): two connections between the same two hosts, each reset with
/// one sequence number (RFC 9293 §3.10.7.1: an RST's SEQ is SND.NXT, which may well coincide),
/// the second RST sent before the first arrived. Both arrived: neither is lost.
#[test]
fn a_later_rst_on_another_connection_does_not_hide_an_arrival() {
    let trace = client_server_trace();
    let mut f = Facts::extract(&trace);
    let (client, server) = (NodeId(0), NodeId(1));
    let ip = |n| core::net::Ipv4Addr::new(192, 0, 2, n);
    let conns = [
        FourTuple::new(ip(1), 40000, ip(2), 80),
        FourTuple::new(ip(1), 40001, ip(2), 80),
    ];
    let ms = Instant::from_millis;
    for (i, conn) in conns.into_iter().enumerate() {
        for (node, c) in [(client, conn), (server, conn.reversed())] {
            f.timelines.entry((node, c)).or_default().changes =
                vec![(Instant::ZERO, State::Established, "test")];
            f.by_conn.insert(c, node);
        }
        let frame = FrameId {
            segment: crate::trace::SegmentId(0),
            number: i + 1,
        };
        let sent = ms(10_000 + 500 * i as u64);
        f.rsts.push(RstDue {
            node: client,
            conn,
            time: sent,
            seq: Some(SeqNumber(500)),
            frame: Some(frame),
            reason: "on the wire".into(),
            event: None,
        });
        // Delivered 1 s after it left: the first after the second left.
        f.wire.conns.insert(
            (server, conn.reversed()),
            vec![Seg::bare(
                sent + Duration::from_secs(1),
                Dir::Received,
                wire::TcpFlags::RST,
                500,
                frame.number,
            )],
        );
    }
    f.judge_rsts();
    let lost: Vec<Instant> = f.lost.iter().map(|l| f.rsts[l.rst].time).collect();
    assert_eq!(lost, vec![]);
    // The same, the first never delivered: lost in transit.
    f.wire.conns.remove(&(server, conns[0].reversed()));
    f.judge_rsts();
    let lost: Vec<(Instant, &str)> = f
        .lost
        .iter()
        .map(|l| (f.rsts[l.rst].time, l.cause.as_str()))
        .collect();
    assert_eq!(lost, vec![(ms(10_000), "lost-in-transit")]);
}

/// An RST never seen on the wire (`judge_rsts`): the finding shows the host's last segment on
/// the connection at or before the RST, what it held (here no ARP resolution was under way:
/// `never-sent`).
#[test]
fn an_rst_never_on_the_wire_shows_the_hosts_last_segment_before_it() {
    let trace = client_server_trace();
    let mut f = Facts::extract(&trace);
    let (client, server) = (NodeId(0), NodeId(1));
    let ip = |n| core::net::Ipv4Addr::new(192, 0, 2, n);
    let conn = FourTuple::new(ip(1), 40000, ip(2), 80);
    for (node, c) in [(client, conn), (server, conn.reversed())] {
        f.timelines.entry((node, c)).or_default().changes =
            vec![(Instant::ZERO, State::Established, "test")];
        f.by_conn.insert(c, node);
    }
    let ack = wire::TcpFlags::ACK;
    let s = Instant::from_secs;
    f.wire.conns.insert(
        (client, conn),
        vec![
            Seg::bare(s(1), Dir::Sent, ack, 100, 1),
            Seg::bare(s(2), Dir::Received, ack, 900, 2),
            Seg::bare(s(10), Dir::Sent, ack, 100, 3),
            Seg::bare(s(20), Dir::Received, ack, 900, 4),
        ],
    );
    f.rsts.push(RstDue {
        node: client,
        conn,
        time: s(10),
        seq: None,
        frame: None,
        reason: "abort call".into(),
        event: None,
    });
    f.judge_rsts();
    assert_eq!(f.lost.len(), 1);
    assert_eq!(f.lost[0].cause, "never-sent");
    let frames: Vec<usize> = f.lost[0].frames.iter().map(|fr| fr.number).collect();
    assert_eq!(frames, vec![3]);
}

/// TIME-WAIT left early by a stack that reports states (`state_time_wait`): the cause is what
/// arrived at that instant (RFC 9293 §3.10.7.4: an RST ends TIME-WAIT, RFC 6191 / a new SYN may
/// reuse it), any other segment, or nothing at all; a TIME-WAIT of the full 2·MSL is none.
#[test]
fn a_reported_early_time_wait_end_names_what_arrived() {
    let tw = Duration::from_secs(60);
    let trace = Trace {
        meta: crate::trace::TraceMeta {
            node_names: vec!["server".into()],
            stacks: vec![Some(crate::trace::StackEvidence {
                stack: "reference".into(),
                state: true,
                time_wait: Some(tw),
                ..Default::default()
            })],
            ..Default::default()
        },
        end: Instant::from_secs(1000),
        ..Trace::default()
    };
    let mut f = Facts::extract(&trace);
    let node = NodeId(0);
    let ip = |n| core::net::Ipv4Addr::new(192, 0, 2, n);
    let s = Instant::from_secs;
    let flags = [
        Some(wire::TcpFlags::RST),
        Some(wire::TcpFlags::SYN),
        Some(wire::TcpFlags::ACK),
        None,
        Some(wire::TcpFlags::RST),
    ];
    for (i, fl) in flags.into_iter().enumerate() {
        let conn = FourTuple::new(ip(1), 80, ip(2), 40000 + i as u16);
        // The last one stays its full 2·MSL.
        let end = if i == 4 { s(100 + 60) } else { s(110) };
        f.timelines.insert(
            (node, conn),
            Timeline {
                changes: vec![
                    (s(100), State::TimeWait, "reported"),
                    (end, State::Closed, "reported-gone"),
                ],
            },
        );
        if let Some(fl) = fl {
            f.wire.conns.insert(
                (node, conn),
                vec![Seg::bare(end, Dir::Received, fl, 7, i + 1)],
            );
        }
    }
    f.time_wait_early.clear();
    f.state_time_wait();
    let got: Vec<(u16, &str, Vec<usize>, u64)> = f
        .time_wait_early
        .iter()
        .map(|e| {
            (
                e.conn.remote.port() - 40000,
                e.cause.as_str(),
                e.frames.iter().map(|fr| fr.number).collect(),
                e.after.secs(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (0, "rst-received", vec![1], 10),
            (1, "syn-received", vec![2], 10),
            (2, "segment-received", vec![3], 10),
            (3, "unexplained", vec![], 10),
        ]
    );
}

/// Drops from socket calls (`call_drops`): a `close()` with SO_LINGER 0 aborts only a
/// connection that was open (RFC 9293 §3.10.4: CLOSE in LISTEN deletes the TCB, in CLOSED
/// there is nothing to abort); an `ETIMEDOUT` is a keepalive timeout only after unanswered
/// probes (RFC 1122 §4.2.3.6), else it is another timeout (retransmission, user timeout).
#[test]
fn call_drops_need_an_open_connection_and_unanswered_probes() {
    use crate::trace::{CallOp, SocketCall};
    let trace = Trace {
        meta: crate::trace::TraceMeta {
            node_names: vec!["client".into()],
            stacks: vec![Some(crate::trace::StackEvidence {
                stack: "quiet".into(),
                calls: true,
                ..Default::default()
            })],
            ..Default::default()
        },
        end: Instant::from_secs(100),
        ..Trace::default()
    };
    let mut f = Facts::extract(&trace);
    let node = NodeId(0);
    let s = Instant::from_secs;
    let conn = |i: u16| {
        FourTuple::new(
            core::net::Ipv4Addr::new(192, 0, 2, 1),
            40000 + i,
            core::net::Ipv4Addr::new(192, 0, 2, 2),
            80,
        )
    };
    let states: [&[State]; 5] = [
        &[State::Established],
        &[State::Listen],
        &[State::Established, State::Closed],
        &[State::Established],
        &[State::Established],
    ];
    for (i, st) in states.into_iter().enumerate() {
        f.timelines
            .entry((node, conn(i as u16)))
            .or_default()
            .changes = st
            .iter()
            .enumerate()
            .map(|(k, x)| (s(k as u64), *x, "test"))
            .collect();
    }
    let lz = CallOp::Close { linger_zero: true };
    for (i, op, result) in [
        (0, lz, Ok(0)),
        (1, lz, Ok(0)),
        (2, lz, Ok(0)),
        (3, CallOp::Recv, Err(Errno::ETIMEDOUT)),
        (4, CallOp::Recv, Err(Errno::ETIMEDOUT)),
    ] {
        f.calls.push((
            s(10),
            node,
            SocketCall {
                conn: Some(conn(i)),
                op,
                result,
            },
        ));
    }
    // Probes on conn 3 from 8 s on, nothing heard since.
    let probe = Seg::bare(s(8), Dir::Sent, wire::TcpFlags::ACK, 99, 1);
    f.derived.entry((node, conn(3))).or_default().probes = vec![(probe.time, probe.frame)];
    f.zero_linger.clear();
    f.keepalive_drops.clear();
    f.call_drops();
    let port =
        |v: &[Dropped]| -> Vec<u16> { v.iter().map(|d| d.conn.local.port() - 40000).collect() };
    assert_eq!(port(&f.zero_linger), vec![0]);
    assert_eq!(port(&f.keepalive_drops), vec![3]);
}

/// Keepalive probes (RFC 1122 §4.2.3.6) a host sent, by window: `probes_between` takes those in
/// `[from, to]`; `probed_unanswered` counts a probe sent by `t` only if nothing was heard since.
#[test]
fn probes_are_counted_in_their_window() {
    let trace = Trace::default();
    let mut f = Facts::extract(&trace);
    let node = NodeId(0);
    let conn = FourTuple::new(
        core::net::Ipv4Addr::new(192, 0, 2, 1),
        40000,
        core::net::Ipv4Addr::new(192, 0, 2, 2),
        80,
    );
    let s = Instant::from_secs;
    let ack = wire::TcpFlags::ACK;
    let segs = vec![
        Seg::bare(s(1), Dir::Sent, ack, 99, 1),
        Seg::bare(s(5), Dir::Sent, ack, 99, 5),
        Seg::bare(s(7), Dir::Received, ack, 700, 7),
        Seg::bare(s(10), Dir::Sent, ack, 99, 10),
    ];
    f.derived.entry((node, conn)).or_default().probes = segs
        .iter()
        .filter(|x| x.dir == Dir::Sent)
        .map(|x| (x.time, x.frame))
        .collect();
    f.wire.conns.insert((node, conn), segs);
    let between = |from: Option<u64>, to: u64| -> Vec<usize> {
        f.probes_between(node, conn, from.map(s), s(to))
            .iter()
            .map(|fr| fr.number)
            .collect()
    };
    assert_eq!(between(Some(5), 10), vec![5, 10]);
    assert_eq!(between(None, 4), vec![1]);
    assert_eq!(between(Some(6), 9), Vec::<usize>::new());
    // The probe at 5 s was answered at 7 s; the one at 10 s is not yet sent at 9 s.
    assert!(f.probed_unanswered(node, conn, s(6)));
    assert!(!f.probed_unanswered(node, conn, s(9)));
    assert!(f.probed_unanswered(node, conn, s(10)));
}

/// The drop of an RST (`find_rst_drop`): the first drop record between its endpoints at or
/// after it was sent, with its sequence number (or a NAT's "no mapping", which carries none).
#[test]
fn an_rsts_drop_is_the_first_matching_one_after_it_left() {
    let trace = Trace::default();
    let mut f = Facts::extract(&trace);
    let conn = FourTuple::new(
        core::net::Ipv4Addr::new(192, 0, 2, 1),
        40000,
        core::net::Ipv4Addr::new(192, 0, 2, 2),
        80,
    );
    let s = Instant::from_secs;
    for (secs, seq, cause) in [
        (5, 500, "link-loss"),
        (12, 9, "link-loss"),
        (15, 500, "link-down"),
    ] {
        f.drops.push(DropRecord {
            time: s(secs),
            src: conn.local,
            dst: conn.remote,
            seq: SeqNumber(seq),
            cause: cause.into(),
            evidence: String::new(),
            from_event: false,
            frame: None,
        });
    }
    f.drops_by_src.insert(conn.local, vec![0, 1, 2]);
    let r = RstDue {
        node: NodeId(0),
        conn,
        time: s(10),
        seq: Some(SeqNumber(500)),
        frame: None,
        reason: "test".into(),
        event: None,
    };
    let d = f.find_rst_drop(&r).expect("a drop");
    assert_eq!((d.time, d.cause.as_str()), (s(15), "link-down"));
}
