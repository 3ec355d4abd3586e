//! The `harness` command line. See `harness --help` and the project README.
//! Exit codes for every subcommand: 0 all passed / nothing found, 1 a failure, divergence or
//! finding, 2 bad usage or bad input. The commands themselves live in [`harness::cli`].

use clap::Parser;
use std::process::ExitCode;

/// mimalloc (frames in flight and other small, short-lived allocations cost less than with
/// the system allocator), wrapped in a counter of live bytes so `harness bench` can report
/// live heap bytes per connection.
#[global_allocator]
static GLOBAL: cap::Cap<mimalloc::MiMalloc> = cap::Cap::new(mimalloc::MiMalloc, usize::MAX);

fn live_heap() -> u64 {
    GLOBAL.allocated() as u64
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
