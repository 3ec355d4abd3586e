//! The count, with `ThreadCounted` installed as this test binary's global allocator.

use std::hint::black_box;

#[global_allocator]
static GLOBAL: heap_count::ThreadCounted = heap_count::ThreadCounted;

#[test]
fn allocations_count_until_freed() {
    let before = heap_count::live_bytes();
    let v: Vec<u8> = black_box(Vec::with_capacity(4096));
    assert_eq!(heap_count::live_bytes() - before, 4096);
    let z = black_box(vec![0u64; 100]); // alloc_zeroed
    assert_eq!(heap_count::live_bytes() - before, 4096 + 800);
    drop(v);
    drop(z);
    assert_eq!(heap_count::live_bytes(), before);
}

#[test]
fn a_reallocation_counts_its_change_in_size() {
    let before = heap_count::live_bytes();
    let mut v: Vec<u8> = black_box(Vec::with_capacity(100));
    v.reserve_exact(1000);
    assert_eq!(heap_count::live_bytes() - before, 1000);
    v.shrink_to(10);
    assert_eq!(heap_count::live_bytes() - before, 10);
    drop(v);
    assert_eq!(heap_count::live_bytes(), before);
}

/// Another thread's allocations are its own: they do not move this thread's count, and what a
/// thread frees that another made counts on the thread that freed it.
#[test]
fn each_thread_counts_its_own() {
    // Spawning and joining allocate on this thread too: compare a thread that allocates a
    // megabyte with one that allocates nothing.
    let run = |n: usize| {
        let before = heap_count::live_bytes();
        let (there, kept) = std::thread::spawn(move || {
            let start = heap_count::live_bytes();
            let v: Vec<u8> = black_box(Vec::with_capacity(n));
            (heap_count::live_bytes() - start, v)
        })
        .join()
        .expect("thread");
        (heap_count::live_bytes() - before, there, kept)
    };
    let (here_none, there_none, _) = run(0);
    let (here_mb, there_mb, kept) = run(1 << 20);
    assert_eq!((there_none, there_mb), (0, 1 << 20));
    assert_eq!(
        here_mb, here_none,
        "the other thread's megabyte counted here"
    );
    let before = heap_count::live_bytes();
    drop(kept);
    assert_eq!(heap_count::live_bytes() - before, -(1 << 20));
}
