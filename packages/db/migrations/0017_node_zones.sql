ALTER TABLE "machines" ADD COLUMN "zone" text;--> statement-breakpoint
ALTER TABLE "node_pools" ADD COLUMN "zone" text;