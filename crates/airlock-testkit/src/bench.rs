//! Helpers for benches: CPU time per thread and per process, and whether a latency pass
//! should run.

use std::collections::HashMap;

/// CPU time used so far by each thread of this process (user + system, nanoseconds, by
/// thread id), from `/proc/self/task/*/schedstat`. Unlike wall time it does not count waiting
/// for the CPU or the disk, so it is steady on a busy machine. `None` where procfs is missing.
pub fn thread_cpu_ns() -> Option<HashMap<String, u64>> {
    let mut out = HashMap::new();
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let task = task.ok()?;
        // A thread may exit between listing and reading; skip it.
        let Ok(stat) = std::fs::read_to_string(task.path().join("schedstat")) else {
            continue;
        };
        let ns = stat.split_whitespace().next()?.parse::<u64>().ok()?;
        out.insert(task.file_name().to_string_lossy().into_owned(), ns);
    }
    Some(out)
}

/// CPU time this process used since `before` (threads that exited meanwhile are not counted).
pub fn cpu_since(before: &Option<HashMap<String, u64>>) -> Option<u64> {
    let before = before.as_ref()?;
    let after = thread_cpu_ns()?;
    Some(
        after
            .iter()
            .map(|(tid, ns)| ns.saturating_sub(before.get(tid).copied().unwrap_or(0)))
            .sum(),
    )
}

/// CPU seconds (user + system) from `/proc/<pid>/stat`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ProcessCpu {
    /// Used by the process itself so far.
    pub own: f64,
    /// Used by its children that have exited and been waited for.
    pub reaped_children: f64,
}

/// A process's CPU so far (`pid` `None`: this one); `None` where it cannot be read (no
/// procfs, or the process is gone).
pub fn process_cpu(pid: Option<u32>) -> Option<ProcessCpu> {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/stat"),
        None => "/proc/self/stat".to_owned(),
    };
    let stat = std::fs::read_to_string(path).ok()?;
    // After the command name (which ends with ')'): utime, stime, cutime and cstime are the
    // 12th to 15th fields, in clock ticks (100 a second on Linux).
    let (_, rest) = stat.rsplit_once(')')?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i)?.parse::<f64>().ok();
    Some(ProcessCpu {
        own: (ticks(11)? + ticks(12)?) / 100.0,
        reaped_children: (ticks(13)? + ticks(14)?) / 100.0,
    })
}

/// CPU seconds used so far by every process of this machine whose command is `comm`, and by
/// their children that exited (for `postgres`: the server and every backend, including the
/// ones that have ended, which the server has reaped).
pub fn command_cpu_seconds(comm: &str) -> f64 {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0.0;
    };
    dir.filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == comm)
        })
        .filter_map(|pid| process_cpu(Some(pid)))
        .map(|c| c.own + c.reaped_children)
        .sum()
}

/// Whether the per-call latency pass named `name` should run: only under `cargo bench` (not
/// `cargo test --benches` or `--list`), and only when it matches the name filter, if any.
pub fn wants_latency(name: &str) -> bool {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let excluded = ["--test", "--list", "--profile-time"];
    if !args.iter().any(|a| a == "--bench") || args.iter().any(|a| excluded.contains(&a.as_str())) {
        return false;
    }
    const TAKES_VALUE: &[&str] = &[
        "--save-baseline",
        "--baseline",
        "--baseline-lenient",
        "--load-baseline",
        "--sample-size",
        "--warm-up-time",
        "--measurement-time",
        "--nresamples",
        "--noise-threshold",
        "--confidence-level",
        "--significance-level",
        "--profile-time",
        "--plotting-backend",
        "--output-format",
        "--color",
        "--format",
    ];
    let mut filter = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if TAKES_VALUE.contains(&a.as_str()) {
            it.next();
        } else if !a.starts_with('-') {
            filter = Some(a.clone());
        }
    }
    filter.is_none_or(|f| name.contains(&f))
}
