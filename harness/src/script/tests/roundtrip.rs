//! Property tests: no input panics the parser, and `parse(print(ast)) == ast` for generated trees.

use std::net::Ipv4Addr;
use std::sync::Arc;

use proptest::prelude::*;
use stack::wire::{EthernetAddress, TcpFlags};
use stack::Duration;

use super::super::parser::parse_sysctls;
use crate::script::*;

// ---- strategies ---------------------------------------------------------------------------

fn micros() -> impl Strategy<Value = Duration> {
    prop_oneof![
        Just(Duration::ZERO),
        (0u64..5_000_000).prop_map(Duration::from_micros),
        (0u64..100_000).prop_map(Duration::from_secs),
    ]
}

fn point_time() -> impl Strategy<Value = EventTime> {
    prop_oneof![
        micros().prop_map(EventTime::Absolute),
        micros().prop_map(EventTime::Relative),
    ]
}

fn any_time() -> impl Strategy<Value = EventTime> {
    prop_oneof![
        point_time(),
        (micros(), micros()).prop_map(|(a, b)| EventTime::AbsoluteRange(a.min(b), a.max(b))),
        (micros(), micros()).prop_map(|(a, b)| EventTime::RelativeRange(a.min(b), a.max(b))),
        Just(EventTime::Any),
    ]
}

fn word() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_]{0,7}"
}

fn kebab() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9]{0,5}(-[a-z0-9]{1,5}){0,2}"
}

fn conn_tag() -> impl Strategy<Value = ConnTag> {
    prop_oneof![
        "c[0-9]{1,3}".prop_map(ConnTag::Name),
        any::<u32>().prop_map(ConnTag::Fd),
    ]
}

fn tcp_opt() -> impl Strategy<Value = TcpOpt> {
    prop_oneof![
        Just(TcpOpt::Nop),
        Just(TcpOpt::Eol),
        Just(TcpOpt::SackPermitted),
        any::<u16>().prop_map(TcpOpt::Mss),
        any::<u8>().prop_map(TcpOpt::WindowScale),
        prop::collection::vec(any::<(u32, u32)>(), 1..=4).prop_map(TcpOpt::Sack),
        any::<(u32, u32)>().prop_map(|(val, ecr)| TcpOpt::Timestamp { val, ecr }),
        prop::option::of(hex_blob()).prop_map(TcpOpt::FastOpen),
        prop::option::of(hex_blob()).prop_map(TcpOpt::FastOpenExp),
        hex_blob().prop_map(TcpOpt::Md5),
    ]
}

/// Cookies and digests as scripts write them (all-digit blobs without leading zeros: they
/// lex as integers).
fn hex_blob() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-f][0-9a-f]{0,15}",
        "[1-9][0-9a-f]{0,15}",
        "[A-Z][A-Z0-9_]{0,8}"
    ]
}

fn ip_info() -> impl Strategy<Value = IpInfo> {
    prop_oneof![
        prop::sample::select(vec![Ecn::NoEcn, Ecn::Ect0, Ecn::Ect1, Ecn::Ce]).prop_map(IpInfo::Ecn),
        Just(IpInfo::Ect01),
        any::<u8>().prop_map(IpInfo::Tos),
        (0u32..=0xf_ffff).prop_map(IpInfo::FlowLabel),
        any::<u8>().prop_map(IpInfo::Ttl),
    ]
}

fn seq_spec() -> impl Strategy<Value = SeqSpec> {
    prop_oneof![
        any::<u32>().prop_map(SeqSpec::Bare),
        (any::<u32>(), any::<u16>()).prop_map(|(s, len)| {
            let start = s.min(u32::MAX - u32::from(len));
            SeqSpec::Range {
                start,
                end: start + u32::from(len),
                len,
            }
        }),
    ]
}

fn tcp_line() -> impl Strategy<Value = StatementKind> {
    let packet = (
        any::<bool>(),
        prop::option::of(conn_tag()),
        0u16..=0xff,
        seq_spec(),
        prop::option::of(any::<u32>()),
        prop::option::of(any::<u16>()),
        prop::option::of(any::<u16>()),
        prop::option::of(prop_oneof![
            Just(TcpOptions::Any),
            prop::collection::vec(tcp_opt(), 1..5).prop_map(TcpOptions::List),
        ]),
    );
    let ip = (
        prop::option::of(ip_info()),
        prop::option::of(any::<(u16, u16)>()),
    );
    (packet, ip, any_time()).prop_map(
        |((outbound, conn, bits, seq, ack, win, urg, options), (ip, ports), time)| {
            let direction = if outbound {
                Direction::Outbound
            } else {
                Direction::Inbound
            };
            let time = if outbound {
                time
            } else {
                EventTime::Relative(Duration::ZERO)
            };
            let options = match options {
                Some(TcpOptions::Any) if !outbound => None,
                o => o,
            };
            StatementKind::Tcp(TimedTcp {
                time,
                packet: TcpPacket {
                    direction,
                    conn,
                    flags: TcpFlags(bits),
                    seq,
                    ack,
                    win,
                    urg,
                    options,
                    ip,
                    ports,
                },
            })
        },
    )
}

fn arp_line() -> impl Strategy<Value = StatementKind> {
    let ip = any::<u32>().prop_map(Ipv4Addr::from);
    let op = prop_oneof![
        (ip.clone(), ip.clone()).prop_map(|(target, sender)| ArpOp::Request { target, sender }),
        (ip, any::<[u8; 6]>()).prop_map(|(ip, m)| ArpOp::Reply {
            ip,
            mac: EthernetAddress(m)
        }),
    ];
    (op, point_time()).prop_map(|(op, time)| {
        StatementKind::Arp(TimedArp {
            time,
            arp: ArpLine {
                direction: Direction::Outbound,
                op,
            },
        })
    })
}

fn expr() -> impl Strategy<Value = Expr> {
    let leaf = prop_oneof![
        Just(Expr::Ellipsis),
        any::<i64>().prop_map(Expr::Int),
        any::<u64>().prop_map(Expr::Hex),
        "[a-zA-Z0-9 ./#*_\\\\\"\n\t-]{0,10}".prop_map(Expr::Str),
        "[A-Z][A-Z0-9_]{0,8}".prop_map(Expr::Symbol),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        let operand = inner
            .clone()
            .prop_filter("no nested bit-or", |e| !matches!(e, Expr::BitOr(_)));
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Expr::List),
            prop::collection::vec(
                (prop::option::of(word()), inner.clone())
                    .prop_map(|(name, value)| Field { name, value }),
                0..3
            )
            .prop_map(Expr::Struct),
            (word(), prop::collection::vec(inner, 0..3))
                .prop_map(|(name, args)| Expr::Call { name, args }),
            prop::collection::vec(operand, 2..4).prop_map(Expr::BitOr),
        ]
    })
}

fn syscall_line() -> impl Strategy<Value = StatementKind> {
    let errno_note = prop_oneof![
        Just((None, None)),
        "E[A-Z0-9]{1,8}".prop_map(|e| (Some(e), None)),
        ("E[A-Z0-9]{1,8}", "[A-Za-z][a-z]{0,6}( [a-z]{1,6}){0,3}")
            .prop_map(|(e, n)| (Some(e), Some(n))),
    ];
    (
        point_time(),
        prop::option::of(micros()),
        "[a-z_][a-z0-9_]{0,8}",
        prop::collection::vec(expr(), 0..4),
        expr(),
        errno_note,
    )
        .prop_map(|(time, end_time, name, args, result, (errno, note))| {
            StatementKind::Syscall(TimedSyscall {
                time,
                call: Syscall {
                    end_time,
                    name,
                    args,
                    result,
                    errno,
                    note,
                },
            })
        })
}

fn shell_line(timed: bool) -> impl Strategy<Value = StatementKind> {
    let raw = prop_oneof![
        "[a-z0-9 ./_=-]{0,20}",
        ("[a-z.]{1,12}", "[0-9]{1,3}").prop_map(|(n, v)| format!("sysctl -w {n}={v}")),
        ("[a-z.]{1,12}", "[0-9]{1,3}")
            .prop_map(|(n, v)| format!("sysctl -q {n}={v}; sysctl -w a={v}")),
    ];
    (raw, point_time()).prop_filter_map("malformed sysctl", move |(raw, time)| {
        let sysctls = parse_sysctls(&raw).ok()?;
        Some(StatementKind::Shell(ShellLine {
            time: timed.then_some(time),
            command: ShellCommand { raw, sysctls },
        }))
    })
}

fn header_line() -> impl Strategy<Value = StatementKind> {
    prop_oneof![
        (word(), prop::option::of("[a-z0-9_.=]{0,8}"))
            .prop_map(|(name, value)| StatementKind::Option(CliOption { name, value })),
        word().prop_map(|p| StatementKind::Directive(Directive::Profile(p))),
        word().prop_map(|p| StatementKind::Directive(Directive::Stack(p))),
        prop::collection::vec(word(), 1..4)
            .prop_map(|p| StatementKind::Directive(Directive::Applies(p))),
        (
            "[a-z]{1,5}(\\.[a-z_]{1,5}){0,2}",
            prop_oneof!["[a-z][a-z_]{0,6}", "0|[1-9][0-9]{0,3}"]
        )
            .prop_map(|(key, value)| StatementKind::Directive(Directive::Set { key, value })),
        shell_line(false),
    ]
}

fn body_directive() -> impl Strategy<Value = StatementKind> {
    prop_oneof![
        (
            prop::option::of(conn_tag()),
            prop::sample::select(TcpStateName::ALL.to_vec())
        )
            .prop_map(
                |(conn, state)| StatementKind::Directive(Directive::AssertState { conn, state })
            ),
        (
            // Only known kinds parse (an unknown one is an error at its word).
            prop::sample::select(
                crate::oracle::FindingKind::ALL
                    .map(|k| k.name().to_string())
                    .to_vec()
            ),
            prop::option::of(0u64..5),
            prop::option::of(kebab()),
            prop::option::of(kebab()),
            prop::option::of(prop::sample::select(vec!["2s", "1.5s", "250ms"])),
        )
            .prop_map(|(kind, count, host, cause, duration)| {
                StatementKind::Directive(Directive::ExpectFinding(ExpectFinding {
                    kind,
                    count,
                    host,
                    cause,
                    duration: duration.map(str::to_string),
                }))
            }),
        Just(StatementKind::Directive(Directive::ExpectNoFinding)),
    ]
}

fn body_line() -> impl Strategy<Value = StatementKind> {
    prop_oneof![
        3 => tcp_line(),
        1 => arp_line(),
        3 => syscall_line(),
        1 => shell_line(true),
        1 => body_directive(),
        1 => (prop::option::of(point_time()), "[a-z =.,\n]{0,20}")
            .prop_map(|(time, code)| StatementKind::Code(CodeBlock { time, code })),
    ]
}

fn stmt(kind: StatementKind) -> Statement {
    Statement {
        loc: Location {
            file: Arc::from("gen.pkt"),
            line: 0,
            col: 0,
        },
        kind,
    }
}

fn body_item() -> impl Strategy<Value = Statement> {
    prop_oneof![
        6 => body_line().prop_map(stmt),
        1 => (
            prop::collection::vec(word(), 1..3),
            prop::collection::vec(body_line().prop_map(stmt), 0..3),
            prop::collection::vec(body_line().prop_map(stmt), 0..3),
        )
            .prop_map(|(profiles, then, otherwise)| stmt(StatementKind::IfProfile(IfProfile {
                profiles,
                then,
                otherwise
            }))),
        1 => (
            "[A-Za-z_][A-Za-z0-9_]{0,8}",
            any::<bool>(),
            prop::collection::vec(body_line().prop_map(stmt), 0..3),
            prop::collection::vec(body_line().prop_map(stmt), 0..3),
        )
            .prop_map(|(name, negated, then, otherwise)| stmt(StatementKind::IfDef(IfDef {
                name,
                negated,
                then,
                otherwise
            }))),
    ]
}

fn script() -> impl Strategy<Value = Script> {
    (
        prop::collection::vec(header_line().prop_map(stmt), 0..4),
        prop::collection::vec(body_item(), 0..8),
    )
        .prop_map(|(mut header, body)| {
            header.extend(body);
            Script {
                file: Arc::from("gen.pkt"),
                statements: header,
            }
        })
}

/// Fragments that make token soup likely to reach deep into the parser.
const FRAGMENTS: &[&str] = &[
    "0",
    "+0",
    "+.1",
    "0.1~0.2",
    "+0~+0.2",
    "*",
    "-1",
    "<",
    ">",
    "S",
    "S.",
    ".",
    "P.",
    "F.",
    "R",
    "-",
    "0:0(0)",
    "1:11(10)",
    "ack",
    "1",
    "win",
    "257",
    "<mss 1460,nop>",
    "<...>",
    "<",
    "mss",
    ",",
    "sack",
    "1:2",
    "TS",
    "val",
    "ecr",
    "arp",
    "who-has",
    "tell",
    "reply",
    "is-at",
    "192.0.2.1",
    "02:00:00:00:00:01",
    "socket(",
    "close(",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    "=",
    "...",
    "l_onoff=1",
    "SOL_SOCKET",
    "|",
    "O_NONBLOCK",
    "htons(",
    "\"s\"",
    "ECONNRESET",
    "(Connection reset by peer)",
    "%if profile=linux",
    "%else",
    "%endif",
    "%assert state",
    "TIME-WAIT",
    "fd=4",
    "%expect",
    "finding",
    "no-finding",
    "%profile",
    "%set a.b=1",
    "--opt=1",
    "`sysctl -w a=1`",
    "`",
    "\"",
    "//",
    "/*",
    "*/",
    "\n",
    "\n",
    "\n",
    " ",
    "[c2]",
    "#",
    "%{",
    "0x1f",
    "~",
    "\u{e9}",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_strings_never_panic(s in any::<String>()) {
        let _ = parse("any.pkt", &s);
    }

    #[test]
    fn arbitrary_bytes_never_panic(b in prop::collection::vec(any::<u8>(), 0..200)) {
        fuzz_parse(&b);
    }

    #[test]
    fn token_soup_never_panics_and_round_trips(
        parts in prop::collection::vec(prop::sample::select(FRAGMENTS), 0..30),
        seps in prop::collection::vec(prop::sample::select(&[" ", "", "\n"][..]), 30),
    ) {
        let mut src = String::new();
        for (p, s) in parts.iter().zip(seps.iter()) {
            src.push_str(p);
            src.push_str(s);
        }
        // `fuzz_parse` also asserts the print/parse round trip on every script that parses.
        fuzz_parse(src.as_bytes());
    }

    #[test]
    fn generated_trees_round_trip(ast in script()) {
        let printed = ast.to_string();
        let parsed = match parse("gen.pkt", &printed) {
            Ok(p) => p,
            Err(e) => return Err(TestCaseError::fail(format!("{e}\n{printed}"))),
        };
        prop_assert_eq!(parsed.without_locations(), ast.without_locations(), "{}", printed);
    }
}

#[test]
fn every_wellformed_script_survives_fuzz_parse() {
    for src in super::wellformed::ALL {
        fuzz_parse(src.as_bytes());
    }
}
