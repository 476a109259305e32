CREATE SEQUENCE "public"."resource_versions" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1;--> statement-breakpoint
CREATE TABLE "deployment_revisions" (
	"id" text PRIMARY KEY NOT NULL,
	"tenant_id" text NOT NULL,
	"cluster_id" text NOT NULL,
	"deployment_id" text NOT NULL,
	"revision" integer NOT NULL,
	"template_hash" text NOT NULL,
	"template" jsonb NOT NULL,
	"change_cause" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "objects" (
	"id" text PRIMARY KEY NOT NULL,
	"tenant_id" text NOT NULL,
	"cluster_id" text NOT NULL,
	"kind" text NOT NULL,
	"namespace" text DEFAULT '' NOT NULL,
	"name" text NOT NULL,
	"labels" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"annotations" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"spec" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"data_enc" text,
	"status" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"owner_references" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"generation" integer DEFAULT 1 NOT NULL,
	"resource_version" bigint DEFAULT nextval('resource_versions') NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"deletion_timestamp" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "pods" ALTER COLUMN "deployment_id" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "clusters" ADD COLUMN "data_key_enc" text;--> statement-breakpoint
ALTER TABLE "deployments" ADD COLUMN "annotations" jsonb DEFAULT '{}'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "deployments" ADD COLUMN "spec" jsonb DEFAULT '{}'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "deployments" ADD COLUMN "resource_version" bigint DEFAULT nextval('resource_versions') NOT NULL;--> statement-breakpoint
ALTER TABLE "deployments" ADD COLUMN "revision" integer DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE "deployments" ADD COLUMN "available_replicas" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "deployments" ADD COLUMN "progress_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "events" ADD COLUMN "namespace" text;--> statement-breakpoint
ALTER TABLE "events" ADD COLUMN "object_uid" text;--> statement-breakpoint
ALTER TABLE "events" ADD COLUMN "source" text;--> statement-breakpoint
ALTER TABLE "events" ADD COLUMN "count" integer DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE "events" ADD COLUMN "last_timestamp" timestamp with time zone DEFAULT now() NOT NULL;--> statement-breakpoint
ALTER TABLE "pods" ADD COLUMN "owner_kind" text DEFAULT 'Deployment' NOT NULL;--> statement-breakpoint
ALTER TABLE "pods" ADD COLUMN "owner_id" text;--> statement-breakpoint
ALTER TABLE "pods" ADD COLUMN "labels" jsonb DEFAULT '{}'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "pods" ADD COLUMN "annotations" jsonb DEFAULT '{}'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "pods" ADD COLUMN "resource_version" bigint DEFAULT nextval('resource_versions') NOT NULL;--> statement-breakpoint
ALTER TABLE "pods" ADD COLUMN "container_statuses" jsonb DEFAULT '[]'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "pods" ADD COLUMN "init_container_statuses" jsonb DEFAULT '[]'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "pods" ADD COLUMN "conditions" jsonb DEFAULT '[]'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "pods" ADD COLUMN "ready_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "deployment_revisions" ADD CONSTRAINT "deployment_revisions_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "deployment_revisions" ADD CONSTRAINT "deployment_revisions_cluster_id_clusters_id_fk" FOREIGN KEY ("cluster_id") REFERENCES "public"."clusters"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "deployment_revisions" ADD CONSTRAINT "deployment_revisions_deployment_id_deployments_id_fk" FOREIGN KEY ("deployment_id") REFERENCES "public"."deployments"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "objects" ADD CONSTRAINT "objects_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "objects" ADD CONSTRAINT "objects_cluster_id_clusters_id_fk" FOREIGN KEY ("cluster_id") REFERENCES "public"."clusters"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "deployment_revisions_key" ON "deployment_revisions" USING btree ("deployment_id","revision");--> statement-breakpoint
CREATE INDEX "deployment_revisions_hash_idx" ON "deployment_revisions" USING btree ("deployment_id","template_hash");--> statement-breakpoint
CREATE UNIQUE INDEX "objects_key" ON "objects" USING btree ("cluster_id","kind","namespace","name");--> statement-breakpoint
CREATE INDEX "objects_cluster_kind_idx" ON "objects" USING btree ("cluster_id","kind");--> statement-breakpoint
CREATE INDEX "events_dedupe_idx" ON "events" USING btree ("cluster_id","object_kind","object_name","reason");--> statement-breakpoint
CREATE INDEX "pods_owner_idx" ON "pods" USING btree ("owner_id");--> statement-breakpoint
-- A Deployment's pods name it as their owner.
UPDATE "pods" SET "owner_id" = "deployment_id" WHERE "owner_id" IS NULL;--> statement-breakpoint
-- Row-level security for the new tables, as in 0009.
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['objects', 'deployment_revisions'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format($p$CREATE POLICY "tenant_isolation" ON %I TO berth_app
      USING (tenant_id = current_setting('berth.tenant_id', true))
      WITH CHECK (tenant_id = current_setting('berth.tenant_id', true))$p$, t);
    EXECUTE format('CREATE POLICY "platform" ON %I TO berth_system USING (true) WITH CHECK (true)', t);
  END LOOP;
END $$;
