//! `harness hunt --report OUT.html`: the page `harness run --report` writes, with one row per
//! distinct finding: its minimised reproducer run again without its expectations (so the
//! findings show as they would to someone replaying it), its pcaps, and ladders.

use std::path::Path;

use super::Found;
use crate::outcome::FileResult;
use crate::run::RunOptions;

/// Writes the page for `found` to `out` (through a temporary name).
pub fn write(out: &Path, title: &str, found: &[Found]) -> Result<(), String> {
    // Each reproducer names its stack and profile; its `[[expect]]` lines are what the hunt
    // saw, so they are set aside: every finding is shown as found.
    let opts = RunOptions {
        ignore_expectations: true,
        ..RunOptions::default()
    };
    let mut results: Vec<FileResult> = Vec::new();
    for f in found {
        let mut rs = crate::run::run_paths(std::slice::from_ref(&f.scenario), &opts, 1)?;
        for r in &mut rs {
            r.pcaps = f.pcaps.clone();
            r.group = f.family.name().to_string();
        }
        results.extend(rs);
    }
    let mut traces = crate::report::rerun(&opts);
    crate::report::write(out, title, &results, &mut traces)
}

#[cfg(test)]
mod tests {
    use super::super::{hunt, HuntConfig};
    use crate::hunt::Family;

    #[test]
    fn the_page_shows_each_reproducer_with_its_findings() {
        let dir = std::env::temp_dir().join(format!("hunt-report-{}", std::process::id()));
        let cfg = HuntConfig {
            families: vec![Family::RstLoss],
            stack: "reference".into(),
            profile: "windows".into(),
            knobs: Vec::new(),
            seed: 1,
            runs: Some(40),
            seconds: None,
            out: dir.clone(),
            jobs: 1,
        };
        let found = hunt(&cfg, |_, _| {}).expect("hunt").found;
        assert!(!found.is_empty(), "windows loses RSTs within 40 runs");
        let out = dir.join("report.html");
        super::write(&out, "harness hunt rst-loss", &found).expect("write");
        let html = std::fs::read_to_string(&out).expect("page");
        let _ = std::fs::remove_dir_all(&dir);
        assert!(html.contains("harness hunt rst-loss"));
        for f in &found {
            let name = f.scenario.display().to_string();
            assert!(
                html.contains(&crate::ladder::escape(&name)),
                "{name} listed"
            );
        }
        assert!(html.contains("rst-loss"), "the finding is shown");
        assert!(html.contains("<svg"), "with a ladder");
    }
}
