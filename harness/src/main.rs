//! The `harness` command line. See `harness --help` and the project README.
//! Exit codes for every subcommand: 0 all passed / nothing found, 1 a failure, divergence or
//! finding, 2 bad usage or bad input. The commands themselves live in [`harness::cli`].

use clap::Parser;
use std::process::ExitCode;

/// Counts each thread's live heap bytes so `harness bench` can report them per connection
/// (per thread, so that `hunt --jobs N`'s threads do not share a counter: see `heap_count`).
#[global_allocator]
static GLOBAL: heap_count::ThreadCounted = heap_count::ThreadCounted;

/// The bench builds, runs and weighs its world on the calling thread: its live heap.
fn live_heap() -> u64 {
    heap_count::live_bytes().max(0) as u64
}

fn main() -> ExitCode {
    harness::bench::set_heap_probe(live_heap);
    let cli = harness::cli::Cli::parse();
    match harness::cli::dispatch(cli.cmd) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("harness: {e}");
            ExitCode::from(2)
        }
    }
}
