//! The subcommands behind `harness` (kept in the library so tests can call them).

use crate::run::{self, FileResult, RunError, RunOptions};
use crate::scenario::Overrides;
use stack::policy::Profile;
use std::path::{Path, PathBuf};

/// A parsed command line.
pub enum Command {
    Run {
        paths: Vec<PathBuf>,
        stack: String,
        profile: Option<String>,
        set: Vec<String>,
        pcap_dir: Option<PathBuf>,
        json: bool,
        jobs: usize,
        seed: Option<u64>,
    },
    Profiles {
        name: Option<String>,
    },
    Bench {
        clients: Vec<u32>,
        hours: u32,
        capture: bool,
        print_scenario: bool,
        quiet: bool,
    },
    BenchBulk {
        mib: u64,
        rounds: u32,
    },
    Hunt {
        family: String,
        profile: String,
        set: Vec<String>,
        runs: Option<u64>,
        seconds: Option<f64>,
        seed: u64,
        out: PathBuf,
        /// Worker threads (`None`: the available cores).
        jobs: Option<usize>,
        /// No progress bar and no summary line on stderr.
        quiet: bool,
    },
    Ladder {
        file: PathBuf,
        svg: Option<PathBuf>,
        /// Which host, connection or finding to show.
        selection: crate::ladder::Selection,
        /// Widest line in characters (`None`: the terminal's width, else 160; `Some(0)`: no
        /// limit).
        width: Option<usize>,
        /// Fold quiet stretches at least this long (seconds; 0: never).
        fold: f64,
        /// List the connections instead of drawing.
        list_conns: bool,
    },
    Record {
        file: PathBuf,
        stack: String,
        pcap: PathBuf,
    },
    Check {
        pcaps: Vec<PathBuf>,
        dut: Option<std::net::Ipv4Addr>,
        profile: Option<String>,
        best_profile: bool,
        json: bool,
    },
    Replay {
        pcap: PathBuf,
        stack: String,
        dut: Option<std::net::Ipv4Addr>,
        profile: String,
        json: bool,
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
            json,
            jobs,
            seed,
        } => run_cmd(paths, stack, profile, set, pcap_dir, json, jobs, seed),
        Command::Profiles { name } => profiles(name.as_deref()),
        Command::Bench {
            clients,
            hours,
            print_scenario: true,
            ..
        } => match clients.as_slice() {
            [n] if *n > 0 && hours > 0 => {
                print!("{}", crate::bench::nat_idle_scenario(*n, hours));
                Ok(0)
            }
            _ => Err("--print-scenario takes one --clients value and --hours of at least 1".into()),
        },
        Command::Bench {
            clients,
            hours,
            capture,
            quiet,
            ..
        } => crate::bench::command(
            &clients,
            hours,
            capture,
            crate::progress::Verbosity::from_quiet(quiet),
        ),
        Command::BenchBulk { mib, rounds } => crate::bench::bulk::command(mib, rounds),
        Command::Hunt {
            family,
            profile,
            set,
            runs,
            seconds,
            seed,
            out,
            jobs,
            quiet,
        } => {
            if jobs == Some(0) {
                return Err("--jobs must be at least 1".into());
            }
            Profile::named(&profile).map_err(|e| e.to_string())?;
            let knobs = parse_sets(&set)?;
            if seconds.is_some_and(|s| !(s.is_finite() && s > 0.0)) {
                return Err("--seconds must be a positive number".into());
            }
            let seconds = if runs.is_none() && seconds.is_none() {
                Some(30.0)
            } else {
                seconds
            };
            crate::hunt::command(
                &family,
                crate::hunt::HuntConfig {
                    families: Vec::new(),
                    profile,
                    knobs,
                    seed,
                    runs,
                    seconds,
                    out,
                    jobs: jobs.unwrap_or_else(crate::hunt::default_jobs),
                },
                crate::progress::Verbosity::from_quiet(quiet),
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
            json,
        } => {
            if let Some(p) = &profile {
                Profile::named(p).map_err(|e| e.to_string())?;
            }
            let opts = crate::check::CheckOptions {
                dut,
                profile,
                ..Default::default()
            };
            Ok(crate::check::command(&pcaps, &opts, json, best_profile))
        }
        Command::Replay {
            pcap,
            stack,
            dut,
            profile,
            json,
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
            Ok(crate::check::command(&[pcap], &opts, json, false))
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

/// Runs one file of any kind.
pub fn run_file(path: &Path, opts: &RunOptions) -> Result<Vec<FileResult>, RunError> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("toml") => Ok(vec![run::run_scenario(path, opts)?]),
        Some("pkt") => crate::script::runner::run_script_file(path, opts),
        _ => Err(RunError::Input(format!(
            "{}: not a .pkt script or .toml scenario",
            path.display()
        ))),
    }
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
) -> Result<u8, String> {
    crate::stacks::registry()
        .get(&stack)
        .map_err(|e| e.to_string())?;
    if let Some(p) = &profile {
        Profile::named(p).map_err(|e| e.to_string())?;
    }
    let knobs = parse_sets(&set)?;
    let paths = if paths.is_empty() {
        vec![PathBuf::from("conformance")]
    } else {
        paths
    };
    let files = run::collect(&paths).map_err(|e| e.to_string())?;
    if files.is_empty() {
        return Err(format!(
            "no .pkt or .toml files under {}",
            paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let opts = RunOptions {
        stack: Some(stack.clone()),
        overrides: Overrides {
            profile,
            knobs,
            seed,
            stack: Some(stack.clone()),
            ..Overrides::default()
        },
        pcap_dir,
    };
    let expectations =
        crate::expect::Expectations::find(&paths, &stack).map_err(|e| e.to_string())?;
    let mut results = run_parallel(&files, &opts, jobs.max(1))?;
    if let Some(e) = &expectations {
        e.apply(&mut results);
    }
    if json {
        println!("{}", run::render_json(&results));
    } else {
        print!("{}", run::render_text(&results));
    }
    Ok(if results.iter().all(|r| r.passed) {
        0
    } else {
        1
    })
}

/// Runs files on `jobs` threads; results come back in file order.
fn run_parallel(
    files: &[PathBuf],
    opts: &RunOptions,
    jobs: usize,
) -> Result<Vec<FileResult>, String> {
    let mut slots: Vec<Option<Result<Vec<FileResult>, RunError>>> =
        (0..files.len()).map(|_| None).collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let slots_m = std::sync::Mutex::new(&mut slots);
    // A bar on a terminal; the text report on stdout ends in the summary line.
    let progress = crate::progress::Progress::new(
        "run",
        Some(files.len() as u64),
        crate::progress::Verbosity::Normal,
    );
    std::thread::scope(|s| {
        for _ in 0..jobs.min(files.len()) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(f) = files.get(i) else { break };
                let r = run_file(f, opts);
                if let Ok(mut g) = slots_m.lock() {
                    g[i] = Some(r);
                }
                progress.inc(1);
            });
        }
    });
    progress.clear();
    let mut out = Vec::new();
    for (i, s) in slots.into_iter().enumerate() {
        match s {
            Some(Ok(v)) => out.extend(v),
            Some(Err(e)) => return Err(e.to_string()),
            None => return Err(format!("{}: not run", files[i].display())),
        }
    }
    Ok(out)
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
        }
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

fn record(file: &Path, stack: &str, pcap: &Path) -> Result<u8, String> {
    let _ = stack;
    let frames = crate::capture::frames_of(file)?;
    crate::pcap::write_pcap_file(pcap, &frames).map_err(|e| e.to_string())?;
    println!("wrote {} frames to {}", frames.len(), pcap.display());
    Ok(0)
}
