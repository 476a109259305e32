-- Row-level security for node pools and machines, as in 0001.
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['node_pools', 'machines'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format($p$CREATE POLICY "tenant_isolation" ON %I
      USING (tenant_id = current_setting('berth.tenant_id', true) OR current_setting('berth.system', true) = 'on')
      WITH CHECK (tenant_id = current_setting('berth.tenant_id', true) OR current_setting('berth.system', true) = 'on')$p$, t);
  END LOOP;
END $$;
