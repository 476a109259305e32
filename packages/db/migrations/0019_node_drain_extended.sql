ALTER TABLE "nodes" ADD COLUMN "drain_requested_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "nodes" ADD COLUMN "extended_resources" jsonb DEFAULT '{}'::jsonb NOT NULL;