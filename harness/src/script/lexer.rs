//! Turns script text into tokens with line:column positions.
//!
//! Follows packetdrill's lexer (`lexer.l`) where it has a rule: words, integers, decimal and
//! hex numbers, `"strings"`, `` `commands` ``, `...`, `--options`, `//` and `/* */` comments,
//! IPv4 addresses. Differences: statements end at a newline (outside brackets), words may
//! contain inner `-` (`who-has`, `TIME-WAIT`, `FIN-WAIT-1`), MAC addresses are one token, and
//! `#` is an error instead of a stray character.

use super::error::{ErrorKind, ScriptError};

#[derive(Clone, Debug, PartialEq)]
pub enum Tok {
    Int(i64),
    Hex(u64),
    /// A decimal with a fraction, as written (`0.100`, `.1`, `-0.5`).
    Float(String),
    /// `a.b.c.d` (and malformed look-alikes such as `1.2.3`): validated by the parser.
    Ipv4Like(String),
    /// `aa:bb:cc:dd:ee:ff` look-alikes (three or more `:`): validated by the parser.
    MacLike(String),
    Word(String),
    Str(String),
    Backtick(String),
    /// `--name[=value]` at the start of a line.
    OptionLine {
        name: String,
        value: Option<String>,
    },
    Ellipsis,
    Punct(char),
    /// `#ifdef NAME`, `#ifndef NAME`, `#else`, `#endif` at the start of a line.
    Cond(CondTok),
    /// `%{ ... }%`: the text between the braces.
    Code(String),
    /// Digits glued to hex letters (`3021b9d9`, `0a0b`): a hex blob (Fast Open cookies, MD5
    /// digests); a malformed number wherever a number is expected.
    Blob(String),
    Newline,
    Eof,
}

/// A conditional-compilation line (FreeBSD tcp-testsuite dialect).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CondTok {
    IfDef(String),
    IfNDef(String),
    Else,
    EndIf,
}

impl Tok {
    /// How the token reads in an error message.
    pub fn describe(&self) -> String {
        match self {
            Tok::Int(v) => format!("`{v}`"),
            Tok::Hex(v) => format!("`{v:#x}`"),
            Tok::Float(s) | Tok::Ipv4Like(s) | Tok::MacLike(s) | Tok::Word(s) | Tok::Blob(s) => {
                format!("`{s}`")
            }
            Tok::Cond(CondTok::IfDef(n)) => format!("`#ifdef {n}`"),
            Tok::Cond(CondTok::IfNDef(n)) => format!("`#ifndef {n}`"),
            Tok::Cond(CondTok::Else) => "`#else`".to_string(),
            Tok::Cond(CondTok::EndIf) => "`#endif`".to_string(),
            Tok::Code(_) => "`%{ ... }%` code block".to_string(),
            Tok::Str(s) => format!("string {s:?}"),
            Tok::Backtick(_) => "backtick command".to_string(),
            Tok::OptionLine { name, .. } => format!("option `--{name}`"),
            Tok::Ellipsis => "`...`".to_string(),
            Tok::Punct(c) => format!("`{c}`"),
            Tok::Newline => "end of line".to_string(),
            Tok::Eof => "end of file".to_string(),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Token {
    pub tok: Tok,
    pub line: u32,
    pub col: u32,
}

/// Lexes all of `src`. On a lexical error, the tokens before it are returned together with
/// the error, so the parser can report an earlier syntax error first.
pub fn lex(file: &str, src: &str) -> (Vec<Token>, Option<ScriptError>) {
    let mut lx = Lexer {
        chars: src.chars().collect(),
        pos: 0,
        line: 1,
        col: 1,
        depth: 0,
        line_start: true,
        out: Vec::new(),
    };
    let err = lx.run().err().map(|(line, col, kind)| ScriptError {
        file: file.to_string(),
        line,
        col,
        kind,
    });
    (lx.out, err)
}

type LexResult<T> = Result<T, (u32, u32, ErrorKind)>;

struct Lexer {
    chars: Vec<char>,
    pos: usize,
    line: u32,
    col: u32,
    /// Nesting of `(`, `[`, `{`: newlines inside brackets do not end a statement.
    depth: u32,
    /// Only blanks so far on this line (and not inside brackets).
    line_start: bool,
    out: Vec<Token>,
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

impl Lexer {
    fn peek(&self, k: usize) -> Option<char> {
        self.chars.get(self.pos + k).copied()
    }

    /// Consumes up to and including the two-character `end` (`*/`, `}%`) and returns what came
    /// before it; `None` when the input ends first.
    fn until(&mut self, end: [char; 2]) -> Option<String> {
        let mut text = String::new();
        loop {
            let c = self.peek(0)?;
            if c == end[0] && self.peek(1) == Some(end[1]) {
                self.bump();
                self.bump();
                return Some(text);
            }
            text.push(c);
            self.bump();
        }
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.chars.get(self.pos).copied()?;
        self.pos += 1;
        if c == '\n' {
            self.line = self.line.saturating_add(1);
            self.col = 1;
        } else {
            self.col = self.col.saturating_add(1);
        }
        Some(c)
    }

    fn push(&mut self, tok: Tok, line: u32, col: u32) {
        self.line_start = false;
        self.out.push(Token { tok, line, col });
    }

    fn take_while(&mut self, f: impl Fn(char) -> bool) -> String {
        let mut s = String::new();
        while let Some(c) = self.peek(0) {
            if !f(c) {
                break;
            }
            s.push(c);
            self.bump();
        }
        s
    }

    fn run(&mut self) -> LexResult<()> {
        loop {
            let (line, col) = (self.line, self.col);
            let Some(c) = self.peek(0) else {
                self.push(Tok::Eof, line, col);
                return Ok(());
            };
            match c {
                '\n' => {
                    self.bump();
                    if self.depth == 0 {
                        self.out.push(Token {
                            tok: Tok::Newline,
                            line,
                            col,
                        });
                        self.line_start = true;
                    }
                }
                ' ' | '\t' | '\r' => {
                    self.bump();
                }
                '/' if self.peek(1) == Some('/') => {
                    while self.peek(0).is_some_and(|c| c != '\n') {
                        self.bump();
                    }
                }
                '/' if self.peek(1) == Some('*') => {
                    self.bump();
                    self.bump();
                    self.until(['*', '/'])
                        .ok_or((line, col, ErrorKind::UnterminatedComment))?;
                }
                '#' if self.line_start => {
                    let tok = self.cond(line, col)?;
                    self.push(tok, line, col);
                }
                '#' => return Err((line, col, ErrorKind::HashComment)),
                '"' => {
                    let s = self.string(line, col)?;
                    self.push(Tok::Str(s), line, col);
                }
                '`' => {
                    self.bump();
                    let mut s = String::new();
                    loop {
                        match self.bump() {
                            None => return Err((line, col, ErrorKind::UnterminatedBacktick)),
                            Some('`') => break,
                            Some('\\') => {
                                s.push('\\');
                                match self.bump() {
                                    Some(c) => s.push(c),
                                    None => {
                                        return Err((line, col, ErrorKind::UnterminatedBacktick))
                                    }
                                }
                            }
                            Some(c) => s.push(c),
                        }
                    }
                    self.push(Tok::Backtick(s), line, col);
                }
                '-' if self.line_start && self.peek(1) == Some('-') => {
                    self.bump();
                    self.bump();
                    let name = self.take_while(is_word_char);
                    if name.is_empty() {
                        return Err((
                            self.line,
                            self.col,
                            ErrorKind::Expected {
                                expected: "an option name after `--`",
                                found: self.found_here(),
                            },
                        ));
                    }
                    let value = if self.peek(0) == Some('=') {
                        self.bump();
                        if self.peek(0) == Some('"') {
                            Some(self.raw_string()?)
                        } else {
                            Some(self.take_while(|c| !c.is_whitespace()))
                        }
                    } else {
                        None
                    };
                    self.push(Tok::OptionLine { name, value }, line, col);
                }
                '%' if self.peek(1) == Some('{') => {
                    self.bump();
                    self.bump();
                    let code = self
                        .until(['}', '%'])
                        .ok_or((line, col, ErrorKind::CodeBlock))?;
                    self.push(Tok::Code(code), line, col);
                }
                '.' if self.peek(1) == Some('.') && self.peek(2) == Some('.') => {
                    self.bump();
                    self.bump();
                    self.bump();
                    self.push(Tok::Ellipsis, line, col);
                }
                c if c.is_ascii_hexdigit() && self.mac_len().is_some() => {
                    let n = self.mac_len().unwrap_or(0);
                    let s: String = (0..n).filter_map(|_| self.bump()).collect();
                    self.push(Tok::MacLike(s), line, col);
                }
                c if c.is_ascii_digit() && self.ipv4_len().is_some() => {
                    let n = self.ipv4_len().unwrap_or(0);
                    let s: String = (0..n).filter_map(|_| self.bump()).collect();
                    self.push(Tok::Ipv4Like(s), line, col);
                }
                c if c.is_ascii_digit()
                    || ((c == '-' || c == '.')
                        && self.peek(1).is_some_and(|d| d.is_ascii_digit()))
                    || (c == '-'
                        && self.peek(1) == Some('.')
                        && self.peek(2).is_some_and(|d| d.is_ascii_digit())) =>
                {
                    let tok = self.number(line, col)?;
                    self.push(tok, line, col);
                }
                c if c.is_ascii_alphabetic() || c == '_' => {
                    let mut s = String::new();
                    while let Some(c) = self.peek(0) {
                        if is_word_char(c)
                            || (c == '-' && self.peek(1).is_some_and(|d| d.is_ascii_alphanumeric()))
                        {
                            s.push(c);
                            self.bump();
                        } else {
                            break;
                        }
                    }
                    self.push(Tok::Word(s), line, col);
                }
                c if c.is_ascii_punctuation() => {
                    self.bump();
                    match c {
                        '(' | '[' | '{' => self.depth += 1,
                        ')' | ']' | '}' => self.depth = self.depth.saturating_sub(1),
                        _ => {}
                    }
                    self.push(Tok::Punct(c), line, col);
                }
                other => return Err((line, col, ErrorKind::UnexpectedChar(other))),
            }
        }
    }

    /// `#ifdef NAME`, `#ifndef NAME`, `#else`, `#endif` (the `#` is at the current position).
    /// Any other `#` line is a [`ErrorKind::HashComment`] error.
    fn cond(&mut self, line: u32, col: u32) -> LexResult<Tok> {
        let word_at = |lx: &Lexer, k: usize| -> String {
            let mut s = String::new();
            while let Some(c) = lx.peek(k + s.len()).filter(|c| is_word_char(*c)) {
                s.push(c);
            }
            s
        };
        let kw = word_at(self, 1);
        if !matches!(kw.as_str(), "ifdef" | "ifndef" | "else" | "endif") {
            return Err((line, col, ErrorKind::HashComment));
        }
        for _ in 0..=kw.len() {
            self.bump();
        }
        let rest_blank = |lx: &mut Lexer| {
            lx.take_while(|c| c == ' ' || c == '\t');
        };
        rest_blank(self);
        let tok = match kw.as_str() {
            "else" => CondTok::Else,
            "endif" => CondTok::EndIf,
            _ => {
                let name = self.take_while(is_word_char);
                if name.is_empty() {
                    return Err((
                        self.line,
                        self.col,
                        ErrorKind::Expected {
                            expected: "a name after `#ifdef`/`#ifndef`",
                            found: self.found_here(),
                        },
                    ));
                }
                if kw == "ifdef" {
                    CondTok::IfDef(name)
                } else {
                    CondTok::IfNDef(name)
                }
            }
        };
        Ok(Tok::Cond(tok))
    }

    fn found_here(&self) -> String {
        match self.peek(0) {
            None => "end of file".to_string(),
            Some('\n') => "end of line".to_string(),
            Some(c) => format!("`{c}`"),
        }
    }

    /// A `"..."` literal starting at the current `"`; escapes `\"`, `\\`, `\n`, `\t` decoded.
    fn string(&mut self, line: u32, col: u32) -> LexResult<String> {
        self.bump();
        let mut s = String::new();
        loop {
            match self.bump() {
                None | Some('\n') => return Err((line, col, ErrorKind::UnterminatedString)),
                Some('"') => return Ok(s),
                Some('\\') => match self.bump() {
                    Some('n') => s.push('\n'),
                    Some('t') => s.push('\t'),
                    Some(c @ ('"' | '\\')) => s.push(c),
                    Some(c) if c != '\n' => {
                        s.push('\\');
                        s.push(c);
                    }
                    _ => return Err((line, col, ErrorKind::UnterminatedString)),
                },
                Some(c) => s.push(c),
            }
        }
    }

    /// A `"..."` literal kept exactly as written, quotes and escapes included.
    fn raw_string(&mut self) -> LexResult<String> {
        let (line, col) = (self.line, self.col);
        let mut s = String::new();
        if let Some(q) = self.bump() {
            s.push(q);
        }
        loop {
            match self.bump() {
                None | Some('\n') => return Err((line, col, ErrorKind::UnterminatedString)),
                Some('"') => {
                    s.push('"');
                    return Ok(s);
                }
                Some('\\') => {
                    s.push('\\');
                    match self.bump() {
                        None | Some('\n') => {
                            return Err((line, col, ErrorKind::UnterminatedString))
                        }
                        Some(c) => s.push(c),
                    }
                }
                Some(c) => s.push(c),
            }
        }
    }

    /// Length of a MAC-like run here: hex digits and `:` with at least three `:`.
    fn mac_len(&self) -> Option<usize> {
        let mut n = 0;
        let mut colons = 0;
        while let Some(c) = self.peek(n) {
            if c == ':' {
                colons += 1;
            } else if !c.is_ascii_hexdigit() {
                break;
            }
            n += 1;
        }
        let next_is_word = self.peek(n).is_some_and(is_word_char);
        (colons >= 3 && !next_is_word).then_some(n)
    }

    /// Length of an IPv4-like run here: `digits(.digits){2,}`.
    fn ipv4_len(&self) -> Option<usize> {
        let mut n = 0;
        let mut groups = 0;
        loop {
            let start = n;
            while self.peek(n).is_some_and(|c| c.is_ascii_digit()) {
                n += 1;
            }
            if n == start {
                return None;
            }
            groups += 1;
            if self.peek(n) == Some('.') && self.peek(n + 1).is_some_and(|c| c.is_ascii_digit()) {
                n += 1;
            } else {
                break;
            }
        }
        (groups >= 3).then_some(n)
    }

    fn number(&mut self, line: u32, col: u32) -> LexResult<Tok> {
        let mut text = String::new();
        if self.peek(0) == Some('-') {
            text.push('-');
            self.bump();
        }
        if self.peek(0) == Some('0') && matches!(self.peek(1), Some('x' | 'X')) {
            self.bump();
            self.bump();
            let digits = self.take_while(is_word_char);
            let value = if text.is_empty() {
                u64::from_str_radix(&digits, 16).ok()
            } else {
                None
            };
            return value
                .map(Tok::Hex)
                .ok_or_else(|| (line, col, ErrorKind::BadNumber(format!("{text}0x{digits}"))));
        }
        text.push_str(&self.take_while(|c| c.is_ascii_digit()));
        let mut float = false;
        if self.peek(0) == Some('.') && self.peek(1).is_some_and(|c| c.is_ascii_digit()) {
            float = true;
            text.push('.');
            self.bump();
            text.push_str(&self.take_while(|c| c.is_ascii_digit()));
        }
        // A number glued to letters (`12ab`) is not a number; all hex digits make a blob.
        if self.peek(0).is_some_and(is_word_char) {
            text.push_str(&self.take_while(is_word_char));
            if !float && !text.starts_with('-') && text.chars().all(|c| c.is_ascii_hexdigit()) {
                return Ok(Tok::Blob(text));
            }
            return Err((line, col, ErrorKind::BadNumber(text)));
        }
        if float {
            return Ok(Tok::Float(text));
        }
        text.parse::<i64>()
            .map(Tok::Int)
            .map_err(|_| (line, col, ErrorKind::BadNumber(text)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(src: &str) -> Vec<Tok> {
        let (t, e) = lex("t", src);
        assert_eq!(e, None);
        t.into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn blocking_time_and_ellipsis() {
        assert_eq!(
            toks("+.1...0.200 x"),
            vec![
                Tok::Punct('+'),
                Tok::Float(".1".into()),
                Tok::Ellipsis,
                Tok::Float("0.200".into()),
                Tok::Word("x".into()),
                Tok::Eof
            ]
        );
    }

    #[test]
    fn flags_seq_and_addresses() {
        assert_eq!(
            toks("S. 1:1(0) 192.0.2.1 02:00:00:0a:bb:01 who-has"),
            vec![
                Tok::Word("S".into()),
                Tok::Punct('.'),
                Tok::Int(1),
                Tok::Punct(':'),
                Tok::Int(1),
                Tok::Punct('('),
                Tok::Int(0),
                Tok::Punct(')'),
                Tok::Ipv4Like("192.0.2.1".into()),
                Tok::MacLike("02:00:00:0a:bb:01".into()),
                Tok::Word("who-has".into()),
                Tok::Eof
            ]
        );
    }

    #[test]
    fn newlines_inside_brackets_are_blank() {
        let t = toks("f(1,\n2)\nx");
        assert_eq!(t.iter().filter(|t| **t == Tok::Newline).count(), 1);
    }

    #[test]
    fn option_line_only_at_line_start() {
        assert_eq!(
            toks("--tolerance_usecs=10000\n"),
            vec![
                Tok::OptionLine {
                    name: "tolerance_usecs".into(),
                    value: Some("10000".into())
                },
                Tok::Newline,
                Tok::Eof
            ]
        );
        assert_eq!(toks("x --y")[1], Tok::Punct('-'));
    }

    #[test]
    fn columns_count_characters() {
        let (t, _) = lex("t", "\"é\" x");
        assert_eq!((t[1].line, t[1].col), (1, 5));
    }
}
