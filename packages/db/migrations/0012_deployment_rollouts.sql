ALTER TABLE "deployment_revisions" ADD COLUMN "manifest_template" jsonb;--> statement-breakpoint
ALTER TABLE "deployment_revisions" ADD COLUMN "available_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "deployments" ADD COLUMN "status_replicas" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "deployments" ADD COLUMN "unavailable_replicas" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "pods" ADD COLUMN "finalizers" jsonb DEFAULT '[]'::jsonb NOT NULL;