//! [`BoxedDeque`]: a first-in first-out queue that costs one word while empty and frees its
//! storage as soon as it drains.
//!
//! The TCP endpoint's event and output queues are filled by one input and drained by the
//! caller right after it, so they are empty whenever a host is idle. A bare `VecDeque` is four
//! words inline in every host; a simulation of 100,000 hosts pays those 100,000 times.
//!
//! While it holds at most [`INLINE`] elements (the usual burst: a segment or two, a few
//! events) the queue is one allocation, a small ring; past that it moves to a `VecDeque`
//! until it drains. Filling and draining an empty queue thus costs one allocation and one
//! free, not the two of a boxed `VecDeque` (its box and its buffer) plus its growth steps.

use std::collections::VecDeque;

/// Elements kept in the single-allocation ring before the queue moves to a `VecDeque`.
pub const INLINE: usize = 4;

/// Where the elements of a non-empty queue live.
#[derive(Clone)]
enum Store<T> {
    /// `len` elements (1 to [`INLINE`]) at `slots[(head + i) % INLINE]`, oldest first; the
    /// other slots are `None`.
    Ring {
        head: usize,
        len: usize,
        slots: [Option<T>; INLINE],
    },
    /// More than fit the ring were queued at once: a `VecDeque` until the queue drains.
    Spilled(VecDeque<T>),
}

impl<T> Store<T> {
    fn len(&self) -> usize {
        match self {
            Store::Ring { len, .. } => *len,
            Store::Spilled(q) => q.len(),
        }
    }

    fn get(&self, i: usize) -> Option<&T> {
        match self {
            Store::Ring { head, len, slots } if i < *len => slots[(head + i) % INLINE].as_ref(),
            Store::Ring { .. } => None,
            Store::Spilled(q) => q.get(i),
        }
    }

    /// Moves a full ring's elements into a `VecDeque` (with room for as many again).
    fn spill(&mut self) -> &mut VecDeque<T> {
        if let Store::Ring { head, len, slots } = self {
            let mut q = VecDeque::with_capacity(2 * INLINE);
            for i in 0..*len {
                q.extend(slots[(*head + i) % INLINE].take());
            }
            *self = Store::Spilled(q);
        }
        match self {
            Store::Spilled(q) => q,
            Store::Ring { .. } => unreachable!("spilled just above"),
        }
    }
}

/// A FIFO queue boxed behind one pointer (see the module documentation). Invariant: the box
/// is `None` when the queue is empty.
#[derive(Clone)]
pub struct BoxedDeque<T>(Option<Box<Store<T>>>);

impl<T> Default for BoxedDeque<T> {
    fn default() -> Self {
        BoxedDeque::new()
    }
}

impl<T: core::fmt::Debug> core::fmt::Debug for BoxedDeque<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<T> BoxedDeque<T> {
    pub const fn new() -> Self {
        BoxedDeque(None)
    }

    pub fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |q| q.len())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    /// A ring holding `v` alone.
    fn one(v: T) -> Box<Store<T>> {
        Box::new(Store::Ring {
            head: 0,
            len: 1,
            slots: [Some(v), None, None, None],
        })
    }

    /// Appends `v` at the back.
    pub fn push_back(&mut self, v: T) {
        let Some(store) = self.0.as_mut() else {
            self.0 = Some(Self::one(v));
            return;
        };
        match &mut **store {
            Store::Ring { head, len, slots } if *len < INLINE => {
                slots[(*head + *len) % INLINE] = Some(v);
                *len += 1;
            }
            s => s.spill().push_back(v),
        }
    }

    /// Puts `v` in front of every queued element.
    pub fn push_front(&mut self, v: T) {
        let Some(store) = self.0.as_mut() else {
            self.0 = Some(Self::one(v));
            return;
        };
        match &mut **store {
            Store::Ring { head, len, slots } if *len < INLINE => {
                *head = (*head + INLINE - 1) % INLINE;
                slots[*head] = Some(v);
                *len += 1;
            }
            s => s.spill().push_front(v),
        }
    }

    /// Removes the oldest element; the storage is freed once the queue is empty.
    pub fn pop_front(&mut self) -> Option<T> {
        let store = self.0.as_mut()?;
        let (v, empty) = match &mut **store {
            Store::Ring { head, len, slots } => {
                let v = slots[*head].take();
                *head = (*head + 1) % INLINE;
                *len -= 1;
                (v, *len == 0)
            }
            Store::Spilled(q) => {
                let v = q.pop_front();
                (v, q.is_empty())
            }
        };
        if empty {
            self.0 = None;
        }
        v
    }

    pub fn iter(&self) -> Iter<'_, T> {
        Iter {
            store: self.0.as_deref(),
            at: 0,
        }
    }
}

/// The elements of a [`BoxedDeque`], oldest first.
pub struct Iter<'a, T> {
    store: Option<&'a Store<T>>,
    at: usize,
}

impl<'a, T> Iterator for Iter<'a, T> {
    type Item = &'a T;

    fn next(&mut self) -> Option<&'a T> {
        let v = self.store?.get(self.at)?;
        self.at += 1;
        Some(v)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.store.map_or(0, |s| s.len().saturating_sub(self.at));
        (n, Some(n))
    }
}

impl<T> Extend<T> for BoxedDeque<T> {
    fn extend<I: IntoIterator<Item = T>>(&mut self, iter: I) {
        for v in iter {
            self.push_back(v);
        }
    }
}

/// The elements of a [`BoxedDeque`] by value, oldest first.
pub struct IntoIter<T>(BoxedDeque<T>);

impl<T> Iterator for IntoIter<T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        self.0.pop_front()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.0.len();
        (n, Some(n))
    }
}

impl<T> IntoIterator for BoxedDeque<T> {
    type Item = T;
    type IntoIter = IntoIter<T>;

    fn into_iter(self) -> IntoIter<T> {
        IntoIter(self)
    }
}

#[cfg(test)]
mod tests {
    use super::{BoxedDeque, Store, INLINE};
    use std::collections::VecDeque;

    #[test]
    fn keeps_order_and_frees_storage_when_drained() {
        let mut q = BoxedDeque::new();
        assert!(q.is_empty());
        q.push_back(2);
        q.push_back(3);
        q.push_front(1);
        assert_eq!(q.len(), 3);
        assert_eq!(q.iter().copied().collect::<Vec<_>>(), [1, 2, 3]);
        assert_eq!(q.pop_front(), Some(1));
        assert_eq!(q.pop_front(), Some(2));
        assert!(!q.is_empty());
        assert_eq!(q.pop_front(), Some(3));
        assert!(q.0.is_none(), "a drained queue keeps no storage");
        assert_eq!(q.pop_front(), None);
        q.extend([4, 5]);
        assert_eq!(q.into_iter().collect::<Vec<_>>(), [4, 5]);
    }

    #[test]
    fn is_one_word() {
        assert_eq!(size_of::<BoxedDeque<[u8; 64]>>(), size_of::<usize>());
    }

    /// A small burst stays in the one-allocation ring; a larger one moves to a `VecDeque`
    /// with nothing lost or reordered, and the queue is freed once drained either way.
    #[test]
    fn spills_past_the_ring_and_frees_when_drained() {
        let mut q = BoxedDeque::new();
        q.extend(0..INLINE as u32);
        assert!(matches!(q.0.as_deref(), Some(Store::Ring { .. })));
        q.push_back(99);
        assert!(matches!(q.0.as_deref(), Some(Store::Spilled(_))));
        q.push_front(100);
        assert_eq!(q.len(), INLINE + 2);
        let mut want = vec![100];
        want.extend(0..INLINE as u32);
        want.push(99);
        assert_eq!(q.iter().copied().collect::<Vec<_>>(), want);
        assert_eq!(q.clone().into_iter().collect::<Vec<_>>(), want);
        for w in want {
            assert_eq!(q.pop_front(), Some(w));
        }
        assert!(q.0.is_none());
        // A full ring, then push_front: spills too.
        q.extend(1..=INLINE as u32);
        q.push_front(0);
        assert_eq!(
            q.iter().copied().collect::<Vec<_>>(),
            (0..=INLINE as u32).collect::<Vec<_>>()
        );
    }

    /// Random operations against `VecDeque` as the model: the same elements in the same
    /// order after every step, and no storage whenever empty.
    #[test]
    fn behaves_as_a_vecdeque() {
        let mut rng = crate::rand::Rng::new(7);
        let mut q = BoxedDeque::new();
        let mut model = VecDeque::new();
        for step in 0..20_000u32 {
            match rng.below(8) {
                0..=2 => {
                    q.push_back(step);
                    model.push_back(step);
                }
                3 => {
                    q.push_front(step);
                    model.push_front(step);
                }
                _ => assert_eq!(q.pop_front(), model.pop_front()),
            }
            assert_eq!(q.len(), model.len());
            assert_eq!(q.is_empty(), model.is_empty());
            assert_eq!(q.0.is_none(), model.is_empty());
            assert!(q.iter().eq(model.iter()), "step {step}");
            assert_eq!(q.iter().size_hint(), (model.len(), Some(model.len())));
        }
    }
}
