//! `harness`: drives TCP stacks — simulator, scripts, oracles, pcap, hunt — and the CLI.

pub mod bench;
pub mod capture;
pub mod check;
pub mod cli;
pub mod dut;
pub mod evidence;
pub mod expect;
pub mod explain;
pub mod fuzz;
pub mod hunt;
pub mod input;
pub mod ladder;
pub mod location;
pub mod options;
pub mod oracle;
pub mod outcome;
pub mod pcap;
pub mod progress;
pub mod render;
pub mod report;
pub mod run;
pub mod scenario;
pub mod script;
pub mod sim;
pub mod stacks;
pub mod trace;
