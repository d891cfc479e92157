//! Shell completions and man pages are generated from the clap types the binary parses with,
//! so they cannot drift from the real command line.

use assert_cmd::Command;

fn airlock() -> Command {
    Command::cargo_bin("airlock").expect("airlock binary")
}

fn stdout_of(args: &[&str]) -> String {
    let out = airlock().args(args).output().expect("run airlock");
    assert!(out.status.success(), "airlock {args:?} failed: {out:?}");
    String::from_utf8(out.stdout).expect("utf-8")
}

#[test]
fn bash_completion_is_valid_bash_and_names_every_top_level_command() {
    let script = stdout_of(&["completions", "bash"]);
    for verb in [
        "proposals",
        "apply",
        "replay",
        "ledger",
        "mcp",
        "doctor",
        "completions",
    ] {
        assert!(script.contains(verb), "bash completion misses `{verb}`");
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("airlock.bash");
    std::fs::write(&file, &script).expect("write script");
    let check = std::process::Command::new("bash")
        .arg("-n")
        .arg(&file)
        .output()
        .expect("run bash -n");
    assert!(check.status.success(), "bash -n: {check:?}");
}

#[test]
fn every_shell_clap_supports_gets_a_script() {
    for (shell, marker) in [
        ("zsh", "#compdef airlock"),
        ("fish", "complete -c airlock"),
        ("elvish", "airlock"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let script = stdout_of(&["completions", shell]);
        assert!(script.contains(marker), "{shell} script lacks {marker:?}");
    }
}

#[test]
fn an_unknown_shell_is_a_usage_error_listing_the_choices() {
    let out = airlock()
        .args(["completions", "tcsh"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bash") && err.contains("zsh"), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn man_page_prints_roff_and_out_dir_writes_one_page_per_command() {
    let page = stdout_of(&["man"]);
    assert!(page.contains(".TH airlock 1"), "{page}");
    assert!(
        page.contains("proposals"),
        "the main page lists subcommands"
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let out_dir = dir.path().join("man1");
    let said = stdout_of(&["man", "--out-dir", out_dir.to_str().expect("utf-8 path")]);
    assert!(said.starts_with("wrote "), "{said}");
    for page in [
        "airlock.1",
        "airlock-apply.1",
        "airlock-proposals-approve.1",
    ] {
        let text = std::fs::read_to_string(out_dir.join(page)).expect(page);
        assert!(
            text.starts_with(".ie") || text.contains(".TH"),
            "{page} is roff"
        );
    }
}

#[test]
fn man_out_dir_that_is_a_file_fails_with_the_path_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, "x").expect("write");
    let out = airlock()
        .args(["man", "--out-dir", file.to_str().expect("utf-8")])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not-a-dir"), "{err}");
}

/// `--version` names the version and the commit the binary was built from, so a bug report
/// pins the exact build.
#[test]
fn version_names_the_build_commit() {
    let line = stdout_of(&["--version"]);
    let line = line.trim();
    let expected_prefix = format!("airlock {} (commit ", env!("CARGO_PKG_VERSION"));
    let commit = line
        .strip_prefix(&expected_prefix)
        .and_then(|rest| rest.strip_suffix(')'))
        .unwrap_or_else(|| panic!("unexpected --version line: {line}"));
    let head = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    match (head, std::env::var("AIRLOCK_BUILD_COMMIT")) {
        (_, Ok(pinned)) if !pinned.is_empty() => assert_eq!(commit, pinned.trim()),
        (Some(head), _) => assert_eq!(commit, head, "built from HEAD"),
        (None, _) => assert_eq!(commit, "unknown", "no git, no AIRLOCK_BUILD_COMMIT"),
    }
}
