//! The reassembly queue: RFC 9293 §3.10.7.4 "Segments with higher beginning sequence numbers
//! SHOULD be held for later processing (SHLD-31)". Bytes above RCV.NXT are kept, one slot per
//! sequence number, until the gap below them fills. Only bytes inside the receive window are
//! held, so the queue never exceeds the receive buffer.

use crate::wire::SeqNumber;
use std::collections::VecDeque;

/// Out-of-order bytes; slot `i` is sequence number RCV.NXT + `i` (`None` = still missing).
#[derive(Clone, Debug, Default)]
pub(crate) struct Reassembly {
    slots: VecDeque<Option<u8>>,
    /// Sequence number of a FIN that arrived above RCV.NXT.
    fin: Option<SeqNumber>,
}

impl Reassembly {
    /// Holding nothing (what a connection without buffers reads).
    pub const EMPTY: Reassembly = Reassembly {
        slots: VecDeque::new(),
        fin: None,
    };

    /// Nothing is held.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty() && self.fin.is_none()
    }

    /// Bytes held.
    #[cfg(test)]
    pub fn held(&self) -> usize {
        self.slots.iter().filter(|s| s.is_some()).count()
    }

    /// Hold `payload`, whose first byte is `offset` octets above RCV.NXT, keeping only what lies
    /// below `limit` octets above RCV.NXT (the right window edge). `fin_at` is the FIN's offset
    /// when the segment carries one and it is inside the window.
    pub fn insert(
        &mut self,
        offset: usize,
        payload: &[u8],
        limit: usize,
        fin_at: Option<SeqNumber>,
    ) {
        let end = offset.saturating_add(payload.len()).min(limit);
        if offset < end {
            // Grow to `end` (never shrink: held bytes above it stay).
            let len = self.slots.len().max(end);
            self.slots.resize(len, None);
            for (slot, b) in self.slots.range_mut(offset..end).zip(payload) {
                *slot = Some(*b);
            }
        }
        if let Some(f) = fin_at {
            if offset.saturating_add(payload.len()) <= limit {
                self.fin = Some(f);
            }
        }
    }

    /// The held runs as `(start, end)` offsets above RCV.NXT, lowest first (RFC 2018 SACK blocks).
    pub fn runs(&self) -> Vec<(u32, u32)> {
        let mut out = Vec::new();
        let mut start = None;
        for (i, s) in self.slots.iter().enumerate() {
            match (s.is_some(), start) {
                (true, None) => start = Some(i),
                (false, Some(a)) => {
                    out.push((a as u32, i as u32));
                    start = None;
                }
                _ => {}
            }
        }
        if let Some(a) = start {
            out.push((a as u32, self.slots.len() as u32));
        }
        out
    }

    /// RCV.NXT advanced by `n` in-order octets: forget the slots they cover.
    pub fn advance(&mut self, n: usize) {
        let n = n.min(self.slots.len());
        self.slots.drain(..n);
        super::tcb::release_if_empty(&mut self.slots);
    }

    /// Take up to `max` contiguous octets now at RCV.NXT.
    pub fn pop_ready(&mut self, max: usize) -> Vec<u8> {
        let mut out = Vec::new();
        while out.len() < max {
            match self.slots.front() {
                Some(Some(b)) => {
                    out.push(*b);
                    self.slots.pop_front();
                }
                _ => break,
            }
        }
        super::tcb::release_if_empty(&mut self.slots);
        out
    }

    /// The held FIN, if it sits exactly at `rcv_nxt` with no bytes missing before it.
    pub fn take_fin_at(&mut self, rcv_nxt: SeqNumber) -> bool {
        if self.fin == Some(rcv_nxt) && self.slots.is_empty() {
            self.fin = None;
            true
        } else {
            false
        }
    }

    pub fn clear(&mut self) {
        self.slots = VecDeque::new();
        self.fin = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn gap_fill_releases_contiguous_bytes_only() {
        let mut r = Reassembly::default();
        r.insert(5, b"fgh", 100, None);
        r.insert(10, b"k", 100, None);
        assert_eq!(r.held(), 4);
        assert!(r.pop_ready(100).is_empty());
        // "abcde" arrived in order: RCV.NXT moved by 5.
        r.advance(5);
        assert_eq!(r.pop_ready(100), b"fgh");
        assert!(r.pop_ready(100).is_empty());
        assert_eq!(r.held(), 1);
    }

    #[test]
    fn clipped_to_the_window() {
        let mut r = Reassembly::default();
        r.insert(8, b"0123456789", 12, Some(SeqNumber(18)));
        assert_eq!(r.held(), 4);
        // The FIN lay beyond the window: not held.
        r.advance(8);
        assert!(!r.take_fin_at(SeqNumber(12)));
        assert_eq!(r.pop_ready(100), b"0123");
        r.insert(20, b"x", 10, None);
        assert!(r.is_empty());
    }

    /// A segment starting at the right window edge holds nothing (not even the missing slots
    /// below it): the queue stays empty, so the next in-order segment is not taken for a gap
    /// fill.
    #[test]
    fn a_segment_at_the_window_edge_holds_nothing() {
        let mut r = Reassembly::default();
        r.insert(12, b"xyz", 12, None);
        assert!(r.is_empty());
        assert!(r.runs().is_empty());
        r.insert(4, b"ab", 12, None);
        r.insert(12, b"xyz", 12, None);
        assert_eq!(r.runs(), vec![(4, 6)]);
        r.advance(4);
        assert_eq!(r.pop_ready(100), b"ab");
        assert!(r.is_empty(), "no slot past the held bytes");
    }

    /// The in-order run is handed over only as far as the receive buffer has room (the window
    /// may still reach past the free buffer: its right edge never moves left).
    #[test]
    fn pop_ready_takes_no_more_than_the_room() {
        let mut r = Reassembly::default();
        r.insert(0, b"abc", 100, None);
        assert_eq!(r.pop_ready(2), b"ab");
        assert_eq!(r.pop_ready(0), b"");
        assert_eq!(r.pop_ready(5), b"c");
    }

    /// CLOSED drops what is held, bytes and FIN (RFC 9293 §3.10.7.4 "delete the TCB").
    #[test]
    fn clear_forgets_bytes_and_fin() {
        let mut r = Reassembly::default();
        r.insert(2, b"xy", 100, Some(SeqNumber(4)));
        r.clear();
        assert!(r.is_empty());
        assert!(!r.take_fin_at(SeqNumber(4)));
    }

    #[test]
    fn fin_released_after_its_data() {
        let mut r = Reassembly::default();
        r.insert(3, b"de", 100, Some(SeqNumber(105)));
        assert!(!r.take_fin_at(SeqNumber(100)));
        r.advance(3);
        assert_eq!(r.pop_ready(10), b"de");
        assert!(r.take_fin_at(SeqNumber(105)));
        assert!(r.is_empty());
    }

    proptest! {
        /// Any arrival order of the pieces of a stream reassembles it exactly, and the queue
        /// never holds more than the window.
        #[test]
        fn any_order_reassembles(cuts in proptest::collection::vec(1usize..40, 1..12), seed in any::<u64>()) {
            let data: Vec<u8> = (0..cuts.iter().sum::<usize>()).map(|i| i as u8).collect();
            let mut pieces = Vec::new();
            let mut at = 0;
            for c in &cuts {
                pieces.push((at, data[at..at + c].to_vec()));
                at += c;
            }
            let mut rng = crate::rand::Rng::new(seed);
            for i in (1..pieces.len()).rev() {
                let j = rng.below(i as u64 + 1) as usize;
                pieces.swap(i, j);
            }
            let limit = data.len();
            let mut r = Reassembly::default();
            let mut got: Vec<u8> = Vec::new();
            for (off, p) in pieces {
                let rel = off as i64 - got.len() as i64;
                if rel <= 0 {
                    let skip = (-rel) as usize;
                    if skip < p.len() {
                        got.extend(&p[skip..]);
                        r.advance(p.len() - skip);
                    }
                    got.extend(r.pop_ready(usize::MAX));
                } else {
                    r.insert(rel as usize, &p, limit - got.len(), None);
                }
                prop_assert!(r.held() <= limit - got.len());
            }
            prop_assert_eq!(got, data);
            prop_assert!(r.is_empty());
        }
    }
}
