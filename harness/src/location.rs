//! Source locations for error messages: `file:line:col` — the one location type of scripts,
//! scenarios and run results.

use core::fmt;
use std::sync::Arc;

/// A position in an input file: file name, 1-based line and 1-based column (columns count
/// characters, not bytes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    pub file: Arc<str>,
    pub line: u32,
    pub col: u32,
}

impl Location {
    /// The location of byte `offset` in `text`.
    pub fn from_offset(file: &str, text: &str, offset: usize) -> Location {
        let offset = offset.min(text.len());
        let before = &text[..text.floor_char_boundary_compat(offset)];
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        Location {
            file: file.into(),
            line: u32::try_from(line).unwrap_or(u32::MAX),
            col: u32::try_from(col).unwrap_or(u32::MAX),
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.col)
    }
}

/// One problem with an input: where (when known) and what. `Display` is `file:line:col: message`
/// or `file: message` when no line applies (a missing or unreadable file) — never a made-up `0:0`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Diagnostic {
    /// The file (always known).
    pub file: String,
    /// `file:line:col`, when the problem is at a place in the file.
    #[serde(serialize_with = "display_opt")]
    pub location: Option<Location>,
    pub message: String,
}

impl Diagnostic {
    /// A problem at a place in a file.
    pub fn at(location: Location, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            file: location.file.to_string(),
            location: Some(location),
            message: message.into(),
        }
    }

    /// A problem with a whole file (missing, unreadable, empty).
    pub fn file(file: impl Into<String>, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            file: file.into(),
            location: None,
            message: message.into(),
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.location {
            Some(l) => write!(f, "{l}: {}", self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

impl std::error::Error for Diagnostic {}

/// Serialises an optional value by its `Display` (for `serialize_with`).
pub fn display_opt<T: fmt::Display, S: serde::Serializer>(
    v: &Option<T>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => s.collect_str(v),
        None => s.serialize_none(),
    }
}

trait FloorCharBoundary {
    fn floor_char_boundary_compat(&self, i: usize) -> usize;
}

impl FloorCharBoundary for str {
    fn floor_char_boundary_compat(&self, mut i: usize) -> usize {
        while i > 0 && !self.is_char_boundary(i) {
            i -= 1;
        }
        i
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_are_one_based() {
        let t = "a = 1\nbb = x\n";
        assert_eq!(Location::from_offset("f", t, 0).to_string(), "f:1:1");
        assert_eq!(Location::from_offset("f", t, 11).to_string(), "f:2:6");
        assert_eq!(Location::from_offset("f", t, 999).line, 3);
    }
}
