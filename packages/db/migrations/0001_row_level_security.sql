-- Row-level security: every tenant-scoped table shows a transaction only the rows of the tenant it
-- set with set_config('berth.tenant_id', …, true), or every row when the platform itself set
-- berth.system (see withSystem in src/client.ts). FORCE makes the policies apply to the tables'
-- owner too: the apps connect as a role without BYPASSRLS that owns the schema.
ALTER TABLE "tenants" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "tenants" FORCE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE POLICY "tenant_isolation" ON "tenants" USING ("id" = current_setting('berth.tenant_id', true) OR current_setting('berth.system', true) = 'on') WITH CHECK ("id" = current_setting('berth.tenant_id', true) OR current_setting('berth.system', true) = 'on');--> statement-breakpoint
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['users', 'clusters', 'join_tokens', 'nodes', 'deployments', 'pods', 'events', 'meter_intervals'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format($p$CREATE POLICY "tenant_isolation" ON %I
      USING (tenant_id = current_setting('berth.tenant_id', true) OR current_setting('berth.system', true) = 'on')
      WITH CHECK (tenant_id = current_setting('berth.tenant_id', true) OR current_setting('berth.system', true) = 'on')$p$, t);
  END LOOP;
END $$;
