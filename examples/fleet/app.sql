-- The example's app: a billing table two tenants share, and the receipts table guarded
-- writes record into (created here so replicas never race to create it).
CREATE TABLE invoices (
  id text PRIMARY KEY,
  tenant_id text NOT NULL,
  status text NOT NULL,
  amount_cents integer NOT NULL,
  late_fee_cents integer NOT NULL,
  waiver_reason text,
  version integer NOT NULL
);
INSERT INTO invoices
SELECT 'INV-' || n, CASE WHEN n % 10 = 0 THEN 'globex' ELSE 'acme' END, 'open',
       1000 + n, 500, NULL, 1
FROM generate_series(1, 200) AS n;
CREATE TABLE IF NOT EXISTS synapsor_writeback_receipts (
  idempotency_key text PRIMARY KEY,
  job_id text UNIQUE NOT NULL,
  proposal_id text NOT NULL,
  status text NOT NULL,
  result_hash text,
  created_at timestamptz NOT NULL DEFAULT now(),
  completed_at timestamptz
);
