import {
  CHANGE_CAUSE_ANNOTATION,
  type DeploymentRow,
  deploymentRevisions,
  type RevisionRow,
  revisionsOf,
} from "@berth/db";
import { eq, inArray } from "drizzle-orm";
import { currentPins, tagsToPin } from "./image-pins";
import type { LoopContext } from "./loop";

/**
 * A Deployment's ReplicaSets, as revisions (Kubernetes' getAllReplicaSetsAndSyncRevision and
 * cleanupDeployment): the current template's revision is made when first seen (the highest number
 * plus one), an older revision whose template comes back (a rollback, or an edit back to it)
 * becomes the newest again, and old revisions without pods beyond `revisionHistoryLimit` go. A new
 * revision keeps the digests its images of Berth's registry were pinned to (image-pins.ts); one
 * whose pins are not recorded yet waits for the next pass.
 */
export interface Revisions {
  /** Newest first. */
  all: RevisionRow[];
  /** The revision of the current template; null while a paused deployment has not made it. */
  current: RevisionRow | null;
  /** Whether this pass made it. */
  created: boolean;
  /** The current template has no revision yet and waits for its images' pins (image-pins.ts). */
  awaitingPins?: boolean;
}

/** `<deployment>-<template hash>`: the name of a template's ReplicaSet, and its pods' prefix. */
export const replicaSetName = (d: Pick<DeploymentRow, "name">, hash: string): string => `${d.name}-${hash}`;

export async function syncRevisions(ctx: LoopContext, d: DeploymentRow, paused: boolean): Promise<Revisions> {
  const all = await revisionsOf(ctx.tx, d.id);
  const existing = all.find((r) => r.templateHash === d.templateHash) ?? null;
  const highest = all[0]?.revision ?? 0;
  const changeCause = d.annotations[CHANGE_CAUSE_ANNOTATION];
  if (!existing) {
    // A paused deployment makes no new ReplicaSet (Kubernetes: createIfNotExisted=false).
    if (paused) return { all, current: null, created: false };
    const tags = ctx.deps.imageResolver ? tagsToPin(d.template, ctx.deps.imageResolver.host) : new Map();
    const pins = currentPins(d);
    if (tags.size > 0 && !pins) return { all, current: null, created: false, awaitingPins: true };
    const images: Record<string, string> = {};
    for (const image of tags.keys()) {
      const pinned = pins?.images[image];
      if (pinned) images[image] = pinned;
    }
    const [made] = await ctx.tx
      .insert(deploymentRevisions)
      .values({
        id: `${d.id}:${d.templateHash}`,
        tenantId: d.tenantId,
        clusterId: d.clusterId,
        deploymentId: d.id,
        revision: highest + 1,
        templateHash: d.templateHash,
        template: d.template,
        changeCause: changeCause ?? null,
        images,
      })
      .returning();
    if (!made) throw new Error("revision insert returned nothing");
    return { all: [made, ...all], current: made, created: true };
  }
  const patch: Partial<RevisionRow> = {};
  if (existing.revision < highest) patch.revision = highest + 1;
  if (changeCause !== undefined && changeCause !== existing.changeCause) patch.changeCause = changeCause;
  if (Object.keys(patch).length === 0) return { all, current: existing, created: false };
  const [updated] = await ctx.tx
    .update(deploymentRevisions)
    .set(patch)
    .where(eq(deploymentRevisions.id, existing.id))
    .returning();
  const current = updated ?? existing;
  return {
    all: [current, ...all.filter((r) => r.id !== existing.id)].sort((a, b) => b.revision - a.revision),
    current,
    created: false,
  };
}

/**
 * Deletes the oldest revisions beyond `revisionHistoryLimit` (never the current one, never one that
 * still has pods). Returns the revisions that remain.
 */
export async function cleanupHistory(
  ctx: LoopContext,
  revisions: Revisions,
  limit: number,
  hashesWithPods: ReadonlySet<string>,
): Promise<RevisionRow[]> {
  const old = revisions.all
    .filter((r) => r.id !== revisions.current?.id)
    .sort((a, b) => a.revision - b.revision);
  const excess = old.length - limit;
  if (excess <= 0) return revisions.all;
  const doomed = old.slice(0, excess).filter((r) => !hashesWithPods.has(r.templateHash));
  if (doomed.length === 0) return revisions.all;
  await ctx.tx.delete(deploymentRevisions).where(
    inArray(
      deploymentRevisions.id,
      doomed.map((r) => r.id),
    ),
  );
  return revisions.all.filter((r) => !doomed.includes(r));
}
