//! The typed syntax tree of a script. Every statement carries its [`Location`].
//!
//! The tree records what the script *says*, not what it means: sequence numbers stay
//! script-relative, symbols stay names, and the runner decides what they resolve to.

use std::net::Ipv4Addr;
use std::sync::Arc;

use stack::wire::{EthernetAddress, TcpFlags};
use stack::Duration;

/// Where a statement (or an error) starts (the crate's one location type).
pub use crate::location::Location;

/// A parsed script: its statements in source order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Script {
    pub file: Arc<str>,
    pub statements: Vec<Statement>,
}

/// One line of a script (or one `%if` block).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement {
    pub loc: Location,
    pub kind: StatementKind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StatementKind {
    /// `--name[=value]`: a packetdrill command-line option, only before the first event.
    Option(CliOption),
    /// `` [time] `command` ``: a shell command (packetdrill runs it with `/bin/sh`).
    Shell(ShellLine),
    /// `time < S 0:0(0) win 1000 <mss 1460>`: a TCP segment injected or expected.
    Tcp(TimedTcp),
    /// Extension: `time > arp who-has 192.0.2.1 tell 192.0.2.2`.
    Arp(TimedArp),
    /// `time name(args) = ret [ERRNO (text)]`: a socket call.
    Syscall(TimedSyscall),
    /// Extension: a `%` directive other than `%if`.
    Directive(Directive),
    /// Extension: `%if profile=NAME` ... [`%else` ...] `%endif`.
    IfProfile(IfProfile),
    /// `#ifdef NAME` / `#ifndef NAME` ... [`#else` ...] `#endif` (the FreeBSD tcp-testsuite's
    /// dialect): resolved against the defines of the run (profile and `--define`).
    IfDef(IfDef),
    /// `[time] %{ python }%`: a packetdrill code block (run by packetdrill with Python after the
    /// script; the harness reports it `unsupported`).
    Code(CodeBlock),
}

/// `#ifdef NAME` (or `#ifndef NAME`) ... [`#else` ...] `#endif`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IfDef {
    pub name: String,
    /// `#ifndef`: `then` runs when `name` is *not* defined.
    pub negated: bool,
    pub then: Vec<Statement>,
    pub otherwise: Vec<Statement>,
}

/// A `%{ ... }%` block: the text between the braces, exactly as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeBlock {
    pub time: Option<EventTime>,
    pub code: String,
}

/// When an event happens (packetdrill's event time).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventTime {
    /// `0.100`: seconds since the start of the script.
    Absolute(Duration),
    /// `+0.1`: seconds after the previous event.
    Relative(Duration),
    /// `0.1~0.2`: an outbound packet expected anywhere in this absolute window.
    AbsoluteRange(Duration, Duration),
    /// `+0~+0.2`: an outbound packet expected in this window after the previous event.
    RelativeRange(Duration, Duration),
    /// `*`: an outbound packet expected at any time.
    Any,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CliOption {
    pub name: String,
    pub value: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShellLine {
    /// Packetdrill allows an init command without a time; events have one.
    pub time: Option<EventTime>,
    pub command: ShellCommand,
}

/// A backtick command. `raw` is the text between the backticks, exactly as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShellCommand {
    pub raw: String,
    /// `Some` when every `;`-separated part is a `sysctl [-q] [-w] name=value ...` write;
    /// the pairs in order. `None` for anything else (the runner decides what to do).
    pub sysctls: Option<Vec<Sysctl>>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sysctl {
    pub name: String,
    pub value: String,
}

/// Which way a frame travels, seen from the stack under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// `<`: the script injects the frame into the stack under test.
    Inbound,
    /// `>`: the stack under test is expected to send the frame.
    Outbound,
}

/// Extension: which connection a packet line belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConnTag {
    /// `[c2]`: a label; the runner binds it to the connection first seen on a line with it.
    Name(String),
    /// `[fd=4]`: the connection of the socket with this file descriptor.
    Fd(u32),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimedTcp {
    pub time: EventTime,
    pub packet: TcpPacket,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TcpPacket {
    pub direction: Direction,
    pub conn: Option<ConnTag>,
    /// `-` is the empty set.
    pub flags: TcpFlags,
    pub seq: SeqSpec,
    pub ack: Option<u32>,
    pub win: Option<u16>,
    pub urg: Option<u16>,
    /// `None`: no `<...>` list at all (no options).
    pub options: Option<TcpOptions>,
    /// `[ect0]`, `(tos 0x2)`, `[ttl 64]` ...: packetdrill's IP header annotations.
    pub ip: Option<IpInfo>,
    /// `1234>8080` before the flags: explicit source and destination ports.
    pub ports: Option<(u16, u16)>,
}

/// packetdrill's `ip_info` on a packet line (`[...]` or `(...)` after the direction).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IpInfo {
    /// `noecn`, `ect0`, `ect1`, `ce`: the ECN codepoint (RFC 3168 §5).
    Ecn(Ecn),
    /// `ect01`: either ECT codepoint (outbound only).
    Ect01,
    /// `tos 0x..`: the whole TOS byte.
    Tos(u8),
    /// `flowlabel 0x..` (IPv6).
    FlowLabel(u32),
    /// `ttl N`.
    Ttl(u8),
}

/// The ECN field of the IP header (RFC 3168 §5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ecn {
    NoEcn,
    Ect0,
    Ect1,
    Ce,
}

impl Ecn {
    pub fn name(self) -> &'static str {
        match self {
            Ecn::NoEcn => "noecn",
            Ecn::Ect0 => "ect0",
            Ecn::Ect1 => "ect1",
            Ecn::Ce => "ce",
        }
    }
}

/// The sequence-number field, script-relative (the runner maps it onto the live ISN).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeqSpec {
    /// `start:end(len)`, with `end == start + len` checked at parse time.
    Range { start: u32, end: u32, len: u16 },
    /// `start` alone (our extension): no payload.
    Bare(u32),
    /// `...(len)`: any sequence number (outbound only); a SYN's maps to script-relative 0.
    Any { len: u16 },
}

impl SeqSpec {
    /// The script-relative start (0 for `...`, so a SYN with `...` sets the ISN offset).
    pub fn start(&self) -> u32 {
        match *self {
            SeqSpec::Range { start, .. } | SeqSpec::Bare(start) => start,
            SeqSpec::Any { .. } => 0,
        }
    }
    pub fn payload_len(&self) -> u16 {
        match *self {
            SeqSpec::Range { len, .. } | SeqSpec::Any { len } => len,
            SeqSpec::Bare(_) => 0,
        }
    }
    /// Whether any sequence number matches (`...`).
    pub fn is_any(&self) -> bool {
        matches!(self, SeqSpec::Any { .. })
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TcpOptions {
    /// `<...>`: any options (outbound only, as in packetdrill).
    Any,
    /// `<mss 1460,nop,...>`: exactly these, in this order.
    List(Vec<TcpOpt>),
}

/// One entry in a `<...>` option list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TcpOpt {
    /// `nop`: RFC 9293 §3.2 kind 1.
    Nop,
    /// `eol`: RFC 9293 §3.2 kind 0.
    Eol,
    /// `mss N`: RFC 9293 §3.7.1 kind 2.
    Mss(u16),
    /// `wscale N`: RFC 7323 §2 kind 3.
    WindowScale(u8),
    /// `sackOK`: RFC 2018 §2 kind 4.
    SackPermitted,
    /// `sack a:b c:d`: RFC 2018 §3 kind 5, one to four blocks.
    Sack(Vec<(u32, u32)>),
    /// `TS val X ecr Y`: RFC 7323 §3 kind 8.
    Timestamp { val: u32, ecr: u32 },
    /// `FO [cookie]`: RFC 7413 §4.1.1 kind 34 (TCP Fast Open), cookie as hex digits (or a
    /// symbol defined on the command line).
    FastOpen(Option<String>),
    /// `FOEXP [cookie]`: the experimental Fast Open option (kind 254, magic 0xF989).
    FastOpenExp(Option<String>),
    /// `md5 <hex>`: RFC 2385 kind 19, the 16-byte digest as hex digits.
    Md5(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimedArp {
    pub time: EventTime,
    pub arp: ArpLine,
}

/// Extension: an ARP frame (RFC 826).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArpLine {
    pub direction: Direction,
    pub op: ArpOp,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ArpOp {
    /// `arp who-has TARGET tell SENDER`: a request.
    Request { target: Ipv4Addr, sender: Ipv4Addr },
    /// `arp reply IP is-at MAC`: a reply.
    Reply { ip: Ipv4Addr, mac: EthernetAddress },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimedSyscall {
    pub time: EventTime,
    pub call: Syscall,
}

/// `[...END] name(args) = result [ERRNO] [(note)]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Syscall {
    /// `...0.200` before the name: a blocking call that returns at this time.
    pub end_time: Option<Duration>,
    pub name: String,
    pub args: Vec<Expr>,
    pub result: Expr,
    /// `ECONNRESET` after the result.
    pub errno: Option<String>,
    /// `(Connection reset by peer)`: free text, words joined by single spaces.
    pub note: Option<String>,
}

impl Syscall {
    /// The call by name, if it is one the harness knows; unknown names still parse.
    pub fn known(&self) -> Option<KnownCall> {
        KnownCall::from_name(&self.name)
    }
}

/// The socket calls the runner is expected to implement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KnownCall {
    Socket,
    Bind,
    Listen,
    Accept,
    Connect,
    Write,
    Read,
    Close,
    Shutdown,
    Setsockopt,
    Getsockopt,
    Fcntl,
}

impl KnownCall {
    pub fn from_name(name: &str) -> Option<KnownCall> {
        Some(match name {
            "socket" => KnownCall::Socket,
            "bind" => KnownCall::Bind,
            "listen" => KnownCall::Listen,
            "accept" => KnownCall::Accept,
            "connect" => KnownCall::Connect,
            "write" => KnownCall::Write,
            "read" => KnownCall::Read,
            "close" => KnownCall::Close,
            "shutdown" => KnownCall::Shutdown,
            "setsockopt" => KnownCall::Setsockopt,
            "getsockopt" => KnownCall::Getsockopt,
            "fcntl" => KnownCall::Fcntl,
            _ => return None,
        })
    }
}

/// A system-call argument or result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expr {
    /// `...`: anything / don't care.
    Ellipsis,
    /// `42`, `-1`.
    Int(i64),
    /// `0x1f` (kept apart from `Int` so it prints back the same way).
    Hex(u64),
    /// `"text"` (escapes `\"`, `\\`, `\n`, `\t` decoded).
    Str(String),
    /// `SOL_SOCKET`, `O_NONBLOCK`, `AF_INET`.
    Symbol(String),
    /// `[1]`, `[]`, `[a, b]`.
    List(Vec<Expr>),
    /// `{l_onoff=1, l_linger=0}` or `{..., 4}`: named and positional fields in order.
    Struct(Vec<Field>),
    /// `htons(8080)`, `inet_addr("192.0.2.1")`.
    Call { name: String, args: Vec<Expr> },
    /// `O_RDWR|O_NONBLOCK`: two or more operands.
    BitOr(Vec<Expr>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    pub name: Option<String>,
    pub value: Expr,
}

/// Extension directives (lines starting with `%`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Directive {
    /// `%profile linux`: the policy profile the stack under test runs with (header only).
    Profile(String),
    /// `%set tcp.time_wait_rst=ignore`: one policy knob (header only).
    Set { key: String, value: String },
    /// `%stack reference`: the stack under test (header only).
    Stack(String),
    /// `%applies rfc793 rfc9293 linux`: the profiles this script is valid for (header only).
    Applies(Vec<String>),
    /// `%assert state [fd=4|[c2]] TIME-WAIT`: the connection's state at this point.
    AssertState {
        conn: Option<ConnTag>,
        state: TcpStateName,
    },
    /// `%expect finding time-wait-assassination [count=N] [host=H] [cause=C] [duration="2s"]`:
    /// findings the run must produce (the keys mean what they mean in scenarios:
    /// [`crate::judge`]).
    ExpectFinding(ExpectFinding),
    /// `%expect no-finding`: the run must produce no finding at all.
    ExpectNoFinding,
}

/// The words of a `%expect finding` line, as written (checked when the script runs).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExpectFinding {
    pub kind: String,
    /// `count=N`: exactly N matching findings (default 1).
    pub count: Option<u64>,
    /// `host=NAME`: on this host (or its replicas `NAME-k`).
    pub host: Option<String>,
    /// `cause=TEXT`: the cause contains this text.
    pub cause: Option<String>,
    /// `duration="120s"`: every matching finding measured exactly this long.
    pub duration: Option<String>,
}

/// `%if profile=a|b` ... `%else` ... `%endif`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IfProfile {
    /// Runs `then` when the active profile is any of these.
    pub profiles: Vec<String>,
    pub then: Vec<Statement>,
    pub otherwise: Vec<Statement>,
}

/// The eleven TCP states of RFC 9293 §3.3.2: the stack's own [`stack::tcp::State`]
/// (`State::from_name` also accepts Linux spellings such as `TIME_WAIT`).
pub use stack::tcp::State as TcpStateName;

impl Script {
    /// A copy with every location set to line 0, column 0: for comparing trees that came from
    /// different text (for example, `parse(print(ast))` against `ast`).
    pub fn without_locations(&self) -> Script {
        Script {
            file: self.file.clone(),
            statements: strip(&self.statements),
        }
    }
}

fn strip(stmts: &[Statement]) -> Vec<Statement> {
    stmts
        .iter()
        .map(|s| Statement {
            loc: Location {
                file: s.loc.file.clone(),
                line: 0,
                col: 0,
            },
            kind: match &s.kind {
                StatementKind::IfProfile(b) => StatementKind::IfProfile(IfProfile {
                    profiles: b.profiles.clone(),
                    then: strip(&b.then),
                    otherwise: strip(&b.otherwise),
                }),
                StatementKind::IfDef(b) => StatementKind::IfDef(IfDef {
                    name: b.name.clone(),
                    negated: b.negated,
                    then: strip(&b.then),
                    otherwise: strip(&b.otherwise),
                }),
                other => other.clone(),
            },
        })
        .collect()
}
