//! [`Slab`]: values keyed by a counter that only grows (an accept counter), stored in key
//! order in a ring buffer. A server of 100,000 idle connections holds one slot per
//! connection, where an ordered map spent a half-empty tree node's share on each.

use std::collections::VecDeque;

/// Values under increasing `u64` keys. Slot `i` holds key `base + i`; the slots of removed
/// keys stay empty until every key below them is gone too.
pub struct Slab<T> {
    base: u64,
    slots: VecDeque<Option<T>>,
    live: usize,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Slab {
            base: 0,
            slots: VecDeque::new(),
            live: 0,
        }
    }
}

impl<T> Slab<T> {
    pub fn len(&self) -> usize {
        self.live
    }

    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    fn slot(&self, k: u64) -> Option<usize> {
        let i = usize::try_from(k.checked_sub(self.base)?).ok()?;
        (i < self.slots.len()).then_some(i)
    }

    pub fn get(&self, k: u64) -> Option<&T> {
        self.slots[self.slot(k)?].as_ref()
    }

    pub fn get_mut(&mut self, k: u64) -> Option<&mut T> {
        let i = self.slot(k)?;
        self.slots[i].as_mut()
    }

    /// Stores `v` under `k`, which must be above every key stored so far.
    ///
    /// # Panics
    /// If `k` is not above the keys already stored (a broken invariant of the caller).
    pub fn insert(&mut self, k: u64, v: T) {
        if self.slots.is_empty() {
            self.base = k;
        }
        let end = self.base + self.slots.len() as u64;
        assert!(k >= end, "slab keys only grow ({k} after {end})");
        for _ in end..k {
            self.slots.push_back(None);
        }
        self.slots.push_back(Some(v));
        self.live += 1;
    }

    pub fn remove(&mut self, k: u64) -> Option<T> {
        let i = self.slot(k)?;
        let v = self.slots[i].take()?;
        self.live -= 1;
        while matches!(self.slots.front(), Some(None)) {
            self.slots.pop_front();
            self.base += 1;
        }
        if self.slots.is_empty() {
            self.slots = VecDeque::new();
        }
        Some(v)
    }

    pub fn clear(&mut self) {
        *self = Slab::default();
    }

    /// The keys in use, in order.
    pub fn keys(&self) -> impl Iterator<Item = u64> + '_ {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.is_some())
            .map(|(i, _)| self.base + i as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::Slab;
    use std::collections::BTreeMap;

    #[test]
    fn behaves_as_an_ordered_map_of_growing_keys() {
        let mut slab = Slab::default();
        let mut model = BTreeMap::new();
        let mut next = 5u64;
        let mut x = 11u32;
        for _ in 0..3_000 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            match (x >> 16) % 4 {
                0 | 1 => {
                    next += u64::from((x >> 8) % 3);
                    slab.insert(next, next * 10);
                    model.insert(next, next * 10);
                    next += 1;
                }
                2 => {
                    let k = model
                        .keys()
                        .nth((x >> 4) as usize % model.len().max(1))
                        .copied();
                    if let Some(k) = k {
                        assert_eq!(slab.remove(k), model.remove(&k));
                    }
                }
                _ => {
                    let k = u64::from(x >> 20) % (next + 2);
                    assert_eq!(slab.remove(k), model.remove(&k));
                    assert_eq!(slab.get(k + 1), model.get(&(k + 1)));
                    if let Some(v) = slab.get_mut(k + 1) {
                        *v += 1;
                        *model.get_mut(&(k + 1)).expect("same keys") += 1;
                    }
                }
            }
            assert_eq!(slab.len(), model.len());
            assert!(slab.keys().eq(model.keys().copied()));
        }
        slab.clear();
        assert!(slab.is_empty() && slab.keys().next().is_none());
    }
}
