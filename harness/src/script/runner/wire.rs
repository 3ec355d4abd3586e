//! Frames: building the peer's packets from script lines, and comparing the stack's packets
//! with the script field by field.

use super::engine::{unsupported, Engine, Stop, PEER_IP, PEER_MAC, STACK_IP, STACK_MAC};
use super::setup::input;
use crate::script::{
    fmt_flags, ArpLine, ArpOp, Direction, Location, TcpOpt, TcpOptions, TcpPacket,
};
use stack::wire::{
    self, ArpOperation, ArpRepr, ChecksumMode, EtherType, EthernetAddress, EthernetRepr, Frame,
    Ipv4Repr, SeqNumber, TcpOption, TcpRepr,
};

/// Window the peer advertises when a `<` line has no `win`.
pub(super) const DEFAULT_PEER_WINDOW: u16 = 65535;

impl Engine {
    fn offset(&self, conn: usize) -> u32 {
        self.conns.get(conn).and_then(|c| c.seq_offset).unwrap_or(0)
    }

    /// The peer's segment for a `<` line (RFC 9293 §3.1 header; payload of zeros).
    pub(super) fn build_tcp(
        &mut self,
        conn: usize,
        p: &TcpPacket,
        loc: &Location,
    ) -> Result<Vec<u8>, Stop> {
        let off = self.offset(conn);
        let c = &self.conns[conn];
        let options = match &p.options {
            None => Vec::new(),
            Some(TcpOptions::Any) => {
                return Err(Stop::Input(input(
                    loc,
                    "`<...>` options are only allowed on outbound packets",
                )))
            }
            Some(TcpOptions::List(l)) => l
                .iter()
                .map(|o| {
                    Ok(match o {
                        TcpOpt::Nop => TcpOption::NoOp,
                        TcpOpt::Eol => TcpOption::EndOfList,
                        TcpOpt::Mss(m) => TcpOption::MaxSegmentSize(*m),
                        TcpOpt::WindowScale(w) => TcpOption::WindowScale(*w),
                        TcpOpt::SackPermitted => TcpOption::SackPermitted,
                        // SACK blocks acknowledge the stack's bytes: script-relative to its ISN.
                        TcpOpt::Sack(b) => TcpOption::SackRange(
                            b.iter()
                                .map(|(l, r)| (l.wrapping_add(off), r.wrapping_add(off)))
                                .collect(),
                        ),
                        TcpOpt::Timestamp { val, ecr } => TcpOption::Timestamps {
                            tsval: *val,
                            tsecr: match c.ts_offset {
                                Some(o) if *ecr != 0 => ecr.wrapping_add(o),
                                _ => *ecr,
                            },
                        },
                        TcpOpt::FastOpen(_) | TcpOpt::FastOpenExp(_) | TcpOpt::Md5(_) => {
                            return Err(unsupported(loc, lacking_option(o)))
                        }
                    })
                })
                .collect::<Result<_, Stop>>()?,
        };
        let tcp = TcpRepr {
            src_port: c.peer_port,
            dst_port: c.stack_port.unwrap_or(self.bind_port),
            seq: SeqNumber(p.seq.start()),
            ack: SeqNumber(p.ack.map_or(0, |a| a.wrapping_add(off))),
            flags: p.flags,
            window: p.win.unwrap_or(DEFAULT_PEER_WINDOW),
            urgent: p.urg.unwrap_or(0),
            options,
            payload: vec![0; usize::from(p.seq.payload_len())],
        };
        let ip = Ipv4Repr {
            ident: self.ip_ident,
            ..Ipv4Repr::tcp(PEER_IP, STACK_IP)
        };
        self.ip_ident = self.ip_ident.wrapping_add(1);
        let eth = EthernetRepr {
            src_addr: PEER_MAC,
            dst_addr: STACK_MAC,
            ethertype: EtherType::Ipv4,
        };
        Ok(wire::build_ethernet(&eth, &wire::build_ipv4_tcp(&ip, &tcp)))
    }

    /// The peer's ARP packet for a `<` ARP line (RFC 826).
    pub(super) fn build_arp(&mut self, a: &ArpLine) -> Vec<u8> {
        let (arp, dst) = match a.op {
            ArpOp::Request { target, sender } => (
                ArpRepr {
                    operation: ArpOperation::Request,
                    source_hardware_addr: PEER_MAC,
                    source_protocol_addr: sender,
                    target_hardware_addr: EthernetAddress::ZERO,
                    target_protocol_addr: target,
                },
                EthernetAddress::BROADCAST,
            ),
            ArpOp::Reply { ip, mac } => (
                ArpRepr {
                    operation: ArpOperation::Reply,
                    source_hardware_addr: mac,
                    source_protocol_addr: ip,
                    target_hardware_addr: STACK_MAC,
                    target_protocol_addr: STACK_IP,
                },
                STACK_MAC,
            ),
        };
        let eth = EthernetRepr {
            src_addr: PEER_MAC,
            dst_addr: dst,
            ethertype: EtherType::Arp,
        };
        wire::build_arp_frame(&eth, &arp)
    }

    /// Compares a frame the stack sent with a `>` line; `Err` lists every field that differs.
    pub(super) fn match_tcp(
        &mut self,
        conn: usize,
        p: &TcpPacket,
        bytes: &[u8],
    ) -> Result<(), String> {
        let (ip, tcp) = match wire::parse_frame(bytes, ChecksumMode::Verify) {
            Ok(Frame::Tcp { ip, tcp, .. }) => (ip, tcp),
            Ok(_) => return Err("not a TCP segment".into()),
            Err(e) => return Err(format!("frame does not parse: {e}")),
        };
        let mut diffs = Vec::new();
        if ip.src_addr != STACK_IP || ip.dst_addr != PEER_IP {
            diffs.push(format!(
                "addresses {} > {} (expected {STACK_IP} > {PEER_IP})",
                ip.src_addr, ip.dst_addr
            ));
        }
        {
            let c = &mut self.conns[conn];
            match c.stack_port {
                None => c.stack_port = Some(tcp.src_port),
                Some(sp) if sp != tcp.src_port => {
                    diffs.push(format!("source port {} (expected {sp})", tcp.src_port))
                }
                _ => {}
            }
            if tcp.dst_port != c.peer_port {
                diffs.push(format!(
                    "destination port {} (expected {})",
                    tcp.dst_port, c.peer_port
                ));
            }
            // RFC 9293 §3.4: the stack's ISN is learned from its SYN (packetdrill maps the
            // scripted ISN onto the live one the same way).
            if tcp.flags.syn() && p.flags.syn() {
                c.seq_offset = Some(tcp.seq.0.wrapping_sub(p.seq.start()));
            }
            if self.timer_slack && c.ts_offset.is_none() {
                c.ts_offset = script_tsval(p)
                    .zip(live_tsval(&tcp.options))
                    .map(|(s, l)| l.wrapping_sub(s));
            }
        }
        let off = self.offset(conn);
        if tcp.flags != p.flags {
            diffs.push(format!(
                "flags {} (expected {})",
                fmt_flags(tcp.flags),
                fmt_flags(p.flags)
            ));
        }
        let seq = tcp.seq.0.wrapping_sub(off);
        if seq != p.seq.start() && !p.seq.is_any() {
            diffs.push(format!("seq {seq} (expected {})", p.seq.start()));
        }
        let len = tcp.payload.len();
        if len != usize::from(p.seq.payload_len()) {
            diffs.push(format!(
                "payload length {len} (expected {})",
                p.seq.payload_len()
            ));
        }
        if let Some(a) = p.ack {
            if tcp.flags.ack() && tcp.ack.0 != a {
                diffs.push(format!("ack {} (expected {a})", tcp.ack.0));
            }
        }
        if let Some(w) = p.win {
            if tcp.window != w {
                diffs.push(format!("win {} (expected {w})", tcp.window));
            }
        }
        if let Some(u) = p.urg {
            if tcp.urgent != u {
                diffs.push(format!("urg {} (expected {u})", tcp.urgent));
            }
        }
        match &p.options {
            Some(TcpOptions::Any) => {}
            None => {
                if !tcp.options.is_empty() {
                    diffs.push(format!(
                        "options <{}> (expected none)",
                        options_str(&tcp.options)
                    ));
                }
            }
            Some(TcpOptions::List(want)) => {
                if !options_match(want, &tcp.options) {
                    let w: Vec<String> = want.iter().map(ToString::to_string).collect();
                    diffs.push(format!(
                        "options <{}> (expected <{}>)",
                        options_str(&tcp.options),
                        w.join(",")
                    ));
                }
            }
        }
        if diffs.is_empty() {
            Ok(())
        } else {
            Err(diffs.join(", "))
        }
    }

    /// Compares a frame the stack sent with a `>` ARP line.
    pub(super) fn match_arp(&self, a: &ArpLine, bytes: &[u8]) -> Result<(), String> {
        let arp = match wire::parse_frame(bytes, ChecksumMode::Verify) {
            Ok(Frame::Arp { arp, .. }) => arp,
            Ok(_) => return Err("not an ARP packet".into()),
            Err(e) => return Err(format!("frame does not parse: {e}")),
        };
        let ok = match a.op {
            ArpOp::Request { target, sender } => {
                arp.operation == ArpOperation::Request
                    && arp.target_protocol_addr == target
                    && arp.source_protocol_addr == sender
            }
            ArpOp::Reply { ip, mac } => {
                arp.operation == ArpOperation::Reply
                    && arp.source_protocol_addr == ip
                    && arp.source_hardware_addr == mac
            }
        };
        if ok {
            Ok(())
        } else {
            Err("different ARP packet".into())
        }
    }

    /// A frame in script syntax (`> S. 0:0(0) ack 1 win 65535 <mss 1460>`), sequence numbers
    /// relative to the connection's ISN when it is known.
    pub(super) fn render_actual(&self, bytes: &[u8], conn: Option<usize>) -> String {
        let off = conn.map_or(0, |c| self.offset(c));
        match wire::parse_frame(bytes, ChecksumMode::Ignore) {
            Ok(Frame::Tcp { ip, tcp, .. }) => {
                let seq = tcp.seq.0.wrapping_sub(off);
                let len = tcp.payload.len();
                let mut s = format!(
                    "> {} {seq}:{}({len})",
                    fmt_flags(tcp.flags),
                    seq.wrapping_add(u32::try_from(len).unwrap_or(u32::MAX))
                );
                if tcp.flags.ack() {
                    s.push_str(&format!(" ack {}", tcp.ack.0));
                }
                s.push_str(&format!(" win {}", tcp.window));
                if tcp.flags.urg() {
                    s.push_str(&format!(" urg {}", tcp.urgent));
                }
                if !tcp.options.is_empty() {
                    s.push_str(&format!(" <{}>", options_str(&tcp.options)));
                }
                if ip.src_addr != STACK_IP || ip.dst_addr != PEER_IP {
                    s.push_str(&format!(" ({} > {})", ip.src_addr, ip.dst_addr));
                }
                let ports_ok = conn.and_then(|c| self.conns.get(c)).is_some_and(|c| {
                    c.peer_port == tcp.dst_port && c.stack_port.is_none_or(|p| p == tcp.src_port)
                });
                if !ports_ok {
                    s.push_str(&format!(" [ports {} > {}]", tcp.src_port, tcp.dst_port));
                }
                s
            }
            Ok(Frame::Arp { arp, .. }) => {
                let line = ArpLine {
                    direction: Direction::Outbound,
                    op: match arp.operation {
                        ArpOperation::Request => ArpOp::Request {
                            target: arp.target_protocol_addr,
                            sender: arp.source_protocol_addr,
                        },
                        ArpOperation::Reply => ArpOp::Reply {
                            ip: arp.source_protocol_addr,
                            mac: arp.source_hardware_addr,
                        },
                    },
                };
                line.to_string()
            }
            _ => format!("> {}", crate::render::render_frame(bytes)),
        }
    }
}

/// Options in script spelling (`mss 1460,nop,wscale 7`).
fn options_str(opts: &[TcpOption]) -> String {
    opts.iter()
        .map(|o| match o {
            TcpOption::EndOfList => "eol".to_string(),
            TcpOption::NoOp => "nop".to_string(),
            TcpOption::MaxSegmentSize(m) => format!("mss {m}"),
            TcpOption::WindowScale(w) => format!("wscale {w}"),
            TcpOption::SackPermitted => "sackOK".to_string(),
            TcpOption::SackRange(b) => {
                let mut s = "sack".to_string();
                for (l, r) in b {
                    s.push_str(&format!(" {l}:{r}"));
                }
                s
            }
            TcpOption::Timestamps { tsval, tsecr } => format!("TS val {tsval} ecr {tsecr}"),
            TcpOption::Unknown { kind, .. } => format!("opt-{kind}"),
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// The feature a TCP option needs that the stacks under test lack, if any.
pub(super) fn lacking_option(o: &TcpOpt) -> &'static str {
    match o {
        TcpOpt::FastOpen(_) | TcpOpt::FastOpenExp(_) => "TCP Fast Open (RFC 7413)",
        TcpOpt::Md5(_) => "TCP MD5 signatures (RFC 2385)",
        _ => "",
    }
}

/// `want` without trailing EOLs that only pad the options to a 32-bit word: on the wire they
/// are the zero padding every sender writes, so the parsed frame does not list them
/// (`stack::wire::parse_options`). FreeBSD scripts write them out (`<mss 1460,sackOK,eol,eol>`).
fn without_padding_eols(want: &[TcpOpt]) -> &[TcpOpt] {
    let len = |o: &TcpOpt| -> usize {
        match o {
            TcpOpt::Nop | TcpOpt::Eol => 1,
            TcpOpt::Mss(_) => 4,
            TcpOpt::WindowScale(_) => 3,
            TcpOpt::SackPermitted => 2,
            TcpOpt::Sack(b) => 2 + 8 * b.len(),
            TcpOpt::Timestamp { .. } => 10,
            TcpOpt::FastOpen(c) | TcpOpt::FastOpenExp(c) => {
                4 + c.as_ref().map_or(0, |c| c.len() / 2)
            }
            TcpOpt::Md5(_) => 18,
        }
    };
    let first_eol = want
        .iter()
        .rposition(|o| *o != TcpOpt::Eol)
        .map_or(0, |i| i + 1);
    let at: usize = want[..first_eol].iter().map(len).sum();
    let total = at + (want.len() - first_eol);
    if first_eol < want.len() && at % 4 != 0 && total == at.next_multiple_of(4) {
        &want[..first_eol]
    } else {
        want
    }
}

/// Exact list comparison; outbound `TS val` is not compared (see the module docs).
fn options_match(want: &[TcpOpt], got: &[TcpOption]) -> bool {
    let want = without_padding_eols(want);
    want.len() == got.len()
        && want.iter().zip(got).all(|(w, g)| match (w, g) {
            (TcpOpt::Nop, TcpOption::NoOp) => true,
            (TcpOpt::Eol, TcpOption::EndOfList) => true,
            (TcpOpt::Mss(a), TcpOption::MaxSegmentSize(b)) => a == b,
            (TcpOpt::WindowScale(a), TcpOption::WindowScale(b)) => a == b,
            (TcpOpt::SackPermitted, TcpOption::SackPermitted) => true,
            (TcpOpt::Sack(a), TcpOption::SackRange(b)) => a == b,
            (TcpOpt::Timestamp { ecr, .. }, TcpOption::Timestamps { tsecr, .. }) => ecr == tsecr,
            _ => false,
        })
}

/// The `TS val` a script line gives, if any.
fn script_tsval(p: &TcpPacket) -> Option<u32> {
    match &p.options {
        Some(TcpOptions::List(l)) => l.iter().find_map(|o| match o {
            TcpOpt::Timestamp { val, .. } => Some(*val),
            _ => None,
        }),
        _ => None,
    }
}

/// The `TS val` a segment carries, if any.
fn live_tsval(options: &[TcpOption]) -> Option<u32> {
    options.iter().find_map(|o| match o {
        TcpOption::Timestamps { tsval, .. } => Some(*tsval),
        _ => None,
    })
}
