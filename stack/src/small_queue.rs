//! [`SmallQueue`]: a first-in first-out queue that keeps its oldest element inline and
//! allocates only for a backlog behind it, released as soon as the backlog drains.
//!
//! The output queues of a host (frames for the wire, ARP transmits) usually hold one item at
//! a time: it is pushed by one input and popped by the next `poll_transmit`. A `VecDeque`
//! keeps the storage of its largest backlog forever (4 slots after the first push), which a
//! simulation of 100,000 idle hosts pays 100,000 times; this queue holds no heap at all
//! while at most one item waits.

use std::collections::VecDeque;

/// A FIFO queue (see the module documentation). Invariant: `head` is `None` only when the
/// queue is empty, so `rest` is always behind `head`, and `rest` is `None` when it would be
/// empty (the backlog, boxed, costs one word inline).
#[derive(Clone, Debug)]
pub struct SmallQueue<T> {
    head: Option<T>,
    // Boxed on purpose: one word inline, where a bare `VecDeque` takes four in every host.
    #[allow(clippy::box_collection)]
    rest: Option<Box<VecDeque<T>>>,
}

impl<T> Default for SmallQueue<T> {
    fn default() -> Self {
        SmallQueue::new()
    }
}

impl<T> SmallQueue<T> {
    pub const fn new() -> Self {
        SmallQueue {
            head: None,
            rest: None,
        }
    }

    pub fn len(&self) -> usize {
        usize::from(self.head.is_some()) + self.rest.as_ref().map_or(0, |r| r.len())
    }

    pub fn is_empty(&self) -> bool {
        self.head.is_none()
    }

    /// Appends `v` at the back.
    pub fn push_back(&mut self, v: T) {
        if self.head.is_none() {
            self.head = Some(v);
        } else {
            self.rest.get_or_insert_default().push_back(v);
        }
    }

    /// Removes the oldest element; the backlog's storage is freed once it is empty.
    pub fn pop_front(&mut self) -> Option<T> {
        let v = self.head.take()?;
        if let Some(rest) = &mut self.rest {
            self.head = rest.pop_front();
            if rest.is_empty() {
                self.rest = None;
            }
        }
        Some(v)
    }

    /// The elements, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &T> + '_ {
        self.head
            .iter()
            .chain(self.rest.iter().flat_map(|r| r.iter()))
    }
}

#[cfg(test)]
mod tests {
    use super::SmallQueue;
    use std::collections::VecDeque;

    #[test]
    fn behaves_as_a_fifo_queue() {
        // Any sequence of pushes and pops gives what a VecDeque gives.
        let mut q = SmallQueue::new();
        let mut model = VecDeque::new();
        let mut x = 7u32;
        for step in 0..2_000u32 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            if (x >> 16) % 3 == 0 {
                assert_eq!(q.pop_front(), model.pop_front(), "step {step}");
            } else {
                q.push_back(step);
                model.push_back(step);
            }
            assert_eq!(q.len(), model.len());
            assert_eq!(q.is_empty(), model.is_empty());
            assert!(q.iter().eq(model.iter()));
        }
    }

    #[test]
    fn one_waiting_item_holds_no_heap_and_a_drained_backlog_is_freed() {
        let mut q = SmallQueue::new();
        q.push_back(1u64);
        assert!(q.rest.is_none());
        q.push_back(2);
        q.push_back(3);
        assert!(q.rest.is_some());
        assert_eq!(q.pop_front(), Some(1));
        assert_eq!(q.pop_front(), Some(2));
        assert!(q.rest.is_none(), "backlog released when it drains");
        assert_eq!(size_of::<SmallQueue<Vec<u8>>>(), 4 * size_of::<usize>());
        assert_eq!(q.pop_front(), Some(3));
        assert_eq!(q.pop_front(), None);
    }
}
