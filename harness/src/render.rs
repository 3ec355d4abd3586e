//! One line of text per frame, in the style of tcpdump and packetdrill, for snapshots, logs and
//! the ladder diagram.
//!
//! ```text
//! 192.0.2.1:8080 > 192.0.2.2:40000 S. seq 0:0(0) ack 1 win 65535 <mss 1460,nop,wscale 7>
//! arp who-has 192.0.2.1 tell 192.0.2.2
//! arp reply 192.0.2.1 is-at 02:00:00:00:00:01
//! ```
//!
//! TCP segments always show `seq first:last(len)` (RFC 9293 §3.4: `last` is `first` plus the
//! payload length; SYN and FIN are flags, not bytes, as in packetdrill), `ack` only when the ACK
//! bit is set, the raw (unscaled) window, then the options in header order.
//!
//! [`render_frame`] prints sequence numbers as they are on the wire. A [`Renderer`] can instead
//! print them relative to the first sequence number seen in each direction of each connection
//! (tcpdump without `-S`), so that snapshots do not depend on initial sequence numbers.
//!
//! Frames whose checksums do not verify are still rendered, with ` [bad <layer> checksum]`
//! appended; frames that do not parse at all render as `malformed: <wire error> len N`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddrV4};

use stack::wire::{
    self, ArpOperation, ArpRepr, ChecksumMode, Frame, IpProtocol, Ipv4Repr, TcpFlags, TcpOption,
    TcpRepr,
};
use stack::Instant;

/// Which way a frame travelled relative to the stack under test, when known. Markers follow
/// packetdrill: `<` is injected into the stack, `>` is sent by it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// `<`: delivered to the stack under test.
    Inbound,
    /// `>`: sent by the stack under test.
    Outbound,
}

impl Direction {
    /// The packetdrill marker: `<` or `>`.
    pub fn marker(self) -> char {
        match self {
            Direction::Inbound => '<',
            Direction::Outbound => '>',
        }
    }
}

/// What a frame is, as far as drawing it needs: who sent it to whom.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameEnds {
    /// A TCP segment between two sockets.
    Tcp {
        src: SocketAddrV4,
        dst: SocketAddrV4,
    },
    /// An ARP packet from `sender` about `target` (RFC 826 protocol addresses).
    Arp { sender: Ipv4Addr, target: Ipv4Addr },
    /// Any other IPv4 packet.
    Ipv4 { src: Ipv4Addr, dst: Ipv4Addr },
    /// The frame did not parse.
    Malformed,
}

/// One frame rendered two ways.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameView {
    /// Sender and receiver.
    pub ends: FrameEnds,
    /// The full tcpdump-like line.
    pub line: String,
    /// A short label for diagrams: `S 0:0(0)`, `. ack 1`, `R 1:1(0)`, `arp who-has 192.0.2.1`.
    pub label: String,
}

/// Renders frames one by one, remembering the first sequence number of each direction of each
/// connection when relative numbering is on.
#[derive(Clone, Debug)]
pub struct Renderer {
    relative: bool,
    /// Base sequence number per directed (source, destination) pair.
    bases: BTreeMap<(SocketAddrV4, SocketAddrV4), u32>,
}

impl Default for Renderer {
    fn default() -> Self {
        Self::relative()
    }
}

impl Renderer {
    /// Sequence and acknowledgment numbers relative to the first sequence number seen in each
    /// direction (the ISN when the capture starts with the handshake): a SYN shows `seq 0:0(0)`,
    /// and the first data byte is 1.
    ///
    /// A SYN whose sequence number differs from its direction's base starts a new connection on
    /// the same 4-tuple: the bases are reset (a retransmitted SYN keeps them). An ACK for a
    /// direction not seen yet takes `ack - 1` as that direction's base, so a capture that starts
    /// mid-connection still prints small numbers.
    pub fn relative() -> Self {
        Renderer {
            relative: true,
            bases: BTreeMap::new(),
        }
    }

    /// Numbers exactly as on the wire (tcpdump `-S`).
    pub fn absolute() -> Self {
        Renderer {
            relative: false,
            bases: BTreeMap::new(),
        }
    }

    /// The full line for one frame.
    pub fn render(&mut self, bytes: &[u8]) -> String {
        self.view(bytes).line
    }

    /// The full line, the short label and the endpoints of one frame.
    pub fn view(&mut self, bytes: &[u8]) -> FrameView {
        let (frame, bad_checksum) = match wire::parse_frame(bytes, ChecksumMode::Verify) {
            Ok(f) => (f, None),
            Err(wire::Error::BadChecksum { layer }) => {
                match wire::parse_frame(bytes, ChecksumMode::Ignore) {
                    Ok(f) => (f, Some(layer)),
                    Err(e) => return malformed(e, bytes.len()),
                }
            }
            Err(e) => return malformed(e, bytes.len()),
        };
        let mut view = match &frame {
            Frame::Arp { arp, .. } => arp_view(arp),
            Frame::Tcp { ip, tcp, .. } => self.tcp_view(ip, tcp),
            Frame::OtherIpv4 { ip, payload, .. } => ipv4_view(ip, payload.len()),
        };
        if let Some(layer) = bad_checksum {
            let _ = write!(view.line, " [bad {layer} checksum]");
            view.label.push_str(" [bad cksum]");
        }
        view
    }

    /// The short label of a segment known only by its flags and sequence number (a packet
    /// dropped before the wire): `R 41`, numbered like the frames rendered so far (flags alone
    /// when no frame of its direction was rendered).
    pub fn seq_label(
        &self,
        src: SocketAddrV4,
        dst: SocketAddrV4,
        flags: TcpFlags,
        seq: u32,
    ) -> String {
        let base = if self.relative {
            match self.bases.get(&(src, dst)) {
                Some(b) => *b,
                // No frame of this direction seen: a relative number would be made up.
                None => return flags_str(flags),
            }
        } else {
            0
        };
        format!("{} {}", flags_str(flags), seq.wrapping_sub(base))
    }

    /// Relative (or absolute) `(seq, ack)` for a segment, updating the bases.
    fn numbers(&mut self, src: SocketAddrV4, dst: SocketAddrV4, tcp: &TcpRepr) -> (u32, u32, u32) {
        let seq = tcp.seq.0;
        let ack = tcp.ack.0;
        if !self.relative {
            return (seq, ack, 0);
        }
        let fwd = (src, dst);
        let rev = (dst, src);
        if tcp.flags.syn() {
            if let Some(&base) = self.bases.get(&fwd) {
                if base != seq {
                    // A new connection on a reused 4-tuple.
                    self.bases.insert(fwd, seq);
                    if !tcp.flags.ack() {
                        self.bases.remove(&rev);
                    }
                }
            }
        }
        let base = *self.bases.entry(fwd).or_insert(seq);
        let rev_base = if tcp.flags.ack() {
            *self.bases.entry(rev).or_insert(ack.wrapping_sub(1))
        } else {
            self.bases.get(&rev).copied().unwrap_or(0)
        };
        (seq.wrapping_sub(base), ack.wrapping_sub(rev_base), rev_base)
    }

    fn tcp_view(&mut self, ip: &Ipv4Repr, tcp: &TcpRepr) -> FrameView {
        let src = SocketAddrV4::new(ip.src_addr, tcp.src_port);
        let dst = SocketAddrV4::new(ip.dst_addr, tcp.dst_port);
        let (seq, ack, rev_base) = self.numbers(src, dst, tcp);
        let flags = flags_str(tcp.flags);
        let len = tcp.payload.len();
        // Payloads never exceed 64 KiB, so the cast cannot truncate.
        let end = seq.wrapping_add(len as u32);
        let range = format!("{seq}:{end}({len})");

        let mut line = format!("{src} > {dst} {flags} seq {range}");
        if tcp.flags.ack() {
            let _ = write!(line, " ack {ack}");
        }
        let _ = write!(line, " win {}", tcp.window);
        if tcp.flags.urg() {
            let _ = write!(line, " urg {}", tcp.urgent);
        }
        if !tcp.options.is_empty() {
            let opts: Vec<String> = tcp
                .options
                .iter()
                .map(|o| option_str(o, rev_base))
                .collect();
            let _ = write!(line, " <{}>", opts.join(","));
        }

        // Pure ACKs are labelled by what they acknowledge; everything else shows its range.
        let occupies = len > 0 || tcp.flags.syn() || tcp.flags.fin() || tcp.flags.rst();
        let mut label = flags.clone();
        if occupies {
            let _ = write!(label, " {range}");
        }
        if tcp.flags.ack() {
            let _ = write!(label, " ack {ack}");
        }
        FrameView {
            ends: FrameEnds::Tcp { src, dst },
            line,
            label,
        }
    }
}

/// Renders one frame with sequence numbers as on the wire.
pub fn render_frame(bytes: &[u8]) -> String {
    Renderer::absolute().render(bytes)
}

/// Renders a sequence of frames, one line each: virtual time in seconds, the direction marker
/// (`<`, `>`, or a space when unknown), then the frame with relative sequence numbers.
///
/// ```text
///   0.100000 > 192.0.2.1:8080 > 192.0.2.2:40000 S. seq 0:0(0) ack 1 win 65535
/// ```
pub fn render_timeline(frames: &[(Instant, Option<Direction>, Vec<u8>)]) -> String {
    let mut r = Renderer::relative();
    let mut out = String::new();
    for (time, dir, bytes) in frames {
        let marker = dir.map_or(' ', Direction::marker);
        let _ = writeln!(out, "{:>10} {marker} {}", fmt_time(*time), r.render(bytes));
    }
    out
}

/// Seconds with microseconds, without unit: `12.000345`.
pub fn fmt_time(t: Instant) -> String {
    let us = t.total_micros();
    format!("{}.{:06}", us / 1_000_000, us % 1_000_000)
}

fn malformed(err: wire::Error, len: usize) -> FrameView {
    FrameView {
        ends: FrameEnds::Malformed,
        line: format!("malformed: {err} len {len}"),
        label: format!("malformed: {err}"),
    }
}

/// RFC 826 operations in tcpdump's words.
fn arp_view(arp: &ArpRepr) -> FrameView {
    let (line, label) = match arp.operation {
        ArpOperation::Request => (
            format!(
                "arp who-has {} tell {}",
                arp.target_protocol_addr, arp.source_protocol_addr
            ),
            format!("arp who-has {}", arp.target_protocol_addr),
        ),
        ArpOperation::Reply => (
            format!(
                "arp reply {} is-at {}",
                arp.source_protocol_addr, arp.source_hardware_addr
            ),
            format!("arp is-at {}", arp.source_hardware_addr),
        ),
    };
    FrameView {
        ends: FrameEnds::Arp {
            sender: arp.source_protocol_addr,
            target: arp.target_protocol_addr,
        },
        line,
        label,
    }
}

fn ipv4_view(ip: &Ipv4Repr, payload_len: usize) -> FrameView {
    let proto = match ip.protocol {
        IpProtocol::Icmp => "icmp".to_string(),
        IpProtocol::Udp => "udp".to_string(),
        IpProtocol::Tcp => "tcp".to_string(),
        IpProtocol::Unknown(p) => format!("ip-proto-{p}"),
    };
    let label = format!("{proto} len {payload_len}");
    FrameView {
        ends: FrameEnds::Ipv4 {
            src: ip.src_addr,
            dst: ip.dst_addr,
        },
        line: format!("{} > {} {label}", ip.src_addr, ip.dst_addr),
        label,
    }
}

/// TCP flags in packetdrill/tcpdump letters, in header bit order with `.` for ACK
/// (`S`, `S.`, `P.`, `FP.`, `R.`); `none` when no flag is set.
pub fn flags_str(flags: TcpFlags) -> String {
    const LETTERS: [(TcpFlags, char); 9] = [
        (TcpFlags::FIN, 'F'),
        (TcpFlags::SYN, 'S'),
        (TcpFlags::RST, 'R'),
        (TcpFlags::PSH, 'P'),
        (TcpFlags::ACK, '.'),
        (TcpFlags::URG, 'U'),
        (TcpFlags::ECE, 'E'),
        (TcpFlags::CWR, 'W'),
        (TcpFlags::NS, 'N'),
    ];
    let s: String = LETTERS
        .iter()
        .filter(|(f, _)| flags.contains(*f))
        .map(|(_, c)| *c)
        .collect();
    if s.is_empty() {
        "none".to_string()
    } else {
        s
    }
}

/// One option in packetdrill spelling. SACK blocks acknowledge the other direction's bytes, so
/// they are shown relative to `sack_base` (0 when numbering is absolute).
pub(crate) fn option_str(o: &TcpOption, sack_base: u32) -> String {
    match o {
        TcpOption::EndOfList => "eol".to_string(),
        TcpOption::NoOp => "nop".to_string(),
        TcpOption::MaxSegmentSize(m) => format!("mss {m}"),
        TcpOption::WindowScale(s) => format!("wscale {s}"),
        TcpOption::SackPermitted => "sackOK".to_string(),
        TcpOption::SackRange(blocks) => {
            let mut s = "sack".to_string();
            for (l, r) in blocks {
                let _ = write!(
                    s,
                    " {}:{}",
                    l.wrapping_sub(sack_base),
                    r.wrapping_sub(sack_base)
                );
            }
            s
        }
        TcpOption::Timestamps { tsval, tsecr } => format!("TS val {tsval} ecr {tsecr}"),
        TcpOption::Unknown { kind, data } => {
            let mut s = format!("opt-{kind}");
            if !data.is_empty() {
                s.push(' ');
                for b in data {
                    let _ = write!(s, "{b:02x}");
                }
            }
            s
        }
    }
}

#[cfg(test)]
pub(crate) mod testframes;

#[cfg(test)]
mod tests;
