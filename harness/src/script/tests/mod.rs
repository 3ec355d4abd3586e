//! Tests of the whole parser: malformed corpus, well-formed scripts, round trips, proptests.

mod malformed;
mod roundtrip;
mod wellformed;
