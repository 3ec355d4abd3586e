//! Connections reconstructed from a capture: segments grouped by socket pair, a new instance
//! started by a fresh SYN after the previous one ended, and the endpoint under test chosen.

use super::segment::Seg;
use core::net::{Ipv4Addr, SocketAddrV4};
use std::collections::BTreeMap;

/// One TCP connection instance, as seen on the wire.
#[derive(Clone, Debug)]
pub struct Conn {
    /// The endpoint under test.
    pub dut: SocketAddrV4,
    /// Its peer.
    pub peer: SocketAddrV4,
    /// Every segment of the instance, in capture order.
    pub segs: Vec<Seg>,
}

impl Conn {
    /// `dut-peer` as findings write connections.
    pub fn name(&self) -> String {
        format!("{}-{}", self.dut, self.peer)
    }
}

fn key(s: &Seg) -> (SocketAddrV4, SocketAddrV4) {
    if (s.src.ip().octets(), s.src.port()) <= (s.dst.ip().octets(), s.dst.port()) {
        (s.src, s.dst)
    } else {
        (s.dst, s.src)
    }
}

/// An instance being built.
#[derive(Default)]
struct Building {
    segs: Vec<Seg>,
    /// ISN of each side's SYN, by sender.
    syn: Vec<(SocketAddrV4, u32)>,
    reset: bool,
    fins: Vec<SocketAddrV4>,
}

impl Building {
    /// Whether `s` starts a new instance instead of continuing this one.
    fn starts_new(&self, s: &Seg) -> bool {
        if self.segs.is_empty() || !s.flags.syn() || s.flags.ack() {
            return false;
        }
        let ended = self.reset || self.fins.len() >= 2;
        let other_isn = self
            .syn
            .iter()
            .any(|(from, isn)| *from == s.src && *isn != s.seq);
        ended || other_isn
    }
    fn push(&mut self, s: Seg) {
        if s.flags.syn() && !self.syn.iter().any(|(f, _)| *f == s.src) {
            self.syn.push((s.src, s.seq));
        }
        if s.flags.rst() {
            self.reset = true;
        }
        if s.flags.fin() && !self.fins.contains(&s.src) {
            self.fins.push(s.src);
        }
        self.segs.push(s);
    }
}

/// Groups segments (in capture order) into connection instances, ordered by first frame.
/// `dut` decides which end is under test.
pub fn split(segs: &[Seg], dut: Ipv4Addr) -> Vec<Conn> {
    let mut open: BTreeMap<(SocketAddrV4, SocketAddrV4), Building> = BTreeMap::new();
    let mut done: Vec<Building> = Vec::new();
    for s in segs {
        if *s.src.ip() != dut && *s.dst.ip() != dut {
            continue;
        }
        let b = open.entry(key(s)).or_default();
        if b.starts_new(s) {
            done.push(std::mem::take(b));
        }
        b.push(s.clone());
    }
    done.extend(open.into_values());
    let mut out: Vec<Conn> = done
        .into_iter()
        .filter(|b| !b.segs.is_empty())
        .map(|b| {
            let first = &b.segs[0];
            let (d, p) = if *first.src.ip() == dut {
                (first.src, first.dst)
            } else {
                (first.dst, first.src)
            };
            Conn {
                dut: d,
                peer: p,
                segs: b.segs,
            }
        })
        .collect();
    out.sort_by_key(|c| c.segs[0].frame);
    out
}

/// Candidates for the endpoint under test when the user did not name it: the addresses in
/// the most connections (several on a tie, which `check` breaks by judging each and keeping
/// the one the model explains best). Lowest address first.
pub fn dut_candidates(segs: &[Seg]) -> Vec<Ipv4Addr> {
    let mut conns: BTreeMap<Ipv4Addr, std::collections::BTreeSet<(SocketAddrV4, SocketAddrV4)>> =
        BTreeMap::new();
    for s in segs {
        for a in [s.src.ip(), s.dst.ip()] {
            conns.entry(*a).or_default().insert(key(s));
        }
    }
    let Some(best) = conns.values().map(|c| c.len()).max() else {
        return Vec::new();
    };
    conns
        .iter()
        .filter(|(_, c)| c.len() == best)
        .map(|(a, _)| *a)
        .collect()
}
