//! Inputs of a run: what kind of file a path is (the one place that looks at file extensions),
//! and loading + parsing + checking one file into an [`Input`], with every error found.

use crate::location::Diagnostic;
use crate::scenario::Scenario;
use crate::script::Script;
use std::path::Path;

/// The kinds of file the harness reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// A packetdrill-style script (`.pkt`).
    Script,
    /// A multi-host scenario (`.toml`).
    Scenario,
    /// A capture (`.pcap`, `.pcapng`, `.cap`).
    Pcap,
}

impl FileKind {
    /// The kind of `path`, by its extension.
    pub fn of(path: &Path) -> Option<FileKind> {
        match path.extension().and_then(|e| e.to_str()) {
            Some("pkt") => Some(FileKind::Script),
            Some("toml") => Some(FileKind::Scenario),
            Some("pcap" | "pcapng" | "cap") => Some(FileKind::Pcap),
            _ => None,
        }
    }

    /// `script`, `scenario` or `pcap` (the `kind` of a result).
    pub fn name(self) -> &'static str {
        match self {
            FileKind::Script => "script",
            FileKind::Scenario => "scenario",
            FileKind::Pcap => "pcap",
        }
    }

    /// True for the kinds `harness run` runs.
    pub fn runnable(self) -> bool {
        matches!(self, FileKind::Script | FileKind::Scenario)
    }
}

/// A parsed, checked, runnable input.
pub enum Input {
    Script(Script),
    Scenario(Box<Scenario>),
}

/// Loads, parses and checks a script or scenario: `Err` holds every error found (see
/// [`crate::outcome::MAX_ERRORS_PER_FILE`]).
pub fn load(path: &Path) -> Result<Input, Vec<Diagnostic>> {
    let file = path.display().to_string();
    match FileKind::of(path) {
        Some(FileKind::Script) => {
            let data = std::fs::read(path)
                .map_err(|e| vec![Diagnostic::file(&file, format!("cannot read: {e}"))])?;
            let script = crate::script::parse_bytes_all(&file, &data)
                .map_err(|errors| errors.into_iter().map(Diagnostic::from).collect::<Vec<_>>())?;
            let errors = crate::script::runner::check(&script);
            if errors.is_empty() {
                Ok(Input::Script(script))
            } else {
                Err(errors)
            }
        }
        Some(FileKind::Scenario) => Scenario::load(path)
            .map(|s| Input::Scenario(Box::new(s)))
            .map_err(|e| vec![e.diag]),
        _ => Err(vec![Diagnostic::file(
            file,
            "not a .pkt script or .toml scenario",
        )]),
    }
}
