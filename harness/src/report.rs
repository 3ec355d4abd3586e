//! `--report OUT.html`: one self-contained page (inline CSS and SVG, no script, nothing
//! fetched) with the outcome table, then every finding with its kind, cause, evidence, the RFC
//! requirement behind it (from [`crate::explain`]), a ladder of the exchange around it and
//! links to the pcaps of its run.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::explain::explain;
use crate::ladder::{ladder_of_trace, ladder_svg, Selection};
use crate::oracle::Finding;
use crate::outcome::{Column, Counts, FileResult};
use crate::run::RunOptions;
use crate::trace::Trace;
use std::collections::BTreeMap;

/// Rows of ladder either side of a finding.
const CONTEXT: usize = 6;
/// Widest ladder in characters (8 px each in the SVG: 960 px).
const LADDER_WIDTH: usize = 120;

/// Where the traces behind the findings come from: a run is deterministic on a virtual clock,
/// so the report runs a file with findings once more to draw its ladders.
pub type TraceSource<'a> = dyn FnMut(&FileResult) -> Option<Trace> + 'a;

/// The trace of `r` run again with the run's options, when the stack runs on a virtual clock
/// (a live kernel would not repeat itself, so its ladders are left out and the page says so).
pub fn rerun(opts: &RunOptions) -> impl FnMut(&FileResult) -> Option<Trace> + '_ {
    move |r: &FileResult| {
        if !matches!(opts.stack.as_deref(), None | Some("reference")) {
            return None;
        }
        let path = Path::new(&r.file);
        let mut o = opts.clone();
        o.pcap_dir = None;
        if r.profile.is_some() {
            o.overrides.profile = r.profile.clone();
        }
        match path.extension().and_then(|e| e.to_str()) {
            Some("toml") => crate::scenario::Scenario::load(path)
                .ok()?
                .run(&o.overrides)
                .ok()
                .map(|res| res.trace),
            Some("pkt") => match crate::input::load(path).ok()? {
                crate::input::Input::Script(script) => {
                    let profile = match &r.profile {
                        Some(p) => p.clone(),
                        None => crate::script::runner::profiles_to_run(&script, &o)
                            .ok()?
                            .into_iter()
                            .next()?,
                    };
                    crate::script::runner::run_parsed(&script, &profile, &o)
                        .ok()
                        .map(|run| run.trace)
                }
                _ => None,
            },
            _ => None,
        }
    }
}

/// The whole page. `report_dir` is where the page will live (pcap links are made relative to
/// it when they are below it).
pub fn render_html(
    title: &str,
    results: &[FileResult],
    traces: &mut TraceSource<'_>,
    report_dir: &Path,
) -> String {
    let mut h = String::new();
    let passed = results.iter().filter(|r| r.passed()).count();
    let nfind: usize = results.iter().map(|r| r.findings.len()).sum();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        esc(title)
    );
    let _ = writeln!(h, "<h1>{}</h1>", esc(title));
    let _ = writeln!(
        h,
        "<p class=\"summary\"><b>{passed}</b> passed, <b>{}</b> failed, <b>{nfind}</b> findings in {} runs.</p>",
        results.len() - passed,
        results.len()
    );

    // The outcome table: one row per group, one column per outcome.
    let mut groups: BTreeMap<String, Counts> = BTreeMap::new();
    for r in results {
        groups.entry(r.group.clone()).or_default().add(r);
    }
    h.push_str("<h2>Outcomes</h2>\n<table id=\"outcomes\">\n<tr><th>group</th>");
    for c in Column::ALL {
        let _ = write!(h, "<th>{}</th>", c.label().replace('_', " "));
    }
    h.push_str("<th>cannot judge</th></tr>\n");
    let mut total = Counts::default();
    for (g, c) in &groups {
        outcome_row(&mut h, &esc(g), c, "");
        total.merge(c);
    }
    outcome_row(&mut h, "total", &total, " class=\"total\"");
    h.push_str("</table>\n");

    h.push_str("<h2>Runs</h2>\n<table id=\"runs\">\n<tr><th></th><th>file</th><th>profile</th><th>findings</th><th>failures</th><th>pcaps</th></tr>\n");
    for (i, r) in results.iter().enumerate() {
        let status = r.outcome.status().trim();
        let _ = writeln!(
            h,
            "<tr class=\"{}\"><td>{status}</td><td><a href=\"#run-{i}\">{}</a></td><td>{}</td><td class=\"num\">{}</td><td>{}</td><td>{}</td></tr>",
            if r.outcome.exit_code() == 0 {
                "pass"
            } else {
                "fail"
            },
            esc(&r.file),
            esc(r.profile.as_deref().unwrap_or("")),
            r.findings.len(),
            r.failures
                .iter()
                .chain(r.notes.iter())
                .map(|f| esc(f))
                .collect::<Vec<_>>()
                .join("<br>"),
            pcap_links(&r.pcaps, report_dir)
        );
    }
    h.push_str("</table>\n");

    h.push_str("<h2>Findings</h2>\n");
    if nfind == 0 {
        h.push_str("<p>No findings.</p>\n");
    }
    let mut n = 0;
    for (i, r) in results.iter().enumerate() {
        if r.findings.is_empty() && r.cannot_judge.is_empty() {
            continue;
        }
        let _ = writeln!(
            h,
            "<section class=\"run\" id=\"run-{i}\">\n<h3>{} <span class=\"{}\">{}</span></h3>",
            esc(&r.file),
            if r.passed() { "pass" } else { "fail" },
            if r.passed() {
                "passed (findings expected)"
            } else {
                "failed"
            }
        );
        if !r.pcaps.is_empty() {
            let _ = writeln!(h, "<p>pcaps: {}</p>", pcap_links(&r.pcaps, report_dir));
        }
        for c in &r.cannot_judge {
            let _ = writeln!(
                h,
                "<p class=\"cannot-judge\">cannot judge <b>{}</b>: {}</p>",
                esc(c.kind.name()),
                esc(&c.to_string())
            );
        }
        let trace = if r.findings.is_empty() {
            None
        } else {
            traces(r)
        };
        if trace.is_none() && !r.findings.is_empty() {
            h.push_str("<p class=\"note\">No ladders: this run cannot be repeated exactly (a live stack).</p>\n");
        }
        for (j, f) in r.findings.iter().enumerate() {
            n += 1;
            finding_card(&mut h, n, j, f, &r.findings, trace.as_ref());
        }
        h.push_str("</section>\n");
    }
    h.push_str("</body>\n</html>\n");
    h
}

fn outcome_row(h: &mut String, name: &str, c: &Counts, class: &str) {
    let _ = write!(h, "<tr{class}><td>{name}</td>");
    for col in Column::ALL {
        let n = c.get(col);
        let bad = n > 0 && matches!(col, Column::Failed | Column::InputErrors);
        let _ = write!(
            h,
            "<td class=\"num{}\">{n}</td>",
            if bad { " bad" } else { "" }
        );
    }
    let _ = writeln!(h, "<td class=\"num\">{}</td></tr>", c.cannot_judge);
}

fn finding_card(
    h: &mut String,
    n: usize,
    j: usize,
    f: &Finding,
    all: &[Finding],
    trace: Option<&Trace>,
) {
    let e = explain(f.kind);
    let _ = writeln!(
        h,
        "<article class=\"finding\" id=\"finding-{n}\" data-kind=\"{}\">",
        f.kind
    );
    let _ = writeln!(
        h,
        "<h4><span class=\"kind\">{}</span> <span class=\"cause\">{}</span> <span class=\"when\">at {} on {}</span></h4>",
        f.kind,
        esc(f.cause.as_deref().unwrap_or("")),
        stack::Instant::from_micros(f.time_us),
        esc(&f.host)
    );
    let _ = writeln!(
        h,
        "<p class=\"conn\">connection <code>{}</code>{}</p>",
        esc(&f.connection),
        f.duration_us.map_or(String::new(), |d| format!(
            ", for {}",
            stack::Duration::from_micros(d)
        ))
    );
    if !f.frames.is_empty() {
        let frames: Vec<String> = f.frames.iter().map(|fr| esc(&fr.to_string())).collect();
        let _ = writeln!(
            h,
            "<p class=\"frames\">evidence frames (segment#number in its pcap): {}</p>",
            frames.join(", ")
        );
    }
    if !f.evidence.is_empty() {
        h.push_str("<ul class=\"evidence\">\n");
        for ev in &f.evidence {
            let _ = writeln!(h, "<li>{}</li>", esc(&ev.to_string()));
        }
        h.push_str("</ul>\n");
    }
    let _ = writeln!(
        h,
        "<blockquote class=\"rfc\">{}</blockquote>",
        esc(&squeeze(e.rfc))
    );
    if let Some(t) = trace {
        let sel = Selection {
            around: Some((j + 1).to_string()),
            context: Some(CONTEXT),
            ..Selection::default()
        };
        if let Ok(mut l) = ladder_of_trace(t, all, &sel) {
            l.width = Some(LADDER_WIDTH);
            l.fold_idle = Some(stack::Duration::from_secs(10));
            let svg = ladder_svg(&l);
            // Inline: drop the XML declaration, keep the <svg> element.
            let body = svg
                .split_once("?>\n")
                .map_or(svg.as_str(), |(_, rest)| rest);
            let _ = writeln!(h, "<div class=\"ladder\">{body}</div>");
        }
    }
    let fixes: Vec<String> = e.fixes.iter().map(|x| esc(&squeeze(x))).collect();
    let _ = writeln!(
        h,
        "<details><summary>usual fixes</summary><ul><li>{}</li></ul></details>\n</article>",
        fixes.join("</li><li>")
    );
}

fn pcap_links(pcaps: &[String], report_dir: &Path) -> String {
    pcaps
        .iter()
        .map(|p| {
            let path = PathBuf::from(p);
            let href = path
                .strip_prefix(report_dir)
                .map(Path::to_path_buf)
                .unwrap_or_else(|_| std::fs::canonicalize(&path).unwrap_or(path.clone()));
            let name = path
                .file_name()
                .map_or(p.clone(), |n| n.to_string_lossy().into_owned());
            format!(
                "<a class=\"pcap\" href=\"{}\">{}</a>",
                esc(&href.to_string_lossy()),
                esc(&name)
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn squeeze(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Escapes text for HTML (the same rules as the SVG's XML).
fn esc(s: &str) -> String {
    crate::ladder::escape(s)
}

const STYLE: &str = "body{font-family:sans-serif;margin:2em;color:#222;max-width:1100px}\
table{border-collapse:collapse;margin-bottom:1em}td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}\
td.num{text-align:right}td.bad,.fail{color:#a00;font-weight:bold}.pass{color:#070}\
tr.total td{font-weight:bold}\
article.finding{border-left:4px solid #c00;padding:0.2em 1em;margin:1em 0;background:#fafafa}\
.kind{color:#a00}.cause{color:#444}.when{color:#666;font-weight:normal;font-size:90%}\
blockquote.rfc{border-left:3px solid #88a;margin:0.5em 0;padding-left:1em;color:#335}\
.ladder{overflow-x:auto;background:#fff;border:1px solid #ddd;margin:0.5em 0}\
.cannot-judge{color:#850}";

/// Writes the page to `path` through a temporary name (never half a file).
pub fn write(
    path: &Path,
    title: &str,
    results: &[FileResult],
    traces: &mut TraceSource<'_>,
) -> Result<(), String> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let html = render_html(title, results, traces, dir);
    crate::cli::write_atomically(path, html.as_bytes())
}

#[cfg(test)]
mod tests;
