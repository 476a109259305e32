-- What admits a node's credential (its cluster's verifying keys, and the node not having left)
-- notifies the control-api replicas on commit with `auth:<cluster id>`, as 0031 does for principals:
-- each drops the credentials of that cluster it verified and cached (auth/node-credentials.ts).
-- Only the changes that can refuse a credential notify: a lease renewal or a ready/not_ready flip
-- of a node does not.
CREATE TRIGGER "nodes_auth_left" AFTER UPDATE OF "status" ON "nodes"
  FOR EACH ROW WHEN (NEW."status" = 'left' AND OLD."status" IS DISTINCT FROM NEW."status")
  EXECUTE FUNCTION "notify_principal_auth"('cluster_id');--> statement-breakpoint
CREATE TRIGGER "nodes_auth_delete" AFTER DELETE ON "nodes"
  FOR EACH ROW EXECUTE FUNCTION "notify_principal_auth"('cluster_id');--> statement-breakpoint
CREATE TRIGGER "clusters_auth_keys" AFTER UPDATE OF "signing_public_jwk", "previous_public_jwk", "previous_key_retire_at", "tenant_id" ON "clusters"
  FOR EACH ROW WHEN (
    OLD."signing_public_jwk" IS DISTINCT FROM NEW."signing_public_jwk"
    OR OLD."previous_public_jwk" IS DISTINCT FROM NEW."previous_public_jwk"
    OR OLD."previous_key_retire_at" IS DISTINCT FROM NEW."previous_key_retire_at"
    OR OLD."tenant_id" IS DISTINCT FROM NEW."tenant_id"
  )
  EXECUTE FUNCTION "notify_principal_auth"('id');--> statement-breakpoint
CREATE TRIGGER "clusters_auth_delete" AFTER DELETE ON "clusters"
  FOR EACH ROW EXECUTE FUNCTION "notify_principal_auth"('id');
