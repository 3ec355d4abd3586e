//! `%` directive lines (our extension; packetdrill has none).

use super::ast::*;
use super::error::ErrorKind;
use super::lexer::Tok;
use super::parser::{Line, PResult, Parser};

/// Every directive name (for "did you mean").
const DIRECTIVES: [&str; 9] = [
    "profile", "stack", "set", "applies", "assert", "expect", "if", "else", "endif",
];

impl Parser {
    /// A line starting with `%`, through its end.
    pub(super) fn directive(&mut self) -> PResult<Line> {
        let pct = self.expect_punct('%', "`%`")?;
        let loc = self.loc(&pct);
        let (name_tok, name) = self.expect_word("a directive name after `%`")?;
        let header_only = matches!(name.as_str(), "profile" | "stack" | "set" | "applies");
        if header_only && self.seen_event {
            return Err(self.err_at(&pct, ErrorKind::HeaderDirectiveAfterEvent(name)));
        }
        let d = match name.as_str() {
            "profile" => Directive::Profile(self.expect_word("a profile name")?.1),
            "stack" => Directive::Stack(self.expect_word("a stack name")?.1),
            "set" => {
                let key = self.dotted_name("a knob name such as `tcp.time_wait_rst`")?;
                self.expect_punct('=', "`=` after the knob name")?;
                let value = self.knob_value()?;
                Directive::Set { key, value }
            }
            "applies" => {
                let mut names = vec![self.expect_word("a profile name")?.1];
                while let Tok::Word(w) = &self.peek()?.tok {
                    names.push(w.clone());
                    self.pos_advance();
                }
                Directive::Applies(names)
            }
            "assert" => {
                let (t, what) = self.expect_word("`state`")?;
                if what != "state" {
                    return Err(self.expected(&t, "`state`"));
                }
                let conn = if self.at_word("fd") || self.at_punct('[') {
                    let bracket = self.at_punct('[');
                    let open = self.next()?;
                    if bracket {
                        let tag = self.conn_tag_inner(&open)?;
                        self.expect_punct(']', "`]` after the connection tag")?;
                        Some(tag)
                    } else {
                        self.expect_punct('=', "`=` after `fd`")?;
                        let fd = self.expect_uint("file descriptor", u64::from(u32::MAX))?;
                        Some(ConnTag::Fd(fd as u32))
                    }
                } else {
                    None
                };
                let (st, state) = self.expect_word("a TCP state such as `ESTABLISHED`")?;
                let state = TcpStateName::from_name(&state)
                    .ok_or_else(|| self.err_at(&st, ErrorKind::UnknownTcpState(state)))?;
                Directive::AssertState { conn, state }
            }
            "expect" => {
                let (t, what) = self.expect_word("`finding NAME` or `no-finding`")?;
                match what.as_str() {
                    "finding" => Directive::ExpectFinding(self.expect_finding()?),
                    "no-finding" => Directive::ExpectNoFinding,
                    _ => return Err(self.expected(&t, "`finding NAME` or `no-finding`")),
                }
            }
            "if" => {
                let (t, what) = self.expect_word("`profile=NAME`")?;
                if what != "profile" {
                    return Err(self.expected(&t, "`profile=NAME`"));
                }
                self.expect_punct('=', "`=` after `profile`")?;
                let mut profiles = vec![self.expect_word("a profile name")?.1];
                while self.at_punct('|') {
                    self.pos_advance();
                    profiles.push(self.expect_word("a profile name after `|`")?.1);
                }
                self.expect_eol()?;
                return Ok(Line::If(loc, profiles));
            }
            "else" => {
                self.expect_eol()?;
                return Ok(Line::Else(loc, false));
            }
            "endif" => {
                self.expect_eol()?;
                return Ok(Line::EndIf(loc, false));
            }
            _ => {
                let hint = stack::suggest::did_you_mean(&name, DIRECTIVES);
                return Err(self.err_at(&name_tok, ErrorKind::UnknownDirective(name, hint)));
            }
        };
        self.expect_eol()?;
        Ok(Line::Stmt(Statement {
            loc,
            kind: StatementKind::Directive(d),
        }))
    }

    /// `word(.word)*`, e.g. `tcp.time_wait_rst`.
    fn dotted_name(&mut self, expected: &'static str) -> PResult<String> {
        let mut s = self.expect_word(expected)?.1;
        while self.at_punct('.') && matches!(self.peek_at(1)?.tok, Tok::Word(_)) {
            self.pos_advance();
            s.push('.');
            s.push_str(&self.expect_word(expected)?.1);
        }
        Ok(s)
    }

    /// A knob value: a (dotted) word or a number, kept as text.
    fn knob_value(&mut self) -> PResult<String> {
        let t = self.peek()?.clone();
        match &t.tok {
            Tok::Word(_) => self.dotted_name("a value"),
            Tok::Int(v) => {
                self.pos_advance();
                Ok(v.to_string())
            }
            Tok::Float(s) => {
                self.pos_advance();
                Ok(s.clone())
            }
            _ => Err(self.expected(&t, "a value after `=`")),
        }
    }

    /// `KIND [count=N] [host=H] [cause=C] [duration="D"]` after `%expect finding`.
    fn expect_finding(&mut self) -> PResult<ExpectFinding> {
        let (t, kind) = self.expect_word("a finding name")?;
        if let Err(why) = crate::oracle::FindingKind::parse_named(&kind) {
            return Err(self.err_at(&t, ErrorKind::UnknownFindingKind(why)));
        }
        let mut e = ExpectFinding {
            kind,
            ..ExpectFinding::default()
        };
        while !matches!(self.peek()?.tok, Tok::Newline | Tok::Eof) {
            let (t, key) = self.expect_word("`count=`, `host=`, `cause=` or `duration=`")?;
            self.expect_punct('=', "`=` after the key")?;
            match key.as_str() {
                "count" => e.count = Some(self.expect_uint("a count", u64::from(u32::MAX))?),
                "host" => e.host = Some(self.expect_word("a host name")?.1),
                "cause" => e.cause = Some(self.expect_word("a cause")?.1),
                "duration" => {
                    let v = self.next()?;
                    let Tok::Str(d) = &v.tok else {
                        return Err(self.expected(&v, "a quoted duration such as \"120s\""));
                    };
                    if let Err(why) = d.parse::<stack::Duration>() {
                        return Err(self.err_at(&v, ErrorKind::BadDuration(why.to_string())));
                    }
                    e.duration = Some(d.clone());
                }
                _ => {
                    let hint =
                        stack::suggest::did_you_mean(&key, ["count", "host", "cause", "duration"]);
                    return Err(self.err_at(&t, ErrorKind::UnknownExpectKey(key, hint)));
                }
            }
        }
        Ok(e)
    }
}
