//! The pretty-printer: `Display` on the tree prints script text that parses back to the same
//! tree (locations aside).

use std::fmt::{self, Display, Formatter};

use stack::wire::TcpFlags;
use stack::Duration;

use super::ast::*;
use super::packet::FLAG_LETTERS;

/// Seconds with up to six decimals, trailing zeros dropped: `0`, `0.1`, `2.000001`.
pub fn fmt_seconds(d: Duration) -> String {
    let us = d.total_micros();
    let (secs, frac) = (us / 1_000_000, us % 1_000_000);
    if frac == 0 {
        secs.to_string()
    } else {
        let f = format!("{frac:06}");
        format!("{secs}.{}", f.trim_end_matches('0'))
    }
}

impl Display for EventTime {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match *self {
            EventTime::Absolute(t) => write!(f, "{}", fmt_seconds(t)),
            EventTime::Relative(t) => write!(f, "+{}", fmt_seconds(t)),
            EventTime::AbsoluteRange(a, b) => write!(f, "{}~{}", fmt_seconds(a), fmt_seconds(b)),
            EventTime::RelativeRange(a, b) => {
                write!(f, "+{}~+{}", fmt_seconds(a), fmt_seconds(b))
            }
            EventTime::Any => f.write_str("*"),
        }
    }
}

impl Display for Script {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        for s in &self.statements {
            writeln!(f, "{s}")?;
        }
        Ok(())
    }
}

impl Display for Statement {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        self.kind.fmt(f)
    }
}

impl Display for StatementKind {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            StatementKind::Option(o) => match &o.value {
                Some(v) => write!(f, "--{}={v}", o.name),
                None => write!(f, "--{}", o.name),
            },
            StatementKind::Shell(s) => {
                if let Some(t) = s.time {
                    write!(f, "{t} ")?;
                }
                write!(f, "`{}`", s.command.raw)
            }
            StatementKind::Tcp(t) => write!(f, "{} {}", t.time, t.packet),
            StatementKind::Arp(a) => write!(f, "{} {}", a.time, a.arp),
            StatementKind::Syscall(s) => write!(f, "{} {}", s.time, s.call),
            StatementKind::Directive(d) => d.fmt(f),
            StatementKind::IfProfile(b) => {
                writeln!(f, "%if profile={}", b.profiles.join("|"))?;
                for s in &b.then {
                    writeln!(f, "{s}")?;
                }
                if !b.otherwise.is_empty() {
                    writeln!(f, "%else")?;
                    for s in &b.otherwise {
                        writeln!(f, "{s}")?;
                    }
                }
                f.write_str("%endif")
            }
            StatementKind::IfDef(b) => {
                let kw = if b.negated { "#ifndef" } else { "#ifdef" };
                writeln!(f, "{kw} {}", b.name)?;
                for s in &b.then {
                    writeln!(f, "{s}")?;
                }
                if !b.otherwise.is_empty() {
                    writeln!(f, "#else")?;
                    for s in &b.otherwise {
                        writeln!(f, "{s}")?;
                    }
                }
                f.write_str("#endif")
            }
            StatementKind::Code(c) => {
                if let Some(t) = c.time {
                    write!(f, "{t} ")?;
                }
                write!(f, "%{{{}}}%", c.code)
            }
        }
    }
}

impl Display for Direction {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Direction::Inbound => "<",
            Direction::Outbound => ">",
        })
    }
}

impl Display for ConnTag {
    /// The bracketed form used on packet lines: `[c2]`, `[fd=4]`.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            ConnTag::Name(n) => write!(f, "[{n}]"),
            ConnTag::Fd(fd) => write!(f, "[fd={fd}]"),
        }
    }
}

/// Packetdrill flag spelling: `S.`, `.`, `FP.`, `-` for none.
pub fn fmt_flags(flags: TcpFlags) -> String {
    let mut s: String = FLAG_LETTERS
        .iter()
        .filter(|(_, fl)| flags.contains(*fl))
        .map(|(c, _)| *c)
        .collect();
    if flags.ack() {
        s.push('.');
    }
    if s.is_empty() {
        s.push('-');
    }
    s
}

impl Display for TcpPacket {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.direction)?;
        if let Some(c) = &self.conn {
            write!(f, "{c}")?;
        }
        if let Some(ip) = &self.ip {
            write!(f, " [{ip}]")?;
        }
        if let Some((src, dst)) = self.ports {
            write!(f, " {src}>{dst}")?;
        }
        write!(f, " {} {}", fmt_flags(self.flags), self.seq)?;
        if let Some(a) = self.ack {
            write!(f, " ack {a}")?;
        }
        if let Some(w) = self.win {
            write!(f, " win {w}")?;
        }
        if let Some(u) = self.urg {
            write!(f, " urg {u}")?;
        }
        match &self.options {
            None => Ok(()),
            Some(TcpOptions::Any) => f.write_str(" <...>"),
            Some(TcpOptions::List(l)) => {
                let parts: Vec<String> = l.iter().map(ToString::to_string).collect();
                write!(f, " <{}>", parts.join(","))
            }
        }
    }
}

impl Display for IpInfo {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            IpInfo::Ecn(e) => f.write_str(e.name()),
            IpInfo::Ect01 => f.write_str("ect01"),
            IpInfo::Tos(t) => write!(f, "tos {t:#x}"),
            IpInfo::FlowLabel(l) => write!(f, "flowlabel {l:#x}"),
            IpInfo::Ttl(t) => write!(f, "ttl {t}"),
        }
    }
}

impl Display for SeqSpec {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            SeqSpec::Range { start, end, len } => write!(f, "{start}:{end}({len})"),
            SeqSpec::Bare(s) => write!(f, "{s}"),
            SeqSpec::Any { len } => write!(f, "...({len})"),
        }
    }
}

impl Display for TcpOpt {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            TcpOpt::Nop => f.write_str("nop"),
            TcpOpt::Eol => f.write_str("eol"),
            TcpOpt::Mss(m) => write!(f, "mss {m}"),
            TcpOpt::WindowScale(w) => write!(f, "wscale {w}"),
            TcpOpt::SackPermitted => f.write_str("sackOK"),
            TcpOpt::Sack(blocks) => {
                f.write_str("sack")?;
                for (l, r) in blocks {
                    write!(f, " {l}:{r}")?;
                }
                Ok(())
            }
            TcpOpt::Timestamp { val, ecr } => write!(f, "TS val {val} ecr {ecr}"),
            TcpOpt::FastOpen(None) => f.write_str("FO"),
            TcpOpt::FastOpen(Some(c)) => write!(f, "FO {c}"),
            TcpOpt::FastOpenExp(None) => f.write_str("FOEXP"),
            TcpOpt::FastOpenExp(Some(c)) => write!(f, "FOEXP {c}"),
            TcpOpt::Md5(d) => write!(f, "md5 {d}"),
        }
    }
}

impl Display for ArpLine {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match &self.op {
            ArpOp::Request { target, sender } => {
                write!(f, "{} arp who-has {target} tell {sender}", self.direction)
            }
            ArpOp::Reply { ip, mac } => write!(f, "{} arp reply {ip} is-at {mac}", self.direction),
        }
    }
}

impl Display for Syscall {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if let Some(end) = self.end_time {
            write!(f, "...{} ", fmt_seconds(end))?;
        }
        write!(f, "{}(", self.name)?;
        write_list(f, &self.args)?;
        write!(f, ") = {}", self.result)?;
        if let Some(e) = &self.errno {
            write!(f, " {e}")?;
        }
        if let Some(n) = &self.note {
            write!(f, " ({n})")?;
        }
        Ok(())
    }
}

fn write_list(f: &mut Formatter<'_>, items: &[Expr]) -> fmt::Result {
    for (i, e) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{e}")?;
    }
    Ok(())
}

impl Display for Expr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Ellipsis => f.write_str("..."),
            Expr::Int(v) => write!(f, "{v}"),
            Expr::Hex(v) => write!(f, "{v:#x}"),
            Expr::Str(s) => {
                f.write_str("\"")?;
                for c in s.chars() {
                    match c {
                        '"' => f.write_str("\\\"")?,
                        '\\' => f.write_str("\\\\")?,
                        '\n' => f.write_str("\\n")?,
                        '\t' => f.write_str("\\t")?,
                        c => write!(f, "{c}")?,
                    }
                }
                f.write_str("\"")
            }
            Expr::Symbol(s) => f.write_str(s),
            Expr::List(items) => {
                f.write_str("[")?;
                write_list(f, items)?;
                f.write_str("]")
            }
            Expr::Struct(fields) => {
                f.write_str("{")?;
                for (i, fl) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    if let Some(n) = &fl.name {
                        write!(f, "{n}=")?;
                    }
                    write!(f, "{}", fl.value)?;
                }
                f.write_str("}")
            }
            Expr::Call { name, args } => {
                write!(f, "{name}(")?;
                write_list(f, args)?;
                f.write_str(")")
            }
            Expr::BitOr(parts) => {
                for (i, p) in parts.iter().enumerate() {
                    if i > 0 {
                        f.write_str("|")?;
                    }
                    write!(f, "{p}")?;
                }
                Ok(())
            }
        }
    }
}

impl Display for Directive {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Directive::Profile(p) => write!(f, "%profile {p}"),
            Directive::Set { key, value } => write!(f, "%set {key}={value}"),
            Directive::Stack(s) => write!(f, "%stack {s}"),
            Directive::Applies(ps) => write!(f, "%applies {}", ps.join(" ")),
            Directive::AssertState { conn, state } => match conn {
                None => write!(f, "%assert state {state}"),
                Some(ConnTag::Fd(fd)) => write!(f, "%assert state fd={fd} {state}"),
                Some(c @ ConnTag::Name(_)) => write!(f, "%assert state {c} {state}"),
            },
            Directive::ExpectFinding(e) => {
                write!(f, "%expect finding {}", e.kind)?;
                if let Some(n) = e.count {
                    write!(f, " count={n}")?;
                }
                if let Some(h) = &e.host {
                    write!(f, " host={h}")?;
                }
                if let Some(c) = &e.cause {
                    write!(f, " cause={c}")?;
                }
                if let Some(d) = &e.duration {
                    write!(f, " duration={d:?}")?;
                }
                Ok(())
            }
            Directive::ExpectNoFinding => f.write_str("%expect no-finding"),
        }
    }
}
