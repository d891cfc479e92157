// The server scenarios of @modelcontextprotocol/conformance that apply to Airlock, run against
// `airlock mcp serve-streamable-http --dev-no-auth` on loopback (the conformance client sends no
// bearer). Scenarios that need the suite's fixture tools, prompts, logging, completion,
// subscriptions, sampling or elicitation do not apply (docs/mcp.md lists them and why).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readdirSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { DatabaseSync } from 'node:sqlite';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, '..', '..', '..');
const CLI = join(HERE, 'node_modules', '@modelcontextprotocol', 'conformance', 'dist', 'index.js');

export const APPLICABLE = [
  'server-initialize',
  'ping',
  'tools-list',
  'resources-list',
  'server-sse-multiple-streams',
  'dns-rebinding-protection',
];

function airlockBin() {
  if (process.env.AIRLOCK_BIN) return process.env.AIRLOCK_BIN;
  for (const t of ['target-mcp', 'target']) {
    const p = join(REPO, t, 'debug', 'airlock');
    if (existsSync(p)) return p;
  }
  throw new Error('airlock binary not found: build it or set AIRLOCK_BIN');
}

const freePort = () => new Promise((ok) => {
  const s = createServer();
  s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => ok(port)); });
});

let server;
let url;
let dir;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'airlock-conformance-'));
  const db = new DatabaseSync(join(dir, 'app.db'));
  db.exec(`CREATE TABLE notes (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, body TEXT);
           INSERT INTO notes VALUES ('N-1', 'acme', 'hello');`);
  db.close();
  writeFileSync(join(dir, 'airlock.json'), JSON.stringify({
    version: 1, mode: 'review',
    sources: { app: { engine: 'sqlite', path: 'app.db' } },
    trusted_context: { provider: 'static_dev', values: { tenant_id: 'acme', principal: 'conformance' } },
    capabilities: [{ name: 'notes.inspect_note', kind: 'read', source: 'app',
      target: { table: 'notes', primary_key: 'id', tenant_key: 'tenant_id' },
      args: { note_id: { type: 'string', max_length: 32 } }, lookup: { id_from_arg: 'note_id' },
      visible_columns: ['id', 'body'] }],
  }));
  const port = await freePort();
  url = `http://127.0.0.1:${port}/mcp`;
  server = spawn(airlockBin(), ['--config', join(dir, 'airlock.json'), '--store', join(dir, 'ledger.db'),
    'mcp', 'serve-streamable-http', '--port', String(port), '--dev-no-auth'],
  { env: { PATH: process.env.PATH }, stdio: ['ignore', 'ignore', 'ignore'] });
  for (let i = 0; i < 200; i++) {
    try { if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) return; } catch { /* starting */ }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('server did not start');
});

after(() => server?.kill('SIGTERM'));

for (const scenario of APPLICABLE) {
  test(`conformance: ${scenario}`, () => {
    const out = join(dir, `out-${scenario}`);
    const run = spawnSync(process.execPath, [CLI, 'server', '--url', url, '--scenario', scenario, '-o', out],
      { encoding: 'utf8', timeout: 120_000 });
    const runs = existsSync(out) ? readdirSync(out) : [];
    assert.ok(runs.length > 0, `no results for ${scenario}: ${run.stdout}\n${run.stderr}`);
    const checks = runs.flatMap((r) => JSON.parse(readFileSync(join(out, r, 'checks.json'), 'utf8')));
    const failed = checks.filter((c) => c.status !== 'SUCCESS' && c.status !== 'INFO');
    assert.ok(checks.length > 0, `${scenario} ran no check`);
    assert.deepEqual(failed.map((c) => `${c.name}: ${c.errorMessage ?? c.status}`), []);
  });
}
