-- What admits a principal's requests (its status and credential cut-off, its sessions, API keys and
-- policy attachments) notifies the control-api replicas on commit, on the channel they already
-- LISTEN on, with `auth:<principal id>`: each drops what it cached of that principal (auth/admission-cache.ts).
CREATE FUNCTION "notify_principal_auth"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('berth_node_assignments', 'auth:' ||
    ((CASE WHEN TG_OP = 'DELETE' THEN to_jsonb(OLD) ELSE to_jsonb(NEW) END) ->> TG_ARGV[0]));
  RETURN NULL;
END $$;--> statement-breakpoint
CREATE TRIGGER "users_auth_change" AFTER UPDATE OR DELETE ON "users"
  FOR EACH ROW EXECUTE FUNCTION "notify_principal_auth"('id');--> statement-breakpoint
CREATE TRIGGER "service_accounts_auth_change" AFTER UPDATE OR DELETE ON "service_accounts"
  FOR EACH ROW EXECUTE FUNCTION "notify_principal_auth"('id');--> statement-breakpoint
CREATE TRIGGER "api_keys_auth_change" AFTER UPDATE OR DELETE ON "api_keys"
  FOR EACH ROW EXECUTE FUNCTION "notify_principal_auth"('principal_id');--> statement-breakpoint
CREATE TRIGGER "policy_attachments_auth_change" AFTER INSERT OR UPDATE OR DELETE ON "policy_attachments"
  FOR EACH ROW EXECUTE FUNCTION "notify_principal_auth"('principal_id');--> statement-breakpoint
CREATE TRIGGER "refresh_tokens_auth_change" AFTER UPDATE OF "revoked_at" ON "refresh_tokens"
  FOR EACH ROW WHEN (OLD."revoked_at" IS DISTINCT FROM NEW."revoked_at")
  EXECUTE FUNCTION "notify_principal_auth"('principal_id');
