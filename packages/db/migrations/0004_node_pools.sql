CREATE TABLE "machines" (
	"id" text PRIMARY KEY NOT NULL,
	"tenant_id" text NOT NULL,
	"cluster_id" text NOT NULL,
	"pool_id" text NOT NULL,
	"provider" text NOT NULL,
	"instance_type" text NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"status_reason" text,
	"instance_id" text,
	"node_name" text NOT NULL,
	"node_id" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"launched_at" timestamp with time zone,
	"joined_at" timestamp with time zone,
	"terminate_requested_at" timestamp with time zone,
	"terminated_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "node_pools" (
	"id" text PRIMARY KEY NOT NULL,
	"tenant_id" text NOT NULL,
	"cluster_id" text NOT NULL,
	"name" text NOT NULL,
	"provider" text NOT NULL,
	"instance_type" text NOT NULL,
	"min_size" integer NOT NULL,
	"max_size" integer NOT NULL,
	"desired_size" integer NOT NULL,
	"labels" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"taints" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"status" text DEFAULT 'active' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"deleted_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "join_tokens" ADD COLUMN "machine_id" text;--> statement-breakpoint
ALTER TABLE "machines" ADD CONSTRAINT "machines_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "machines" ADD CONSTRAINT "machines_cluster_id_clusters_id_fk" FOREIGN KEY ("cluster_id") REFERENCES "public"."clusters"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "machines" ADD CONSTRAINT "machines_pool_id_node_pools_id_fk" FOREIGN KEY ("pool_id") REFERENCES "public"."node_pools"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "node_pools" ADD CONSTRAINT "node_pools_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "node_pools" ADD CONSTRAINT "node_pools_cluster_id_clusters_id_fk" FOREIGN KEY ("cluster_id") REFERENCES "public"."clusters"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "machines_cluster_idx" ON "machines" USING btree ("cluster_id");--> statement-breakpoint
CREATE INDEX "machines_pool_idx" ON "machines" USING btree ("pool_id");--> statement-breakpoint
CREATE UNIQUE INDEX "node_pools_cluster_name_live_key" ON "node_pools" USING btree ("cluster_id","name") WHERE "node_pools"."status" <> 'deleted';--> statement-breakpoint
CREATE INDEX "node_pools_cluster_idx" ON "node_pools" USING btree ("cluster_id");