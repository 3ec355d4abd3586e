//! Which part of a run a ladder shows, so that the ladder of a real scenario stays readable:
//! one host (`--host`), one connection (`--conn`), the exchange around one finding
//! (`--around`), and — by default — many connections that did the same thing drawn once, with a
//! line that says how many and what they share ("× 19 the same: RST lost at the ARP queue").
//!
//! Findings are marked beside the column of the host they happened on, and a packet its
//! sender's ARP queue dropped is an arrow stub ending in an `X` beside the sender, because that
//! is where it was lost.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddrV4};

use stack::arp::{ArpDropReason, ArpEvent};
use stack::wire::{self, ChecksumMode, TcpFlags};
use stack::{EventKind, Instant};

use super::{ColumnKey, Ladder};
use crate::oracle::Finding;
use crate::render::Renderer;
use crate::trace::{Fate, SegmentId, Trace, TraceKind};

/// A connection, its two ends in sorted order (the same for both directions).
type ConnKey = (SocketAddrV4, SocketAddrV4);

fn key(a: SocketAddrV4, b: SocketAddrV4) -> ConnKey {
    if a <= b {
        (a, b)
    } else {
        (b, a)
    }
}

/// What to show. The default shows everything on the first segment, similar connections
/// summarised.
/// (Also the `harness ladder` options: `--host`, `--conn`, `--around`, `--context`, `--all`.)
#[derive(Clone, Debug, Default, PartialEq, Eq, clap::Args)]
pub struct Selection {
    /// Only frames to or from this host (scenario node name, or an address).
    #[arg(long)]
    pub host: Option<String>,
    /// Only this connection: its index (see --conns) or a.b.c.d:p-e.f.g.h:q.
    #[arg(long)]
    pub conn: Option<String>,
    /// Only the exchange around this finding: its number, a kind (first one) or KIND#N.
    #[arg(long, value_name = "FINDING")]
    pub around: Option<String>,
    /// Rows shown either side of the finding with --around.
    #[arg(long, default_value = "8")]
    pub context: Option<usize>,
    /// Draw every connection (no "× N the same" summary).
    #[arg(long)]
    pub all: bool,
}

/// A selection that matches nothing (bad input: exit 2).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LadderError {
    #[error("--host {given}: no such host or address (hosts: {known})")]
    UnknownHost { given: String, known: String },
    #[error("--conn {given}: no such connection ({known})")]
    UnknownConn { given: String, known: String },
    #[error("--around {given}: no such finding ({known})")]
    UnknownFinding { given: String, known: String },
}

/// One thing that can be drawn.
#[derive(Clone, Debug)]
struct Item {
    time: Instant,
    what: What,
    conn: Option<ConnKey>,
    /// Every address the item involves (for `--host` and ARP next to a connection).
    addrs: Vec<Ipv4Addr>,
}

#[derive(Clone, Debug)]
enum What {
    Frame {
        bytes: Vec<u8>,
        label: String,
        /// From the side that sent the connection's first packet.
        forward: bool,
        lost: Option<String>,
        flags: Option<TcpFlags>,
    },
    /// Dropped by its sender before the wire.
    Lost {
        src: SocketAddrV4,
        dst: SocketAddrV4,
        label: String,
        why: String,
        forward: bool,
        flags: TcpFlags,
    },
    /// Dropped inside a node that did not send it (a router's ARP queue).
    Remark { at: Ipv4Addr, text: String },
    Finding {
        index: usize,
        at: Option<Ipv4Addr>,
        /// `rst-loss (arp-queue-overflow)`.
        text: String,
    },
}

/// The connections of a run in order of first appearance, with how many frames each has.
pub fn connections(trace: &Trace) -> Vec<(String, usize)> {
    let items = items(trace, &[]);
    conn_order(&items)
        .into_iter()
        .map(|k| {
            let n = items
                .iter()
                .filter(|i| i.conn == Some(k) && matches!(i.what, What::Frame { .. }))
                .count();
            (format!("{}-{}", k.0, k.1), n)
        })
        .collect()
}

/// The ladder of the first segment of a run: its frames (lost ones marked), the packets stacks
/// dropped before the wire, and `findings`, as chosen by `sel`.
pub fn ladder_of_trace(
    trace: &Trace,
    findings: &[Finding],
    sel: &Selection,
) -> Result<Ladder, LadderError> {
    let items = items(trace, findings);
    let conns = conn_order(&items);

    let mut keep: Vec<bool> = vec![true; items.len()];
    if let Some(h) = &sel.host {
        let addrs = host_addrs(trace, h)?;
        for (k, it) in keep.iter_mut().zip(&items) {
            let node_match = match &it.what {
                What::Finding { index, .. } => findings
                    .get(*index)
                    .is_some_and(|f| f.host == *h || it.addrs.iter().any(|a| addrs.contains(a))),
                _ => it.addrs.iter().any(|a| addrs.contains(a)),
            };
            *k &= node_match;
        }
    }
    let mut window: Option<(usize, Instant)> = None;
    let only = if let Some(sel_f) = &sel.around {
        let i = pick_finding(findings, sel_f)?;
        let f = &findings[i];
        window = Some((i, Instant::from_micros(f.time_us)));
        parse_tuple(&f.connection)
    } else if let Some(c) = &sel.conn {
        Some(pick_conn(&conns, c)?)
    } else {
        None
    };
    if let Some(k) = only {
        let ends = [*k.0.ip(), *k.1.ip()];
        for (keep, it) in keep.iter_mut().zip(&items) {
            *keep &= match it.conn {
                Some(c) => c == k,
                // ARP of either end, and remarks beside them.
                None => it.addrs.iter().any(|a| ends.contains(a)),
            };
        }
    }
    let mut summary: Vec<(Instant, String)> = Vec::new();
    if only.is_none() && !sel.all {
        summarise(&items, &conns, &mut keep, &mut summary);
    }
    if let Some((_, t)) = window {
        let shown: Vec<usize> = (0..items.len()).filter(|&i| keep[i]).collect();
        let at = shown
            .iter()
            .position(|&i| items[i].time >= t)
            .unwrap_or(shown.len());
        let n = sel.context.unwrap_or(8);
        let lo = at.saturating_sub(n);
        let hi = (at + n + 1).min(shown.len());
        for (j, &i) in shown.iter().enumerate() {
            if j < lo || j >= hi {
                keep[i] = false;
            }
        }
    }

    let mut l = Ladder::new(ColumnKey::Host);
    // Columns in order of first appearance, named after their nodes.
    let mut declared: Vec<Ipv4Addr> = Vec::new();
    for (it, _) in items.iter().zip(&keep).filter(|(_, k)| **k) {
        for a in &it.addrs {
            if !declared.contains(a) {
                declared.push(*a);
                let name = trace
                    .node_of_addr(*a)
                    .map(|n| trace.node_name(n).to_string());
                l.endpoint(*a, None, name.as_deref());
            }
        }
    }
    for (it, _) in items.iter().zip(&keep).filter(|(_, k)| **k) {
        match &it.what {
            What::Frame {
                bytes, label, lost, ..
            } => l.frames.push(super::LadderFrame {
                time: it.time,
                bytes: bytes.clone(),
                dropped: lost.is_some(),
                why: lost.clone(),
                label: Some(label.clone()),
            }),
            What::Lost {
                src,
                dst,
                label,
                why,
                ..
            } => {
                l.lost(it.time, *src, *dst, label, why);
            }
            What::Remark { at, text } => {
                l.note_at(it.time, *at, text);
            }
            What::Finding { index, at, .. } => {
                let f = &findings[*index];
                let text = finding_note(*index, f, window.map(|w| w.0) == Some(*index));
                match at {
                    Some(a) => l.note_at(it.time, *a, &text),
                    None => l.note(it.time, &text),
                };
            }
        }
    }
    for (t, text) in summary {
        l.note(t, &text);
    }
    Ok(l)
}

/// `[3] rst-loss (arp-queue-overflow)`: the index is what `--around` takes.
fn finding_note(index: usize, f: &Finding, chosen: bool) -> String {
    let mut s = format!("[{}] {}", index + 1, f.kind);
    if let Some(c) = &f.cause {
        s.push_str(&format!(" ({c})"));
    }
    if chosen {
        s.push_str(" <==");
    }
    s
}

/// Everything drawable in a trace, in time order.
fn items(trace: &Trace, findings: &[Finding]) -> Vec<Item> {
    let seg = SegmentId(0);
    let mut renderer = Renderer::relative();
    // The first sender of each connection, to tell directions apart in summaries.
    let mut initiator: BTreeMap<ConnKey, SocketAddrV4> = BTreeMap::new();
    let mut forward = |k: ConnKey, src: SocketAddrV4| *initiator.entry(k).or_insert(src) == src;
    let mut out = Vec::new();
    for ev in &trace.events {
        match &ev.kind {
            TraceKind::Frame(f) if f.segment == seg => {
                let view = renderer.view(&f.bytes);
                let lost = match &f.fate {
                    Fate::Delivered => None,
                    Fate::Dropped(why) => Some(why.clone()),
                };
                let (conn, addrs, fwd, flags) =
                    match wire::parse_frame(&f.bytes, ChecksumMode::Ignore) {
                        Ok(wire::Frame::Tcp { ip, tcp, .. }) => {
                            let src = SocketAddrV4::new(ip.src_addr, tcp.src_port);
                            let dst = SocketAddrV4::new(ip.dst_addr, tcp.dst_port);
                            let k = key(src, dst);
                            (
                                Some(k),
                                vec![ip.src_addr, ip.dst_addr],
                                forward(k, src),
                                Some(tcp.flags),
                            )
                        }
                        Ok(wire::Frame::Arp { arp, .. }) => (
                            None,
                            vec![arp.source_protocol_addr, arp.target_protocol_addr],
                            true,
                            None,
                        ),
                        Ok(wire::Frame::OtherIpv4 { ip, .. }) => {
                            (None, vec![ip.src_addr, ip.dst_addr], true, None)
                        }
                        _ => (None, Vec::new(), true, None),
                    };
                out.push(Item {
                    time: f.time,
                    what: What::Frame {
                        bytes: f.bytes.clone(),
                        label: view.label,
                        forward: fwd,
                        lost,
                        flags,
                    },
                    conn,
                    addrs,
                });
            }
            TraceKind::Stack { node, event } => {
                let EventKind::Arp(ArpEvent::Dropped { packet, reason, .. }) = &event.kind else {
                    continue;
                };
                if packet.protocol != wire::IpProtocol::Tcp {
                    continue;
                }
                let src = SocketAddrV4::new(packet.src, packet.src_port);
                let dst = SocketAddrV4::new(packet.dst, packet.dst_port);
                let why = match reason {
                    ArpDropReason::QueueOverflow { .. } => "ARP queue full",
                    ArpDropReason::QueueBytes => "ARP queue bytes full",
                    ArpDropReason::ResolutionFailed => "next hop never answered ARP",
                };
                let label = renderer.seq_label(src, dst, packet.flags, packet.seq.0);
                let owns_src = trace
                    .meta
                    .node_addrs
                    .get(node.0)
                    .is_some_and(|v| v.contains(&packet.src));
                let k = key(src, dst);
                if owns_src {
                    out.push(Item {
                        time: event.time,
                        what: What::Lost {
                            src,
                            dst,
                            label,
                            why: why.to_string(),
                            forward: forward(k, src),
                            flags: packet.flags,
                        },
                        conn: Some(k),
                        addrs: vec![packet.src, packet.dst],
                    });
                } else if let Some(at) = trace.meta.node_addrs.get(node.0).and_then(|v| v.first()) {
                    out.push(Item {
                        time: event.time,
                        what: What::Remark {
                            at: *at,
                            text: format!(
                                "{label} {src} > {dst} lost at {}: {why}",
                                trace.node_name(*node)
                            ),
                        },
                        conn: Some(k),
                        addrs: vec![*at],
                    });
                }
            }
            _ => {}
        }
    }
    for (index, f) in findings.iter().enumerate() {
        let at = trace
            .meta
            .node_names
            .iter()
            .position(|n| *n == f.host)
            .and_then(|n| trace.meta.node_addrs.get(n))
            .and_then(|v| v.first().copied());
        out.push(Item {
            time: Instant::from_micros(f.time_us),
            what: What::Finding {
                index,
                at,
                text: match &f.cause {
                    Some(c) => format!("{} ({c})", f.kind),
                    None => f.kind.to_string(),
                },
            },
            conn: parse_tuple(&f.connection),
            addrs: at.into_iter().collect(),
        });
    }
    // Stable: trace order within an instant, findings after the frames of their instant.
    out.sort_by_key(|i| i.time);
    out
}

/// Connections in order of their first frame (or first lost packet).
fn conn_order(items: &[Item]) -> Vec<ConnKey> {
    let mut out: Vec<ConnKey> = Vec::new();
    for it in items {
        if let (Some(k), What::Frame { .. } | What::Lost { .. }) = (it.conn, &it.what) {
            if !out.contains(&k) {
                out.push(k);
            }
        }
    }
    out
}

/// `a.b.c.d:p-e.f.g.h:q` as a connection key.
fn parse_tuple(s: &str) -> Option<ConnKey> {
    let (a, b) = s.trim().split_once(['-', ' '])?;
    Some(key(a.trim().parse().ok()?, b.trim().parse().ok()?))
}

fn pick_conn(conns: &[ConnKey], given: &str) -> Result<ConnKey, LadderError> {
    let err = || LadderError::UnknownConn {
        given: given.to_string(),
        known: match conns.len() {
            0 => "the run has no TCP connection".to_string(),
            n => format!("1..{n}, or a 4-tuple such as {}-{}", conns[0].0, conns[0].1),
        },
    };
    if let Ok(i) = given.trim().parse::<usize>() {
        return i
            .checked_sub(1)
            .and_then(|i| conns.get(i))
            .copied()
            .ok_or_else(err);
    }
    let k = parse_tuple(given).ok_or_else(err)?;
    conns.iter().find(|c| **c == k).copied().ok_or_else(err)
}

fn pick_finding(findings: &[Finding], given: &str) -> Result<usize, LadderError> {
    let err = || LadderError::UnknownFinding {
        given: given.to_string(),
        known: if findings.is_empty() {
            "the run has no findings".to_string()
        } else {
            let mut kinds: Vec<&str> = findings.iter().map(|f| f.kind.name()).collect();
            kinds.dedup();
            format!(
                "1..{}, a kind ({}) or KIND#N",
                findings.len(),
                kinds.join(", ")
            )
        },
    };
    let g = given.trim();
    if let Ok(i) = g.parse::<usize>() {
        return i
            .checked_sub(1)
            .filter(|i| *i < findings.len())
            .ok_or_else(err);
    }
    let (kind, nth) = match g.split_once('#') {
        Some((k, n)) => (k, n.parse::<usize>().map_err(|_| err())?),
        None => (g, 1),
    };
    findings
        .iter()
        .enumerate()
        .filter(|(_, f)| f.kind.name() == kind)
        .nth(nth.checked_sub(1).ok_or_else(err)?)
        .map(|(i, _)| i)
        .ok_or_else(err)
}

fn host_addrs(trace: &Trace, given: &str) -> Result<Vec<Ipv4Addr>, LadderError> {
    if let Some(n) = trace.meta.node_names.iter().position(|n| n == given) {
        return Ok(trace.meta.node_addrs.get(n).cloned().unwrap_or_default());
    }
    if let Ok(a) = given.parse::<Ipv4Addr>() {
        return Ok(vec![a]);
    }
    Err(LadderError::UnknownHost {
        given: given.to_string(),
        known: trace.meta.node_names.join(", "),
    })
}

/// What a connection did, without addresses, ports or times: two connections with the same
/// signature drew the same ladder.
fn signature(items: &[Item], k: ConnKey) -> Vec<String> {
    items
        .iter()
        .filter(|i| i.conn == Some(k))
        .map(|i| match &i.what {
            What::Frame {
                label,
                forward,
                lost,
                ..
            } => format!("{forward} {label} {lost:?}"),
            What::Lost {
                label,
                forward,
                why,
                ..
            } => format!("{forward} {label} lost {why}"),
            What::Remark { .. } => "remark".to_string(),
            What::Finding { text, .. } => format!("finding {text}"),
        })
        .collect()
}

/// Hides all but the first of each group of connections that did the same thing, and writes
/// one line per group saying how many and what they share.
fn summarise(
    items: &[Item],
    conns: &[ConnKey],
    keep: &mut [bool],
    summary: &mut Vec<(Instant, String)>,
) {
    let mut groups: Vec<(Vec<String>, Vec<usize>)> = Vec::new();
    for (ci, k) in conns.iter().enumerate() {
        let sig = signature(items, *k);
        match groups.iter_mut().find(|(s, _)| *s == sig) {
            Some((_, members)) => members.push(ci),
            None => groups.push((sig, vec![ci])),
        }
    }
    for (_, members) in groups.iter().filter(|(_, m)| m.len() > 1) {
        let rep = conns[members[0]];
        let hidden: Vec<ConnKey> = members[1..].iter().map(|&i| conns[i]).collect();
        for (keep, it) in keep.iter_mut().zip(items) {
            if it.conn.is_some_and(|c| hidden.contains(&c)) {
                *keep = false;
            }
        }
        let first = items
            .iter()
            .find(|i| i.conn == Some(rep))
            .map_or(Instant::ZERO, |i| i.time);
        let indices: Vec<usize> = members.iter().map(|i| i + 1).collect();
        summary.push((
            first,
            format!(
                "× {} the same: {} (connections {}: --conn N, --all)",
                members.len(),
                what_they_share(items, rep),
                ranges(&indices)
            ),
        ));
    }
}

/// "RST lost at the ARP queue", "SYN lost on the wire (loss)", the findings, or "the same
/// exchange".
fn what_they_share(items: &[Item], k: ConnKey) -> String {
    let mut parts: Vec<String> = Vec::new();
    for it in items.iter().filter(|i| i.conn == Some(k)) {
        let part = match &it.what {
            What::Lost { flags, why, .. } => Some(format!(
                "{} lost at the {}",
                flag_name(*flags),
                if why.starts_with("ARP") || why.contains("ARP") {
                    "ARP queue"
                } else {
                    "sender"
                }
            )),
            What::Frame {
                lost: Some(why),
                flags,
                ..
            } => Some(format!(
                "{} lost on the wire ({why})",
                flags.map_or("frame", flag_name)
            )),
            _ => None,
        };
        if let Some(p) = part {
            if !parts.contains(&p) {
                parts.push(p);
            }
        }
    }
    if parts.is_empty() {
        "the same exchange".to_string()
    } else {
        parts.join(", ")
    }
}

fn flag_name(f: TcpFlags) -> &'static str {
    if f.rst() {
        "RST"
    } else if f.syn() {
        "SYN"
    } else if f.fin() {
        "FIN"
    } else {
        "segment"
    }
}

/// `1-19` / `1, 3, 5-8`.
fn ranges(v: &[usize]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < v.len() {
        let mut j = i;
        while j + 1 < v.len() && v[j + 1] == v[j] + 1 {
            j += 1;
        }
        out.push(if i == j {
            v[i].to_string()
        } else {
            format!("{}-{}", v[i], v[j])
        });
        i = j + 1;
    }
    out.join(", ")
}

#[cfg(test)]
mod tests;
