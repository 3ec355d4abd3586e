//! Fuzz entry points: one function per cargo-fuzz target in `fuzz/fuzz_targets/`.
//!
//! The targets are one-liners calling these functions, so the logic is compiled, linted and
//! tested with the rest of the workspace, and `harness/tests/fuzz_corpora.rs` replays every
//! seed and finding through the very same code. Each function takes arbitrary bytes and
//! panics only when a property is broken (never on malformed input: that is a typed error of
//! the code under test).
//!
//! - robustness: [`wire_parse`], [`pcap_read`], [`script_parse`], [`scenario_parse`];
//! - state machine: [`tcp_segments`];
//! - differential: [`diff_smoltcp`] (smoltcp against the reference stack);
//! - search: [`hunt_rst_loss`], [`hunt_time_wait`], [`hunt_half_open`].

pub mod diff;
mod hunt;
pub mod seeds;
pub mod tcp;
mod wire;

#[cfg(test)]
mod tests;

pub use diff::diff_smoltcp;
pub use hunt::{hunt_half_open, hunt_rst_loss, hunt_time_wait};
pub use tcp::{run_case, tcp_segments, TcpCase, Violation};
pub use wire::wire_parse;

/// The cargo-fuzz target names, in the order `scripts/fuzz-ci` runs them.
pub const TARGETS: &[&str] = &[
    "wire_parse",
    "pcap_read",
    "script_parse",
    "scenario_parse",
    "tcp_segments",
    "hunt_rst_loss",
    "hunt_time_wait",
    "hunt_half_open",
    "diff_smoltcp",
];

/// The entry point of a target by name (for corpus replay and tools).
pub fn entry_point(target: &str) -> Option<fn(&[u8])> {
    Some(match target {
        "wire_parse" => wire_parse,
        "pcap_read" => pcap_read,
        "script_parse" => script_parse,
        "scenario_parse" => scenario_parse,
        "tcp_segments" => tcp_segments,
        "hunt_rst_loss" => hunt_rst_loss,
        "hunt_time_wait" => hunt_time_wait,
        "hunt_half_open" => hunt_half_open,
        "diff_smoltcp" => diff_smoltcp,
        _ => return None,
    })
}

/// pcap reader on arbitrary bytes: a typed error or frames that survive a write/read round
/// trip (see [`crate::pcap::fuzz_read`]).
pub fn pcap_read(data: &[u8]) {
    crate::pcap::fuzz_read(data);
}

/// Script parser on arbitrary bytes: a typed error or a tree that prints and parses back to
/// itself (see [`crate::script::fuzz_parse`]).
pub fn script_parse(data: &[u8]) {
    crate::script::fuzz_parse(data);
}

/// Scenario parser (`harness::scenario`, TOML) on arbitrary bytes: a typed error (invalid
/// UTF-8 is simply not a scenario) or a scenario whose accessors do not panic.
pub fn scenario_parse(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(s) = crate::scenario::Scenario::parse("fuzz.toml", text) {
        let _ = s.name();
    }
}
