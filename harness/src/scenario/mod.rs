//! Scenarios: multi-host worlds described in TOML (`conformance/scenarios/*.toml`) — topology,
//! stacks and profiles per host, applications, impairments, scheduled events, duration, seed —
//! and the findings they expect. See [`spec`] for the format.

mod build;
pub mod spec;

pub use build::{build, Built};

use crate::location::{Diagnostic, Location};
use crate::oracle::{self, Finding, FindingKind, OracleConfig};
use crate::trace::{AppEvent, Trace, TraceKind};
use spec::ScenarioSpec;
use stack::{Duration, Instant};
use std::path::Path;

/// A scenario error: where and what ([`Diagnostic`]), and whether a well-formed scenario could
/// not run here ([`NotRun`]), which is not bad input.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
#[error("{diag}")]
pub struct ScenarioError {
    pub diag: Diagnostic,
    pub not_run: Option<NotRun>,
}

/// Why a well-formed scenario did not run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotRun {
    /// A stack refuses the configuration (a knob or capability it lacks): the scenario cannot
    /// run on that stack anywhere.
    Unsupported,
    /// A stack the scenario names cannot run on this machine (the live kernel without root):
    /// the scenario is skipped here, with the reason.
    Unavailable,
}

impl From<Diagnostic> for ScenarioError {
    fn from(diag: Diagnostic) -> Self {
        ScenarioError {
            diag,
            not_run: None,
        }
    }
}

impl From<ScenarioError> for crate::options::RunError {
    fn from(e: ScenarioError) -> Self {
        match e.not_run {
            Some(NotRun::Unsupported) => crate::options::RunError::Unsupported {
                feature: e.diag.message,
                location: e.diag.location,
            },
            Some(NotRun::Unavailable) => crate::options::RunError::Skipped {
                reason: e.diag.message,
            },
            None => crate::options::RunError::Input(e.diag),
        }
    }
}

/// A parsed scenario, ready to build and run.
pub struct Scenario {
    pub file: String,
    pub text: String,
    pub spec: ScenarioSpec,
}

/// Options that override what the file says.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    pub profile: Option<String>,
    pub knobs: Vec<(String, String)>,
    pub seed: Option<u64>,
    /// The stack of hosts that name none (`--stack`); `reference` when unset.
    pub stack: Option<String>,
    /// Run every host's stack as one without an event log: the oracles judge from the wire,
    /// the socket calls and the reported states only (what a third-party stack gives them).
    pub hide_events: bool,
    /// `--define NAME[=VALUE]`: names scripts test with `#ifdef` (scripts only).
    pub defines: Vec<(String, Option<String>)>,
}

impl Scenario {
    pub fn parse(file: &str, text: &str) -> Result<Scenario, ScenarioError> {
        let spec: ScenarioSpec = toml::from_str(text).map_err(|e| {
            Diagnostic::at(
                Location::from_offset(file, text, e.span().map_or(0, |s| s.start)),
                e.message(),
            )
        })?;
        Ok(Scenario {
            file: file.to_string(),
            text: text.to_string(),
            spec,
        })
    }

    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        let file = path.display().to_string();
        let data = std::fs::read(path)
            .map_err(|e| Diagnostic::file(&file, format!("cannot read: {e}")))?;
        let text = String::from_utf8(data).map_err(|e| {
            let good = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let text = String::from_utf8_lossy(good);
            Diagnostic::at(
                Location::from_offset(&file, &text, text.len()),
                "not a text file (invalid UTF-8 here)",
            )
        })?;
        Scenario::parse(&file, &text)
    }

    /// An error at a span of this file.
    pub fn err(&self, span: core::ops::Range<usize>, msg: impl Into<String>) -> ScenarioError {
        Diagnostic::at(
            Location::from_offset(&self.file, &self.text, span.start),
            msg,
        )
        .into()
    }

    pub fn duration(&self, s: &toml::Spanned<String>) -> Result<Duration, ScenarioError> {
        s.get_ref()
            .parse::<stack::Duration>()
            .map_err(|e| self.err(s.span(), e.to_string()))
    }

    pub fn name(&self) -> String {
        self.spec.name.clone().unwrap_or_else(|| {
            Path::new(&self.file)
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default()
        })
    }

    /// Builds, runs and judges the scenario.
    pub fn run(&self, ov: &Overrides) -> Result<ScenarioResult, ScenarioError> {
        self.run_with(ov, true)
    }

    /// As [`Scenario::run`]; `capture: false` keeps no frames or events in the trace (for
    /// benchmarks: the oracles then have nothing to judge).
    pub fn run_with(&self, ov: &Overrides, capture: bool) -> Result<ScenarioResult, ScenarioError> {
        self.run_observed(ov, capture, &mut |_, _| {})
    }

    /// As [`Scenario::run_with`], calling `observe(now, end)` every minute of virtual time and
    /// once more at the end, while the world is still alive (progress bars, memory probes).
    pub fn run_observed(
        &self,
        ov: &Overrides,
        capture: bool,
        observe: &mut dyn FnMut(Instant, Instant),
    ) -> Result<ScenarioResult, ScenarioError> {
        self.run_probed(ov, capture, observe, &mut |_| {})
    }

    /// As [`Scenario::run_observed`], then `at_end(world)` once the run is over and before the
    /// trace is judged (`harness bench --breakdown` takes the nodes apart there to weigh them).
    pub fn run_probed(
        &self,
        ov: &Overrides,
        capture: bool,
        observe: &mut dyn FnMut(Instant, Instant),
        at_end: &mut dyn FnMut(&mut crate::sim::World),
    ) -> Result<ScenarioResult, ScenarioError> {
        // The host name table is for building only: dropped here, not held through the run.
        let build::Built {
            world,
            duration,
            actions,
            ..
        } = build(self, ov)?;
        let end = Instant::ZERO + duration;
        let mut world = world;
        world.set_capture(capture);
        let mut actions = actions;
        actions.sort_by_key(|a| a.at);
        let mut next = 0;
        loop {
            let stop = actions.get(next).map_or(end, |a| a.at.min(end));
            // In slices, so the observer sees time pass (nothing happens at a slice boundary
            // that would not happen without it: the clock only moves).
            while world.now() < stop {
                let slice = (world.now() + Duration::from_secs(60)).min(stop);
                world
                    .run_until(slice)
                    .map_err(|e| self.err(0..0, e.to_string()))?;
                observe(world.now(), end);
            }
            world
                .run_until(stop)
                .map_err(|e| self.err(0..0, e.to_string()))?;
            if stop >= end && actions.get(next).is_none_or(|a| a.at > end) {
                break;
            }
            let a = &actions[next];
            (a.apply)(&mut world);
            world
                .flush(world.now())
                .map_err(|e| self.err(0..0, e.to_string()))?;
            next += 1;
        }
        observe(world.now(), end);
        // Before `at_end`, which may take the nodes out (their work counters with them).
        let work = world.work();
        at_end(&mut world);
        let events = world.events_processed();
        let skipped = world.deliveries_skipped();
        let trace = world.into_trace();
        let grace = match &self.spec.half_open_grace {
            Some(g) => self.duration(g)?,
            None => Duration::from_secs(5),
        };
        let oracle::Analysis {
            findings,
            cannot_judge,
        } = oracle::judge(
            &trace,
            &OracleConfig {
                half_open_grace: grace,
            },
        );
        let verdicts = self.judge(&findings, &trace)?;
        Ok(ScenarioResult {
            name: self.name(),
            file: self.file.clone(),
            trace,
            findings,
            cannot_judge,
            verdicts,
            events_processed: events,
            deliveries_skipped: skipped,
            work,
        })
    }

    /// Compares findings and outcomes with what the file expects (findings: [`crate::judge`],
    /// always strict).
    fn judge(&self, findings: &[Finding], trace: &Trace) -> Result<Vec<Verdict>, ScenarioError> {
        let mut expected = crate::judge::Expected::default();
        for e in &self.spec.expect {
            let kind = FindingKind::parse_named(e.kind.get_ref())
                .map_err(|m| self.err(e.kind.span(), m))?;
            expected.findings.push(crate::judge::Expectation {
                at: Some(Location::from_offset(
                    &self.file,
                    &self.text,
                    e.kind.span().start,
                )),
                kind,
                count: e.count,
                host: e.host.clone(),
                cause: e.cause.clone(),
                duration: e.duration.as_ref().map(|d| self.duration(d)).transpose()?,
            });
        }
        let mut out = crate::judge::judge(&expected, findings, true);
        if let Some(o) = &self.spec.outcome {
            let (mut ok_n, mut failed_n, mut opened) = (0, 0, 0);
            for ev in &trace.events {
                if let TraceKind::App { event, .. } = &ev.kind {
                    match event {
                        AppEvent::RequestDone { .. } => ok_n += 1,
                        AppEvent::RequestFailed { .. } | AppEvent::ConnectFailed { .. } => {
                            failed_n += 1
                        }
                        AppEvent::Connected { .. } => opened += 1,
                        _ => {}
                    }
                }
            }
            for (name, want, got) in [
                ("requests_ok", o.requests_ok, ok_n),
                ("requests_failed", o.requests_failed, failed_n),
                ("connections_opened", o.connections_opened, opened),
            ] {
                if let Some(w) = want {
                    out.push(Verdict {
                        ok: w == got,
                        what: format!("{name} = {w}"),
                        detail: format!("{name} = {got}"),
                    });
                }
            }
        }
        Ok(out)
    }
}

pub use crate::judge::Verdict;

/// What a scenario run produced.
pub struct ScenarioResult {
    pub name: String,
    pub file: String,
    pub trace: Trace,
    pub findings: Vec<Finding>,
    /// Kinds the oracles could not judge on a stack of this run, and why.
    pub cannot_judge: Vec<oracle::CannotJudge>,
    pub verdicts: Vec<Verdict>,
    pub events_processed: u64,
    /// Broadcast deliveries not made because the receiver ignores the frame (not counted in
    /// `events_processed`).
    pub deliveries_skipped: u64,
    /// What the world and its nodes visited ([`crate::sim::World::work`]).
    pub work: u64,
}

impl ScenarioResult {
    pub fn passed(&self) -> bool {
        self.verdicts.iter().all(|v| v.ok)
    }
}
