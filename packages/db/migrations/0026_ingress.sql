CREATE TABLE "ingress_hosts" (
	"host" text PRIMARY KEY NOT NULL,
	"tenant_id" text NOT NULL,
	"cluster_id" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "ingress_route_stats" (
	"tenant_id" text NOT NULL,
	"cluster_id" text NOT NULL,
	"object_id" text NOT NULL,
	"host" text NOT NULL,
	"path" text NOT NULL,
	"status_class" text NOT NULL,
	"minute" timestamp with time zone NOT NULL,
	"requests" bigint NOT NULL,
	"bytes" bigint NOT NULL,
	"duration_ms_sum" bigint NOT NULL,
	"latency_buckets" bigint[] NOT NULL,
	CONSTRAINT "ingress_route_stats_object_id_host_path_status_class_minute_pk" PRIMARY KEY("object_id","host","path","status_class","minute")
);
--> statement-breakpoint
CREATE TABLE "load_balancer_ports" (
	"port" integer PRIMARY KEY NOT NULL,
	"tenant_id" text NOT NULL,
	"cluster_id" text NOT NULL,
	"object_id" text NOT NULL,
	"service_port" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "ingress_hosts" ADD CONSTRAINT "ingress_hosts_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "ingress_hosts" ADD CONSTRAINT "ingress_hosts_cluster_id_clusters_id_fk" FOREIGN KEY ("cluster_id") REFERENCES "public"."clusters"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "ingress_route_stats" ADD CONSTRAINT "ingress_route_stats_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "ingress_route_stats" ADD CONSTRAINT "ingress_route_stats_cluster_id_clusters_id_fk" FOREIGN KEY ("cluster_id") REFERENCES "public"."clusters"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "ingress_route_stats" ADD CONSTRAINT "ingress_route_stats_object_id_objects_id_fk" FOREIGN KEY ("object_id") REFERENCES "public"."objects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "load_balancer_ports" ADD CONSTRAINT "load_balancer_ports_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "load_balancer_ports" ADD CONSTRAINT "load_balancer_ports_cluster_id_clusters_id_fk" FOREIGN KEY ("cluster_id") REFERENCES "public"."clusters"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "load_balancer_ports" ADD CONSTRAINT "load_balancer_ports_object_id_objects_id_fk" FOREIGN KEY ("object_id") REFERENCES "public"."objects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "ingress_hosts_cluster_idx" ON "ingress_hosts" USING btree ("cluster_id");--> statement-breakpoint
CREATE UNIQUE INDEX "load_balancer_ports_service_key" ON "load_balancer_ports" USING btree ("object_id","service_port");--> statement-breakpoint
-- Row-level security as for every tenant table: a tenant sees only its own claims, ports and
-- route stats (the primary keys still refuse a host or port another tenant holds).
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['ingress_hosts', 'load_balancer_ports', 'ingress_route_stats'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format($p$CREATE POLICY "tenant_isolation" ON %I TO berth_app
      USING (tenant_id = current_setting('berth.tenant_id', true))
      WITH CHECK (tenant_id = current_setting('berth.tenant_id', true))$p$, t);
    EXECUTE format('CREATE POLICY "platform" ON %I TO berth_system USING (true) WITH CHECK (true)', t);
  END LOOP;
END $$;
