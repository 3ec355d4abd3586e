//! [`SmallMap`] and [`SmallSet`]: ordered maps that cost one exact-size allocation while they
//! hold a few entries, and become a `BTreeMap` when they grow.
//!
//! A simulated host usually holds one connection: a `BTreeMap` would spend a whole node
//! (11 slots, 150–250 bytes) on it, per index. Up to [`FEW`] entries live in a sorted `Vec`
//! whose capacity is kept equal to its length (binary search, a few bytes moved per insert);
//! past that the map switches to a `BTreeMap` (logarithmic, for a server holding 100,000
//! connections), and back when it shrinks to a quarter of that. Iteration is in key order
//! either way, so nothing about the representation reaches output.

use core::ops::{Bound, RangeBounds};
use std::collections::{btree_map, BTreeMap};

/// Entries kept in the sorted `Vec` form.
pub const FEW: usize = 8;

/// An ordered map (see the module documentation).
#[derive(Clone, Debug)]
pub enum SmallMap<K, V> {
    /// Sorted by key, capacity equal to length.
    Few(Vec<(K, V)>),
    /// Boxed, so the map is three words (a `Vec`) wherever it is embedded, empty or not.
    Many(Box<BTreeMap<K, V>>),
}

impl<K, V> Default for SmallMap<K, V> {
    fn default() -> Self {
        SmallMap::Few(Vec::new())
    }
}

impl<K: Ord, V> SmallMap<K, V> {
    pub const fn new() -> Self {
        SmallMap::Few(Vec::new())
    }

    pub fn len(&self) -> usize {
        match self {
            SmallMap::Few(v) => v.len(),
            SmallMap::Many(m) => m.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn get(&self, k: &K) -> Option<&V> {
        match self {
            SmallMap::Few(v) => v.binary_search_by(|e| e.0.cmp(k)).ok().map(|i| &v[i].1),
            SmallMap::Many(m) => m.get(k),
        }
    }

    pub fn get_mut(&mut self, k: &K) -> Option<&mut V> {
        match self {
            SmallMap::Few(v) => match v.binary_search_by(|e| e.0.cmp(k)) {
                Ok(i) => Some(&mut v[i].1),
                Err(_) => None,
            },
            SmallMap::Many(m) => m.get_mut(k),
        }
    }

    /// Removes everything and frees the storage.
    pub fn clear(&mut self) {
        *self = SmallMap::Few(Vec::new());
    }

    pub fn contains_key(&self, k: &K) -> bool {
        self.get(k).is_some()
    }

    /// Inserts `v` under `k`, returning the value it replaces.
    pub fn insert(&mut self, k: K, v: V) -> Option<V> {
        match self {
            SmallMap::Few(vec) => match vec.binary_search_by(|e| e.0.cmp(&k)) {
                Ok(i) => Some(core::mem::replace(&mut vec[i].1, v)),
                Err(i) if vec.len() < FEW => {
                    vec.reserve_exact(1);
                    vec.insert(i, (k, v));
                    None
                }
                Err(_) => {
                    let mut m: BTreeMap<K, V> = core::mem::take(vec).into_iter().collect();
                    m.insert(k, v);
                    *self = SmallMap::Many(Box::new(m));
                    None
                }
            },
            SmallMap::Many(m) => m.insert(k, v),
        }
    }

    /// Removes `k`, returning its value.
    pub fn remove(&mut self, k: &K) -> Option<V> {
        match self {
            SmallMap::Few(vec) => {
                let i = vec.binary_search_by(|e| e.0.cmp(k)).ok()?;
                let (_, v) = vec.remove(i);
                vec.shrink_to_fit();
                Some(v)
            }
            SmallMap::Many(m) => {
                let v = m.remove(k)?;
                if m.len() <= FEW / 4 {
                    let mut few = Vec::with_capacity(m.len());
                    few.extend(core::mem::take(&mut **m));
                    *self = SmallMap::Few(few);
                }
                Some(v)
            }
        }
    }

    /// Moves the value under `old` to `new` (replacing any value already under `new`);
    /// returns whether `old` was there. The same map as `remove(old)` then `insert(new, v)`,
    /// but in the `Vec` form without giving the slot back and allocating it again (a
    /// connection's deadline moves at every event).
    pub fn rekey(&mut self, old: &K, new: K) -> bool {
        match self {
            SmallMap::Few(vec) => {
                let Ok(i) = vec.binary_search_by(|e| e.0.cmp(old)) else {
                    return false;
                };
                let (_, v) = vec.remove(i);
                match vec.binary_search_by(|e| e.0.cmp(&new)) {
                    // The capacity left by the removal takes it back: no reallocation.
                    Err(j) => vec.insert(j, (new, v)),
                    Ok(j) => {
                        vec[j].1 = v;
                        vec.shrink_to_fit();
                    }
                }
                true
            }
            SmallMap::Many(m) => match m.remove(old) {
                Some(v) => {
                    m.insert(new, v);
                    true
                }
                None => false,
            },
        }
    }

    /// The entry with the smallest key.
    pub fn first(&self) -> Option<(&K, &V)> {
        match self {
            SmallMap::Few(v) => v.first().map(|(k, v)| (k, v)),
            SmallMap::Many(m) => m.first_key_value(),
        }
    }

    /// Entries in key order.
    pub fn iter(&self) -> Iter<'_, K, V> {
        match self {
            SmallMap::Few(v) => Iter::Few(v.iter()),
            SmallMap::Many(m) => Iter::Many(m.iter()),
        }
    }

    /// Keys in order.
    pub fn keys(&self) -> impl Iterator<Item = &K> + '_ {
        self.iter().map(|(k, _)| k)
    }

    /// Values in key order.
    pub fn values(&self) -> impl Iterator<Item = &V> + '_ {
        self.iter().map(|(_, v)| v)
    }

    /// Entries whose key lies in `range`, in key order.
    pub fn range<R: RangeBounds<K>>(&self, range: R) -> Iter<'_, K, V> {
        match self {
            SmallMap::Few(v) => {
                let lo = match range.start_bound() {
                    Bound::Included(s) => v.partition_point(|e| e.0 < *s),
                    Bound::Excluded(s) => v.partition_point(|e| e.0 <= *s),
                    Bound::Unbounded => 0,
                };
                let hi = match range.end_bound() {
                    Bound::Included(e) => v.partition_point(|x| x.0 <= *e),
                    Bound::Excluded(e) => v.partition_point(|x| x.0 < *e),
                    Bound::Unbounded => v.len(),
                };
                Iter::Few(v[lo..hi.max(lo)].iter())
            }
            SmallMap::Many(m) => Iter::Range(m.range(range)),
        }
    }
}

/// Iterator over a [`SmallMap`]'s entries in key order.
pub enum Iter<'a, K, V> {
    Few(core::slice::Iter<'a, (K, V)>),
    Many(btree_map::Iter<'a, K, V>),
    Range(btree_map::Range<'a, K, V>),
}

impl<'a, K, V> Iterator for Iter<'a, K, V> {
    type Item = (&'a K, &'a V);
    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Iter::Few(i) => i.next().map(|(k, v)| (k, v)),
            Iter::Many(i) => i.next(),
            Iter::Range(i) => i.next(),
        }
    }
}

/// Owning iterator over a [`SmallMap`] in key order.
pub enum IntoIter<K, V> {
    Few(std::vec::IntoIter<(K, V)>),
    Many(btree_map::IntoIter<K, V>),
}

impl<K, V> Iterator for IntoIter<K, V> {
    type Item = (K, V);
    fn next(&mut self) -> Option<(K, V)> {
        match self {
            IntoIter::Few(i) => i.next(),
            IntoIter::Many(i) => i.next(),
        }
    }
}

impl<K, V> IntoIterator for SmallMap<K, V> {
    type Item = (K, V);
    type IntoIter = IntoIter<K, V>;
    fn into_iter(self) -> IntoIter<K, V> {
        match self {
            SmallMap::Few(v) => IntoIter::Few(v.into_iter()),
            SmallMap::Many(m) => IntoIter::Many((*m).into_iter()),
        }
    }
}

impl<'a, K: Ord, V> IntoIterator for &'a SmallMap<K, V> {
    type Item = (&'a K, &'a V);
    type IntoIter = Iter<'a, K, V>;
    fn into_iter(self) -> Iter<'a, K, V> {
        self.iter()
    }
}

impl<K: Ord, V> FromIterator<(K, V)> for SmallMap<K, V> {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut m = SmallMap::new();
        for (k, v) in iter {
            m.insert(k, v);
        }
        m
    }
}

/// An ordered set on a [`SmallMap`].
#[derive(Clone, Debug)]
pub struct SmallSet<K>(SmallMap<K, ()>);

impl<K> Default for SmallSet<K> {
    fn default() -> Self {
        SmallSet(SmallMap::default())
    }
}

impl<K: Ord> SmallSet<K> {
    pub const fn new() -> Self {
        SmallSet(SmallMap::new())
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// Removes everything and frees the storage.
    pub fn clear(&mut self) {
        self.0.clear();
    }
    pub fn contains(&self, k: &K) -> bool {
        self.0.contains_key(k)
    }
    /// True when `k` was not there yet.
    pub fn insert(&mut self, k: K) -> bool {
        self.0.insert(k, ()).is_none()
    }
    /// True when `k` was there.
    pub fn remove(&mut self, k: &K) -> bool {
        self.0.remove(k).is_some()
    }
    /// Replaces `old` by `new` ([`SmallMap::rekey`]); true when `old` was there.
    pub fn replace(&mut self, old: &K, new: K) -> bool {
        self.0.rekey(old, new)
    }
    pub fn first(&self) -> Option<&K> {
        self.0.first().map(|(k, _)| k)
    }
    /// Elements in order.
    pub fn iter(&self) -> impl Iterator<Item = &K> + '_ {
        self.0.keys()
    }
    /// Elements in `range`, in order.
    pub fn range<R: RangeBounds<K>>(&self, range: R) -> impl Iterator<Item = &K> + '_ {
        self.0.range(range).map(|(k, _)| k)
    }
}

impl<K> IntoIterator for SmallSet<K> {
    type Item = K;
    type IntoIter = core::iter::Map<IntoIter<K, ()>, fn((K, ())) -> K>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter().map(|(k, ())| k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[derive(Clone, Debug)]
    enum Op {
        Insert(u8, u16),
        Remove(u8),
        Rekey(u8, u8),
    }

    #[test]
    fn an_embedded_map_or_set_is_three_words() {
        // Hosts embed several of these; the boxed tree keeps each one a `Vec`'s size.
        assert_eq!(
            size_of::<SmallMap<u32, u64>>(),
            size_of::<Vec<(u32, u64)>>()
        );
        assert_eq!(size_of::<SmallSet<(u64, u32)>>(), 3 * size_of::<usize>());
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0u8..40, any::<u16>()).prop_map(|(k, v)| Op::Insert(k, v)),
            (0u8..40).prop_map(Op::Remove),
            (0u8..40, 0u8..40).prop_map(|(a, b)| Op::Rekey(a, b)),
        ]
    }

    proptest! {
        /// Whatever its representation, the map answers as a `BTreeMap` fed the same operations.
        #[test]
        fn behaves_as_a_btreemap(ops in proptest::collection::vec(op(), 0..200), lo in 0u8..40, hi in 0u8..40) {
            let mut small = SmallMap::new();
            let mut model = BTreeMap::new();
            for o in ops {
                match o {
                    Op::Insert(k, v) => prop_assert_eq!(small.insert(k, v), model.insert(k, v)),
                    Op::Remove(k) => prop_assert_eq!(small.remove(&k), model.remove(&k)),
                    Op::Rekey(a, b) => {
                        let moved = model.remove(&a).map(|v| model.insert(b, v));
                        prop_assert_eq!(small.rekey(&a, b), moved.is_some());
                    }
                }
                prop_assert_eq!(small.len(), model.len());
                prop_assert_eq!(small.first(), model.first_key_value());
                if let SmallMap::Few(v) = &small {
                    prop_assert!(v.len() <= FEW);
                    prop_assert_eq!(v.capacity(), v.len(), "capacity follows length");
                }
            }
            prop_assert!(small.iter().eq(model.iter()));
            prop_assert!(small.range(lo..hi.max(lo)).eq(model.range(lo..hi.max(lo))));
            prop_assert!(small.range(lo..).eq(model.range(lo..)));
            prop_assert!(small
                .range((Bound::Excluded(lo), Bound::Unbounded))
                .eq(model.range((Bound::Excluded(lo), Bound::Unbounded))));
            for k in 0..40 {
                prop_assert_eq!(small.get(&k), model.get(&k));
            }
            prop_assert!(small.into_iter().eq(model.into_iter()));
        }
    }

    #[test]
    fn one_entry_costs_one_slot_and_empty_costs_nothing() {
        let mut m = SmallMap::new();
        m.insert(7u32, 1u64);
        assert!(matches!(&m, SmallMap::Few(v) if v.capacity() == 1));
        m.remove(&7);
        assert!(matches!(&m, SmallMap::Few(v) if v.capacity() == 0));
    }

    #[test]
    fn grows_into_a_btree_and_back() {
        let mut m = SmallMap::new();
        for k in 0..=FEW as u32 {
            m.insert(k, ());
        }
        assert!(matches!(m, SmallMap::Many(_)));
        for k in 0..=FEW as u32 - 2 {
            m.remove(&k);
        }
        assert!(matches!(m, SmallMap::Few(_)));
        assert!(m.keys().copied().eq([FEW as u32 - 1, FEW as u32]));
    }
}
