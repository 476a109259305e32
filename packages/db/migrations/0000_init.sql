CREATE TABLE "clusters" (
	"id" text PRIMARY KEY NOT NULL,
	"tenant_id" text NOT NULL,
	"name" text NOT NULL,
	"status" text DEFAULT 'provisioning' NOT NULL,
	"status_reason" text,
	"signing_key_enc" text,
	"signing_public_jwk" text,
	"signing_kid" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"active_at" timestamp with time zone,
	"deleting_at" timestamp with time zone,
	"deleted_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "join_tokens" (
	"id" text PRIMARY KEY NOT NULL,
	"tenant_id" text NOT NULL,
	"cluster_id" text NOT NULL,
	"token_hash" text NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"used_count" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "join_tokens_tokenHash_unique" UNIQUE("token_hash")
);
--> statement-breakpoint
CREATE TABLE "meter_intervals" (
	"id" text PRIMARY KEY NOT NULL,
	"tenant_id" text NOT NULL,
	"cluster_id" text NOT NULL,
	"meter" text NOT NULL,
	"subject_id" text NOT NULL,
	"rate" bigint NOT NULL,
	"started_at" timestamp with time zone NOT NULL,
	"ended_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "nodes" (
	"id" text PRIMARY KEY NOT NULL,
	"tenant_id" text NOT NULL,
	"cluster_id" text NOT NULL,
	"name" text NOT NULL,
	"status" text DEFAULT 'ready' NOT NULL,
	"status_reason" text,
	"unschedulable" boolean DEFAULT false NOT NULL,
	"cpu_millis" integer NOT NULL,
	"memory_bytes" bigint NOT NULL,
	"max_pods" integer NOT NULL,
	"port_min" integer NOT NULL,
	"port_max" integer NOT NULL,
	"address" text NOT NULL,
	"labels" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"taints" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"agent_version" text,
	"joined_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_heartbeat_at" timestamp with time zone DEFAULT now() NOT NULL,
	"left_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "signing_keys" (
	"kid" text PRIMARY KEY NOT NULL,
	"alg" text NOT NULL,
	"public_jwk" text NOT NULL,
	"private_key_enc" text NOT NULL,
	"status" text DEFAULT 'active' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "tenants" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "tenants_name_unique" UNIQUE("name")
);
--> statement-breakpoint
CREATE TABLE "users" (
	"id" text PRIMARY KEY NOT NULL,
	"tenant_id" text NOT NULL,
	"email" text NOT NULL,
	"password_hash" text NOT NULL,
	"status" text DEFAULT 'active' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "deployments" (
	"id" text PRIMARY KEY NOT NULL,
	"tenant_id" text NOT NULL,
	"cluster_id" text NOT NULL,
	"namespace" text NOT NULL,
	"name" text NOT NULL,
	"generation" integer DEFAULT 1 NOT NULL,
	"replicas" integer NOT NULL,
	"template" jsonb NOT NULL,
	"template_hash" text NOT NULL,
	"manifest" jsonb NOT NULL,
	"labels" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"observed_generation" integer DEFAULT 0 NOT NULL,
	"ready_replicas" integer DEFAULT 0 NOT NULL,
	"updated_replicas" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"deleted_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "events" (
	"id" text PRIMARY KEY NOT NULL,
	"tenant_id" text NOT NULL,
	"cluster_id" text,
	"object_kind" text NOT NULL,
	"object_name" text NOT NULL,
	"type" text NOT NULL,
	"reason" text NOT NULL,
	"message" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "pods" (
	"id" text PRIMARY KEY NOT NULL,
	"tenant_id" text NOT NULL,
	"cluster_id" text NOT NULL,
	"deployment_id" text NOT NULL,
	"namespace" text NOT NULL,
	"name" text NOT NULL,
	"template_hash" text NOT NULL,
	"template" jsonb NOT NULL,
	"cpu_millis" integer NOT NULL,
	"memory_bytes" bigint NOT NULL,
	"seq" bigserial NOT NULL,
	"node_id" text,
	"host_ports" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"phase" text DEFAULT 'Pending' NOT NULL,
	"ready" boolean DEFAULT false NOT NULL,
	"restarts" integer DEFAULT 0 NOT NULL,
	"reason" text,
	"message" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"scheduled_at" timestamp with time zone,
	"started_at" timestamp with time zone,
	"stopped_at" timestamp with time zone,
	"deletion_requested_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "clusters" ADD CONSTRAINT "clusters_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "join_tokens" ADD CONSTRAINT "join_tokens_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "join_tokens" ADD CONSTRAINT "join_tokens_cluster_id_clusters_id_fk" FOREIGN KEY ("cluster_id") REFERENCES "public"."clusters"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "meter_intervals" ADD CONSTRAINT "meter_intervals_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "meter_intervals" ADD CONSTRAINT "meter_intervals_cluster_id_clusters_id_fk" FOREIGN KEY ("cluster_id") REFERENCES "public"."clusters"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "nodes" ADD CONSTRAINT "nodes_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "nodes" ADD CONSTRAINT "nodes_cluster_id_clusters_id_fk" FOREIGN KEY ("cluster_id") REFERENCES "public"."clusters"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "users" ADD CONSTRAINT "users_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "deployments" ADD CONSTRAINT "deployments_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "deployments" ADD CONSTRAINT "deployments_cluster_id_clusters_id_fk" FOREIGN KEY ("cluster_id") REFERENCES "public"."clusters"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "events" ADD CONSTRAINT "events_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "events" ADD CONSTRAINT "events_cluster_id_clusters_id_fk" FOREIGN KEY ("cluster_id") REFERENCES "public"."clusters"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "pods" ADD CONSTRAINT "pods_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "pods" ADD CONSTRAINT "pods_cluster_id_clusters_id_fk" FOREIGN KEY ("cluster_id") REFERENCES "public"."clusters"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "pods" ADD CONSTRAINT "pods_deployment_id_deployments_id_fk" FOREIGN KEY ("deployment_id") REFERENCES "public"."deployments"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "pods" ADD CONSTRAINT "pods_node_id_nodes_id_fk" FOREIGN KEY ("node_id") REFERENCES "public"."nodes"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "clusters_tenant_name_live_key" ON "clusters" USING btree ("tenant_id","name") WHERE "clusters"."status" <> 'deleted';--> statement-breakpoint
CREATE INDEX "clusters_tenant_idx" ON "clusters" USING btree ("tenant_id");--> statement-breakpoint
CREATE INDEX "join_tokens_cluster_idx" ON "join_tokens" USING btree ("cluster_id");--> statement-breakpoint
CREATE UNIQUE INDEX "meter_intervals_open_key" ON "meter_intervals" USING btree ("meter","subject_id") WHERE "meter_intervals"."ended_at" is null;--> statement-breakpoint
CREATE INDEX "meter_intervals_tenant_time_idx" ON "meter_intervals" USING btree ("tenant_id","started_at");--> statement-breakpoint
CREATE UNIQUE INDEX "nodes_cluster_name_live_key" ON "nodes" USING btree ("cluster_id","name") WHERE "nodes"."status" <> 'left';--> statement-breakpoint
CREATE INDEX "nodes_cluster_idx" ON "nodes" USING btree ("cluster_id");--> statement-breakpoint
CREATE UNIQUE INDEX "users_email_key" ON "users" USING btree (lower("email"));--> statement-breakpoint
CREATE INDEX "users_tenant_idx" ON "users" USING btree ("tenant_id");--> statement-breakpoint
CREATE UNIQUE INDEX "deployments_live_key" ON "deployments" USING btree ("cluster_id","namespace","name") WHERE "deployments"."deleted_at" is null;--> statement-breakpoint
CREATE INDEX "deployments_cluster_idx" ON "deployments" USING btree ("cluster_id");--> statement-breakpoint
CREATE INDEX "events_cluster_created_idx" ON "events" USING btree ("cluster_id","created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "pods_cluster_ns_name_key" ON "pods" USING btree ("cluster_id","namespace","name");--> statement-breakpoint
CREATE INDEX "pods_cluster_idx" ON "pods" USING btree ("cluster_id");--> statement-breakpoint
CREATE INDEX "pods_node_idx" ON "pods" USING btree ("node_id");--> statement-breakpoint
CREATE INDEX "pods_deployment_idx" ON "pods" USING btree ("deployment_id");