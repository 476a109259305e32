ALTER TABLE "join_tokens" ADD COLUMN "max_uses" integer;--> statement-breakpoint
ALTER TABLE "join_tokens" ADD COLUMN "revoked_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "join_tokens" ADD COLUMN "description" text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE "join_tokens" ADD COLUMN "created_by" text;--> statement-breakpoint
ALTER TABLE "service_accounts" ADD COLUMN "sessions_valid_after" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "nodes" ADD COLUMN "reserved_host_ports" jsonb DEFAULT '[]'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "tenants" ADD COLUMN "status" text DEFAULT 'active' NOT NULL;--> statement-breakpoint
ALTER TABLE "tenants" ADD COLUMN "closed_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "tenants" ADD COLUMN "erase_after" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "tenants" ADD COLUMN "allowed_image_prefixes" jsonb;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "sessions_valid_after" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "deployments" ADD COLUMN "conditions" jsonb DEFAULT '[]'::jsonb NOT NULL;