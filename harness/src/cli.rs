//! The subcommands behind `harness` (kept in the library so tests can call them).

use crate::run::{self, RunOptions};
use crate::scenario::Overrides;
use clap::{Parser, Subcommand, ValueEnum};
use stack::policy::Profile;
use std::path::{Path, PathBuf};

/// The command line: `harness <COMMAND> ...` (clap parses straight into [`Command`]).
#[derive(Debug, Parser)]
#[command(
    name = "harness",
    version,
    about = "Fuzzing and conformance harness for TCP and ARP",
    long_about = "Runs packetdrill-style conformance scripts and multi-host scenarios against TCP \
stacks on a virtual clock, reports RST loss, TIME-WAIT assassination and half-open connections, \
and draws exchanges as ladder diagrams.\n\nExit codes: 0 all passed / nothing found, 1 a failure \
or finding, 2 bad usage or bad input."
)]
pub struct Cli {
    #[command(subcommand)]
    pub cmd: Command,
}

/// Output format of `run` (and other reporting commands).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For people: one line per run, then a table per group.
    #[default]
    Text,
    /// For machines: one object `{"summary": ..., "results": [...], "findings": [...]}`
    /// (schema: docs/json.md).
    Json,
}

/// How `harness run` judges and shows results.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::Args)]
pub struct Judging {
    /// Fail plain packetdrill scripts (no `%` directives) on any finding no `%expect` covers,
    /// as the harness's own scripts always are. Without it such scripts are judged as
    /// packetdrill judges them (packets, timing, call results) and findings are only reported.
    #[arg(long)]
    pub strict_findings: bool,
    /// Judge without the files' expectations (`[[expect]]`, `[outcome]`, `%expect`): any
    /// finding fails (exit 1). For "what if I change this knob" on an incident file.
    #[arg(long)]
    pub ignore_expectations: bool,
    /// Print only the runs that did not pass, then the table.
    #[arg(long, short)]
    pub quiet: bool,
}

/// `harness bench <WHAT>`.
#[derive(Debug, Subcommand)]
pub enum BenchCmd {
    /// Bulk transfer between two hosts over an in-memory Ethernet link (checksums on,
    /// 1514-byte frames, 64 KiB buffers): the reference stack beside smoltcp on the same
    /// workload, alternating runs; prints frames/s, MiB/s and the ratio.
    Bulk {
        /// MiB transferred per run.
        #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..))]
        mib: u64,
        /// Runs per stack (alternating); the median is reported.
        #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
        rounds: u32,
    },
}

/// A parsed command line.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run scripts (.pkt) and scenarios (.toml); directories are searched recursively.
    Run {
        /// Files or directories (default: conformance/).
        paths: Vec<PathBuf>,
        /// The stack under test.
        #[arg(long, default_value = "reference")]
        stack: String,
        /// A named profile for every host/stack (default: what each file asks for).
        #[arg(long)]
        profile: Option<String>,
        /// Override one knob, e.g. tcp.time_wait_rst=ignore (repeatable).
        #[arg(long = "set", value_name = "KNOB=VALUE")]
        set: Vec<String>,
        /// Write pcaps of every run into this directory.
        #[arg(long)]
        pcap_dir: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Parallel workers (runs are independent; output order does not change).
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
        jobs: u32,
        /// Seed for scenarios (default: what each file says).
        #[arg(long)]
        seed: Option<u64>,
        /// How results are judged and shown.
        #[command(flatten)]
        judging: Judging,
        /// Real-time budget per script on a live stack (`--stack linux`), in seconds: a script
        /// whose timeline needs longer is not run and is reported with the time it would need.
        #[arg(long, default_value_t = 60.0)]
        max_real_time: f64,
        /// Also write one self-contained HTML page here: the outcome table, every finding with
        /// its cause, evidence frames, RFC text and a ladder of the exchange around it, and
        /// links to the pcaps (written to OUT-pcaps/ beside it unless --pcap-dir is given).
        #[arg(long, value_name = "OUT.html")]
        report: Option<PathBuf>,
    },
    /// List profiles, or print every knob of one profile.
    Profiles {
        /// A profile name.
        name: Option<String>,
    },
    /// List the stacks under test (`--stack` names) with what each declares: virtual or real
    /// time, event log, state introspection, reboot, neighbour-cache control, raw sysctls (a
    /// script's sysctl lines written in its own namespace), whether it can
    /// run here, and knob by knob whether it honours the shared vocabulary (`harness profiles`)
    /// or has it fixed or refuses it, with the reason.
    Stacks {
        /// One stack's name (every registered stack when absent).
        name: Option<String>,
        /// Output format (`--json` is short for `--format json`): `{"stacks": [...]}`.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        #[arg(long, hide = true)]
        json: bool,
    },
    /// What a finding kind means, the RFC text, the incident it comes from, the usual fixes.
    /// Without KIND: every kind in one line.
    Explain {
        /// rst-loss, half-open, time-wait-assassination, deliberate-abort, stale-reuse,
        /// nat-expiry, keepalive-detection, rfc-violation.
        kind: Option<String>,
    },
    /// Benchmark the simulator: N clients idling H hours through a NAT with keepalive 300 s.
    /// Prints wall time, simulated events per second and memory per connection (live heap,
    /// counted by the allocator); a sweep (--clients 1000,10000,100000) adds a table and the
    /// fitted scaling exponent. `harness bench bulk`: bulk transfer, reference vs smoltcp.
    /// Progress goes to stderr when it is a terminal.
    Bench {
        #[command(subcommand)]
        what: Option<BenchCmd>,
        /// Clients, or a comma-separated sweep.
        #[arg(long, value_delimiter = ',', default_value = "1000", value_parser = clap::value_parser!(u32).range(1..))]
        clients: Vec<u32>,
        #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..))]
        hours: u32,
        /// Keep every frame in the trace (as scenario runs do) and run the oracles.
        #[arg(long)]
        capture: bool,
        /// Print the generated scenario instead of running it.
        #[arg(long)]
        print_scenario: bool,
        /// After the run, take the world apart piece by piece and print what each part held
        /// (client stacks, recorders, apps, server, NAT, routers, the world itself) in bytes per
        /// connection, counted by the allocator as each part is freed.
        #[arg(long)]
        breakdown: bool,
        /// No progress bar on stderr.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Search for failures: rst-loss | time-wait-assassination | half-open | all.
    /// Writes each minimised finding as a scenario + pcap and prints the command that replays it.
    /// Shows a progress bar on stderr while hunting when stderr is a terminal (nothing otherwise)
    /// and a one-line summary at the end; --quiet silences both.
    Hunt {
        family: String,
        /// The stack of every host under test, those running --profile (reproducers name it, so
        /// they replay on it); fixed-profile peers stay on the reference stack. Runs the stack
        /// refuses are counted in an `unsupported:` line with the reason.
        #[arg(long, default_value = "reference")]
        stack: String,
        /// The profile searched (the stack configuration of every host).
        #[arg(long, default_value = "rfc9293")]
        profile: String,
        /// Override one knob, repeatable.
        #[arg(long = "set", value_name = "KNOB=VALUE")]
        set: Vec<String>,
        /// Budget: number of runs.
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
        runs: Option<u64>,
        /// Budget: wall-clock seconds (default 30 when --runs is not given).
        #[arg(long)]
        seconds: Option<f64>,
        /// Same seed, same search.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Where minimised reproducers go (default: a new temporary directory, printed).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Worker threads (default: the available cores). The findings are the same for any
        /// number: cases are drawn in one seeded sequence and judged in that order.
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
        jobs: Option<u32>,
        /// No progress bar and no summary line on stderr (the findings still go to stdout).
        #[arg(long, short)]
        quiet: bool,
        /// Also write one self-contained HTML page: each distinct finding's reproducer run
        /// again, with its evidence, RFC text, a ladder and links to its pcaps.
        #[arg(long, value_name = "OUT.html")]
        report: Option<PathBuf>,
        /// Also print (on stderr) where the time went, per thread: cases run, time running, shrinking,
        /// drawing and merging, CPU time and time spent waiting for a core, the serial fraction
        /// and the speed-up it allows (for measuring --jobs on a busy machine).
        #[arg(long)]
        stats: bool,
    },
    /// Draw a pcap, script or scenario run as a ladder diagram.
    ///
    /// By default every connection of the first segment is drawn, connections that did exactly
    /// the same thing are drawn once with a "× N the same: ..." line, quiet stretches are
    /// folded into one "… 118 s idle …" line, and lines fit the terminal (160 columns when
    /// stdout is not a terminal). Findings are marked beside the host they happened on; a packet
    /// lost in its sender's ARP queue ends in an X beside the sender, a frame lost on the wire
    /// ends in an X halfway.
    #[command(verbatim_doc_comment)]
    Ladder {
        file: PathBuf,
        /// Also write SVG here (same choices as the text).
        #[arg(long)]
        svg: Option<PathBuf>,
        /// Which host, connection or finding to show.
        #[command(flatten)]
        selection: crate::ladder::Selection,
        /// Widest line in characters (0: no limit; default: the terminal, else 160).
        #[arg(long)]
        width: Option<usize>,
        /// Fold quiet stretches at least this many seconds long (0: never).
        #[arg(long, default_value_t = 10.0, value_name = "SECS")]
        fold: f64,
        /// List the connections (index, 4-tuple, frames) instead of drawing.
        #[arg(long = "conns")]
        list_conns: bool,
    },
    /// Run a script or scenario once and keep the capture of every segment: OUT.pcapng holds
    /// one interface per segment; OUT.pcap of a multi-segment run becomes `OUT.<segment>.pcap` each.
    Record {
        file: PathBuf,
        /// The stack under test.
        #[arg(long, default_value = "reference")]
        stack: String,
        /// Where the capture goes (.pcapng or .pcap).
        #[arg(long)]
        pcap: PathBuf,
    },
    /// Trace conformance of recorded captures (pcap/pcapng) against the reference model:
    /// per TCP connection the first divergence (frame numbers, expected vs actual), plus the
    /// findings the frames prove. Exit 0 clean, 1 divergence or finding, 2 bad input.
    Check {
        /// Capture files.
        #[arg(required = true)]
        pcaps: Vec<PathBuf>,
        /// The endpoint under test (default: guessed, and said so).
        #[arg(long)]
        dut: Option<std::net::Ipv4Addr>,
        /// Judge against one profile (default: the profile that explains the capture best).
        #[arg(long, conflicts_with = "best_profile")]
        profile: Option<String>,
        /// Rank every profile by how much of the capture it explains, and print the ranking.
        #[arg(long)]
        best_profile: bool,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Also write one self-contained HTML page: every capture, its divergences, each
        /// finding with its evidence, RFC text and a ladder drawn from the capture, and a link
        /// to the capture.
        #[arg(long, value_name = "OUT.html")]
        report: Option<PathBuf>,
    },
    /// Re-drive a stack with the peer's side of a recording (sequence numbers rewritten onto
    /// the stack's ISN, recorded timing on the virtual clock) and compare what it sends with
    /// what the recorded DUT sent. Exit 0 same behaviour, 1 divergence, 2 bad input.
    Replay {
        pcap: PathBuf,
        /// The stack re-driven.
        #[arg(long, default_value = "reference")]
        stack: String,
        /// The endpoint whose behaviour is compared (default: guessed, and said so).
        #[arg(long)]
        dut: Option<std::net::Ipv4Addr>,
        /// The stack's profile (default rfc9293).
        #[arg(long, default_value = "rfc9293")]
        profile: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
}

/// Runs a command; `Ok(exit code)`, or `Err` for bad input (exit 2).
pub fn dispatch(cmd: Command) -> Result<u8, String> {
    match cmd {
        Command::Run {
            paths,
            stack,
            profile,
            set,
            pcap_dir,
            format,
            jobs,
            seed,
            judging,
            max_real_time,
            report,
        } => {
            if !(max_real_time.is_finite() && max_real_time > 0.0) {
                return Err("--max-real-time must be a positive number of seconds".into());
            }
            let budget = stack::Duration::from_micros((max_real_time * 1e6) as u64);
            run_cmd(
                paths,
                stack,
                profile,
                set,
                pcap_dir,
                format == Format::Json,
                jobs as usize,
                seed,
                judging,
                budget,
                report,
            )
        }
        Command::Profiles { name } => profiles(name.as_deref()),
        Command::Stacks { name, format, json } => {
            stacks(name.as_deref(), json || format == Format::Json)
        }
        Command::Explain { kind } => crate::explain::command(kind.as_deref()),
        Command::Bench {
            what: Some(BenchCmd::Bulk { mib, rounds }),
            ..
        } => crate::bench::bulk::command(mib, rounds),
        Command::Bench {
            clients,
            hours,
            print_scenario: true,
            ..
        } => match clients.as_slice() {
            [n] => {
                print!("{}", crate::bench::nat_idle_scenario(*n, hours));
                Ok(0)
            }
            _ => Err("--print-scenario takes one --clients value".into()),
        },
        Command::Bench {
            clients,
            hours,
            capture,
            quiet,
            breakdown,
            ..
        } => crate::bench::command(
            &clients,
            hours,
            capture,
            breakdown,
            crate::progress::Verbosity::from_quiet(quiet),
        ),
        Command::Hunt {
            family,
            stack,
            profile,
            set,
            runs,
            seconds,
            seed,
            out,
            jobs,
            quiet,
            report,
            stats,
        } => {
            Profile::named(&profile).map_err(|e| e.to_string())?;
            crate::stacks::registry()
                .get(&stack)
                .map_err(|e| e.to_string())?;
            if family != "all" {
                crate::hunt::Family::parse_named(&family)?;
            }
            if let Some(r) = &report {
                writable_output(r)?;
            }
            let knobs = parse_sets(&set)?;
            if seconds.is_some_and(|s| !(s.is_finite() && s > 0.0)) {
                return Err("--seconds must be a positive number".into());
            }
            let seconds = if runs.is_none() && seconds.is_none() {
                Some(30.0)
            } else {
                seconds
            };
            // Nothing is written where nobody asked: without --out, a new temporary directory.
            let out = match out {
                Some(o) => o,
                None => {
                    let d = std::env::temp_dir()
                        .join(format!("harness-hunt-{}-seed{seed}", std::process::id()));
                    println!("reproducers go to {} (choose with --out DIR)", d.display());
                    d
                }
            };
            crate::hunt::command(
                &family,
                crate::hunt::HuntConfig {
                    families: Vec::new(),
                    stack,
                    profile,
                    knobs,
                    seed,
                    runs,
                    seconds,
                    out,
                    jobs: jobs.map_or_else(crate::hunt::default_jobs, |j| j as usize),
                },
                crate::progress::Verbosity::from_quiet(quiet),
                report.as_deref(),
                stats,
            )
        }
        Command::Ladder {
            file,
            svg,
            selection,
            width,
            fold,
            list_conns,
        } => {
            if list_conns {
                return list_connections(&file);
            }
            ladder(&file, svg.as_deref(), &selection, width, fold)
        }
        Command::Record { file, stack, pcap } => record(&file, &stack, &pcap),
        Command::Check {
            pcaps,
            dut,
            profile,
            best_profile,
            format,
            report,
        } => {
            if let Some(p) = &profile {
                Profile::named(p).map_err(|e| e.to_string())?;
            }
            if let Some(r) = &report {
                writable_output(r)?;
            }
            let opts = crate::check::CheckOptions {
                dut,
                profile,
                ..Default::default()
            };
            Ok(crate::check::command(
                &pcaps,
                &opts,
                format == Format::Json,
                best_profile,
                report.as_deref(),
            ))
        }
        Command::Replay {
            pcap,
            stack,
            dut,
            profile,
            format,
        } => {
            Profile::named(&profile).map_err(|e| e.to_string())?;
            crate::stacks::registry()
                .get(&stack)
                .map_err(|e| e.to_string())?;
            let opts = crate::check::CheckOptions {
                dut,
                profile: Some(profile),
                stack,
                ..Default::default()
            };
            Ok(crate::check::command(
                &[pcap],
                &opts,
                format == Format::Json,
                false,
                None,
            ))
        }
    }
}

fn parse_sets(set: &[String]) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for s in set {
        let (k, v) = s
            .split_once('=')
            .ok_or_else(|| format!("--set {s}: expected KNOB=VALUE"))?;
        // Validate the knob and value now, against the default profile.
        Profile::default()
            .set(k.trim(), v.trim())
            .map_err(|e| format!("--set {s}: {e}"))?;
        out.push((k.trim().to_string(), v.trim().to_string()));
    }
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
fn run_cmd(
    paths: Vec<PathBuf>,
    stack: String,
    profile: Option<String>,
    set: Vec<String>,
    pcap_dir: Option<PathBuf>,
    json: bool,
    jobs: usize,
    seed: Option<u64>,
    judging: Judging,
    max_real_time: stack::Duration,
    report: Option<PathBuf>,
) -> Result<u8, String> {
    crate::stacks::registry()
        .get(&stack)
        .map_err(|e| e.to_string())?;
    if let Some(p) = &profile {
        Profile::named(p).map_err(|e| e.to_string())?;
    }
    let knobs = parse_sets(&set)?;
    if let Some(r) = &report {
        writable_output(r)?;
    }
    let paths = if paths.is_empty() {
        vec![PathBuf::from("conformance")]
    } else {
        paths
    };
    let opts = RunOptions {
        stack: Some(stack.clone()),
        overrides: Overrides {
            profile,
            knobs,
            seed,
            stack: Some(stack.clone()),
            ..Overrides::default()
        },
        strict_findings: judging.strict_findings,
        ignore_expectations: judging.ignore_expectations,
        // A report links to pcaps: written next to it unless asked elsewhere.
        pcap_dir: pcap_dir.or_else(|| report.as_deref().map(report_pcap_dir)),
        max_real_time: Some(max_real_time),
    };
    let expectations =
        crate::expect::Expectations::find(&paths, &stack).map_err(|e| e.to_string())?;
    let mut results = run::run_paths(&paths, &opts, jobs)?;
    if let Some(e) = &expectations {
        e.apply(&mut results);
    }
    // Broken inputs also go to stderr, one line per error, so they are seen with any format.
    for r in &results {
        if let crate::outcome::Outcome::InputError { errors } = &r.outcome {
            for e in errors {
                eprintln!("harness: {e}");
            }
        }
    }
    if json {
        println!("{}", run::render_json(&results));
    } else {
        print!("{}", run::render_text(&results, judging.quiet));
    }
    if let Some(out) = &report {
        let title = format!(
            "harness run {}",
            paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(" ")
        );
        crate::report::write(out, &title, &results, &mut crate::report::rerun(&opts))?;
    }
    Ok(run::exit_code(&results))
}

/// `out.html` -> `out-pcaps/` beside it.
fn report_pcap_dir(report: &Path) -> PathBuf {
    let stem = report
        .file_stem()
        .map_or("report".into(), |s| s.to_string_lossy().into_owned());
    report.with_file_name(format!("{stem}-pcaps"))
}

fn profiles(name: Option<&str>) -> Result<u8, String> {
    match name {
        None => {
            for n in Profile::names() {
                let p = Profile::named(n).map_err(|e| e.to_string())?;
                println!("{n:<10} {}", p.description);
            }
        }
        Some(n) => {
            let p = Profile::named(n).map_err(|e| e.to_string())?;
            println!("profile {}: {}", p.name, p.description);
            for k in p.knobs() {
                println!("{:<32} = {:<14} # {}", k.name, k.value, k.doc);
            }
            println!();
            println!("SYN sent:   {}", crate::profile_view::syn_line(&p));
            println!("ACK policy: {}", crate::profile_view::ack_policy(&p));
        }
    }
    Ok(0)
}

fn stacks(name: Option<&str>, json: bool) -> Result<u8, String> {
    let views = crate::stacks::list::views(crate::stacks::registry(), name)?;
    if json {
        let v = serde_json::json!({ "stacks": views });
        println!(
            "{}",
            serde_json::to_string_pretty(&v).map_err(|e| e.to_string())?
        );
    } else {
        let texts: Vec<String> = views.iter().map(|v| v.text()).collect();
        print!("{}", texts.join("\n"));
    }
    Ok(0)
}

/// Lines of a ladder that goes to a file or a pipe.
pub const DEFAULT_LADDER_WIDTH: usize = 160;

fn ladder(
    file: &Path,
    svg: Option<&Path>,
    sel: &crate::ladder::Selection,
    width: Option<usize>,
    fold: f64,
) -> Result<u8, String> {
    if !(fold.is_finite() && fold >= 0.0) {
        return Err(format!("--fold {fold}: expected seconds >= 0"));
    }
    let mut ladder = crate::capture::ladder_of(file, sel)?;
    ladder.width = match width {
        Some(0) => None,
        Some(w) => Some(w),
        None => Some(terminal_width().unwrap_or(DEFAULT_LADDER_WIDTH)),
    };
    ladder.fold_idle =
        (fold > 0.0).then(|| stack::Duration::from_micros((fold * 1e6).round() as u64));
    print!("{}", crate::ladder::ladder_text(&ladder));
    if let Some(out) = svg {
        write_atomically(out, crate::ladder::ladder_svg(&ladder).as_bytes())?;
    }
    Ok(0)
}

/// The width of the terminal stdout is, when it is one.
fn terminal_width() -> Option<usize> {
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() {
        return None;
    }
    console::Term::stdout()
        .size_checked()
        .map(|(_, cols)| usize::from(cols))
}

fn list_connections(file: &Path) -> Result<u8, String> {
    for (i, (conn, frames)) in crate::capture::connections_of(file)?.iter().enumerate() {
        println!("{:>4}  {conn}  {frames} frames", i + 1);
    }
    Ok(0)
}

/// Writes `bytes` to a temporary name next to `path`, then renames it into place: a reader
/// never sees half a file, and a failed write leaves nothing behind.
/// Refuses an output path whose folder does not exist, before any work is done (a long hunt
/// must not end in "No such file or directory").
pub fn writable_output(path: &Path) -> Result<(), String> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if path.file_name().is_none() {
        return Err(format!("{}: not a file name", path.display()));
    }
    if !dir.is_dir() {
        return Err(format!(
            "{}: its folder {} does not exist",
            path.display(),
            dir.display()
        ));
    }
    Ok(())
}

pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let name = path
        .file_name()
        .ok_or_else(|| format!("{}: not a file name", path.display()))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".{}.tmp", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    let res = std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = res {
        let _ = std::fs::remove_file(&tmp);
        return Err(format!("{}: {e}", path.display()));
    }
    Ok(())
}

/// `harness record`: one run, every segment kept. A `.pcapng` output holds one interface per
/// segment; a `.pcap` output of a run with several segments becomes one file per segment
/// (`OUT.<segment>.pcap`). The output says which.
fn record(file: &Path, stack: &str, pcap: &Path) -> Result<u8, String> {
    crate::stacks::registry()
        .get(stack)
        .map_err(|e| e.to_string())?;
    let opts = RunOptions {
        stack: Some(stack.to_string()),
        overrides: Overrides {
            stack: Some(stack.to_string()),
            ..Overrides::default()
        },
        ..RunOptions::default()
    };
    let trace = crate::capture::trace_with(file, &opts)?;
    let names = &trace.meta.segment_names;
    let frames: Vec<(usize, stack::Instant, Vec<u8>)> = trace
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            crate::trace::TraceKind::Frame(f) => Some((f.segment.0, f.time, f.bytes.clone())),
            _ => None,
        })
        .collect();
    let per_segment: Vec<String> = names
        .iter()
        .enumerate()
        .map(|(i, n)| format!("{n} {}", frames.iter().filter(|f| f.0 == i).count()))
        .collect();
    let is_ng = pcap.extension().and_then(|e| e.to_str()) == Some("pcapng");
    if is_ng || names.len() <= 1 {
        let bytes = if is_ng {
            let ifaces: Vec<&str> = names.iter().map(String::as_str).collect();
            crate::pcap::ng_write::write_pcapng_bytes(&ifaces, &frames)
        } else {
            let f: Vec<(stack::Instant, Vec<u8>)> =
                frames.iter().map(|(_, t, b)| (*t, b.clone())).collect();
            crate::pcap::write_pcap_bytes(&f).map_err(|e| e.to_string())?
        };
        crate::pcap::write_bytes_atomic(pcap, &bytes).map_err(|e| e.to_string())?;
        println!(
            "wrote {} frames to {} ({} on stack {stack}: {})",
            frames.len(),
            pcap.display(),
            if is_ng {
                format!("{} segment(s), one interface each", names.len())
            } else {
                "one segment".to_string()
            },
            per_segment.join(", ")
        );
    } else {
        let stem = pcap.with_extension("");
        let mut written = Vec::new();
        for (i, n) in names.iter().enumerate() {
            let f: Vec<(stack::Instant, Vec<u8>)> = frames
                .iter()
                .filter(|f| f.0 == i)
                .map(|(_, t, b)| (*t, b.clone()))
                .collect();
            let path = PathBuf::from(format!("{}.{n}.pcap", stem.display()));
            crate::pcap::write_pcap_file(&path, &f).map_err(|e| e.to_string())?;
            written.push(format!("{} ({} frames)", path.display(), f.len()));
        }
        println!(
            "wrote {} frames on stack {stack}, one pcap per segment (use a .pcapng name for one \
             file): {}",
            frames.len(),
            written.join(", ")
        );
    }
    Ok(0)
}
