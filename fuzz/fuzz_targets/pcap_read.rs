#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::fuzz::pcap_read(data));
