-- The table the accounts.plan_credit recipe expects (SQLite).
CREATE TABLE accounts (
    id                TEXT PRIMARY KEY,
    tenant_id         TEXT NOT NULL,
    name              TEXT NOT NULL,
    plan              TEXT NOT NULL DEFAULT 'starter' CHECK (plan IN ('starter', 'team', 'business')),
    plan_credit_cents INTEGER NOT NULL DEFAULT 0 CHECK (plan_credit_cents BETWEEN 0 AND 20000),
    credit_reason     TEXT,
    version           INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX accounts_tenant ON accounts (tenant_id);

-- Example rows for a disposable database (two tenants).
INSERT INTO accounts (id, tenant_id, name, plan) VALUES
    ('ACC-7',  'acme',   'Acme Robotics', 'team'),
    ('ACC-8',  'acme',   'Acme Labs',     'starter'),
    ('ACC-70', 'globex', 'Globex Corp',   'business');
