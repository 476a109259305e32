ALTER TABLE "clusters" ADD COLUMN "previous_public_jwk" text;--> statement-breakpoint
ALTER TABLE "clusters" ADD COLUMN "previous_key_retire_at" timestamp with time zone;