import { ConflictError, NotFoundError } from "@berth/core";
import { desc, eq, sql } from "drizzle-orm";
import type { Tx } from "./client";
import { deploymentRevisions, deployments } from "./schema";

/**
 * A Deployment's revisions and how it goes back to one: the one rule shared by `POST …/rollback`
 * (control-api) and the automatic rollback of a rollout that missed its progress deadline
 * (provisioner). A rollback is `kubectl rollout undo`: the revision's template becomes the spec;
 * the deployment controller then finds that revision's pods and makes it the newest revision.
 */
export type DeploymentRow = typeof deployments.$inferSelect;
export type RevisionRow = typeof deploymentRevisions.$inferSelect;

/** The annotation a Deployment carries with its current revision. */
export const REVISION_ANNOTATION = "deployment.kubernetes.io/revision";
/** Why a revision was made, copied from the Deployment's annotations when the revision is made. */
export const CHANGE_CAUSE_ANNOTATION = "kubernetes.io/change-cause";

/** A deployment's revisions, newest first. */
export function revisionsOf(tx: Tx, deploymentId: string): Promise<RevisionRow[]> {
  return tx
    .select()
    .from(deploymentRevisions)
    .where(eq(deploymentRevisions.deploymentId, deploymentId))
    .orderBy(desc(deploymentRevisions.revision));
}

/**
 * The revision `kubectl rollout undo [--to-revision=N]` goes to: N, or (N absent or 0) the newest
 * revision that is not the current template. Refused as kubectl refuses: a paused deployment, an
 * unknown revision, no history.
 */
export function rollbackTarget(
  d: Pick<DeploymentRow, "namespace" | "name" | "templateHash" | "spec">,
  revisions: readonly RevisionRow[],
  toRevision: number | undefined,
): RevisionRow {
  if (d.spec.paused)
    throw new ConflictError(
      `deployment ${d.namespace}/${d.name} is paused: resume it first (POST …/resume), then roll back`,
    );
  if (toRevision !== undefined && toRevision !== 0) {
    const found = revisions.find((r) => r.revision === toRevision);
    if (!found) throw new NotFoundError("revision", `${toRevision} of deployment ${d.namespace}/${d.name}`);
    return found;
  }
  const previous = revisions.find((r) => r.templateHash !== d.templateHash);
  if (!previous) throw new ConflictError(`deployment ${d.namespace}/${d.name} has no previous revision`);
  return previous;
}

/**
 * Makes a revision's template the deployment's spec (a new generation): the stored template and
 * its hash, and the revision's change-cause. Returns the updated row.
 */
export async function restoreRevision(
  tx: Tx,
  d: DeploymentRow,
  revision: RevisionRow,
  now: Date,
): Promise<DeploymentRow> {
  const annotations = revision.changeCause
    ? { ...d.annotations, [CHANGE_CAUSE_ANNOTATION]: revision.changeCause }
    : d.annotations;
  const [row] = await tx
    .update(deployments)
    .set({
      template: revision.template,
      templateHash: revision.templateHash,
      annotations,
      generation: d.generation + 1,
      updatedAt: now,
      resourceVersion: sql`nextval('resource_versions')`,
    })
    .where(eq(deployments.id, d.id))
    .returning();
  if (!row) throw new NotFoundError("deployment", `${d.namespace}/${d.name}`);
  return row;
}
