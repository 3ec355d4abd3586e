//! Source locations for error messages: `file:line:col`.

use core::fmt;

/// A position in an input file (1-based line and column).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    pub file: String,
    pub line: usize,
    pub col: usize,
}

impl Location {
    /// The location of byte `offset` in `text`.
    pub fn from_offset(file: &str, text: &str, offset: usize) -> Location {
        let offset = offset.min(text.len());
        let before = &text[..text.floor_char_boundary_compat(offset)];
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        Location {
            file: file.to_string(),
            line,
            col,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.col)
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
