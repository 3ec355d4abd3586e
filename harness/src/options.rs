//! What every runner (scripts, scenarios) takes and the error it can give: the settings of one
//! `harness run` ([`RunOptions`]) and [`RunError`]. The pipeline that uses them is
//! [`crate::run`]; runners depend on this module, never on the pipeline.

use crate::location::{Diagnostic, Location};
use crate::scenario::Overrides;
use std::path::PathBuf;

/// Settings shared by every file of a run.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// The stack under test (`None`: what the file asks for, else `reference`).
    pub stack: Option<String>,
    pub overrides: Overrides,
    /// Write one pcap per run (per segment) into this directory.
    pub pcap_dir: Option<PathBuf>,
    /// Fail plain packetdrill scripts on findings no `%expect` covers, as scripts in the
    /// harness's dialect always are (`--strict-findings`).
    pub strict_findings: bool,
    /// Judge without the files' expectations (`[[expect]]`, `[outcome]`, `%expect`): any
    /// finding fails (`--ignore-expectations`).
    pub ignore_expectations: bool,
    /// Real time a script may need on a stack that runs in real time (the live kernel):
    /// `None` is [`DEFAULT_MAX_REAL_TIME`].
    pub max_real_time: Option<stack::Duration>,
}

/// The default real-time budget per script on a live stack (`--max-real-time`).
pub const DEFAULT_MAX_REAL_TIME: stack::Duration = stack::Duration::from_secs(60);

/// Why a file could not be run to a verdict.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RunError {
    /// The input is broken (exit code 2): where and what.
    #[error("{0}")]
    Input(#[from] Diagnostic),
    /// The input needs something the harness or the stack under test does not have.
    #[error("{}unsupported: {feature}", location.as_ref().map_or(String::new(), |l| format!("{l}: ")))]
    Unsupported {
        feature: String,
        location: Option<Location>,
    },
    /// The input is fine but needs what this machine lacks (a stack that needs root): skipped.
    #[error("skipped: {reason}")]
    Skipped { reason: String },
}

impl RunError {
    /// A broken input at `loc`.
    pub fn at(loc: &Location, message: impl Into<String>) -> RunError {
        RunError::Input(Diagnostic::at(loc.clone(), message))
    }

    /// A broken input file as a whole.
    pub fn file(file: &str, message: impl Into<String>) -> RunError {
        RunError::Input(Diagnostic::file(file, message))
    }
}
