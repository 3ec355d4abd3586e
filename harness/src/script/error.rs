//! The one error type of the script parser: where, and what kind.

use std::fmt;

/// A parse error at `file:line:col` (1-based; columns count characters).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptError {
    pub file: String,
    pub line: u32,
    pub col: u32,
    pub kind: ErrorKind,
}

impl fmt::Display for ScriptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: {}", self.file, self.line, self.col, self.kind)
    }
}

impl std::error::Error for ScriptError {}

/// What went wrong. Each unsupported construct has its own clear message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    // --- lexical ---
    #[error("input is not valid UTF-8")]
    InvalidUtf8,
    #[error("unterminated string literal")]
    UnterminatedString,
    #[error("unterminated backtick command")]
    UnterminatedBacktick,
    #[error("unterminated /* comment")]
    UnterminatedComment,
    #[error(
        "`#` does not start a comment in packetdrill scripts; use `//` or `/* */` \
         (`#ifdef`, `#ifndef`, `#else` and `#endif` lines are understood)"
    )]
    HashComment,
    #[error("unexpected character {0:?}")]
    UnexpectedChar(char),
    #[error("malformed number `{0}`")]
    BadNumber(String),
    #[error("`%{{` code block is never closed with `}}%`")]
    CodeBlock,

    // --- generic syntax ---
    #[error("expected {expected}, found {found}")]
    Expected {
        expected: &'static str,
        found: String,
    },
    #[error("unexpected {0} at end of statement")]
    TrailingInput(String),
    #[error("an event needs a time (`0`, `+0.1`, `*` ...) before it")]
    MissingTime,

    #[error("nested too deeply (more than {0} levels)")]
    TooDeep(u32),

    // --- times ---
    #[error("negative time")]
    NegativeTime,
    #[error("time `{0}` is finer than a microsecond")]
    TimeTooPrecise(String),
    #[error("time `{0}` is too large")]
    TimeTooLarge(String),
    #[error("time range is backwards")]
    BackwardsTimeRange,
    #[error("a time range must be `a~b` or `+a~+b`")]
    MixedTimeRange,
    #[error("time ranges and `*` can only be used with outbound packets")]
    TimeRangeNotOutbound,

    // --- packets ---
    #[error("unknown TCP flag {0:?} (flags are F S R P U E W and `.`)")]
    BadTcpFlag(char),
    #[error("TCP flag {0:?} given twice")]
    DuplicateTcpFlag(char),
    #[error("inconsistent sequence numbers: {start}:{end}({len}) but {start} + {len} != {end}")]
    SeqMismatch { start: u64, end: u64, len: u64 },
    #[error("{what} {value} out of range (at most {max})")]
    OutOfRange {
        what: &'static str,
        value: i64,
        max: u64,
    },
    #[error("unknown TCP option `{0}`")]
    UnknownTcpOption(String),
    #[error("TCP option `{0}` is not supported by this harness")]
    UnsupportedTcpOption(String),
    #[error("a SACK option holds at most 4 blocks")]
    TooManySackBlocks,
    #[error("`...` (any sequence number) is only for packets the stack sends: an injected packet needs a real one")]
    AnySeqInbound,
    #[error("`<...>` (any options) can only be used with outbound packets")]
    AnyOptionsInbound,
    #[error("{0} are not supported by this harness")]
    Unsupported(&'static str),
    #[error("bad connection tag: {0}")]
    BadConnTag(String),

    // --- ARP extension ---
    #[error("bad IPv4 address `{0}`")]
    BadIpv4(String),
    #[error("bad MAC address `{0}`")]
    BadMac(String),
    #[error("unknown ARP operation `{0}` (use `who-has` or `reply`)")]
    UnknownArpOp(String),

    // --- system calls ---
    #[error("missing `= result` after the system call")]
    MissingEquals,
    #[error("`{0}` is not an errno name (expected E... such as ECONNRESET)")]
    BadErrno(String),

    // --- directives, options, shell ---
    #[error("unknown directive `%{0}`{1}")]
    UnknownDirective(String, String),
    #[error("unknown key `{0}`{1} (keys: count, host, cause, duration)")]
    UnknownExpectKey(String, String),
    #[error("{0}")]
    BadDuration(String),
    /// `%expect finding KIND` names no finding kind (the message lists them).
    #[error("{0}")]
    UnknownFindingKind(String),
    #[error("`%{0}` is a header directive and must come before the first event")]
    HeaderDirectiveAfterEvent(String),
    #[error("option lines (`--{0}`) must come before the first event")]
    OptionAfterEvent(String),
    #[error("`%endif` without a matching `%if`")]
    StrayEndif,
    #[error("`%else` without a matching `%if`")]
    StrayElse,
    #[error("`%if` block is never closed with `%endif`")]
    UnterminatedIf,
    #[error("`{0}` does not match the open block (`#ifdef` closes with `#else`/`#endif`, `%if` with `%else`/`%endif`)")]
    CondMismatch(&'static str),
    #[error("`#ifdef`/`#ifndef` block is never closed with `#endif`")]
    UnterminatedIfDef,
    #[error("unknown TCP state `{0}` (use an RFC 9293 name such as TIME-WAIT)")]
    UnknownTcpState(String),
    #[error("malformed sysctl command: {0}")]
    BadSysctl(String),
}

impl From<ScriptError> for crate::location::Diagnostic {
    fn from(e: ScriptError) -> Self {
        crate::location::Diagnostic::at(
            crate::location::Location {
                file: e.file.as_str().into(),
                line: e.line,
                col: e.col,
            },
            e.kind.to_string(),
        )
    }
}
