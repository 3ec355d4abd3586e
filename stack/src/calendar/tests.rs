use super::*;
use proptest::prelude::*;

/// One step of a calendar's life: push an item at an offset from the last popped deadline
/// (small, a ring's length or more ahead, or in the past), or pop.
#[derive(Clone, Debug)]
enum Op {
    Push { ahead_us: u64, back: bool, item: u8 },
    Pop,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0u64..3 * SLOT_US, any::<bool>(), 0u8..4).prop_map(|(a, back, item)| Op::Push {
            ahead_us: a,
            back,
            item
        }),
        1 => (0u64..4, 0u8..4).prop_map(|(k, item)| Op::Push {
            // Beyond the ring, by a whole ring or more.
            ahead_us: (SLOTS as u64 + k * 700) * SLOT_US + k,
            back: false,
            item
        }),
        3 => Just(Op::Pop),
    ]
}

proptest! {
    /// Whatever is pushed (also before the current slot, or beyond the ring), the calendar
    /// pops exactly what a binary heap over all items pops, in the same order.
    #[test]
    fn pops_in_the_order_of_a_binary_heap(ops in proptest::collection::vec(op(), 0..300)) {
        let mut cal = Calendar::new();
        let mut model = BinaryHeap::new();
        let mut now = 0u64;
        for op in ops {
            match op {
                Op::Push { ahead_us, back, item } => {
                    let us = if back { now.saturating_sub(ahead_us) } else { now + ahead_us };
                    let t = Instant::from_micros(us);
                    cal.push(t, item);
                    model.push(Reverse((t, item)));
                }
                Op::Pop => {
                    let want = model.pop().map(|r| r.0);
                    prop_assert_eq!(cal.pop(), want);
                    if let Some((t, _)) = want {
                        now = now.max(t.total_micros());
                    }
                }
            }
            prop_assert_eq!(cal.len(), model.len());
            prop_assert_eq!(cal.peek(), model.peek().map(|r| r.0));
            prop_assert_eq!(cal.is_empty(), model.is_empty());
        }
        while let Some(Reverse(want)) = model.pop() {
            prop_assert_eq!(cal.pop(), Some(want));
        }
        prop_assert_eq!(cal.pop(), None);
    }
}

/// Deadlines a long way apart (hours, the end of time) come out in order without visiting
/// the empty slots between them one by one.
#[test]
fn far_apart_deadlines_in_order() {
    let mut cal = Calendar::new();
    let times = [
        Instant::MAX,
        Instant::from_secs(7200),
        Instant::from_secs(1),
        Instant::from_secs(600),
        Instant::from_micros(3),
    ];
    for (k, t) in times.iter().enumerate() {
        cal.push(*t, k);
    }
    let mut sorted: Vec<(Instant, usize)> = times.iter().copied().zip(0..).collect();
    sorted.sort();
    for want in sorted {
        assert_eq!(cal.pop(), Some(want));
    }
    assert!(cal.is_empty());
    cal.push(Instant::from_secs(5), 9);
    cal.clear();
    assert_eq!((cal.len(), cal.pop()), (0, None));
}
