//! Well-formed scripts in the style of packetdrill's public tests (written for this project),
//! each parsed and spot-checked, and each round-tripped through the printer.

use std::net::Ipv4Addr;

use rstest::rstest;
use stack::wire::{EthernetAddress, TcpFlags};
use stack::Duration;

use crate::script::*;

pub(super) const PASSIVE_OPEN: &str = "\
// RFC 9293 §3.5: passive open, three-way handshake.
0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
+0 bind(3, ..., ...) = 0
+0 listen(3, 1) = 0
+0 < S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop,nop,wscale 7>
+0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 8>
+.1 < . 1:1(0) ack 1 win 257
+0 accept(3, ..., ...) = 4
";

pub(super) const ACTIVE_OPEN: &str = "\
0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 connect(3, {sa_family=AF_INET, sin_port=htons(8080), sin_addr=inet_addr(\"192.0.2.1\")}, 16) = 0
+0 > S 0:0(0) <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 8>
+.05 < S. 0:0(0) ack 1 win 5792 <mss 1460,nop,wscale 2,nop,nop,sackOK>
+0 > . 1:1(0) ack 1
";

pub(super) const BLOCKING_CONNECT: &str = "\
0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+.1...0.200 connect(3, ..., ...) = 0
+0 > S 0:0(0) <...>
+.1 < S. 0:0(0) ack 1 win 5792
+0 > . 1:1(0) ack 1
";

pub(super) const DATA_WRITE: &str = "\
+0 write(4, ..., 1000) = 1000
+0 > P. 1:1001(1000) ack 1
+.1 < . 1:1(0) ack 1001 win 257
";

pub(super) const DATA_READ: &str = "\
+0 < P. 1:201(200) ack 1 win 257
+0 > . 1:1(0) ack 201
+0 read(4, ..., 1000) = 200
";

pub(super) const CLOSE_ACTIVE: &str = "\
+0 close(4) = 0
+0 > F. 1:1(0) ack 1
+.1 < F. 1:1(0) ack 2 win 257
+0 > . 2:2(0) ack 2
%assert state fd=4 TIME-WAIT
";

pub(super) const CLOSE_PASSIVE: &str = "\
+.01 < F. 1:1(0) ack 1 win 257
+0 > . 1:1(0) ack 2
+0 read(4, ..., 1000) = 0
+.01 close(4) = 0
+0 > F. 1:1(0) ack 2
+.01 < . 2:2(0) ack 2 win 257
";

pub(super) const RST_AFTER_CLOSE: &str = "\
+.01 < . 2:2(0) ack 2 win 257
+0 > R 2:2(0)
";

pub(super) const RST_RECEIVED: &str = "\
+0 < R. 1:1(0) ack 1 win 0
+0 write(4, ..., 10) = -1 ECONNRESET (Connection reset by peer)
";

pub(super) const LINGER_ZERO: &str = "\
// SO_LINGER with a zero timeout aborts with RST (seed D).
+0 setsockopt(4, SOL_SOCKET, SO_LINGER, {l_onoff=1, l_linger=0}, 8) = 0
+0 close(4) = 0
+0 > R. 1:1(0) ack 1
";

pub(super) const KEEPALIVE: &str = "\
+0 setsockopt(4, SOL_SOCKET, SO_KEEPALIVE, [1], 4) = 0
+0 setsockopt(4, IPPROTO_TCP, TCP_KEEPIDLE, [300], 4) = 0
+0 setsockopt(4, IPPROTO_TCP, TCP_KEEPINTVL, [75], 4) = 0
+0 setsockopt(4, IPPROTO_TCP, TCP_KEEPCNT, [9], 4) = 0
+300 > . 0:0(0) ack 1
+75 > . 0:0(0) ack 1
";

pub(super) const NONBLOCKING: &str = "\
0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 fcntl(3, F_GETFL) = 0x2 (flags O_RDWR)
+0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
+0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
+0 > S 0:0(0) <...>
";

pub(super) const GETSOCKOPT_ERROR: &str = "\
+0 getsockopt(3, SOL_SOCKET, SO_ERROR, [ECONNREFUSED], [4]) = 0
+0 read(3, ..., 10) = -1 EAGAIN (Resource temporarily unavailable)
";

pub(super) const SHUTDOWN: &str = "\
+0 shutdown(4, SHUT_WR) = 0
+0 > F. 1:1(0) ack 1
";

pub(super) const OPTIONS_AND_SHELL: &str = "\
--ip_version=ipv4
--tolerance_usecs=10000
`sysctl -w net.ipv4.tcp_rfc1337=1`
0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 `sysctl -q net.ipv4.tcp_keepalive_time=300`
";

pub(super) const TIME_RANGES: &str = "\
0.100 < S 0:0(0) win 1000
0.1~0.2 > S. 0:0(0) ack 1
+0~+0.2 > . 1:1(0) ack 1
* > . 1:1(0) ack 1
";

pub(super) const SACK_TS: &str = "\
+.1 < . 1:1(0) ack 1 win 257 <sack 1461:2921 4381:5841,nop,nop>
+0 < . 1:1(0) ack 1 win 257 <nop,nop,TS val 200 ecr 100>
+0 > . 1:1461(1460) ack 1 <eol>
";

pub(super) const ECN_FLAGS: &str = "\
0 < SEW 0:0(0) win 32792
+0 > SE. 0:0(0) ack 1
+0 < - 1:1(0) win 10
+0 < FP. 1:11(10) ack 1 urg 0
";

pub(super) const TIME_WAIT_ASSASSINATION: &str = "\
// RFC 1337 §2: an RST in TIME-WAIT.
%applies rfc793 rfc9293 linux
%profile rfc793
%set tcp.time_wait_rst=accept
%stack reference
+0 close(4) = 0
+0 > F. 1:1(0) ack 1
+.1 < F. 1:1(0) ack 2 win 257
+0 > . 2:2(0) ack 2
%assert state TIME-WAIT
+1 < R 2:2(0) win 0
%if profile=rfc793
%assert state fd=4 CLOSED
%expect finding time-wait-assassination
%else
%assert state fd=4 TIME_WAIT
%expect no-finding
%endif
";

pub(super) const ARP_EXCHANGE: &str = "\
0 > arp who-has 192.0.2.1 tell 192.0.2.2
+.01 < arp reply 192.0.2.1 is-at 02:00:00:00:00:01
+0 > S 0:0(0) <...>
";

pub(super) const TWO_CONNECTIONS: &str = "\
0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 listen(3, 2) = 0
+0 <[c1] S 0:0(0) win 1000
+0 >[c1] S. 0:0(0) ack 1 <...>
+0 <[c2] S 0:0(0) win 1000
+0 >[c2] S. 0:0(0) ack 1 <...>
+0 <[fd=4] . 1:1(0) ack 1 win 1000
%assert state [c2] SYN-RECEIVED
";

pub(super) const COMMENTS: &str = "\
/* A block comment
   over two lines. */
0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3 // trailing comment
+0 write(3, \"hello\\n\", 6) = 6 /* inline */
";

pub(super) const MULTILINE_ARGS: &str = "\
+0 setsockopt(4, SOL_SOCKET, SO_LINGER,
              {l_onoff=1,
               l_linger=5}, 8) = 0
+0 close(4) = 0
";

pub(super) const BARE_SEQ_AND_UNKNOWN_CALL: &str = "\
+0 < R 1001 win 0
+0 poll([{fd=4, events=POLLIN, revents=0}], 1, 0) = 0
+0 sendto(4, ..., 10, 0, ..., ...) = 10
";

pub(super) const ABSOLUTE_TIMES: &str = "\
0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
1.5 close(3) = 0
2.000001 `echo done`
";

pub(super) const PACKETDRILL_DIALECT: &str = "\
// packetdrill forms beyond the basics: Fast Open and MD5 options, IP info, ports,
// #ifdef blocks (FreeBSD tcp-testsuite), code blocks, msghdr-style struct fields.
--tcp_ts_tick_usecs=1000
--strict_segments
0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 < S 0:10(10) win 32792 <mss 1460,sackOK,nop,nop,FO 3021b9d889017eeb,nop,nop>
+0 > S. 0:0(0) ack 11 <mss 1460,nop,nop,sackOK,nop,wscale 8,FO,nop,nop>
+0 < S 0:0(0) win 32792 <mss 1012,FOEXP TFO_COOKIE,sackOK,FOEXP>
+.01 < . 1:1(0) ack 1 win 514 <md5 000102030405060708090a0b0c0d0e0f,nop,nop>
+.1 < [ect1] . 1:1(0) ack 1 win 320
+0 > (tos 0x2) P. 1:1001(1000) ack 1
+0 > [ttl 64] . 1:1(0) ack 1
+0 < 40000>8080 . 1:1(0) ack 1
#ifdef FreeBSD
+0 `tcpdrop -s TIME_WAIT`
#else
+0 close(4) = 0
#endif
#ifndef STANDARD
+0 close(3) = 0
#endif
+.005 %{ assert tcpi_snd_cwnd == 10, tcpi_snd_cwnd }%
%{
import os
}%
+0.1 recvmsg(4, {msg_name(...)=..., msg_iov(1)=[{...,0}], msg_flags=MSG_ERRQUEUE}, 0) = -1 EAGAIN
+0 setsockopt(3, SOL_SOCKET, SO_LINGER, {onoff=1, linger=0}, 8) = 0
";

/// Every script above, for the round-trip test.
pub(super) const ALL: [&str; 26] = [
    PACKETDRILL_DIALECT,
    PASSIVE_OPEN,
    ACTIVE_OPEN,
    BLOCKING_CONNECT,
    DATA_WRITE,
    DATA_READ,
    CLOSE_ACTIVE,
    CLOSE_PASSIVE,
    RST_AFTER_CLOSE,
    RST_RECEIVED,
    LINGER_ZERO,
    KEEPALIVE,
    NONBLOCKING,
    GETSOCKOPT_ERROR,
    SHUTDOWN,
    OPTIONS_AND_SHELL,
    TIME_RANGES,
    SACK_TS,
    ECN_FLAGS,
    TIME_WAIT_ASSASSINATION,
    ARP_EXCHANGE,
    TWO_CONNECTIONS,
    COMMENTS,
    MULTILINE_ARGS,
    BARE_SEQ_AND_UNKNOWN_CALL,
    ABSOLUTE_TIMES,
];

fn parse_ok(src: &str) -> Script {
    match parse("t.pkt", src) {
        Ok(s) => s,
        Err(e) => panic!("{e}\n{src}"),
    }
}

fn tcp(s: &Statement) -> &TimedTcp {
    match &s.kind {
        StatementKind::Tcp(t) => t,
        other => panic!("not a TCP line: {other:?}"),
    }
}

fn call(s: &Statement) -> &TimedSyscall {
    match &s.kind {
        StatementKind::Syscall(c) => c,
        other => panic!("not a system call: {other:?}"),
    }
}

fn sym(s: &str) -> Expr {
    Expr::Symbol(s.to_string())
}

fn us(n: u64) -> Duration {
    Duration::from_micros(n)
}

#[rstest]
fn every_script_round_trips(
    #[values(
        0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24,
        25
    )]
    i: usize,
) {
    let s = parse_ok(ALL[i]);
    let printed = s.to_string();
    let again = parse_ok(&printed);
    assert_eq!(
        again.without_locations(),
        s.without_locations(),
        "{printed}"
    );
    // Printing is a fixed point after one round.
    assert_eq!(again.to_string(), printed);
}

#[test]
fn passive_open() {
    let s = parse_ok(PASSIVE_OPEN);
    assert_eq!(s.statements.len(), 8);
    let first = call(&s.statements[0]);
    assert_eq!(first.time, EventTime::Absolute(Duration::ZERO));
    assert_eq!(first.call.known(), Some(KnownCall::Socket));
    assert_eq!(
        first.call.args,
        vec![Expr::Ellipsis, sym("SOCK_STREAM"), sym("IPPROTO_TCP")]
    );
    assert_eq!(first.call.result, Expr::Int(3));
    assert_eq!(
        call(&s.statements[1]).call.args[3],
        Expr::List(vec![Expr::Int(1)])
    );
    let syn = tcp(&s.statements[4]);
    assert_eq!(syn.time, EventTime::Relative(Duration::ZERO));
    assert_eq!(syn.packet.direction, Direction::Inbound);
    assert_eq!(syn.packet.flags, TcpFlags::SYN);
    assert_eq!(
        syn.packet.seq,
        SeqSpec::Range {
            start: 0,
            end: 0,
            len: 0
        }
    );
    assert_eq!(syn.packet.win, Some(32792));
    assert_eq!(
        syn.packet.options,
        Some(TcpOptions::List(vec![
            TcpOpt::Mss(1000),
            TcpOpt::SackPermitted,
            TcpOpt::Nop,
            TcpOpt::Nop,
            TcpOpt::Nop,
            TcpOpt::WindowScale(7)
        ]))
    );
    let synack = tcp(&s.statements[5]);
    assert_eq!(synack.packet.flags, TcpFlags::SYN | TcpFlags::ACK);
    assert_eq!(synack.packet.ack, Some(1));
    assert_eq!(synack.packet.direction, Direction::Outbound);
    let ack = tcp(&s.statements[6]);
    assert_eq!(ack.time, EventTime::Relative(us(100_000)));
    assert_eq!(ack.packet.flags, TcpFlags::ACK);
    assert_eq!((s.statements[6].loc.line, s.statements[6].loc.col), (8, 1));
    assert_eq!(&*s.statements[6].loc.file, "t.pkt");
}

#[test]
fn active_open_sockaddr() {
    let s = parse_ok(ACTIVE_OPEN);
    let c = call(&s.statements[1]);
    let Expr::Struct(fields) = &c.call.args[1] else {
        panic!("not a struct: {:?}", c.call.args[1]);
    };
    assert_eq!(fields.len(), 3);
    assert_eq!(fields[0].name.as_deref(), Some("sa_family"));
    assert_eq!(fields[0].value, sym("AF_INET"));
    assert_eq!(
        fields[1].value,
        Expr::Call {
            name: "htons".into(),
            args: vec![Expr::Int(8080)]
        }
    );
    assert_eq!(
        fields[2].value,
        Expr::Call {
            name: "inet_addr".into(),
            args: vec![Expr::Str("192.0.2.1".into())]
        }
    );
    let syn = tcp(&s.statements[2]);
    let Some(TcpOptions::List(opts)) = &syn.packet.options else {
        panic!("no options");
    };
    assert_eq!(opts[2], TcpOpt::Timestamp { val: 100, ecr: 0 });
    assert_eq!(tcp(&s.statements[3]).time, EventTime::Relative(us(50_000)));
}

#[test]
fn blocking_connect_end_time() {
    let s = parse_ok(BLOCKING_CONNECT);
    let c = call(&s.statements[1]);
    assert_eq!(c.time, EventTime::Relative(us(100_000)));
    assert_eq!(c.call.end_time, Some(us(200_000)));
    assert_eq!(tcp(&s.statements[2]).packet.options, Some(TcpOptions::Any));
}

#[test]
fn data_and_close() {
    let s = parse_ok(DATA_WRITE);
    assert_eq!(
        tcp(&s.statements[1]).packet.seq,
        SeqSpec::Range {
            start: 1,
            end: 1001,
            len: 1000
        }
    );
    assert_eq!(
        tcp(&s.statements[1]).packet.flags,
        TcpFlags::PSH | TcpFlags::ACK
    );
    let s = parse_ok(CLOSE_ACTIVE);
    assert_eq!(
        tcp(&s.statements[1]).packet.flags,
        TcpFlags::FIN | TcpFlags::ACK
    );
    assert_eq!(
        s.statements[4].kind,
        StatementKind::Directive(Directive::AssertState {
            conn: Some(ConnTag::Fd(4)),
            state: TcpStateName::TimeWait
        })
    );
    let s = parse_ok(RST_AFTER_CLOSE);
    assert_eq!(tcp(&s.statements[1]).packet.flags, TcpFlags::RST);
    assert_eq!(tcp(&s.statements[1]).packet.ack, None);
    assert_eq!(tcp(&s.statements[1]).packet.win, None);
}

#[test]
fn errno_and_note() {
    let s = parse_ok(RST_RECEIVED);
    assert_eq!(
        tcp(&s.statements[0]).packet.flags,
        TcpFlags::RST | TcpFlags::ACK
    );
    let c = &call(&s.statements[1]).call;
    assert_eq!(c.result, Expr::Int(-1));
    assert_eq!(c.errno.as_deref(), Some("ECONNRESET"));
    assert_eq!(c.note.as_deref(), Some("Connection reset by peer"));
}

#[test]
fn linger_and_keepalive() {
    let s = parse_ok(LINGER_ZERO);
    let c = &call(&s.statements[0]).call;
    assert_eq!(
        c.args[3],
        Expr::Struct(vec![
            Field {
                name: Some("l_onoff".into()),
                value: Expr::Int(1)
            },
            Field {
                name: Some("l_linger".into()),
                value: Expr::Int(0)
            },
        ])
    );
    assert_eq!(
        tcp(&s.statements[2]).packet.flags,
        TcpFlags::RST | TcpFlags::ACK
    );
    let s = parse_ok(KEEPALIVE);
    let names: Vec<&Expr> = s.statements[..4]
        .iter()
        .map(|st| &call(st).call.args[2])
        .collect();
    assert_eq!(
        names,
        vec![
            &sym("SO_KEEPALIVE"),
            &sym("TCP_KEEPIDLE"),
            &sym("TCP_KEEPINTVL"),
            &sym("TCP_KEEPCNT")
        ]
    );
    assert_eq!(
        tcp(&s.statements[4]).time,
        EventTime::Relative(Duration::from_secs(300))
    );
}

#[test]
fn fcntl_nonblocking() {
    let s = parse_ok(NONBLOCKING);
    let getfl = &call(&s.statements[1]).call;
    assert_eq!(getfl.known(), Some(KnownCall::Fcntl));
    assert_eq!(getfl.result, Expr::Hex(2));
    assert_eq!(getfl.errno, None);
    assert_eq!(getfl.note.as_deref(), Some("flags O_RDWR"));
    assert_eq!(
        call(&s.statements[2]).call.args[2],
        Expr::BitOr(vec![sym("O_RDWR"), sym("O_NONBLOCK")])
    );
    assert_eq!(
        call(&s.statements[3]).call.errno.as_deref(),
        Some("EINPROGRESS")
    );
}

#[test]
fn getsockopt_and_shutdown() {
    let s = parse_ok(GETSOCKOPT_ERROR);
    let c = &call(&s.statements[0]).call;
    assert_eq!(c.known(), Some(KnownCall::Getsockopt));
    assert_eq!(c.args[3], Expr::List(vec![sym("ECONNREFUSED")]));
    let s = parse_ok(SHUTDOWN);
    assert_eq!(
        call(&s.statements[0]).call.known(),
        Some(KnownCall::Shutdown)
    );
}

#[test]
fn options_and_shell() {
    let s = parse_ok(OPTIONS_AND_SHELL);
    assert_eq!(
        s.statements[0].kind,
        StatementKind::Option(CliOption {
            name: "ip_version".into(),
            value: Some("ipv4".into())
        })
    );
    let StatementKind::Shell(sh) = &s.statements[2].kind else {
        panic!("not shell");
    };
    assert_eq!(sh.time, None);
    assert_eq!(
        sh.command.sysctls,
        Some(vec![Sysctl {
            name: "net.ipv4.tcp_rfc1337".into(),
            value: "1".into()
        }])
    );
    let StatementKind::Shell(sh) = &s.statements[4].kind else {
        panic!("not shell");
    };
    assert_eq!(sh.time, Some(EventTime::Relative(Duration::ZERO)));
    assert_eq!(sh.command.raw, "sysctl -q net.ipv4.tcp_keepalive_time=300");
}

#[test]
fn time_ranges() {
    let s = parse_ok(TIME_RANGES);
    let times: Vec<EventTime> = s.statements.iter().map(|st| tcp(st).time).collect();
    assert_eq!(
        times,
        vec![
            EventTime::Absolute(us(100_000)),
            EventTime::AbsoluteRange(us(100_000), us(200_000)),
            EventTime::RelativeRange(Duration::ZERO, us(200_000)),
            EventTime::Any,
        ]
    );
}

#[test]
fn packetdrill_dialect() {
    let s = parse_ok(PACKETDRILL_DIALECT);
    let k = &s.statements;
    assert_eq!(
        k[1].kind,
        StatementKind::Option(CliOption {
            name: "strict_segments".into(),
            value: None
        })
    );
    let Some(TcpOptions::List(o)) = &tcp(&k[3]).packet.options else {
        panic!("options")
    };
    assert_eq!(o[4], TcpOpt::FastOpen(Some("3021b9d889017eeb".into())));
    let Some(TcpOptions::List(o)) = &tcp(&k[4]).packet.options else {
        panic!("options")
    };
    assert_eq!(o[6], TcpOpt::FastOpen(None));
    let Some(TcpOptions::List(o)) = &tcp(&k[5]).packet.options else {
        panic!("options")
    };
    assert_eq!(o[1], TcpOpt::FastOpenExp(Some("TFO_COOKIE".into())));
    assert_eq!(o[3], TcpOpt::FastOpenExp(None));
    let Some(TcpOptions::List(o)) = &tcp(&k[6]).packet.options else {
        panic!("options")
    };
    assert_eq!(o[0], TcpOpt::Md5("000102030405060708090a0b0c0d0e0f".into()));
    assert_eq!(tcp(&k[7]).packet.ip, Some(IpInfo::Ecn(Ecn::Ect1)));
    assert_eq!(tcp(&k[8]).packet.ip, Some(IpInfo::Tos(2)));
    assert_eq!(tcp(&k[9]).packet.ip, Some(IpInfo::Ttl(64)));
    assert_eq!(tcp(&k[10]).packet.ports, Some((40000, 8080)));
    let StatementKind::IfDef(b) = &k[11].kind else {
        panic!("#ifdef: {:?}", k[11].kind)
    };
    assert_eq!((b.name.as_str(), b.negated), ("FreeBSD", false));
    assert_eq!((b.then.len(), b.otherwise.len()), (1, 1));
    let StatementKind::IfDef(b) = &k[12].kind else {
        panic!("#ifndef")
    };
    assert!(b.negated && b.otherwise.is_empty());
    assert_eq!(
        k[13].kind,
        StatementKind::Code(CodeBlock {
            time: Some(EventTime::Relative(us(5_000))),
            code: " assert tcpi_snd_cwnd == 10, tcpi_snd_cwnd ".into()
        })
    );
    assert!(
        matches!(&k[14].kind, StatementKind::Code(c) if c.time.is_none() && c.code == "\nimport os\n")
    );
    let Expr::Struct(fields) = &call(&k[15]).call.args[1] else {
        panic!("msghdr")
    };
    let names: Vec<Option<&str>> = fields.iter().map(|f| f.name.as_deref()).collect();
    assert_eq!(
        names,
        [Some("msg_name(...)"), Some("msg_iov(1)"), Some("msg_flags")]
    );
    let Expr::Struct(fields) = &call(&k[16]).call.args[3] else {
        panic!("linger")
    };
    assert_eq!(fields[0].name.as_deref(), Some("onoff"));
}

#[test]
fn sack_and_ecn() {
    let s = parse_ok(SACK_TS);
    assert_eq!(
        tcp(&s.statements[0]).packet.options,
        Some(TcpOptions::List(vec![
            TcpOpt::Sack(vec![(1461, 2921), (4381, 5841)]),
            TcpOpt::Nop,
            TcpOpt::Nop
        ]))
    );
    let s = parse_ok(ECN_FLAGS);
    assert_eq!(
        tcp(&s.statements[0]).packet.flags,
        TcpFlags::SYN | TcpFlags::ECE | TcpFlags::CWR
    );
    assert_eq!(tcp(&s.statements[2]).packet.flags, TcpFlags::NONE);
    let fin = &tcp(&s.statements[3]).packet;
    assert_eq!(fin.flags, TcpFlags::FIN | TcpFlags::PSH | TcpFlags::ACK);
    assert_eq!(fin.urg, Some(0));
}

#[test]
fn extensions_headers_and_blocks() {
    let s = parse_ok(TIME_WAIT_ASSASSINATION);
    let kinds: Vec<&StatementKind> = s.statements.iter().map(|s| &s.kind).collect();
    assert_eq!(
        kinds[0],
        &StatementKind::Directive(Directive::Applies(vec![
            "rfc793".into(),
            "rfc9293".into(),
            "linux".into()
        ]))
    );
    assert_eq!(
        kinds[2],
        &StatementKind::Directive(Directive::Set {
            key: "tcp.time_wait_rst".into(),
            value: "accept".into()
        })
    );
    assert_eq!(
        kinds[3],
        &StatementKind::Directive(Directive::Stack("reference".into()))
    );
    let StatementKind::IfProfile(b) = kinds[10] else {
        panic!("not an if block: {:?}", kinds[10]);
    };
    assert_eq!(b.profiles, vec!["rfc793".to_string()]);
    assert_eq!(b.then.len(), 2);
    assert_eq!(
        b.then[1].kind,
        StatementKind::Directive(Directive::ExpectFinding(ExpectFinding {
            kind: "time-wait-assassination".into(),
            ..ExpectFinding::default()
        }))
    );
    assert_eq!(
        b.otherwise[0].kind,
        StatementKind::Directive(Directive::AssertState {
            conn: Some(ConnTag::Fd(4)),
            state: TcpStateName::TimeWait
        })
    );
    assert_eq!(
        b.otherwise[1].kind,
        StatementKind::Directive(Directive::ExpectNoFinding)
    );
    assert_eq!(s.statements[10].loc.line, 12);
}

#[test]
fn arp_lines() {
    let s = parse_ok(ARP_EXCHANGE);
    assert_eq!(
        s.statements[0].kind,
        StatementKind::Arp(TimedArp {
            time: EventTime::Absolute(Duration::ZERO),
            arp: ArpLine {
                direction: Direction::Outbound,
                op: ArpOp::Request {
                    target: Ipv4Addr::new(192, 0, 2, 1),
                    sender: Ipv4Addr::new(192, 0, 2, 2)
                }
            }
        })
    );
    let StatementKind::Arp(reply) = &s.statements[1].kind else {
        panic!("not arp");
    };
    assert_eq!(
        reply.arp.op,
        ArpOp::Reply {
            ip: Ipv4Addr::new(192, 0, 2, 1),
            mac: EthernetAddress([2, 0, 0, 0, 0, 1])
        }
    );
}

#[test]
fn connection_tags() {
    let s = parse_ok(TWO_CONNECTIONS);
    assert_eq!(
        tcp(&s.statements[2]).packet.conn,
        Some(ConnTag::Name("c1".into()))
    );
    assert_eq!(
        tcp(&s.statements[4]).packet.conn,
        Some(ConnTag::Name("c2".into()))
    );
    assert_eq!(tcp(&s.statements[6]).packet.conn, Some(ConnTag::Fd(4)));
    assert_eq!(
        s.statements[7].kind,
        StatementKind::Directive(Directive::AssertState {
            conn: Some(ConnTag::Name("c2".into())),
            state: TcpStateName::SynReceived
        })
    );
}

#[test]
fn comments_strings_and_lines() {
    let s = parse_ok(COMMENTS);
    assert_eq!(s.statements.len(), 2);
    assert_eq!(s.statements[0].loc.line, 3);
    assert_eq!(
        call(&s.statements[1]).call.args[1],
        Expr::Str("hello\n".into())
    );
    let s = parse_ok(MULTILINE_ARGS);
    assert_eq!(s.statements.len(), 2);
    assert_eq!(s.statements[1].loc.line, 4);
}

#[test]
fn bare_seq_and_unknown_calls() {
    let s = parse_ok(BARE_SEQ_AND_UNKNOWN_CALL);
    assert_eq!(tcp(&s.statements[0]).packet.seq, SeqSpec::Bare(1001));
    let poll = &call(&s.statements[1]).call;
    assert_eq!(poll.known(), None);
    assert_eq!(poll.name, "poll");
    let Expr::List(items) = &poll.args[0] else {
        panic!("not a list");
    };
    assert!(matches!(&items[0], Expr::Struct(f) if f.len() == 3));
}

#[test]
fn absolute_times() {
    let s = parse_ok(ABSOLUTE_TIMES);
    assert_eq!(
        call(&s.statements[1]).time,
        EventTime::Absolute(us(1_500_000))
    );
    let StatementKind::Shell(sh) = &s.statements[2].kind else {
        panic!("not shell");
    };
    assert_eq!(sh.time, Some(EventTime::Absolute(us(2_000_001))));
    assert_eq!(sh.command.sysctls, None);
}

/// FreeBSD tcp-testsuite form: `...(len)` matches any sequence number of an outbound packet
/// (a SYN-ACK after TIME-WAIT recycling, whose new ISN the script cannot know).
#[test]
fn any_sequence_number_outbound() {
    let s = parse_ok("0 > S. ...(0) ack 65537 win 65535 <mss 1460>\n");
    let p = &tcp(&s.statements[0]).packet;
    assert_eq!(p.seq, SeqSpec::Any { len: 0 });
    assert!(p.seq.is_any());
    assert_eq!((p.seq.start(), p.seq.payload_len()), (0, 0));
    assert_eq!(p.ack, Some(65537));
    let s = parse_ok("0 > P. ...(10) ack 1\n");
    assert_eq!(tcp(&s.statements[0]).packet.seq, SeqSpec::Any { len: 10 });
}
