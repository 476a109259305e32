import type { deployments } from "@berth/db";
import { type DeploymentSpec, deploymentSchema, renderDeploymentSpec } from "@berth/kube";
import { z } from "zod";
import { condition } from "../replies";
import { namespacedMetaReply, REVISION_ANNOTATION, renderMeta } from "./meta";

export type DeploymentRow = typeof deployments.$inferSelect;

const SPEC_DEFAULTS: Omit<DeploymentSpec, "template" | "replicas"> = {
  selector: {},
  strategy: { type: "RollingUpdate", maxSurge: "25%", maxUnavailable: "25%" },
  minReadySeconds: 0,
  revisionHistoryLimit: 10,
  progressDeadlineSeconds: 600,
  paused: false,
  autoRollback: false,
};

/** The stored normalised spec of a deployment: its columns and `deployments.spec`, with defaults for older rows. */
export function deploymentSpecOf(d: DeploymentRow): DeploymentSpec {
  const rest = { ...SPEC_DEFAULTS, ...d.spec };
  const labels = d.template.metadata?.labels ?? {};
  return {
    ...rest,
    selector: Object.keys(rest.selector).length > 0 ? rest.selector : { matchLabels: labels },
    strategy: d.spec.strategy ?? {
      type: "RollingUpdate",
      maxSurge: d.template.rollout.maxSurge,
      maxUnavailable: d.template.rollout.maxUnavailable,
    },
    replicas: d.replicas,
    template: d.template,
  };
}

/**
 * A Deployment as the API answers it: the manifest's shape (what GET → edit → PUT sends back),
 * every default filled in, with the server's metadata and the status the control loop writes.
 */
export const deploymentReply = deploymentSchema.extend({
  apiVersion: z.literal("apps/v1"),
  kind: z.literal("Deployment"),
  metadata: namespacedMetaReply,
  spec: deploymentSchema.shape.spec.required({
    replicas: true,
    selector: true,
    strategy: true,
    minReadySeconds: true,
    revisionHistoryLimit: true,
    progressDeadlineSeconds: true,
  }),
  status: z.strictObject({
    observedGeneration: z.number().int(),
    replicas: z.number().int().describe("Its live pods"),
    readyReplicas: z.number().int(),
    updatedReplicas: z.number().int(),
    availableReplicas: z.number().int(),
    unavailableReplicas: z.number().int(),
    conditions: z
      .array(condition)
      .describe("Available, Progressing and ReplicaFailure, as the control loop last wrote them"),
  }),
});

/**
 * A Deployment in Kubernetes' shape: spec from what is stored (every default visible), status
 * from the columns the control loop writes. `podCount` is its live pods (status.replicas).
 */
export function renderDeployment(d: DeploymentRow, podCount: number) {
  const spec = deploymentSpecOf(d);
  return {
    apiVersion: "apps/v1" as const,
    kind: "Deployment" as const,
    metadata: renderMeta(
      {
        uid: d.id,
        name: d.name,
        namespace: d.namespace,
        resourceVersion: d.resourceVersion,
        generation: d.generation,
        createdAt: d.createdAt,
        deletionTimestamp: d.deletedAt,
        labels: d.labels,
        annotations: d.annotations,
        ownerReferences: [],
      },
      true,
      { [REVISION_ANNOTATION]: String(d.revision) },
    ),
    spec: renderDeploymentSpec(spec),
    status: {
      observedGeneration: d.observedGeneration,
      replicas: podCount,
      readyReplicas: d.readyReplicas,
      updatedReplicas: d.updatedReplicas,
      availableReplicas: d.availableReplicas,
      // Kubernetes: the pods its ReplicaSets want (spec.replicas, more during a surge) less the available ones.
      unavailableReplicas: Math.max(0, Math.max(d.replicas, podCount) - d.availableReplicas),
      /** Kubernetes' Available, Progressing and ReplicaFailure conditions, as the control loop last wrote them. */
      conditions: d.conditions,
    },
  };
}
