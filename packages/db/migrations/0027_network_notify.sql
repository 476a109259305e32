-- A cluster's network view (its Services, their ready endpoints, its network policies) is pushed
-- to the cluster's node agents the moment a change is committed: any transaction that changes
-- what the view is made of notifies `berth_node_assignments` with `net:<cluster id>` (Postgres
-- sends it on commit, once per cluster and transaction). The control plane's replicas already
-- LISTEN on that channel; they wake the network long polls of that cluster they hold.
CREATE FUNCTION "notify_cluster_network"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    PERFORM pg_notify('berth_node_assignments', 'net:' || OLD."cluster_id");
  ELSE
    PERFORM pg_notify('berth_node_assignments', 'net:' || NEW."cluster_id");
  END IF;
  RETURN NULL;
END $$;--> statement-breakpoint
CREATE TRIGGER "pods_network_update" AFTER UPDATE OF "ready", "phase", "pod_ip", "labels", "node_id", "deletion_requested_at" ON "pods"
  FOR EACH ROW WHEN (OLD."ready" IS DISTINCT FROM NEW."ready"
    OR OLD."phase" IS DISTINCT FROM NEW."phase"
    OR OLD."pod_ip" IS DISTINCT FROM NEW."pod_ip"
    OR OLD."labels" IS DISTINCT FROM NEW."labels"
    OR OLD."node_id" IS DISTINCT FROM NEW."node_id"
    OR OLD."deletion_requested_at" IS DISTINCT FROM NEW."deletion_requested_at")
  EXECUTE FUNCTION "notify_cluster_network"();--> statement-breakpoint
-- A new pod is nobody's endpoint until it reports ready (an update); a removed one counts if it was.
CREATE TRIGGER "pods_network_delete" AFTER DELETE ON "pods"
  FOR EACH ROW WHEN (OLD."ready" OR OLD."pod_ip" IS NOT NULL) EXECUTE FUNCTION "notify_cluster_network"();--> statement-breakpoint
CREATE TRIGGER "objects_network_insert" AFTER INSERT ON "objects"
  FOR EACH ROW WHEN (NEW."kind" IN ('Service', 'NetworkPolicy', 'Namespace'))
  EXECUTE FUNCTION "notify_cluster_network"();--> statement-breakpoint
CREATE TRIGGER "objects_network_update" AFTER UPDATE ON "objects"
  FOR EACH ROW WHEN (NEW."kind" IN ('Service', 'NetworkPolicy', 'Namespace')
    AND (OLD."spec" IS DISTINCT FROM NEW."spec" OR OLD."labels" IS DISTINCT FROM NEW."labels"))
  EXECUTE FUNCTION "notify_cluster_network"();--> statement-breakpoint
CREATE TRIGGER "objects_network_delete" AFTER DELETE ON "objects"
  FOR EACH ROW WHEN (OLD."kind" IN ('Service', 'NetworkPolicy', 'Namespace'))
  EXECUTE FUNCTION "notify_cluster_network"();--> statement-breakpoint
CREATE TRIGGER "nodes_network_update" AFTER UPDATE OF "status" ON "nodes"
  FOR EACH ROW WHEN (OLD."status" IS DISTINCT FROM NEW."status")
  EXECUTE FUNCTION "notify_cluster_network"();
