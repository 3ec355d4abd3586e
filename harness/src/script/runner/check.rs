//! Checks of a parsed script before anything runs, each reported with its location: unknown
//! profiles (in `%profile`, `%applies` and `%if profile=`), bad `%set` knobs and values,
//! unsupported option lines, absolute times that go backwards, and a script with no events.

use super::setup::Header;
use crate::location::Diagnostic;
use crate::options::RunError;
use crate::outcome::MAX_ERRORS_PER_FILE;
use crate::script::{Directive, EventTime, Script, Statement, StatementKind};
use stack::policy::Profile;
use stack::Duration;

/// Every problem found in `script` (at most [`MAX_ERRORS_PER_FILE`]); empty when it may run.
pub fn check(script: &Script) -> Vec<Diagnostic> {
    let mut errors = Vec::new();
    let mut header = Header::default();
    let mut last = Duration::ZERO;
    walk(&script.statements, &mut header, &mut last, &mut errors);
    if !script.statements.iter().any(has_event) {
        errors.push(Diagnostic::file(
            &*script.file,
            "the script has no events (no packets, system calls or shell lines): nothing to judge",
        ));
    }
    errors.truncate(MAX_ERRORS_PER_FILE);
    errors
}

fn has_event(s: &Statement) -> bool {
    match &s.kind {
        StatementKind::IfProfile(b) => b.then.iter().chain(&b.otherwise).any(has_event),
        StatementKind::IfDef(b) => b.then.iter().chain(&b.otherwise).any(has_event),
        StatementKind::Tcp(_)
        | StatementKind::Arp(_)
        | StatementKind::Syscall(_)
        | StatementKind::Shell(_)
        | StatementKind::Code(_) => true,
        _ => false,
    }
}

fn push(errors: &mut Vec<Diagnostic>, r: Result<(), RunError>) {
    match r {
        Ok(()) => {}
        Err(RunError::Input(d)) => errors.push(d),
        Err(e @ (RunError::Unsupported { .. } | RunError::Skipped { .. })) => {
            errors.push(Diagnostic::file("", e.to_string()))
        }
    }
}

fn profile(s: &Statement, name: &str) -> Result<(), RunError> {
    Profile::named(name)
        .map(|_| ())
        .map_err(|e| RunError::at(&s.loc, e.to_string()))
}

/// The time an event is scheduled at (its window's start), given the previous one's.
fn nominal(t: &EventTime, last: Duration) -> (Duration, bool) {
    match t {
        EventTime::Absolute(a) | EventTime::AbsoluteRange(a, _) => (*a, true),
        EventTime::Relative(d) | EventTime::RelativeRange(d, _) => (last + *d, false),
        EventTime::Any => (last, false),
    }
}

fn event_time(s: &Statement) -> Option<&EventTime> {
    match &s.kind {
        StatementKind::Tcp(t) => Some(&t.time),
        StatementKind::Arp(a) => Some(&a.time),
        StatementKind::Syscall(c) => Some(&c.time),
        StatementKind::Shell(sh) => sh.time.as_ref(),
        _ => None,
    }
}

fn walk(
    stmts: &[Statement],
    header: &mut Header,
    last: &mut Duration,
    errors: &mut Vec<Diagnostic>,
) {
    for s in stmts {
        if let Some(t) = event_time(s) {
            let (at, absolute) = nominal(t, *last);
            if absolute && at < *last {
                errors.push(Diagnostic::at(
                    s.loc.clone(),
                    format!(
                        "absolute time {} is before the previous event's time {} (times must not \
                         go backwards)",
                        crate::script::fmt_seconds(at),
                        crate::script::fmt_seconds(*last)
                    ),
                ));
            }
            *last = at.max(*last);
        }
        match &s.kind {
            StatementKind::Directive(Directive::Profile(p)) => push(errors, profile(s, p)),
            StatementKind::Directive(Directive::Applies(list)) => {
                for p in list {
                    push(errors, profile(s, p));
                }
            }
            StatementKind::Directive(Directive::Set { key, value }) => push(
                errors,
                Profile::default()
                    .set(key, value)
                    .map_err(|e| RunError::at(&s.loc, format!("%set {key}={value}: {e}"))),
            ),
            StatementKind::Option(o) => {
                push(errors, header.option(&s.loc, &o.name, o.value.as_deref()))
            }
            StatementKind::IfProfile(_) | StatementKind::IfDef(_) => {
                let (then, otherwise) = match &s.kind {
                    StatementKind::IfProfile(b) => {
                        for p in &b.profiles {
                            push(errors, profile(s, p));
                        }
                        (&b.then, &b.otherwise)
                    }
                    StatementKind::IfDef(b) => (&b.then, &b.otherwise),
                    _ => continue,
                };
                let start = *last;
                let mut end = start;
                for branch in [then, otherwise] {
                    let mut l = start;
                    walk(branch, header, &mut l, errors);
                    end = end.max(l);
                }
                *last = end;
            }
            _ => {}
        }
    }
}
