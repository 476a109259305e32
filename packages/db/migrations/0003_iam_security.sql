-- Row-level security for the identity tables, as in 0001.
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['service_accounts', 'api_keys', 'policies', 'policy_attachments', 'refresh_tokens'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format($p$CREATE POLICY "tenant_isolation" ON %I
      USING (tenant_id = current_setting('berth.tenant_id', true) OR current_setting('berth.system', true) = 'on')
      WITH CHECK (tenant_id = current_setting('berth.tenant_id', true) OR current_setting('berth.system', true) = 'on')$p$, t);
  END LOOP;
END $$;
--> statement-breakpoint
-- The audit log is append-only for everyone who connects as the app: rows may be inserted and read
-- (a tenant its own), never changed or removed. There is no UPDATE or DELETE policy, and a trigger
-- makes an attempt an error rather than a silent no-op.
ALTER TABLE "audit_events" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "audit_events" FORCE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE POLICY "audit_read" ON "audit_events" FOR SELECT
  USING (tenant_id = current_setting('berth.tenant_id', true) OR current_setting('berth.system', true) = 'on');--> statement-breakpoint
CREATE POLICY "audit_append" ON "audit_events" FOR INSERT
  WITH CHECK (tenant_id IS NULL OR tenant_id = current_setting('berth.tenant_id', true) OR current_setting('berth.system', true) = 'on');--> statement-breakpoint
CREATE FUNCTION "audit_events_append_only"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_events is append-only';
END $$;--> statement-breakpoint
-- Statement-level, so that it fires even when row-level security leaves no row to change.
CREATE TRIGGER "audit_events_no_update" BEFORE UPDATE OR DELETE ON "audit_events"
  FOR EACH STATEMENT EXECUTE FUNCTION "audit_events_append_only"();--> statement-breakpoint
CREATE TRIGGER "audit_events_no_truncate" BEFORE TRUNCATE ON "audit_events"
  FOR EACH STATEMENT EXECUTE FUNCTION "audit_events_append_only"();
