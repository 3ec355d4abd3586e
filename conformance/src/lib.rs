//! The conformance suite: scripts by RFC section (`scripts/<rfc>/<section>-<what>.pkt`) and
//! incident scenarios (`scenarios/*.toml`), run by `cargo test -p conformance` (one test per
//! file and profile, see `tests/suite.rs`) and by `harness run conformance/`.
//!
//! Snapshots of every script run live in `tests/snapshots/`; review changes with
//! `cargo insta review`, and let CI reject stale ones with
//! `cargo insta test -p conformance --unreferenced=reject` (the suite also runs with
//! `INSTA_UPDATE=no` semantics in CI: a changed timeline fails the test).

use harness::run::{RunError, RunOptions};
use harness::script::runner::{self, ScriptOutcome};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The crate's directory (where `scripts/` and `scenarios/` live).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A script's name for reports and snapshots: its path below `scripts/`, e.g.
/// `rfc9293/3.5-passive-open.pkt`.
pub fn script_name(path: &Path) -> String {
    let scripts = root().join("scripts");
    path.strip_prefix(&scripts)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}

/// Runs a script file under every profile it declares.
pub fn run_all_profiles(path: &Path, opts: &RunOptions) -> Result<Vec<ScriptOutcome>, RunError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| RunError::file(&path.display().to_string(), e.to_string()))?;
    let name = script_name(path);
    let script = harness::script::parse(&name, &text).map_err(|e| RunError::Input(e.into()))?;
    if let Some(e) = runner::check(&script).into_iter().next() {
        return Err(RunError::Input(e));
    }
    runner::profiles_to_run(&script, opts)?
        .iter()
        .map(|p| runner::run_parsed(&script, p, opts))
        .collect()
}

/// The text a snapshot holds: the timeline, then the findings (kind, time, cause).
pub fn snapshot_text(o: &ScriptOutcome) -> String {
    let mut s = o.timeline.clone();
    if o.findings.is_empty() {
        s.push_str("findings: none\n");
    } else {
        s.push_str("findings:\n");
        for f in &o.findings {
            let _ = writeln!(s, "  {f}");
        }
    }
    s
}
