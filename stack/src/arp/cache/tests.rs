use super::*;
use crate::time::Duration;
use proptest::prelude::*;
use rstest::rstest;
use std::collections::BTreeMap;

const OUR_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const OUR_MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 2]);
const GW: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const GW_MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 1]);
const OTHER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 3);
const OTHER_MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 3]);

fn t(ms: u64) -> Instant {
    Instant::from_millis(ms)
}

fn policy(depth: usize, bytes: usize, overflow: QueueOverflow) -> ArpPolicy {
    ArpPolicy {
        queue_depth: depth,
        queue_bytes: bytes,
        overflow,
        reachable_time: Duration::from_secs(30),
        retransmit_interval: Duration::from_secs(1),
        max_requests: 3,
    }
}

fn cache(p: ArpPolicy) -> Neighbors {
    Neighbors::new(p, OUR_MAC, OUR_IP)
}

/// A fake IPv4 packet: a 20-byte header with our source and `dst`, tagged by `id` at byte 4
/// (the ident field), padded to `len` bytes.
fn pkt(id: u8, len: usize) -> Vec<u8> {
    let mut p = vec![0u8; len.max(20)];
    p[0] = 0x45;
    let total = p.len() as u16;
    p[2..4].copy_from_slice(&total.to_be_bytes());
    p[4] = id;
    p[9] = 6;
    p[12..16].copy_from_slice(&OUR_IP.octets());
    p[16..20].copy_from_slice(&Ipv4Addr::new(203, 0, 113, 5).octets());
    p
}

fn reply(from: Ipv4Addr, mac: EthernetAddress) -> ArpRepr {
    ArpRepr {
        operation: ArpOperation::Reply,
        source_hardware_addr: mac,
        source_protocol_addr: from,
        target_hardware_addr: OUR_MAC,
        target_protocol_addr: OUR_IP,
    }
}

fn request(from: Ipv4Addr, mac: EthernetAddress, target: Ipv4Addr) -> ArpRepr {
    ArpRepr {
        operation: ArpOperation::Request,
        source_hardware_addr: mac,
        source_protocol_addr: from,
        target_hardware_addr: EthernetAddress::ZERO,
        target_protocol_addr: target,
    }
}

fn drain(n: &mut Neighbors) -> Vec<Transmit> {
    std::iter::from_fn(|| n.poll_transmit()).collect()
}

/// The ids (ident byte) of the IPv4 packets among `tx`, all of which must go to `mac`.
fn sent_ids(tx: &[Transmit], mac: EthernetAddress) -> Vec<u8> {
    tx.iter()
        .filter_map(|t| match t {
            Transmit::Ipv4 { dst_mac, packet } => {
                assert_eq!(*dst_mac, mac);
                Some(packet[4])
            }
            Transmit::Arp { .. } => None,
        })
        .collect()
}

fn requests(tx: &[Transmit]) -> Vec<Ipv4Addr> {
    tx.iter()
        .filter_map(|t| match t {
            Transmit::Arp { dst_mac, repr } if repr.operation == ArpOperation::Request => {
                assert_eq!(*dst_mac, EthernetAddress::BROADCAST);
                assert_eq!(repr.source_protocol_addr, OUR_IP);
                assert_eq!(repr.source_hardware_addr, OUR_MAC);
                Some(repr.target_protocol_addr)
            }
            _ => None,
        })
        .collect()
}

fn arp_events(n: &mut Neighbors) -> Vec<ArpEvent> {
    n.take_events().into_iter().map(|e| e.event).collect()
}

fn drops(events: &[ArpEvent]) -> Vec<(u8, ArpDropReason)> {
    events
        .iter()
        .filter_map(|e| match e {
            ArpEvent::Dropped { packet, reason, .. } => Some((packet.len as u8, *reason)),
            _ => None,
        })
        .collect()
}

/// Send packets 1..=n (packet i is 20+i bytes long, so a drop's `len` names it) to `GW`,
/// then answer; returns (ids transmitted, ids dropped with reasons).
fn send_then_resolve(p: ArpPolicy, n: u8) -> (Vec<u8>, Vec<(u8, ArpDropReason)>) {
    let mut c = cache(p);
    for i in 1..=n {
        c.send(t(i as u64), GW, pkt(i, 20 + i as usize));
    }
    let before = drain(&mut c);
    assert_eq!(
        requests(&before),
        vec![GW],
        "one request, not one per packet"
    );
    assert!(sent_ids(&before, GW_MAC).is_empty());
    c.process(t(500), &reply(GW, GW_MAC));
    let sent = sent_ids(&drain(&mut c), GW_MAC);
    let ev = arp_events(&mut c);
    let dropped = drops(&ev)
        .into_iter()
        .map(|(len, r)| (len - 20, r))
        .collect();
    assert!(ev.contains(&ArpEvent::Resolved {
        addr: GW,
        mac: GW_MAC
    }));
    (sent, dropped)
}

#[test]
fn depth_one_keep_newest_sends_only_the_last() {
    let (sent, dropped) = send_then_resolve(policy(1, 0, QueueOverflow::KeepNewest), 10);
    assert_eq!(sent, vec![10]);
    let overflow = ArpDropReason::QueueOverflow {
        policy: QueueOverflow::KeepNewest,
    };
    assert_eq!(
        dropped,
        (1..=9).map(|i| (i, overflow)).collect::<Vec<_>>(),
        "each displaced packet has its own drop event, in order"
    );
}

#[test]
fn drop_event_names_the_packet_and_reason() {
    let mut c = cache(policy(1, 0, QueueOverflow::KeepNewest));
    c.send(t(0), GW, pkt(1, 40));
    c.send(t(1), GW, pkt(2, 40));
    let ev = c.take_events();
    let drop = ev
        .iter()
        .find(|e| matches!(e.event, ArpEvent::Dropped { .. }))
        .expect("a drop");
    assert_eq!(drop.time, t(1));
    let text = crate::Event::from(drop.clone()).to_string();
    assert!(
        text.contains("arp drop 10.0.0.1 reason=queue-overflow(keep-newest) packet=10.0.0.2:"),
        "{text}"
    );
    assert!(text.contains(">203.0.113.5:"), "{text}");
}

#[rstest]
#[case::keep_newest_depth_10(10, QueueOverflow::KeepNewest)]
#[case::drop_oldest_depth_10(10, QueueOverflow::DropOldest)]
#[case::drop_newest_depth_10(10, QueueOverflow::DropNewest)]
#[case::depth_101(101, QueueOverflow::DropOldest)]
fn deep_queue_sends_all_in_order(#[case] depth: usize, #[case] overflow: QueueOverflow) {
    let (sent, dropped) = send_then_resolve(policy(depth, 0, overflow), 10);
    assert_eq!(sent, (1..=10).collect::<Vec<_>>());
    assert!(dropped.is_empty());
}

#[rstest]
#[case::drop_oldest_keeps_last_3(QueueOverflow::DropOldest, vec![8, 9, 10], vec![1, 2, 3, 4, 5, 6, 7])]
#[case::drop_newest_keeps_first_3(QueueOverflow::DropNewest, vec![1, 2, 3], vec![4, 5, 6, 7, 8, 9, 10])]
#[case::keep_newest_keeps_last_1(QueueOverflow::KeepNewest, vec![10], vec![1, 2, 3, 4, 5, 6, 7, 8, 9])]
fn overflow_policy_keeps_the_right_packets(
    #[case] overflow: QueueOverflow,
    #[case] kept: Vec<u8>,
    #[case] lost: Vec<u8>,
) {
    let (sent, dropped) = send_then_resolve(policy(3, 0, overflow), 10);
    assert_eq!(sent, kept);
    let reason = ArpDropReason::QueueOverflow { policy: overflow };
    assert_eq!(
        dropped,
        lost.into_iter().map(|i| (i, reason)).collect::<Vec<_>>()
    );
}

#[rstest]
// Packets are 21..=30 bytes, the bound is 100 bytes.
// drop-oldest: the newest that fit, 28+29+30 = 87 (+27 would be 114).
#[case::drop_oldest(QueueOverflow::DropOldest, vec![8, 9, 10])]
// drop-newest: 21+22+23+24 = 90; every later packet would overflow.
#[case::drop_newest(QueueOverflow::DropNewest, vec![1, 2, 3, 4])]
// keep-newest: flush at 5 (90+25), flush at 8 (5+6+7 = 78, +28), then 8+9+10 = 87.
#[case::keep_newest(QueueOverflow::KeepNewest, vec![8, 9, 10])]
fn byte_bound_is_enforced(#[case] overflow: QueueOverflow, #[case] kept: Vec<u8>) {
    let (sent, dropped) = send_then_resolve(policy(100, 100, overflow), 10);
    assert_eq!(sent, kept);
    let bytes: usize = kept.iter().map(|&i| 20 + i as usize).sum();
    assert!(bytes <= 100);
    assert_eq!(dropped.len(), 10 - kept.len());
    assert!(dropped.iter().all(|(_, r)| *r == ArpDropReason::QueueBytes));
}

#[test]
fn packet_larger_than_byte_bound_is_dropped_alone() {
    let mut c = cache(policy(10, 50, QueueOverflow::DropOldest));
    c.send(t(0), GW, pkt(1, 30));
    c.send(t(0), GW, pkt(2, 60));
    let ev = arp_events(&mut c);
    assert_eq!(drops(&ev), vec![(60, ArpDropReason::QueueBytes)]);
    c.process(t(1), &reply(GW, GW_MAC));
    assert_eq!(sent_ids(&drain(&mut c), GW_MAC), vec![1]);
}

/// The byte bound is inclusive: one packet exactly that long, or packets adding up to it exactly,
/// fit and wait for resolution, whatever the overflow policy.
#[rstest]
fn packets_exactly_filling_the_byte_bound_are_queued(
    #[values(
        QueueOverflow::DropOldest,
        QueueOverflow::DropNewest,
        QueueOverflow::KeepNewest
    )]
    overflow: QueueOverflow,
    #[values(vec![50], vec![20, 30])] lens: Vec<usize>,
) {
    let mut c = cache(policy(10, 50, overflow));
    for (i, len) in lens.iter().enumerate() {
        c.send(t(0), GW, pkt(i as u8 + 1, *len));
    }
    assert!(drops(&arp_events(&mut c)).is_empty());
    c.process(t(1), &reply(GW, GW_MAC));
    let ids: Vec<u8> = (1..=lens.len() as u8).collect();
    assert_eq!(sent_ids(&drain(&mut c), GW_MAC), ids);
}

#[test]
fn zero_depth_holds_nothing() {
    let (sent, dropped) = send_then_resolve(policy(0, 0, QueueOverflow::DropOldest), 2);
    assert!(sent.is_empty());
    assert_eq!(dropped.len(), 2);
}

#[test]
fn static_entry_needs_no_resolution() {
    let mut c = cache(policy(1, 0, QueueOverflow::KeepNewest));
    c.add_static(t(0), GW, GW_MAC);
    for i in 1..=5 {
        c.send(t(i), GW, pkt(i as u8, 40));
    }
    let tx = drain(&mut c);
    assert!(requests(&tx).is_empty(), "no request for a static entry");
    assert_eq!(sent_ids(&tx, GW_MAC), vec![1, 2, 3, 4, 5]);
    assert_eq!(c.poll_at(), None, "a static entry has no timer");
    // Static entries never expire and ARP never overwrites them.
    c.handle_timeout(t(10_000_000));
    c.process(t(10_000_000), &reply(GW, OTHER_MAC));
    assert_eq!(c.lookup(GW).and_then(|e| e.mac()), Some(GW_MAC));
    let ev = arp_events(&mut c);
    assert_eq!(
        ev,
        vec![ArpEvent::StaticEntry {
            addr: GW,
            mac: GW_MAC
        }]
    );
}

#[test]
fn unanswered_request_retransmits_then_gives_up() {
    let mut c = cache(policy(10, 0, QueueOverflow::DropOldest));
    c.send(t(0), GW, pkt(1, 40));
    c.send(t(100), GW, pkt(2, 40));
    let mut request_times = vec![];
    if !requests(&drain(&mut c)).is_empty() {
        request_times.push(0);
    }
    // Step from deadline to deadline.
    while let Some(at) = c.poll_at() {
        c.handle_timeout(at);
        if !requests(&drain(&mut c)).is_empty() {
            request_times.push(at.total_millis());
        }
        assert!(at <= t(10_000), "must give up");
    }
    assert_eq!(request_times, vec![0, 1000, 2000]);
    let ev = arp_events(&mut c);
    let attempts: Vec<u32> = ev
        .iter()
        .filter_map(|e| match e {
            ArpEvent::RequestSent { target, attempt } if *target == GW => Some(*attempt),
            _ => None,
        })
        .collect();
    assert_eq!(attempts, vec![1, 2, 3]);
    assert_eq!(
        drops(&ev),
        vec![
            (40, ArpDropReason::ResolutionFailed),
            (40, ArpDropReason::ResolutionFailed)
        ]
    );
    assert_eq!(
        ev.last(),
        Some(&ArpEvent::GaveUp {
            addr: GW,
            dropped: 2
        })
    );
    assert!(c.lookup(GW).is_none());
    // A later send starts over with a fresh request.
    c.send(t(5000), GW, pkt(3, 40));
    assert_eq!(requests(&drain(&mut c)), vec![GW]);
}

#[rstest]
#[case(1, 1000)]
#[case(3, 3000)]
#[case(5, 5000)]
fn give_up_time_follows_max_requests(#[case] max: u32, #[case] give_up_ms: u64) {
    let mut p = policy(10, 0, QueueOverflow::DropOldest);
    p.max_requests = max;
    let mut c = cache(p);
    c.send(t(0), GW, pkt(1, 40));
    let mut last = None;
    while let Some(at) = c.poll_at() {
        c.handle_timeout(at);
        last = Some(at);
    }
    assert_eq!(last, Some(t(give_up_ms)));
    let ev = arp_events(&mut c);
    let sent = ev
        .iter()
        .filter(|e| matches!(e, ArpEvent::RequestSent { .. }))
        .count();
    assert_eq!(sent, max as usize);
}

#[test]
fn entries_expire_and_are_re_resolved() {
    let mut c = cache(policy(10, 0, QueueOverflow::DropOldest));
    c.send(t(0), GW, pkt(1, 40));
    c.process(t(10), &reply(GW, GW_MAC));
    assert_eq!(sent_ids(&drain(&mut c), GW_MAC), vec![1]);
    assert_eq!(c.poll_at(), Some(t(30_010)));
    // Still reachable just before the deadline: sent at once.
    c.send(t(30_009), GW, pkt(2, 40));
    assert_eq!(sent_ids(&drain(&mut c), GW_MAC), vec![2]);
    c.handle_timeout(t(30_010));
    assert!(c.lookup(GW).is_none());
    assert!(arp_events(&mut c).contains(&ArpEvent::Expired { addr: GW }));
    // Next send: a new request, the packet waits.
    c.send(t(40_000), GW, pkt(3, 40));
    let tx = drain(&mut c);
    assert_eq!(requests(&tx), vec![GW]);
    assert!(sent_ids(&tx, GW_MAC).is_empty());
    c.process(t(40_001), &reply(GW, GW_MAC));
    assert_eq!(sent_ids(&drain(&mut c), GW_MAC), vec![3]);
}

#[test]
fn expiry_is_noticed_on_send_without_a_timeout_call() {
    let mut c = cache(policy(10, 0, QueueOverflow::DropOldest));
    c.insert_dynamic(t(0), GW, GW_MAC);
    c.send(t(31_000), GW, pkt(1, 40));
    assert_eq!(requests(&drain(&mut c)), vec![GW]);
    assert!(arp_events(&mut c).contains(&ArpEvent::Expired { addr: GW }));
}

#[test]
fn forced_expiry_for_scenarios() {
    let mut c = cache(policy(10, 0, QueueOverflow::DropOldest));
    c.insert_dynamic(t(0), GW, GW_MAC);
    assert!(c.expire(t(5), GW));
    assert!(!c.expire(t(5), GW));
    c.send(t(6), GW, pkt(1, 40));
    assert_eq!(requests(&drain(&mut c)), vec![GW]);
}

#[test]
fn merge_rule_learns_from_packets_for_us_only() {
    let mut c = cache(policy(10, 0, QueueOverflow::DropOldest));
    // A request from OTHER for someone else: nothing learned, no reply.
    c.process(t(0), &request(OTHER, OTHER_MAC, GW));
    assert!(c.lookup(OTHER).is_none());
    assert!(drain(&mut c).is_empty());
    assert!(arp_events(&mut c).is_empty());
    // A request from OTHER for us: learned, and answered.
    c.process(t(1), &request(OTHER, OTHER_MAC, OUR_IP));
    assert_eq!(c.lookup(OTHER).and_then(|e| e.mac()), Some(OTHER_MAC));
    // Now a packet not for us updates the existing entry (new MAC, fresh timer).
    let new_mac = EthernetAddress([2, 0, 0, 0, 0, 0x33]);
    c.process(t(2000), &request(OTHER, new_mac, GW));
    assert_eq!(
        c.lookup(OTHER).map(|e| e.state),
        Some(EntryState::Reachable {
            mac: new_mac,
            expires_at: t(32_000)
        })
    );
    let ev = arp_events(&mut c);
    assert_eq!(
        ev,
        vec![
            ArpEvent::Learned {
                addr: OTHER,
                mac: OTHER_MAC
            },
            ArpEvent::ReplySent { to: OTHER },
            ArpEvent::Learned {
                addr: OTHER,
                mac: new_mac
            },
        ]
    );
}

#[test]
fn gratuitous_reply_resolves_a_pending_entry() {
    let mut c = cache(policy(10, 0, QueueOverflow::DropOldest));
    c.send(t(0), GW, pkt(1, 40));
    drain(&mut c);
    // Gratuitous ARP: sender == target, not for us; it updates the existing (pending) entry.
    let garp = request(GW, GW_MAC, GW);
    c.process(t(1), &garp);
    assert_eq!(sent_ids(&drain(&mut c), GW_MAC), vec![1]);
}

#[test]
fn reply_to_request_for_our_address() {
    let mut c = cache(policy(10, 0, QueueOverflow::DropOldest));
    c.process(t(0), &request(OTHER, OTHER_MAC, OUR_IP));
    let tx = drain(&mut c);
    assert_eq!(
        tx,
        vec![Transmit::Arp {
            dst_mac: OTHER_MAC,
            repr: ArpRepr {
                operation: ArpOperation::Reply,
                source_hardware_addr: OUR_MAC,
                source_protocol_addr: OUR_IP,
                target_hardware_addr: OTHER_MAC,
                target_protocol_addr: OTHER,
            }
        }]
    );
}

#[rstest]
#[case::for_another_host(request(OTHER, OTHER_MAC, GW))]
#[case::a_reply_for_us(reply(OTHER, OTHER_MAC))]
#[case::broadcast_sender_mac(request(OTHER, EthernetAddress::BROADCAST, OUR_IP))]
fn no_reply(#[case] arp: ArpRepr) {
    let mut c = cache(policy(10, 0, QueueOverflow::DropOldest));
    c.process(t(0), &arp);
    assert!(drain(&mut c).is_empty());
}

#[rstest]
#[case::probe_from_unspecified(Ipv4Addr::UNSPECIFIED, OTHER_MAC)]
#[case::claims_our_address(OUR_IP, OTHER_MAC)]
#[case::multicast_mac(OTHER, EthernetAddress([1, 0, 0x5e, 0, 0, 1]))]
#[case::zero_mac(OTHER, EthernetAddress::ZERO)]
fn never_learned(#[case] sender: Ipv4Addr, #[case] mac: EthernetAddress) {
    let mut c = cache(policy(10, 0, QueueOverflow::DropOldest));
    c.process(t(0), &request(sender, mac, OUR_IP));
    assert!(c.entries().is_empty());
}

#[test]
fn static_entry_flushes_a_pending_queue() {
    let mut c = cache(policy(10, 0, QueueOverflow::DropOldest));
    c.send(t(0), GW, pkt(1, 40));
    c.send(t(0), GW, pkt(2, 40));
    drain(&mut c);
    c.add_static(t(1), GW, GW_MAC);
    assert_eq!(sent_ids(&drain(&mut c), GW_MAC), vec![1, 2]);
}

#[test]
fn timers_fire_in_address_order() {
    let mut c = cache(policy(10, 0, QueueOverflow::DropOldest));
    c.send(t(0), OTHER, pkt(1, 40));
    c.send(t(0), GW, pkt(2, 40));
    drain(&mut c);
    c.handle_timeout(t(1000));
    assert_eq!(requests(&drain(&mut c)), vec![GW, OTHER]);
}

#[test]
fn unparseable_packet_is_still_named_in_its_drop() {
    let mut c = cache(policy(1, 0, QueueOverflow::DropNewest));
    c.send(t(0), GW, pkt(1, 40));
    // Version 6 nibble: summarize_ipv4 refuses it; the raw fields are used.
    let mut odd = pkt(2, 33);
    odd[0] = 0x65;
    c.send(t(0), GW, odd);
    c.send(t(0), GW, vec![0x45, 0, 0]);
    let ev = arp_events(&mut c);
    let named: Vec<(Ipv4Addr, usize)> = ev
        .iter()
        .filter_map(|e| match e {
            ArpEvent::Dropped { packet, .. } => Some((packet.dst, packet.len)),
            _ => None,
        })
        .collect();
    assert_eq!(
        named,
        vec![
            (Ipv4Addr::new(203, 0, 113, 5), 33),
            (Ipv4Addr::UNSPECIFIED, 3)
        ]
    );
}

#[derive(Clone, Debug)]
enum Op {
    Send(u8, usize),
    Reply(u8),
    Advance(u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u8..3, 20usize..200).prop_map(|(h, l)| Op::Send(h, l)),
        1 => (0u8..3).prop_map(Op::Reply),
        1 => (0u64..3000).prop_map(Op::Advance),
    ]
}

fn overflow_strategy() -> impl Strategy<Value = QueueOverflow> {
    prop_oneof![
        Just(QueueOverflow::KeepNewest),
        Just(QueueOverflow::DropOldest),
        Just(QueueOverflow::DropNewest),
    ]
}

proptest! {
    /// Every packet handed to the cache is accounted for exactly once: transmitted, dropped
    /// (with an event) or still queued; queues never exceed their bounds.
    #[test]
    fn packets_are_conserved_and_queues_bounded(
        depth in 0usize..5,
        bytes in prop_oneof![Just(0usize), 20usize..400],
        overflow in overflow_strategy(),
        ops in proptest::collection::vec(op(), 0..60),
    ) {
        let p = ArpPolicy { max_requests: 2, ..policy(depth, bytes, overflow) };
        let mut c = cache(p);
        let mut now = t(0);
        let mut handed = 0usize;
        let mut sent = 0usize;
        let mut dropped = 0usize;
        for op in ops {
            match op {
                Op::Send(h, len) => {
                    handed += 1;
                    c.send(now, Ipv4Addr::new(10, 0, 1, h), pkt(0, len));
                }
                Op::Reply(h) => {
                    let mac = EthernetAddress([2, 0, 0, 0, 1, h]);
                    c.process(now, &reply(Ipv4Addr::new(10, 0, 1, h), mac));
                }
                Op::Advance(ms) => {
                    now += Duration::from_millis(ms);
                    c.handle_timeout(now);
                }
            }
            sent += drain(&mut c).iter().filter(|t| matches!(t, Transmit::Ipv4 { .. })).count();
            dropped += drops(&arp_events(&mut c)).len();
            let mut queued = 0;
            for e in c.entries() {
                if let EntryState::Incomplete { queued: n, queued_bytes, requests_sent, .. } = e.state {
                    prop_assert!(n <= depth);
                    prop_assert!(bytes == 0 || queued_bytes <= bytes);
                    prop_assert!((1..=2).contains(&requests_sent));
                    queued += n;
                }
            }
            prop_assert_eq!(handed, sent + dropped + queued);
            if let Some(at) = c.poll_at() {
                prop_assert!(at > now, "no due deadline left unhandled");
            }
        }
    }
}

#[test]
fn give_up_timeline_renders_line_by_line() {
    let mut c = cache(ArpPolicy {
        max_requests: 2,
        ..policy(10, 0, QueueOverflow::DropOldest)
    });
    c.send(t(0), GW, pkt(7, 40));
    while let Some(at) = c.poll_at() {
        c.handle_timeout(at);
    }
    let lines: Vec<String> = c
        .take_events()
        .into_iter()
        .map(|e| crate::Event::from(e).to_string())
        .collect();
    assert_eq!(
        lines,
        vec![
            "0.000000s arp request who-has 10.0.0.1 attempt=1",
            "0.000000s arp queued 10.0.0.1 queued=1",
            "1.000000s arp request who-has 10.0.0.1 attempt=2",
            "2.000000s arp drop 10.0.0.1 reason=resolution-failed packet=10.0.0.2:0>203.0.113.5:0 none seq=0 len=40",
            "2.000000s arp gave-up 10.0.0.1 dropped=1",
        ]
    );
}

/// The earliest deadline by a scan of every entry (what the index must always agree with).
fn scanned_deadline(c: &Neighbors) -> Option<Instant> {
    c.entries
        .values()
        .filter_map(|e| match e {
            Entry::Static(_) => None,
            Entry::Reachable { expires_at, .. } => Some(*expires_at),
            Entry::Incomplete(p) => Some(p.next_at),
        })
        .min()
}

#[derive(Clone, Debug)]
enum IndexOp {
    Send(u8),
    Reply(u8),
    /// A broadcast request from `h` for another host: merges only.
    Snoop(u8),
    Static(u8),
    Dynamic(u8),
    Expire(u8),
    Remove(u8),
    Advance(u64),
}

fn index_op() -> impl Strategy<Value = IndexOp> {
    prop_oneof![
        3 => (0u8..4).prop_map(IndexOp::Send),
        2 => (0u8..4).prop_map(IndexOp::Reply),
        2 => (0u8..4).prop_map(IndexOp::Snoop),
        1 => (0u8..4).prop_map(IndexOp::Static),
        1 => (0u8..4).prop_map(IndexOp::Dynamic),
        1 => (0u8..4).prop_map(IndexOp::Expire),
        1 => (0u8..4).prop_map(IndexOp::Remove),
        3 => (0u64..40_000).prop_map(IndexOp::Advance),
    ]
}

proptest! {
    /// The deadline index always names the earliest deadline of the cache, and
    /// `handle_timeout` leaves nothing due behind, whatever the sequence of operations.
    #[test]
    fn deadline_index_matches_a_scan(ops in proptest::collection::vec(index_op(), 0..80)) {
        let mut c = cache(policy(2, 0, QueueOverflow::KeepNewest));
        let mut now = t(0);
        let ip = |h: u8| Ipv4Addr::new(10, 0, 1, h);
        let mac = |h: u8| EthernetAddress([2, 0, 0, 0, 1, h]);
        for op in ops {
            match op {
                IndexOp::Send(h) => c.send(now, ip(h), pkt(h, 40)),
                IndexOp::Reply(h) => c.process(now, &reply(ip(h), mac(h))),
                IndexOp::Snoop(h) => c.process(now, &request(ip(h), mac(h), OTHER)),
                IndexOp::Static(h) => c.add_static(now, ip(h), mac(h)),
                IndexOp::Dynamic(h) => c.insert_dynamic(now, ip(h), mac(h)),
                IndexOp::Expire(h) => {
                    c.expire(now, ip(h));
                }
                IndexOp::Remove(h) => {
                    c.remove(ip(h));
                }
                IndexOp::Advance(ms) => {
                    now += Duration::from_millis(ms);
                    c.handle_timeout(now);
                    if let Some(at) = c.poll_at() {
                        prop_assert!(at > now, "a due deadline was left unhandled");
                    }
                }
            }
            prop_assert_eq!(c.poll_at(), scanned_deadline(&c));
            prop_assert!(c.timers.len() <= 2 * c.entries.len() + 8);
        }
    }
}

/// Replays interest changes into counted (own, entry) address sets.
fn replay_interest(changes: &[Interest], into: &mut BTreeMap<(bool, Ipv4Addr), i32>) {
    for c in changes {
        *into.entry((c.own, c.addr)).or_default() += if c.added { 1 } else { -1 };
    }
    into.retain(|_, n| *n != 0);
}

/// The interest a cache should report: our own address, and every address with an entry.
fn scanned_interest(c: &Neighbors) -> BTreeMap<(bool, Ipv4Addr), i32> {
    let mut want = BTreeMap::from([((true, c.addr()), 1)]);
    for e in c.entries() {
        want.insert((false, e.addr), 1);
    }
    want
}

proptest! {
    /// Whatever the operations, and whenever watching starts, the recorded interest changes
    /// replay to exactly our address plus the addresses with an entry; a packet outside
    /// that interest is one `ignores` is true for (so a simulator's index built from the
    /// changes never skips a cache that would act).
    #[test]
    fn interest_changes_replay_to_the_entries(
        ops in proptest::collection::vec(index_op(), 0..80),
        start in 0usize..80,
    ) {
        let mut c = cache(policy(2, 0, QueueOverflow::KeepNewest));
        let mut now = t(0);
        let ip = |h: u8| Ipv4Addr::new(10, 0, 1, h);
        let mac = |h: u8| EthernetAddress([2, 0, 0, 0, 1, h]);
        let mut seen = BTreeMap::new();
        let mut buf = Vec::new();
        prop_assert!(!c.drain_interest(&mut buf), "nothing is recorded before watching");
        for (k, op) in ops.into_iter().enumerate() {
            if k == start {
                c.watch_interest();
            }
            match op {
                IndexOp::Send(h) => c.send(now, ip(h), pkt(h, 40)),
                IndexOp::Reply(h) => c.process(now, &reply(ip(h), mac(h))),
                IndexOp::Snoop(h) => c.process(now, &request(ip(h), mac(h), OTHER)),
                IndexOp::Static(h) => c.add_static(now, ip(h), mac(h)),
                IndexOp::Dynamic(h) => c.insert_dynamic(now, ip(h), mac(h)),
                IndexOp::Expire(h) => {
                    c.expire(now, ip(h));
                }
                IndexOp::Remove(h) => {
                    c.remove(ip(h));
                }
                IndexOp::Advance(ms) => {
                    now += Duration::from_millis(ms);
                    c.handle_timeout(now);
                }
            }
            buf.clear();
            if c.drain_interest(&mut buf) {
                replay_interest(&buf, &mut seen);
                prop_assert_eq!(&seen, &scanned_interest(&c));
                for h in 0..5u8 {
                    let probe = request(ip(h), mac(h), OTHER);
                    if !seen.contains_key(&(false, ip(h))) {
                        prop_assert!(c.ignores(&probe));
                    }
                }
            }
        }
        // A replacement cache (a reboot) takes the watch over: the old interest is removed.
        let mut next = cache(policy(2, 0, QueueOverflow::KeepNewest));
        c.watch_interest();
        buf.clear();
        c.drain_interest(&mut buf);
        replay_interest(&buf, &mut seen);
        c.pass_interest_to(&mut next);
        buf.clear();
        prop_assert!(next.drain_interest(&mut buf));
        replay_interest(&buf, &mut seen);
        prop_assert_eq!(&seen, &scanned_interest(&next));
    }
}

/// Draining the interest changes releases their buffer: a watched, idle cache holds no heap
/// for changes already handed over (a simulator watches every host's cache).
#[test]
fn drained_interest_holds_no_buffer() {
    let mut c = cache(policy(2, 0, QueueOverflow::KeepNewest));
    c.watch_interest();
    for h in 1..20u8 {
        c.insert_dynamic(
            t(0),
            Ipv4Addr::new(10, 0, 1, h),
            EthernetAddress([2, 0, 0, 0, 1, h]),
        );
    }
    let mut out = Vec::new();
    assert!(c.drain_interest(&mut out));
    assert_eq!(out.len(), 20, "our address and 19 entries");
    assert!(
        c.interest.is_empty(),
        "no buffer held (a BoxedDeque frees its box when empty)"
    );
    // Into a buffer that already holds changes, too.
    c.remove(Ipv4Addr::new(10, 0, 1, 1));
    assert!(c.drain_interest(&mut out));
    assert_eq!(out.len(), 21);
    assert!(
        c.interest.is_empty(),
        "no buffer held (a BoxedDeque frees its box when empty)"
    );
}

/// The cache answers for the addresses it was built with (the host reads them back from it).
#[test]
fn our_addresses_are_the_ones_it_was_built_with() {
    let c = cache(policy(1, 0, QueueOverflow::DropOldest));
    assert_eq!(c.mac(), OUR_MAC);
    assert_eq!(c.addr(), OUR_IP);
}

/// `visits` counts the deadline index entries `handle_timeout` took, one each and only due ones:
/// the work counter behind the simulator's "visited per event" (a timer that is not due costs
/// nothing however many addresses wait).
#[test]
fn handle_timeout_visits_only_due_deadlines() {
    let mut c = cache(policy(10, 0, QueueOverflow::DropOldest));
    c.send(t(0), GW, pkt(1, 40));
    c.send(t(500), OTHER, pkt(2, 40));
    drain(&mut c);
    assert_eq!(c.visits(), 0);
    c.handle_timeout(t(999));
    assert_eq!(
        c.visits(),
        0,
        "nothing due before GW's retransmission at 1 s"
    );
    c.handle_timeout(t(1000));
    assert_eq!(c.visits(), 1, "GW's retransmission only");
    assert_eq!(requests(&drain(&mut c)), vec![GW]);
    c.handle_timeout(t(1500));
    assert_eq!(c.visits(), 2, "then OTHER's");
    assert_eq!(requests(&drain(&mut c)), vec![OTHER]);
}

/// `n` neighbours 10.0.1.1 ..= 10.0.1.n learned at t = 0 from their requests for us (the replies
/// and events drained): `n` entries, each with its expiry deadline at 30 s.
fn neighbours(c: &mut Neighbors, n: u8) -> Vec<Ipv4Addr> {
    let ips: Vec<Ipv4Addr> = (1..=n).map(|i| Ipv4Addr::new(10, 0, 1, i)).collect();
    for (i, ip) in ips.iter().enumerate() {
        let mac = EthernetAddress([2, 0, 0, 0, 1, i as u8 + 1]);
        c.process(t(0), &request(*ip, mac, OUR_IP));
    }
    drain(c);
    arp_events(c);
    ips
}

/// A small deadline index (a host's: up to `SMALL_INDEX` deadlines) holds one slot per deadline:
/// refreshing an entry whose old deadline is not at the top (so `prune` cannot pop it) drops
/// the superseded one at once.
#[test]
fn a_small_index_holds_one_slot_per_deadline() {
    let mut c = cache(policy(10, 0, QueueOverflow::DropOldest));
    let ns = neighbours(&mut c, 3);
    assert_eq!(c.timers.len(), 3);
    for k in 1..=4 {
        // A packet not for us refreshes an existing entry's timer (RFC 826's merge).
        c.process(t(k * 1000), &request(ns[2], OTHER_MAC, GW));
        assert_eq!(c.timers.len(), 3, "after refresh {k}");
    }
    assert_eq!(c.poll_at(), Some(t(30_000)));
}

/// A large index leaves superseded deadlines for lazy deletion and is rebuilt from the entries
/// only when it holds more than twice the live deadlines plus two: amortised O(1) per change,
/// storage bounded by the live entries.
#[test]
fn a_large_index_is_rebuilt_just_past_twice_the_live_deadlines() {
    let mut c = cache(policy(10, 0, QueueOverflow::DropOldest));
    let n = SMALL_INDEX + 2;
    let ns = neighbours(&mut c, n as u8);
    assert_eq!(c.timers.len(), n);
    let mut lens = Vec::new();
    for k in 1..=(n as u64 + 3) {
        c.process(t(k * 1000), &request(ns[n - 1], OTHER_MAC, GW));
        lens.push(c.timers.len());
    }
    let mut want: Vec<usize> = (n + 1..=2 * n + 2).collect();
    want.push(n);
    assert_eq!(lens, want);
    // The rebuilt index still finds the earliest deadline.
    assert_eq!(c.poll_at(), Some(t(30_000)));
}
