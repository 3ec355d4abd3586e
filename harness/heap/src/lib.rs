//! A global allocator that counts the live heap bytes of each thread: what `harness bench`
//! reports per connection, and what `--breakdown` reads around each part it frees.
//!
//! Each thread counts on a thread-local integer, so counting costs no atomic operation and
//! threads never write to a shared cache line. One set of counters shared by every thread (the
//! `stats_alloc` crate's, used before) cost `hunt --jobs 2` 1.3-1.5x the CPU time of
//! `--jobs 1` for the same runs: a hunt run makes about 7,000 allocator calls, each two atomic
//! adds to the one line, which then bounced between the two cores.
//!
//! The count is the calling thread's: bytes it allocated minus bytes it freed (a block freed
//! by another thread counts there). `harness bench` builds, runs and weighs its world on one
//! thread, so its figure is the world's live heap.
//!
//! ```
//! #[global_allocator]
//! static GLOBAL: heap_count::ThreadCounted = heap_count::ThreadCounted;
//!
//! fn main() {
//!     let before = heap_count::live_bytes();
//!     let v = vec![0u8; 1000];
//!     assert_eq!(heap_count::live_bytes() - before, 1000);
//!     drop(v);
//! }
//! ```

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// The system allocator, counting each thread's live bytes (see [`live_bytes`]).
#[derive(Clone, Copy, Debug, Default)]
pub struct ThreadCounted;

thread_local! {
    /// Bytes this thread allocated minus bytes it freed. A const-initialised `Cell` without a
    /// destructor: reading or writing it never allocates, even while the thread exits.
    static LIVE: Cell<i64> = const { Cell::new(0) };
}

/// Adds `delta` to the calling thread's count.
fn book(delta: i64) {
    let _ = LIVE.try_with(|l| l.set(l.get().wrapping_add(delta)));
}

/// The calling thread's live heap bytes while [`ThreadCounted`] is the global allocator: bytes
/// it allocated minus bytes it freed since it started (negative when it freed more than it
/// allocated, e.g. blocks another thread made). Always 0 under another allocator.
pub fn live_bytes() -> i64 {
    LIVE.try_with(Cell::get).unwrap_or(0)
}

/// Byte counts as `i64` (a `Layout`'s size never exceeds `isize::MAX`).
fn signed(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

// The one unsafe item of this crate: `GlobalAlloc` is an unsafe trait. Every method passes its
// arguments to `System` unchanged and returns what it returned, so the callers' contract is
// `System`'s; the only addition is the thread-local count, which neither allocates nor panics.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for ThreadCounted {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, which is `System`'s.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            book(signed(layout.size()));
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as in `alloc`.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            book(signed(layout.size()));
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator, i.e. from `System`, with `layout`.
        unsafe { System.dealloc(ptr, layout) };
        book(-signed(layout.size()));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as in `dealloc`; on failure the old block stays allocated and uncounted
        // changes nothing.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            book(signed(new_size) - signed(layout.size()));
        }
        p
    }
}
