//! Anchors: the chain head written down outside the ledger, so `verify` can prove that no
//! event up to an anchored one was removed or rewritten.
//!
//! The chain alone cannot show that its last events were cut off: whoever can write the
//! ledger file can delete the newest events and records and roll a proposal's state back, and
//! what remains is a valid chain. An anchor file beside the ledger (`<ledger>.anchor`) holds
//! one line per checkpoint, `<seq> <event hash> <time>`, appended by the processes that write
//! the ledger and never rewritten. Since each event's hash covers the one before it, one
//! anchored `(seq, hash)` pins the whole chain up to `seq`.
//!
//! Lines are appended after every approval, rejection, apply job and receipt, and for
//! tool-call records at most every 200 ms and when the writer stops. A copy
//! of the file kept where the ledger's host cannot rewrite it (shipped off the machine, or on
//! a file system with `chattr +a`) is what makes the guarantee hold against someone who
//! controls that host.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::LedgerError;

/// One checkpoint read from an anchor file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Anchor {
    /// Sequence number of the anchored event.
    pub seq: i64,
    /// Hash of that event.
    pub hash: String,
    /// When the line was written (RFC 3339).
    pub at: String,
    /// Line number in the file, from 1.
    pub line: usize,
}

/// The anchor file that belongs to a ledger file: the same path with `.anchor` appended.
pub fn anchor_path(ledger: &Path) -> PathBuf {
    let mut name = ledger.as_os_str().to_owned();
    name.push(".anchor");
    PathBuf::from(name)
}

/// Reads every checkpoint of an anchor file. A line that is not `<seq> <hash> <time>` is an
/// error: the file is only ever appended by airlock, so it was edited or a write was cut off.
pub fn read_anchors(path: &Path) -> Result<Vec<Anchor>, LedgerError> {
    let text = fs_err::read_to_string(path).map_err(|e| LedgerError::Anchor {
        path: path.display().to_string(),
        detail: e.to_string(),
    })?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            parse_line(l, i + 1).ok_or_else(|| LedgerError::Anchor {
                path: path.display().to_string(),
                detail: format!(
                    "line {} is not `<seq> <sha256:hash or sha256c:hash> <time>`: {l:?}",
                    i + 1
                ),
            })
        })
        .collect()
}

fn parse_line(line: &str, number: usize) -> Option<Anchor> {
    let mut parts = line.split_whitespace();
    let (seq, hash, at) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let seq: i64 = seq.parse().ok().filter(|s| *s > 0)?;
    let hex = hash
        .strip_prefix("sha256:")
        .or_else(|| hash.strip_prefix(crate::columns::PREFIX))?;
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    Some(Anchor {
        seq,
        hash: hash.to_owned(),
        at: at.to_owned(),
        line: number,
    })
}

/// Appends one checkpoint. One `write` of one short line on a file opened for appending, so
/// lines from several processes sharing the ledger never interleave. Not synced: like the
/// ledger's own commits (`synchronous=NORMAL`) it survives the process being killed.
pub fn append(path: &Path, seq: i64, hash: &str) -> std::io::Result<()> {
    let line = format!("{seq} {hash} {}\n", airlock_protocol::now_rfc3339());
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    file.write_all(line.as_bytes())
}

/// Appends the ledger's current head, if it has one. A failure is logged, never returned: the
/// records it follows are committed, and their callers must hear that they were.
pub(crate) fn append_head(conn: &rusqlite::Connection, path: &Path) -> Option<i64> {
    let head = match crate::sqlite::head(conn) {
        Ok(Some(head)) => head,
        Ok(None) => return None,
        Err(e) => {
            tracing::warn!(anchor = %path.display(), "could not read the ledger head to anchor it: {e}");
            return None;
        }
    };
    match append(path, head.0, &head.1) {
        Ok(()) => Some(head.0),
        Err(e) => {
            tracing::warn!(anchor = %path.display(), "could not append to the anchor file: {e}");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_anchor_sits_beside_the_ledger() {
        assert_eq!(
            anchor_path(Path::new("/x/.airlock/ledger.db")),
            Path::new("/x/.airlock/ledger.db.anchor")
        );
    }

    #[test]
    fn lines_parse_strictly() {
        let hash = format!("sha256:{}", "ab".repeat(32));
        let good = parse_line(&format!("12 {hash} 2026-12-06T10:00:00.000Z"), 3).unwrap();
        assert_eq!((good.seq, good.line), (12, 3));
        for bad in [
            format!("0 {hash} t"),
            format!("-1 {hash} t"),
            format!("x {hash} t"),
            format!("12 {hash}"),
            format!("12 {hash} t extra"),
            "12 sha256:abc t".to_owned(),
            format!("12 md5:{} t", "ab".repeat(32)),
        ] {
            assert!(parse_line(&bad, 1).is_none(), "{bad}");
        }
    }
}
