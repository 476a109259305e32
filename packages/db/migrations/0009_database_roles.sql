-- The apps no longer connect as the owner of the tables. Two roles of their own, created by the
-- operator (infra/services.sh does it locally; README, Operations, for a managed Postgres):
--   berth_app     the tenant role: every row it reads or writes is one tenant's, chosen per
--                 transaction with set_config('berth.tenant_id', …, true) (withTenant);
--   berth_system  the system role: the platform's own work across tenants (withSystem).
-- Neither owns anything nor can become the other, so nothing run as berth_app — not even an
-- injected statement — can switch row-level security off or read another tenant's rows. The old
-- `berth.system` setting means nothing any more.
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'berth_app')
     OR NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'berth_system') THEN
    RAISE EXCEPTION 'create the roles berth_app and berth_system first (LOGIN, NOSUPERUSER, NOBYPASSRLS; see README, Operations)';
  END IF;
END $$;--> statement-breakpoint
GRANT USAGE ON SCHEMA public TO berth_app, berth_system;--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO berth_app, berth_system;--> statement-breakpoint
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO berth_app, berth_system;--> statement-breakpoint
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO berth_app, berth_system;--> statement-breakpoint
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO berth_app, berth_system;--> statement-breakpoint
-- The platform's signing keys (encrypted private halves) are the system's alone.
REVOKE ALL ON "signing_keys" FROM berth_app;--> statement-breakpoint
DROP POLICY "tenant_isolation" ON "tenants";--> statement-breakpoint
CREATE POLICY "tenant_isolation" ON "tenants" TO berth_app
  USING ("id" = current_setting('berth.tenant_id', true))
  WITH CHECK ("id" = current_setting('berth.tenant_id', true));--> statement-breakpoint
CREATE POLICY "platform" ON "tenants" TO berth_system USING (true) WITH CHECK (true);--> statement-breakpoint
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['users', 'clusters', 'join_tokens', 'nodes', 'deployments', 'pods', 'events',
    'meter_intervals', 'service_accounts', 'api_keys', 'policies', 'policy_attachments', 'refresh_tokens',
    'node_pools', 'machines'] LOOP
    EXECUTE format('DROP POLICY "tenant_isolation" ON %I', t);
    EXECUTE format($p$CREATE POLICY "tenant_isolation" ON %I TO berth_app
      USING (tenant_id = current_setting('berth.tenant_id', true))
      WITH CHECK (tenant_id = current_setting('berth.tenant_id', true))$p$, t);
    EXECUTE format('CREATE POLICY "platform" ON %I TO berth_system USING (true) WITH CHECK (true)', t);
  END LOOP;
END $$;--> statement-breakpoint
-- The audit log: a tenant reads and appends its own records; the system appends anyone's and
-- reads all. Nobody updates a record; the system deletes only the records of a closed tenant whose
-- retention has passed (tenant erasure).
DROP POLICY "audit_read" ON "audit_events";--> statement-breakpoint
DROP POLICY "audit_append" ON "audit_events";--> statement-breakpoint
CREATE POLICY "audit_read" ON "audit_events" FOR SELECT TO berth_app
  USING (tenant_id = current_setting('berth.tenant_id', true));--> statement-breakpoint
CREATE POLICY "audit_append" ON "audit_events" FOR INSERT TO berth_app
  WITH CHECK (tenant_id = current_setting('berth.tenant_id', true));--> statement-breakpoint
CREATE POLICY "platform" ON "audit_events" TO berth_system USING (true) WITH CHECK (true);--> statement-breakpoint
CREATE OR REPLACE FUNCTION "audit_events_append_only"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND pg_has_role(current_user, 'berth_system', 'MEMBER') THEN
    RETURN NULL;
  END IF;
  RAISE EXCEPTION 'audit_events is append-only';
END $$;--> statement-breakpoint
CREATE FUNCTION "audit_events_erase_check"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM "tenants" WHERE "id" = OLD."tenant_id" AND "status" = 'closed'
                 AND "erase_after" <= now()) THEN
    RAISE EXCEPTION 'audit records are erased only with their closed tenant, after its retention';
  END IF;
  RETURN OLD;
END $$;--> statement-breakpoint
CREATE TRIGGER "audit_events_erase" BEFORE DELETE ON "audit_events"
  FOR EACH ROW EXECUTE FUNCTION "audit_events_erase_check"();
