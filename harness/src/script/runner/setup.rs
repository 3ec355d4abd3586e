//! Before the first event: the script's header (`%profile`, `%applies`, `%set`, `%stack`,
//! option lines, sysctl lines) turned into a stack configuration.

use super::NotRun;
use crate::dut::RawSysctl;
use crate::options::{RunError, RunOptions};
use crate::script::{Directive, Location, Script, Statement, StatementKind, Sysctl};
use stack::policy::Profile;
use stack::Duration;

/// packetdrill's default `--tolerance_usecs` (its `config.c` sets 4000 µs).
pub const DEFAULT_TOLERANCE: Duration = Duration::from_micros(4_000);

/// The least tolerance on a stack that runs on the wall clock (`--stack linux`): 20 ms, what
/// packetdrill users pass (`--tolerance_usecs=20000`) to run scripts on real, shared machines.
/// A live kernel's timers fire late under load (its delayed-ACK and retransmission timers run
/// in softirq context, jiffy-granular), by several milliseconds on a busy host; the
/// distinctions the scripts draw (immediate vs delayed ACK, 40 ms vs 200 ms) stay far wider.
pub const REAL_TIME_TOLERANCE: Duration = Duration::from_micros(20_000);

/// `file:line:col`.
pub(super) fn at(loc: &Location) -> String {
    format!("{}:{}:{}", loc.file, loc.line, loc.col)
}

pub(super) fn input(loc: &Location, msg: impl AsRef<str>) -> RunError {
    RunError::at(loc, msg.as_ref())
}

/// What the header lines say.
#[derive(Clone, Debug, Default)]
pub(super) struct Header {
    pub profile: Option<String>,
    pub applies: Option<Vec<String>>,
    pub stack: Option<String>,
    pub sets: Vec<(Location, String, String)>,
    pub tolerance: Option<Duration>,
    pub bind_port: Option<u16>,
    pub connect_port: Option<u16>,
    /// `--tcp_ts_tick_usecs=N`: the TS clock tick the script's `TS val` numbers assume.
    pub ts_tick_usecs: Option<u64>,
    /// The first option line the harness cannot honour, with the feature it needs.
    pub unsupported: Option<(Location, String)>,
}

fn check_profile(loc: &Location, name: &str) -> Result<(), RunError> {
    Profile::named(name)
        .map(|_| ())
        .map_err(|e| input(loc, e.to_string()))
}

impl Header {
    pub fn read(script: &Script) -> Result<Header, RunError> {
        let mut h = Header::default();
        for s in &script.statements {
            match &s.kind {
                StatementKind::Directive(Directive::Profile(p)) => {
                    check_profile(&s.loc, p)?;
                    h.profile = Some(p.clone());
                }
                StatementKind::Directive(Directive::Applies(list)) => {
                    for p in list {
                        check_profile(&s.loc, p)?;
                    }
                    h.applies = Some(list.clone());
                }
                StatementKind::Directive(Directive::Stack(n)) => h.stack = Some(n.clone()),
                StatementKind::Directive(Directive::Set { key, value }) => {
                    h.sets.push((s.loc.clone(), key.clone(), value.clone()))
                }
                StatementKind::Option(o) => h.option(&s.loc, &o.name, o.value.as_deref())?,
                _ => {}
            }
        }
        Ok(h)
    }

    /// packetdrill command-line options we honour; the ones that describe our fixed setup are
    /// accepted when they agree with it; anything else is an error.
    pub(super) fn option(
        &mut self,
        loc: &Location,
        name: &str,
        value: Option<&str>,
    ) -> Result<(), RunError> {
        let v = value.unwrap_or("");
        let num = |what: &str| -> Result<u64, RunError> {
            v.parse::<u64>()
                .map_err(|_| input(loc, format!("--{what} needs a number, got `{v}`")))
        };
        let port = |what: &str| -> Result<u16, RunError> {
            v.parse::<u16>()
                .map_err(|_| input(loc, format!("--{what} needs a port number, got `{v}`")))
        };
        let lacking = match name {
            "tolerance_usecs" => {
                self.tolerance = Some(Duration::from_micros(num(name)?));
                None
            }
            "bind_port" => {
                self.bind_port = Some(port(name)?);
                None
            }
            "connect_port" => {
                self.connect_port = Some(port(name)?);
                None
            }
            "tcp_ts_tick_usecs" => {
                self.ts_tick_usecs = Some(num(name)?);
                None
            }
            // The runner always compares segment by segment (no TSO/GSO coalescing to undo), and
            // prints nothing extra: these change nothing here.
            "strict_segments" | "verbose" | "dry_run" => None,
            "ip_version" if v == "ipv4" => None,
            "ip_version" => Some(format!("--ip_version={v} (the harness drives IPv4 only)")),
            "local_ip" if v == "192.0.2.1" => None,
            "remote_ip" if v == "192.0.2.2" => None,
            "mtu" if v == "1500" => None,
            "local_ip" | "remote_ip" | "mtu" => Some(format!(
                "--{name}={v} (the harness's addresses are fixed: local 192.0.2.1, remote \
                 192.0.2.2, MTU 1500)"
            )),
            _ => Some(format!(
                "option --{name}{} (honoured: --tolerance_usecs, --bind_port, --connect_port, \
                 --tcp_ts_tick_usecs, --strict_segments, --ip_version=ipv4, \
                 --local_ip=192.0.2.1, --remote_ip=192.0.2.2, --mtu=1500)",
                value.map_or(String::new(), |v| format!("={v}"))
            )),
        };
        if let Some(f) = lacking {
            self.unsupported.get_or_insert((loc.clone(), f));
        }
        Ok(())
    }
}

/// True for statements that are events (take time).
pub(super) fn is_event(s: &Statement) -> bool {
    matches!(
        s.kind,
        StatementKind::Tcp(_) | StatementKind::Arp(_) | StatementKind::Syscall(_)
    ) || matches!(&s.kind, StatementKind::Shell(sh) if sh.time.is_some())
}

/// What the header's sysctl lines set up: the profile a run uses, the lines not run, and the
/// raw sysctl writes for a stack that takes them itself.
pub(super) struct Setup {
    pub profile: Profile,
    pub notes: Vec<NotRun>,
    /// With `raw`: every sysctl write before the first event, checked, in order, for
    /// [`crate::dut::Dut::set_sysctl`] (the profile's knobs are then left as named); `Err`
    /// names a write no stack may make (the run is `unsupported` there).
    pub raw: Vec<(Location, Result<RawSysctl, String>)>,
}

/// One sysctl write of a script checked for a stack that takes raw sysctls: `Ok(None)` when
/// no stack may make it (not per network namespace: the run is `unsupported`, naming it),
/// `Err` for a bad name or value (exit 2, at `loc`).
pub(super) fn raw_sysctl(
    loc: &Location,
    sc: &Sysctl,
    cmd: Option<&str>,
) -> Result<Result<RawSysctl, String>, RunError> {
    let inside = cmd.map_or(String::new(), |c| format!("`{c}`: "));
    match RawSysctl::parse(&sc.name, &sc.value) {
        Ok(r) => Ok(Ok(r)),
        Err(e) if e.is_bad_input() => Err(input(loc, format!("{inside}{e}"))),
        Err(e) => Ok(Err(format!("{inside}{e}"))),
    }
}

/// Builds the profile a run uses: the named profile, then `%set` lines, then the sysctl lines
/// before the first event, then `opts.overrides.knobs`. Returns notes for sysctls it skipped.
/// With `raw` (the stack takes raw sysctls) the sysctl lines are not mapped onto knobs but
/// checked and returned for the stack.
pub(super) fn build_profile(
    file: &str,
    header: &Header,
    stmts: &[Statement],
    name: &str,
    opts: &RunOptions,
    raw: bool,
) -> Result<Setup, RunError> {
    let mut p = Profile::named(name).map_err(|e| RunError::file(file, e.to_string()))?;
    for (loc, k, v) in &header.sets {
        p.set(k, v)
            .map_err(|e| input(loc, format!("%set {k}={v}: {e}")))?;
    }
    let mut acc = Acc {
        profile: p,
        profile_name: name,
        raw,
        notes: Vec::new(),
        raws: Vec::new(),
    };
    for s in stmts {
        if is_event(s) && !matches!(&s.kind, StatementKind::Shell(_)) {
            break;
        }
        if let StatementKind::Shell(sh) = &s.kind {
            match &sh.command.sysctls {
                // On a stack that takes raw sysctls a timed write is made at its time.
                Some(_) if raw && sh.time.is_some() => {}
                Some(list) => {
                    for sc in list {
                        acc.sysctl(&s.loc, sc, None)?;
                    }
                }
                // A timed command runs at its time (the runner's shell handling decides).
                None if sh.time.is_some() => {}
                None if super::sourced::read(file, &sh.command.raw).is_some() => {
                    let src = super::sourced::read(file, &sh.command.raw).unwrap_or_default();
                    let cmd = &sh.command.raw;
                    for sc in &src.sysctls {
                        acc.sysctl(&s.loc, sc, Some(cmd))?;
                    }
                    for line in &src.other {
                        acc.notes.push(NotRun {
                            location: s.loc.clone(),
                            what: format!(
                                "`{line}` in `{cmd}` (only sysctl writes are understood)"
                            ),
                        });
                    }
                }
                None => acc.notes.push(NotRun {
                    location: s.loc.clone(),
                    what: format!(
                        "shell command `{}` (only sysctl writes are understood)",
                        sh.command.raw
                    ),
                }),
            }
        }
    }
    for (k, v) in &opts.overrides.knobs {
        acc.profile
            .set(k, v)
            .map_err(|e| RunError::file(file, format!("--set {k}={v}: {e}")))?;
    }
    Ok(Setup {
        profile: acc.profile,
        notes: acc.notes,
        raw: acc.raws,
    })
}

/// The header's sysctl writes as [`build_profile`] gathers them.
struct Acc<'a> {
    profile: Profile,
    profile_name: &'a str,
    raw: bool,
    notes: Vec<NotRun>,
    raws: Vec<(Location, Result<RawSysctl, String>)>,
}

impl Acc<'_> {
    /// One write, at `loc`, inside shell command `cmd` when it came from one.
    fn sysctl(&mut self, loc: &Location, sc: &Sysctl, cmd: Option<&str>) -> Result<(), RunError> {
        if self.raw {
            let r = raw_sysctl(loc, sc, cmd)?;
            self.raws.push((loc.clone(), r));
            return Ok(());
        }
        match map_sysctl(&mut self.profile, &sc.name, &sc.value) {
            Ok(true) => {}
            Ok(false) => self.notes.push(NotRun {
                location: loc.clone(),
                what: format!(
                    "sysctl {}={}{} (not modelled by profile {})",
                    sc.name,
                    sc.value,
                    cmd.map_or(String::new(), |c| format!(" in `{c}`")),
                    self.profile_name
                ),
            }),
            Err(e) => {
                return Err(input(
                    loc,
                    match cmd {
                        Some(c) => format!("`{c}`: {e}"),
                        None => e,
                    },
                ))
            }
        }
        Ok(())
    }
}

fn set(p: &mut Profile, knob: &str, value: &str) -> Result<bool, String> {
    p.set(knob, value).map_err(|e| e.to_string())?;
    Ok(true)
}

fn secs(v: &str) -> Result<String, String> {
    v.trim()
        .parse::<u64>()
        .map(|n| format!("{n}s"))
        .map_err(|_| format!("expected a number of seconds, got `{v}`"))
}

fn millis(v: &str) -> Result<String, String> {
    v.trim()
        .parse::<u64>()
        .map(|n| format!("{n}ms"))
        .map_err(|_| format!("expected a number of milliseconds, got `{v}`"))
}

fn flag(v: &str) -> Result<bool, String> {
    match v.trim() {
        "0" => Ok(false),
        "1" => Ok(true),
        other => Err(format!("expected 0 or 1, got `{other}`")),
    }
}

/// Applies one Linux or FreeBSD sysctl to a profile. `Ok(false)` when the sysctl is not
/// modelled (the caller notes and skips it); `Err` when it is known but the value is bad.
pub fn map_sysctl(p: &mut Profile, name: &str, value: &str) -> Result<bool, String> {
    let v = value.trim();
    match name {
        // Linux ip-sysctl.rst.
        "net.ipv4.tcp_rfc1337" => set(
            p,
            "tcp.time_wait_rst",
            if flag(v)? { "ignore" } else { "close" },
        ),
        "net.ipv4.tcp_keepalive_time" => set(p, "tcp.keepalive.idle", &secs(v)?),
        "net.ipv4.tcp_keepalive_intvl" => set(p, "tcp.keepalive.intvl", &secs(v)?),
        "net.ipv4.tcp_keepalive_probes" => set(p, "tcp.keepalive.probes", v),
        "net.ipv4.tcp_syn_retries" | "net.ipv4.tcp_synack_retries" => set(p, "tcp.syn_retries", v),
        "net.ipv4.tcp_retries2" => set(p, "tcp.max_retries", v),
        "net.ipv4.tcp_challenge_ack_limit" => set(p, "tcp.challenge_ack_limit", v),
        "net.ipv4.tcp_window_scaling" => {
            if !flag(v)? {
                set(p, "tcp.window_scale", "off")
            } else if p.tcp.window_scale.is_none() {
                set(p, "tcp.window_scale", "7")
            } else {
                Ok(true)
            }
        }
        "net.ipv4.tcp_rmem" | "net.ipv4.tcp_wmem" => {
            let parts: Vec<&str> = v.split_whitespace().collect();
            let default = match parts.as_slice() {
                [_, d, _] => *d,
                _ => return Err(format!("expected `min default max`, got `{v}`")),
            };
            let knob = if name.ends_with("rmem") {
                "tcp.rcv_buf"
            } else {
                "tcp.snd_buf"
            };
            if name.ends_with("rmem") && p.tcp.window_scale.is_some() {
                // tcp_output.c tcp_select_initial_window: the shift covers the largest buffer
                // the socket may grow to, max(tcp_rmem[2], rmem_max 212992): "while (space >
                // 65535 && (*rcv_wscale) < TCP_MAX_WSCALE) { space >>= 1; (*rcv_wscale)++; }".
                let max: u64 = parts[2]
                    .parse()
                    .map_err(|_| format!("expected a number of bytes, got `{}`", parts[2]))?;
                let mut space = max.max(212_992);
                let mut ws = 0u8;
                while space > 65_535 && ws < 14 {
                    space >>= 1;
                    ws += 1;
                }
                set(p, "tcp.window_scale", &ws.to_string())?;
            }
            set(p, knob, default)
        }
        "net.ipv4.tcp_timestamps" => set(p, "tcp.timestamps", if flag(v)? { "on" } else { "off" }),
        "net.ipv4.tcp_sack" => set(p, "tcp.sack", if flag(v)? { "on" } else { "off" }),
        // No D-SACK (RFC 2883) is sent: turning it off changes nothing.
        "net.ipv4.tcp_dsack" => Ok(!flag(v)?),
        // Values that are what the stack does anyway: no FACK, no ECN (so no AccECN option
        // policy to apply), no restart window after idle (RFC 5681 §4.1 is not applied), no
        // TCP_NOTSENT_LOWAT limit (4294967295 = unlimited).
        "net.ipv4.tcp_fack" => Ok(!flag(v)?),
        "net.ipv4.tcp_ecn" => Ok(v == "0"),
        "net.ipv4.tcp_ecn_option" => Ok(true),
        "net.ipv4.tcp_slow_start_after_idle" => Ok(!flag(v)?),
        "net.ipv4.tcp_notsent_lowat" => Ok(v == "4294967295"),
        // FreeBSD tcp(4).
        "net.inet.tcp.insecure_rst" => set(p, "tcp.rfc5961", if flag(v)? { "off" } else { "on" }),
        "net.inet.tcp.keepidle" => set(p, "tcp.keepalive.idle", &millis(v)?),
        "net.inet.tcp.keepintvl" => set(p, "tcp.keepalive.intvl", &millis(v)?),
        "net.inet.tcp.keepcnt" => set(p, "tcp.keepalive.probes", v),
        "net.inet.tcp.always_keepalive" => set(
            p,
            "tcp.keepalive.enabled",
            if flag(v)? { "on" } else { "off" },
        ),
        "net.inet.tcp.msl" => set(p, "tcp.msl", &millis(v)?),
        "net.inet.tcp.delayed_ack" => {
            if flag(v)? {
                Ok(p.tcp.delayed_ack.is_some())
            } else {
                set(p, "tcp.delayed_ack", "off")
            }
        }
        "net.inet.tcp.delacktime" => set(p, "tcp.delayed_ack", &millis(v)?),
        "net.inet.tcp.rfc1323" => {
            if flag(v)? {
                Ok(p.tcp.window_scale.is_some())
            } else {
                set(p, "tcp.window_scale", "off")
            }
        }
        "net.inet.tcp.insecure_syn" => {
            set(p, "tcp.insecure_syn", if flag(v)? { "on" } else { "off" })
        }
        "net.inet.tcp.drop_synfin" => {
            set(p, "tcp.drop_synfin", if flag(v)? { "on" } else { "off" })
        }
        "net.inet.tcp.sack.enable" => set(p, "tcp.sack", if flag(v)? { "on" } else { "off" }),
        "net.inet.tcp.recvspace" => set(p, "tcp.rcv_buf", v),
        "net.inet.tcp.sendspace" => set(p, "tcp.snd_buf", v),
        "net.inet.tcp.rexmit_initial" => set(p, "tcp.rto_initial", &millis(v)?),
        "net.inet.tcp.rexmit_min" => set(p, "tcp.rto_min", &millis(v)?),
        // kern.ipc.maxsockbuf bounds socket buffers; FreeBSD offers the smallest window scale
        // that covers it (tcp_syncache.c: `while (wscale < TCP_MAX_WINSHIFT && (TCP_MAXWIN <<
        // wscale) < sb_max) wscale++`).
        "kern.ipc.maxsockbuf" => {
            let max: u64 = v
                .parse()
                .map_err(|_| format!("expected a number of bytes, got `{v}`"))?;
            if p.tcp.window_scale.is_none() {
                return Ok(true);
            }
            let mut ws = 0u8;
            while ws < 14 && (65_535u64 << ws) < max {
                ws += 1;
            }
            set(p, "tcp.window_scale", &ws.to_string())
        }
        // No host cache: nothing to purge. Blackhole 0 is the RFC 9293 behaviour (RST for
        // segments to closed ports) the stack always has.
        "net.inet.tcp.hostcache.purgenow" => Ok(true),
        "net.inet.tcp.blackhole" => Ok(v == "0"),
        // ECN: 0 never, 2 only answer a peer that asks; the stack never asks, and scripts that
        // ask (ECE/CWR on a SYN) are reported unsupported at that line.
        "net.inet.tcp.ecn.enable" => Ok(v == "0" || v == "2"),
        _ => Ok(false),
    }
}
