//! The conformance script language: packetdrill-compatible text parsed into a typed tree.
//!
//! This module only *parses*; the runner plays the tree against a stack.
//!
//! # Packetdrill syntax we accept
//! One statement per line (newlines inside `()`, `[]`, `{}` do not end a statement).
//!
//! * Times: `0.100` (absolute seconds), `+0.1` (relative), `0.1~0.2` and `+0~+0.2` (ranges),
//!   `*` (any time). Ranges and `*` only on outbound packets, as in packetdrill. Times are exact to
//!   the microsecond; negative, backwards or finer times are errors.
//! * TCP lines: `<` inbound (injected), `>` outbound (expected); flags from `F S R P U E W` plus
//!   `.` for ACK (`S`, `S.`, `.`, `P.`, `F.`, `FP.`, `R`, `R.`, `SEW`), `-` for none;
//!   `start:end(len)` (checked: `end == start + len`) or a bare `start`; then in this order
//!   `ack N`, `win N`, `urg N`, and `<...>` options: `nop`, `eol`, `mss N`, `wscale N`, `sackOK`,
//!   `sack a:b c:d` (1–4 blocks), `TS val X ecr Y`, `FO [cookie]`, `FOEXP [cookie]`,
//!   `md5 <hex>`, or `<...>` (any; outbound only). IP info after the direction (`[ect0]`,
//!   `(ce)`, `[noecn]`, `[ect01]`, `[tos 0x..]`, `[flowlabel 0x..]`, `[ttl N]`) and ports
//!   before the flags (`40000>8080`) parse; the runner reports features the stacks lack
//!   (Fast Open, MD5, ECN, ...) as `unsupported` at their line. UDP/ICMP lines and
//!   GRE/MPLS encapsulation are errors.
//! * System calls: `name(args) = result [ERRNO] [(note)]`, optionally `...END name(...)` for a
//!   blocking call that returns at time END. Arguments: integers, hex, `"strings"`, `...`,
//!   symbols, `[lists]`, `{structs}` with `name=value` or positional fields, calls such as
//!   `htons(8080)` / `inet_addr("192.0.2.1")`, and `A|B` bit-ors. Any call name parses;
//!   [`KnownCall`] names the ones the runner implements.
//! * Option lines `--name[=value]`, only before the first event.
//! * Shell lines `` `cmd` `` with or without a time; `sysctl [-q] [-w] name=value` commands are
//!   also given as structured [`Sysctl`] pairs.
//! * Comments `//` and `/* */`. `#` is **not** a comment in packetdrill and is an error here
//!   too, except `#ifdef NAME` / `#ifndef NAME` / `#else` / `#endif` lines (the FreeBSD
//!   tcp-testsuite dialect), resolved against the run's defines (the profile's, e.g. `FreeBSD`
//!   under `freebsd`, and `--define NAME`).
//! * `[time] %{ python }%` code blocks parse (kept as text); the runner reports them
//!   `unsupported`.
//! * Struct fields may be named `name=value` or `name(args)=value` (`msg_iov(1)=[...]`).
//!
//! # Our extensions (not packetdrill; all lines starting with `%`, or marked below)
//! * `%profile NAME` — the policy profile the stack runs with. *(header)*
//! * `%set KNOB=VALUE` — one policy knob, e.g. `%set tcp.time_wait_rst=ignore`. *(header)*
//! * `%stack NAME` — the stack under test, e.g. `%stack reference`. *(header)*
//! * `%applies P1 P2 ...` — the profiles the script is valid for. *(header)*
//! * `%assert state [fd=N | [tag]] STATE` — the connection's RFC 9293 §3.3.2 state at this
//!   point, e.g. `%assert state fd=4 TIME-WAIT` (Linux spellings such as `TIME_WAIT` accepted).
//! * `%expect finding NAME` / `%expect no-finding` — oracle findings the run must produce.
//! * `%if profile=A|B` ... [`%else` ...] `%endif` — lines that apply only under some profiles
//!   (we chose blocks over `@profile` line prefixes: they nest and print back cleanly).
//! * ARP lines: `> arp who-has 192.0.2.1 tell 192.0.2.2`,
//!   `< arp reply 192.0.2.1 is-at 02:00:00:00:00:01` (RFC 826 request and reply).
//! * Connection tags on TCP lines for several connections in one script: `<[c2] S 0:0(0) ...`
//!   (a label) or `>[fd=4] . 1:1(0) ack 1` (the connection of socket fd 4). Untagged lines
//!   mean the script's single (or most recent) connection, as in packetdrill.
//!
//! Header directives must precede the first timed event. Directives take no time: they apply
//! at their position between events.
//!
//! # Errors
//! Every failure is one [`ScriptError`] whose `Display` is `file:line:col: message`; the parser
//! never panics on any input (see the proptests and [`fuzz_parse`]).

mod ast;
mod directive;
mod error;
mod lexer;
mod packet;
mod parser;
mod print;
pub mod runner;
mod syscall;

#[cfg(test)]
mod tests;

pub use ast::*;
pub use error::{ErrorKind, ScriptError};
pub use parser::{parse, parse_all, MAX_DEPTH, MAX_ERRORS};
pub use print::{fmt_flags, fmt_seconds};

/// Parses raw bytes: invalid UTF-8 is an [`ErrorKind::InvalidUtf8`] error at its position.
pub fn parse_bytes(file: &str, data: &[u8]) -> Result<Script, ScriptError> {
    parse_bytes_all(file, data).map_err(|mut errors| errors.swap_remove(0))
}

/// [`parse_bytes`] with every error ([`parse_all`]).
pub fn parse_bytes_all(file: &str, data: &[u8]) -> Result<Script, Vec<ScriptError>> {
    match std::str::from_utf8(data) {
        Ok(src) => parse_all(file, src),
        Err(e) => {
            let good = &data[..e.valid_up_to()];
            let line = 1 + good.iter().filter(|b| **b == b'\n').count();
            let line_start = good.iter().rposition(|b| *b == b'\n').map_or(0, |p| p + 1);
            let col = 1 + String::from_utf8_lossy(&good[line_start..]).chars().count();
            Err(vec![ScriptError {
                file: file.to_string(),
                line: u32::try_from(line).unwrap_or(u32::MAX),
                col: u32::try_from(col).unwrap_or(u32::MAX),
                kind: ErrorKind::InvalidUtf8,
            }])
        }
    }
}

/// Fuzz entry point (for cargo-fuzz): parse arbitrary bytes; on success, the printed tree must
/// parse back to the same tree. Panics only if that round trip breaks (a bug of ours).
pub fn fuzz_parse(data: &[u8]) {
    if let Ok(script) = parse_bytes("fuzz.pkt", data) {
        let printed = script.to_string();
        match parse("fuzz.pkt", &printed) {
            Ok(again) => assert_eq!(
                again.without_locations(),
                script.without_locations(),
                "print/parse round trip changed the tree:\n{printed}"
            ),
            Err(e) => panic!("printed script does not parse: {e}\n{printed}"),
        }
    }
}
