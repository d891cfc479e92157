//! Writes a realistic ledger of N records (events) for measuring by hand; see
//! `benches/support/generate.rs` for what it holds and docs/benchmarks.md for the figures.
//!
//! ```text
//! cargo run --release -p airlock-ledger --example gen_ledger -- --records 10000000 --out /tmp/l.db [--force] [--index-at-end]
//! airlock --store /tmp/l.db ledger verify
//! ```

#![allow(clippy::print_stdout)]

#[path = "../benches/support/generate.rs"]
#[allow(
    dead_code,
    reason = "shared with the benches; not every item is used here"
)]
mod generate;
#[path = "../benches/support/mod.rs"]
mod support;

use std::path::PathBuf;

use generate::Spec;

fn usage() -> ! {
    eprintln!("usage: gen_ledger --records N --out FILE [--force] [--index-at-end]");
    std::process::exit(2)
}

fn main() {
    let mut records = None;
    let mut out = None;
    let mut force = false;
    let mut index_at_end = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--records" => records = args.next().and_then(|v| v.replace('_', "").parse().ok()),
            "--out" => out = args.next().map(PathBuf::from),
            "--force" => force = true,
            "--index-at-end" => index_at_end = true,
            _ => usage(),
        }
    }
    let (Some(records), Some(out)) = (records, out) else {
        usage()
    };
    if force {
        generate::remove(&out);
    } else if out.exists() {
        eprintln!("{} exists; pass --force to replace it", out.display());
        std::process::exit(2);
    }
    let done = generate::generate(&Spec {
        records,
        out,
        index_at_end,
    });
    println!(
        "{}: {} events from {} calls ({} proposals) in {:.1} s ({:.0} events/s); applied proposal for replay: {}",
        done.path.display(),
        done.events,
        done.calls,
        done.proposals,
        done.elapsed.as_secs_f64(),
        done.events as f64 / done.elapsed.as_secs_f64(),
        done.applied_proposal.as_deref().unwrap_or("-"),
    );
}
