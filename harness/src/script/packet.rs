//! Packet lines: TCP segments (packetdrill syntax) and ARP frames (our extension).

use std::net::Ipv4Addr;

use stack::wire::{EthernetAddress, TcpFlags};

use super::ast::*;
use super::error::ErrorKind;
use super::lexer::{Tok, Token};
use super::parser::{PResult, Parser};

/// Words packetdrill accepts inside `[...]`/`(...)` after the direction (IP TOS/ECN info).
const IP_INFO_WORDS: [&str; 8] = [
    "noecn",
    "ect0",
    "ect1",
    "ect01",
    "ce",
    "tos",
    "ttl",
    "flowlabel",
];

/// The packetdrill flag letters, in the order we print them.
pub(super) const FLAG_LETTERS: [(char, TcpFlags); 7] = [
    ('S', TcpFlags::SYN),
    ('F', TcpFlags::FIN),
    ('R', TcpFlags::RST),
    ('P', TcpFlags::PSH),
    ('U', TcpFlags::URG),
    ('E', TcpFlags::ECE),
    ('W', TcpFlags::CWR),
];

impl Parser {
    /// After the time: `<`/`>`, an optional connection tag, then a TCP segment or `arp ...`.
    pub(super) fn packet_line(&mut self, time: EventTime) -> PResult<StatementKind> {
        let d = self.next()?;
        let direction = match d.tok {
            Tok::Punct('<') => Direction::Inbound,
            Tok::Punct('>') => Direction::Outbound,
            _ => return Err(self.expected(&d, "`<` or `>`")),
        };
        let mut ip = self.ip_info()?;
        let conn = if ip.is_none() && self.at_punct('[') {
            Some(self.conn_tag_bracketed()?)
        } else {
            None
        };
        if ip.is_none() {
            ip = self.ip_info()?;
        }
        let t = self.peek()?.clone();
        match &t.tok {
            Tok::Word(w) if w == "arp" => {
                if conn.is_some() {
                    return Err(self.err_at(
                        &d,
                        ErrorKind::BadConnTag("ARP lines belong to no connection".to_string()),
                    ));
                }
                self.pos_advance();
                let op = self.arp_op()?;
                return Ok(StatementKind::Arp(TimedArp {
                    time,
                    arp: ArpLine { direction, op },
                }));
            }
            Tok::Word(w) if w == "udp" || w == "icmp" => {
                return Err(self.err_at(&t, ErrorKind::Unsupported("UDP and ICMP packets")))
            }
            Tok::Word(w) if matches!(w.as_str(), "ipv4" | "ipv6" | "gre" | "mpls") => {
                return Err(self.err_at(&t, ErrorKind::Unsupported("encapsulation headers")))
            }
            _ => {}
        }
        let ports = if matches!(t.tok, Tok::Int(_)) && self.peek_at(1)?.tok == Tok::Punct('>') {
            let src = self.expect_uint("source port", u64::from(u16::MAX))? as u16;
            self.pos_advance();
            let dst = self.expect_uint("destination port", u64::from(u16::MAX))? as u16;
            Some((src, dst))
        } else {
            None
        };
        let flags = self.tcp_flags()?;
        let seq_tok = self.peek()?.clone();
        let seq = self.seq_spec()?;
        if matches!(seq, SeqSpec::Any { .. }) && direction == Direction::Inbound {
            return Err(self.err_at(&seq_tok, ErrorKind::AnySeqInbound));
        }
        let ack = if self.at_word("ack") {
            self.pos_advance();
            Some(self.expect_uint("ack number", u64::from(u32::MAX))? as u32)
        } else {
            None
        };
        let win = if self.at_word("win") {
            self.pos_advance();
            Some(self.expect_uint("window", u64::from(u16::MAX))? as u16)
        } else {
            None
        };
        let urg = if self.at_word("urg") {
            self.pos_advance();
            Some(self.expect_uint("urgent pointer", u64::from(u16::MAX))? as u16)
        } else {
            None
        };
        let options = if self.at_punct('<') {
            Some(self.tcp_options(direction)?)
        } else {
            None
        };
        if self.at_punct('{') {
            let t = self.peek()?.clone();
            return Err(self.err_at(
                &t,
                ErrorKind::Unsupported("packetdrill fuzz annotations `{...}`"),
            ));
        }
        Ok(StatementKind::Tcp(TimedTcp {
            time,
            packet: TcpPacket {
                direction,
                conn,
                flags,
                seq,
                ack,
                win,
                urg,
                options,
                ip,
                ports,
            },
        }))
    }

    /// packetdrill's `opt_ip_info`: `[ect0]`, `(ce)`, `[tos 0x2]`, `[flowlabel 0x1]`, `[ttl 64]`.
    /// `None` (nothing consumed) when the next bracket is not one of these.
    fn ip_info(&mut self) -> PResult<Option<IpInfo>> {
        let close = match self.peek()?.tok {
            Tok::Punct('[') => ']',
            Tok::Punct('(') => ')',
            _ => return Ok(None),
        };
        let w = match &self.peek_at(1)?.tok {
            Tok::Word(w) if IP_INFO_WORDS.contains(&w.as_str()) => w.clone(),
            _ if close == ')' => {
                let t = self.peek_at(1)?.clone();
                return Err(
                    self.expected(&t, "IP info (`ect0`, `ect1`, `ce`, `noecn`, `tos 0x..`)")
                );
            }
            _ => return Ok(None),
        };
        self.pos_advance();
        self.pos_advance();
        let hex = |p: &mut Parser, what: &'static str, max: u64| -> PResult<u64> {
            let t = p.next()?;
            match t.tok {
                Tok::Hex(v) if v <= max => Ok(v),
                Tok::Hex(v) => Err(p.err_at(
                    &t,
                    ErrorKind::OutOfRange {
                        what,
                        value: i64::try_from(v).unwrap_or(i64::MAX),
                        max,
                    },
                )),
                _ => Err(p.expected(&t, what)),
            }
        };
        let info = match w.as_str() {
            "noecn" => IpInfo::Ecn(Ecn::NoEcn),
            "ect0" => IpInfo::Ecn(Ecn::Ect0),
            "ect1" => IpInfo::Ecn(Ecn::Ect1),
            "ce" => IpInfo::Ecn(Ecn::Ce),
            "ect01" => IpInfo::Ect01,
            "tos" => IpInfo::Tos(hex(self, "a TOS byte in hex (`0x..`)", 0xff)? as u8),
            "flowlabel" => IpInfo::FlowLabel(hex(self, "a flow label in hex", 0xf_ffff)? as u32),
            _ => IpInfo::Ttl(self.expect_uint("TTL", 255)? as u8),
        };
        if close == ']' {
            self.expect_punct(']', "`]` after the IP info")?;
        } else {
            self.expect_punct(')', "`)` after the IP info")?;
        }
        Ok(Some(info))
    }

    pub(super) fn pos_advance(&mut self) {
        // `next` never fails once `peek` has succeeded.
        let _ = self.next();
    }

    /// `[c2]` or `[fd=4]`.
    fn conn_tag_bracketed(&mut self) -> PResult<ConnTag> {
        let open = self.expect_punct('[', "`[`")?;
        let tag = self.conn_tag_inner(&open)?;
        self.expect_punct(']', "`]` after the connection tag")?;
        Ok(tag)
    }

    /// `fd=4` or a name; `open` is where errors about an empty tag point.
    pub(super) fn conn_tag_inner(&mut self, open: &Token) -> PResult<ConnTag> {
        let t = self.next()?;
        match &t.tok {
            Tok::Word(w) if w == "fd" && self.at_punct('=') => {
                self.pos_advance();
                let fd = self.expect_uint("file descriptor", u64::from(u32::MAX))?;
                Ok(ConnTag::Fd(fd as u32))
            }
            Tok::Word(w) => Ok(ConnTag::Name(w.clone())),
            other => Err(self.err_at(
                open,
                ErrorKind::BadConnTag(format!(
                    "expected a name or `fd=N`, found {}",
                    other.describe()
                )),
            )),
        }
    }

    /// `S`, `S.`, `.`, `P.`, `FP.`, `R`, `SEW`, `-` (none).
    fn tcp_flags(&mut self) -> PResult<TcpFlags> {
        let t = self.next()?;
        let mut flags = TcpFlags::NONE;
        match &t.tok {
            Tok::Punct('.') => return Ok(TcpFlags::ACK),
            Tok::Punct('-') => return Ok(TcpFlags::NONE),
            Tok::Word(w) => {
                for (i, c) in w.chars().enumerate() {
                    let at = Token {
                        tok: t.tok.clone(),
                        line: t.line,
                        col: t.col.saturating_add(u32::try_from(i).unwrap_or(u32::MAX)),
                    };
                    let Some((_, f)) = FLAG_LETTERS.iter().find(|(l, _)| *l == c) else {
                        return Err(self.err_at(&at, ErrorKind::BadTcpFlag(c)));
                    };
                    if flags.contains(*f) {
                        return Err(self.err_at(&at, ErrorKind::DuplicateTcpFlag(c)));
                    }
                    flags |= *f;
                }
            }
            _ => return Err(self.expected(&t, "TCP flags (`S`, `.`, `P.`, `F.`, `R` ...)")),
        }
        if self.at_punct('.') {
            self.pos_advance();
            flags |= TcpFlags::ACK;
        }
        Ok(flags)
    }

    /// `start:end(len)`, a bare `start`, or `...(len)` (any sequence number: the FreeBSD
    /// tcp-testsuite's form for a SYN-ACK whose ISN the script cannot know, as in TIME-WAIT
    /// recycling).
    fn seq_spec(&mut self) -> PResult<SeqSpec> {
        let first = self.peek()?.clone();
        if first.tok == Tok::Ellipsis {
            self.pos_advance();
            self.expect_punct('(', "`(` and the payload length after `...`")?;
            let len = self.expect_uint("payload length", u64::from(u16::MAX))?;
            self.expect_punct(')', "`)` after the payload length")?;
            return Ok(SeqSpec::Any { len: len as u16 });
        }
        if !matches!(first.tok, Tok::Int(_)) {
            return Err(self.expected(&first, "a sequence number (`0:0(0)` or `1`)"));
        }
        let max32 = u64::from(u32::MAX);
        let start = self.expect_uint("sequence number", max32)?;
        if !self.at_punct(':') {
            return Ok(SeqSpec::Bare(start as u32));
        }
        self.pos_advance();
        let end = self.expect_uint("end sequence number", max32)?;
        self.expect_punct('(', "`(` and the payload length")?;
        let len = self.expect_uint("payload length", u64::from(u16::MAX))?;
        self.expect_punct(')', "`)` after the payload length")?;
        if start + len != end {
            return Err(self.err_at(&first, ErrorKind::SeqMismatch { start, end, len }));
        }
        Ok(SeqSpec::Range {
            start: start as u32,
            end: end as u32,
            len: len as u16,
        })
    }

    /// `<mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7>` or `<...>`.
    fn tcp_options(&mut self, direction: Direction) -> PResult<TcpOptions> {
        let open = self.expect_punct('<', "`<`")?;
        if self.peek()?.tok == Tok::Ellipsis {
            self.pos_advance();
            self.expect_punct('>', "`>` after `<...`")?;
            if direction == Direction::Inbound {
                return Err(self.err_at(&open, ErrorKind::AnyOptionsInbound));
            }
            return Ok(TcpOptions::Any);
        }
        let mut list = Vec::new();
        loop {
            list.push(self.tcp_option()?);
            let t = self.next()?;
            match t.tok {
                Tok::Punct(',') => continue,
                Tok::Punct('>') => break,
                _ => return Err(self.expected(&t, "`,` or `>` in the option list")),
            }
        }
        Ok(TcpOptions::List(list))
    }

    fn tcp_option(&mut self) -> PResult<TcpOpt> {
        let t = self.next()?;
        let Tok::Word(w) = &t.tok else {
            return Err(self.expected(&t, "a TCP option (`mss`, `nop`, `sackOK` ...)"));
        };
        Ok(match w.as_str() {
            "nop" => TcpOpt::Nop,
            "eol" => TcpOpt::Eol,
            "sackOK" => TcpOpt::SackPermitted,
            "mss" => TcpOpt::Mss(self.expect_uint("mss", u64::from(u16::MAX))? as u16),
            "wscale" => {
                TcpOpt::WindowScale(self.expect_uint("window scale", u64::from(u8::MAX))? as u8)
            }
            "sack" => {
                let mut blocks = Vec::new();
                loop {
                    let b = self.peek()?.clone();
                    if !matches!(b.tok, Tok::Int(_)) {
                        if blocks.is_empty() {
                            return Err(self.expected(&b, "a SACK block `left:right`"));
                        }
                        break;
                    }
                    if blocks.len() == 4 {
                        return Err(self.err_at(&b, ErrorKind::TooManySackBlocks));
                    }
                    let max32 = u64::from(u32::MAX);
                    let left = self.expect_uint("SACK left edge", max32)? as u32;
                    self.expect_punct(':', "`:` in the SACK block")?;
                    let right = self.expect_uint("SACK right edge", max32)? as u32;
                    blocks.push((left, right));
                }
                TcpOpt::Sack(blocks)
            }
            "TS" => {
                let max32 = u64::from(u32::MAX);
                if !self.at_word("val") {
                    let n = self.peek()?.clone();
                    return Err(self.expected(&n, "`val` after `TS`"));
                }
                self.pos_advance();
                let val = self.expect_uint("TS val", max32)? as u32;
                if !self.at_word("ecr") {
                    let n = self.peek()?.clone();
                    return Err(self.expected(&n, "`ecr` in the TS option"));
                }
                self.pos_advance();
                let ecr = self.expect_uint("TS ecr", max32)? as u32;
                TcpOpt::Timestamp { val, ecr }
            }
            "FO" => TcpOpt::FastOpen(self.hex_blob()),
            "FOEXP" => TcpOpt::FastOpenExp(self.hex_blob()),
            "md5" => match self.hex_blob() {
                Some(b) => TcpOpt::Md5(b),
                None => {
                    let n = self.peek()?.clone();
                    return Err(self.expected(&n, "the MD5 digest in hex after `md5`"));
                }
            },
            "mptcp" | "exp" => {
                return Err(self.err_at(&t, ErrorKind::UnsupportedTcpOption(w.clone())))
            }
            _ => return Err(self.err_at(&t, ErrorKind::UnknownTcpOption(w.clone()))),
        })
    }

    /// packetdrill's `hex_blob` (a word or digits), if one comes next: Fast Open cookies and MD5
    /// digests, kept as written.
    fn hex_blob(&mut self) -> Option<String> {
        let text = match &self.peek().ok()?.tok {
            Tok::Word(w) => w.clone(),
            Tok::Blob(b) => b.clone(),
            // All-digit blobs lex as integers (leading zeros are not kept).
            Tok::Int(v) if *v >= 0 => v.to_string(),
            _ => return None,
        };
        self.pos_advance();
        Some(text)
    }

    /// After `arp`: `who-has IP tell IP` or `reply IP is-at MAC`.
    fn arp_op(&mut self) -> PResult<ArpOp> {
        let (t, w) = self.expect_word("`who-has` or `reply` after `arp`")?;
        match w.as_str() {
            "who-has" => {
                let target = self.ipv4()?;
                if !self.at_word("tell") {
                    let n = self.peek()?.clone();
                    return Err(self.expected(&n, "`tell` and the sender address"));
                }
                self.pos_advance();
                let sender = self.ipv4()?;
                Ok(ArpOp::Request { target, sender })
            }
            "reply" => {
                let ip = self.ipv4()?;
                if !self.at_word("is-at") {
                    let n = self.peek()?.clone();
                    return Err(self.expected(&n, "`is-at` and a MAC address"));
                }
                self.pos_advance();
                let mac = self.mac()?;
                Ok(ArpOp::Reply { ip, mac })
            }
            _ => Err(self.err_at(&t, ErrorKind::UnknownArpOp(w))),
        }
    }

    fn ipv4(&mut self) -> PResult<Ipv4Addr> {
        let t = self.next()?;
        match &t.tok {
            Tok::Ipv4Like(s) => s
                .parse::<Ipv4Addr>()
                .map_err(|_| self.err_at(&t, ErrorKind::BadIpv4(s.clone()))),
            Tok::Int(v) => Err(self.err_at(&t, ErrorKind::BadIpv4(v.to_string()))),
            Tok::Float(s) | Tok::Word(s) | Tok::MacLike(s) => {
                Err(self.err_at(&t, ErrorKind::BadIpv4(s.clone())))
            }
            _ => Err(self.expected(&t, "an IPv4 address")),
        }
    }

    fn mac(&mut self) -> PResult<EthernetAddress> {
        let t = self.next()?;
        let text = match &t.tok {
            Tok::MacLike(s) | Tok::Float(s) | Tok::Word(s) | Tok::Ipv4Like(s) => s.clone(),
            Tok::Int(v) => v.to_string(),
            _ => return Err(self.expected(&t, "a MAC address")),
        };
        parse_mac(&text).ok_or_else(|| self.err_at(&t, ErrorKind::BadMac(text)))
    }
}

/// `02:00:00:00:00:01` (one or two hex digits per octet, as tcpdump prints them).
fn parse_mac(s: &str) -> Option<EthernetAddress> {
    let mut out = [0u8; 6];
    let mut n = 0;
    for part in s.split(':') {
        if n == 6 || part.is_empty() || part.len() > 2 {
            return None;
        }
        out[n] = u8::from_str_radix(part, 16).ok()?;
        n += 1;
    }
    (n == 6).then_some(EthernetAddress(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("02:00:00:00:00:01", Some([2, 0, 0, 0, 0, 1]))]
    #[case("2:0:0:a:bb:ff", Some([2, 0, 0, 0xa, 0xbb, 0xff]))]
    #[case("02:00:00:00:00", None)]
    #[case("02:00:00:00:00:01:02", None)]
    #[case("02:00::00:00:01", None)]
    #[case("002:00:00:00:00:01", None)]
    fn macs(#[case] s: &str, #[case] want: Option<[u8; 6]>) {
        assert_eq!(parse_mac(s), want.map(EthernetAddress));
    }
}
