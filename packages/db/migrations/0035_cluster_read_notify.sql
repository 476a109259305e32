-- A change to a tenant's clusters (any writer: the API, the provisioner) notifies the control-api
-- replicas on commit with `read:<tenant id>`: each drops the reads of that tenant it cached
-- (services/read-cache.ts), as 0031 does for what admits a principal.
CREATE FUNCTION "notify_tenant_read"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' THEN
    PERFORM pg_notify('berth_node_assignments', 'read:' || OLD."tenant_id");
  END IF;
  IF TG_OP <> 'DELETE' THEN
    PERFORM pg_notify('berth_node_assignments', 'read:' || NEW."tenant_id");
  END IF;
  RETURN NULL;
END $$;--> statement-breakpoint
CREATE TRIGGER "clusters_read_change" AFTER INSERT OR UPDATE OR DELETE ON "clusters"
  FOR EACH ROW EXECUTE FUNCTION "notify_tenant_read"();
