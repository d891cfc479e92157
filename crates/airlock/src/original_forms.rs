//! Synapsor Runner command forms (and flags) that Airlock does not have. Each is refused with a message
//! naming what to run instead, rather than clap's generic "unrecognized subcommand", so a
//! script or a person switching from the original learns the Airlock form at once.
//! Forms Airlock does accept (`replay ID`, `mcp config CLIENT`, …) are parsed by clap.

use std::ffi::OsString;

/// A refused form: what was typed and what to do instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub form: String,
    pub instead: &'static str,
}

/// (command, subcommand or flag, instead). `None` matches the command with anything after it.
const REFUSED: &[(&str, Option<&str>, &str)] = &[
    ("inspect", Some("--from"), INSPECT_INSTEAD),
    ("inspect", Some("--from-env"), INSPECT_INSTEAD),
    ("inspect", Some("--database-url-env"), INSPECT_INSTEAD),
    ("inspect", Some("--engine"), INSPECT_INSTEAD),
    (
        "start",
        None,
        "Airlock has no polling worker: serve with `airlock mcp serve` and apply with `airlock apply ID` (`start --from-env VAR` runs `airlock onboard db`)",
    ),
    (
        "runner",
        None,
        "use `airlock doctor` to check and `airlock mcp serve-streamable-http` to serve",
    ),
    (
        "cloud",
        None,
        "Airlock runs locally only and has no cloud mode",
    ),
    (
        "mcp",
        Some("smoke"),
        "use `airlock smoke call CAPABILITY --json '{...}'`",
    ),
    (
        "validate",
        None,
        "check a writeback job with `airlock apply --job FILE --dry-run`; check the config with `airlock config validate`",
    ),
    (
        "writeback",
        Some("doctor"),
        "use `airlock doctor --check-writeback` (and --check-handlers for app-owned handlers)",
    ),
    (
        "smoke",
        Some("boundary"),
        "use `airlock tools list` to see the model-facing boundary",
    ),
    (
        "config",
        Some("migrate"),
        "Airlock reads version-1 configs as they are; check one with `airlock config validate`",
    ),
    (
        "demo",
        Some("inspect"),
        "use `airlock demo` (an embedded SQLite app; no services needed)",
    ),
    (
        "demo",
        Some("--quick"),
        "use `airlock demo` (an embedded SQLite app; no services needed)",
    ),
    (
        "demo",
        Some("reference-support-billing"),
        "use `airlock demo` (an embedded SQLite app; no services needed)",
    ),
];

/// Flags of the original that Airlock's form of the command does not take:
/// (command, subcommand, flags, instead).
const REFUSED_FLAGS: &[(&str, &str, &[&str], &str)] = &[
    (
        "query-audit",
        "list",
        &["--primary-key"],
        "`airlock query-audit list` filters by time, tenant, principal, capability, object (--object-id is the key looked up), source, table, outcome, --query-fingerprint, --proposal and --evidence",
    ),
    (
        "mcp",
        "config",
        MCP_CONFIG_FLAGS,
        "`--client openai-agents` gives the Streamable HTTP form; `airlock mcp config CLIENT --write` puts the stdio form into the client's config file",
    ),
    (
        "mcp",
        "configure",
        MCP_CONFIG_FLAGS,
        "`--client openai-agents` gives the Streamable HTTP form; `airlock mcp config CLIENT --write` puts the stdio form into the client's config file",
    ),
    (
        "mcp",
        "client-config",
        MCP_CONFIG_FLAGS,
        "`--client openai-agents` gives the Streamable HTTP form; `airlock mcp config CLIENT --write` puts the stdio form into the client's config file",
    ),
];

/// Airlock's `inspect` takes the URL by variable, flag or config source, and infers the engine.
const INSPECT_INSTEAD: &str = "use `airlock inspect --url-env VAR` (or --url URL, or --source NAME with --config); the engine comes from the URL's scheme";

const MCP_CONFIG_FLAGS: &[&str] = &["--transport"];

/// Global flags that take a value and may come before the command.
const GLOBAL_WITH_VALUE: &[&str] = &["--config", "--store"];

/// The refusal for `args` (without the program name), if it is an original-only form.
/// The original's `start` with onboarding flags (`--from-env`, `--schema`, `--mode`,
/// `--engine`) is `onboard db` with the same flags; other `start` forms stay refused.
pub fn forwarded(mut args: Vec<OsString>) -> Vec<OsString> {
    const ONBOARDING: [&str; 4] = ["--from-env", "--schema", "--mode", "--engine"];
    let at = args.iter().position(|a| a == "start");
    let onboarding = args.iter().any(|a| {
        a.to_str()
            .is_some_and(|w| ONBOARDING.contains(&w.split('=').next().unwrap_or(w)))
    });
    if let (Some(i), true) = (at, onboarding)
        && args[..i]
            .iter()
            .all(|a| a.to_str().is_some_and(|w| w.starts_with('-')))
    {
        args.splice(i..=i, [OsString::from("onboard"), OsString::from("db")]);
    }
    args
}

pub fn refusal(args: &[OsString]) -> Option<Refusal> {
    let words: Vec<&str> = args.iter().filter_map(|a| a.to_str()).collect();
    let mut rest = words.iter().copied().peekable();
    let command = loop {
        let word = rest.next()?;
        if GLOBAL_WITH_VALUE.contains(&word) {
            rest.next();
        } else if !word.starts_with('-') {
            break word;
        } else if word == "--help" || word == "-h" || word == "--version" || word == "-V" {
            return None;
        }
    };
    let after: Vec<&str> = rest.collect();
    let sub = after.iter().copied().find(|w| !w.starts_with('-'));
    let flag_of = |w: &str| w.split('=').next().unwrap_or(w).to_owned();
    for (cmd, second, flags, instead) in REFUSED_FLAGS {
        if *cmd != command || sub != Some(*second) {
            continue;
        }
        if let Some(flag) = after
            .iter()
            .map(|w| flag_of(w))
            .find(|w| flags.contains(&w.as_str()))
        {
            return Some(Refusal {
                form: format!("{cmd} {second} {flag}"),
                instead,
            });
        }
    }
    REFUSED
        .iter()
        .find(|(cmd, second, _)| {
            *cmd == command
                && match second {
                    None => true,
                    Some(flag) if flag.starts_with("--") => after.contains(flag),
                    Some(word) => sub == Some(*word),
                }
        })
        .map(|(cmd, second, instead)| Refusal {
            form: match second {
                Some(s) => format!("{cmd} {s}"),
                None => (*cmd).to_owned(),
            },
            instead,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(line: &str) -> Option<Refusal> {
        let args: Vec<OsString> = line.split_whitespace().map(OsString::from).collect();
        refusal(&args)
    }

    #[test]
    fn original_only_forms_are_named() {
        assert!(of("store stats").is_none());
        assert!(of("--store x.db store prune --older-than 30d").is_none());
        assert!(of("evidence list --json").is_none());
        assert!(of("activity search --tenant acme").is_none());
        assert!(of("receipts list --writeback-job j --idempotency-key k").is_none());
        assert_eq!(
            of("query-audit list --primary-key 3").unwrap().form,
            "query-audit list --primary-key"
        );
        assert_eq!(of("demo --quick").unwrap().form, "demo --quick");
        assert!(of("init --spec x.json").is_none());
        assert!(of("proposals list --principal p --json").is_none());
        assert!(of("proposals list --receipt 3").is_none());
        assert!(of("activity search --replay replay_x --query-fingerprint q").is_none());
        assert_eq!(
            of("mcp config cursor --transport http").unwrap().form,
            "mcp config --transport"
        );
    }

    #[test]
    fn start_with_onboarding_flags_is_onboard_db() {
        let words = |s: &str| s.split(' ').map(OsString::from).collect::<Vec<_>>();
        assert_eq!(
            forwarded(words("start --from-env DATABASE_URL --yes")),
            words("onboard db --from-env DATABASE_URL --yes")
        );
        assert_eq!(forwarded(words("start")), words("start"));
        assert!(of("start").is_some());
    }

    #[test]
    fn airlock_forms_pass_through() {
        for line in [
            "",
            "--help",
            "store",
            "evidence show ev_1",
            "replay wrp_1",
            "demo --dir x",
            "proposals approve latest --yes",
            "--config store ledger stats",
            "doctor --check-handlers",
            "proposals list --tenant acme --status applied",
            "receipts list --proposal wrp_1",
            "recipes list --json",
            "shadow report --json",
            "benchmark mcp-efficiency",
            "audit --example",
            "mcp audit --stdio x",
        ] {
            let got = of(line);
            assert!(got.is_none(), "{line}: {got:?}");
        }
    }
}
