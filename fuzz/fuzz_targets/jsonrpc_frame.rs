#![no_main]
// Coverage-guided target; the invariants live in airlock_fuzz::jsonrpc_frame.
libfuzzer_sys::fuzz_target!(|data: &[u8]| airlock_fuzz::jsonrpc_frame(data));
