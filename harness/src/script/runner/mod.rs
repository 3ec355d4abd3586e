//! The script runner: plays the remote peer of a script against one stack under test, on a
//! virtual clock, and judges every frame and every system call the script mentions.
//!
//! # Model (after packetdrill's `run_packet.c` / `run_system_call.c`)
//! * **Addresses.** The stack under test is 192.0.2.1/24 (MAC 02:00:00:00:00:01); the scripted
//!   peer is 192.0.2.2 (MAC 02:00:00:00:00:02). Listeners use the port of the script's `bind`
//!   (default 8080, or `--bind_port`); `connect` goes to the port in its sockaddr (default 8080,
//!   or `--connect_port`). The peer's port for passively opened connections is 40000, then
//!   40001, ... for each further connection (`<[c2] S ...`).
//! * **ARP.** A script without ARP lines gets the peer as a static neighbour (ARP never shows);
//!   a script with ARP lines must script the exchange (`> arp who-has ...`, `< arp reply ...`).
//! * **Sequence numbers.** Inbound `seq` values are sent as written (the script chooses the
//!   peer's ISN). The stack's ISN is learned from its SYN or SYN-ACK: the offset between the
//!   live and the scripted `seq` of that segment is added to inbound `ack` values and to the
//!   blocks of inbound `sack` options, and subtracted from outbound `seq` values before they are
//!   compared. Outbound `ack` values and `sack` blocks are in the peer's space, so they are
//!   compared as written. Before the stack has sent a SYN on a connection the offset is 0.
//! * **Timestamps.** The reference stack does not implement RFC 7323 timestamps; inbound
//!   `TS val X ecr Y` are sent as written, and outbound `TS val` is not compared (its `ecr`,
//!   which echoes the peer's value, is).
//! * **Time.** Virtual and exact to the microsecond. Between events the clock jumps to the
//!   stack's `poll_at` deadlines. An outbound packet must appear within the tolerance
//!   (packetdrill's default `--tolerance_usecs=4000`; at least
//!   `setup::REAL_TIME_TOLERANCE` on a stack that runs on the wall clock, which may also be
//!   an eighth of the interval late: its timer wheel's rounding) of its scripted time, inside
//!   its range,
//!   or at any time for `*` (within an hour of virtual time). Relative times count from the
//!   previous event; after an outbound packet, from the time it actually appeared (as
//!   packetdrill's `adjust_relative_event_times`). Any outbound frame the script did not expect
//!   before its next `>` line, or within [`DRAIN_WINDOW`] after the last line, is a failure.
//! * **System calls.** File descriptors start at 3, lowest free first. Sockets are blocking
//!   unless `SOCK_NONBLOCK` or `fcntl(F_SETFL, O_NONBLOCK)`; a blocking `accept`, `connect`,
//!   `read` or `write` that cannot complete waits while the script goes on, and returns when the
//!   stack lets it (at its `...END` time, within the tolerance, when one is given). A
//!   non-blocking `connect` returns `-1 EINPROGRESS`.
//! * **Failure output.** The first mismatch stops the run and is reported as
//!   `file:line:col: what`, then `expected:` (the script line) and `actual:` (the frame in the
//!   same syntax, relative sequence numbers).

mod calls;
mod check;
mod code;
mod engine;
mod setup;
mod shell;
mod sourced;
mod wire;

#[cfg(test)]
mod tests;

use crate::options::{RunError, RunOptions};
use crate::oracle::Finding;
use crate::script::{parse, Script, Statement, StatementKind};
use crate::trace::Trace;
use std::collections::BTreeSet;

pub use check::check;
pub use engine::{
    Unsupported, DEFAULT_PORT, DRAIN_WINDOW, PEER_IP, PEER_MAC, PEER_PORT_BASE, STACK_IP, STACK_MAC,
};
pub use setup::{map_sysctl, DEFAULT_TOLERANCE};

/// Everything one run of a script under one profile produced.
#[derive(Clone, Debug)]
pub struct ScriptOutcome {
    pub file: String,
    pub profile: String,
    pub passed: bool,
    /// Not run, and why (a live stack's real-time budget): the `skipped` outcome.
    pub skipped: Option<String>,
    /// The feature the run stopped for (`passed` is then false and `failures` empty).
    pub unsupported: Option<Unsupported>,
    /// The first mismatch (with its location and the expected/actual lines), then any failed
    /// `%expect` lines.
    pub failures: Vec<String>,
    /// Lines the runner could not run as written (shell commands, sysctls the profile does not
    /// map), each with its location. A run with any is not a pass (it is `unsupported`).
    pub notes: Vec<NotRun>,
    pub findings: Vec<Finding>,
    /// Kinds the oracles could not judge on the stack, and why.
    pub cannot_judge: Vec<crate::oracle::CannotJudge>,
    /// One line per frame: virtual time, `<` (injected) or `>` (sent by the stack), then the frame
    /// with relative sequence numbers ([`crate::render::render_timeline`]).
    pub timeline: String,
    pub trace: Trace,
}

/// True when the script uses the harness's own dialect (any `%` directive or `%if` block): its
/// findings must then be expected (`%expect`), as in the suite's scripts. A plain packetdrill
/// script is judged as packetdrill judges it (packets, timing, call results); its findings are
/// reported but fail it only with `--strict-findings`.
pub fn uses_harness_directives(script: &Script) -> bool {
    fn any(stmts: &[Statement]) -> bool {
        stmts.iter().any(|s| match &s.kind {
            StatementKind::Directive(_) | StatementKind::IfProfile(_) => true,
            StatementKind::IfDef(b) => any(&b.then) || any(&b.otherwise),
            _ => false,
        })
    }
    any(&script.statements)
}

/// A line of a script that was not run as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotRun {
    pub location: crate::location::Location,
    /// What was not run, and why.
    pub what: String,
}

impl std::fmt::Display for NotRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: not run: {}", self.location, self.what)
    }
}

/// The profiles a script runs under, in order: its `%applies` list (restricted to
/// `opts.overrides.profile` when that is set), else the override, its `%profile`, or `rfc9293`.
pub fn profiles_to_run(script: &Script, opts: &RunOptions) -> Result<Vec<String>, RunError> {
    let header = setup::Header::read(script)?;
    let over = opts.overrides.profile.as_deref();
    Ok(match &header.applies {
        Some(list) => list
            .iter()
            .filter(|p| over.is_none_or(|o| o == p.as_str()))
            .cloned()
            .collect(),
        None => vec![over
            .map(str::to_string)
            .or(header.profile.clone())
            .unwrap_or_else(|| "rfc9293".to_string())],
    })
}

/// Parses `script_text` and runs it once under `profile` (or the first profile it runs under).
/// `Err` only for bad input (parse errors, unsupported calls or options, unknown knobs).
pub fn run_script(
    script_text: &str,
    file: &str,
    profile: Option<&str>,
    opts: &RunOptions,
) -> Result<ScriptOutcome, RunError> {
    let script = parse(file, script_text).map_err(|e| RunError::Input(e.into()))?;
    let profile = match profile {
        Some(p) => p.to_string(),
        None => {
            let all = profiles_to_run(&script, opts)?;
            all.into_iter()
                .next()
                .unwrap_or_else(|| "rfc9293".to_string())
        }
    };
    run_parsed(&script, &profile, opts)
}

/// Runs a parsed script under one profile.
pub fn run_parsed(
    script: &Script,
    profile: &str,
    opts: &RunOptions,
) -> Result<ScriptOutcome, RunError> {
    let stmts = flatten(&script.statements, profile, &defines_for(profile, opts));
    engine::execute(script, &stmts, profile, opts)
}

/// The names `#ifdef` sees under `profile`: the profile's own (`freebsd` defines `FreeBSD`, as
/// the FreeBSD tcp-testsuite expects of a FreeBSD host; `linux` defines `linux`, as the C
/// preprocessor does there), then `--define NAME[=VALUE]` from the command line.
pub fn defines_for(profile: &str, opts: &RunOptions) -> BTreeSet<String> {
    let mut out: BTreeSet<String> = profile_defines(profile)
        .iter()
        .map(|s| (*s).to_string())
        .collect();
    out.extend(opts.overrides.defines.iter().map(|(n, _)| n.clone()));
    out
}

/// The names a profile defines for `#ifdef`.
pub fn profile_defines(profile: &str) -> &'static [&'static str] {
    match profile {
        "freebsd" => &["FreeBSD"],
        "linux" => &["linux"],
        _ => &[],
    }
}

/// The statements that apply under `profile` and `defines`: `%if profile=...` and `#ifdef`
/// blocks resolved, in order.
pub fn flatten(stmts: &[Statement], profile: &str, defines: &BTreeSet<String>) -> Vec<Statement> {
    let mut out = Vec::new();
    for s in stmts {
        match &s.kind {
            StatementKind::IfProfile(b) => {
                let branch = if b.profiles.iter().any(|p| p == profile) {
                    &b.then
                } else {
                    &b.otherwise
                };
                out.extend(flatten(branch, profile, defines));
            }
            StatementKind::IfDef(b) => {
                let branch = if defines.contains(&b.name) != b.negated {
                    &b.then
                } else {
                    &b.otherwise
                };
                out.extend(flatten(branch, profile, defines));
            }
            _ => out.push(s.clone()),
        }
    }
    out
}
