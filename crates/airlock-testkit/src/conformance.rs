//! The compatibility tier's inputs: Synapsor Runner's published schemas, protocol fixtures and
//! example apps, kept outside this repository in `../shared/conformance` (or wherever
//! `AIRLOCK_SHARED_DIR` points, the folder that holds `conformance/`).
//!
//! Tests that cross-check Airlock against the original ask [`shared_conformance`] first. When
//! the folder is absent they print `SKIP compatibility tier: …` and return early, so a plain
//! clone passes on its own fixtures; with `CI=true` an absent folder is a failure, because CI
//! must run the cross-checks.

use std::path::{Path, PathBuf};

/// Names the folder that holds `conformance/` when it is not `../shared` beside the repository.
pub const SHARED_DIR_ENV: &str = "AIRLOCK_SHARED_DIR";

/// The repository's root (this crate lives in `<root>/crates/airlock-testkit`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the repository root exists")
}

/// `../shared/conformance` (or `$AIRLOCK_SHARED_DIR/conformance`) when it exists. Otherwise
/// `None` after a SKIP line on stderr naming `what` (the check that does not run); under
/// `CI=true` it panics instead.
pub fn shared_conformance(what: &str) -> Option<PathBuf> {
    let shared = std::env::var_os(SHARED_DIR_ENV)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("../shared"));
    locate(&shared, what, crate::in_ci())
}

fn locate(shared: &Path, what: &str, ci: bool) -> Option<PathBuf> {
    let dir = shared.join("conformance");
    if dir.is_dir() {
        // Resolved, so paths in messages match what a binary prints for the same files.
        return Some(dir.canonicalize().unwrap_or(dir));
    }
    if ci {
        panic!(
            "\n\n==> compatibility tier: {} is absent\n\
             ==> CI=true, so `{what}` must run. Put the original's conformance folder at \
             ../shared/conformance beside the repository, or set {SHARED_DIR_ENV}.\n\n",
            dir.display()
        );
    }
    eprintln!(
        "SKIP compatibility tier ({what}): {} is absent (set {SHARED_DIR_ENV} to the folder \
         holding conformance/ to run it)",
        dir.display()
    );
    None
}

/// Reads a JSON file under `dir`, naming the file when it is missing or malformed.
pub fn read_json(dir: &Path, relative: &str) -> serde_json::Value {
    let path = dir.join(relative);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every way `doc` breaks `schema` (message and JSON pointer), empty when it is valid.
pub fn schema_errors(schema: &serde_json::Value, doc: &serde_json::Value) -> Vec<String> {
    jsonschema::validator_for(schema)
        .expect("the schema itself is valid")
        .iter_errors(doc)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect()
}

/// Panics unless `doc` is valid against `<dir>/<schema_file>`.
pub fn assert_valid(dir: &Path, schema_file: &str, doc: &serde_json::Value) {
    let errors = schema_errors(&read_json(dir, schema_file), doc);
    assert!(errors.is_empty(), "{schema_file}: {errors:#?}");
}

/// Checks `doc` against our published `schemas/<ours>` and, in the compatibility tier, the
/// original's `conformance/schemas/<original>`.
pub fn assert_published_schemas(ours: &str, original: &str, doc: &serde_json::Value) {
    assert_valid(&repo_root().join("schemas"), ours, doc);
    if let Some(dir) = shared_conformance(&format!("{original} vs the original's schema")) {
        assert_valid(&dir.join("schemas"), original, doc);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_existing_folder_is_returned() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir(tmp.path().join("conformance")).unwrap();
        assert_eq!(
            locate(tmp.path(), "x", true),
            Some(tmp.path().join("conformance").canonicalize().unwrap())
        );
    }

    #[test]
    fn an_absent_folder_skips_outside_ci() {
        let tmp = tempfile::tempdir().unwrap();
        assert_eq!(locate(tmp.path(), "x", false), None);
    }

    #[test]
    #[should_panic(expected = "CI=true, so `the check` must run")]
    fn an_absent_folder_fails_under_ci() {
        let tmp = tempfile::tempdir().unwrap();
        locate(tmp.path(), "the check", true);
    }

    #[test]
    fn a_file_where_the_folder_should_be_is_absent() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("conformance"), "not a folder").unwrap();
        assert_eq!(locate(tmp.path(), "x", false), None);
    }

    #[test]
    fn read_json_names_the_file() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("a.json"), "{\"k\": 1}").unwrap();
        assert_eq!(read_json(tmp.path(), "a.json")["k"], 1);
        std::fs::write(tmp.path().join("b.json"), "{").unwrap();
        let err = std::panic::catch_unwind(|| read_json(tmp.path(), "b.json")).unwrap_err();
        let msg = err.downcast_ref::<String>().unwrap();
        assert!(msg.contains("b.json"), "{msg}");
    }

    #[test]
    fn schema_errors_name_the_failing_place() {
        let schema =
            serde_json::json!({"type": "object", "properties": {"n": {"type": "integer"}}});
        assert!(schema_errors(&schema, &serde_json::json!({"n": 1})).is_empty());
        let errors = schema_errors(&schema, &serde_json::json!({"n": "one"}));
        assert_eq!(errors.len(), 1);
        assert!(errors[0].ends_with("at /n"), "{errors:?}");
    }
}
