//! The stack-under-test plug-in point lives in its own crate, [`::dut`]; this module re-exports
//! it so the harness says `crate::dut::Dut`.

pub use ::dut::*;
