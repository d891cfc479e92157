#!/usr/bin/env node
// `airlock-mcp ARGS…` (and `airlock ARGS…`): runs the compiled `airlock` binary that npm
// installed from this platform's optional dependency, `airlock-mcp-<platform>-<arch>`.
// The binary gets this process's stdin/stdout/stderr as they are (an MCP client's stdio pipe
// reaches it untouched); SIGINT, SIGTERM and SIGHUP are passed on; its exit code, or the
// signal that ended it, becomes this process's.
"use strict";

const { spawn } = require("node:child_process");
const { constants } = require("node:os");

const platform = `${process.platform}-${process.arch}`;
const pkg = `airlock-mcp-${platform}`;
const exe = process.platform === "win32" ? "airlock.exe" : "airlock";

function binaryPath() {
  try {
    return require.resolve(`${pkg}/bin/${exe}`);
  } catch {
    process.stderr.write(
      `error: the airlock binary for ${platform} is not installed (npm package ${pkg}).\n` +
        "  Prebuilt binaries exist for linux-x64, linux-arm64, darwin-x64, darwin-arm64 and win32-x64.\n" +
        "  On one of those, reinstall without --omit=optional / --no-optional;\n" +
        "  elsewhere, build from source: cargo install --locked --path crates/airlock\n",
    );
    process.exit(127);
  }
}

const child = spawn(binaryPath(), process.argv.slice(2), {
  stdio: "inherit",
  windowsHide: true,
});

const forwarded = ["SIGINT", "SIGTERM", "SIGHUP"];
const forward = (signal) => {
  // The binary may already be gone; its exit handler below decides.
  try {
    child.kill(signal);
  } catch {}
};
for (const signal of forwarded) process.on(signal, forward);

child.on("error", (err) => {
  process.stderr.write(`error: could not start ${exe}: ${err.message}\n`);
  process.exit(126);
});

child.on("exit", (code, signal) => {
  if (signal) {
    // End the same way, so whoever started this launcher sees the signal, not a code.
    for (const s of forwarded) process.removeListener(s, forward);
    const code = 128 + (constants.signals[signal] ?? 0);
    if (process.platform === "win32") process.exit(code);
    process.kill(process.pid, signal);
    // Still here (the signal is ignored in this process): the shell convention instead.
    setTimeout(() => process.exit(code), 1000);
    return;
  }
  process.exit(code ?? 1);
});
