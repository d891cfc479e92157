#!/usr/bin/env node
// Builds the npm tarballs of Airlock (esbuild/biome style):
//
//   node packaging/npm/build.mjs platform --binary target/release/airlock --platform linux-x64 --out dist/npm
//   node packaging/npm/build.mjs launcher --version 0.1.0 --out dist/npm
//
// `platform` writes airlock-mcp-<platform>-<version>.tgz holding the given binary under bin/,
// with `os`/`cpu` fields so npm installs it only where it runs. `launcher` writes
// airlock-mcp-<version>.tgz: the `airlock-mcp`/`airlock` commands (bin/airlock.js) and one
// optional dependency per platform in platforms.json, all pinned to the same version. Each
// prints the tarball's path. The version of a platform package is the binary's own
// (`airlock --version`), or --version for a binary this machine cannot run (cross builds).
// Needs node and npm only.
import { execFileSync } from "node:child_process";
import { chmodSync, copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const HERE = dirname(fileURLToPath(import.meta.url));
const LAUNCHER = join(HERE, "airlock-mcp");
const PLATFORMS = Object.fromEntries(
  Object.entries(JSON.parse(readFileSync(join(HERE, "platforms.json"), "utf8"))).filter(([k]) => !k.startsWith("_")),
);

function fail(message) {
  process.stderr.write(`error: ${message}\n`);
  process.exit(2);
}

function binaryVersion(binary) {
  const out = execFileSync(binary, ["--version"], { encoding: "utf8" });
  const m = /^airlock (\S+)/.exec(out);
  if (!m) fail(`\`${binary} --version\` printed ${JSON.stringify(out)}, not \`airlock VERSION …\``);
  return m[1];
}

// Packs `dir` into `out` and returns the tarball's path.
function pack(dir, out) {
  mkdirSync(out, { recursive: true });
  const json = execFileSync("npm", ["pack", "--json", "--pack-destination", resolve(out)], {
    cwd: dir,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  return join(resolve(out), JSON.parse(json)[0].filename);
}

function writeJson(path, value) {
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`);
}

function buildPlatform({ binary, platform, out, version: given }) {
  const target = PLATFORMS[platform];
  if (!target) fail(`unknown --platform ${platform}; one of: ${Object.keys(PLATFORMS).join(", ")}`);
  const version = given ?? binaryVersion(binary);
  const launcher = JSON.parse(readFileSync(join(LAUNCHER, "package.json"), "utf8"));
  const stage = mkdtempSync(join(tmpdir(), "airlock-npm-"));
  try {
    const exe = target.os === "win32" ? "airlock.exe" : "airlock";
    mkdirSync(join(stage, "bin"));
    copyFileSync(binary, join(stage, "bin", exe));
    chmodSync(join(stage, "bin", exe), 0o755);
    writeJson(join(stage, "package.json"), {
      name: `airlock-mcp-${platform}`,
      version,
      description: `The airlock binary for ${platform}; installed by the airlock-mcp package`,
      license: launcher.license,
      os: [target.os],
      cpu: [target.cpu],
      files: [`bin/${exe}`],
      // Package managers that keep packages zipped (Yarn PnP) must unpack it to run it.
      preferUnplugged: true,
    });
    writeFileSync(
      join(stage, "README.md"),
      `# airlock-mcp-${platform}\n\nThe \`airlock\` binary for ${platform}. Install \`airlock-mcp\` instead: it picks this package on ${platform}.\n`,
    );
    return pack(stage, out);
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

function buildLauncher({ version, out }) {
  if (!version) fail("launcher needs --version (the binaries' version)");
  const stage = mkdtempSync(join(tmpdir(), "airlock-npm-"));
  try {
    cpSync(LAUNCHER, stage, { recursive: true });
    const manifest = JSON.parse(readFileSync(join(stage, "package.json"), "utf8"));
    manifest.version = version;
    manifest.optionalDependencies = Object.fromEntries(
      Object.keys(PLATFORMS).map((p) => [`airlock-mcp-${p}`, version]),
    );
    writeJson(join(stage, "package.json"), manifest);
    chmodSync(join(stage, "bin", "airlock.js"), 0o755);
    return pack(stage, out);
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    binary: { type: "string" },
    platform: { type: "string" },
    version: { type: "string" },
    out: { type: "string" },
  },
});
const [what] = positionals;
if (!values.out) fail("--out DIR is required");
if (what === "platform") {
  if (!values.binary || !values.platform) fail("platform needs --binary PATH and --platform KEY");
  console.log(buildPlatform(values));
} else if (what === "launcher") {
  console.log(buildLauncher(values));
} else {
  fail("usage: build.mjs platform --binary PATH --platform KEY --out DIR | launcher --version V --out DIR");
}
