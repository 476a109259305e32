CREATE TABLE "metric_rollups" (
	"resolution" smallint PRIMARY KEY NOT NULL,
	"done_until" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "node_metrics" (
	"node_id" text NOT NULL,
	"tenant_id" text NOT NULL,
	"cluster_id" text NOT NULL,
	"resolution" smallint NOT NULL,
	"ts" timestamp with time zone NOT NULL,
	"window_ms" integer NOT NULL,
	"cpu_nanos" bigint NOT NULL,
	"memory_bytes" bigint NOT NULL,
	"memory_byte_seconds" bigint NOT NULL,
	"rx_bytes" bigint NOT NULL,
	"tx_bytes" bigint NOT NULL,
	CONSTRAINT "node_metrics_node_id_resolution_ts_pk" PRIMARY KEY("node_id","resolution","ts")
);
--> statement-breakpoint
CREATE TABLE "pod_metrics" (
	"pod_id" text NOT NULL,
	"owner_id" text,
	"tenant_id" text NOT NULL,
	"cluster_id" text NOT NULL,
	"resolution" smallint NOT NULL,
	"ts" timestamp with time zone NOT NULL,
	"window_ms" integer NOT NULL,
	"cpu_nanos" bigint NOT NULL,
	"memory_bytes" bigint NOT NULL,
	"memory_byte_seconds" bigint NOT NULL,
	"rx_bytes" bigint NOT NULL,
	"tx_bytes" bigint NOT NULL,
	"restarts" integer NOT NULL,
	CONSTRAINT "pod_metrics_pod_id_resolution_ts_pk" PRIMARY KEY("pod_id","resolution","ts")
);
--> statement-breakpoint
ALTER TABLE "node_metrics" ADD CONSTRAINT "node_metrics_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "node_metrics" ADD CONSTRAINT "node_metrics_cluster_id_clusters_id_fk" FOREIGN KEY ("cluster_id") REFERENCES "public"."clusters"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "pod_metrics" ADD CONSTRAINT "pod_metrics_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "pod_metrics" ADD CONSTRAINT "pod_metrics_cluster_id_clusters_id_fk" FOREIGN KEY ("cluster_id") REFERENCES "public"."clusters"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "node_metrics_tier_idx" ON "node_metrics" USING btree ("resolution","ts");--> statement-breakpoint
CREATE INDEX "pod_metrics_tier_idx" ON "pod_metrics" USING btree ("resolution","ts");--> statement-breakpoint
CREATE INDEX "pod_metrics_owner_idx" ON "pod_metrics" USING btree ("owner_id","resolution","ts");--> statement-breakpoint
-- Row-level security for the metrics tables, as in 0011; the rollup bookkeeping is the platform's alone.
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['pod_metrics', 'node_metrics'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format($p$CREATE POLICY "tenant_isolation" ON %I TO berth_app
      USING (tenant_id = current_setting('berth.tenant_id', true))
      WITH CHECK (tenant_id = current_setting('berth.tenant_id', true))$p$, t);
    EXECUTE format('CREATE POLICY "platform" ON %I TO berth_system USING (true) WITH CHECK (true)', t);
  END LOOP;
END $$;--> statement-breakpoint
REVOKE ALL ON "metric_rollups" FROM berth_app;
