//! `harness check --report OUT.html`: each capture becomes one result of the report page (the
//! same page as `harness run --report`), with its divergences as failures, its findings with
//! ladders drawn from the capture itself, and a link to the capture.

use std::path::Path;

use super::FileReport;
use crate::outcome::{FileResult, Outcome};
use crate::trace::Trace;

/// One capture's judgement as a report row: a pass when the capture is clean, else a failure
/// listing every diverging connection.
pub fn as_result(r: &FileReport) -> FileResult {
    let failures: Vec<String> = r
        .connections
        .iter()
        .filter_map(|c| {
            c.divergence.as_ref().map(|d| {
                format!(
                    "{}: frame {}: the DUT sent {} where {} allows {}",
                    c.connection, d.frame, d.actual, r.profile, d.expected
                )
            })
        })
        .collect();
    let path = Path::new(&r.file);
    FileResult {
        kind: "capture",
        name: path
            .file_stem()
            .map_or_else(|| r.file.clone(), |s| s.to_string_lossy().into_owned()),
        file: r.file.clone(),
        group: path
            .parent()
            .and_then(|p| p.file_name())
            .map_or_else(|| "captures".into(), |s| s.to_string_lossy().into_owned()),
        profile: Some(r.profile.clone()),
        stack: r.dut.clone().map_or_else(
            || "capture".into(),
            |d| format!("capture (DUT {d}, {})", r.dut_reason),
        ),
        outcome: if r.clean() {
            Outcome::Pass
        } else {
            Outcome::Fail
        },
        failures,
        notes: Vec::new(),
        findings: r.findings.clone(),
        findings_expected: false,
        cannot_judge: r.cannot_judge.clone(),
        pcaps: vec![r.file.clone()],
    }
}

/// The trace a capture's ladders are drawn from: its frames, one node per address.
pub fn trace_of(r: &FileResult) -> Option<Trace> {
    let frames = crate::pcap::read_pcap(Path::new(&r.file)).ok()?;
    let parsed = super::parse_frames(&frames);
    Some(super::capture_trace(&frames, &parsed))
}

/// Writes the page for `reports` to `out` (through a temporary name).
pub fn write(
    out: &Path,
    files: &[std::path::PathBuf],
    reports: &[FileReport],
) -> Result<(), String> {
    let results: Vec<FileResult> = reports.iter().map(as_result).collect();
    let title = format!(
        "harness check {}",
        files
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(" ")
    );
    crate::report::write(out, &title, &results, &mut trace_of)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_capture_with_a_lost_rst_reports_its_findings_and_ladder() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let dir = std::env::temp_dir().join(format!("check-report-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("mkdir");
        // Incident A, recorded by the simulator: RSTs lost at the gateway's ARP queue.
        let opts = crate::run::RunOptions {
            pcap_dir: Some(dir.clone()),
            ..Default::default()
        };
        let a1 = root.join("conformance/scenarios/a1-iis-rst-loss-windows.toml");
        crate::run::run_paths(&[a1], &opts, 1).expect("run");
        let mut pcaps: Vec<_> = std::fs::read_dir(&dir)
            .expect("ls")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "pcap"))
            .collect();
        pcaps.sort();
        let reports: Vec<FileReport> = pcaps
            .iter()
            .map(|p| super::super::check_file(p, &Default::default()).expect("check"))
            .collect();
        assert!(
            reports.iter().any(|r| !r.clean()),
            "incident A is not clean"
        );
        let out = dir.join("report.html");
        write(&out, &pcaps, &reports).expect("write");
        let html = std::fs::read_to_string(&out).expect("page");
        let _ = std::fs::remove_dir_all(&dir);
        assert!(html.contains("harness check"), "title");
        let bad = reports.iter().find(|r| !r.clean()).expect("unclean");
        let row = as_result(bad);
        assert_eq!(row.outcome, Outcome::Fail);
        assert!(
            html.contains(&crate::ladder::escape(&row.file)),
            "capture listed"
        );
        assert!(html.contains("<svg"), "a ladder is drawn from the capture");
        for f in &bad.findings {
            assert!(html.contains(f.kind.name()), "finding {} shown", f.kind);
        }
    }
}
