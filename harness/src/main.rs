//! The `harness` command line. See `harness --help` and the project README.
//! Exit codes for every subcommand: 0 all passed / nothing found, 1 a failure, divergence or
//! finding, 2 bad usage or bad input.

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "harness",
    version,
    about = "Fuzzing and conformance harness for TCP and ARP",
    long_about = "Runs packetdrill-style conformance scripts and multi-host scenarios against TCP \
stacks on a virtual clock, reports RST loss, TIME-WAIT assassination and half-open connections, \
and draws exchanges as ladder diagrams.\n\nExit codes: 0 all passed / nothing found, 1 a failure \
or finding, 2 bad usage or bad input."
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum BenchCmd {
    /// Bulk transfer between two hosts over an in-memory Ethernet link (checksums on,
    /// 1514-byte frames, 64 KiB buffers): the reference stack beside smoltcp on the same
    /// workload, alternating runs; prints frames/s, MiB/s and the ratio.
    Bulk {
        /// MiB transferred per run.
        #[arg(long, default_value_t = 64)]
        mib: u64,
        /// Runs per stack (alternating); the median is reported.
        #[arg(long, default_value_t = 3)]
        rounds: u32,
    },
}

#[derive(Subcommand)]
enum Cmd {
    /// Run scripts (.pkt) and scenarios (.toml); directories are searched recursively.
    Run {
        /// Files or directories (default: conformance/).
        paths: Vec<PathBuf>,
        /// The stack under test.
        #[arg(long, default_value = "reference")]
        stack: String,
        /// A named profile for every host/stack (default: what each file asks for).
        #[arg(long)]
        profile: Option<String>,
        /// Override one knob, e.g. tcp.time_wait_rst=ignore (repeatable).
        #[arg(long = "set", value_name = "KNOB=VALUE")]
        set: Vec<String>,
        /// Write pcaps of every run into this directory.
        #[arg(long)]
        pcap_dir: Option<PathBuf>,
        /// Output format.
        #[arg(long, default_value = "text", value_parser = ["text", "json"])]
        format: String,
        /// Parallel workers (runs are independent; output order does not change).
        #[arg(long, default_value_t = 1)]
        jobs: usize,
        /// Seed for scenarios (default: what each file says).
        #[arg(long)]
        seed: Option<u64>,
    },
    /// List profiles, or print every knob of one profile.
    Profiles {
        /// A profile name.
        name: Option<String>,
    },
    /// Draw a pcap, script or scenario run as a ladder diagram.
    ///
    /// By default every connection of the first segment is drawn, connections that did exactly
    /// the same thing are drawn once with a "× N the same: ..." line, quiet stretches are
    /// folded into one "… 118 s idle …" line, and lines fit the terminal (160 columns when
    /// stdout is not a terminal). Findings are marked beside the host they happened on; a packet
    /// lost in its sender's ARP queue ends in an X beside the sender, a frame lost on the wire
    /// ends in an X halfway.
    #[command(verbatim_doc_comment)]
    Ladder {
        file: PathBuf,
        /// Also write SVG here (same choices as the text).
        #[arg(long)]
        svg: Option<PathBuf>,
        /// Only frames to or from this host (scenario node name, or an address).
        #[arg(long)]
        host: Option<String>,
        /// Only this connection: its index (see --conns) or a.b.c.d:p-e.f.g.h:q.
        #[arg(long)]
        conn: Option<String>,
        /// Only the exchange around this finding: its number, a kind (first one) or KIND#N.
        #[arg(long, value_name = "FINDING")]
        around: Option<String>,
        /// Rows shown either side of the finding with --around.
        #[arg(long, default_value_t = 8)]
        context: usize,
        /// Draw every connection (no "× N the same" summary).
        #[arg(long)]
        all: bool,
        /// Widest line in characters (0: no limit; default: the terminal, else 160).
        #[arg(long)]
        width: Option<usize>,
        /// Fold quiet stretches at least this many seconds long (0: never).
        #[arg(long, default_value_t = 10.0, value_name = "SECS")]
        fold: f64,
        /// List the connections (index, 4-tuple, frames) instead of drawing.
        #[arg(long)]
        conns: bool,
    },
    /// Search for failures: rst-loss | time-wait-assassination | half-open | all.
    /// Writes each minimised finding as a scenario + pcap and prints the command that replays it.
    /// Shows a progress bar on stderr while hunting when stderr is a terminal (nothing otherwise)
    /// and a one-line summary at the end; --quiet silences both.
    Hunt {
        family: String,
        /// The profile searched (the stack configuration of every host).
        #[arg(long, default_value = "rfc9293")]
        profile: String,
        /// Override one knob, repeatable.
        #[arg(long = "set", value_name = "KNOB=VALUE")]
        set: Vec<String>,
        /// Budget: number of runs.
        #[arg(long)]
        runs: Option<u64>,
        /// Budget: wall-clock seconds (default 30 when --runs is not given).
        #[arg(long)]
        seconds: Option<f64>,
        /// Same seed, same search.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Where minimised reproducers go.
        #[arg(long, default_value = "corpora/findings")]
        out: PathBuf,
        /// Worker threads (default: the available cores). The findings are the same for any
        /// number: cases are drawn in one seeded sequence and judged in that order.
        #[arg(long)]
        jobs: Option<usize>,
        /// No progress bar and no summary line on stderr (the findings still go to stdout).
        #[arg(long, short)]
        quiet: bool,
    },
    /// Benchmark the simulator: N clients idling H hours through a NAT with keepalive 300 s.
    /// Prints wall time, simulated events per second and memory per connection (live heap,
    /// counted by the allocator); a sweep (--clients 1000,10000,100000) adds a table and the
    /// fitted scaling exponent. `harness bench bulk`: bulk transfer, reference vs smoltcp.
    Bench {
        #[command(subcommand)]
        what: Option<BenchCmd>,
        /// Clients, or a comma-separated sweep.
        #[arg(long, value_delimiter = ',', default_value = "1000")]
        clients: Vec<u32>,
        #[arg(long, default_value_t = 2)]
        hours: u32,
        /// Keep every frame in the trace (as scenario runs do) and run the oracles.
        #[arg(long)]
        capture: bool,
        /// Print the generated scenario instead of running it.
        #[arg(long)]
        print_scenario: bool,
        /// No progress bar on stderr.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Trace conformance of recorded captures (pcap/pcapng) against the reference model:
    /// per TCP connection the first divergence (frame numbers, expected vs actual), plus the
    /// findings the frames prove. Exit 0 clean, 1 divergence or finding, 2 bad input.
    Check {
        /// Capture files.
        #[arg(required = true)]
        pcaps: Vec<PathBuf>,
        /// The endpoint under test (default: guessed, and said so).
        #[arg(long)]
        dut: Option<std::net::Ipv4Addr>,
        /// Judge against one profile (default: the profile that explains the capture best).
        #[arg(long, conflicts_with = "best_profile")]
        profile: Option<String>,
        /// Rank every profile by how much of the capture it explains, and print the ranking.
        #[arg(long)]
        best_profile: bool,
        /// Output format.
        #[arg(long, default_value = "text", value_parser = ["text", "json"])]
        format: String,
    },
    /// Re-drive a stack with the peer's side of a recording (sequence numbers rewritten onto
    /// the stack's ISN, recorded timing on the virtual clock) and compare what it sends with
    /// what the recorded DUT sent. Exit 0 same behaviour, 1 divergence, 2 bad input.
    Replay {
        pcap: PathBuf,
        /// The stack re-driven.
        #[arg(long, default_value = "reference")]
        stack: String,
        /// The endpoint whose behaviour is compared (default: guessed, and said so).
        #[arg(long)]
        dut: Option<std::net::Ipv4Addr>,
        /// The stack's profile (default rfc9293).
        #[arg(long, default_value = "rfc9293")]
        profile: String,
        /// Output format.
        #[arg(long, default_value = "text", value_parser = ["text", "json"])]
        format: String,
    },
    /// Run a script or scenario once and keep the capture.
    Record {
        file: PathBuf,
        #[arg(long, default_value = "reference")]
        stack: String,
        #[arg(long)]
        pcap: PathBuf,
    },
}

/// Counts every allocation so `harness bench` can report live heap bytes per connection.
#[global_allocator]
static GLOBAL: &stats_alloc::StatsAlloc<std::alloc::System> = &stats_alloc::INSTRUMENTED_SYSTEM;

fn live_heap() -> u64 {
    let s = GLOBAL.stats();
    let live =
        s.bytes_allocated as i128 - s.bytes_deallocated as i128 + s.bytes_reallocated as i128;
    live.max(0) as u64
}

fn main() -> ExitCode {
    harness::bench::set_heap_probe(live_heap);
    let cli = Cli::parse();
    match harness::cli::dispatch(cli.cmd.into()) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("harness: {e}");
            ExitCode::from(2)
        }
    }
}

impl From<Cmd> for harness::cli::Command {
    fn from(c: Cmd) -> Self {
        use harness::cli::Command as C;
        match c {
            Cmd::Run {
                paths,
                stack,
                profile,
                set,
                pcap_dir,
                format,
                jobs,
                seed,
            } => C::Run {
                paths,
                stack,
                profile,
                set,
                pcap_dir,
                json: format == "json",
                jobs,
                seed,
            },
            Cmd::Profiles { name } => C::Profiles { name },
            Cmd::Bench {
                what: Some(BenchCmd::Bulk { mib, rounds }),
                ..
            } => C::BenchBulk { mib, rounds },
            Cmd::Bench {
                what: None,
                clients,
                hours,
                capture,
                print_scenario,
                quiet,
            } => C::Bench {
                clients,
                hours,
                capture,
                print_scenario,
                quiet,
            },
            Cmd::Hunt {
                family,
                profile,
                set,
                runs,
                seconds,
                seed,
                out,
                jobs,
                quiet,
            } => C::Hunt {
                family,
                profile,
                set,
                runs,
                seconds,
                seed,
                out,
                jobs,
                quiet,
            },
            Cmd::Ladder {
                file,
                svg,
                host,
                conn,
                around,
                context,
                all,
                width,
                fold,
                conns,
            } => C::Ladder {
                file,
                svg,
                selection: harness::ladder::Selection {
                    host,
                    conn,
                    around,
                    context: Some(context),
                    all,
                },
                width,
                fold,
                list_conns: conns,
            },
            Cmd::Record { file, stack, pcap } => C::Record { file, stack, pcap },
            Cmd::Check {
                pcaps,
                dut,
                profile,
                best_profile,
                format,
            } => C::Check {
                pcaps,
                dut,
                profile,
                best_profile,
                json: format == "json",
            },
            Cmd::Replay {
                pcap,
                stack,
                dut,
                profile,
                format,
            } => C::Replay {
                pcap,
                stack,
                dut,
                profile,
                json: format == "json",
            },
        }
    }
}
