//! System-call lines and their argument expressions (packetdrill's `syscall_spec`).

use super::ast::*;
use super::error::ErrorKind;
use super::lexer::Tok;
use super::parser::{PResult, Parser, MAX_DEPTH};

impl Parser {
    /// `[...END] name(args) = result [ERRNO] [(note)]`.
    pub(super) fn syscall(&mut self) -> PResult<Syscall> {
        let end_time = if self.peek()?.tok == Tok::Ellipsis {
            self.pos_advance();
            Some(self.time_value()?)
        } else {
            None
        };
        let (_, name) = self.expect_word("a system call name")?;
        if !self.at_punct('(') {
            let t = self.peek()?.clone();
            return Err(self.expected(&t, "`(` after the system call name"));
        }
        let args = self.paren_args()?;
        let eq = self.peek()?.clone();
        if eq.tok != Tok::Punct('=') {
            return Err(self.err_at(&eq, ErrorKind::MissingEquals));
        }
        self.pos_advance();
        let result = self.expr()?;
        let errno = match self.peek()?.tok.clone() {
            Tok::Word(w) => {
                let t = self.next()?;
                if !is_errno_name(&w) {
                    return Err(self.err_at(&t, ErrorKind::BadErrno(w)));
                }
                Some(w)
            }
            _ => None,
        };
        let note = if self.at_punct('(') {
            Some(self.note()?)
        } else {
            None
        };
        Ok(Syscall {
            end_time,
            name,
            args,
            result,
            errno,
            note,
        })
    }

    /// `(Connection reset by peer)`: words joined by single spaces.
    fn note(&mut self) -> PResult<String> {
        self.expect_punct('(', "`(`")?;
        let mut words: Vec<String> = Vec::new();
        loop {
            let t = self.next()?;
            match &t.tok {
                Tok::Punct(')') if !words.is_empty() => break,
                Tok::Word(w) | Tok::Float(w) => words.push(w.clone()),
                Tok::Int(v) => words.push(v.to_string()),
                Tok::Punct(c @ ('\'' | ',' | '.' | '/' | ':' | '-')) => words.push(c.to_string()),
                _ => return Err(self.expected(&t, "words and `)` in the note")),
            }
        }
        Ok(words.join(" "))
    }

    /// `(a, b, ...)` or `()`.
    fn paren_args(&mut self) -> PResult<Vec<Expr>> {
        self.expect_punct('(', "`(`")?;
        self.expr_list(')', "`,` or `)` in the argument list")
    }

    /// Expressions separated by `,` up to `close` (the opening bracket is already consumed).
    fn expr_list(&mut self, close: char, expected: &'static str) -> PResult<Vec<Expr>> {
        let mut out = Vec::new();
        if self.at_punct(close) {
            self.pos_advance();
            return Ok(out);
        }
        loop {
            out.push(self.expr()?);
            let t = self.next()?;
            match t.tok {
                Tok::Punct(',') => continue,
                Tok::Punct(c) if c == close => return Ok(out),
                _ => return Err(self.expected(&t, expected)),
            }
        }
    }

    /// `operand ('|' operand)*`.
    pub(super) fn expr(&mut self) -> PResult<Expr> {
        let first = self.operand()?;
        if !self.at_punct('|') {
            return Ok(first);
        }
        let mut parts = vec![first];
        while self.at_punct('|') {
            self.pos_advance();
            parts.push(self.operand()?);
        }
        Ok(Expr::BitOr(parts))
    }

    fn operand(&mut self) -> PResult<Expr> {
        let t = self.next()?;
        if self.depth >= MAX_DEPTH {
            return Err(self.err_at(&t, ErrorKind::TooDeep(MAX_DEPTH)));
        }
        self.depth += 1;
        let e = self.operand_inner(&t);
        self.depth -= 1;
        e
    }

    fn operand_inner(&mut self, t: &super::lexer::Token) -> PResult<Expr> {
        Ok(match &t.tok {
            Tok::Ellipsis => Expr::Ellipsis,
            Tok::Int(v) => Expr::Int(*v),
            Tok::Hex(v) => Expr::Hex(*v),
            Tok::Str(s) => Expr::Str(s.clone()),
            Tok::Word(w) => {
                if self.at_punct('(') {
                    let args = self.paren_args()?;
                    Expr::Call {
                        name: w.clone(),
                        args,
                    }
                } else {
                    Expr::Symbol(w.clone())
                }
            }
            Tok::Punct('[') => Expr::List(self.expr_list(']', "`,` or `]` in the list")?),
            Tok::Punct('{') => Expr::Struct(self.fields()?),
            _ => return Err(self.expected(t, "an expression")),
        })
    }

    /// After `{`: `name=expr` or `expr` items separated by `,`, then `}`.
    fn fields(&mut self) -> PResult<Vec<Field>> {
        let mut out = Vec::new();
        if self.at_punct('}') {
            self.pos_advance();
            return Ok(out);
        }
        loop {
            let name = self.field_name()?;
            let value = self.expr()?;
            out.push(Field { name, value });
            let t = self.next()?;
            match t.tok {
                Tok::Punct(',') => continue,
                Tok::Punct('}') => return Ok(out),
                _ => return Err(self.expected(&t, "`,` or `}` in the struct")),
            }
        }
    }
}

impl Parser {
    /// `name=` or `name(args)=` (packetdrill's `msg_iov(1)=[...]`) before a struct field's
    /// value, consumed with its `=`; `None` (nothing consumed) for a positional field.
    fn field_name(&mut self) -> PResult<Option<String>> {
        let Tok::Word(w) = self.peek()?.tok.clone() else {
            return Ok(None);
        };
        match self.peek_at(1)?.tok {
            Tok::Punct('=') => {
                self.pos_advance();
                self.pos_advance();
                Ok(Some(w))
            }
            Tok::Punct('(') => {
                let save = self.save();
                self.pos_advance();
                let args = self.paren_args()?;
                if self.at_punct('=') {
                    self.pos_advance();
                    let args: Vec<String> = args.iter().map(ToString::to_string).collect();
                    Ok(Some(format!("{w}({})", args.join(", "))))
                } else {
                    self.restore(save);
                    Ok(None)
                }
            }
            _ => Ok(None),
        }
    }
}

/// `E` followed by upper-case letters and digits (`ECONNRESET`, `EAGAIN`, `E2BIG`).
pub(super) fn is_errno_name(w: &str) -> bool {
    w.len() >= 2
        && w.starts_with('E')
        && w[1..]
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}
