//! The parallel search behind `harness hunt --jobs N`, with no barrier between batches.
//!
//! Every thread (the calling one included) is a worker: it takes the next case from the one
//! seeded generator (a short critical section, so the sequence of cases is the same for any N),
//! runs it, judges it (the group its finding belongs to) and, when it is the earliest case of
//! its group seen so far, shrinks it too. The calling thread also merges: results enter a
//! reorder buffer keyed by draw index and are applied strictly in draw order, so the grouping,
//! the hit counts, which case stands for a group and every written reproducer are those of a
//! one-thread run. Shrinking is a pure function of the case, so whichever thread did it, the
//! merge gets the same minimised case; a speculative shrink of a case that turns out not to be
//! its group's earliest is wasted work (counted in the stats), never a different result.

use super::stats::{HuntStats, ThreadClock};
use super::{family_findings, group_cause, run_case, run_case_or_refusal, shrink, with_stack};
use super::{Case, Family, Found, HuntConfig, HuntReport};
use crate::oracle::Finding;
use stack::rand::Rng;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Mutex};
use std::time::Instant;

/// A group of findings: the family and the first word of the cause.
type GroupKey = (Family, String);

/// A minimised case, run once more: what the merge needs to name and write its group.
#[derive(Clone, Debug)]
pub(super) struct Shrunk {
    pub small: Case,
    /// The cause the minimised case shows (the group's name in the report).
    pub cause: String,
    /// The minimised case's scenario text and findings (the reproducer is written from them).
    pub text: String,
    pub findings: Vec<Finding>,
}

/// One run, judged by the worker that ran it.
#[derive(Clone, Debug)]
pub(super) enum Judged {
    /// Nothing of the case's family.
    Clean,
    /// The stack refused the case (a knob or capability it lacks).
    Refused(Family, String),
    /// The case's family showed up; `shrunk` is there when the worker found no earlier case
    /// of the same group (always so for the group's earliest case).
    Hit {
        key: GroupKey,
        case: Case,
        shrunk: Option<Result<Shrunk, String>>,
    },
}

/// The state the workers share.
struct Shared<'a> {
    cfg: &'a HuntConfig,
    draws: Mutex<Draws>,
    stop: AtomicBool,
    /// The earliest draw index seen so far per group: only that case is shrunk.
    earliest: Mutex<BTreeMap<GroupKey, u64>>,
    started: Instant,
}

impl<'a> Shared<'a> {
    /// The state the workers share at the start of a hunt: the seeded draw, nothing stopped.
    fn new(cfg: &'a HuntConfig) -> Self {
        Shared {
            cfg,
            draws: Mutex::new(Draws {
                rng: Rng::new(cfg.seed),
                drawn: 0,
            }),
            stop: AtomicBool::new(false),
            earliest: Mutex::new(BTreeMap::new()),
            started: Instant::now(),
        }
    }
}

/// The seeded generator and how many cases it has handed out.
struct Draws {
    rng: Rng,
    drawn: u64,
}

impl Shared<'_> {
    /// The next case to run (its draw index, family and case), or `None` when the budget is
    /// spent or the search was stopped. The i-th case is of family i mod the number of
    /// families; bytes that make no case of that family are skipped, as they always were.
    fn draw(&self) -> Option<(u64, Family, Case)> {
        let cfg = self.cfg;
        let mut d = self.draws.lock().unwrap_or_else(|p| p.into_inner());
        let out_of_time = cfg
            .seconds
            .is_some_and(|s| self.started.elapsed().as_secs_f64() >= s);
        if out_of_time {
            self.stop.store(true, Ordering::Relaxed);
        }
        if self.stop.load(Ordering::Relaxed) || cfg.runs.is_some_and(|r| d.drawn >= r) {
            return None;
        }
        let fam = cfg.families[(d.drawn % cfg.families.len() as u64) as usize];
        loop {
            let bytes: Vec<u8> = (0..64).map(|_| d.rng.next_u32() as u8).collect();
            let mut u = arbitrary::Unstructured::new(&bytes);
            if let Ok(case) = Case::arbitrary(fam, &mut u) {
                d.drawn += 1;
                return Some((d.drawn - 1, fam, case));
            }
        }
    }

    /// Records that case `i` hit `key`; true when no earlier case of that group was seen, i.e.
    /// this worker should shrink it.
    fn claim(&self, key: &GroupKey, i: u64) -> bool {
        let mut e = self.earliest.lock().unwrap_or_else(|p| p.into_inner());
        match e.get_mut(key) {
            Some(j) if *j < i => false,
            Some(j) => {
                *j = i;
                true
            }
            None => {
                e.insert(key.clone(), i);
                true
            }
        }
    }

    /// Draws, runs and judges one case (shrinking it when it is its group's earliest so far).
    fn work_one(&self, clock: &mut ThreadClock) -> Option<(u64, Result<Judged, String>)> {
        let t = Instant::now();
        let drawn = self.draw();
        clock.stats.draw += t.elapsed();
        let (i, fam, case) = drawn?;
        let cfg = self.cfg;
        let t = Instant::now();
        let text = with_stack(
            case.to_toml("hunt", &cfg.profile, &cfg.knobs, cfg.seed),
            &cfg.stack,
            &cfg.profile,
        );
        let run = run_case_or_refusal(&text);
        clock.stats.run += t.elapsed();
        clock.stats.cases += 1;
        let judged = match run {
            Err(e) => Err(e),
            Ok(Err(reason)) => Ok(Judged::Refused(fam, reason)),
            Ok(Ok((findings, _))) => Ok(match family_findings(&findings, fam).first() {
                None => Judged::Clean,
                Some(f) => {
                    let key = (fam, group_cause(f));
                    let shrunk = self.claim(&key, i).then(|| {
                        let t = Instant::now();
                        let s = shrink_and_name(cfg, case.clone(), &key);
                        clock.stats.shrink += t.elapsed();
                        clock.stats.shrinks += 1;
                        s
                    });
                    Judged::Hit { key, case, shrunk }
                }
            }),
        };
        Some((i, judged))
    }
}

/// Shrinks the earliest case of a group and runs the result once more: the cause it shows
/// names the group (shrinking can drop the detail that gave the first hit its cause, a crash
/// next to a NAT expiry, say).
fn shrink_and_name(cfg: &HuntConfig, case: Case, key: &GroupKey) -> Result<Shrunk, String> {
    let small = shrink(case, &cfg.stack, &cfg.profile, &cfg.knobs, cfg.seed);
    let (text, findings, _) = run_case(&small, &cfg.stack, &cfg.profile, &cfg.knobs, cfg.seed)?;
    let cause = family_findings(&findings, key.0)
        .first()
        .map_or(key.1.clone(), |f| group_cause(f));
    Ok(Shrunk {
        small,
        cause,
        text,
        findings,
    })
}

/// The in-order half: a reorder buffer and the report built from it.
pub(super) struct Merge<'a> {
    cfg: &'a HuntConfig,
    pub report: HuntReport,
    groups: BTreeMap<GroupKey, usize>,
    /// The draw index applied next, and results that arrived before it.
    next: u64,
    pending: BTreeMap<u64, Result<Judged, String>>,
    /// Shrinks the merge used (the rest of the workers' shrinks were speculative and wasted).
    pub shrinks_used: u64,
}

impl<'a> Merge<'a> {
    pub fn new(cfg: &'a HuntConfig) -> Self {
        Merge {
            cfg,
            report: HuntReport::default(),
            groups: BTreeMap::new(),
            next: 0,
            pending: BTreeMap::new(),
            shrinks_used: 0,
        }
    }

    /// Takes result `i` and applies every result now in order; `progress` sees each one.
    pub fn accept(
        &mut self,
        i: u64,
        r: Result<Judged, String>,
        progress: &mut impl FnMut(u64, usize),
    ) -> Result<(), String> {
        self.pending.insert(i, r);
        while let Some(r) = self.pending.remove(&self.next) {
            self.next += 1;
            self.report.runs += 1;
            self.apply(r?)?;
            progress(self.report.runs, self.report.found.len());
        }
        Ok(())
    }

    /// Groups one run's finding; the first of a new group is named by its minimised case and
    /// written as a reproducer, unless an existing finding already stands for it.
    fn apply(&mut self, j: Judged) -> Result<(), String> {
        let (key, case, shrunk) = match j {
            Judged::Clean => return Ok(()),
            Judged::Refused(fam, reason) => {
                *self.report.unsupported.entry((fam, reason)).or_default() += 1;
                return Ok(());
            }
            Judged::Hit { key, case, shrunk } => (key, case, shrunk),
        };
        if let Some(&i) = self.groups.get(&key) {
            self.report.found[i].hits += 1;
            return Ok(());
        }
        // The earliest case of a group is always shrunk by its worker (no earlier one can have
        // claimed the group); shrinking here too keeps the merge whole whatever a worker did.
        let s = match shrunk {
            Some(s) => s?,
            None => shrink_and_name(self.cfg, case, &key)?,
        };
        self.shrinks_used += 1;
        let fam = key.0;
        let existing = self
            .report
            .found
            .iter()
            .position(|f| f.case == s.small || (f.family == fam && f.cause == s.cause));
        let i = match existing {
            Some(i) => {
                self.report.found[i].hits += 1;
                i
            }
            None => {
                let (scenario, pcaps) = super::write_reproducer(&self.cfg.out, &s, self.cfg)?;
                self.report.found.push(Found {
                    family: fam,
                    cause: s.cause,
                    hits: 1,
                    case: s.small,
                    scenario,
                    pcaps,
                });
                self.report.found.len() - 1
            }
        };
        self.groups.insert(key, i);
        Ok(())
    }
}

/// Runs the search on `cfg.jobs` threads (the calling one included) and merges in draw order.
pub(super) fn search(
    cfg: &HuntConfig,
    mut progress: impl FnMut(u64, usize),
) -> Result<HuntReport, String> {
    let shared = Shared::new(cfg);
    let jobs = cfg.jobs.max(1);
    let mut merge = Merge::new(cfg);
    let mut failed: Option<String> = None;
    let mut stats = HuntStats::default();
    std::thread::scope(|s| {
        let (tx, rx) = mpsc::channel::<(u64, Result<Judged, String>)>();
        let workers: Vec<_> = (1..jobs)
            .map(|_| {
                let tx = tx.clone();
                let shared = &shared;
                s.spawn(move || {
                    let mut clock = ThreadClock::start();
                    while let Some(item) = shared.work_one(&mut clock) {
                        if tx.send(item).is_err() {
                            break;
                        }
                    }
                    clock.finish()
                })
            })
            .collect();
        drop(tx);
        let mut clock = ThreadClock::start();
        let mut take = |i, r, clock: &mut ThreadClock| {
            let t = Instant::now();
            let res = merge.accept(i, r, &mut progress);
            clock.stats.merge += t.elapsed();
            if let Err(e) = res {
                failed = Some(e);
                shared.stop.store(true, Ordering::Relaxed);
                return false;
            }
            true
        };
        // Work, and merge what the other workers finished in between.
        let mut ok = true;
        'work: while ok {
            while let Ok((i, r)) = rx.try_recv() {
                if !take(i, r, &mut clock) {
                    ok = false;
                    break 'work;
                }
            }
            match shared.work_one(&mut clock) {
                Some((i, r)) => ok = take(i, r, &mut clock),
                None => break,
            }
        }
        // The generator is spent (or the search failed): merge the rest as it comes.
        loop {
            let t = Instant::now();
            let Ok((i, r)) = rx.recv() else { break };
            clock.stats.idle += t.elapsed();
            if ok {
                ok = take(i, r, &mut clock);
            }
        }
        stats.threads.push(clock.finish());
        for w in workers {
            match w.join() {
                Ok(st) => stats.threads.push(st),
                Err(p) => std::panic::resume_unwind(p),
            }
        }
    });
    if let Some(e) = failed {
        return Err(e);
    }
    stats.wall = shared.started.elapsed();
    stats.shrinks_used = merge.shrinks_used;
    let mut report = merge.report;
    report.stats = stats;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(out: &std::path::Path) -> HuntConfig {
        HuntConfig {
            families: Family::ALL.to_vec(),
            stack: "reference".into(),
            profile: "windows".into(),
            knobs: Vec::new(),
            seed: 7,
            runs: Some(30),
            seconds: None,
            out: out.to_path_buf(),
            jobs: 1,
        }
    }

    /// Results arriving in any order are applied in draw order: the same report, the same
    /// progress, and a group is named by its earliest case even when a later case of the same
    /// group arrived first (and was shrunk speculatively) — the later case is only a hit.
    #[test]
    fn the_reorder_buffer_applies_results_in_draw_order() {
        let out = std::env::temp_dir().join(format!("hunt-reorder-{}", std::process::id()));
        let c = cfg(&out);
        let shared = Shared::new(&c);
        let mut clock = ThreadClock::start();
        let mut items = Vec::new();
        while let Some(item) = shared.work_one(&mut clock) {
            items.push(item);
        }
        assert_eq!(items.len(), 30);
        let hits: Vec<_> = items
            .iter()
            .filter_map(|(i, r)| match r {
                Ok(Judged::Hit { key, .. }) => Some((*i, key.clone())),
                _ => None,
            })
            .collect();
        // The sample holds a group hit more than once, so the order matters.
        let repeated = hits
            .iter()
            .any(|(i, k)| hits.iter().any(|(j, l)| j > i && l == k));
        assert!(repeated, "{hits:?}");
        let apply = |order: &[usize]| {
            let mut m = Merge::new(&c);
            let mut seen = Vec::new();
            for &o in order {
                let (i, r) = items[o].clone();
                m.accept(i, r, &mut |runs, found| seen.push((runs, found)))
                    .expect("merge");
            }
            let found: Vec<_> = m
                .report
                .found
                .iter()
                .map(|f| (f.family, f.cause.clone(), f.hits, f.case.clone()))
                .collect();
            (m.report.runs, found, seen, m.report.unsupported.clone())
        };
        let in_order: Vec<usize> = (0..items.len()).collect();
        let reversed: Vec<usize> = (0..items.len()).rev().collect();
        // Odd ones first, then even ones: a later hit of a group before its earliest.
        let shuffled: Vec<usize> = (0..items.len())
            .filter(|i| i % 2 == 1)
            .chain((0..items.len()).filter(|i| i % 2 == 0))
            .collect();
        let want = apply(&in_order);
        assert!(!want.1.is_empty(), "nothing found to compare");
        assert_eq!(want.0, 30);
        // Nothing is applied before its predecessors arrived: progress is 1, 2, 3, ...
        assert_eq!(
            want.2.iter().map(|(r, _)| *r).collect::<Vec<_>>(),
            (1..=30).collect::<Vec<u64>>()
        );
        assert_eq!(apply(&reversed), want);
        assert_eq!(apply(&shuffled), want);
        // A later hit that a worker shrank speculatively does not name the group: give every
        // later hit of a group a bogus minimised case; the report must not change.
        let mut tampered = items.clone();
        let mut first_of: BTreeMap<GroupKey, u64> = BTreeMap::new();
        for (i, r) in &mut tampered {
            if let Ok(Judged::Hit { key, case, shrunk }) = r {
                if first_of.contains_key(key) {
                    *shrunk = Some(Ok(Shrunk {
                        small: case.clone(),
                        cause: "bogus".into(),
                        text: String::new(),
                        findings: Vec::new(),
                    }));
                } else {
                    first_of.insert(key.clone(), *i);
                }
            }
        }
        let mut m = Merge::new(&c);
        for (i, r) in tampered.into_iter().rev() {
            m.accept(i, r, &mut |_, _| {}).expect("merge");
        }
        let found: Vec<_> = m
            .report
            .found
            .iter()
            .map(|f| (f.family, f.cause.clone(), f.hits, f.case.clone()))
            .collect();
        assert_eq!(found, want.1);
    }

    /// Only the earliest case of a group is claimed for shrinking.
    #[test]
    fn only_the_earliest_case_of_a_group_is_shrunk() {
        let out = std::env::temp_dir();
        let c = cfg(&out);
        let shared = Shared {
            cfg: &c,
            draws: Mutex::new(Draws {
                rng: Rng::new(1),
                drawn: 0,
            }),
            stop: AtomicBool::new(false),
            earliest: Mutex::new(BTreeMap::new()),
            started: Instant::now(),
        };
        let k = (Family::RstLoss, "arp-queue-overflow".to_string());
        assert!(shared.claim(&k, 5));
        assert!(!shared.claim(&k, 9), "a later case of a claimed group");
        assert!(shared.claim(&k, 2), "an earlier case arriving late");
        assert!(!shared.claim(&k, 5));
        let other = (Family::RstLoss, "never-sent".to_string());
        assert!(shared.claim(&other, 9));
    }
}
