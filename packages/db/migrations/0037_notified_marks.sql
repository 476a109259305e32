-- The notifying triggers (0031, 0034, 0035) also mark their transaction, with transaction-local
-- settings: `berth.notified_auth` when it changed what admits a principal or a node,
-- `berth.notified_read` when it changed what a tenant reads. A write through the API reads them
-- before it commits, and only a write that set them waits for this replica to hear its
-- notifications, or gives the tenant a new read version (packages/db/src/client.ts, withTenant).
CREATE OR REPLACE FUNCTION "notify_principal_auth"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('berth_node_assignments', 'auth:' ||
    ((CASE WHEN TG_OP = 'DELETE' THEN to_jsonb(OLD) ELSE to_jsonb(NEW) END) ->> TG_ARGV[0]));
  PERFORM set_config('berth.notified_auth', 'on', true);
  RETURN NULL;
END $$;--> statement-breakpoint
CREATE OR REPLACE FUNCTION "notify_tenant_read"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' THEN
    PERFORM pg_notify('berth_node_assignments', 'read:' || OLD."tenant_id");
  END IF;
  IF TG_OP <> 'DELETE' THEN
    PERFORM pg_notify('berth_node_assignments', 'read:' || NEW."tenant_id");
  END IF;
  PERFORM set_config('berth.notified_read', 'on', true);
  RETURN NULL;
END $$;
