//! `harness`: drives TCP stacks — simulator, scripts, oracles, pcap, hunt — and the CLI.

pub mod fuzz;
pub mod pcap;
pub mod render;
pub mod script;
