-- Images of Berth's registry named by tag are resolved to digests once per rollout: the provisioner
-- records, outside its control loop's transaction, what the current template's tags name
-- (`deployments.image_pins`: `{hash, images, failed}`), and the revision made for that template
-- keeps them (`deployment_revisions.images`: image as written → `<repo>@sha256:…`), so every pod of
-- a revision runs the same image.
ALTER TABLE "deployments" ADD COLUMN "image_pins" jsonb;--> statement-breakpoint
ALTER TABLE "deployment_revisions" ADD COLUMN "images" jsonb DEFAULT '{}'::jsonb NOT NULL;
