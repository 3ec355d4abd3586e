//! The conformance suite: scripts by RFC section and incident scenarios, run by `cargo test`.
