//! The short fuzz run of every target, on each test run: the seed corpus in `corpus/<target>`,
//! then mutations of it (byte flips, insertions, deletions, splices, and JSON-aware value
//! swaps) from a fixed seed, so a failure reproduces. `AIRLOCK_FUZZ_CASES` sets the number of
//! mutated cases per target (default 3000); `scripts/fuzz` runs the long, coverage-guided run.

use std::path::Path;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;

fn seeds(target: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target);
    let mut out: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("seed corpus {}: {e}", dir.display()))
        .map(|e| std::fs::read(e.expect("dir entry").path()).expect("seed readable"))
        .collect();
    assert!(!out.is_empty(), "no seeds for {target}");
    out.sort();
    out
}

/// Hostile values swapped into JSON documents.
fn odd_value(rng: &mut StdRng) -> Value {
    match rng.random_range(0..12) {
        0 => Value::Null,
        1 => Value::Bool(rng.random()),
        2 => serde_json::json!(rng.random::<i64>()),
        3 => serde_json::json!(u64::MAX),
        4 => serde_json::json!(-0.0),
        5 => serde_json::json!("x".repeat(rng.random_range(0..5000))),
        6 => serde_json::json!("' OR 1=1; DROP TABLE invoices; --"),
        7 => serde_json::json!("\u{0}\u{202e}\u{feff}é"),
        8 => serde_json::json!([]),
        9 => serde_json::json!({}),
        10 => serde_json::json!(1e308),
        _ => serde_json::json!("tenant_b"),
    }
}

fn mutate_json(v: &mut Value, rng: &mut StdRng) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            let i = rng.random_range(0..m.len());
            let key = m.keys().nth(i).expect("index in range").clone();
            match rng.random_range(0..4) {
                0 => {
                    m.remove(&key);
                }
                1 => {
                    m.insert(format!("{key}_x"), odd_value(rng));
                }
                2 => {
                    m.insert(key, odd_value(rng));
                }
                _ => mutate_json(m.get_mut(&key).expect("present"), rng),
            }
        }
        Value::Array(a) if !a.is_empty() => {
            let i = rng.random_range(0..a.len());
            if rng.random_bool(0.5) {
                a[i] = odd_value(rng);
            } else {
                mutate_json(&mut a[i], rng);
            }
        }
        other => *other = odd_value(rng),
    }
}

fn mutate_bytes(data: &mut Vec<u8>, other: &[u8], rng: &mut StdRng) {
    for _ in 0..rng.random_range(1..4) {
        let at = if data.is_empty() {
            0
        } else {
            rng.random_range(0..data.len())
        };
        match rng.random_range(0..5) {
            0 if !data.is_empty() => data[at] ^= 1 << rng.random_range(0..8),
            1 => data.insert(at, rng.random()),
            2 if !data.is_empty() => {
                let end = (at + rng.random_range(1..16)).min(data.len());
                data.drain(at..end);
            }
            3 if !other.is_empty() => {
                let from = rng.random_range(0..other.len());
                let len = rng.random_range(1..64).min(other.len() - from);
                data.splice(at..at, other[from..from + len].iter().copied());
            }
            _ => data.insert(
                at,
                *b"{}[]\",:\\0-e"
                    .get(rng.random_range(0..11))
                    .expect("in range"),
            ),
        }
    }
}

fn run(target: &str, f: fn(&[u8])) {
    let cases: usize = std::env::var("AIRLOCK_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000);
    let seeds = seeds(target);
    for s in &seeds {
        f(s);
    }
    let mut rng = StdRng::seed_from_u64(0x41_49_52_4c);
    for case in 0..cases {
        let seed = &seeds[case % seeds.len()];
        let input = match serde_json::from_slice::<Value>(seed) {
            Ok(mut v) if rng.random_bool(0.7) => {
                for _ in 0..rng.random_range(1..4) {
                    mutate_json(&mut v, &mut rng);
                }
                serde_json::to_vec(&v).expect("serializes")
            }
            _ => {
                let mut bytes = seed.clone();
                let other = &seeds[rng.random_range(0..seeds.len())];
                mutate_bytes(&mut bytes, other, &mut rng);
                bytes
            }
        };
        let result = std::panic::catch_unwind(|| f(&input));
        if result.is_err() {
            let path = std::env::temp_dir().join(format!("airlock-fuzz-{target}-{case}.bin"));
            std::fs::write(&path, &input).expect("crash input saved");
            panic!(
                "{target}: case {case} broke an invariant; input saved to {}",
                path.display()
            );
        }
    }
}

#[test]
fn config_short_run() {
    run("config", airlock_fuzz::config);
}

#[test]
fn tool_args_short_run() {
    run("tool_args", airlock_fuzz::tool_args);
}

#[test]
fn job_file_short_run() {
    run("job_file", airlock_fuzz::job_file);
}

#[test]
fn handler_receipt_short_run() {
    run("handler_receipt", airlock_fuzz::handler_receipt);
}

#[test]
fn jsonrpc_frame_short_run() {
    run("jsonrpc_frame", airlock_fuzz::jsonrpc_frame);
}

#[test]
fn every_target_has_a_short_run() {
    let here = include_str!("short_run.rs");
    for (name, _) in airlock_fuzz::TARGETS {
        assert!(
            here.contains(&format!("fn {name}_short_run")),
            "{name} has no short run"
        );
    }
}
