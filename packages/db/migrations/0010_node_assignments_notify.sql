-- Assignments are pushed to node agents the moment they are committed. Any transaction that
-- changes what should run on a node (a pod bound to it or moved off it, a pod to stop, a pod
-- removed, the node told to leave) notifies the channel `berth_node_assignments` with the node's
-- id; Postgres delivers it on commit (and drops it on rollback), once per node and transaction.
-- Each control-api replica LISTENs on one connection and wakes the watches of that node it holds.
-- The control loops' code knows nothing of this.
CREATE FUNCTION "notify_node_assignments"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_TABLE_NAME = 'nodes' THEN
    PERFORM pg_notify('berth_node_assignments', NEW."id");
    RETURN NULL;
  END IF;
  IF TG_OP <> 'INSERT' AND OLD."node_id" IS NOT NULL THEN
    PERFORM pg_notify('berth_node_assignments', OLD."node_id");
  END IF;
  IF TG_OP <> 'DELETE' AND NEW."node_id" IS NOT NULL
     AND (TG_OP = 'INSERT' OR NEW."node_id" IS DISTINCT FROM OLD."node_id") THEN
    PERFORM pg_notify('berth_node_assignments', NEW."node_id");
  END IF;
  RETURN NULL;
END $$;--> statement-breakpoint
CREATE TRIGGER "pods_notify_insert" AFTER INSERT ON "pods"
  FOR EACH ROW WHEN (NEW."node_id" IS NOT NULL) EXECUTE FUNCTION "notify_node_assignments"();--> statement-breakpoint
CREATE TRIGGER "pods_notify_update" AFTER UPDATE OF "node_id", "deletion_requested_at", "phase" ON "pods"
  FOR EACH ROW WHEN (OLD."node_id" IS DISTINCT FROM NEW."node_id"
    OR OLD."deletion_requested_at" IS DISTINCT FROM NEW."deletion_requested_at"
    OR OLD."phase" IS DISTINCT FROM NEW."phase")
  EXECUTE FUNCTION "notify_node_assignments"();--> statement-breakpoint
CREATE TRIGGER "pods_notify_delete" AFTER DELETE ON "pods"
  FOR EACH ROW WHEN (OLD."node_id" IS NOT NULL) EXECUTE FUNCTION "notify_node_assignments"();--> statement-breakpoint
CREATE TRIGGER "nodes_notify_status" AFTER UPDATE OF "status" ON "nodes"
  FOR EACH ROW WHEN (OLD."status" IS DISTINCT FROM NEW."status") EXECUTE FUNCTION "notify_node_assignments"();
