ALTER TABLE "deployment_revisions" DROP COLUMN "manifest_template";--> statement-breakpoint
ALTER TABLE "deployments" DROP COLUMN "manifest";