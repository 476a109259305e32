CREATE TABLE "invoice_lines" (
	"invoice_id" text NOT NULL,
	"line_no" integer NOT NULL,
	"tenant_id" text NOT NULL,
	"kind" text NOT NULL,
	"usage_period_start" timestamp with time zone NOT NULL,
	"cluster_id" text NOT NULL,
	"meter" text NOT NULL,
	"raw" numeric(38, 0) NOT NULL,
	"unit_price" text NOT NULL,
	"amount_micro" bigint NOT NULL,
	CONSTRAINT "invoice_lines_invoice_id_line_no_pk" PRIMARY KEY("invoice_id","line_no")
);
--> statement-breakpoint
CREATE TABLE "invoices" (
	"id" text PRIMARY KEY NOT NULL,
	"tenant_id" text NOT NULL,
	"number" integer NOT NULL,
	"period_start" timestamp with time zone NOT NULL,
	"period_end" timestamp with time zone NOT NULL,
	"currency" text NOT NULL,
	"total_micro" bigint NOT NULL,
	"price_book" jsonb NOT NULL,
	"finalized_at" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "price_books" (
	"id" text PRIMARY KEY NOT NULL,
	"tenant_id" text,
	"document" jsonb NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "usage_dirty_hours" (
	"tenant_id" text NOT NULL,
	"hour" timestamp with time zone NOT NULL,
	CONSTRAINT "usage_dirty_hours_tenant_id_hour_pk" PRIMARY KEY("tenant_id","hour")
);
--> statement-breakpoint
CREATE TABLE "usage_events" (
	"id" text PRIMARY KEY NOT NULL,
	"tenant_id" text NOT NULL,
	"cluster_id" text NOT NULL,
	"namespace" text DEFAULT '' NOT NULL,
	"meter" text NOT NULL,
	"subject_id" text NOT NULL,
	"hour" timestamp with time zone NOT NULL,
	"raw" bigint NOT NULL,
	"labels" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "usage_hourly" (
	"tenant_id" text NOT NULL,
	"hour" timestamp with time zone NOT NULL,
	"cluster_id" text NOT NULL,
	"namespace" text NOT NULL,
	"meter" text NOT NULL,
	"labels_key" text NOT NULL,
	"labels" jsonb NOT NULL,
	"raw" numeric(38, 0) NOT NULL,
	"events" integer NOT NULL,
	CONSTRAINT "usage_hourly_tenant_id_hour_cluster_id_namespace_meter_labels_key_pk" PRIMARY KEY("tenant_id","hour","cluster_id","namespace","meter","labels_key")
);
--> statement-breakpoint
CREATE TABLE "usage_watermarks" (
	"name" text PRIMARY KEY NOT NULL,
	"at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "clusters" ADD COLUMN "tier" text DEFAULT 'standard' NOT NULL;--> statement-breakpoint
ALTER TABLE "meter_intervals" ADD COLUMN "namespace" text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE "meter_intervals" ADD COLUMN "labels" jsonb DEFAULT '{}'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "tenants" ADD COLUMN "cost_allocation_label_keys" jsonb DEFAULT '[]'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "invoice_lines" ADD CONSTRAINT "invoice_lines_invoice_id_invoices_id_fk" FOREIGN KEY ("invoice_id") REFERENCES "public"."invoices"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "invoice_lines" ADD CONSTRAINT "invoice_lines_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "invoices" ADD CONSTRAINT "invoices_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "price_books" ADD CONSTRAINT "price_books_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "invoice_lines_tenant_idx" ON "invoice_lines" USING btree ("tenant_id");--> statement-breakpoint
CREATE UNIQUE INDEX "invoices_number_key" ON "invoices" USING btree ("tenant_id","number");--> statement-breakpoint
CREATE UNIQUE INDEX "invoices_period_key" ON "invoices" USING btree ("tenant_id","period_start");--> statement-breakpoint
CREATE UNIQUE INDEX "price_books_tenant_key" ON "price_books" USING btree (coalesce("tenant_id", ''));--> statement-breakpoint
CREATE INDEX "usage_events_tenant_hour_idx" ON "usage_events" USING btree ("tenant_id","hour");--> statement-breakpoint
-- Row-level security for the new tenant tables, as in 0011.
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['usage_events', 'usage_dirty_hours', 'usage_hourly', 'invoices', 'invoice_lines'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format($p$CREATE POLICY "tenant_isolation" ON %I TO berth_app
      USING (tenant_id = current_setting('berth.tenant_id', true))
      WITH CHECK (tenant_id = current_setting('berth.tenant_id', true))$p$, t);
    EXECUTE format('CREATE POLICY "platform" ON %I TO berth_system USING (true) WITH CHECK (true)', t);
  END LOOP;
END $$;--> statement-breakpoint
-- Price books: a tenant reads the default plan and its own override, and writes none (platform admins do).
ALTER TABLE "price_books" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "price_books" FORCE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE POLICY "tenant_read" ON "price_books" FOR SELECT TO berth_app
  USING (tenant_id IS NULL OR tenant_id = current_setting('berth.tenant_id', true));--> statement-breakpoint
CREATE POLICY "platform" ON "price_books" TO berth_system USING (true) WITH CHECK (true);--> statement-breakpoint
-- The metering jobs' watermarks are the platform's alone.
ALTER TABLE "usage_watermarks" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "usage_watermarks" FORCE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE POLICY "platform" ON "usage_watermarks" TO berth_system USING (true) WITH CHECK (true);--> statement-breakpoint
-- A finalised invoice is immutable: its rows may be erased with the tenant, never changed.
CREATE FUNCTION berth_invoice_immutable() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
  RAISE EXCEPTION 'finalised invoices are immutable' USING ERRCODE = 'check_violation';
END $f$;--> statement-breakpoint
CREATE TRIGGER "invoices_immutable" BEFORE UPDATE ON "invoices" FOR EACH ROW EXECUTE FUNCTION berth_invoice_immutable();--> statement-breakpoint
CREATE TRIGGER "invoice_lines_immutable" BEFORE UPDATE ON "invoice_lines" FOR EACH ROW EXECUTE FUNCTION berth_invoice_immutable();
