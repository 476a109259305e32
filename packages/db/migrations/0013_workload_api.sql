-- Namespace deletion, finalised by the database: a Terminating namespace (deletion_timestamp set)
-- is removed as soon as the last of its pods is gone, whoever deletes that pod (the node's report,
-- the control loop, a node leaving). Runs as the deleting role: row-level security still applies.
CREATE OR REPLACE FUNCTION "finalize_terminating_namespace"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM "objects" o
  WHERE o."cluster_id" = OLD."cluster_id"
    AND o."kind" = 'Namespace'
    AND o."namespace" = ''
    AND o."name" = OLD."namespace"
    AND o."deletion_timestamp" IS NOT NULL
    AND NOT EXISTS (
      SELECT 1 FROM "pods" p WHERE p."cluster_id" = OLD."cluster_id" AND p."namespace" = OLD."namespace"
    );
  RETURN NULL;
END $$;--> statement-breakpoint
CREATE TRIGGER "pods_finalize_namespace" AFTER DELETE ON "pods"
  FOR EACH ROW EXECUTE FUNCTION "finalize_terminating_namespace"();
