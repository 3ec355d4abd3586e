//! The `harness` command line. See `harness --help` and the project README.
//! Exit codes for every subcommand: 0 all passed / nothing found, 1 a failure, divergence or
//! finding, 2 bad usage or bad input. The commands themselves live in [`harness::cli`].

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = harness::cli::Cli::parse();
    match harness::cli::dispatch(cli.cmd) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("harness: {e}");
            ExitCode::from(2)
        }
    }
}
