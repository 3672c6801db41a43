//! Arbitrary bytes through the packet decoder, in every connection state; see
//! `harness::check_decode` for what is checked.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../harness.rs"]
mod harness;

fuzz_target!(|data: &[u8]| harness::check_decode(data));
