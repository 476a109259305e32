ALTER TABLE "clusters" ADD COLUMN "service_cidr" text;--> statement-breakpoint
ALTER TABLE "pods" ADD COLUMN "pod_ip" text;--> statement-breakpoint
CREATE UNIQUE INDEX "clusters_service_cidr_key" ON "clusters" USING btree ("service_cidr");--> statement-breakpoint
CREATE UNIQUE INDEX "objects_service_cluster_ip_key" ON "objects" USING btree ("cluster_id",("spec"->>'clusterIP')) WHERE "objects"."kind" = 'Service' and "objects"."spec"->>'clusterIP' <> '';