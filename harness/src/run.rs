//! `harness run`, the one run pipeline: collect inputs → parse and check all of them (every error
//! of every file, capped per file) → run what parsed → judge → report ([`report`]). A broken
//! input is an `input-error` result among the others: it never hides their results.

pub mod report;

pub use crate::options::{RunError, RunOptions};
pub use crate::outcome::{Column, Counts, FileResult, Outcome};
pub use report::{render_json, render_text, table};

use crate::input::{FileKind, Input};
use crate::location::Diagnostic;
use crate::scenario::Scenario;
use crate::script::runner::{profiles_to_run, run_parsed, ScriptOutcome};
use crate::script::Script;
use crate::trace::{Fate, Trace, TraceKind};
use std::path::{Path, PathBuf};

/// Collects `.pkt` and `.toml` files below `paths`, sorted (directories recursively). Paths
/// that do not exist or cannot be listed come back as diagnostics.
pub fn collect(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<Diagnostic>) {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for p in paths {
        if p.is_dir() {
            if let Err(e) = walk(p, &mut out) {
                errors.push(Diagnostic::file(
                    p.display().to_string(),
                    format!("cannot list: {e}"),
                ));
            }
        } else if p.is_file() {
            out.push(p.clone());
        } else {
            errors.push(Diagnostic::file(
                p.display().to_string(),
                "no such file or directory",
            ));
        }
    }
    out.sort();
    out.dedup();
    (out, errors)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    entries.sort();
    for p in entries {
        if p.is_dir() {
            // `pending/` holds scripts that show known stack defects (they fail on purpose) and
            // `target/` build output: neither is part of a suite run. Name such a folder
            // explicitly to run it.
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if matches!(name, "pending" | "target" | "snapshots" | "expectations") {
                continue;
            }
            walk(&p, out)?;
        } else if FileKind::of(&p).is_some_and(FileKind::runnable)
            && p.file_name().and_then(|n| n.to_str()) != Some("Cargo.toml")
        {
            // A crate manifest next to the scripts (conformance/Cargo.toml) is not a scenario.
            out.push(p);
        }
    }
    Ok(())
}

/// The group a file belongs to: `scenarios` for scenarios, else its parent folder's name.
pub fn group_of(path: &Path) -> String {
    if FileKind::of(path) == Some(FileKind::Scenario) {
        return "scenarios".into();
    }
    path.parent()
        .and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| ".".into())
}

/// Writes one pcap per segment of `trace` into `dir` as `<stem>.pcap` (one segment) or
/// `<stem>.<segment>.pcap`, returning the paths.
pub fn write_pcaps(dir: &Path, stem: &str, trace: &Trace) -> Result<Vec<String>, RunError> {
    let dir_err = |e: std::io::Error| RunError::file(&dir.display().to_string(), e.to_string());
    std::fs::create_dir_all(dir).map_err(dir_err)?;
    let nsegs = trace.meta.segment_names.len();
    let mut written = Vec::new();
    for (i, seg) in trace.meta.segment_names.iter().enumerate() {
        let frames: Vec<(stack::Instant, Vec<u8>)> = trace
            .events
            .iter()
            .filter_map(|e| match &e.kind {
                TraceKind::Frame(f) if f.segment.0 == i => Some((f.time, f.bytes.clone())),
                _ => None,
            })
            .collect();
        let name = if nsegs == 1 {
            format!("{stem}.pcap")
        } else {
            format!("{stem}.{seg}.pcap")
        };
        let path = dir.join(name);
        crate::pcap::write_pcap_file(&path, &frames)
            .map_err(|e| RunError::file(&path.display().to_string(), e.to_string()))?;
        written.push(path.display().to_string());
    }
    Ok(written)
}

/// Runs one scenario file (loads it first).
pub fn run_scenario(path: &Path, opts: &RunOptions) -> Result<FileResult, RunError> {
    let sc = Scenario::load(path)?;
    scenario_result(path, &sc, opts)
}

fn scenario_result(path: &Path, sc: &Scenario, opts: &RunOptions) -> Result<FileResult, RunError> {
    let res = sc.run(&opts.overrides)?;
    let pcaps = match &opts.pcap_dir {
        Some(d) => write_pcaps(d, &res.name, &res.trace)?,
        None => Vec::new(),
    };
    let (outcome, failures) = if opts.ignore_expectations {
        // What happens, without the file's expectations: any finding fails.
        match res.findings.len() {
            0 => (Outcome::Pass, Vec::new()),
            n => (
                Outcome::Fail,
                vec![format!(
                    "{n} finding(s) (--ignore-expectations: the file's expectations are not used)"
                )],
            ),
        }
    } else {
        let failures: Vec<String> = res
            .verdicts
            .iter()
            .filter(|v| !v.ok)
            .map(crate::judge::Verdict::failure)
            .collect();
        let outcome = if failures.is_empty() {
            Outcome::Pass
        } else {
            Outcome::Fail
        };
        (outcome, failures)
    };
    Ok(FileResult {
        kind: FileKind::Scenario.name(),
        findings_expected: !opts.ignore_expectations
            && outcome == Outcome::Pass
            && !res.findings.is_empty(),
        name: res.name.clone(),
        file: path.display().to_string(),
        group: group_of(path),
        profile: opts.overrides.profile.clone(),
        stack: stack_of(opts),
        outcome,
        failures,
        notes: Vec::new(),
        findings: res.findings,
        cannot_judge: res.cannot_judge,
        pcaps,
    })
}

/// The result of one run of a script under `profile`.
fn script_result(
    path: &Path,
    script: &Script,
    profile: &str,
    o: ScriptOutcome,
    opts: &RunOptions,
) -> Result<FileResult, RunError> {
    let judged = !opts.ignore_expectations
        && (opts.strict_findings || crate::script::runner::uses_harness_directives(script));
    let stem = format!("{}.{profile}", stem_of(path));
    let pcaps = match &opts.pcap_dir {
        Some(dir) => write_pcaps(dir, &stem, &o.trace)?,
        None => Vec::new(),
    };
    // A line that was not run as written makes a passing run `unsupported`, not a pass.
    // So does a line whose feature the stack under test lacks (the run stopped there).
    let outcome = match (&o.unsupported, o.passed, o.notes.first()) {
        _ if o.skipped.is_some() => Outcome::Skipped {
            reason: o.skipped.clone().unwrap_or_default(),
        },
        (Some(u), _, _) => Outcome::Unsupported {
            feature: u.feature.clone(),
            location: Some(u.loc.clone()),
            listed: None,
        },
        (None, false, _) => Outcome::Fail,
        (None, true, None) => Outcome::Pass,
        (None, true, Some(n)) => Outcome::Unsupported {
            feature: n.what.clone(),
            location: Some(n.location.clone()),
            listed: None,
        },
    };
    Ok(FileResult {
        kind: FileKind::Script.name(),
        name: stem_of(path),
        file: path.display().to_string(),
        group: group_of(path),
        profile: Some(profile.to_string()),
        stack: stack_of(opts),
        findings_expected: judged && outcome == Outcome::Pass && !o.findings.is_empty(),
        outcome,
        failures: o.failures,
        notes: o.notes.iter().map(|n| n.to_string()).collect(),
        findings: o.findings,
        cannot_judge: o.cannot_judge,
        pcaps,
    })
}

fn stack_of(opts: &RunOptions) -> String {
    opts.stack.clone().unwrap_or_else(|| "reference".into())
}

fn stem_of(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "script".into())
}

/// A result for a run that stopped on a [`RunError`].
fn error_result(
    path: &Path,
    kind: FileKind,
    profile: Option<&str>,
    opts: &RunOptions,
    e: RunError,
) -> FileResult {
    let mut r = FileResult::input_error(kind.name(), path, Vec::new());
    r.profile = profile.map(str::to_string);
    r.stack = stack_of(opts);
    r.outcome = match e {
        RunError::Input(d) => Outcome::input_errors(vec![d]),
        RunError::Unsupported { feature, location } => Outcome::Unsupported {
            feature,
            location,
            listed: None,
        },
        RunError::Skipped { reason } => Outcome::Skipped { reason },
    };
    r
}

fn run_script(path: &Path, script: &Script, opts: &RunOptions) -> Vec<FileResult> {
    let profiles = match profiles_to_run(script, opts) {
        Ok(p) => p,
        Err(e) => return vec![error_result(path, FileKind::Script, None, opts, e)],
    };
    if profiles.is_empty() {
        let mut r = FileResult::input_error(FileKind::Script.name(), path, Vec::new());
        r.profile = opts.overrides.profile.clone();
        r.outcome = Outcome::Skipped {
            reason: format!(
                "its %applies line excludes profile {}",
                opts.overrides.profile.as_deref().unwrap_or("?")
            ),
        };
        return vec![r];
    }
    profiles
        .iter()
        .map(|profile| {
            run_parsed(script, profile, opts)
                .and_then(|o| script_result(path, script, profile, o, opts))
                .unwrap_or_else(|e| error_result(path, FileKind::Script, Some(profile), opts, e))
        })
        .collect()
}

/// Runs one parsed input: one result per profile it runs under.
pub fn run_input(path: &Path, input: &Input, opts: &RunOptions) -> Vec<FileResult> {
    match input {
        Input::Script(s) => run_script(path, s, opts),
        Input::Scenario(sc) => vec![scenario_result(path, sc, opts)
            .unwrap_or_else(|e| error_result(path, FileKind::Scenario, None, opts, e))],
    }
}

/// Loads, checks and runs one file: its results, or one `input-error` result.
pub fn run_file(path: &Path, opts: &RunOptions) -> Vec<FileResult> {
    match crate::input::load(path) {
        Ok(input) => run_input(path, &input, opts),
        Err(errors) => vec![FileResult::input_error(
            FileKind::of(path).map_or("file", FileKind::name),
            path,
            errors,
        )],
    }
}

/// The whole pipeline over `paths` on `jobs` worker threads: every result, in file order (bad
/// paths and broken files included as `input-error` results). `Err` only when `paths` hold no
/// runnable file at all.
pub fn run_paths(
    paths: &[PathBuf],
    opts: &RunOptions,
    jobs: usize,
) -> Result<Vec<FileResult>, String> {
    let (files, missing) = collect(paths);
    if files.is_empty() && missing.is_empty() {
        return Err(format!(
            "no .pkt or .toml files under {}",
            paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let mut results: Vec<FileResult> = missing
        .into_iter()
        .map(|d| {
            let p = PathBuf::from(&d.file);
            FileResult::input_error("file", &p, vec![d])
        })
        .collect();
    // Parse and check every file first, then run what parsed.
    let parsed: Vec<(PathBuf, Result<Input, Vec<Diagnostic>>)> = files
        .into_iter()
        .map(|f| {
            let r = crate::input::load(&f);
            (f, r)
        })
        .collect();
    // A bar on a terminal; the text report on stdout ends in the summary line.
    let progress = crate::progress::Progress::new(
        "run",
        Some(parsed.len() as u64),
        crate::progress::Verbosity::Normal,
    );
    let ran = parallel(&parsed, jobs.max(1), |(path, input)| {
        let r = match input {
            Ok(input) => run_input(path, input, opts),
            Err(errors) => vec![FileResult::input_error(
                FileKind::of(path).map_or("file", FileKind::name),
                path,
                errors.clone(),
            )],
        };
        progress.inc(1);
        r
    });
    progress.clear();
    results.extend(ran.into_iter().flatten());
    Ok(results)
}

/// Maps `f` over `items` on `jobs` threads; results come back in item order.
fn parallel<T: Sync, R: Send>(items: &[T], jobs: usize, f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let slots: Vec<std::sync::Mutex<Option<R>>> =
        items.iter().map(|_| std::sync::Mutex::new(None)).collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..jobs.min(items.len()) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(item) = items.get(i) else { break };
                let r = f(item);
                if let Ok(mut slot) = slots[i].lock() {
                    *slot = Some(r);
                }
            });
        }
    });
    slots
        .into_iter()
        .filter_map(|m| m.into_inner().ok().flatten())
        .collect()
}

/// The exit code of a run: the largest any result asks for (0 pass, 1 fail, 2 input error).
pub fn exit_code(results: &[FileResult]) -> u8 {
    results
        .iter()
        .map(|r| r.outcome.exit_code())
        .max()
        .unwrap_or(0)
}

/// Frames dropped by impairments in a trace (for summaries).
pub fn dropped_frames(trace: &Trace) -> usize {
    trace
        .events
        .iter()
        .filter(|e| matches!(&e.kind, TraceKind::Frame(f) if matches!(f.fate, Fate::Dropped(_))))
        .count()
}
