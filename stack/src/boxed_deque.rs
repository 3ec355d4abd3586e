//! [`BoxedDeque`]: a first-in first-out queue that costs one word while empty and frees its
//! storage as soon as it drains.
//!
//! The TCP endpoint's event and output queues are filled by one input and drained by the
//! caller right after it, so they are empty whenever a host is idle. A bare `VecDeque` is four
//! words inline in every host; a simulation of 100,000 hosts pays those 100,000 times.

use std::collections::VecDeque;

/// A FIFO queue boxed behind one pointer (see the module documentation). Invariant: the box
/// is `None` when the queue is empty.
#[derive(Clone, Debug)]
pub struct BoxedDeque<T>(
    // Boxed on purpose: one word inline, where a bare `VecDeque` takes four.
    #[allow(clippy::box_collection)] Option<Box<VecDeque<T>>>,
);

impl<T> Default for BoxedDeque<T> {
    fn default() -> Self {
        BoxedDeque::new()
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

    /// Appends `v` at the back.
    pub fn push_back(&mut self, v: T) {
        self.0.get_or_insert_default().push_back(v);
    }

    /// Puts `v` in front of every queued element.
    pub fn push_front(&mut self, v: T) {
        self.0.get_or_insert_default().push_front(v);
    }

    /// Removes the oldest element; the storage is freed once the queue is empty.
    pub fn pop_front(&mut self) -> Option<T> {
        let q = self.0.as_mut()?;
        let v = q.pop_front();
        if q.is_empty() {
            self.0 = None;
        }
        v
    }

    pub fn iter(&self) -> impl Iterator<Item = &T> + '_ {
        self.0.iter().flat_map(|q| q.iter())
    }
}

impl<T> Extend<T> for BoxedDeque<T> {
    fn extend<I: IntoIterator<Item = T>>(&mut self, iter: I) {
        for v in iter {
            self.push_back(v);
        }
    }
}

impl<T> IntoIterator for BoxedDeque<T> {
    type Item = T;
    type IntoIter = std::iter::Flatten<std::option::IntoIter<VecDeque<T>>>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.map(|q| *q).into_iter().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::BoxedDeque;

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
}
