//! Search targets: inputs are fault plans for the simulator, the property is the absence of
//! a known incident shape (a lost RST leaving a half-open connection, TIME-WAIT assassination,
//! a half-open connection that never recovers).
//!
//! The simulator is not in the workspace yet: these entry points accept every input and check
//! nothing until it lands (the fuzz targets already exist so the corpus layout and CI are
//! stable).

/// RST loss: stub until the simulator lands.
pub fn hunt_rst_loss(data: &[u8]) {
    let _ = data;
}

/// TIME-WAIT assassination (RFC 1337): stub until the simulator lands.
pub fn hunt_time_wait(data: &[u8]) {
    let _ = data;
}

/// Half-open connection recovery (RFC 9293 §3.5.1): stub until the simulator lands.
pub fn hunt_half_open(data: &[u8]) {
    let _ = data;
}
