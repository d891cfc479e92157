// The official TypeScript SDK (@modelcontextprotocol/sdk) against `airlock mcp
// serve-streamable-http`, plus a raw stateless 2026-07-28 exchange (the TS SDK 1.x tops out at
// 2025-11-25). Run with the Node >= 22 from node_modules (node:sqlite builds the app DB).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { DatabaseSync } from 'node:sqlite';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, '..', '..', '..');
const TOKEN = 'node-suite-token';

function airlockBin() {
  if (process.env.AIRLOCK_BIN) return process.env.AIRLOCK_BIN;
  for (const t of ['target-mcp', 'target']) {
    const p = join(REPO, t, 'debug', 'airlock');
    if (existsSync(p)) return p;
  }
  throw new Error('airlock binary not found: build it or set AIRLOCK_BIN');
}

function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
    s.on('error', fail);
  });
}

let server;
let base;
let url;

before(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'airlock-node-'));
  const db = new DatabaseSync(join(dir, 'app.db'));
  db.exec(`CREATE TABLE subscriptions (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, customer_name TEXT NOT NULL,
             discount_pct INTEGER NOT NULL DEFAULT 0, discount_reason TEXT, row_version INTEGER NOT NULL DEFAULT 1);
           INSERT INTO subscriptions VALUES ('SUB-1001','northwind','Blue Harbor Cafe',0,NULL,1),
                                            ('SUB-2001','globex','Initech',10,'multi-year',7);`);
  db.close();
  const target = { table: 'subscriptions', primary_key: 'id', tenant_key: 'tenant_id' };
  writeFileSync(join(dir, 'airlock.json'), JSON.stringify({
    version: 1, mode: 'review', result_format: 2,
    sources: { app: { engine: 'sqlite', path: 'app.db' } },
    trusted_context: { provider: 'environment' },
    capabilities: [
      { name: 'billing.inspect_subscription', kind: 'read', source: 'app', target,
        args: { subscription_id: { type: 'string', max_length: 64 } },
        lookup: { id_from_arg: 'subscription_id' }, visible_columns: ['id', 'customer_name', 'discount_pct'] },
      { name: 'billing.propose_discount', kind: 'proposal', source: 'app', target,
        args: { subscription_id: { type: 'string', max_length: 64 },
                discount_pct: { type: 'number', minimum: 0, maximum: 30 },
                reason: { type: 'string', max_length: 300 } },
        lookup: { id_from_arg: 'subscription_id' }, visible_columns: ['id', 'discount_pct', 'discount_reason'],
        patch: { discount_pct: { from_arg: 'discount_pct' }, discount_reason: { from_arg: 'reason' } },
        allowed_columns: ['discount_pct', 'discount_reason'],
        numeric_bounds: { discount_pct: { minimum: 0, maximum: 30 } },
        conflict_guard: { column: 'row_version' } },
    ],
  }));
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  url = `${base}/mcp`;
  server = spawn(airlockBin(), ['--config', join(dir, 'airlock.json'), '--store', join(dir, 'ledger.db'),
    'mcp', 'serve', '--transport', 'streamable-http', '--port', String(port)], {
    env: { PATH: process.env.PATH, SYNAPSOR_TENANT_ID: 'northwind', SYNAPSOR_PRINCIPAL: 'node_agent',
           SYNAPSOR_RUNNER_HTTP_TOKEN: TOKEN },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(`${base}/healthz`)).ok) return;
    } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('server did not start');
});

after(() => server?.kill('SIGTERM'));

async function connect(token = TOKEN) {
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: token ? { Authorization: `Bearer ${token}` } : {} },
  });
  const client = new Client({ name: 'airlock-node-suite', version: '0.0.0' });
  await client.connect(transport);
  return client;
}

test('lists tools with strict schemas and annotations', async () => {
  const client = await connect();
  const { tools } = await client.listTools();
  assert.deepEqual(tools.map((t) => t.name), ['billing.inspect_subscription', 'billing.propose_discount']);
  assert.equal(tools[0].inputSchema.additionalProperties, false);
  assert.equal(tools[0].annotations.readOnlyHint, true);
  assert.equal(tools[1].inputSchema.properties.discount_pct.maximum, 30);
  await client.close();
});

test('read, proposal and resource', async () => {
  const client = await connect();
  const read = await client.callTool({ name: 'billing.inspect_subscription', arguments: { subscription_id: 'SUB-1001' } });
  assert.equal(read.isError, false);
  assert.equal(read.structuredContent.data.id, 'SUB-1001');
  assert.deepEqual(JSON.parse(read.content[0].text), read.structuredContent);
  const made = await client.callTool({ name: 'billing.propose_discount',
    arguments: { subscription_id: 'SUB-1001', discount_pct: 9, reason: `node ${Date.now()}` } });
  assert.equal(made.isError, false, made.content[0].text);
  const id = made.structuredContent.proposal.id;
  const res = await client.readResource({ uri: `synapsor://replay/replay_${id}` });
  assert.equal(JSON.parse(res.contents[0].text).proposal.proposal_id, id);
  await client.close();
});

test('trusted-context and undeclared arguments are refused, not dropped', async () => {
  const client = await connect();
  for (const [args, reason] of [
    [{ subscription_id: 'SUB-1001', tenant_id: 'globex' }, 'MODEL_CANNOT_OVERRIDE_BINDING'],
    [{ subscription_id: 'SUB-1001', extra: true }, 'ARGUMENT_NOT_DECLARED'],
    [{ subscription_id: 42 }, 'ARGUMENT_TYPE_INVALID'],
  ]) {
    const r = await client.callTool({ name: 'billing.inspect_subscription', arguments: args });
    assert.equal(r.isError, true);
    assert.equal(r.structuredContent.error.reason, reason);
  }
  const other = await client.callTool({ name: 'billing.inspect_subscription', arguments: { subscription_id: 'SUB-2001' } });
  assert.equal(other.structuredContent.error.code, 'NOT_FOUND_IN_TENANT');
  await assert.rejects(client.callTool({ name: 'billing.nope', arguments: {} }));
  await client.close();
});

test('no bearer or a bad one is refused', async () => {
  await assert.rejects(connect(null));
  await assert.rejects(connect('wrong'));
});

test('stateless 2026-07-28 request on the same endpoint (raw; TS SDK 1.x stops at 2025-11-25)', async () => {
  const meta = {
    'io.modelcontextprotocol/protocolVersion': '2026-07-28',
    'io.modelcontextprotocol/clientCapabilities': {},
  };
  const post = (body, method, name) => fetch(url, {
    method: 'POST',
    headers: {
      Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json',
      Accept: 'application/json, text/event-stream', 'MCP-Protocol-Version': '2026-07-28',
      'Mcp-Method': method, ...(name ? { 'Mcp-Name': name } : {}),
    },
    body: JSON.stringify(body),
  });
  const list = await post({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: meta } }, 'tools/list');
  assert.equal(list.status, 200);
  assert.equal(list.headers.get('mcp-session-id'), null, 'no session in 2026-07-28');
  const listed = await list.json();
  assert.equal(listed.result.tools.length, 2);
  const call = await post({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { _meta: meta,
    name: 'billing.inspect_subscription', arguments: { subscription_id: 'SUB-1001' } } },
  'tools/call', 'billing.inspect_subscription');
  assert.equal(call.status, 200);
  const called = await call.json();
  assert.equal(called.result.structuredContent.data.id, 'SUB-1001');
  assert.equal(called.result.resultType, 'complete');
});
