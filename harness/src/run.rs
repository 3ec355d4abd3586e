//! `harness run`: runs scripts (`.pkt`) and scenarios (`.toml`), judges them, and reports a
//! per-group pass/fail table (text) or one JSON object.

use crate::oracle::{CannotJudge, Finding};
use crate::scenario::{Overrides, Scenario};
use crate::trace::{Fate, Trace, TraceKind};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// What one file produced.
#[derive(Clone, Debug, Serialize)]
pub struct FileResult {
    /// `scenario` or `script`.
    pub kind: &'static str,
    pub name: String,
    pub file: String,
    /// The group the file is reported under (its RFC folder, or `scenarios`).
    pub group: String,
    /// The profile the file ran under (scripts may run under several).
    pub profile: Option<String>,
    /// The stack under test (`--stack`).
    pub stack: String,
    /// Counts towards a successful run: it passed, diverged as listed, or could not run.
    pub passed: bool,
    /// The stack refused the configuration the file needs (knob or capability, with why).
    pub unsupported: Option<String>,
    /// The file diverged exactly as the stack's expectations list it ([`crate::expect`]).
    pub divergence: Option<crate::expect::Divergence>,
    /// Failed expectations or the first mismatch, human-readable.
    pub failures: Vec<String>,
    pub findings: Vec<Finding>,
    /// Kinds the oracles could not judge on the stack under test, and why ("cannot judge").
    pub cannot_judge: Vec<CannotJudge>,
    /// Pcap files written for this run.
    pub pcaps: Vec<String>,
}

/// Bad input that stops a run (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{0}")]
    Input(String),
}

/// Settings shared by every file of a run.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    pub stack: Option<String>,
    pub overrides: Overrides,
    pub pcap_dir: Option<PathBuf>,
}

/// Collects `.pkt` and `.toml` files below `paths`, sorted (directories recursively).
pub fn collect(paths: &[PathBuf]) -> Result<Vec<PathBuf>, RunError> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            walk(p, &mut out).map_err(|e| RunError::Input(format!("{}: {e}", p.display())))?;
        } else if p.is_file() {
            out.push(p.clone());
        } else {
            return Err(RunError::Input(format!(
                "{}: no such file or directory",
                p.display()
            )));
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
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
        } else if matches!(p.extension().and_then(|e| e.to_str()), Some("pkt" | "toml"))
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
    if path.extension().and_then(|e| e.to_str()) == Some("toml") {
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
    std::fs::create_dir_all(dir).map_err(|e| RunError::Input(format!("{}: {e}", dir.display())))?;
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
        crate::pcap::write_pcap_file(&path, &frames).map_err(|e| RunError::Input(e.to_string()))?;
        written.push(path.display().to_string());
    }
    Ok(written)
}

/// Runs one scenario file.
pub fn run_scenario(path: &Path, opts: &RunOptions) -> Result<FileResult, RunError> {
    let sc = Scenario::load(path).map_err(|e| RunError::Input(e.to_string()))?;
    let mut ov = opts.overrides.clone();
    if ov.profile.is_none() {
        ov.profile = None;
    }
    let stack = opts.stack.clone().unwrap_or_else(|| "reference".into());
    let res = match sc.run(&ov) {
        Ok(r) => r,
        Err(e) if e.unsupported => {
            return Ok(FileResult {
                kind: "scenario",
                name: sc.spec.name.clone().unwrap_or_else(|| {
                    path.file_stem()
                        .map(|s| s.to_string_lossy().into_owned())
                        .unwrap_or_default()
                }),
                file: path.display().to_string(),
                group: group_of(path),
                profile: opts.overrides.profile.clone(),
                stack,
                passed: true,
                unsupported: Some(e.to_string()),
                divergence: None,
                failures: Vec::new(),
                findings: Vec::new(),
                cannot_judge: Vec::new(),
                pcaps: Vec::new(),
            })
        }
        Err(e) => return Err(RunError::Input(e.to_string())),
    };
    let pcaps = match &opts.pcap_dir {
        Some(d) => write_pcaps(d, &res.name, &res.trace)?,
        None => Vec::new(),
    };
    Ok(FileResult {
        kind: "scenario",
        name: res.name.clone(),
        file: path.display().to_string(),
        group: group_of(path),
        profile: opts.overrides.profile.clone(),
        stack,
        passed: res.passed(),
        unsupported: None,
        divergence: None,
        failures: res
            .verdicts
            .iter()
            .filter(|v| !v.ok)
            .map(|v| format!("{}: got {}", v.what, v.detail))
            .collect(),
        findings: res.findings,
        cannot_judge: res.cannot_judge,
        pcaps,
    })
}

/// Frames dropped by impairments in a trace (for summaries).
pub fn dropped_frames(trace: &Trace) -> usize {
    trace
        .events
        .iter()
        .filter(|e| matches!(&e.kind, TraceKind::Frame(f) if matches!(f.fate, Fate::Dropped(_))))
        .count()
}

/// Per-group counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct GroupCounts {
    pub passed: usize,
    /// Diverged exactly as the stack's expectations list.
    pub listed: usize,
    /// Failed (for a third-party stack: an unlisted divergence, or a stale listing).
    pub failed: usize,
    /// The stack refused the configuration the file needs.
    pub unsupported: usize,
    /// Runs where some oracle could not judge the stack (counted besides the columns above).
    pub cannot_judge: usize,
}

/// Per-group counts, in group order.
pub fn table(results: &[FileResult]) -> Vec<(String, GroupCounts)> {
    let mut groups: std::collections::BTreeMap<String, GroupCounts> = Default::default();
    for r in results {
        let g = groups.entry(r.group.clone()).or_default();
        if !r.cannot_judge.is_empty() {
            g.cannot_judge += 1;
        }
        if !r.passed {
            g.failed += 1;
        } else if r.unsupported.is_some() {
            g.unsupported += 1;
        } else if r.divergence.is_some() {
            g.listed += 1;
        } else {
            g.passed += 1;
        }
    }
    groups.into_iter().collect()
}

/// The text report.
pub fn render_text(results: &[FileResult]) -> String {
    let mut s = String::new();
    for r in results {
        let status = if !r.passed {
            "FAIL"
        } else if r.unsupported.is_some() {
            "unsp"
        } else if r.divergence.is_some() {
            "div "
        } else {
            "ok  "
        };
        let prof = r
            .profile
            .as_ref()
            .map_or(String::new(), |p| format!(" [{p}]"));
        s.push_str(&format!("{status} {}{prof}\n", r.file));
        for f in &r.failures {
            s.push_str(&format!("       {f}\n"));
        }
        if let Some(u) = &r.unsupported {
            s.push_str(&format!("       unsupported: {u}\n"));
        }
        if let Some(d) = &r.divergence {
            s.push_str(&format!(
                "       listed divergence: {} — {}\n",
                d.requirement, d.reason
            ));
        }
        for f in &r.findings {
            s.push_str(&format!("       finding: {f}\n"));
            s.push_str(&format!("         {}\n", f.evidence_line()));
        }
        for c in &r.cannot_judge {
            s.push_str(&format!("       {c}\n"));
        }
    }
    s.push('\n');
    let stack = results.first().map_or("reference", |r| r.stack.as_str());
    s.push_str(&format!("stack under test: {stack}\n"));
    s.push_str(&format!(
        "{:<24} {:>6} {:>6} {:>10} {:>11} {:>12}\n",
        "group", "passed", "listed", "unexpected", "unsupported", "cannot-judge"
    ));
    let mut t = GroupCounts::default();
    let row = |g: &str, c: &GroupCounts| {
        format!(
            "{g:<24} {:>6} {:>6} {:>10} {:>11} {:>12}\n",
            c.passed, c.listed, c.failed, c.unsupported, c.cannot_judge
        )
    };
    for (g, c) in table(results) {
        s.push_str(&row(&g, &c));
        t.passed += c.passed;
        t.listed += c.listed;
        t.failed += c.failed;
        t.unsupported += c.unsupported;
        t.cannot_judge += c.cannot_judge;
    }
    s.push_str(&row("total", &t));
    s.push_str(&format!(
        "{stack}: {} passed, {} listed divergences, {} unexpected, {} unsupported, {} cannot judge\n",
        t.passed, t.listed, t.failed, t.unsupported, t.cannot_judge
    ));
    s
}

/// The JSON report: `{"summary": {...}, "results": [...], "findings": [...]}`.
pub fn render_json(results: &[FileResult]) -> String {
    let passed = results.iter().filter(|r| r.passed).count();
    let findings: Vec<serde_json::Value> = results
        .iter()
        .flat_map(|r| {
            r.findings.iter().map(move |f| {
                let mut v = serde_json::to_value(f).unwrap_or_default();
                if let Some(o) = v.as_object_mut() {
                    o.insert("file".into(), serde_json::Value::String(r.file.clone()));
                }
                v
            })
        })
        .collect();
    let groups: Vec<serde_json::Value> = table(results)
        .into_iter()
        .map(|(g, c)| {
            serde_json::json!({"group": g, "passed": c.passed, "listed": c.listed,
                "failed": c.failed, "unsupported": c.unsupported, "cannot_judge": c.cannot_judge})
        })
        .collect();
    let cannot_judge: Vec<serde_json::Value> = results
        .iter()
        .flat_map(|r| {
            r.cannot_judge.iter().map(move |c| {
                let mut v = serde_json::to_value(c).unwrap_or_default();
                if let Some(o) = v.as_object_mut() {
                    o.insert("file".into(), serde_json::Value::String(r.file.clone()));
                }
                v
            })
        })
        .collect();
    let obj = serde_json::json!({
        "summary": {"total": results.len(), "passed": passed, "failed": results.len() - passed, "groups": groups, "cannot_judge": cannot_judge.len()},
        "results": results,
        "findings": findings,
        "cannot_judge": cannot_judge,
    });
    serde_json::to_string_pretty(&obj).unwrap_or_default()
}
