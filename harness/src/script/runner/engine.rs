//! The clock, the frames and the main loop of one run.

use super::setup::{at, build_profile, input, Header, DEFAULT_TOLERANCE, REAL_TIME_TOLERANCE};
use super::wire::lacking_option;
use super::{NotRun, ScriptOutcome};
use crate::dut::{Dut, SockId, SockOpt};
use crate::dut::{RegistryError, StackConfig};
use crate::evidence::Observed;
use crate::options::{RunError, RunOptions};
use crate::oracle::{self, FindingKind, OracleConfig};
use crate::render::{render_timeline, Direction as RDir};
use crate::script::{
    ArpLine, ConnTag, Direction, Directive, Ecn, EventTime, IpInfo, Location, Script, Statement,
    StatementKind, Syscall, TcpOptions, TcpPacket, TcpStateName,
};
use crate::stacks;
use crate::trace::{Fate, FrameRecord, NodeId, SegmentId, Trace, TraceEvent, TraceKind, TraceMeta};
use core::net::Ipv4Addr;
use stack::tcp::FourTuple;
use stack::wire::{EthernetAddress, TcpFlags};
use stack::{Duration, Instant};
use std::collections::{BTreeMap, VecDeque};

/// The stack under test's address (RFC 5737 documentation range).
pub const STACK_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
/// The scripted peer's address.
pub const PEER_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
pub const STACK_MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 1]);
pub const PEER_MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 2]);
/// packetdrill's default server port (bind and connect).
pub const DEFAULT_PORT: u16 = 8080;
/// The peer's port on the first passively opened connection; later ones count up.
pub const PEER_PORT_BASE: u16 = 40000;
/// After the last line, the stack may send nothing for this long.
pub const DRAIN_WINDOW: Duration = Duration::from_millis(100);
/// How far `*` looks ahead for an outbound packet.
const ANY_HORIZON: Duration = Duration::from_secs(3600);
/// Timeouts at one instant without the stack's deadline moving before we call it a livelock.
const SPIN_LIMIT: u32 = 10_000;
/// How far past a missed deadline a mismatch report looks for what the stack sent instead
/// (covers delayed ACKs, 200-500 ms, and a first retransmission, 1 s).
const LOOK_AHEAD: Duration = Duration::from_secs(5);

fn secs(d: Duration) -> f64 {
    d.total_micros() as f64 / 1e6
}

/// Why a run stopped early.
pub(super) enum Stop {
    /// A mismatch: the script's expectation failed (the run's verdict).
    Fail(String),
    /// Bad input: the script asks for something the runner cannot do.
    Input(RunError),
    /// The script needs a feature the harness or the stack under test lacks (TCP Fast Open,
    /// ECN, a system call we do not model...): the run ends `unsupported` at this line.
    Unsupported(Unsupported),
}

/// Where a run stopped for want of a feature, and which.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unsupported {
    pub loc: Location,
    pub feature: String,
}

impl std::fmt::Display for Unsupported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: unsupported: {}", at(&self.loc), self.feature)
    }
}

/// `Stop::Unsupported` at `loc`.
pub(super) fn unsupported(loc: &Location, feature: impl Into<String>) -> Stop {
    Stop::Unsupported(Unsupported {
        loc: loc.clone(),
        feature: feature.into(),
    })
}

impl From<RunError> for Stop {
    fn from(e: RunError) -> Self {
        Stop::Input(e)
    }
}

/// One TCP connection as the script sees it.
#[derive(Clone, Debug)]
pub(super) struct Conn {
    pub peer_port: u16,
    pub stack_port: Option<u16>,
    /// Live minus scripted sequence number of the stack's side (learned from its SYN).
    pub seq_offset: Option<u32>,
    /// On a stack on the wall clock: its live minus scripted `TS val` (RFC 7323 §3), learned
    /// from its first segment whose line gives one; inbound `TS ecr` values are mapped by it,
    /// as packetdrill maps them, since the live clock and offset are the kernel's own.
    pub ts_offset: Option<u32>,
}

/// A file descriptor of the script.
#[derive(Clone, Debug, Default)]
pub(super) struct Fd {
    pub sock: Option<SockId>,
    pub nonblocking: bool,
    pub port: Option<u16>,
    /// Options set before the socket existed in the stack (before listen/connect).
    pub opts: Vec<SockOpt>,
    pub conn: Option<usize>,
    /// `shutdown(SHUT_RD)` was called: reads return what is queued, then 0 without blocking
    /// (POSIX shutdown(2): "further receptions shall be disallowed"; Linux tcp_recvmsg returns 0
    /// once RCV_SHUTDOWN is set).
    pub rd_shut: bool,
}

/// A blocking call waiting for the stack.
pub(super) struct Pending {
    pub loc: Location,
    pub call: Syscall,
    pub end: Option<Instant>,
    pub kind: PendingKind,
}

pub(super) enum PendingKind {
    Accept {
        listener: SockId,
    },
    Connect {
        sock: SockId,
    },
    Read {
        sock: SockId,
        max: usize,
    },
    Write {
        sock: SockId,
        left: usize,
        done: usize,
    },
}

pub(super) struct Engine {
    /// The stack under test, behind the recorder of what it shows (socket calls, states).
    pub dut: Observed,
    /// The peer answers the stack's ARP requests for it (stacks without neighbour control, in
    /// scripts without ARP lines); those exchanges are recorded but not matched.
    pub auto_arp: bool,
    pub now: Instant,
    /// Time of the previous event (relative times count from it).
    pub last: Instant,
    pub tol: Duration,
    /// The stack runs on the wall clock with a timer wheel: a timeout fires up to an eighth of
    /// its length late (Linux `kernel/time/timer.c`: each wheel level's granularity keeps the
    /// error under 12.5%), so an outbound event may come that much after its interval.
    pub timer_slack: bool,
    pub events: Vec<TraceEvent>,
    pub frames: Vec<(Instant, Option<RDir>, Vec<u8>)>,
    pub out_q: VecDeque<(Instant, Vec<u8>)>,
    pub conns: Vec<Conn>,
    pub labels: BTreeMap<String, usize>,
    pub current: Option<usize>,
    pub fds: BTreeMap<i64, Fd>,
    /// 4-tuples of closed descriptors, for `%assert state fd=N` after `close`.
    pub closed: BTreeMap<i64, FourTuple>,
    pub listen_port: Option<u16>,
    pub bind_port: u16,
    pub connect_port: u16,
    pub pending: Option<Pending>,
    pub ip_ident: u16,
    pub notes: Vec<NotRun>,
    /// What the `%expect` lines ask of the findings.
    pub expects: crate::judge::Expected,
    /// The profile the stack under test was built with (sysctls before the first event
    /// applied): what a fresh socket's options read back as.
    pub profile: stack::policy::Profile,
    /// The statement being run comes after the script's last packet or system call.
    pub after_last_event: bool,
    /// The stack takes the script's sysctl writes itself ([`crate::dut::Dut::set_sysctl`]).
    pub raw_sysctls: bool,
}

/// Runs the flattened statements of `script` under `profile`.
pub(super) fn execute(
    script: &Script,
    stmts: &[Statement],
    profile: &str,
    opts: &RunOptions,
) -> Result<ScriptOutcome, RunError> {
    let header = Header::read(script)?;
    let kind = opts
        .stack
        .clone()
        .or(header.stack.clone())
        .unwrap_or_else(|| "reference".into());
    // A stack that takes raw sysctls (the live kernel) gets the script's sysctl lines as
    // written, in its own namespace, instead of their mapping onto profile knobs.
    let raw_sysctls = stacks::registry()
        .get(&kind)
        .is_ok_and(|a| a.capabilities().raw_sysctls);
    let setup = build_profile(&script.file, &header, stmts, profile, opts, raw_sysctls)?;
    let (prof, notes) = (setup.profile, setup.notes);
    let has_arp = stmts
        .iter()
        .any(|s| matches!(s.kind, StatementKind::Arp(_)));
    // A stack without neighbour-cache control cannot take the peer as a static entry: the
    // peer then answers the stack's ARP requests itself, as a real host does.
    let neighbor_control = stacks::registry()
        .get(&kind)
        .map(|a| a.capabilities().neighbor_control)
        .unwrap_or(true);
    let auto_arp = !has_arp && !neighbor_control;
    // A stack on the wall clock waits for every deadline: a script whose timeline needs more
    // real time than the budget is not run. Its timeline is measured by running it once on
    // the reference stack (virtual time, milliseconds).
    let real_time = stacks::registry()
        .get(&kind)
        .is_ok_and(|a| a.capabilities().time == crate::dut::TimeModel::Real);
    if real_time {
        let budget = opts
            .max_real_time
            .unwrap_or(crate::options::DEFAULT_MAX_REAL_TIME);
        let virt = RunOptions {
            stack: Some("reference".into()),
            pcap_dir: None,
            ..opts.clone()
        };
        let mut virt = virt;
        virt.overrides.stack = None;
        if let Ok(o) = execute(script, stmts, profile, &virt) {
            let need = o.trace.end.saturating_since(Instant::ZERO);
            if need > budget {
                return Ok(ScriptOutcome {
                    file: script.file.to_string(),
                    profile: profile.to_string(),
                    passed: true,
                    skipped: Some(format!(
                        "needs {need} of real time on the live {kind} stack \
                         (budget {budget}, --max-real-time)"
                    )),
                    unsupported: None,
                    failures: Vec::new(),
                    notes,
                    findings: Vec::new(),
                    cannot_judge: Vec::new(),
                    timeline: String::new(),
                    trace: Trace::default(),
                });
            }
        }
    }
    let made = stacks::make(
        &kind,
        &StackConfig {
            mac: STACK_MAC,
            addr: STACK_IP,
            prefix_len: 24,
            gateway: None,
            profile: prof.clone().into(),
            seed: opts.overrides.seed.unwrap_or(0x5eed),
            static_arp: if has_arp || auto_arp {
                Vec::new()
            } else {
                vec![(PEER_IP, PEER_MAC)]
            },
        },
    );
    let dut = match made {
        Ok(d) => d,
        Err(RegistryError::Refused(r)) => {
            return Ok(ScriptOutcome {
                skipped: None,
                file: script.file.to_string(),
                profile: profile.to_string(),
                // The stack cannot be configured as the run needs: it did not run, and that
                // is no failure of the stack (see `run::FileResult::unsupported`).
                passed: true,
                unsupported: Some(Unsupported {
                    loc: crate::script::Location {
                        file: script.file.clone(),
                        line: 1,
                        col: 1,
                    },
                    feature: r.to_string(),
                }),
                failures: Vec::new(),
                notes,
                findings: Vec::new(),
                cannot_judge: Vec::new(),
                timeline: String::new(),
                trace: Trace::default(),
            });
        }
        Err(e) => return Err(RunError::file(&script.file, e.to_string())),
    };
    let mut eng = Engine {
        auto_arp,
        dut: Observed::new(dut, !opts.overrides.hide_events),
        now: Instant::ZERO,
        last: Instant::ZERO,
        tol: {
            let tol = header.tolerance.unwrap_or(DEFAULT_TOLERANCE);
            if real_time {
                tol.max(REAL_TIME_TOLERANCE)
            } else {
                tol
            }
        },
        timer_slack: real_time,
        events: Vec::new(),
        frames: Vec::new(),
        out_q: VecDeque::new(),
        conns: Vec::new(),
        labels: BTreeMap::new(),
        current: None,
        fds: BTreeMap::new(),
        closed: BTreeMap::new(),
        listen_port: None,
        bind_port: header.bind_port.unwrap_or(DEFAULT_PORT),
        connect_port: header.connect_port.unwrap_or(DEFAULT_PORT),
        pending: None,
        ip_ident: 1,
        notes,
        expects: crate::judge::Expected::default(),
        profile: prof,
        after_last_event: false,
        raw_sysctls,
    };
    if auto_arp {
        // The peer introduces itself, as it must before it can send the stack anything.
        let req = crate::peer::arp_request(PEER_MAC, PEER_IP, STACK_IP);
        eng.record(NodeId(1), req.clone());
        eng.dut.handle_frame(eng.now, &req);
        eng.drain();
    }
    let mut failures = Vec::new();
    let mut lacking = None;
    let ran = match &header.unsupported {
        Some((loc, feature)) => Err(unsupported(loc, feature.clone())),
        None => eng.set_sysctls(&setup.raw).and_then(|()| eng.run(stmts)),
    };
    match ran {
        Ok(()) => {}
        Err(Stop::Fail(m)) => failures.push(m),
        Err(Stop::Input(e)) => return Err(e),
        Err(Stop::Unsupported(u)) => lacking = Some(u),
    }
    let trace = eng.trace(&kind);
    let oracle::Analysis {
        findings,
        cannot_judge,
    } = oracle::judge(&trace, &OracleConfig::default());
    if failures.is_empty() && lacking.is_none() {
        // Plain packetdrill semantics for a script in packetdrill's own dialect: findings are
        // reported, and fail it only when it opts in (`%expect`, any harness directive, or
        // `--strict-findings`).
        let strict = opts.strict_findings
            || opts.ignore_expectations
            || super::uses_harness_directives(script);
        let none = crate::judge::Expected::default();
        let expects = if opts.ignore_expectations {
            &none
        } else {
            &eng.expects
        };
        failures.extend(
            crate::judge::judge(expects, &findings, strict)
                .iter()
                .filter(|v| !v.ok)
                .map(crate::judge::Verdict::failure),
        );
    }
    Ok(ScriptOutcome {
        skipped: None,
        file: script.file.to_string(),
        profile: profile.to_string(),
        passed: failures.is_empty() && lacking.is_none(),
        unsupported: lacking,
        failures,
        notes: eng.notes,
        findings,
        cannot_judge,
        timeline: render_timeline(&eng.frames),
        trace,
    })
}

/// The feature a packet line needs that the stacks under test lack: TCP Fast Open and MD5
/// options, ECN codepoints and flags (RFC 3168), other IP header checks, explicit ports.
fn lacking_feature(p: &TcpPacket) -> Option<String> {
    if let Some(TcpOptions::List(l)) = &p.options {
        if let Some(o) = l.iter().find(|o| !lacking_option(o).is_empty()) {
            return Some(lacking_option(o).to_string());
        }
    }
    if p.flags.contains(TcpFlags::ECE) || p.flags.contains(TcpFlags::CWR) {
        return Some("ECN (RFC 3168): ECE/CWR flags".into());
    }
    match p.ip {
        None | Some(IpInfo::Ecn(Ecn::NoEcn)) => {}
        Some(IpInfo::Ecn(_) | IpInfo::Ect01) => {
            return Some("ECN (RFC 3168): ECT/CE codepoints".into())
        }
        Some(IpInfo::Tos(_)) => return Some("IP TOS checks".into()),
        Some(IpInfo::FlowLabel(_)) => return Some("IPv6 flow labels".into()),
        Some(IpInfo::Ttl(_)) => return Some("IP TTL checks".into()),
    }
    if p.ports.is_some() {
        return Some("explicit ports on packet lines".into());
    }
    None
}

/// A socket's state for `%assert state`; a socket the stack no longer knows is CLOSED.
pub(super) fn state_name(s: Option<stack::tcp::State>) -> TcpStateName {
    s.unwrap_or(TcpStateName::Closed)
}

impl Engine {
    fn run(&mut self, stmts: &[Statement]) -> Result<(), Stop> {
        // After the last packet or call nothing more can be observed but the drain window.
        let last_event = stmts.iter().rposition(|s| {
            matches!(
                s.kind,
                StatementKind::Tcp(_) | StatementKind::Arp(_) | StatementKind::Syscall(_)
            )
        });
        for (i, s) in stmts.iter().enumerate() {
            self.after_last_event = last_event.is_none_or(|l| i > l);
            match &s.kind {
                StatementKind::Tcp(t) => {
                    if let Some(f) = lacking_feature(&t.packet) {
                        return Err(unsupported(&s.loc, f));
                    }
                    let (n, lo, hi) = self.window(t.time);
                    match t.packet.direction {
                        Direction::Inbound => {
                            self.wait_until(n, s)?;
                            let conn = self.conn_for(&t.packet.conn, &s.loc)?;
                            let bytes = self.build_tcp(conn, &t.packet, &s.loc)?;
                            self.inject(bytes)?;
                        }
                        Direction::Outbound => self.expect_tcp(s, &t.packet, lo, hi)?,
                    }
                }
                StatementKind::Arp(a) => {
                    let (n, lo, hi) = self.window(a.time);
                    match a.arp.direction {
                        Direction::Inbound => {
                            self.wait_until(n, s)?;
                            let bytes = self.build_arp(&a.arp);
                            self.inject(bytes)?;
                        }
                        Direction::Outbound => self.expect_arp(s, &a.arp, lo, hi)?,
                    }
                }
                StatementKind::Syscall(c) => {
                    let (n, _, _) = self.window(c.time);
                    self.wait_until(n, s)?;
                    self.syscall(&s.loc, &c.call)?;
                }
                StatementKind::Shell(sh) => {
                    if let Some(t) = sh.time {
                        let (n, _, _) = self.window(t);
                        self.wait_until(n, s)?;
                        self.shell(&s.loc, &sh.command)?;
                    }
                }
                StatementKind::Directive(d) => self.directive(&s.loc, d)?,
                StatementKind::Code(c) => {
                    let Some(state) = super::code::asserted_state(&c.code) else {
                        return Err(unsupported(
                            &s.loc,
                            "packetdrill code blocks (`%{ }%`, run by Python after the script) \
                             other than `assert tcpi_state == NAME`",
                        ));
                    };
                    if let Some(t) = c.time {
                        let (n, _, _) = self.window(t);
                        self.wait_until(n, s)?;
                    }
                    self.assert_state(&s.loc, None, state)?;
                }
                StatementKind::Option(_)
                | StatementKind::IfProfile(_)
                | StatementKind::IfDef(_) => {}
            }
        }
        // The drain window: nothing more may come out.
        let end = self.now.max(self.last) + DRAIN_WINDOW;
        self.advance(end)?;
        if let Some((t, bytes)) = self.out_q.front().cloned() {
            return Err(Stop::Fail(format!(
                "{}: unexpected outbound packet at {} after the last line of the script \
                 (drain window {DRAIN_WINDOW})\n  actual:   {} {}",
                stmts.last().map_or_else(String::new, |s| at(&s.loc)),
                crate::render::fmt_time(t),
                crate::render::fmt_time(t),
                self.render_actual(&bytes, self.current)
            )));
        }
        if let Some(p) = &self.pending {
            return Err(Stop::Fail(format!(
                "{}: blocking call `{}` never returned (still blocked at the end, {})",
                at(&p.loc),
                p.call,
                self.now
            )));
        }
        Ok(())
    }

    /// `%assert state` (and a code block's `assert tcpi_state == NAME`): the connection (the
    /// current one unless tagged) is in `want` at this instant.
    fn assert_state(
        &mut self,
        loc: &Location,
        conn: Option<&ConnTag>,
        want: TcpStateName,
    ) -> Result<(), Stop> {
        self.advance(self.now)?;
        let (what, got) = self.state_of(conn, loc)?;
        if got != want {
            return Err(Stop::Fail(format!(
                "{}: {what} is in state {got}, expected {want}",
                at(loc)
            )));
        }
        Ok(())
    }

    fn directive(&mut self, loc: &Location, d: &Directive) -> Result<(), Stop> {
        match d {
            Directive::AssertState { conn, state } => {
                self.assert_state(loc, conn.as_ref(), *state)?
            }
            Directive::ExpectFinding(e) => {
                let kind = FindingKind::parse_named(&e.kind).map_err(|m| input(loc, m))?;
                let duration = e
                    .duration
                    .as_deref()
                    .map(str::parse::<stack::Duration>)
                    .transpose()
                    .map_err(|why| input(loc, why.to_string()))?;
                self.expects.findings.push(crate::judge::Expectation {
                    at: Some(loc.clone()),
                    kind,
                    count: e
                        .count
                        .map_or(1, |n| usize::try_from(n).unwrap_or(usize::MAX)),
                    host: e.host.clone(),
                    cause: e.cause.clone(),
                    duration,
                });
            }
            Directive::ExpectNoFinding => self.expects.none_at = Some(loc.clone()),
            Directive::Profile(_)
            | Directive::Set { .. }
            | Directive::Stack(_)
            | Directive::Applies(_) => {}
        }
        Ok(())
    }

    /// The state `%assert state` looks at: the fd's socket, else the connection table.
    fn state_of(
        &self,
        tag: Option<&ConnTag>,
        loc: &Location,
    ) -> Result<(String, TcpStateName), Stop> {
        match tag {
            Some(ConnTag::Fd(fd)) => {
                let fd = i64::from(*fd);
                if let Some(f) = self.fds.get(&fd) {
                    if let Some(s) = f.sock {
                        return Ok((format!("fd={fd}"), state_name(self.dut.state(s))));
                    }
                    if let Some(c) = f.conn {
                        return Ok((format!("fd={fd}"), self.conn_state(c)));
                    }
                    return Ok((format!("fd={fd}"), TcpStateName::Closed));
                }
                match self.closed.get(&fd) {
                    Some(t) => Ok((
                        format!("fd={fd} (closed; connection {t})"),
                        self.tuple_state(*t),
                    )),
                    None => Err(Stop::Input(input(loc, format!("no socket fd={fd}")))),
                }
            }
            Some(ConnTag::Name(n)) => match self.labels.get(n) {
                Some(&c) => Ok((format!("connection [{n}]"), self.conn_state(c))),
                None => Err(Stop::Input(input(loc, format!("no connection [{n}] yet")))),
            },
            None => match self.current {
                Some(c) => Ok(("the connection".into(), self.conn_state(c))),
                None => match self.fds.iter().next_back() {
                    Some((fd, f)) => Ok((
                        format!("fd={fd}"),
                        state_name(f.sock.and_then(|s| self.dut.state(s))),
                    )),
                    None => Err(Stop::Input(input(
                        loc,
                        "%assert state: no connection or socket yet",
                    ))),
                },
            },
        }
    }

    fn conn_tuple(&self, c: usize) -> Option<FourTuple> {
        let conn = self.conns.get(c)?;
        Some(FourTuple::new(
            STACK_IP,
            conn.stack_port?,
            PEER_IP,
            conn.peer_port,
        ))
    }

    fn conn_state(&self, c: usize) -> TcpStateName {
        // A user-held socket on this connection knows best.
        for f in self.fds.values() {
            if f.conn == Some(c) {
                if let Some(s) = f.sock {
                    return state_name(self.dut.state(s));
                }
            }
        }
        match self.conn_tuple(c) {
            Some(t) => self.tuple_state(t),
            None => TcpStateName::Closed,
        }
    }

    fn tuple_state(&self, t: FourTuple) -> TcpStateName {
        state_name(
            self.dut
                .connections()
                .into_iter()
                .rev()
                .find(|(tt, _)| *tt == t)
                .map(|(_, s)| s),
        )
    }

    /// (nominal, earliest, latest) time of an event.
    fn window(&self, t: EventTime) -> (Instant, Instant, Instant) {
        let z = Instant::ZERO;
        match t {
            EventTime::Absolute(d) => {
                let n = z + d;
                (n, n - self.tol, n + self.tol + self.wheel_slack(n))
            }
            EventTime::Relative(d) => {
                let n = self.last + d;
                (n, n - self.tol, n + self.tol + self.wheel_slack(n))
            }
            EventTime::AbsoluteRange(a, b) => (z + a, z + a, z + b),
            EventTime::RelativeRange(a, b) => (self.last + a, self.last + a, self.last + b),
            EventTime::Any => (self.now, z, self.now + ANY_HORIZON),
        }
    }

    /// How much later than `n` a timer-driven event may come ([`Engine::timer_slack`]): an
    /// eighth of the interval since the previous event.
    fn wheel_slack(&self, n: Instant) -> Duration {
        if !self.timer_slack {
            return Duration::ZERO;
        }
        Duration::from_micros(n.saturating_since(self.last).total_micros() / 8)
    }

    /// Runs the clock to `n` for an inbound packet or call; nothing may come out meanwhile.
    fn wait_until(&mut self, n: Instant, s: &Statement) -> Result<(), Stop> {
        self.advance(n.max(self.now))?;
        if let Some((t, bytes)) = self.out_q.front().cloned() {
            return Err(Stop::Fail(format!(
                "{}: unexpected outbound packet at {} before this line ran\n  expected: {}\n  \
                 actual:   {} {}",
                at(&s.loc),
                crate::render::fmt_time(t),
                s,
                crate::render::fmt_time(t),
                self.render_actual(&bytes, self.current)
            )));
        }
        self.last = self.now;
        Ok(())
    }

    /// Fires the stack's timers up to `target` (the clock ends there), stopping early at the
    /// first frame the stack sends.
    pub(super) fn advance(&mut self, target: Instant) -> Result<(), Stop> {
        let mut spins = 0u32;
        loop {
            self.settle()?;
            if !self.out_q.is_empty() {
                return Ok(());
            }
            match self.dut.poll_at() {
                Some(t) if t <= target => {
                    if t <= self.now {
                        spins += 1;
                        if spins > SPIN_LIMIT {
                            return Err(Stop::Fail(format!(
                                "stack under test keeps asking for a timeout at {} without \
                                 progress",
                                self.now
                            )));
                        }
                    } else {
                        spins = 0;
                        self.now = t;
                    }
                    self.dut.handle_timeout(self.now);
                }
                _ => {
                    self.now = self.now.max(target);
                    return Ok(());
                }
            }
        }
    }

    /// Collects what the stack sends now and lets a blocking call finish if it can.
    pub(super) fn settle(&mut self) -> Result<(), Stop> {
        self.drain();
        if self.pending.is_some() {
            self.poll_pending()?;
            self.drain();
        }
        Ok(())
    }

    fn drain(&mut self) {
        while let Some(f) = self.dut.poll_transmit(self.now) {
            self.record(NodeId(0), f.clone());
            if self.auto_arp && crate::peer::is_arp(&f) {
                if let Some(reply) = crate::peer::arp_reply(&f, PEER_MAC, PEER_IP) {
                    self.record(NodeId(1), reply.clone());
                    self.dut.handle_frame(self.now, &reply);
                }
                continue;
            }
            self.out_q.push_back((self.now, f));
        }
        self.collect_events();
    }

    pub(super) fn collect_events(&mut self) {
        for e in self.dut.take_events() {
            self.events.push(TraceEvent {
                time: e.time,
                kind: TraceKind::Stack {
                    node: NodeId(0),
                    event: e,
                },
            });
        }
        self.dut.drain_into(NodeId(0), &mut self.events);
    }

    fn record(&mut self, from: NodeId, bytes: Vec<u8>) {
        let number = self.frames.len() + 1;
        let dir = if from.0 == 0 {
            RDir::Outbound
        } else {
            RDir::Inbound
        };
        self.frames.push((self.now, Some(dir), bytes.clone()));
        self.events.push(TraceEvent {
            time: self.now,
            kind: TraceKind::Frame(FrameRecord {
                time: self.now,
                segment: SegmentId(0),
                number,
                from,
                bytes,
                fate: Fate::Delivered,
                delivered_at: Some(self.now),
            }),
        });
    }

    fn inject(&mut self, bytes: Vec<u8>) -> Result<(), Stop> {
        self.record(NodeId(1), bytes.clone());
        self.dut.handle_frame(self.now, &bytes);
        self.settle()
    }

    /// Waits for the next outbound frame within `[lo, hi]`.
    fn next_out(
        &mut self,
        s: &Statement,
        lo: Instant,
        hi: Instant,
    ) -> Result<(Instant, Vec<u8>), Stop> {
        if self.out_q.is_empty() && hi >= self.now {
            self.advance(hi)?;
        }
        let Some((t, bytes)) = self.out_q.pop_front() else {
            return Err(Stop::Fail(format!(
                "{}: expected outbound packet by {}, but the stack sent nothing{}\n  expected: {}",
                at(&s.loc),
                crate::render::fmt_time(hi),
                self.sent_later(hi),
                s
            )));
        };
        if t < lo {
            return Err(Stop::Fail(format!(
                "{}: outbound packet at {} is too early (expected from {})\n  expected: {}\n  \
                 actual:   {} {}",
                at(&s.loc),
                crate::render::fmt_time(t),
                crate::render::fmt_time(lo),
                s,
                crate::render::fmt_time(t),
                self.render_actual(&bytes, self.current)
            )));
        }
        self.last = t;
        Ok((t, bytes))
    }

    /// What the stack sends within [`LOOK_AHEAD`] after a deadline it missed, and when:
    /// `; it sent . 1:1(0) ack 1 win 65535 at 0.304000 (0.200 s late, +0.300 after the last
    /// packet)`, or `; nor in the 5 s after` (the run stops at the failure, so looking costs
    /// nothing).
    fn sent_later(&mut self, deadline: Instant) -> String {
        let _ = self.advance(deadline + LOOK_AHEAD);
        match self.out_q.front().cloned() {
            Some((t, bytes)) => format!(
                " by then; it sent {} at {} ({:.3} s late, +{:.3} after the last packet)",
                self.render_actual(&bytes, self.current),
                crate::render::fmt_time(t),
                secs(t.saturating_since(deadline)),
                secs(t.saturating_since(self.last))
            ),
            None => format!(" by then, nor in the {} s after", secs(LOOK_AHEAD)),
        }
    }

    fn expect_tcp(
        &mut self,
        s: &Statement,
        p: &TcpPacket,
        lo: Instant,
        hi: Instant,
    ) -> Result<(), Stop> {
        let (t, mut bytes) = self.next_out(s, lo, hi)?;
        let conn = self.conn_for(&p.conn, &s.loc)?;
        let mut rest = p.clone();
        // packetdrill captures Linux's TSO/GSO super-segments on its tun device before they
        // are cut to the MSS: an expected segment longer than the one sent is matched by the
        // run of equal-sized segments the stack sent at the same instant that covers it.
        // PSH may be on any part (Linux marks it per segment when it pushes, e.g.
        // `forced_push`); on a stack on the wall clock the parts come microseconds apart, so
        // every part only has to come within the line's window.
        let mut run_len = None;
        while let Some((mut head, len, tail)) = gso_head(&rest, &bytes, run_len) {
            if self.match_tcp(conn, &head, &bytes).is_err() {
                head.flags = TcpFlags(head.flags.0 | TcpFlags::PSH.0);
                if self.match_tcp(conn, &head, &bytes).is_err() {
                    break;
                }
            }
            run_len = Some(len);
            rest = tail;
            match self.out_q.front() {
                Some((t2, _)) if *t2 == t || (self.timer_slack && *t2 <= hi) => {
                    bytes = self.out_q.pop_front().map(|(_, b)| b).unwrap_or_default();
                }
                _ => {
                    return Err(Stop::Fail(format!(
                        "{}: outbound packet at {} is only part of the expected segment: \
                         {} more bytes from seq {} did not follow at the same time\n  \
                         expected: {}",
                        at(&s.loc),
                        crate::render::fmt_time(t),
                        rest.seq.payload_len(),
                        rest.seq.start(),
                        s
                    )))
                }
            }
        }
        if let Err(why) = self.match_tcp(conn, &rest, &bytes) {
            return Err(Stop::Fail(format!(
                "{}: outbound packet at {} does not match: {why}\n  expected: {}\n  actual:   {} {}",
                at(&s.loc),
                crate::render::fmt_time(t),
                s,
                crate::render::fmt_time(t),
                self.render_actual(&bytes, Some(conn))
            )));
        }
        Ok(())
    }

    fn expect_arp(
        &mut self,
        s: &Statement,
        a: &ArpLine,
        lo: Instant,
        hi: Instant,
    ) -> Result<(), Stop> {
        let (t, bytes) = self.next_out(s, lo, hi)?;
        if let Err(why) = self.match_arp(a, &bytes) {
            return Err(Stop::Fail(format!(
                "{}: outbound packet at {} does not match: {why}\n  expected: {}\n  actual:   {} {}",
                at(&s.loc),
                crate::render::fmt_time(t),
                s,
                crate::render::fmt_time(t),
                self.render_actual(&bytes, self.current)
            )));
        }
        Ok(())
    }

    /// The connection a packet line means (creating it on first use).
    pub(super) fn conn_for(
        &mut self,
        tag: &Option<ConnTag>,
        loc: &Location,
    ) -> Result<usize, Stop> {
        match tag {
            None => Ok(match self.current {
                Some(c) => c,
                None => self.new_conn(None, None),
            }),
            Some(ConnTag::Name(n)) => Ok(match self.labels.get(n) {
                Some(&c) => c,
                None => {
                    let c = self.new_conn(None, None);
                    self.labels.insert(n.clone(), c);
                    c
                }
            }),
            Some(ConnTag::Fd(fd)) => {
                let fd = i64::from(*fd);
                let f =
                    self.fds.get(&fd).cloned().ok_or_else(|| {
                        Stop::Input(input(loc, format!("[fd={fd}]: no such socket")))
                    })?;
                if let Some(c) = f.conn {
                    return Ok(c);
                }
                match f.sock.and_then(|s| self.dut.four_tuple(s)) {
                    Some(t) => {
                        let c = self.conn_of_tuple(t);
                        if let Some(e) = self.fds.get_mut(&fd) {
                            e.conn = Some(c);
                        }
                        Ok(c)
                    }
                    None => Err(Stop::Input(input(
                        loc,
                        format!("[fd={fd}]: the socket has no connection"),
                    ))),
                }
            }
        }
    }

    /// A new connection; it becomes the current one.
    pub(super) fn new_conn(&mut self, peer_port: Option<u16>, stack_port: Option<u16>) -> usize {
        let n = u16::try_from(self.conns.len()).unwrap_or(u16::MAX - PEER_PORT_BASE);
        self.conns.push(Conn {
            peer_port: peer_port.unwrap_or(PEER_PORT_BASE.saturating_add(n)),
            stack_port: stack_port.or(self.listen_port),
            seq_offset: None,
            ts_offset: None,
        });
        let c = self.conns.len() - 1;
        self.current = Some(c);
        c
    }

    /// The connection with this 4-tuple, created if new.
    pub(super) fn conn_of_tuple(&mut self, t: FourTuple) -> usize {
        let found = self.conns.iter().rposition(|c| {
            c.peer_port == t.remote.port() && c.stack_port.is_none_or(|p| p == t.local.port())
        });
        match found {
            Some(c) => {
                self.conns[c].stack_port = Some(t.local.port());
                c
            }
            None => self.new_conn(Some(t.remote.port()), Some(t.local.port())),
        }
    }

    fn trace(&self, kind: &str) -> Trace {
        let mut events = self.events.clone();
        events.sort_by_key(|e| e.time);
        Trace {
            meta: TraceMeta {
                node_names: vec![kind.to_string(), "peer".to_string()],
                node_addrs: vec![vec![STACK_IP], vec![PEER_IP]],
                segment_names: vec!["lan".to_string()],
                stacks: vec![Some(self.dut.evidence()), None],
            },
            events,
            end: self.now,
        }
    }
}

/// For an expected segment `p` and a frame the stack sent: when the frame carries a proper,
/// non-empty prefix of `p`'s payload (of length `run_len` when a GSO run has started), the
/// packet that prefix should match (same fields, PSH and FIN left to the last part), its
/// length, and the rest of `p` still expected.
fn gso_head(
    p: &TcpPacket,
    bytes: &[u8],
    run_len: Option<u16>,
) -> Option<(TcpPacket, u16, TcpPacket)> {
    let crate::script::SeqSpec::Range { start, len, .. } = p.seq else {
        return None;
    };
    let Ok(stack::wire::Frame::Tcp { tcp, .. }) =
        stack::wire::parse_frame(bytes, stack::wire::ChecksumMode::Verify)
    else {
        return None;
    };
    let got = u16::try_from(tcp.payload.len()).ok()?;
    if got == 0 || got >= len || run_len.is_some_and(|r| r != got) {
        return None;
    }
    let mut head = p.clone();
    head.seq = crate::script::SeqSpec::Range {
        start,
        end: start.wrapping_add(u32::from(got)),
        len: got,
    };
    head.flags = TcpFlags(p.flags.0 & !(TcpFlags::PSH.0 | TcpFlags::FIN.0));
    let mut rest = p.clone();
    let next = start.wrapping_add(u32::from(got));
    rest.seq = crate::script::SeqSpec::Range {
        start: next,
        end: next.wrapping_add(u32::from(len - got)),
        len: len - got,
    };
    Some((head, got, rest))
}
