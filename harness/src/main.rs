//! The `harness` command line. See `harness --help` and the project README.
//! Exit codes for every subcommand: 0 all passed / nothing found, 1 a failure, divergence or
//! finding, 2 bad usage or bad input. The commands themselves live in [`harness::cli`].

use clap::Parser;
use std::process::ExitCode;

/// Counts every allocation so `harness bench` can report live heap bytes per connection.
#[global_allocator]
static GLOBAL: &stats_alloc::StatsAlloc<std::alloc::System> = &stats_alloc::INSTRUMENTED_SYSTEM;

fn live_heap() -> u64 {
    let s = GLOBAL.stats();
    // stats_alloc already books a realloc's growth in bytes_allocated and its shrinkage in
    // bytes_deallocated (bytes_reallocated is the same net change again).
    let live = s.bytes_allocated as i128 - s.bytes_deallocated as i128;
    live.max(0) as u64
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
