-- The table the support.ticket_status recipe expects (SQLite).
CREATE TABLE support_tickets (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL,
    subject         TEXT NOT NULL,
    priority        TEXT NOT NULL DEFAULT 'normal' CHECK (priority IN ('low', 'normal', 'high')),
    status          TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'pending_customer', 'escalated', 'resolved')),
    resolution_note TEXT,
    version         INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX support_tickets_tenant ON support_tickets (tenant_id);

-- Example rows for a disposable database (two tenants).
INSERT INTO support_tickets (id, tenant_id, subject, priority, status) VALUES
    ('T-501', 'acme',   'Cannot download March invoice', 'normal', 'open'),
    ('T-502', 'acme',   'Export times out',              'high',   'escalated'),
    ('T-901', 'globex', 'Password reset email missing',  'low',    'open');
