//! Fuzz target; the properties live in the message crate's test support so that the
//! regression tests replay crashing inputs with exactly the same checks.
#![no_main]

#[path = "../../crates/message/tests/support/fuzz_checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::check_datagram(data));
