//! The live kernel behind the adapter: needs root and /dev/net/tun (skips, saying why,
//! otherwise). Everything happens inside a namespace the test creates.

use dut::{Dut, StackConfig};
use linux_dut::{unavailable_reason, LinuxDut};
use stack::policy::Profile;
use stack::wire::{self, ArpOperation, ArpRepr, ChecksumMode, EtherType, EthernetAddress, Frame};
use stack::{Duration, Instant};
use std::net::Ipv4Addr;

const ADDR: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const PEER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
const MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 1]);
const PEER_MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 2]);

fn config() -> StackConfig {
    StackConfig {
        mac: MAC,
        addr: ADDR,
        prefix_len: 24,
        gateway: None,
        profile: Profile::named("linux").unwrap().into(),
        seed: 1,
        static_arp: Vec::new(),
    }
}

/// Live tests run one at a time (the namespace-thread count is process-wide).
static LIVE: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn live() -> bool {
    if let Some(why) = unavailable_reason() {
        dut::skip::skipped(
            "live Linux test",
            &format!("the live Linux kernel is unavailable here: {why}"),
        );
        return false;
    }
    true
}

/// Network namespaces on the machine (inodes under /proc/*/ns/net of live processes and
/// threads is too racy; count ours by the thread name instead).
fn our_namespace_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|t| {
                    std::fs::read_to_string(t.path().join("comm"))
                        .is_ok_and(|c| c.trim() == "linux-netns")
                })
                .count()
        })
        .unwrap_or(0)
}

fn frames_until(d: &mut LinuxDut, from: Instant, want: impl Fn(&Frame) -> bool) -> Option<Frame> {
    let mut now = from;
    for _ in 0..500 {
        now += Duration::from_millis(1);
        d.handle_timeout(now);
        while let Some(bytes) = d.poll_transmit(now) {
            if let Ok(f) = wire::parse_frame(&bytes, ChecksumMode::Verify) {
                if want(&f) {
                    return Some(f);
                }
            }
        }
    }
    None
}

/// The peer's broadcast ARP request for the kernel's address (RFC 826).
fn who_has_addr() -> Vec<u8> {
    wire::build_arp_frame(
        &wire::EthernetRepr {
            src_addr: PEER_MAC,
            dst_addr: EthernetAddress::BROADCAST,
            ethertype: EtherType::Arp,
        },
        &ArpRepr {
            operation: ArpOperation::Request,
            source_hardware_addr: PEER_MAC,
            source_protocol_addr: PEER,
            target_hardware_addr: EthernetAddress([0; 6]),
            target_protocol_addr: ADDR,
        },
    )
}

#[test]
fn kernel_answers_arp_on_the_tap_with_its_mac() {
    let _one = LIVE.lock().unwrap_or_else(|e| e.into_inner());
    if !live() {
        return;
    }
    let mut d = LinuxDut::new(&config()).expect("build");
    assert_eq!(d.mac(), MAC, "the kernel took the configured MAC");
    d.handle_frame(Instant::ZERO, &who_has_addr());
    let reply = frames_until(&mut d, Instant::ZERO, |f| matches!(f, Frame::Arp { .. }))
        .expect("an ARP reply");
    let Frame::Arp { arp, .. } = reply else {
        unreachable!()
    };
    assert_eq!(arp.operation, ArpOperation::Reply);
    assert_eq!(arp.source_hardware_addr, MAC);
    assert_eq!(arp.target_protocol_addr, PEER);
}

#[test]
fn listener_state_comes_from_the_namespace_and_the_namespace_goes_with_the_stack() {
    let _one = LIVE.lock().unwrap_or_else(|e| e.into_inner());
    if !live() {
        return;
    }
    let before = our_namespace_threads();
    {
        let mut d = LinuxDut::new(&config()).expect("build");
        let l = d.listen(Instant::ZERO, 8080, 1).expect("listen");
        assert_eq!(d.state(l), Some(stack::tcp::State::Listen));
        assert!(d.connections().is_empty());
        assert_eq!(our_namespace_threads(), before + 1);
    }
    assert_eq!(
        our_namespace_threads(),
        before,
        "the namespace thread ended"
    );
}

#[test]
fn refused_knob_is_named() {
    let mut c = config();
    std::sync::Arc::make_mut(&mut c.profile)
        .set("tcp.keepalive.probe_garbage_byte", "on")
        .unwrap();
    let e = LinuxDut::new(&c).err().expect("refused");
    assert!(
        e.to_string().contains("tcp.keepalive.probe_garbage_byte"),
        "{e}"
    );
}

#[test]
fn one_syn_gets_one_syn_ack_within_half_a_second() {
    let _one = LIVE.lock().unwrap_or_else(|e| e.into_inner());
    if !live() {
        return;
    }
    let mut c = config();
    c.static_arp.push((PEER, PEER_MAC));
    let mut d = LinuxDut::new(&c).expect("build");
    let _l = d.listen(Instant::ZERO, 8080, 1).expect("listen");
    let syn = wire::build_ethernet(
        &wire::EthernetRepr {
            src_addr: PEER_MAC,
            dst_addr: MAC,
            ethertype: EtherType::Ipv4,
        },
        &wire::build_ipv4_tcp(
            &wire::Ipv4Repr {
                ident: 1,
                ..wire::Ipv4Repr::tcp(PEER, ADDR)
            },
            &wire::TcpRepr {
                src_port: 40000,
                dst_port: 8080,
                seq: wire::SeqNumber(0),
                flags: wire::TcpFlags::SYN,
                window: 32792,
                options: vec![wire::TcpOption::MaxSegmentSize(1000)],
                ..wire::TcpRepr::default()
            },
        ),
    );
    d.handle_frame(Instant::ZERO, &syn);
    let mut now = Instant::ZERO;
    let mut synacks = Vec::new();
    for _ in 0..500 {
        now += Duration::from_millis(1);
        d.handle_timeout(now);
        while let Some(b) = d.poll_transmit(now) {
            if let Ok(Frame::Tcp { tcp, .. }) = wire::parse_frame(&b, ChecksumMode::Verify) {
                if tcp.flags.syn() && tcp.flags.ack() {
                    synacks.push(now);
                }
            }
        }
    }
    assert_eq!(synacks.len(), 1, "SYN-ACKs at {synacks:?}");
}

#[test]
fn a_late_harness_is_not_blamed_on_the_kernel() {
    let _one = LIVE.lock().unwrap_or_else(|e| e.into_inner());
    if !live() {
        return;
    }
    let mut d = LinuxDut::new(&config()).expect("build");
    d.handle_frame(Instant::ZERO, &who_has_addr());
    while d.poll_transmit(Instant::ZERO).is_some() {}
    // The harness loses the CPU for 200 ms, then gives the kernel its next input at 10 ms:
    // the kernel answers at once, so the answer is at 10 ms on the virtual clock, not 200.
    std::thread::sleep(std::time::Duration::from_millis(200));
    let at = Instant::ZERO + Duration::from_millis(10);
    d.handle_frame(at, &who_has_addr());
    let reply = d
        .poll_transmit(at)
        .expect("the reply, at the time of the request");
    assert!(matches!(
        wire::parse_frame(&reply, ChecksumMode::Verify),
        Ok(Frame::Arp { .. })
    ));
}
