-- Airlock demo app: a small multi-tenant subscription business with two tenants.
CREATE TABLE subscriptions (
    id                  TEXT PRIMARY KEY,
    tenant_id           TEXT NOT NULL,
    customer_name       TEXT NOT NULL,
    plan                TEXT NOT NULL,
    seats               INTEGER NOT NULL,
    monthly_price_cents INTEGER NOT NULL,
    discount_pct        INTEGER NOT NULL DEFAULT 0,
    discount_reason     TEXT,
    row_version         INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE tickets (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL,
    subject     TEXT NOT NULL,
    status      TEXT NOT NULL,
    resolution  TEXT,
    updated_at  TEXT NOT NULL
);

INSERT INTO subscriptions VALUES
    ('SUB-1001', 'northwind', 'Blue Harbor Cafe', 'team', 12, 36000, 0, NULL, 1),
    ('SUB-1002', 'northwind', 'Kestrel Logistics', 'business', 80, 192000, 5, 'annual prepay', 3),
    ('SUB-2001', 'globex', 'Initech', 'enterprise', 400, 880000, 10, 'multi-year', 7);

INSERT INTO tickets VALUES
    ('T-501', 'northwind', 'Invoice shows the wrong seat count', 'open', NULL, '2026-11-20T09:12:00Z'),
    ('T-502', 'northwind', 'Cannot invite a new admin', 'pending', NULL, '2026-11-21T16:40:00Z'),
    ('T-901', 'globex', 'SSO outage', 'open', NULL, '2026-11-22T08:05:00Z');
