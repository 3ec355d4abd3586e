//! `harness check` and `harness replay`: judge recorded captures.
//!
//! A capture ([`crate::pcap`]: pcap or pcapng, any supported link type) is split into TCP
//! connections ([`conn`]); the endpoint under test (the DUT, `--dut` or guessed) is judged per
//! connection against a model ([`model`]: the reference stack under a profile for `check`, any
//! stack for `replay`) driven with the peer's segments at their recorded times; the first
//! divergence per connection is reported with frame numbers, expected vs actual. Findings read
//! from the frames alone ([`wire`]) and the TIME-WAIT oracle run over the model's events are
//! reported beside. `--best-profile` ranks every profile by how many DUT segments it explains.

pub mod conn;
pub mod model;
pub mod report;
pub mod segment;
pub mod wire;

use crate::oracle::{Finding, FindingKind};
use crate::trace::{NodeId, Trace, TraceEvent, TraceKind, TraceMeta};
use core::net::Ipv4Addr;
use model::{ConnJudgement, Tolerances};
use segment::{Arp, Parsed, Seg};
use stack::policy::Profile;
use stack::Instant;
use std::path::{Path, PathBuf};

/// What to judge against.
#[derive(Clone, Debug)]
pub struct CheckOptions {
    /// The endpoint under test (default: guessed, and said so).
    pub dut: Option<Ipv4Addr>,
    /// One profile; `None` ranks them all and judges with the best.
    pub profile: Option<String>,
    /// The model stack (`reference` for `check`; any stack for `replay`).
    pub stack: String,
    pub tolerances: Tolerances,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            dut: None,
            profile: None,
            stack: "reference".into(),
            tolerances: Tolerances::default(),
        }
    }
}

/// How well one profile explains a capture.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Rank {
    pub profile: String,
    /// DUT segments explained, over all connections.
    pub explained: usize,
    pub dut_segments: usize,
    /// Connections without a divergence.
    pub clean: usize,
    /// Explained segments whose options are the profile's too
    /// ([`model::ConnJudgement::exact`]).
    pub exact: usize,
    /// Findings the model's events show under this profile (TIME-WAIT assassinations).
    pub model_findings: usize,
}

/// The judgement of one capture file.
#[derive(Clone, Debug, serde::Serialize)]
pub struct FileReport {
    pub file: String,
    pub frames: usize,
    pub tcp_segments: usize,
    pub arp: usize,
    pub unrelated: usize,
    pub dut: Option<String>,
    /// Why this DUT (`--dut`, or how it was guessed).
    pub dut_reason: String,
    pub stack: String,
    pub profile: String,
    /// Every profile tried, best first (one entry with `--profile`).
    pub ranking: Vec<Rank>,
    pub connections: Vec<ConnJudgement>,
    pub findings: Vec<Finding>,
    /// What the oracles cannot judge from frames alone (said, never left silent).
    pub cannot_judge: Vec<crate::oracle::CannotJudge>,
}

impl FileReport {
    /// Connections with a divergence.
    pub fn divergences(&self) -> usize {
        self.connections
            .iter()
            .filter(|c| c.divergence.is_some())
            .count()
    }
    /// Whether the capture is clean: no divergence and no finding.
    pub fn clean(&self) -> bool {
        self.divergences() == 0 && self.findings.is_empty()
    }
}

/// Bad input for `check`/`replay`.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error(transparent)]
    Pcap(#[from] crate::pcap::PcapError),
    #[error("unknown profile `{0}` (harness profiles lists them)")]
    Profile(String),
    #[error("{0}")]
    Stack(String),
}

/// The frames of a capture, parsed.
struct Parsed2 {
    segs: Vec<Seg>,
    arps: Vec<Arp>,
    frames: usize,
    unrelated: usize,
    end: Instant,
}

fn parse_frames(frames: &[crate::pcap::CapturedFrame]) -> Parsed2 {
    let mut p = Parsed2 {
        segs: Vec::new(),
        arps: Vec::new(),
        frames: frames.len(),
        unrelated: 0,
        end: frames.iter().map(|f| f.time).max().unwrap_or(Instant::ZERO),
    };
    for (i, f) in frames.iter().enumerate() {
        match segment::parse(i + 1, f.time, &f.data) {
            Parsed::Tcp(s) => p.segs.push(s),
            Parsed::Arp(a) => p.arps.push(a),
            Parsed::Unrelated => p.unrelated += 1,
        }
    }
    p
}

#[cfg(test)]
mod tests;

/// Judges every connection of `conns` under one profile.
fn judge_all(
    conns: &[conn::Conn],
    opts: &CheckOptions,
    profile: &Profile,
    end: Instant,
) -> Vec<ConnJudgement> {
    let kind = opts.stack.clone();
    let make =
        move |c: &crate::dut::StackConfig| crate::stacks::make(&kind, c).map_err(|e| e.to_string());
    conns
        .iter()
        .map(|c| model::judge(c, &make, profile, opts.tolerances, end))
        .collect()
}

fn rank_of(name: &str, js: &[ConnJudgement]) -> Rank {
    Rank {
        profile: name.to_string(),
        explained: js.iter().map(|j| j.explained).sum(),
        exact: js.iter().map(|j| j.exact).sum(),
        dut_segments: js.iter().map(|j| j.dut_segments).sum(),
        clean: js
            .iter()
            .filter(|j| j.divergence.is_none() && j.skipped.is_none())
            .count(),
        model_findings: 0,
    }
}

/// The ranking order of `--best-profile`: better first.
fn rank_order(a: &Rank, b: &Rank) -> std::cmp::Ordering {
    (b.explained, b.clean, b.exact, a.model_findings).cmp(&(
        a.explained,
        a.clean,
        a.exact,
        b.model_findings,
    ))
}

/// Each profile's ranks summed over several captures, best first (`rank_order`): which
/// profile explains a whole corpus best.
pub fn overall_ranking(reports: &[FileReport]) -> Vec<Rank> {
    let mut sum: Vec<Rank> = Vec::new();
    for r in reports {
        for x in &r.ranking {
            match sum.iter_mut().find(|s| s.profile == x.profile) {
                Some(s) => {
                    s.explained += x.explained;
                    s.dut_segments += x.dut_segments;
                    s.clean += x.clean;
                    s.exact += x.exact;
                    s.model_findings += x.model_findings;
                }
                None => sum.push(x.clone()),
            }
        }
    }
    sum.sort_by(rank_order);
    sum
}

/// Judges one capture file.
pub fn check_file(path: &Path, opts: &CheckOptions) -> Result<FileReport, CheckError> {
    let frames = crate::pcap::read_pcap(path)?;
    check_frames(&path.display().to_string(), &frames, opts)
}

/// Judges frames already read (`name` labels the report).
pub fn check_frames(
    name: &str,
    frames: &[crate::pcap::CapturedFrame],
    opts: &CheckOptions,
) -> Result<FileReport, CheckError> {
    let p = parse_frames(frames);
    let (dut, dut_reason) = match opts.dut {
        Some(d) => (Some(d), "--dut".to_string()),
        None => guess_dut(&p, opts),
    };
    let conns = dut.map(|d| conn::split(&p.segs, d)).unwrap_or_default();
    let names: Vec<String> = match &opts.profile {
        Some(n) => {
            Profile::named(n).map_err(|_| CheckError::Profile(n.clone()))?;
            vec![n.clone()]
        }
        None => Profile::names().iter().map(|s| s.to_string()).collect(),
    };
    let mut judged: Vec<(Rank, Vec<ConnJudgement>)> = Vec::new();
    for n in &names {
        let profile = Profile::named(n).map_err(|_| CheckError::Profile(n.clone()))?;
        let js = judge_all(&conns, opts, &profile, p.end);
        let mut rank = rank_of(n, &js);
        rank.model_findings = model_findings(&js, dut, p.end).len();
        judged.push((rank, js));
    }
    // Best first: most DUT segments explained, then most clean connections, then most
    // segments whose options are the profile's own, then fewest findings (a capture two
    // profiles explain alike does not prove what only one of them would call an
    // assassination); stable in profile order.
    judged.sort_by(|a, b| rank_order(&a.0, &b.0));
    let ranking: Vec<Rank> = judged.iter().map(|j| j.0.clone()).collect();
    let (best, connections) = judged
        .into_iter()
        .next()
        .map(|(r, js)| (r.profile, js))
        .unwrap_or_default();

    let mut findings = Vec::new();
    let aborts = wire::aborts(&conns);
    for c in &conns {
        findings.extend(wire::findings(c, &p.arps, &aborts));
    }
    let analysis = oracle_analysis(frames, &p);
    let cannot_judge = analysis.cannot_judge;
    let dut_name = dut.map(|d| d.to_string()).unwrap_or_default();
    for f in analysis.findings {
        // Only the DUT is judged for RFC violations (a scripted or hostile peer breaks rules
        // on purpose); the wire rule above and the oracles may see the same death: once.
        if f.kind == FindingKind::RfcViolation && f.host != dut_name {
            continue;
        }
        if !findings
            .iter()
            .any(|x: &Finding| x.kind == f.kind && x.connection == f.connection)
        {
            findings.push(f);
        }
    }
    findings.extend(model_findings(&connections, dut, p.end));
    findings.sort_by(|a, b| {
        (a.time_us, a.kind, &a.connection).cmp(&(b.time_us, b.kind, &b.connection))
    });
    Ok(FileReport {
        file: name.to_string(),
        frames: p.frames,
        tcp_segments: p.segs.len(),
        arp: p.arps.len(),
        unrelated: p.unrelated,
        dut: dut.map(|d| d.to_string()),
        dut_reason,
        stack: opts.stack.clone(),
        profile: best,
        ranking,
        connections,
        findings,
        cannot_judge,
    })
}

/// The endpoint in the most connections; on a tie, the one the model (default profile)
/// explains best, then the lowest address.
fn guess_dut(p: &Parsed2, opts: &CheckOptions) -> (Option<Ipv4Addr>, String) {
    let cands = conn::dut_candidates(&p.segs);
    match cands.as_slice() {
        [] => (None, "no TCP traffic".into()),
        [one] => (
            Some(*one),
            "guessed: the address in the most connections".into(),
        ),
        _ => {
            // Each candidate is judged under the profile that suits it best.
            let profiles: Vec<Profile> = match opts.profile.as_deref() {
                Some(n) => Profile::named(n).ok().into_iter().collect(),
                None => Profile::names()
                    .iter()
                    .filter_map(|n| Profile::named(n).ok())
                    .collect(),
            };
            // Most clean connections, then the larger share of its segments the model sends
            // exactly (options included: a scripted or edited peer's differ from any stack's),
            // then the larger share explained (fractions compared by cross-multiplying); a tie
            // keeps the lower address.
            let key = |x: &Rank, y: &Rank| {
                let t = |r: &Rank| r.dut_segments.max(1) as u128;
                (x.clean, x.exact as u128 * t(y), x.explained as u128 * t(y))
            };
            let better_than = |a: &Rank, b: &Rank| key(a, b) > key(b, a);
            let mut best: Option<(Ipv4Addr, Rank)> = None;
            for c in &cands {
                let conns = conn::split(&p.segs, *c);
                let mut r: Option<Rank> = None;
                for pr in &profiles {
                    let x = rank_of("", &judge_all(&conns, opts, pr, p.end));
                    if r.as_ref().is_none_or(|r| better_than(&x, r)) {
                        r = Some(x);
                    }
                }
                let Some(r) = r else {
                    continue;
                };
                let better = best.as_ref().is_none_or(|(_, b)| better_than(&r, b));
                if better {
                    best = Some((*c, r));
                }
            }
            (
                best.map(|b| b.0),
                format!(
                    "guessed: of {} tied endpoints, the one the model explains best",
                    cands.len()
                ),
            )
        }
    }
}

/// The wire oracles ([`crate::oracle::judge`]) over the capture: one node per IPv4 address
/// seen, each an endpoint whose stack shows nothing but the wire.
fn oracle_analysis(frames: &[crate::pcap::CapturedFrame], p: &Parsed2) -> crate::oracle::Analysis {
    let trace = capture_trace(frames, p);
    crate::oracle::judge(&trace, &crate::oracle::OracleConfig::default())
}

/// A capture as a trace: every frame delivered, one node per address seen (its stack shows
/// nothing but the wire).
fn capture_trace(frames: &[crate::pcap::CapturedFrame], p: &Parsed2) -> Trace {
    use crate::trace::{Fate, FrameRecord, SegmentId, StackEvidence};
    let mut addrs: std::collections::BTreeSet<Ipv4Addr> = std::collections::BTreeSet::new();
    for s in &p.segs {
        addrs.insert(*s.src.ip());
        addrs.insert(*s.dst.ip());
    }
    for a in &p.arps {
        addrs.insert(a.sender_ip);
    }
    let addrs: Vec<Ipv4Addr> = addrs.into_iter().collect();
    let node = |a: Ipv4Addr| addrs.iter().position(|x| *x == a).map(NodeId);
    let mut events = Vec::new();
    for (i, f) in frames.iter().enumerate() {
        let from = match segment::parse(i + 1, f.time, &f.data) {
            Parsed::Tcp(s) => node(*s.src.ip()),
            Parsed::Arp(a) => node(a.sender_ip),
            Parsed::Unrelated => None,
        };
        let Some(from) = from else { continue };
        events.push(TraceEvent {
            time: f.time,
            kind: TraceKind::Frame(FrameRecord {
                time: f.time,
                segment: SegmentId(0),
                number: i + 1,
                from,
                bytes: f.data.clone(),
                fate: Fate::Delivered,
                delivered_at: Some(f.time),
            }),
        });
    }
    Trace {
        meta: TraceMeta {
            node_names: addrs.iter().map(|a| a.to_string()).collect(),
            node_addrs: addrs.iter().map(|a| vec![*a]).collect(),
            segment_names: vec!["capture".into()],
            stacks: addrs
                .iter()
                .map(|_| {
                    Some(StackEvidence {
                        stack: "unknown".into(),
                        ..StackEvidence::default()
                    })
                })
                .collect(),
        },
        events,
        end: p.end,
    }
}

/// TIME-WAIT assassinations the model saw while following the recording (the state is the
/// model's: the DUT was in TIME-WAIT in the model when the segment that ended it arrived).
fn model_findings(js: &[ConnJudgement], dut: Option<Ipv4Addr>, end: Instant) -> Vec<Finding> {
    let Some(dut) = dut else {
        return Vec::new();
    };
    let mut events: Vec<TraceEvent> = js
        .iter()
        .flat_map(|j| j.events.iter())
        .map(|(t, e)| TraceEvent {
            time: *t,
            kind: TraceKind::Stack {
                node: NodeId(0),
                event: e.clone(),
            },
        })
        .collect();
    events.sort_by_key(|e| e.time);
    let trace = Trace {
        meta: TraceMeta {
            node_names: vec![dut.to_string()],
            node_addrs: vec![vec![dut]],
            segment_names: vec!["capture".into()],
            // The model's event log stands in for the stack's.
            stacks: vec![Some(crate::trace::StackEvidence {
                stack: "model".into(),
                events: true,
                ..Default::default()
            })],
        },
        events,
        end,
    };
    crate::oracle::analyze(&trace, &crate::oracle::OracleConfig::default())
        .into_iter()
        .filter(|f| f.kind == FindingKind::TimeWaitAssassination)
        .collect()
}

fn secs(t_us: u64, start: Instant) -> String {
    let rel = t_us.saturating_sub(start.total_micros());
    format!("{}.{:06}s", rel / 1_000_000, rel % 1_000_000)
}

/// Text for people: one block per file.
pub fn render_text(reports: &[FileReport], best_profile: bool) -> String {
    let mut s = String::new();
    for r in reports {
        s.push_str(&format!(
            "{}: {} frames ({} TCP, {} ARP, {} unrelated)\n",
            r.file, r.frames, r.tcp_segments, r.arp, r.unrelated
        ));
        match &r.dut {
            Some(d) => s.push_str(&format!("  dut {d} ({})\n", r.dut_reason)),
            None => s.push_str(&format!("  no endpoint to judge: {}\n", r.dut_reason)),
        }
        if let Some(best) = r.ranking.first() {
            let tied: Vec<&str> = r
                .ranking
                .iter()
                .filter(|x| rank_order(x, best) == std::cmp::Ordering::Equal)
                .map(|x| x.profile.as_str())
                .collect();
            if r.ranking.len() > 1 {
                s.push_str(&format!(
                    "  best profile: {} ({}/{} DUT segments explained, {} of {} connections clean)\n",
                    tied.join(", "),
                    best.explained,
                    best.dut_segments,
                    best.clean,
                    r.connections.len()
                ));
                if best_profile {
                    for x in &r.ranking {
                        s.push_str(&format!(
                            "    {:<10} {:>6}/{:<6} explained  {:>4} clean  {:>4} exact\n",
                            x.profile, x.explained, x.dut_segments, x.clean, x.exact
                        ));
                    }
                }
            } else {
                s.push_str(&format!(
                    "  {} {}: {}/{} DUT segments explained\n",
                    if r.stack == "reference" {
                        "profile"
                    } else {
                        "stack"
                    },
                    if r.stack == "reference" {
                        &r.profile
                    } else {
                        &r.stack
                    },
                    best.explained,
                    best.dut_segments
                ));
            }
        }
        let start = Instant::ZERO;
        for c in &r.connections {
            let status = match (&c.divergence, &c.skipped) {
                (_, Some(why)) => format!("skipped: {why}"),
                (None, None) => "ok".to_string(),
                (Some(d), None) => format!(
                    "DIVERGENCE at frame {} ({}): expected {}; actual {}",
                    d.frame,
                    secs(d.time_us, start),
                    d.expected,
                    d.actual
                ),
            };
            let from = c
                .judged_from
                .map(|f| format!(" (mid-connection: judged from frame {f})"))
                .unwrap_or_default();
            s.push_str(&format!(
                "  {} {}/{}{} {}\n",
                c.connection, c.explained, c.dut_segments, from, status
            ));
        }
        for f in &r.findings {
            s.push_str(&format!("  finding: {f}\n"));
            for e in &f.evidence {
                s.push_str(&format!("    {e}\n"));
            }
        }
        for c in &r.cannot_judge {
            s.push_str(&format!("  {c}\n"));
        }
    }
    if best_profile && reports.len() > 1 {
        let all = overall_ranking(reports);
        if let Some(b) = all.first() {
            let tied: Vec<&str> = all
                .iter()
                .filter(|x| rank_order(x, b) == std::cmp::Ordering::Equal)
                .map(|x| x.profile.as_str())
                .collect();
            s.push_str(&format!(
                "best profile over all {} captures: {} ({}/{} DUT segments explained, {} \
                 connections clean, {} exact)\n",
                reports.len(),
                tied.join(", "),
                b.explained,
                b.dut_segments,
                b.clean,
                b.exact
            ));
            for x in &all {
                s.push_str(&format!(
                    "    {:<10} {:>6}/{:<6} explained  {:>4} clean  {:>4} exact\n",
                    x.profile, x.explained, x.dut_segments, x.clean, x.exact
                ));
            }
        }
    }
    let div: usize = reports.iter().map(FileReport::divergences).sum();
    let fnd: usize = reports.iter().map(|r| r.findings.len()).sum();
    let conns: usize = reports.iter().map(|r| r.connections.len()).sum();
    s.push_str(&format!(
        "{} captures, {} connections, {} divergences, {} findings\n",
        reports.len(),
        conns,
        div,
        fnd
    ));
    s
}

/// One JSON object: `{"summary", "results", "findings"}` (CLI.md).
pub fn render_json(reports: &[FileReport], errors: &[String]) -> String {
    let findings: Vec<&Finding> = reports.iter().flat_map(|r| r.findings.iter()).collect();
    let v = serde_json::json!({
        "summary": {
            "captures": reports.len(),
            "connections": reports.iter().map(|r| r.connections.len()).sum::<usize>(),
            "divergences": reports.iter().map(FileReport::divergences).sum::<usize>(),
            "findings": findings.len(),
            "input_errors": errors.len(),
        },
        "results": reports,
        "findings": findings,
        "errors": errors,
    });
    serde_json::to_string_pretty(&v).unwrap_or_default()
}

/// `harness check` / `harness replay`: exit 0 clean, 1 divergence or finding, 2 bad input
/// (reported after the good files' results).
/// With `report`, also writes the HTML page ([`report`]); a page that cannot be written is bad
/// usage (exit 2, said on stderr).
pub fn command(
    files: &[PathBuf],
    opts: &CheckOptions,
    json: bool,
    best_profile: bool,
    report: Option<&Path>,
) -> u8 {
    let mut reports = Vec::new();
    let mut errors = Vec::new();
    for f in files {
        match check_file(f, opts) {
            Ok(r) => reports.push(r),
            Err(e) => errors.push(e.to_string()),
        }
    }
    if json {
        println!("{}", render_json(&reports, &errors));
    } else {
        print!("{}", render_text(&reports, best_profile));
    }
    for e in &errors {
        eprintln!("harness: {e}");
    }
    if let Some(out) = report {
        if let Err(e) = report::write(out, files, &reports) {
            eprintln!("harness: {e}");
            return 2;
        }
    }
    if !errors.is_empty() {
        2
    } else if reports.iter().all(FileReport::clean) {
        0
    } else {
        1
    }
}
