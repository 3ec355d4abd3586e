//! Search targets: the input bytes draw a scenario from one failure family's space
//! ([`crate::hunt::Case`]); the simulator runs it under the profile named by `HUNT_PROFILE`
//! (default `hardened`, which claims immunity) and the target fails — libFuzzer's "crash" — when
//! the oracle reports the family. `HUNT_PROFILE=windows cargo fuzz run hunt_rst_loss` therefore
//! hunts the vulnerable configuration; the default run checks the immune one.

use crate::hunt::{fuzz_one, Family};

/// RST loss (incident A's space).
pub fn hunt_rst_loss(data: &[u8]) {
    fuzz_one(Family::RstLoss, data);
}

/// TIME-WAIT assassination (incident D's space, RFC 1337).
pub fn hunt_time_wait(data: &[u8]) {
    fuzz_one(Family::TimeWait, data);
}

/// Half-open connections (incident B's space: NAT expiry, crashes, reboots, outages).
pub fn hunt_half_open(data: &[u8]) {
    fuzz_one(Family::HalfOpen, data);
}
