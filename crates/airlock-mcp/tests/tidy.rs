//! Architecture checks on the dependency graph: the model-facing side (the MCP server and the
//! call runtime) cannot approve or apply.
//!
//! What the types hold is checked where the types are: `Runtime::ledger` returns the recording
//! and reading `airlock_ledger::Ledger` only, and its `compile_fail` doctests show that
//! `approve` cannot be called through it (`cargo test --doc`). Every method of the review trait
//! asks for an `airlock_review_key::ReviewKey`; the tests here make sure only the crates meant to
//! can name that key, and that nothing model-facing links the review/writeback side.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// The workspace's resolved dependency graph, normal and build edges only (dev-dependencies
/// build tests, and do not ship).
struct Graph {
    names: HashMap<String, String>,
    deps: HashMap<String, Vec<String>>,
}

impl Graph {
    fn load() -> Graph {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
        let out = Command::new(cargo)
            .args(["metadata", "--format-version", "1", "--manifest-path"])
            .arg(&manifest)
            .output()
            .expect("run cargo metadata");
        assert!(
            out.status.success(),
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let meta: Value = serde_json::from_slice(&out.stdout).expect("metadata JSON");
        let text = |v: &Value| v.as_str().unwrap_or("").to_owned();
        let names = meta["packages"]
            .as_array()
            .expect("packages")
            .iter()
            .map(|p| (text(&p["id"]), text(&p["name"])))
            .collect();
        let deps = meta["resolve"]["nodes"]
            .as_array()
            .expect("resolve graph")
            .iter()
            .map(|n| {
                let shipped = n["deps"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|dep| {
                        dep["dep_kinds"].as_array().is_some_and(|kinds| {
                            kinds.iter().any(|k| k["kind"].as_str() != Some("dev"))
                        })
                    })
                    .map(|dep| text(&dep["pkg"]))
                    .collect();
                (text(&n["id"]), shipped)
            })
            .collect();
        Graph { names, deps }
    }

    fn id(&self, name: &str) -> &str {
        self.names
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(id, _)| id.as_str())
            .unwrap_or_else(|| panic!("{name} in cargo metadata"))
    }

    fn name(&self, id: &str) -> &str {
        self.names.get(id).map(String::as_str).unwrap_or("")
    }

    /// Every package `root` links, itself included, by name.
    fn closure(&self, root: &str) -> BTreeSet<&str> {
        let mut seen = HashSet::new();
        let mut queue = VecDeque::from([self.id(root)]);
        while let Some(id) = queue.pop_front() {
            if seen.insert(id) {
                queue.extend(self.deps.get(id).into_iter().flatten().map(String::as_str));
            }
        }
        seen.into_iter().map(|id| self.name(id)).collect()
    }

    /// The packages with a direct normal or build dependency on `name`.
    fn direct_dependents(&self, name: &str) -> BTreeSet<&str> {
        let target = self.id(name);
        self.deps
            .iter()
            .filter(|(_, deps)| deps.iter().any(|d| d == target))
            .map(|(id, _)| self.name(id))
            .collect()
    }
}

#[test]
fn model_facing_crates_do_not_depend_on_writeback() {
    let graph = Graph::load();
    for root in ["airlock-mcp", "airlock-runtime"] {
        let linked = graph.closure(root);
        assert!(linked.len() > 10, "walked the graph of {root}: {linked:?}");
        assert!(linked.contains("airlock-ledger"), "{root}: {linked:?}");
        // The key crate is linked (through the ledger, whose signatures mention it) but not
        // named: see `review_key_is_named_only_by_ledger_and_writeback`.
        // The review UI decides and applies (through writeback): never model-facing either.
        // Event delivery makes outbound HTTP with retries: never on the tool-call path.
        for forbidden in [
            "airlock-writeback",
            "airlock-review-ui",
            "airlock-events",
            "airlock",
        ] {
            assert!(
                !linked.contains(forbidden),
                "{root} must not link {forbidden}; it links {linked:?}"
            );
        }
    }
}

#[test]
fn review_key_is_named_only_by_ledger_and_writeback() {
    let graph = Graph::load();
    // The ledger asks for the key; writeback makes it. Any other crate that could name the key
    // could call approve, reject, begin_apply or record_receipt without writeback's checks.
    assert_eq!(
        graph.direct_dependents("airlock-review-key"),
        // The Postgres ledger implements the review side too: like the SQLite ledger it asks
        // for the key in its signatures and never makes one.
        BTreeSet::from(["airlock-ledger", "airlock-ledger-pg", "airlock-writeback"]),
    );
    // And the key crate itself depends on nothing that could hand a key around.
    assert_eq!(
        graph.closure("airlock-review-key"),
        BTreeSet::from(["airlock-review-key"])
    );
    // The review UI reaches the review side only through writeback's checked functions: it
    // links the key (through writeback and the ledger) but cannot name it.
    let ui = graph.closure("airlock-review-ui");
    assert!(ui.contains("airlock-writeback") && ui.contains("airlock-review-key"));
    // The binary reaches the review side only through writeback, which links the key.
    let binary = graph.closure("airlock");
    assert!(binary.contains("airlock-writeback") && binary.contains("airlock-review-key"));
}
