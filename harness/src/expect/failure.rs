//! A run's failure as structure: the line of the script or scenario where it happened, which
//! kind of mismatch it was and, for a packet that did not match, which of its fields differed.
//! Per-stack expectations match on this, not on the failure's wording.
//!
//! The failure texts come from two places, whose formats are the contract read here:
//! the script runner (`file:line:col: <what>`, harness/src/script/runner) and the findings judge
//! (`file:line:col: expect … : got …`, harness/src/judge.rs).

use serde::{Deserialize, Serialize};

/// Which expectation of the file failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MismatchKind {
    /// An outbound packet differed from the expected one (`fields` says where).
    PacketDiffers,
    /// An outbound packet came before the expected time.
    PacketEarly,
    /// An outbound packet was only part of the expected (super-)segment.
    PacketPartial,
    /// The expected outbound packet never came.
    NothingSent,
    /// The stack sent a packet no line expected.
    UnexpectedPacket,
    /// A socket call returned another result (or `getsockopt` another value).
    CallResult,
    /// A blocking call returned at the wrong time, or never.
    CallTiming,
    /// A socket or connection was in another TCP state, or another number of them.
    State,
    /// A finding the file expects did not occur, or one occurred that it does not expect.
    Finding,
    /// The stack kept asking for a timeout without progress.
    Stalled,
}

impl MismatchKind {
    /// Every kind, with its name in expectation files.
    pub const ALL: &'static [(MismatchKind, &'static str)] = &[
        (MismatchKind::PacketDiffers, "packet-differs"),
        (MismatchKind::PacketEarly, "packet-early"),
        (MismatchKind::PacketPartial, "packet-partial"),
        (MismatchKind::NothingSent, "nothing-sent"),
        (MismatchKind::UnexpectedPacket, "unexpected-packet"),
        (MismatchKind::CallResult, "call-result"),
        (MismatchKind::CallTiming, "call-timing"),
        (MismatchKind::State, "state"),
        (MismatchKind::Finding, "finding"),
        (MismatchKind::Stalled, "stalled"),
    ];

    /// The name used in expectation files.
    pub fn name(self) -> &'static str {
        MismatchKind::ALL
            .iter()
            .find(|(k, _)| *k == self)
            .map_or("?", |(_, n)| n)
    }
}

/// One failure, as structure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// The line of the script or scenario it points at, when it points at one.
    pub line: Option<u32>,
    pub kind: MismatchKind,
    /// For [`MismatchKind::PacketDiffers`]: the fields that differed (`flags`, `win`,
    /// `options`, `seq`, `ack`, `len`…), in the order the runner reports them.
    pub fields: Vec<String>,
}

impl Failure {
    /// Reads one failure text; `None` when it is of no known form.
    pub fn parse(text: &str) -> Option<Failure> {
        let first = text.lines().next().unwrap_or("");
        let (line, msg) = split_location(first);
        let kind = classify(msg)?;
        let fields = match kind {
            MismatchKind::PacketDiffers => msg
                .split_once("does not match: ")
                .map(|(_, why)| differing_fields(why))
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        Some(Failure { line, kind, fields })
    }
}

/// `file:line:col: message` → (line, message); a text without a location is all message.
fn split_location(s: &str) -> (Option<u32>, &str) {
    let mut parts = s.splitn(4, ':');
    let (Some(_file), Some(line), Some(col), Some(rest)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return (None, s);
    };
    match (line.parse::<u32>(), col.parse::<u32>()) {
        (Ok(l), Ok(_)) => (Some(l), rest.trim_start()),
        _ => (None, s),
    }
}

fn classify(msg: &str) -> Option<MismatchKind> {
    use MismatchKind::*;
    let k = if msg.starts_with("outbound packet at ") {
        if msg.contains(" does not match: ") {
            PacketDiffers
        } else if msg.contains(" is too early ") {
            PacketEarly
        } else if msg.contains(" is only part of the expected segment") {
            PacketPartial
        } else {
            return None;
        }
    } else if msg.starts_with("expected outbound packet by ") {
        NothingSent
    } else if msg.starts_with("unexpected outbound packet") {
        UnexpectedPacket
    } else if msg.starts_with("blocking ") {
        CallTiming
    } else if msg.starts_with("expect ") || msg.contains(" finding(s) ") {
        Finding
    } else if msg.starts_with("stack under test keeps asking") {
        Stalled
    } else if msg.contains(" is in state ") || msg.contains(" connection(s) in ") {
        State
    } else if msg.contains(" returned ") || msg.contains("getsockopt") {
        CallResult
    } else {
        return None;
    };
    Some(k)
}

/// `flags F. (expected R), win 65435 (expected 0)` → `[flags, win]`. A field's text may hold
/// commas inside `<…>` (options) or parentheses; only top-level commas separate fields.
fn differing_fields(why: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    let bytes = why.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'(' | b'<' | b'[' => depth += 1,
            b')' | b'>' | b']' => depth -= 1,
            b',' if depth == 0 => {
                push_field(&mut out, &why[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    push_field(&mut out, &why[start..]);
    out
}

fn push_field(out: &mut Vec<String>, part: &str) {
    if let Some(name) = part.split_whitespace().next() {
        out.push(name.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use MismatchKind::*;

    #[rstest::rstest]
    #[case(
        "a.pkt:15:1: outbound packet at 0.110000 does not match: flags F. (expected R), win 65435 (expected 0)\n  expected: x",
        Some(15), PacketDiffers, &["flags", "win"]
    )]
    #[case(
        "a.pkt:9:1: outbound packet at 0.010000 does not match: options <mss 1460,wscale 0,sackOK> (expected <mss 1460>)",
        Some(9), PacketDiffers, &["options"]
    )]
    #[case("a.pkt:20:1: expected outbound packet by 1.104000, but the stack sent nothing", Some(20), NothingSent, &[])]
    #[case("a.pkt:3:1: unexpected outbound packet at 0.2 before this line ran", Some(3), UnexpectedPacket, &[])]
    #[case("a.pkt:3:1: outbound packet at 0.1 is too early (expected from 0.2)", Some(3), PacketEarly, &[])]
    #[case("a.pkt:7:1: read(4) returned -1 ENOTCONN at 0.3s, expected -1 ECONNRESET", Some(7), CallResult, &[])]
    #[case("a.pkt:7:1: getsockopt(SO_ERROR) gave [0], expected 104", Some(7), CallResult, &[])]
    #[case("a.pkt:7:1: fd=4 (closed) is in state CLOSED, expected TIME-WAIT", Some(7), State, &[])]
    #[case("a.pkt:7:1: blocking read() returned at 1.0, expected at 2.0 (tolerance 0.004)", Some(7), CallTiming, &[])]
    #[case("s.toml:12:1: expect 1 × rst-loss: got 0 × rst-loss", Some(12), Finding, &[])]
    #[case("2 finding(s) (--ignore-expectations: the file's expectations are not used)", None, Finding, &[])]
    fn failure_texts_parse_to_structure(
        #[case] text: &str,
        #[case] line: Option<u32>,
        #[case] kind: MismatchKind,
        #[case] fields: &[&str],
    ) {
        let f = Failure::parse(text).expect("a known form");
        assert_eq!(f.line, line);
        assert_eq!(f.kind, kind);
        assert_eq!(f.fields, fields);
    }

    #[test]
    fn unknown_texts_have_no_structure() {
        assert_eq!(Failure::parse("something else entirely"), None);
    }

    #[test]
    fn kind_names_round_trip_through_serde() {
        for (k, n) in MismatchKind::ALL {
            assert_eq!(k.name(), *n);
            let v: MismatchKind = toml::from_str::<toml::Value>(&format!("k = \"{n}\""))
                .unwrap()
                .get("k")
                .cloned()
                .unwrap()
                .try_into()
                .unwrap();
            assert_eq!(v, *k);
        }
    }
}
