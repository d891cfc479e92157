//! `airlock demo` on a terminal ends by offering the review UI on its ledger (driven through a
//! real pseudo-terminal); without a terminal it prints the command instead.

mod common;

use std::io::{Read, Write};
use std::time::Duration;

use common::airlock;

fn demo_in_a_pty(dir: &std::path::Path, answer: &str) -> expectrl::Session {
    let empty_path = dir.join("no-programs");
    std::fs::create_dir_all(&empty_path).unwrap();
    let mut cmd = common::clean_command(dir);
    cmd.args(["demo", "--dir", "demo", "--no-pause"])
        .env("TERM", "xterm")
        // No xdg-open: `--open` only reports that it could not start a browser.
        .env("PATH", &empty_path);
    let mut p = expectrl::Session::spawn(cmd).expect("spawn in a pty");
    p.set_expect_timeout(Some(Duration::from_secs(120)));
    p.expect("Demo complete").expect("the demo runs to the end");
    p.expect("Open the review UI now?")
        .expect("the offer on a terminal");
    p.send(answer).unwrap();
    p
}

#[test]
fn yes_serves_the_ui_on_the_demo_ledger_with_a_secret_shown_once() {
    let tmp = tempfile::tempdir().unwrap();
    let mut p = demo_in_a_pty(tmp.path(), "y\r");
    let caps = p
        .expect(expectrl::Regex(
            "with this secret \\(shown once[^)]*\\): ([0-9a-f]{64})",
        ))
        .expect("the secret");
    let secret = String::from_utf8_lossy(caps.get(1).unwrap()).into_owned();
    let caps = p
        .expect(expectrl::Regex(
            "Airlock review UI: http://127\\.0\\.0\\.1:([0-9]+)/\\?token=([0-9a-f]+)",
        ))
        .expect("the UI's URL");
    let port = String::from_utf8_lossy(caps.get(1).unwrap()).into_owned();
    let token = String::from_utf8_lossy(caps.get(2).unwrap()).into_owned();
    // The UI answers on that port, on the demo's ledger (its queue page).
    let mut s = std::net::TcpStream::connect(format!("127.0.0.1:{port}")).unwrap();
    write!(
        s,
        "GET /?token={token} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 303") || answer.starts_with("HTTP/1.1 200"),
        "{answer}"
    );
    // The secret is in no file of the demo folder.
    for entry in std::fs::read_dir(tmp.path().join("demo")).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let bytes = std::fs::read(&path).unwrap();
            assert!(
                !String::from_utf8_lossy(&bytes).contains(&secret),
                "{}",
                path.display()
            );
        }
    }
    // Stop the UI as Ctrl-C would (SIGTERM; the demo started nothing else).
    let pid = p.get_process().pid().to_string();
    let stopped = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(stopped.success());
    p.expect(expectrl::Eof).ok();
}

#[test]
fn no_prints_the_command_and_without_a_terminal_nothing_is_asked() {
    let tmp = tempfile::tempdir().unwrap();
    let mut p = demo_in_a_pty(tmp.path(), "n\r");
    p.expect(expectrl::Eof).expect("the demo ends");
    // No terminal (tests, CI): the command is printed, no question asked, exit 0.
    let run = airlock(tmp.path(), &["demo", "--dir", "demo2"], &[]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("ui --open"), "{}", run.stdout);
    assert!(!run.stdout.contains("Open the review UI now?"));
}
