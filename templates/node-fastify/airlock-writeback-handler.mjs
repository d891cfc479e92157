// Airlock app-owned writeback handler (Node.js + Fastify).
//
// IMPORTANT: your app handler owns the final business write. Airlock has checked the proposal,
// its approval and its guards; this handler must still make the write in ONE transaction that
// (1) refuses a repeated idempotency key, (2) finds the row by primary key AND tenant, and
// (3) checks the version the agent saw. Never trust the request to choose tables or columns:
// map the action to the write you allow.
//
//   npm install fastify
//   AIRLOCK_HANDLER_TOKEN=... AIRLOCK_HANDLER_SIGNING_SECRET=... PORT=8787 node airlock-writeback-handler.mjs
//
// Executor config: {"type": "http_handler", "url_env": "APP_HANDLER_URL",
//   "auth": {"type": "bearer_env", "token_env": "APP_HANDLER_TOKEN"},
//   "signing_secret_env": "APP_HANDLER_SIGNING_SECRET"}
// with APP_HANDLER_URL=http://127.0.0.1:8787/airlock/writeback. Contract: docs/handlers.md.

import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import Fastify from "fastify";

const TOKEN = process.env.AIRLOCK_HANDLER_TOKEN ?? "";
const SECRET = process.env.AIRLOCK_HANDLER_SIGNING_SECRET ?? "";
const PORT = Number(process.env.PORT ?? 8787);
const WINDOW_MS = 5 * 60 * 1000; // issued-at may differ from now by at most this much

if (!TOKEN && !SECRET) {
  console.error("set AIRLOCK_HANDLER_TOKEN and/or AIRLOCK_HANDLER_SIGNING_SECRET");
  process.exit(2);
}

// Signed requests already seen (replay protection), until their window ends.
// Several processes? Keep these in a shared store (Redis, a table).
const seen = new Map();

// DEMO ONLY: applied idempotency keys. Replace with a table written in the SAME transaction
// as the business change.
const applied = new Map();

const safeEqual = (a, b) => {
  const x = Buffer.from(String(a));
  const y = Buffer.from(String(b));
  return x.length === y.length && timingSafeEqual(x, y);
};
const hmac = (data) => createHmac("sha256", SECRET).update(data).digest("hex");

function receipt(job, status, extra = {}) {
  return {
    proposal_id: job?.proposalId,
    idempotency_key: job?.idempotencyKey,
    status,
    rows_affected: 0,
    source_database_mutated: false,
    safe_error_code: null,
    ...extra,
  };
}
// The answer to a verified probe (`airlock doctor --check-handlers`).
const probeAnswer = (probe) => ({
  kind: "probe",
  status: "ok",
  probe_id: probe.probeId,
  protocol_version: "1.0",
  source_database_mutated: false,
});
const reject = (code, safe_error_code) => ({ code, body: receipt(null, "failed", { safe_error_code }) });

// Accepts both shapes Airlock sends: the nested `change_set` and the flat Synapsor one.
function normalize(body) {
  if (typeof body !== "object" || body === null) return null;
  const cs = typeof body.change_set === "object" && body.change_set !== null ? body.change_set : body;
  const target = cs.target ?? body.target;
  const guards = cs.guards ?? body.guards ?? {};
  const tenant = guards.tenant ?? body.tenant_guard;
  const expected = guards.expected_version;
  const patch = cs.patch ?? body.patch;
  const scope = cs.scope ?? {};
  if (typeof body.proposal_id !== "string" || !body.proposal_id) return null;
  if (typeof body.idempotency_key !== "string" || !body.idempotency_key) return null;
  if (!target?.table || !target?.primary_key?.column || !tenant?.column || !expected?.column) return null;
  if (typeof patch !== "object" || patch === null || Object.keys(patch).length === 0) return null;
  return {
    proposalId: body.proposal_id,
    idempotencyKey: body.idempotency_key,
    action: cs.action ?? body.action,
    dryRun: body.dry_run === true,
    tenantId: String(scope.tenant_id ?? tenant.value),
    objectId: String(scope.object_id ?? target.primary_key.value),
    target,
    tenant,
    expected,
    patch,
  };
}

function verify(headers, raw) {
  if (TOKEN && !safeEqual(headers.authorization ?? "", `Bearer ${TOKEN}`)) return reject(401, "UNAUTHORIZED");
  const issued = headers["x-synapsor-issued-at"];
  const pid = headers["x-synapsor-proposal-id"];
  const key = headers["idempotency-key"];
  const v2 = headers["x-airlock-signature"];
  if (SECRET) {
    const v1 = headers["x-synapsor-signature"];
    if (v1 !== undefined && !safeEqual(v1, `sha256=${hmac(raw)}`)) return reject(401, "INVALID_SIGNATURE");
    if (!v2 || !issued || !pid || !key) return reject(401, "INVALID_SIGNATURE");
    const bodyHash = createHash("sha256").update(raw).digest("hex");
    const toSign = ["airlock-handler-v2", issued, pid, key, bodyHash].join("\n");
    if (!safeEqual(v2, `v2=${hmac(toSign)}`)) return reject(401, "INVALID_SIGNATURE");
    const t = Date.parse(issued);
    if (Number.isNaN(t) || Math.abs(Date.now() - t) > WINDOW_MS) return reject(401, "INVALID_ISSUED_AT");
  }
  let body;
  try {
    body = JSON.parse(raw.toString("utf8"));
  } catch {
    return reject(400, "BAD_JSON");
  }
  if (issued && body.issued_at && body.issued_at !== issued) return reject(401, "INVALID_ISSUED_AT");
  if ((pid && body.proposal_id !== pid) || (key && body.idempotency_key !== key)) return reject(400, "BAD_WRITEBACK_REQUEST");
  if ((body.protocol_version ?? "1.0") !== "1.0") return reject(400, "UNSUPPORTED_PROTOCOL_VERSION");
  let job;
  if (body.kind === "probe") {
    // `airlock doctor --check-handlers`: a signed probe. Answer it; write nothing.
    if (typeof body.probe_id !== "string" || !body.probe_id || body.probe_id !== body.proposal_id) return reject(400, "BAD_WRITEBACK_REQUEST");
    job = { probeId: body.probe_id };
  } else {
    job = normalize(body);
  }
  if (!job) return reject(400, "BAD_WRITEBACK_REQUEST");
  if (SECRET) {
    const now = Date.now();
    for (const [sig, until] of seen) if (until < now) seen.delete(sig);
    if (seen.has(v2)) return reject(409, "REPLAYED_REQUEST");
    seen.set(v2, Date.parse(issued) + WINDOW_MS);
  }
  return { job };
}

async function applyChange(job) {
  // ===================== YOUR TRANSACTION GOES HERE =====================
  // BEGIN;
  // 1. Idempotency: SELECT receipt FROM writeback_receipts WHERE idempotency_key = $1 FOR UPDATE
  //    → found: return receipt(job, "already_applied", {...its versions}) and write nothing.
  const prior = applied.get(job.idempotencyKey);
  if (prior) return receipt(job, "already_applied", { previous_version: prior.previous_version, new_version: prior.new_version });
  // 2. Tenant: SELECT * FROM <table you own for job.action>
  //      WHERE <pk> = job.objectId AND <tenant column> = job.tenantId FOR UPDATE
  //    → no row: return receipt(job, "conflict", { safe_error_code: "ROW_NOT_FOUND_OR_WRONG_TENANT" })
  // 3. Version: row[job.expected.column] must equal job.expected.value
  //    → else: return receipt(job, "conflict", { safe_error_code: "ROW_CHANGED_AFTER_PROPOSAL", previous_version: <current> })
  // 4. The business write (only the columns you allow for job.action), with job.patch values.
  // 5. job.dryRun → ROLLBACK and answer applied with rows_affected 0, nothing mutated.
  // 6. INSERT INTO writeback_receipts (idempotency_key, ...) ...; COMMIT;
  const previous = job.expected.value;
  if (job.dryRun) return receipt(job, "applied", { previous_version: previous, details: { dry_run: true } });
  const done = receipt(job, "applied", {
    rows_affected: 1,
    source_database_mutated: true,
    previous_version: previous,
    new_version: new Date().toISOString(),
  });
  applied.set(job.idempotencyKey, done);
  return done;
  // ======================================================================
}

const app = Fastify({ logger: false, bodyLimit: 1024 * 1024 });
// Keep the raw bytes: signatures cover the exact body.
app.addContentTypeParser("application/json", { parseAs: "buffer" }, (_req, body, done) => done(null, body));

const handler = async (request, reply) => {
  const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.from("");
  const checked = verify(request.headers, raw);
  if (!checked.job) return reply.code(checked.code).send(checked.body);
  if (checked.job.probeId) return reply.code(200).send(probeAnswer(checked.job));
  try {
    // Every outcome is a receipt with HTTP 200, so Airlock records your safe_error_code.
    return reply.code(200).send(await applyChange(checked.job));
  } catch {
    // Never return raw error text: it may carry data or credentials.
    return reply.code(200).send(receipt(checked.job, "failed", { safe_error_code: "HANDLER_EXCEPTION" }));
  }
};
app.post("/airlock/writeback", handler);
app.post("/synapsor/writeback", handler); // the path Synapsor Runner templates used
app.get("/healthz", async () => ({ ok: true }));

await app.listen({ host: "127.0.0.1", port: PORT });
console.error(`listening on http://127.0.0.1:${PORT}/airlock/writeback`);
