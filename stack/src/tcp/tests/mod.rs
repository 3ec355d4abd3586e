//! TCP tests: a packetdrill-like kit (`send!`, `recv!`, `recv_nothing!`), state fixtures, rstest
//! tables of SEGMENT ARRIVES per state, proptest invariants, two-endpoint transfers, keepalive,
//! incident D and profiles.

#[macro_use]
mod kit;
mod arrive_table;
mod congestion;
mod data_loss;
mod endpoint;
mod first_check;
mod handshake;
mod incident_d;
mod keepalive;
mod pair;
mod props;
mod reassembly;
mod receive_window;
mod scale;
mod send_window;
mod sws;
mod timers;
mod timestamps;
