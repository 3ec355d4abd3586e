//! Tests of the whole parser: malformed corpus, well-formed scripts, round trips, proptests.

mod malformed;
mod packetdrill_dir;
mod roundtrip;
mod wellformed;
