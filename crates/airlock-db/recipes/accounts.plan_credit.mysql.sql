-- The table the accounts.plan_credit recipe expects (MySQL / MariaDB).
CREATE TABLE accounts (
    id                varchar(64) PRIMARY KEY,
    tenant_id         varchar(64) NOT NULL,
    name              varchar(200) NOT NULL,
    plan              varchar(16) NOT NULL DEFAULT 'starter' CHECK (plan IN ('starter', 'team', 'business')),
    plan_credit_cents int NOT NULL DEFAULT 0 CHECK (plan_credit_cents BETWEEN 0 AND 20000),
    credit_reason     varchar(500),
    version           int NOT NULL DEFAULT 1,
    KEY accounts_tenant (tenant_id)
);

-- Example rows for a disposable database (two tenants).
INSERT INTO accounts (id, tenant_id, name, plan) VALUES
    ('ACC-7',  'acme',   'Acme Robotics', 'team'),
    ('ACC-8',  'acme',   'Acme Labs',     'starter'),
    ('ACC-70', 'globex', 'Globex Corp',   'business');
