-- Our own fixture in the shape of the original's orders example.
CREATE TABLE orders (
  id varchar(64) PRIMARY KEY,
  tenant_id varchar(64) NOT NULL,
  customer_name varchar(255) NOT NULL,
  status varchar(64) NOT NULL,
  refund_review_status varchar(64) NOT NULL DEFAULT 'none',
  refund_note text,
  updated_at timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE TABLE synapsor_writeback_receipts (
  idempotency_key varchar(255) PRIMARY KEY,
  job_id varchar(255) UNIQUE NOT NULL,
  proposal_id varchar(512) NOT NULL,
  status varchar(64) NOT NULL,
  result_hash varchar(128),
  created_at timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP,
  completed_at timestamp NULL
);
INSERT INTO orders (id, tenant_id, customer_name, status, refund_review_status, refund_note, updated_at) VALUES
  ('O-1001', 'acme', 'Acme Robotics', 'paid', 'none', NULL, '2026-06-20 12:00:00'),
  ('O-9001', 'otherco', 'OtherCo Labs', 'paid', 'none', NULL, '2026-06-20 12:00:00');
GRANT SELECT ON synapsor_runner_mcp_orders.orders TO 'synapsor_reader'@'%';
GRANT SELECT ON synapsor_runner_mcp_orders.orders TO 'synapsor_writer'@'%';
GRANT UPDATE (refund_review_status, refund_note, updated_at) ON synapsor_runner_mcp_orders.orders TO 'synapsor_writer'@'%';
GRANT SELECT, INSERT, UPDATE ON synapsor_runner_mcp_orders.synapsor_writeback_receipts TO 'synapsor_writer'@'%';
