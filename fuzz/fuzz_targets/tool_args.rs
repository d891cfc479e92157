#![no_main]
// Coverage-guided target; the invariants live in airlock_fuzz::tool_args.
libfuzzer_sys::fuzz_target!(|data: &[u8]| airlock_fuzz::tool_args(data));
