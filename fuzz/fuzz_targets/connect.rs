//! The first bytes a client sends on a new connection, served by the broker's real connection
//! task; see `harness::ConnectHarness` for what is checked.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

#[path = "../harness.rs"]
mod harness;

/// One broker per fuzz process: opening RocksDB per input would dwarf the work under test.
static HARNESS: OnceLock<harness::ConnectHarness> = OnceLock::new();

fuzz_target!(|data: &[u8]| HARNESS.get_or_init(harness::ConnectHarness::new).check(data));
