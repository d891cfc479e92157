#!/usr/bin/env node
// Builds the MCP Bundle (.mcpb, Claude Desktop's one-click install) around an airlock binary:
//
//   node packaging/mcpb/build.mjs --binary target/release/airlock --platform linux-x64 --out dist/
//
// Writes airlock-mcp-<version>-<platform>.mcpb: manifest.json (from the template beside this
// script, with the binary's version and platform filled in) and server/airlock[.exe]. The
// manifest asks the user for the config file, the read-only database URL, the tenant and the
// principal, and passes them as --config, DATABASE_URL, SYNAPSOR_TENANT_ID and
// SYNAPSOR_PRINCIPAL. The manifest is checked with the official CLI (@anthropic-ai/mcpb,
// pinned in package.json here; `npm ci` in this folder installs it) and the bundle is packed by
// it. Prints the bundle's path.
import { execFileSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const HERE = dirname(fileURLToPath(import.meta.url));
const MCPB = join(HERE, "node_modules", "@anthropic-ai", "mcpb", "dist", "cli", "cli.js");
const OS = { linux: "linux", darwin: "darwin", win32: "win32" };

function fail(message) {
  process.stderr.write(`error: ${message}\n`);
  process.exit(2);
}

const { values } = parseArgs({
  options: {
    binary: { type: "string" },
    platform: { type: "string" },
    out: { type: "string" },
    version: { type: "string" },
  },
});
if (!values.binary || !values.platform || !values.out) {
  fail("usage: build.mjs --binary PATH --platform linux-x64|linux-arm64|darwin-x64|darwin-arm64|win32-x64 --out DIR [--version V]");
}
const os = OS[values.platform.split("-")[0]];
if (!os) fail(`unknown --platform ${values.platform}`);
if (!existsSync(MCPB)) fail(`the mcpb CLI is not installed: run \`npm ci\` in ${HERE}`);

// --version: for a binary this machine cannot run (cross builds).
let version = values.version;
if (!version) {
  const out = execFileSync(values.binary, ["--version"], { encoding: "utf8" });
  version = /^airlock (\S+)/.exec(out)?.[1];
  if (!version) fail(`\`${values.binary} --version\` printed ${JSON.stringify(out)}`);
}

const exe = os === "win32" ? "airlock.exe" : "airlock";
const manifest = JSON.parse(readFileSync(join(HERE, "manifest.json"), "utf8"));
manifest.version = version;
manifest.compatibility.platforms = [os];
manifest.server.entry_point = `server/${exe}`;
manifest.server.mcp_config.command = `\${__dirname}/server/${exe}`;

const stage = mkdtempSync(join(tmpdir(), "airlock-mcpb-"));
try {
  mkdirSync(join(stage, "server"));
  copyFileSync(values.binary, join(stage, "server", exe));
  chmodSync(join(stage, "server", exe), 0o755);
  writeFileSync(join(stage, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  const run = (...args) => execFileSync(process.execPath, [MCPB, ...args], { stdio: ["ignore", "ignore", "inherit"] });
  run("validate", join(stage, "manifest.json"));
  mkdirSync(values.out, { recursive: true });
  const bundle = join(resolve(values.out), `airlock-mcp-${version}-${values.platform}.mcpb`);
  run("pack", stage, bundle);
  console.log(bundle);
} finally {
  rmSync(stage, { recursive: true, force: true });
}
