//! A private Postgres server for tests that stop and restart it: its own cluster (`initdb`)
//! in a temporary directory, its own port and unix-socket directory, trust authentication.
//! The shared server at 127.0.0.1:5432 is left alone. The server is stopped and the directory
//! removed on drop, also when the test panics.
//!
//! Needs `initdb` and `pg_ctl` from `/usr/lib/postgresql/<version>/bin` (Debian's
//! postgresql package). Postgres refuses to run as root, so when the test runs as root the
//! programs run as the `postgres` OS user (`runuser`), which owns the temporary directory.
//! Without the programs the helper prints `SKIP private-postgres tier: …` and returns `None`;
//! under `CI=true` it panics.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use anyhow::{Context, bail};

use crate::mariadb_tls::{free_port, tail};

/// A running private Postgres cluster for one test.
#[derive(Debug)]
pub struct PrivatePostgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    /// Whether the programs run through `runuser -u postgres` (the test runs as root).
    as_postgres: bool,
    pub port: u16,
    running: bool,
}

impl PrivatePostgres {
    /// Creates and starts a cluster. `None` (after a SKIP line) when the Postgres programs are
    /// missing outside CI.
    pub fn start() -> Option<PrivatePostgres> {
        match Self::try_start() {
            Ok(server) => Some(server),
            Err(e) => {
                let reason = format!("{e:#}");
                if std::env::var("CI").is_ok_and(|v| v == "true") {
                    panic!("the private-postgres tier cannot run under CI=true: {reason}");
                }
                eprintln!("SKIP private-postgres tier: {reason}");
                None
            }
        }
    }

    fn try_start() -> anyhow::Result<PrivatePostgres> {
        let bin = postgres_bin().context(
            "initdb and pg_ctl are not installed under /usr/lib/postgresql/*/bin \
             (apt-get install postgresql)",
        )?;
        let as_postgres = running_as_root();
        let dir = tempfile::tempdir().context("temporary directory")?;
        if as_postgres {
            let status = Command::new("chown")
                .args(["-R", "postgres:"])
                .arg(dir.path())
                .status()
                .context("running chown")?;
            if !status.success() {
                bail!("cannot give the temporary directory to the postgres OS user ({status})");
            }
        }
        let mut server = PrivatePostgres {
            dir,
            bin,
            as_postgres,
            port: free_port()?,
            running: false,
        };
        let data = server.data_dir();
        server
            .run(
                "initdb",
                &[
                    "-D".as_ref(),
                    data.as_os_str(),
                    "-A".as_ref(),
                    "trust".as_ref(),
                    "-U".as_ref(),
                    "postgres".as_ref(),
                    "--no-sync".as_ref(),
                ],
            )
            .context("initdb")?;
        server.launch()?;
        Ok(server)
    }

    /// `postgres://postgres@127.0.0.1:PORT/DATABASE`.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Runs `sql` (several statements allowed) as the superuser on `database`.
    pub async fn execute_batch(&self, database: &str, sql: &str) -> anyhow::Result<()> {
        let client = crate::pg_connect(&self.url(database)).await?;
        client
            .batch_execute(sql)
            .await
            .context("running the batch")?;
        Ok(())
    }

    /// Stops the server (`pg_ctl stop -m fast`: open sessions are ended) and waits.
    pub fn stop(&mut self) -> anyhow::Result<()> {
        self.stop_with("fast")
    }

    /// Starts the stopped server again on the same port and data.
    pub fn start_again(&mut self) -> anyhow::Result<()> {
        self.launch()
    }

    /// Stops (fast) and starts the server on the same port and data.
    pub fn restart(&mut self) -> anyhow::Result<()> {
        self.stop()?;
        self.launch()
    }

    fn stop_with(&mut self, mode: &str) -> anyhow::Result<()> {
        if !self.running {
            return Ok(());
        }
        let data = self.data_dir();
        self.run(
            "pg_ctl",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-m".as_ref(),
                mode.as_ref(),
                "-w".as_ref(),
                "stop".as_ref(),
            ],
        )
        .context("pg_ctl stop")?;
        self.running = false;
        Ok(())
    }

    fn launch(&mut self) -> anyhow::Result<()> {
        let data = self.data_dir();
        let log = self.dir.path().join("server.log");
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c shared_buffers=16MB",
            self.port,
            self.dir.path().display()
        );
        let started = self.run(
            "pg_ctl",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-l".as_ref(),
                log.as_os_str(),
                "-o".as_ref(),
                options.as_ref(),
                "-w".as_ref(),
                "-t".as_ref(),
                "30".as_ref(),
                "start".as_ref(),
            ],
        );
        if let Err(e) = started {
            let log = std::fs::read_to_string(&log).unwrap_or_default();
            bail!("{e:#}; server log: {}", tail(&log));
        }
        self.running = true;
        Ok(())
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Runs one of the Postgres programs (as the postgres OS user when we are root).
    fn run(&self, program: &str, args: &[&std::ffi::OsStr]) -> anyhow::Result<Output> {
        let path = self.bin.join(program);
        let mut command = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&path);
            c
        } else {
            Command::new(&path)
        };
        let out = command
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .with_context(|| format!("running {}", path.display()))?;
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            bail!("{program} failed ({}): {}", out.status, tail(&stderr));
        }
        Ok(out)
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        // `immediate` so a panicking test is not held up by open sessions; the data is thrown
        // away with the directory anyway.
        let _ = self.stop_with("immediate");
    }
}

/// The newest `/usr/lib/postgresql/<version>/bin` that has `initdb` and `pg_ctl`.
fn postgres_bin() -> Option<PathBuf> {
    let mut candidates: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            has_programs(&bin).then_some((version, bin))
        })
        .collect();
    candidates.sort();
    candidates.pop().map(|(_, bin)| bin)
}

fn has_programs(bin: &Path) -> bool {
    ["initdb", "pg_ctl", "postgres"]
        .iter()
        .all(|p| bin.join(p).is_file())
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}
