//! The statement-level parser: times, dispatch by line kind, `%if` blocks, options, shell lines.
//!
//! Packet lines live in `packet.rs`, system calls in `syscall.rs`, `%` directives in
//! `directive.rs`; all are `impl Parser` blocks over the same token cursor.

use std::sync::Arc;

use stack::Duration;

use super::ast::*;
use super::error::{ErrorKind, ScriptError};
use super::lexer::{lex, CondTok, Tok, Token};

pub(super) type PResult<T> = Result<T, ScriptError>;

/// Deepest nesting of `[`/`{`/`(` in expressions and of `%if` blocks: recursion on untrusted
/// input stays bounded.
pub const MAX_DEPTH: u32 = 32;

/// At most this many errors are collected from one script (the run reports as many per file).
pub const MAX_ERRORS: usize = crate::outcome::MAX_ERRORS_PER_FILE;

/// Parses a whole script; `Err` holds its first error. `file` is only used in locations and
/// error messages.
pub fn parse(file: &str, src: &str) -> Result<Script, ScriptError> {
    parse_all(file, src).map_err(|mut errors| errors.swap_remove(0))
}

/// Parses a whole script; `Err` holds every error found, in file order, at most [`MAX_ERRORS`]
/// (never empty). After an error the parser resumes at the next line, so each broken line is
/// reported once; a lexical error (an unterminated string, say) ends the search.
pub fn parse_all(file: &str, src: &str) -> Result<Script, Vec<ScriptError>> {
    let (toks, lex_err) = lex(file, src);
    let mut p = Parser {
        file: Arc::from(file),
        toks,
        pos: 0,
        lex_err,
        seen_event: false,
        depth: 0,
        errors: Vec::new(),
    };
    let statements = p.script();
    let mut errors = std::mem::take(&mut p.errors);
    match statements {
        Ok(statements) if errors.is_empty() => Ok(Script {
            file: p.file,
            statements,
        }),
        Ok(_) => Err(errors),
        Err(e) => {
            // A lexical error ends the tokens: the skipped line may have recorded it already.
            if errors.last() != Some(&e) {
                errors.push(e);
            }
            errors.sort_by_key(|e| (e.line, e.col));
            Err(errors)
        }
    }
}

pub(super) struct Parser {
    pub(super) file: Arc<str>,
    toks: Vec<Token>,
    pos: usize,
    /// The lexical error that ended the token list, reported when the parser reaches it.
    lex_err: Option<ScriptError>,
    /// An event (timed line) has been seen: header-only lines are no longer allowed.
    pub(super) seen_event: bool,
    /// Current expression nesting (see [`MAX_DEPTH`]).
    pub(super) depth: u32,
    /// Errors of lines already skipped (see [`parse_all`]).
    errors: Vec<ScriptError>,
}

/// One parsed line, before `%if` / `#ifdef` blocks are assembled.
pub(super) enum Line {
    Stmt(Statement),
    If(Location, Vec<String>),
    /// `%else` (`false`) or `#else` (`true`).
    Else(Location, bool),
    /// `%endif` (`false`) or `#endif` (`true`).
    EndIf(Location, bool),
    /// `#ifdef NAME` (`false`) or `#ifndef NAME` (`true`).
    IfDef(Location, String, bool),
}

/// What an open block tests.
enum Cond {
    Profile(Vec<String>),
    Defined { name: String, negated: bool },
}

struct OpenIf {
    loc: Location,
    cond: Cond,
    then: Vec<Statement>,
    otherwise: Vec<Statement>,
    in_else: bool,
}

impl OpenIf {
    fn hash(&self) -> bool {
        matches!(self.cond, Cond::Defined { .. })
    }
}
impl Parser {
    // ---- token cursor -------------------------------------------------------------------

    pub(super) fn peek(&self) -> PResult<&Token> {
        self.peek_at(0)
    }

    pub(super) fn peek_at(&self, k: usize) -> PResult<&Token> {
        match self.toks.get(self.pos + k) {
            Some(t) => Ok(t),
            None => Err(self.lex_err.clone().unwrap_or_else(|| {
                // Unreachable in practice: a successful lex always ends with `Eof`.
                let (line, col) = self.toks.last().map_or((1, 1), |t| (t.line, t.col));
                ScriptError {
                    file: self.file.to_string(),
                    line,
                    col,
                    kind: ErrorKind::UnexpectedChar('\0'),
                }
            })),
        }
    }

    pub(super) fn next(&mut self) -> PResult<Token> {
        let t = self.peek()?.clone();
        if t.tok != Tok::Eof {
            self.pos += 1;
        }
        Ok(t)
    }

    /// The cursor, for backtracking with [`Parser::restore`].
    pub(super) fn save(&self) -> usize {
        self.pos
    }

    pub(super) fn restore(&mut self, pos: usize) {
        self.pos = pos;
    }

    /// Whether the next token is this punctuation character.
    pub(super) fn at_punct(&self, c: char) -> bool {
        matches!(self.peek(), Ok(Token { tok: Tok::Punct(p), .. }) if *p == c)
    }

    /// Whether the next token is this word.
    pub(super) fn at_word(&self, w: &str) -> bool {
        matches!(self.peek(), Ok(Token { tok: Tok::Word(x), .. }) if x == w)
    }

    pub(super) fn err_at(&self, t: &Token, kind: ErrorKind) -> ScriptError {
        ScriptError {
            file: self.file.to_string(),
            line: t.line,
            col: t.col,
            kind,
        }
    }

    pub(super) fn expected(&self, t: &Token, expected: &'static str) -> ScriptError {
        self.err_at(
            t,
            ErrorKind::Expected {
                expected,
                found: t.tok.describe(),
            },
        )
    }

    pub(super) fn expect_punct(&mut self, c: char, expected: &'static str) -> PResult<Token> {
        let t = self.next()?;
        if t.tok == Tok::Punct(c) {
            Ok(t)
        } else {
            Err(self.expected(&t, expected))
        }
    }

    pub(super) fn expect_word(&mut self, expected: &'static str) -> PResult<(Token, String)> {
        let t = self.next()?;
        match &t.tok {
            Tok::Word(w) => {
                let w = w.clone();
                Ok((t, w))
            }
            _ => Err(self.expected(&t, expected)),
        }
    }

    /// An integer in `0..=max`, reported as `what` when out of range.
    pub(super) fn expect_uint(&mut self, what: &'static str, max: u64) -> PResult<u64> {
        let t = self.next()?;
        match t.tok {
            Tok::Int(v) if v >= 0 && (v as u64) <= max => Ok(v as u64),
            Tok::Int(v) => Err(self.err_at(
                &t,
                ErrorKind::OutOfRange {
                    what,
                    value: v,
                    max,
                },
            )),
            _ => Err(self.expected(&t, what)),
        }
    }

    /// The statement must end here (newline or end of file).
    pub(super) fn expect_eol(&mut self) -> PResult<()> {
        let t = self.peek()?.clone();
        match t.tok {
            Tok::Newline => {
                self.pos += 1;
                Ok(())
            }
            Tok::Eof => Ok(()),
            ref other => Err(self.err_at(&t, ErrorKind::TrailingInput(other.describe()))),
        }
    }

    pub(super) fn loc(&self, t: &Token) -> Location {
        Location {
            file: self.file.clone(),
            line: t.line,
            col: t.col,
        }
    }

    // ---- script and blocks ----------------------------------------------------------------

    /// Records `e`, the error of the line that starts at token `start`, and moves past that
    /// line; or returns `e` when the search must end (too many errors, or the tokens ran out at
    /// a lexical error).
    fn skip_line(&mut self, start: usize, e: ScriptError) -> PResult<()> {
        self.record(e)?;
        self.pos = start;
        loop {
            match self.next()?.tok {
                Tok::Newline | Tok::Eof => return Ok(()),
                _ => {}
            }
        }
    }

    /// Records an error and goes on, or returns it when it is the last one to collect.
    fn record(&mut self, e: ScriptError) -> PResult<()> {
        if self.errors.len() + 1 >= MAX_ERRORS {
            return Err(e);
        }
        self.errors.push(e);
        Ok(())
    }

    fn script(&mut self) -> PResult<Vec<Statement>> {
        let mut top: Vec<Statement> = Vec::new();
        let mut open: Vec<OpenIf> = Vec::new();
        loop {
            let t = self.peek()?.clone();
            match t.tok {
                Tok::Eof => break,
                Tok::Newline => {
                    self.pos += 1;
                    continue;
                }
                _ => {}
            }
            let start = self.pos;
            let line = match self.line() {
                Ok(line) => line,
                Err(e) => {
                    self.skip_line(start, e)?;
                    continue;
                }
            };
            let (opening, cond) = match line {
                Line::Stmt(s) => {
                    push_into(&mut open, &mut top, s);
                    continue;
                }
                Line::If(loc, profiles) => (loc, Cond::Profile(profiles)),
                Line::IfDef(loc, name, negated) => (loc, Cond::Defined { name, negated }),
                Line::Else(loc, hash) => {
                    match open.last_mut() {
                        Some(b) if !b.in_else && b.hash() == hash => b.in_else = true,
                        Some(b) if !b.in_else => {
                            let what = if hash { "#else" } else { "%else" };
                            self.record(self.err_loc(&loc, ErrorKind::CondMismatch(what)))?;
                        }
                        _ => self.record(self.err_loc(&loc, ErrorKind::StrayElse))?,
                    }
                    continue;
                }
                Line::EndIf(loc, hash) => {
                    let Some(b) = open.pop() else {
                        self.record(self.err_loc(&loc, ErrorKind::StrayEndif))?;
                        continue;
                    };
                    if b.hash() != hash {
                        let what = if hash { "#endif" } else { "%endif" };
                        self.record(self.err_loc(&loc, ErrorKind::CondMismatch(what)))?;
                    }
                    let kind = match b.cond {
                        Cond::Profile(profiles) => StatementKind::IfProfile(IfProfile {
                            profiles,
                            then: b.then,
                            otherwise: b.otherwise,
                        }),
                        Cond::Defined { name, negated } => StatementKind::IfDef(IfDef {
                            name,
                            negated,
                            then: b.then,
                            otherwise: b.otherwise,
                        }),
                    };
                    push_into(&mut open, &mut top, Statement { loc: b.loc, kind });
                    continue;
                }
            };
            if open.len() as u32 >= MAX_DEPTH {
                return Err(self.err_loc(&opening, ErrorKind::TooDeep(MAX_DEPTH)));
            }
            open.push(OpenIf {
                loc: opening,
                cond,
                then: Vec::new(),
                otherwise: Vec::new(),
                in_else: false,
            });
        }
        if let Some(b) = open.last() {
            let kind = if b.hash() {
                ErrorKind::UnterminatedIfDef
            } else {
                ErrorKind::UnterminatedIf
            };
            return Err(self.err_loc(&b.loc, kind));
        }
        Ok(top)
    }

    pub(super) fn err_loc(&self, loc: &Location, kind: ErrorKind) -> ScriptError {
        ScriptError {
            file: self.file.to_string(),
            line: loc.line,
            col: loc.col,
            kind,
        }
    }

    /// One line, from its first token through its end.
    fn line(&mut self) -> PResult<Line> {
        let first = self.peek()?.clone();
        let loc = self.loc(&first);
        match &first.tok {
            Tok::OptionLine { name, value } => {
                self.pos += 1;
                if self.seen_event {
                    return Err(self.err_at(&first, ErrorKind::OptionAfterEvent(name.clone())));
                }
                let kind = StatementKind::Option(CliOption {
                    name: name.clone(),
                    value: value.clone(),
                });
                self.expect_eol()?;
                Ok(Line::Stmt(Statement { loc, kind }))
            }
            Tok::Punct('%') => self.directive(),
            Tok::Cond(c) => {
                let c = c.clone();
                self.pos += 1;
                self.expect_eol()?;
                Ok(match c {
                    CondTok::IfDef(n) => Line::IfDef(loc, n, false),
                    CondTok::IfNDef(n) => Line::IfDef(loc, n, true),
                    CondTok::Else => Line::Else(loc, true),
                    CondTok::EndIf => Line::EndIf(loc, true),
                })
            }
            Tok::Code(code) => {
                let code = code.clone();
                self.pos += 1;
                self.expect_eol()?;
                Ok(Line::Stmt(Statement {
                    loc,
                    kind: StatementKind::Code(CodeBlock { time: None, code }),
                }))
            }
            Tok::Backtick(_) => {
                let command = self.shell()?;
                self.expect_eol()?;
                Ok(Line::Stmt(Statement {
                    loc,
                    kind: StatementKind::Shell(ShellLine {
                        time: None,
                        command,
                    }),
                }))
            }
            Tok::Punct('+' | '*') | Tok::Int(_) | Tok::Float(_) => {
                let kind = self.event()?;
                self.seen_event = true;
                self.expect_eol()?;
                Ok(Line::Stmt(Statement { loc, kind }))
            }
            Tok::Punct('<' | '>') | Tok::Word(_) | Tok::Ellipsis => {
                Err(self.err_at(&first, ErrorKind::MissingTime))
            }
            _ => Err(self.expected(&first, "a statement")),
        }
    }

    /// A timed event: time, then a packet, ARP frame, system call or shell command.
    fn event(&mut self) -> PResult<StatementKind> {
        let time_tok = self.peek()?.clone();
        let time = self.event_time()?;
        let t = self.peek()?.clone();
        let kind = match &t.tok {
            Tok::Punct('<' | '>') => self.packet_line(time)?,
            Tok::Ellipsis | Tok::Word(_) => StatementKind::Syscall(TimedSyscall {
                time,
                call: self.syscall()?,
            }),
            Tok::Backtick(_) => StatementKind::Shell(ShellLine {
                time: Some(time),
                command: self.shell()?,
            }),
            Tok::Code(code) => {
                let code = code.clone();
                self.pos += 1;
                StatementKind::Code(CodeBlock {
                    time: Some(time),
                    code,
                })
            }
            _ => return Err(self.expected(&t, "a packet, system call or command after the time")),
        };
        let outbound = match &kind {
            StatementKind::Tcp(p) => p.packet.direction == Direction::Outbound,
            StatementKind::Arp(a) => a.arp.direction == Direction::Outbound,
            _ => false,
        };
        let ranged = !matches!(time, EventTime::Absolute(_) | EventTime::Relative(_));
        if ranged && !outbound {
            return Err(self.err_at(&time_tok, ErrorKind::TimeRangeNotOutbound));
        }
        Ok(kind)
    }

    // ---- times ----------------------------------------------------------------------------

    /// `0.1`, `+0.1`, `*`, `0.1~0.2`, `+0~+0.2`.
    fn event_time(&mut self) -> PResult<EventTime> {
        if self.at_punct('*') {
            self.pos += 1;
            return Ok(EventTime::Any);
        }
        let relative = self.at_punct('+');
        if relative {
            self.pos += 1;
        }
        let start_tok = self.peek()?.clone();
        let start = self.time_value()?;
        if !self.at_punct('~') {
            return Ok(if relative {
                EventTime::Relative(start)
            } else {
                EventTime::Absolute(start)
            });
        }
        self.pos += 1;
        let plus = self.peek()?.clone();
        let end_relative = plus.tok == Tok::Punct('+');
        if end_relative {
            self.pos += 1;
        }
        if end_relative != relative {
            return Err(self.err_at(&plus, ErrorKind::MixedTimeRange));
        }
        let end = self.time_value()?;
        if end < start {
            return Err(self.err_at(&start_tok, ErrorKind::BackwardsTimeRange));
        }
        Ok(if relative {
            EventTime::RelativeRange(start, end)
        } else {
            EventTime::AbsoluteRange(start, end)
        })
    }

    /// A non-negative number of seconds (`3`, `0.100`, `.1`), exact to the microsecond.
    pub(super) fn time_value(&mut self) -> PResult<Duration> {
        let t = self.next()?;
        let text = match &t.tok {
            Tok::Int(v) => v.to_string(),
            Tok::Float(s) => s.clone(),
            _ => return Err(self.expected(&t, "a time in seconds")),
        };
        if text.starts_with('-') {
            return Err(self.err_at(&t, ErrorKind::NegativeTime));
        }
        seconds_to_micros(&text)
            .map(Duration::from_micros)
            .map_err(|k| self.err_at(&t, k))
    }

    // ---- shell ------------------------------------------------------------------------------

    fn shell(&mut self) -> PResult<ShellCommand> {
        let t = self.next()?;
        let Tok::Backtick(raw) = &t.tok else {
            return Err(self.expected(&t, "a backtick command"));
        };
        let sysctls = parse_sysctls(raw).map_err(|k| self.err_at(&t, k))?;
        Ok(ShellCommand {
            raw: raw.clone(),
            sysctls,
        })
    }
}

/// Appends a finished statement to the innermost open block (or the top level).
fn push_into(open: &mut [OpenIf], top: &mut Vec<Statement>, s: Statement) {
    match open.last_mut() {
        Some(b) if b.in_else => b.otherwise.push(s),
        Some(b) => b.then.push(s),
        None => top.push(s),
    }
}

/// `"12"`, `"0.100"`, `".5"` seconds to microseconds, exactly.
fn seconds_to_micros(text: &str) -> Result<u64, ErrorKind> {
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    let too_large = || ErrorKind::TimeTooLarge(text.to_string());
    let secs: u64 = if int.is_empty() {
        0
    } else {
        int.parse().map_err(|_| too_large())?
    };
    let (kept, rest) = frac.split_at(frac.len().min(6));
    if rest.chars().any(|c| c != '0') {
        return Err(ErrorKind::TimeTooPrecise(text.to_string()));
    }
    let mut micros: u64 = 0;
    for (i, c) in kept.chars().enumerate() {
        let d = u64::from(c.to_digit(10).unwrap_or(0));
        micros += d * 10u64.pow(5 - i as u32);
    }
    secs.checked_mul(1_000_000)
        .and_then(|s| s.checked_add(micros))
        .ok_or_else(too_large)
}

/// Recognises `sysctl [-q] [-w] name=value ...` parts (separated by `;`, `&&` or newlines;
/// backslash-newline continues a line).
/// `Ok(None)` when some part is something else, or a sysctl read.
pub(super) fn parse_sysctls(raw: &str) -> Result<Option<Vec<Sysctl>>, ErrorKind> {
    let mut out = Vec::new();
    let joined = raw.replace("\\\n", " ");
    let parts: Vec<&str> = joined
        .split([';', '\n'])
        .flat_map(|p| p.split("&&"))
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    if parts.is_empty() {
        return Ok(None);
    }
    for part in parts {
        let mut words = part.split_whitespace();
        if words.next() != Some("sysctl") {
            return Ok(None);
        }
        let mut write = false;
        let mut args = Vec::new();
        for w in words {
            if let Some(flags) = w.strip_prefix('-') {
                if flags.is_empty() || !flags.chars().all(|c| matches!(c, 'q' | 'w' | 'e')) {
                    return Ok(None);
                }
                write |= flags.contains('w');
            } else {
                args.push(w);
            }
        }
        if args.is_empty() {
            return Err(ErrorKind::BadSysctl("no `name=value` given".to_string()));
        }
        if !args.iter().all(|a| a.contains('=')) {
            if write {
                return Err(ErrorKind::BadSysctl(
                    "`-w` needs `name=value` arguments".to_string(),
                ));
            }
            return Ok(None);
        }
        for a in args {
            let (name, value) = a.split_once('=').unwrap_or((a, ""));
            if name.is_empty() || value.is_empty() {
                return Err(ErrorKind::BadSysctl(format!(
                    "`{a}` needs a name and a value"
                )));
            }
            out.push(Sysctl {
                name: name.to_string(),
                value: value.to_string(),
            });
        }
    }
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("0", 0)]
    #[case("3", 3_000_000)]
    #[case("0.100", 100_000)]
    #[case(".1", 100_000)]
    #[case("1.000001", 1_000_001)]
    #[case("0.0000010", 1)]
    fn seconds(#[case] text: &str, #[case] micros: u64) {
        assert_eq!(seconds_to_micros(text), Ok(micros));
    }

    #[test]
    fn seconds_reject_sub_micro() {
        assert!(matches!(
            seconds_to_micros("0.0000001"),
            Err(ErrorKind::TimeTooPrecise(_))
        ));
    }

    #[rstest]
    #[case("sysctl -w net.ipv4.tcp_rfc1337=1", Some(vec![("net.ipv4.tcp_rfc1337", "1")]))]
    #[case("sysctl -q a=b c=d", Some(vec![("a", "b"), ("c", "d")]))]
    #[case("sysctl -q a=1; sysctl -w b=2", Some(vec![("a", "1"), ("b", "2")]))]
    #[case("sysctl -q a=1\nsysctl -q \\\n  b=2\n", Some(vec![("a", "1"), ("b", "2")]))]
    #[case("sysctl net.ipv4.tcp_rfc1337", None)]
    #[case("../common/defaults.sh", None)]
    #[case("sysctl -a", None)]
    fn sysctls(#[case] raw: &str, #[case] want: Option<Vec<(&str, &str)>>) {
        let want = want.map(|v| {
            v.into_iter()
                .map(|(n, v)| Sysctl {
                    name: n.into(),
                    value: v.into(),
                })
                .collect::<Vec<_>>()
        });
        assert_eq!(parse_sysctls(raw), Ok(want));
    }

    #[rstest]
    #[case("sysctl -w foo")]
    #[case("sysctl -w")]
    #[case("sysctl -w =1")]
    fn bad_sysctls(#[case] raw: &str) {
        assert!(matches!(parse_sysctls(raw), Err(ErrorKind::BadSysctl(_))));
    }
}
