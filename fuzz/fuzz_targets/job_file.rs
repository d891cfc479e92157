#![no_main]
// Coverage-guided target; the invariants live in airlock_fuzz::job_file.
libfuzzer_sys::fuzz_target!(|data: &[u8]| airlock_fuzz::job_file(data));
