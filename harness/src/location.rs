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

/// Parses a duration such as `120s`, `250ms`, `1.5s`, `10min`, `2h`, `75us`.
pub fn parse_duration(s: &str) -> Result<stack::Duration, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let unit = unit.trim();
    if unit.is_empty() {
        return Err(format!("bad duration `{s}`: missing unit (e.g. `120s`)"));
    }
    let scale: f64 = match unit {
        "us" | "µs" => 1.0,
        "ms" => 1e3,
        "s" => 1e6,
        "min" | "m" => 60e6,
        "h" => 3600e6,
        other => {
            return Err(format!(
                "bad duration `{s}`: unknown unit `{other}` (use us, ms, s, min, h)"
            ))
        }
    };
    let v: f64 = num
        .parse()
        .map_err(|_| format!("bad duration `{s}`: `{num}` is not a number"))?;
    if !v.is_finite() || v < 0.0 || v * scale > 1e15 {
        return Err(format!("bad duration `{s}`: out of range"));
    }
    Ok(stack::Duration::from_micros((v * scale).round() as u64))
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

    #[test]
    fn durations() {
        assert_eq!(
            parse_duration("120s").unwrap(),
            stack::Duration::from_secs(120)
        );
        assert_eq!(
            parse_duration("1.5s").unwrap(),
            stack::Duration::from_millis(1500)
        );
        assert_eq!(
            parse_duration("10min").unwrap(),
            stack::Duration::from_secs(600)
        );
        assert_eq!(
            parse_duration("2h").unwrap(),
            stack::Duration::from_secs(7200)
        );
        assert_eq!(
            parse_duration("250ms").unwrap(),
            stack::Duration::from_millis(250)
        );
        for bad in ["", "10", "s", "1.2.3s", "-1s", "5 parsecs", "1e300s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
