import { createHash } from "node:crypto";
import { ValidationError } from "@berth/core";
import type { PodTemplate } from "@berth/db";
import {
  normaliseDeployment as admit,
  type DeploymentInput,
  type DeploymentSpec,
  deploymentSchema,
} from "@berth/kube";

export { DNS_LABEL } from "@berth/protocol";

/** A Deployment (apps/v1) as Kubernetes tools write it; see @berth/kube for the rules. */
export const deploymentManifest = deploymentSchema;
export type DeploymentManifest = DeploymentInput;

export interface NormalisedDeployment {
  replicas: number;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  template: PodTemplate;
  templateHash: string;
  /** Everything else of the spec (strategy, minReadySeconds, …). */
  spec: Omit<DeploymentSpec, "template" | "replicas">;
}

/** The hash naming a pod template (its ReplicaSet): the template alone, not how it is rolled out. */
export function templateHashOf(template: PodTemplate): string {
  return createHash("sha256")
    .update(JSON.stringify({ ...template, rollout: null }))
    .digest("hex")
    .slice(0, 10);
}

/** Admits a Deployment written to `…/deployments/{namespace}/{name}`. */
export function normaliseDeployment(
  m: DeploymentManifest,
  where: { namespace: string; name: string },
): NormalisedDeployment {
  if (m.metadata?.name !== undefined && m.metadata.name !== where.name)
    throw new ValidationError(
      `metadata.name ${JSON.stringify(m.metadata.name)} does not match the URL (${where.name})`,
    );
  if (m.metadata?.namespace !== undefined && m.metadata.namespace !== where.namespace)
    throw new ValidationError(
      `metadata.namespace ${JSON.stringify(m.metadata.namespace)} does not match the URL (${where.namespace})`,
    );
  const { template, replicas, ...spec } = admit(m, where.name);
  return {
    replicas,
    labels: m.metadata?.labels ?? {},
    annotations: m.metadata?.annotations ?? {},
    template,
    templateHash: templateHashOf(template),
    spec,
  };
}
