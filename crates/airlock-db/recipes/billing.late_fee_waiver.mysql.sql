-- The table the billing.late_fee_waiver recipe expects (MySQL / MariaDB).
CREATE TABLE invoices (
    id             varchar(64) PRIMARY KEY,
    tenant_id      varchar(64) NOT NULL,
    customer_id    varchar(64) NOT NULL,
    amount_cents   int NOT NULL CHECK (amount_cents >= 0),
    late_fee_cents int NOT NULL DEFAULT 0 CHECK (late_fee_cents BETWEEN 0 AND 10000),
    waiver_reason  varchar(500),
    status         varchar(16) NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'overdue', 'paid', 'void')),
    version        int NOT NULL DEFAULT 1,
    KEY invoices_tenant (tenant_id)
);

-- Example rows for a disposable database (two tenants).
INSERT INTO invoices (id, tenant_id, customer_id, amount_cents, late_fee_cents, status) VALUES
    ('INV-1001', 'acme',   'CUS-1', 120000, 5500, 'overdue'),
    ('INV-1002', 'acme',   'CUS-2',  40000,    0, 'paid'),
    ('INV-2001', 'globex', 'CUS-9',  99000, 2500, 'overdue');
