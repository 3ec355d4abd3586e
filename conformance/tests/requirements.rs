//! `conformance/REQUIREMENTS.md` stays true to the scripts: every script it names exists, and
//! every requirement ID a script cites (RFC 9293 Appendix B labels such as `MUST-13`) has a row.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn conformance() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn map() -> String {
    std::fs::read_to_string(conformance().join("REQUIREMENTS.md")).expect("REQUIREMENTS.md")
}

/// Every `.pkt` file under `dir`, as paths relative to it with `/` separators.
fn scripts(dir: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "pkt") {
                let rel = p.strip_prefix(dir).expect("under dir");
                out.insert(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    out
}

/// The backticked `.pkt` paths the map names (relative to `scripts/`; `*` is a wildcard).
fn named_scripts(map: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (i, line) in map.lines().enumerate() {
        for (k, part) in line.split('`').enumerate() {
            // `scripts/<rfc>/<section>-<what>.pkt` describes the layout; it names no script.
            if k % 2 == 1 && part.ends_with(".pkt") && !part.contains('<') {
                out.push((i + 1, part.to_string()));
            }
        }
    }
    out
}

/// Whether `pattern` (with at most one `*`) matches `name`.
fn glob(pattern: &str, name: &str) -> bool {
    match pattern.split_once('*') {
        Some((pre, post)) => {
            name.len() >= pre.len() + post.len() && name.starts_with(pre) && name.ends_with(post)
        }
        None => pattern == name,
    }
}

/// Requirement IDs in the first column of the map's tables.
fn row_ids(map: &str) -> BTreeSet<String> {
    map.lines()
        .filter_map(|l| l.strip_prefix("| "))
        .filter_map(|l| l.split(" |").next())
        .map(|id| id.trim().to_string())
        .filter(|id| is_req_id(id))
        .collect()
}

fn is_req_id(s: &str) -> bool {
    s.split_once('-').is_some_and(|(kind, n)| {
        matches!(kind, "MUST" | "SHLD" | "MAY" | "REC")
            && !n.is_empty()
            && n.chars().all(|c| c.is_ascii_digit())
    })
}

/// Requirement IDs cited in `text` (words such as `MUST-13`, punctuation trimmed).
fn cited_ids(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .map(|w| w.trim_matches('-'))
        .filter(|w| is_req_id(w))
        .map(str::to_string)
        .collect()
}

#[test]
fn every_script_the_map_names_exists() {
    let have = scripts(&conformance().join("scripts"));
    let missing: Vec<String> = named_scripts(&map())
        .into_iter()
        .filter(|(_, p)| !have.iter().any(|s| glob(p, s)))
        .map(|(line, p)| format!("REQUIREMENTS.md:{line}: `{p}` is not under conformance/scripts/"))
        .collect();
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}

#[test]
fn every_requirement_a_script_cites_has_a_row() {
    let rows = row_ids(&map());
    assert!(
        rows.len() > 100,
        "the tables were not read: {} rows",
        rows.len()
    );
    let dir = conformance().join("scripts");
    let mut unmapped = Vec::new();
    for s in scripts(&dir) {
        let text = std::fs::read_to_string(dir.join(&s)).expect("script");
        for (i, line) in text.lines().enumerate() {
            for id in cited_ids(line) {
                if !rows.contains(&id) {
                    unmapped.push(format!(
                        "scripts/{s}:{}: cites {id}, which REQUIREMENTS.md has no row for",
                        i + 1
                    ));
                }
            }
        }
    }
    assert!(unmapped.is_empty(), "{}", unmapped.join("\n"));
}

#[test]
fn the_checks_catch_what_they_are_for() {
    // A map naming a script that is not there, and a citation of a row that is not there.
    let have: BTreeSet<String> = ["rfc9293/a.pkt".to_string()].into();
    let named = named_scripts("| MUST-1 | x | MUST | `rfc9293/a.pkt`, `rfc9293/b.pkt` |\n");
    let missing: Vec<_> = named
        .iter()
        .filter(|(_, p)| !have.iter().any(|s| glob(p, s)))
        .collect();
    assert_eq!(missing, [&(1, "rfc9293/b.pkt".to_string())]);
    assert!(glob("rfc6191/2-*.pkt", "rfc6191/2-syn-accepted.pkt"));
    assert!(!glob("rfc6191/2-*.pkt", "rfc6191/3-syn.pkt"));
    let rows = row_ids("| MUST-1 | x | MUST | y |\n| **Window** | | | |\n");
    assert_eq!(rows, ["MUST-1".to_string()].into());
    assert_eq!(
        cited_ids("// RFC 9293 §3.6 MUST-13, SHLD-3; not MUST-x"),
        ["MUST-13", "SHLD-3"]
    );
}
