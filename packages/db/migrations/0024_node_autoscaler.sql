ALTER TABLE "clusters" ADD COLUMN "autoscaler_profile" jsonb DEFAULT '{"expander":"least-waste","scaleDownUtilizationThreshold":0.5,"scaleDownUnneededTimeSeconds":600,"scaleDownDelayAfterAddSeconds":600}'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "node_pools" ADD COLUMN "autoscaling_enabled" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "node_pools" ADD COLUMN "autoscaling_priority" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "nodes" ADD COLUMN "unneeded_since" timestamp with time zone;