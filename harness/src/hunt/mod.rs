//! `harness hunt`: searches scenario space for RST loss, TIME-WAIT assassination and half-open
//! connections under a chosen profile, shrinks what it finds, and writes each minimised finding
//! as a replayable scenario plus its pcap. The same cases drive the `hunt_*` cargo-fuzz targets
//! (see [`fuzz_one`]), so libFuzzer and the seeded search explore one space.

pub mod cases;
mod pool;
pub mod report;
pub mod stats;

pub use cases::{Case, Family};

use crate::oracle::Finding;
use crate::scenario::{Overrides, Scenario};
use stack::rand::Rng;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What to search and for how long.
#[derive(Clone, Debug)]
pub struct HuntConfig {
    pub families: Vec<Family>,
    /// The stack of every host under test (`--stack`): the hosts that run `profile`.
    pub stack: String,
    pub profile: String,
    pub knobs: Vec<(String, String)>,
    pub seed: u64,
    /// Stop after this many runs, or this much wall time (whichever comes first).
    pub runs: Option<u64>,
    pub seconds: Option<f64>,
    pub out: PathBuf,
    /// Worker threads (at least 1; the calling thread is one of them). The findings do not
    /// depend on it: cases are drawn in one seeded sequence, run, judged and shrunk in parallel,
    /// and merged in sequence order (see `pool`).
    pub jobs: usize,
}

/// The number of worker threads `hunt --jobs` uses by default: the available cores.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// One distinct (grouped) finding.
#[derive(Clone, Debug)]
pub struct Found {
    pub family: Family,
    pub cause: String,
    /// How many runs hit this group.
    pub hits: u64,
    /// The minimised case and where its reproducer was written.
    pub case: Case,
    pub scenario: PathBuf,
    pub pcaps: Vec<String>,
}

/// The result of a hunt.
#[derive(Clone, Debug, Default)]
pub struct HuntReport {
    pub runs: u64,
    pub found: Vec<Found>,
    /// Runs the stack refused (a knob or capability it lacks), by family and reason: such a
    /// run can find nothing, so the report says how many there were and why, never nothing.
    pub unsupported: BTreeMap<(Family, String), u64>,
    /// Where the time went (`hunt --stats`); the only part that depends on `--jobs`.
    pub stats: stats::HuntStats,
}

/// Runs one case; returns its findings (all kinds) or an error text for a broken case. A case
/// the stack refuses (a knob or capability it lacks, e.g. static ARP on smoltcp) gives no
/// findings (see `run_case_or_refusal` for why).
pub fn run_case(
    case: &Case,
    stack: &str,
    profile: &str,
    knobs: &[(String, String)],
    seed: u64,
) -> Result<(String, Vec<Finding>, crate::trace::Trace), String> {
    let text = with_stack(case.to_toml("hunt", profile, knobs, seed), stack, profile);
    Ok(match run_case_or_refusal(&text)? {
        Ok((findings, trace)) => (text, findings, trace),
        Err(_) => (text, Vec::new(), crate::trace::Trace::default()),
    })
}

/// Runs a generated scenario: `Ok(Ok(..))` with its findings and trace, `Ok(Err(reason))` when
/// the stack refuses it (the refusal's message), `Err` for a broken case.
#[allow(clippy::type_complexity)]
fn run_case_or_refusal(
    text: &str,
) -> Result<Result<(Vec<Finding>, crate::trace::Trace), String>, String> {
    let sc = Scenario::parse("hunt.toml", text).map_err(|e| format!("{e}\n{text}"))?;
    match sc.run(&Overrides::default()) {
        Ok(res) => Ok(Ok((res.findings, res.trace))),
        Err(e) if e.not_run.is_some() => Ok(Err(e.diag.message)),
        Err(e) => Err(format!("{e}\n{text}")),
    }
}

/// Names `stack` on every host under test of a generated scenario — the hosts that run the
/// hunted `profile` — so the reproducer replays on the stack it was found on (nothing for the
/// reference stack, the default). Peers with a fixed profile of their own (incident A's Linux
/// clients) stay on the reference stack, which honours that profile: a third-party stack would
/// refuse it, and every run would be unsupported.
fn with_stack(text: String, stack: &str, profile: &str) -> String {
    if stack == "reference" {
        return text;
    }
    let mine = format!("profile = {profile:?}\n");
    let mut blocks = text.split("[[host]]\n");
    let mut out = blocks.next().unwrap_or_default().to_string();
    for b in blocks {
        out.push_str("[[host]]\n");
        // The host's own lines end at its first sub-table (`[[host.app]]`) or the next table.
        let own = b.split("\n[").next().unwrap_or(b);
        if own.lines().any(|l| format!("{l}\n") == mine) {
            out.push_str(&format!("stack = {stack:?}\n"));
        }
        out.push_str(b);
    }
    out
}

fn family_findings(f: &[Finding], fam: Family) -> Vec<&Finding> {
    f.iter().filter(|x| x.kind == fam.kind()).collect()
}

/// Shrinks a failing case: greedily takes any simpler neighbour that still shows `family`.
pub fn shrink(
    case: Case,
    stack: &str,
    profile: &str,
    knobs: &[(String, String)],
    seed: u64,
) -> Case {
    let mut cur = case;
    let mut budget = 200;
    'outer: while budget > 0 {
        for cand in cur.shrink() {
            budget -= 1;
            if let Ok((_, f, _)) = run_case(&cand, stack, profile, knobs, seed) {
                if !family_findings(&f, cur.family()).is_empty() {
                    cur = cand;
                    continue 'outer;
                }
            }
            if budget == 0 {
                break 'outer;
            }
        }
        break;
    }
    cur
}

/// Content hash (FNV-1a) for reproducer file names.
fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// Writes a reproducer: the scenario with `[[expect]]` lines for everything its minimised case
/// produces (so `harness run` replays it and passes), and its pcaps.
fn write_reproducer(
    out: &Path,
    s: &pool::Shrunk,
    cfg: &HuntConfig,
) -> Result<(PathBuf, Vec<String>), String> {
    let case = &s.small;
    let stem = format!(
        "{}-{}-{:08x}",
        case.family().name(),
        slug(&s.cause),
        fnv(&s.text) as u32
    );
    let mut body = with_stack(
        case.to_toml(&stem, &cfg.profile, &cfg.knobs, cfg.seed),
        &cfg.stack,
        &cfg.profile,
    );
    let mut counts: BTreeMap<(&str, String), usize> = BTreeMap::new();
    for f in &s.findings {
        *counts.entry((f.kind.name(), f.host.clone())).or_default() += 1;
    }
    for ((kind, host), n) in counts {
        body.push_str(&format!(
            "[[expect]]\nkind = {kind:?}\nhost = {host:?}\ncount = {n}\n\n"
        ));
    }
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let path = out.join(format!("{stem}.toml"));
    std::fs::write(&path, &body).map_err(|e| format!("{}: {e}", path.display()))?;
    // Replay the written file exactly as a user would, and keep its capture.
    let sc = Scenario::load(&path).map_err(|e| e.to_string())?;
    let res = sc.run(&Overrides::default()).map_err(|e| e.to_string())?;
    if !res.passed() {
        return Err(format!(
            "{}: the reproducer does not replay",
            path.display()
        ));
    }
    let pcaps = crate::run::write_pcaps(out, &stem, &res.trace).map_err(|e| e.to_string())?;
    Ok((path, pcaps))
}

fn slug(s: &str) -> String {
    let t: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    t.split('-')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

/// The cause a finding is grouped by (its first word: `arp-queue-overflow`, `nat-expiry`, ...).
fn group_cause(f: &Finding) -> String {
    f.cause
        .as_deref()
        .unwrap_or("unknown")
        .split([' ', '('])
        .next()
        .unwrap_or("unknown")
        .to_string()
}

/// Runs the search: cases are drawn from one generator seeded by `cfg.seed`; `cfg.jobs`
/// threads draw, run, judge and shrink them, and the results are merged (grouped, written) in
/// the order they were drawn, so the findings are the same for any number of jobs (see
/// `pool` for how). `progress` sees (runs merged, distinct findings) after each run.
pub fn hunt(cfg: &HuntConfig, progress: impl FnMut(u64, usize)) -> Result<HuntReport, String> {
    pool::search(cfg, progress)
}

/// ", {x:.1} s CPU" since `before` (user + system time of the process), where the OS tells.
fn cpu_secs_since(before: Option<f64>) -> String {
    match (before, crate::bench::cpu_secs()) {
        (Some(b), Some(a)) => format!(", {:.1} s CPU", a - b),
        _ => String::new(),
    }
}

/// Draws a case from a fuzz input. The input's bytes come first (so libFuzzer steers what it
/// has learnt); past its end, bytes from a generator seeded by the input's hash fill in, so even
/// a one-byte input is a whole random case instead of the all-minimum one.
pub fn case_from_input(family: Family, data: &[u8]) -> Option<Case> {
    let mut rng = Rng::new(fnv_bytes(data));
    let mut bytes = data.to_vec();
    while bytes.len() < 64 {
        bytes.push(rng.next_u32() as u8);
    }
    let mut u = arbitrary::Unstructured::new(&bytes);
    Case::arbitrary(family, &mut u).ok()
}

fn fnv_bytes(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// The body of the `hunt_*` fuzz targets: draws a case of `family` from `data`, runs it under
/// the profile in `HUNT_PROFILE` (default `hardened`, which claims immunity) and panics when the
/// family shows up — libFuzzer's "crash" is our finding.
pub fn fuzz_one(family: Family, data: &[u8]) {
    let profile = std::env::var("HUNT_PROFILE").unwrap_or_else(|_| "hardened".into());
    let Some(case) = case_from_input(family, data) else {
        return;
    };
    match run_case(&case, "reference", &profile, &[], 1) {
        Ok((_, findings, _)) => {
            if let Some(f) = family_findings(&findings, family).first() {
                panic!(
                    "{} under profile {profile}: {f}\ncase: {}",
                    family.name(),
                    case.summary()
                );
            }
        }
        Err(e) => panic!("generated scenario failed to run: {e}"),
    }
}

/// The `harness hunt` command.
/// Prints what it found; a progress bar on stderr while it hunts (see
/// [`crate::progress`]).
/// With `report`, also writes the HTML page ([`report`]).
pub fn command(
    family: &str,
    cfg_base: HuntConfig,
    verbosity: crate::progress::Verbosity,
    report_to: Option<&std::path::Path>,
    show_stats: bool,
) -> Result<u8, String> {
    let families = if family == "all" {
        Family::ALL.to_vec()
    } else {
        vec![Family::parse_named(family)?]
    };
    let cfg = HuntConfig {
        families,
        ..cfg_base
    };
    let what = format!(
        "hunt {}",
        cfg.families
            .iter()
            .map(|f| f.name())
            .collect::<Vec<_>>()
            .join(",")
    );
    let progress = crate::progress::Progress::new(&what, cfg.runs, verbosity);
    let started = std::time::Instant::now();
    let cpu_before = crate::bench::cpu_secs();
    let report = hunt(&cfg, |runs, found| {
        progress.set_position(runs);
        progress.set_message(format!("{found} distinct findings"));
    })?;
    // Speed goes to stderr only: stdout (the findings) is the same for any --jobs.
    let wall = started.elapsed().as_secs_f64();
    let cpu = cpu_secs_since(cpu_before);
    progress.finish(&format!(
        "{} runs, {} distinct findings, {wall:.1} s wall ({:.1} runs/s, {} jobs){cpu}",
        report.runs,
        report.found.len(),
        report.runs as f64 / wall.max(1e-9),
        cfg.jobs,
    ));
    println!(
        "hunt {} under profile {}: {} runs, {} distinct findings",
        cfg.families
            .iter()
            .map(|f| f.name())
            .collect::<Vec<_>>()
            .join(","),
        cfg.profile,
        report.runs,
        report.found.len()
    );
    for f in &report.found {
        println!(
            "found {} cause={} ({} hits)",
            f.family.name(),
            f.cause,
            f.hits
        );
        println!("  minimised: {}", f.case.summary());
        println!("  reproducer: {}", f.scenario.display());
        for p in &f.pcaps {
            println!("  pcap: {p}");
        }
        println!("  replay: harness run {}", f.scenario.display());
    }
    for ((fam, reason), n) in &report.unsupported {
        println!(
            "unsupported: {n} of the {} runs on {}: {reason}",
            fam.name(),
            cfg.stack
        );
    }
    if show_stats {
        eprint!("{}", report.stats);
    }
    if let Some(out) = report_to {
        report::write(out, &format!("harness {what}"), &report.found)?;
        println!("report: {}", out.display());
    }
    Ok(if report.found.is_empty() { 0 } else { 1 })
}

#[cfg(test)]
mod stack_tests {
    use super::*;

    #[test]
    fn the_stack_goes_to_the_hosts_under_test_only() {
        let case =
            Case::arbitrary(Family::RstLoss, &mut arbitrary::Unstructured::new(&[7; 64])).unwrap();
        let text = with_stack(case.to_toml("t", "rfc9293", &[], 1), "smoltcp", "rfc9293");
        let hosts: Vec<&str> = text.split("[[host]]\n").skip(1).collect();
        assert!(hosts.len() >= 2, "{text}");
        for h in hosts {
            let under_test = h.contains("profile = \"rfc9293\"\n");
            assert_eq!(h.starts_with("stack = \"smoltcp\"\n"), under_test, "{h}");
        }
        assert!(text.contains("profile = \"linux\""), "{text}");
        // The reference stack is the default: nothing is named.
        let plain = case.to_toml("t", "rfc9293", &[], 1);
        assert_eq!(with_stack(plain.clone(), "reference", "rfc9293"), plain);
    }

    /// A stack that refuses a case is counted with the refusal's reason, never silently.
    #[test]
    fn refused_runs_are_counted_with_their_reason() {
        let cfg = HuntConfig {
            families: vec![Family::RstLoss],
            stack: "smoltcp".into(),
            profile: "linux".into(),
            knobs: Vec::new(),
            seed: 1,
            runs: Some(4),
            seconds: None,
            out: std::env::temp_dir().join("harness-hunt-refused"),
            jobs: 1,
        };
        let r = hunt(&cfg, |_, _| {}).unwrap();
        assert_eq!(r.runs, 4);
        assert!(r.found.is_empty());
        assert_eq!(
            r.unsupported.values().sum::<u64>(),
            4,
            "{:?}",
            r.unsupported
        );
        assert!(
            r.unsupported
                .keys()
                .all(|(_, why)| why.contains("smoltcp cannot")),
            "{:?}",
            r.unsupported
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(family: Family, profile: &str, runs: u64, out: &Path) -> HuntConfig {
        HuntConfig {
            stack: "reference".into(),
            families: vec![family],
            profile: profile.into(),
            knobs: Vec::new(),
            seed: 7,
            runs: Some(runs),
            seconds: None,
            out: out.to_path_buf(),
            jobs: 1,
        }
    }

    fn tmp(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("hunt-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn windows_rst_loss_is_found_and_minimised_to_the_incident() {
        let out = tmp("rst");
        let r = hunt(&cfg(Family::RstLoss, "windows", 60, &out), |_, _| {}).expect("hunt");
        let f = r
            .found
            .iter()
            .find(|f| f.family == Family::RstLoss)
            .expect("found rst-loss");
        assert_eq!(f.cause, "arp-queue-overflow");
        let Case::RstLoss(c) = &f.case else {
            panic!("wrong case")
        };
        // The handful of elements incident A needs: >= 2 connections reaped in one tick, an
        // unresolved next hop (no static entry), RST closes.
        assert_eq!(c.clients, 2);
        assert_eq!(c.spread_ms, 0);
        assert!(!c.static_arp && c.close_by_rst && c.client_idle_s.is_none());
        // The reproducer replays as a passing scenario, and its pcaps exist.
        let sc = Scenario::load(&f.scenario).expect("load reproducer");
        assert!(sc.run(&Overrides::default()).expect("run").passed());
        assert!(f.pcaps.iter().all(|p| Path::new(p).exists()));
    }

    #[test]
    fn each_family_is_found_under_a_vulnerable_profile() {
        for (fam, profile) in [(Family::TimeWait, "rfc793"), (Family::HalfOpen, "windows")] {
            let out = tmp(fam.name());
            let r = hunt(&cfg(fam, profile, 200, &out), |_, _| {}).expect("hunt");
            assert!(
                r.found.iter().any(|f| f.family == fam),
                "{} not found under {profile}",
                fam.name()
            );
        }
    }

    #[test]
    fn hardened_is_immune_in_every_family() {
        for fam in Family::ALL {
            let out = tmp(&format!("hard-{}", fam.name()));
            let r = hunt(&cfg(fam, "hardened", 300, &out), |_, _| {}).expect("hunt");
            assert!(r.found.is_empty(), "{:?}", r.found);
        }
    }

    #[test]
    fn same_seed_same_search() {
        let a = hunt(
            &cfg(Family::HalfOpen, "windows", 50, &tmp("det-a")),
            |_, _| {},
        )
        .expect("a");
        let b = hunt(
            &cfg(Family::HalfOpen, "windows", 50, &tmp("det-b")),
            |_, _| {},
        )
        .expect("b");
        let key = |r: &HuntReport| {
            r.found
                .iter()
                .map(|f| (f.family, f.cause.clone(), f.hits, f.case.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(key(&a), key(&b));
    }

    /// The whole outcome is the same for 1, 2 and 3 jobs (3: more threads than this machine's
    /// cores, so results arrive out of order): runs, groups, hits, minimised cases, refusals,
    /// the progress sequence, and the reproducers and pcaps written, byte for byte.
    #[test]
    fn findings_do_not_depend_on_jobs() {
        let run = |jobs: usize| {
            let out = tmp(&format!("jobs-{jobs}"));
            let mut c = cfg(Family::HalfOpen, "windows", 60, &out);
            c.families = Family::ALL.to_vec();
            c.jobs = jobs;
            let mut seen = Vec::new();
            let r = hunt(&c, |runs, found| seen.push((runs, found))).expect("hunt");
            let found: Vec<_> = r
                .found
                .iter()
                .map(|f| (f.family, f.cause.clone(), f.hits, f.case.clone()))
                .collect();
            let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&out)
                .expect("reproducers written")
                .map(|e| {
                    let p = e.expect("dir entry").path();
                    let name = p.file_name().unwrap().to_string_lossy().into_owned();
                    (name, std::fs::read(&p).expect("read reproducer"))
                })
                .collect();
            files.sort();
            (r.runs, found, r.unsupported, seen, files)
        };
        let one = run(1);
        assert!(
            one.1
                .iter()
                .map(|f| f.0)
                .collect::<std::collections::BTreeSet<_>>()
                .len()
                >= 2,
            "the search found too little to compare: {:?}",
            one.1
        );
        assert!(
            one.4.iter().any(|(n, _)| n.ends_with(".pcap")),
            "{:?}",
            one.4.len()
        );
        for jobs in [2, 3] {
            let other = run(jobs);
            assert_eq!(one.0, other.0, "runs, jobs {jobs}");
            assert_eq!(one.1, other.1, "findings, jobs {jobs}");
            assert_eq!(one.2, other.2, "refusals, jobs {jobs}");
            assert_eq!(one.3, other.3, "progress, jobs {jobs}");
            let names = |f: &[(String, Vec<u8>)]| f.iter().map(|x| x.0.clone()).collect::<Vec<_>>();
            assert_eq!(names(&one.4), names(&other.4), "files, jobs {jobs}");
            assert!(one.4 == other.4, "file contents differ, jobs {jobs}");
        }
    }

    #[test]
    fn fuzz_entry_panics_only_on_a_finding() {
        // hardened (the default HUNT_PROFILE) claims immunity: random inputs never panic.
        let mut rng = Rng::new(3);
        for _ in 0..50 {
            let bytes: Vec<u8> = (0..64).map(|_| rng.next_u32() as u8).collect();
            for fam in Family::ALL {
                fuzz_one(fam, &bytes);
            }
        }
    }
}
