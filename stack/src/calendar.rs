//! [`Calendar`]: a priority queue of deadlines, earliest first, for a simulation whose clock only
//! moves forward (a calendar queue: R. Brown, "Calendar queues", CACM 31(10), 1988).
//!
//! A binary heap over every pending deadline costs a cache miss per level once it outgrows
//! the cache (100,000 hosts: ~17 levels per pop). The calendar keeps only the deadlines of the
//! current *day* (a slot of [`SLOT_US`] µs) in a heap; later ones wait unsorted in one `Vec`
//! per slot of a ring of [`SLOTS`] slots (pushing is an append), and those beyond the ring in
//! a heap of their own. When the current day runs out, the next occupied slot (found in a
//! bitmap) becomes the current day. Pops come out in exactly the order of a binary heap over
//! all items: `(deadline, item)` ascending, so a caller's output does not depend on it.

use crate::time::Instant;
use core::cmp::Reverse;
use std::collections::BinaryHeap;

/// log2 of the width of a slot in microseconds (2^19 µs ≈ 524 ms).
const SLOT_SHIFT: u32 = 19;
/// Width of a slot in microseconds.
pub const SLOT_US: u64 = 1 << SLOT_SHIFT;
/// Slots in the ring (1,024 × 524 ms ≈ 537 s ahead; later deadlines wait in a heap).
pub const SLOTS: usize = 1024;
const WORDS: usize = SLOTS / 64;

/// A min-priority queue of `(Instant, T)`, duplicates allowed (see the module documentation).
#[derive(Clone, Debug)]
pub struct Calendar<T: Ord + Copy> {
    /// Items of slots before `edge`, as a heap. Never empty while the calendar holds anything.
    near: BinaryHeap<Reverse<(Instant, T)>>,
    /// The first slot number (deadline in µs >> [`SLOT_SHIFT`]) not in `near`.
    edge: u64,
    /// Slot `s` in `edge..edge + SLOTS` lives at `ring[s % SLOTS]` (allocated on first use).
    ring: Vec<Vec<Reverse<(Instant, T)>>>,
    /// Bit `s % SLOTS` set: that slot of the ring holds something.
    occupied: [u64; WORDS],
    /// Items in the ring.
    in_ring: usize,
    /// Items of slots from `edge + SLOTS` on.
    far: BinaryHeap<Reverse<(Instant, T)>>,
}

impl<T: Ord + Copy> Default for Calendar<T> {
    fn default() -> Self {
        Calendar::new()
    }
}

fn slot(t: Instant) -> u64 {
    t.total_micros() >> SLOT_SHIFT
}

impl<T: Ord + Copy> Calendar<T> {
    pub fn new() -> Self {
        Calendar {
            near: BinaryHeap::new(),
            edge: 0,
            ring: Vec::new(),
            occupied: [0; WORDS],
            in_ring: 0,
            far: BinaryHeap::new(),
        }
    }

    /// Items held (duplicates counted).
    pub fn len(&self) -> usize {
        self.near.len() + self.in_ring + self.far.len()
    }

    pub fn is_empty(&self) -> bool {
        self.near.is_empty()
    }

    /// The earliest item.
    pub fn peek(&self) -> Option<(Instant, T)> {
        self.near.peek().map(|r| r.0)
    }

    pub fn push(&mut self, at: Instant, item: T) {
        let s = slot(at);
        if s < self.edge {
            self.near.push(Reverse((at, item)));
            return;
        }
        if s - self.edge < SLOTS as u64 {
            self.put_in_ring(s, (at, item));
        } else {
            self.far.push(Reverse((at, item)));
        }
        if self.near.is_empty() {
            self.advance();
        }
    }

    /// Removes and returns the earliest item.
    pub fn pop(&mut self) -> Option<(Instant, T)> {
        let Reverse(first) = self.near.pop()?;
        if self.near.is_empty() {
            self.advance();
        }
        Some(first)
    }

    /// Removes everything.
    pub fn clear(&mut self) {
        *self = Calendar::new();
    }

    fn put_in_ring(&mut self, s: u64, entry: (Instant, T)) {
        let i = (s % SLOTS as u64) as usize;
        if self.ring.is_empty() {
            self.ring.resize_with(SLOTS, Vec::new);
        }
        self.ring[i].push(Reverse(entry));
        self.occupied[i / 64] |= 1 << (i % 64);
        self.in_ring += 1;
    }

    /// With `near` empty: makes the earliest occupied slot the current one.
    fn advance(&mut self) {
        debug_assert!(self.near.is_empty());
        if self.in_ring == 0 {
            // Jump to the earliest far slot and bring the far items the ring now covers in.
            let Some(&Reverse((t, _))) = self.far.peek() else {
                return;
            };
            self.edge = slot(t);
            self.pull_far();
        }
        let s = self.next_occupied();
        let i = (s % SLOTS as u64) as usize;
        self.occupied[i / 64] &= !(1 << (i % 64));
        // The slot's buffer becomes the heap (heapified in place); the slot starts afresh, so
        // no buffer is kept per slot.
        let items = std::mem::take(&mut self.ring[i]);
        self.in_ring -= items.len();
        self.near = BinaryHeap::from(items);
        self.edge = s + 1;
        self.pull_far();
    }

    /// The earliest occupied slot number of the ring (which holds something), from `edge` on.
    fn next_occupied(&self) -> u64 {
        let start = (self.edge % SLOTS as u64) as usize;
        let mut w = start / 64;
        let mut word = self.occupied[w] & (!0u64 << (start % 64));
        let mut scanned = 0;
        loop {
            if word != 0 {
                let i = w * 64 + word.trailing_zeros() as usize;
                let ahead = (i + SLOTS - start) % SLOTS;
                return self.edge + ahead as u64;
            }
            scanned += 1;
            assert!(
                scanned <= WORDS,
                "calendar ring empty while counted non-empty"
            );
            w = (w + 1) % WORDS;
            word = self.occupied[w];
            if w == start / 64 {
                // Wrapped around to the first word: only the bits below `start` are left.
                word &= !(!0u64 << (start % 64));
            }
        }
    }

    /// Moves the far items the ring now covers into it.
    fn pull_far(&mut self) {
        while let Some(&Reverse((t, item))) = self.far.peek() {
            let s = slot(t);
            if s - self.edge >= SLOTS as u64 {
                break;
            }
            self.far.pop();
            self.put_in_ring(s, (t, item));
        }
    }
}

#[cfg(test)]
mod tests;
