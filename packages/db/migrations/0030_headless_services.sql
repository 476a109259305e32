-- Headless Services (clusterIP "None") hold no address: several may exist in one cluster.
DROP INDEX "objects_service_cluster_ip_key";--> statement-breakpoint
CREATE UNIQUE INDEX "objects_service_cluster_ip_key" ON "objects" USING btree ("cluster_id",("spec"->>'clusterIP')) WHERE "objects"."kind" = 'Service' and "objects"."spec"->>'clusterIP' not in ('', 'None');
