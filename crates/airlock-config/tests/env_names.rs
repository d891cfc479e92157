//! Every environment variable name is declared once, in `airlock_config::env_vars`. This test
//! walks the library code of every crate (test modules and test files excluded) and fails on a
//! string literal that is exactly an `AIRLOCK_*` or `SYNAPSOR_*` name anywhere else.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// String literals in `code` that look like an env var name of ours.
fn env_literals(code: &str) -> Vec<String> {
    let mut found = Vec::new();
    for piece in code.split('"').skip(1).step_by(2) {
        let is_name = piece.len() > 8
            && (piece.starts_with("AIRLOCK_") || piece.starts_with("SYNAPSOR_"))
            && piece
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
        if is_name {
            found.push(piece.to_owned());
        }
    }
    found
}

#[test]
fn env_var_names_are_declared_only_in_env_vars() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for krate in std::fs::read_dir(&crates).expect("crates dir") {
        let src = krate.expect("entry").path().join("src");
        if src.is_dir() {
            rust_files(&src, &mut files);
        }
    }
    assert!(
        files.len() > 50,
        "walked the workspace ({} files)",
        files.len()
    );
    let mut offenders = Vec::new();
    for file in &files {
        if file.ends_with("airlock-config/src/env_vars.rs")
            || file.file_name().is_some_and(|n| n == "tests.rs")
            || file
                .components()
                .any(|c| c.as_os_str() == "airlock-fuzz" || c.as_os_str() == "airlock-testkit")
        {
            continue;
        }
        let text = std::fs::read_to_string(file).expect("read");
        // Library code only: unit-test modules sit at the end of a file.
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        for name in env_literals(code) {
            offenders.push(format!("{}: \"{name}\"", file.display()));
        }
    }
    assert!(
        offenders.is_empty(),
        "declare these in crates/airlock-config/src/env_vars.rs and use the constant:\n{}",
        offenders.join("\n")
    );
}

#[test]
fn the_scanner_sees_a_literal_name() {
    assert_eq!(
        env_literals(r#"let x = env.get("AIRLOCK_THING"); let y = "AIRLOCK_ lower";"#),
        vec!["AIRLOCK_THING".to_owned()]
    );
}
