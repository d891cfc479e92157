-- The table the support.ticket_status recipe expects (Postgres).
CREATE TABLE support_tickets (
    id              text PRIMARY KEY,
    tenant_id       text NOT NULL,
    subject         text NOT NULL,
    priority        text NOT NULL DEFAULT 'normal' CHECK (priority IN ('low', 'normal', 'high')),
    status          text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'pending_customer', 'escalated', 'resolved')),
    resolution_note text,
    version         integer NOT NULL DEFAULT 1
);
CREATE INDEX support_tickets_tenant ON support_tickets (tenant_id);

-- Example rows for a disposable database (two tenants).
INSERT INTO support_tickets (id, tenant_id, subject, priority, status) VALUES
    ('T-501', 'acme',   'Cannot download March invoice', 'normal', 'open'),
    ('T-502', 'acme',   'Export times out',              'high',   'escalated'),
    ('T-901', 'globex', 'Password reset email missing',  'low',    'open');
