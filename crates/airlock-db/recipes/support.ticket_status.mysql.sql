-- The table the support.ticket_status recipe expects (MySQL / MariaDB).
CREATE TABLE support_tickets (
    id              varchar(64) PRIMARY KEY,
    tenant_id       varchar(64) NOT NULL,
    subject         varchar(200) NOT NULL,
    priority        varchar(16) NOT NULL DEFAULT 'normal' CHECK (priority IN ('low', 'normal', 'high')),
    status          varchar(32) NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'pending_customer', 'escalated', 'resolved')),
    resolution_note varchar(1000),
    version         int NOT NULL DEFAULT 1,
    KEY support_tickets_tenant (tenant_id)
);

-- Example rows for a disposable database (two tenants).
INSERT INTO support_tickets (id, tenant_id, subject, priority, status) VALUES
    ('T-501', 'acme',   'Cannot download March invoice', 'normal', 'open'),
    ('T-502', 'acme',   'Export times out',              'high',   'escalated'),
    ('T-901', 'globex', 'Password reset email missing',  'low',    'open');
