//! Seed inputs for every target, built from the project's own types so they stay valid as the
//! formats evolve. `corpora/fuzz/<target>/` holds them as files named by the SHA-256 of their
//! content; `harness/tests/fuzz_corpora.rs` checks the two agree and (with
//! `FUZZ_WRITE_SEEDS=1`) rewrites the files.

use super::tcp::{run_case, StartState, TcpCase};
use crate::pcap::write_pcap_bytes;
use arbitrary::{Arbitrary, Unstructured};
use stack::rand::Rng;
use stack::time::Instant;
use stack::wire::{
    build_arp_frame, build_ethernet, build_ipv4, build_ipv4_tcp, ArpOperation, ArpRepr, EtherType,
    EthernetAddress, EthernetRepr, IpProtocol, Ipv4Addr, Ipv4Repr, SeqNumber, TcpFlags, TcpOption,
    TcpRepr,
};

const A: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const B: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
const MAC_A: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 1]);
const MAC_B: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 2]);

/// The seed inputs of `target` (empty for an unknown name).
pub fn seeds(target: &str) -> Vec<Vec<u8>> {
    match target {
        "wire_parse" => frames(),
        "pcap_read" => pcaps(),
        "script_parse" => SCRIPTS.iter().map(|s| s.as_bytes().to_vec()).collect(),
        "scenario_parse" => SCENARIOS.iter().map(|s| s.as_bytes().to_vec()).collect(),
        "tcp_segments" => tcp_cases(),
        // Longer inputs: a differential case decodes to a handful of operations per 20 bytes.
        "diff_smoltcp" => {
            let mut rng = Rng::new(0x4449_4646);
            (0..4)
                .map(|n| random_bytes(&mut rng, 64 + 64 * n))
                .collect()
        }
        "hunt_rst_loss" | "hunt_time_wait" | "hunt_half_open" => {
            let mut rng = Rng::new(0x4855_4e54);
            (0..3)
                .map(|n| random_bytes(&mut rng, 16 + 16 * n))
                .collect()
        }
        _ => Vec::new(),
    }
}

/// Scripts in the packetdrill-compatible language (RFC 9293 §3.5 and §3.6 exchanges).
pub const SCRIPTS: &[&str] = &[
    "// passive open\n\
     0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n\
     +0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0\n\
     +0 bind(3, ..., ...) = 0\n\
     +0 listen(3, 1) = 0\n\
     +0 < S 0:0(0) win 32792 <mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7>\n\
     +0 > S. 0:0(0) ack 1 <...>\n\
     +.1 < . 1:1(0) ack 1 win 257\n\
     +0 accept(3, ..., ...) = 4\n",
    "%profile rfc9293\n\
     0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n\
     +0 connect(3, ..., ...) = 0\n\
     +0 > S 0:0(0) <mss 1460,sackOK,nop,nop,nop,wscale 7>\n\
     +.05 < S. 0:0(0) ack 1 win 5792 <mss 1460>\n\
     +0 > . 1:1(0) ack 1\n\
     +0 write(3, ..., 100) = 100\n\
     +0 > P. 1:101(100) ack 1\n",
    "+0 setsockopt(4, SOL_SOCKET, SO_LINGER, {l_onoff=1, l_linger=0}, 8) = 0\n\
     +0 close(4) = 0\n\
     +0 > R. 1:1(0) ack 1\n",
    "+0 close(4) = 0\n\
     +0 > F. 1:1(0) ack 1\n\
     +.1 < F. 1:1(0) ack 2 win 257\n\
     +0 > . 2:2(0) ack 2\n\
     %assert state fd=4 TIME-WAIT\n\
     +1 < R 2:2(0) win 0\n",
    "0 > arp who-has 192.0.2.1 tell 192.0.2.2\n\
     +.01 < arp reply 192.0.2.1 is-at 02:00:00:00:00:01\n",
];

/// Scenarios in the `conformance/scenarios/*.toml` format.
pub const SCENARIOS: &[&str] = &[
    "name = \"seed-old-duplicate-in-time-wait\"\n\
     description = \"an old duplicate reaches a connection in TIME-WAIT\"\n\
     seed = 3\n\
     duration = \"120s\"\n\
     \n\
     [[segment]]\n\
     name = \"lan\"\n\
     \n\
     [[host]]\n\
     name = \"server\"\n\
     segment = \"lan\"\n\
     addr = \"192.0.2.10/24\"\n\
     profile = \"rfc793\"\n\
     \n\
     [[host.app]]\n\
     kind = \"server\"\n\
     port = 80\n\
     \n\
     [[host]]\n\
     name = \"client\"\n\
     segment = \"lan\"\n\
     addr = \"192.0.2.20/24\"\n\
     profile = \"linux\"\n\
     \n\
     [[host.app]]\n\
     kind = \"client\"\n\
     server = \"192.0.2.10:80\"\n\
     requests = [\"1s\", \"2s\"]\n\
     idle_timeout = \"5s\"\n\
     \n\
     [[event]]\n\
     at = \"20s\"\n\
     action = \"replay-old-segment\"\n\
     host = \"client\"\n\
     from = \"server\"\n\
     \n\
     [outcome]\n\
     requests_ok = 2\n",
    "name = \"seed-minimal\"\nduration = \"1s\"\n",
];

fn eth(ethertype: EtherType) -> EthernetRepr {
    EthernetRepr {
        src_addr: MAC_B,
        dst_addr: MAC_A,
        ethertype,
    }
}

fn ip(protocol: IpProtocol) -> Ipv4Repr {
    Ipv4Repr {
        protocol,
        ident: 1,
        ..Ipv4Repr::tcp(B, A)
    }
}

fn tcp(flags: TcpFlags, seq: u32, ack: u32, options: Vec<TcpOption>, payload: &[u8]) -> TcpRepr {
    TcpRepr {
        src_port: 40000,
        dst_port: 80,
        seq: SeqNumber(seq),
        ack: SeqNumber(ack),
        flags,
        window: 64240,
        urgent: 0,
        options,
        payload: payload.to_vec(),
    }
}

fn tcp_frame(t: &TcpRepr) -> Vec<u8> {
    build_ethernet(
        &eth(EtherType::Ipv4),
        &build_ipv4_tcp(&ip(IpProtocol::Tcp), t),
    )
}

fn arp(operation: ArpOperation) -> Vec<u8> {
    build_arp_frame(
        &eth(EtherType::Arp),
        &ArpRepr {
            operation,
            source_hardware_addr: MAC_B,
            source_protocol_addr: B,
            target_hardware_addr: MAC_A,
            target_protocol_addr: A,
        },
    )
}

/// One frame of each kind the stack understands, plus a padded ARP frame (Ethernet minimum
/// 60 bytes) and options with an explicit End-of-Option-List.
fn frames() -> Vec<Vec<u8>> {
    let ack = TcpFlags(TcpFlags::ACK.0);
    let syn_opts = vec![
        TcpOption::MaxSegmentSize(1460),
        TcpOption::SackPermitted,
        TcpOption::Timestamps { tsval: 1, tsecr: 0 },
        TcpOption::NoOp,
        TcpOption::WindowScale(7),
    ];
    let mut padded = arp(ArpOperation::Request);
    padded.resize(60, 0);
    vec![
        arp(ArpOperation::Request),
        arp(ArpOperation::Reply),
        padded,
        tcp_frame(&tcp(TcpFlags::SYN, 1000, 0, syn_opts.clone(), b"")),
        tcp_frame(&tcp(
            TcpFlags(TcpFlags::SYN.0 | ack.0),
            5000,
            1001,
            syn_opts,
            b"",
        )),
        tcp_frame(&tcp(
            TcpFlags(TcpFlags::PSH.0 | ack.0),
            1001,
            5001,
            vec![],
            b"hello",
        )),
        tcp_frame(&tcp(
            ack,
            1006,
            5001,
            vec![
                TcpOption::SackRange(vec![(5001, 5101)]),
                TcpOption::EndOfList,
            ],
            b"",
        )),
        tcp_frame(&tcp(
            TcpFlags(TcpFlags::FIN.0 | ack.0),
            1006,
            5001,
            vec![],
            b"",
        )),
        tcp_frame(&tcp(TcpFlags::RST, 1007, 0, vec![], b"")),
        build_ethernet(
            &eth(EtherType::Ipv4),
            &build_ipv4(&ip(IpProtocol::Udp), &[0, 53, 0, 53, 0, 8, 0, 0]),
        ),
    ]
}

/// A handshake capture, an ARP exchange, and an empty capture (header only).
fn pcaps() -> Vec<Vec<u8>> {
    let f = frames();
    let at = |ms: u64| Instant::from_millis(ms);
    let sets: Vec<Vec<(Instant, Vec<u8>)>> = vec![
        vec![],
        vec![(at(0), f[0].clone()), (at(1), f[1].clone())],
        vec![
            (at(0), f[3].clone()),
            (at(10), f[4].clone()),
            (at(20), f[5].clone()),
            (at(1500), f[7].clone()),
        ],
    ];
    sets.iter()
        .filter_map(|frames| write_pcap_bytes(frames).ok())
        .collect()
}

/// One input per start state whose start really reaches that state under its profile: found
/// by a deterministic search over seeded random bytes.
fn tcp_cases() -> Vec<Vec<u8>> {
    let mut rng = Rng::new(0x5443_5031);
    let mut out = Vec::new();
    for want in StartState::ALL {
        for _ in 0..20_000 {
            let bytes = random_bytes(&mut rng, 96);
            let Ok(case) = TcpCase::arbitrary_take_rest(Unstructured::new(&bytes)) else {
                continue;
            };
            if case.start.state != want || case.ops.len() < 4 {
                continue;
            }
            if matches!(run_case(&case), Ok(o) if o.reached == Some(want.state())) {
                out.push(bytes);
                break;
            }
        }
    }
    out
}

/// `len` bytes from `rng`.
pub fn random_bytes(rng: &mut Rng, len: usize) -> Vec<u8> {
    (0..len).map(|_| rng.next_u32() as u8).collect()
}
