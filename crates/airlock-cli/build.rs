//! Records the git commit the binary is built from, for `airlock --version`.
//!
//! Order: `AIRLOCK_BUILD_COMMIT` from the environment (release pipelines building from a
//! source archive set it), else `git rev-parse` in the checkout, else `unknown` (a build from
//! a crate archive with no git).

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=AIRLOCK_BUILD_COMMIT");
    let commit = std::env::var("AIRLOCK_BUILD_COMMIT")
        .ok()
        .filter(|c| !c.trim().is_empty())
        .or_else(git_commit)
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=BUILD_GIT_COMMIT={}", commit.trim());
}

/// The short hash of HEAD, and a rerun trigger on the files that move when HEAD does.
fn git_commit() -> Option<String> {
    let git = |args: &[&str]| -> Option<String> {
        let out = Command::new("git").args(args).output().ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
    };
    // HEAD changes on checkout; the branch file or packed-refs on commit. Only files that
    // exist are watched: cargo reruns a build script on every build for a missing one.
    let mut watched = vec![git(&["rev-parse", "--git-path", "HEAD"])?];
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watched.extend(git(&["rev-parse", "--git-path", &branch]));
        watched.extend(git(&["rev-parse", "--git-path", "packed-refs"]));
    }
    for path in watched.iter().filter(|p| std::path::Path::new(p).exists()) {
        println!("cargo:rerun-if-changed={path}");
    }
    git(&["rev-parse", "--short=12", "HEAD"])
}
