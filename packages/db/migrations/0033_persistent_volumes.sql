-- PersistentVolumeClaims' disks and their attachments: one row per claim (its uid), where the
-- provisioner records, before and after each step, the disk it made and the node it is attached to.
CREATE TABLE "persistent_volumes" (
	"claim_id" text PRIMARY KEY NOT NULL,
	"tenant_id" text NOT NULL,
	"cluster_id" text NOT NULL,
	"namespace" text NOT NULL,
	"claim_name" text NOT NULL,
	"provider" text NOT NULL,
	"size_bytes" bigint NOT NULL,
	"node_id" text,
	"instance_id" text,
	"attaching_at" timestamp with time zone,
	"attached_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "persistent_volumes" ADD CONSTRAINT "persistent_volumes_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "persistent_volumes" ADD CONSTRAINT "persistent_volumes_cluster_id_clusters_id_fk" FOREIGN KEY ("cluster_id") REFERENCES "public"."clusters"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "persistent_volumes_cluster_idx" ON "persistent_volumes" USING btree ("cluster_id");--> statement-breakpoint
CREATE INDEX "persistent_volumes_node_idx" ON "persistent_volumes" USING btree ("node_id");--> statement-breakpoint
-- Row-level security for the new tenant table, as in 0025.
ALTER TABLE "persistent_volumes" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "persistent_volumes" FORCE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE POLICY "tenant_isolation" ON "persistent_volumes" TO berth_app
  USING (tenant_id = current_setting('berth.tenant_id', true))
  WITH CHECK (tenant_id = current_setting('berth.tenant_id', true));--> statement-breakpoint
CREATE POLICY "platform" ON "persistent_volumes" TO berth_system USING (true) WITH CHECK (true);
