//! The reports of `harness run`: the text table for people and the JSON object for machines
//! (its schema: `docs/json.md`, checked by a test).

use crate::outcome::{Column, Counts, FileResult, Outcome};
use std::collections::BTreeMap;

/// Per-group counts, in group order.
pub fn table(results: &[FileResult]) -> Vec<(String, Counts)> {
    let mut groups: BTreeMap<String, Counts> = BTreeMap::new();
    for r in results {
        groups.entry(r.group.clone()).or_default().add(r);
    }
    groups.into_iter().collect()
}

/// The lines under a result's status line: why it is not a pass, what did not run, findings.
fn details(r: &FileResult, s: &mut String) {
    match &r.outcome {
        Outcome::Skipped { reason } => s.push_str(&format!("       skipped: {reason}\n")),
        Outcome::Unsupported {
            feature,
            location,
            listed,
        } => {
            s.push_str(&format!(
                "       unsupported: {}{feature}\n",
                location
                    .as_ref()
                    .map_or(String::new(), |l| format!("{l}: "))
            ));
            if let Some(why) = listed {
                s.push_str(&format!("       listed as lacking: {why}\n"));
            }
        }
        Outcome::InputError { errors } => {
            for e in errors {
                s.push_str(&format!("       error: {e}\n"));
            }
        }
        Outcome::ListedDivergence { divergence: d } => s.push_str(&format!(
            "       listed divergence: {} — {}\n",
            d.requirement, d.reason
        )),
        Outcome::Pass | Outcome::Fail => {}
    }
    for f in &r.failures {
        s.push_str(&format!("       {f}\n"));
    }
    // An `unsupported` outcome already shows the first line that was not run.
    let shown = usize::from(matches!(r.outcome, Outcome::Unsupported { .. }));
    for n in r.notes.iter().skip(shown) {
        s.push_str(&format!("       {n}\n"));
    }
    let label = if r.findings_expected {
        "expected finding"
    } else {
        "finding"
    };
    if r.findings_expected {
        s.push_str(&format!(
            "       {} finding(s), all expected by the file\n",
            r.findings.len()
        ));
    }
    for f in &r.findings {
        s.push_str(&format!("       {label}: {f}\n"));
        s.push_str(&format!("         {}\n", f.evidence_line()));
    }
    for c in &r.cannot_judge {
        s.push_str(&format!("       {c}\n"));
    }
}

/// The text report: one status line per run (with its details), then the table. `quiet`: only
/// the runs that did not pass (fail, input error), then the table.
pub fn render_text(results: &[FileResult], quiet: bool) -> String {
    let mut s = String::new();
    for r in results
        .iter()
        .filter(|r| !quiet || r.outcome.exit_code() > 0)
    {
        let prof = r
            .profile
            .as_ref()
            .map_or(String::new(), |p| format!(" [{p}]"));
        s.push_str(&format!("{} {}{prof}\n", r.outcome.status(), r.file));
        details(r, &mut s);
    }
    s.push('\n');
    let stack = results.first().map_or("reference", |r| r.stack.as_str());
    s.push_str(&format!("stack under test: {stack}\n"));
    s.push_str(&format!("{:<24}", "group"));
    for c in Column::ALL {
        s.push_str(&format!(" {:>w$}", c.label(), w = c.label().len().max(6)));
    }
    s.push_str(" cannot_judge\n");
    let mut total = Counts::default();
    let row = |s: &mut String, name: &str, counts: &Counts| {
        s.push_str(&format!("{name:<24}"));
        for c in Column::ALL {
            s.push_str(&format!(
                " {:>w$}",
                counts.get(c),
                w = c.label().len().max(6)
            ));
        }
        s.push_str(&format!(" {:>12}\n", counts.cannot_judge));
    };
    for (g, counts) in table(results) {
        row(&mut s, &g, &counts);
        total.merge(&counts);
    }
    row(&mut s, "total", &total);
    let failed: Vec<&FileResult> = results
        .iter()
        .filter(|r| r.outcome.exit_code() > 0)
        .collect();
    if !failed.is_empty() {
        s.push_str("\nnot passed:\n");
        for r in failed {
            let prof = r
                .profile
                .as_ref()
                .map_or(String::new(), |p| format!(" [{p}]"));
            s.push_str(&format!("  {} {}{prof}\n", r.outcome.status(), r.file));
        }
    }
    let mut words: Vec<String> = Column::ALL
        .iter()
        .filter(|c| matches!(c, Column::Passed | Column::Failed) || total.get(**c) > 0)
        .map(|c| format!("{} {}", total.get(*c), c.label().replace('_', " ")))
        .collect();
    if total.cannot_judge > 0 {
        words.push(format!("{} cannot judge", total.cannot_judge));
    }
    s.push_str(&words.join(", "));
    s.push('\n');
    s
}

fn counts_json(c: &Counts) -> serde_json::Map<String, serde_json::Value> {
    let mut m = serde_json::Map::new();
    for col in Column::ALL {
        m.insert(col.label().into(), c.get(col).into());
    }
    m.insert("cannot_judge".into(), c.cannot_judge.into());
    m
}

/// The JSON report: `{"summary": {...}, "results": [...], "findings": [...]}` (`docs/json.md`).
pub fn render_json(results: &[FileResult]) -> String {
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
            let mut m = counts_json(&c);
            m.insert("group".into(), g.into());
            serde_json::Value::Object(m)
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
    let mut summary = counts_json(&Counts::of(results));
    summary.insert("total".into(), results.len().into());
    summary.insert("groups".into(), groups.into());
    let obj = serde_json::json!({
        "summary": summary,
        "results": results,
        "findings": findings,
        "cannot_judge": cannot_judge,
    });
    serde_json::to_string_pretty(&obj).unwrap_or_default()
}
