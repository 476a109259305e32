CREATE TABLE "cluster_cas" (
	"id" text PRIMARY KEY NOT NULL,
	"tenant_id" text NOT NULL,
	"cluster_id" text NOT NULL,
	"certificate_pem" text NOT NULL,
	"private_key_enc" text NOT NULL,
	"not_before" timestamp with time zone NOT NULL,
	"not_after" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "nodes" ADD COLUMN "tunnel_port" integer;--> statement-breakpoint
ALTER TABLE "cluster_cas" ADD CONSTRAINT "cluster_cas_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "cluster_cas" ADD CONSTRAINT "cluster_cas_cluster_id_clusters_id_fk" FOREIGN KEY ("cluster_id") REFERENCES "public"."clusters"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "cluster_cas_cluster_idx" ON "cluster_cas" USING btree ("cluster_id","not_after");--> statement-breakpoint
-- Row-level security for the new tenant table, as in 0025.
ALTER TABLE "cluster_cas" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "cluster_cas" FORCE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE POLICY "tenant_isolation" ON "cluster_cas" TO berth_app
  USING (tenant_id = current_setting('berth.tenant_id', true))
  WITH CHECK (tenant_id = current_setting('berth.tenant_id', true));--> statement-breakpoint
CREATE POLICY "platform" ON "cluster_cas" TO berth_system USING (true) WITH CHECK (true);
--> statement-breakpoint
-- The network view lists the nodes' tunnels and the CA bundle: a node's tunnel port and a new CA
-- are pushed to the cluster's agents too (0027's channel).
DROP TRIGGER "nodes_network_update" ON "nodes";--> statement-breakpoint
CREATE TRIGGER "nodes_network_update" AFTER UPDATE OF "status", "tunnel_port" ON "nodes"
  FOR EACH ROW WHEN (OLD."status" IS DISTINCT FROM NEW."status"
    OR OLD."tunnel_port" IS DISTINCT FROM NEW."tunnel_port")
  EXECUTE FUNCTION "notify_cluster_network"();--> statement-breakpoint
CREATE TRIGGER "cluster_cas_network_insert" AFTER INSERT ON "cluster_cas"
  FOR EACH ROW EXECUTE FUNCTION "notify_cluster_network"();
