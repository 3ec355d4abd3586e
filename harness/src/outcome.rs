//! The outcome model of a run: every run of a file (under one profile) ends in exactly one
//! [`Outcome`], counted in one [`Column`] of the text table and of the JSON summary.
//!
//! To add an outcome: add a variant to [`Outcome`], a column to [`Column`] (and to
//! [`Column::ALL`]), map one to the other in [`Outcome::column`], and say which exit code it
//! gives in [`Outcome::exit_code`]. The table, the JSON summary and the exit code follow.
//! The JSON shape is documented in `docs/json.md` and checked by a test.

use crate::location::{display_opt, Diagnostic, Location};
use crate::oracle::{CannotJudge, Finding};
use serde::Serialize;

/// How one run ended. Serialised flat into its result: `"outcome": "pass"`, or
/// `"outcome": "skipped", "reason": "..."`, and so on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum Outcome {
    /// Every expectation held.
    Pass,
    /// An expectation failed (the result's `failures` say which).
    Fail,
    /// Not run, for a reason that is not the stack's fault (e.g. `%applies` excludes the
    /// profile asked for).
    Skipped { reason: String },
    /// Ran, but part of it could not be run as written (a feature the harness or the stack under
    /// test lacks, such as a shell command or an unmodelled sysctl): not a pass, so it fails the
    /// run (exit 1) unless the stack's expectations file lists the feature as one the stack
    /// lacks ([`crate::expect`]); then `listed` holds that entry's reason.
    Unsupported {
        feature: String,
        #[serde(serialize_with = "display_opt")]
        location: Option<Location>,
        #[serde(skip_serializing_if = "Option::is_none")]
        listed: Option<String>,
    },
    /// Failed exactly as the stack's expectations list it (`conformance/expectations/<stack>.toml`,
    /// [`crate::expect`]): a known divergence of a third-party stack, not a failure.
    ListedDivergence {
        divergence: crate::expect::Divergence,
    },
    /// The input is broken: every error found in it (capped per file, see
    /// [`MAX_ERRORS_PER_FILE`]).
    InputError { errors: Vec<Diagnostic> },
}

/// At most this many errors are reported per input file.
pub const MAX_ERRORS_PER_FILE: usize = 10;

/// A column of the results table (and a count in the JSON summary).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Column {
    Passed,
    Listed,
    Failed,
    Skipped,
    Unsupported,
    InputErrors,
}

impl Column {
    /// Every column, in table order.
    pub const ALL: [Column; 6] = [
        Column::Passed,
        Column::Listed,
        Column::Failed,
        Column::Skipped,
        Column::Unsupported,
        Column::InputErrors,
    ];

    /// The table heading and the JSON summary key.
    pub fn label(self) -> &'static str {
        match self {
            Column::Passed => "passed",
            Column::Listed => "listed",
            Column::Failed => "failed",
            Column::Skipped => "skipped",
            Column::Unsupported => "unsupported",
            Column::InputErrors => "input_errors",
        }
    }
}

impl Outcome {
    /// The column this outcome is counted in.
    pub fn column(&self) -> Column {
        match self {
            Outcome::Pass => Column::Passed,
            Outcome::Fail => Column::Failed,
            Outcome::ListedDivergence { .. } => Column::Listed,
            Outcome::Skipped { .. } => Column::Skipped,
            Outcome::Unsupported { .. } => Column::Unsupported,
            Outcome::InputError { .. } => Column::InputErrors,
        }
    }

    /// The exit code this outcome asks for; a run exits with the largest over its results.
    pub fn exit_code(&self) -> u8 {
        match self {
            Outcome::Pass
            | Outcome::ListedDivergence { .. }
            | Outcome::Skipped { .. }
            | Outcome::Unsupported {
                listed: Some(_), ..
            } => 0,
            Outcome::Fail | Outcome::Unsupported { listed: None, .. } => 1,
            Outcome::InputError { .. } => 2,
        }
    }

    /// The status word of the text report (4 characters wide).
    pub fn status(&self) -> &'static str {
        match self {
            Outcome::Pass => "ok  ",
            Outcome::Fail => "FAIL",
            Outcome::ListedDivergence { .. } => "div ",
            Outcome::Skipped { .. } => "skip",
            Outcome::Unsupported { .. } => "unsp",
            Outcome::InputError { .. } => "ERR ",
        }
    }

    /// A broken input with these errors (capped at [`MAX_ERRORS_PER_FILE`]).
    pub fn input_errors(mut errors: Vec<Diagnostic>) -> Outcome {
        errors.truncate(MAX_ERRORS_PER_FILE);
        Outcome::InputError { errors }
    }
}

/// Counts per [`Column`], and besides them the runs where some oracle could not judge the
/// stack (`cannot_judge`; such a run is also counted in its outcome's column).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    columns: [usize; Column::ALL.len()],
    pub cannot_judge: usize,
}

impl Counts {
    /// Counts one result.
    pub fn add(&mut self, r: &FileResult) {
        self.columns[r.outcome.column() as usize] += 1;
        self.cannot_judge += usize::from(!r.cannot_judge.is_empty());
    }
    pub fn get(&self, c: Column) -> usize {
        self.columns[c as usize]
    }
    /// The number of results counted.
    pub fn total(&self) -> usize {
        self.columns.iter().sum()
    }
    /// Adds another count (for totals).
    pub fn merge(&mut self, o: &Counts) {
        for c in Column::ALL {
            self.columns[c as usize] += o.get(c);
        }
        self.cannot_judge += o.cannot_judge;
    }
    /// The counts of `results`.
    pub fn of<'a>(results: impl IntoIterator<Item = &'a FileResult>) -> Counts {
        let mut c = Counts::default();
        for r in results {
            c.add(r);
        }
        c
    }
}

/// What one run of one file (under one profile) produced.
#[derive(Clone, Debug, Serialize)]
#[serde(into = "FileResultJson")]
pub struct FileResult {
    /// `scenario` or `script`.
    pub kind: &'static str,
    pub name: String,
    pub file: String,
    /// The group the file is reported under (its RFC folder, or `scenarios`).
    pub group: String,
    /// The profile the file ran under (scripts may run under several).
    pub profile: Option<String>,
    /// The stack under test (`--stack`).
    pub stack: String,
    pub outcome: Outcome,
    /// Failed expectations or the first mismatch, human-readable.
    pub failures: Vec<String>,
    /// Parts of the input that were not run as written (with their location).
    pub notes: Vec<String>,
    pub findings: Vec<Finding>,
    /// True when every finding was expected by the file (a pass judged against its expectations);
    /// false when there are none, they failed the run, or nobody judged them (a plain
    /// packetdrill script, `--ignore-expectations`).
    pub findings_expected: bool,
    /// Kinds the oracles could not judge on the stack under test, and why ("cannot judge").
    pub cannot_judge: Vec<CannotJudge>,
    /// Pcap files written for this run.
    pub pcaps: Vec<String>,
}

impl FileResult {
    /// True for [`Outcome::Pass`].
    pub fn passed(&self) -> bool {
        self.outcome == Outcome::Pass
    }

    /// A result for a file that could not be parsed or loaded.
    pub fn input_error(
        kind: &'static str,
        path: &std::path::Path,
        errors: Vec<Diagnostic>,
    ) -> Self {
        FileResult {
            kind,
            name: path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default(),
            file: path.display().to_string(),
            group: crate::run::group_of(path),
            profile: None,
            stack: "reference".into(),
            outcome: Outcome::input_errors(errors),
            failures: Vec::new(),
            notes: Vec::new(),
            findings: Vec::new(),
            findings_expected: false,
            cannot_judge: Vec::new(),
            pcaps: Vec::new(),
        }
    }
}

/// The JSON form of a [`FileResult`]: its fields, `passed` (kept for existing readers), and the
/// outcome flattened in.
#[derive(Serialize)]
struct FileResultJson {
    kind: &'static str,
    name: String,
    file: String,
    group: String,
    profile: Option<String>,
    stack: String,
    passed: bool,
    #[serde(flatten)]
    outcome: Outcome,
    failures: Vec<String>,
    notes: Vec<String>,
    findings: Vec<Finding>,
    findings_expected: bool,
    cannot_judge: Vec<CannotJudge>,
    pcaps: Vec<String>,
}

impl From<FileResult> for FileResultJson {
    fn from(r: FileResult) -> Self {
        FileResultJson {
            passed: r.passed(),
            kind: r.kind,
            name: r.name,
            file: r.file,
            group: r.group,
            profile: r.profile,
            stack: r.stack,
            outcome: r.outcome,
            failures: r.failures,
            notes: r.notes,
            findings: r.findings,
            findings_expected: r.findings_expected,
            cannot_judge: r.cannot_judge,
            pcaps: r.pcaps,
        }
    }
}
