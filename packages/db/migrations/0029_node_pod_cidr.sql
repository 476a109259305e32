-- Each node's pod address range (a /24 of 10.32.0.0/11), unique across the platform among nodes
-- that have not left; a node's pods are routed to it by address.
ALTER TABLE "nodes" ADD COLUMN "pod_cidr" text;--> statement-breakpoint
CREATE UNIQUE INDEX "nodes_pod_cidr_live_key" ON "nodes" USING btree ("pod_cidr") WHERE "nodes"."status" <> 'left';--> statement-breakpoint
-- The network view lists every node's range: a new one is pushed to the cluster's agents (0027's channel).
DROP TRIGGER "nodes_network_update" ON "nodes";--> statement-breakpoint
CREATE TRIGGER "nodes_network_update" AFTER UPDATE OF "status", "tunnel_port", "pod_cidr" ON "nodes"
  FOR EACH ROW WHEN (OLD."status" IS DISTINCT FROM NEW."status"
    OR OLD."tunnel_port" IS DISTINCT FROM NEW."tunnel_port"
    OR OLD."pod_cidr" IS DISTINCT FROM NEW."pod_cidr")
  EXECUTE FUNCTION "notify_cluster_network"();
