-- Our own fixture in the shape of the original's support example: one table, two tenants,
-- a reader that may only SELECT and a writer with UPDATE on the patched columns only.
CREATE TABLE public.tickets (
  id text PRIMARY KEY,
  tenant_id text NOT NULL,
  customer_name text NOT NULL,
  status text NOT NULL,
  resolution_note text,
  updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO public.tickets (id, tenant_id, customer_name, status, resolution_note, updated_at) VALUES
  ('T-1042', 'acme', 'Acme Robotics', 'open', NULL, '2026-06-20T12:00:00Z'),
  ('T-9001', 'otherco', 'OtherCo Labs', 'open', NULL, '2026-06-20T12:00:00Z');
GRANT USAGE ON SCHEMA public TO synapsor_reader, synapsor_writer;
GRANT CREATE ON SCHEMA public TO synapsor_writer;
GRANT SELECT ON public.tickets TO synapsor_reader, synapsor_writer;
GRANT UPDATE (status, resolution_note, updated_at) ON public.tickets TO synapsor_writer;
