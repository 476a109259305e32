import { NotFoundError } from "@berth/core";
import {
  CHANGE_CAUSE_ANNOTATION,
  type DeploymentRow,
  deployments,
  pods,
  recordEvent,
  restoreRevision,
  revisionsOf,
  rollbackTarget,
  type Tx,
  withTenant,
} from "@berth/db";
import { podTemplateInputSchema, renderPodTemplate } from "@berth/kube";
import { DNS_LABEL } from "@berth/protocol";
import { and, eq, isNull, sql } from "drizzle-orm";
import { z } from "zod";
import type { Deps, UserCaller } from "../deps";
import { clusterId, loadCluster } from "./clusters";
import { kick } from "./kick";
import { timestamp } from "./replies";

/**
 * A Deployment's rollouts, as `kubectl rollout` drives them: its revision history, undo to the
 * previous or a given revision, pause and resume. The deployment controller (provisioner) does
 * the rest; these only change the spec (a new generation) and wake it.
 */
const dnsLabel = z.string().min(1).max(63).regex(DNS_LABEL, "must be a DNS label");
export const rolloutRefInput = z.object({ clusterId, namespace: dnsLabel, name: dnsLabel }).strict();
export const rollbackInput = rolloutRefInput
  .extend({
    /** `kubectl rollout undo --to-revision`: 0 or absent is the previous revision. */
    toRevision: z
      .number()
      .int()
      .min(0)
      .max(2 ** 31 - 1)
      .optional(),
  })
  .strict();
type Ref = z.infer<typeof rolloutRefInput>;

export const revisionsReply = z.strictObject({
  current: z.number().int().describe("The deployment's current revision"),
  items: z.array(
    z.strictObject({
      revision: z.number().int(),
      replicaSet: z.string().describe("`<deployment>-<templateHash>`, as Kubernetes names its ReplicaSets"),
      templateHash: z.string(),
      current: z.boolean().describe("Whether it is the template the deployment runs now"),
      changeCause: z.string().nullable().describe("`kubernetes.io/change-cause`, when the apply said why"),
      pods: z.number().int().describe("Its live pods"),
      createdAt: timestamp,
      availableAt: timestamp.nullable().describe("When a rollout of it first completed"),
      template: podTemplateInputSchema.required({ metadata: true }),
      images: z
        .record(z.string(), z.string())
        .describe(
          "Its images of Berth's registry given by tag, each with the digest it was pinned to when the revision was made (`<repo>@sha256:…`): what its pods run",
        ),
    }),
  ),
});

export const rollbackReply = z.strictObject({
  rolledBack: z.boolean().describe("False when the current template already was the revision's"),
  toRevision: z.number().int(),
  generation: z.number().int(),
  message: z.string(),
});

export const pausedReply = z.strictObject({ paused: z.boolean(), generation: z.number().int() });

/** The live deployment, locked as an apply locks the cluster's deployments. */
async function lockedDeployment(tx: Tx, input: Ref): Promise<DeploymentRow> {
  await loadCluster(tx, input.clusterId);
  await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`deployments:${input.clusterId}`}))`);
  const [d] = await tx
    .select()
    .from(deployments)
    .where(
      and(
        eq(deployments.clusterId, input.clusterId),
        eq(deployments.namespace, input.namespace),
        eq(deployments.name, input.name),
        isNull(deployments.deletedAt),
      ),
    )
    .for("update");
  if (!d) throw new NotFoundError("deployment", `${input.namespace}/${input.name}`);
  return d;
}

const event = (tx: Tx, d: DeploymentRow, reason: string, message: string) =>
  recordEvent(tx, {
    tenantId: d.tenantId,
    clusterId: d.clusterId,
    objectKind: "Deployment",
    objectName: `${d.namespace}/${d.name}`,
    reason,
    message,
  });

/** `kubectl rollout history`: every revision kept, newest first, with its pods and change-cause. */
export async function listRevisions(deps: Deps, caller: UserCaller, input: Ref) {
  return withTenant(deps.db, caller.tenantId, async (tx) => {
    await loadCluster(tx, input.clusterId);
    const [d] = await tx
      .select()
      .from(deployments)
      .where(
        and(
          eq(deployments.clusterId, input.clusterId),
          eq(deployments.namespace, input.namespace),
          eq(deployments.name, input.name),
          isNull(deployments.deletedAt),
        ),
      );
    if (!d) throw new NotFoundError("deployment", `${input.namespace}/${input.name}`);
    const counts = await tx
      .select({ hash: pods.templateHash, n: sql<number>`count(*)::int` })
      .from(pods)
      .where(and(eq(pods.deploymentId, d.id), isNull(pods.deletionRequestedAt)))
      .groupBy(pods.templateHash);
    const podsOf = new Map(counts.map((c) => [c.hash, c.n]));
    return {
      current: d.revision,
      items: (await revisionsOf(tx, d.id)).map((r) => ({
        revision: r.revision,
        replicaSet: `${d.name}-${r.templateHash}`,
        templateHash: r.templateHash,
        current: r.templateHash === d.templateHash,
        changeCause: r.changeCause,
        pods: podsOf.get(r.templateHash) ?? 0,
        createdAt: r.createdAt.toISOString(),
        availableAt: r.availableAt?.toISOString() ?? null,
        template: renderPodTemplate(r.template),
        images: r.images,
      })),
    };
  });
}

/**
 * `kubectl rollout undo [--to-revision=N]`: the revision's template becomes the spec (it becomes
 * the newest revision once the controller sees it). Refused for a paused deployment, an unknown
 * revision, or no history; the current revision asked for again changes nothing.
 */
export async function rollbackDeployment(
  deps: Deps,
  caller: UserCaller,
  input: z.infer<typeof rollbackInput>,
): Promise<z.output<typeof rollbackReply>> {
  const result = await withTenant(deps.db, caller.tenantId, async (tx) => {
    const d = await lockedDeployment(tx, input);
    const target = rollbackTarget(d, await revisionsOf(tx, d.id), input.toRevision);
    if (target.templateHash === d.templateHash)
      return {
        rolledBack: false,
        toRevision: target.revision,
        generation: d.generation,
        message: `skipped rollback (current template already matches revision ${target.revision})`,
      };
    const row = await restoreRevision(tx, d, target, deps.now());
    const cause = target.changeCause ?? row.annotations[CHANGE_CAUSE_ANNOTATION];
    await event(
      tx,
      d,
      "DeploymentRollback",
      `Rolled back deployment "${d.name}" to revision ${target.revision}${cause ? ` (${cause})` : ""}`,
    );
    return {
      rolledBack: true,
      toRevision: target.revision,
      generation: row.generation,
      message: `deployment.apps/${d.name} rolled back`,
    };
  });
  if (result.rolledBack)
    await kick(deps, "cluster.reconcile", { tenantId: caller.tenantId, clusterId: input.clusterId });
  return result;
}

/** `kubectl rollout pause` / `resume`: sets `spec.paused` (a new generation when it changes). */
async function setPaused(
  deps: Deps,
  caller: UserCaller,
  input: Ref,
  paused: boolean,
): Promise<z.output<typeof pausedReply>> {
  const result = await withTenant(deps.db, caller.tenantId, async (tx) => {
    const d = await lockedDeployment(tx, input);
    if ((d.spec.paused ?? false) === paused) return { paused, generation: d.generation, changed: false };
    const [row] = await tx
      .update(deployments)
      .set({
        spec: { ...d.spec, paused },
        generation: d.generation + 1,
        updatedAt: deps.now(),
        resourceVersion: sql`nextval('resource_versions')`,
      })
      .where(eq(deployments.id, d.id))
      .returning();
    await event(
      tx,
      d,
      paused ? "DeploymentPaused" : "DeploymentResumed",
      paused ? "Deployment is paused" : "Deployment is resumed",
    );
    return { paused, generation: row?.generation ?? d.generation + 1, changed: true };
  });
  if (result.changed)
    await kick(deps, "cluster.reconcile", { tenantId: caller.tenantId, clusterId: input.clusterId });
  return { paused: result.paused, generation: result.generation };
}

export const pauseDeployment = (deps: Deps, caller: UserCaller, input: Ref) =>
  setPaused(deps, caller, input, true);
export const resumeDeployment = (deps: Deps, caller: UserCaller, input: Ref) =>
  setPaused(deps, caller, input, false);
