import { createHash } from "node:crypto";
import { MAX_REPLICAS, parseImageReference, ValidationError } from "@berth/core";
import type { ContainerTemplate, PodTemplate } from "@berth/db";
import { z } from "zod";
import { checkPodTotals, containerResources, resourcesSchema } from "./resources";

/**
 * A Kubernetes-shaped Deployment manifest (apps/v1), validated strictly: unknown fields and
 * server-owned ones (`status`) are rejected, as `kubectl apply --validate=strict` would.
 */
export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const dnsLabel = z
  .string()
  .min(1)
  .max(63)
  .regex(DNS_LABEL, "must be a DNS label (lower-case alphanumerics and '-')");
const labelMap = z
  .record(z.string().min(1).max(63), z.string().max(63))
  .refine((m) => Object.keys(m).length <= 64, "at most 64 labels");
const intOrPercent = z.union([z.number().int().min(0).max(MAX_REPLICAS), z.string().regex(/^\d{1,3}%$/)]);

const container = z
  .object({
    name: dnsLabel,
    image: z.string().min(1).max(512),
    command: z.array(z.string().max(4096)).max(64).optional(),
    args: z.array(z.string().max(4096)).max(256).optional(),
    env: z
      .array(
        z
          .object({
            name: z
              .string()
              .min(1)
              .max(256)
              .regex(/^[A-Za-z_][A-Za-z0-9_.-]*$/),
            value: z.string().max(32_768),
          })
          .strict(),
      )
      .max(128)
      .optional(),
    ports: z
      .array(
        z
          .object({
            containerPort: z.number().int().min(1).max(65535),
            protocol: z.enum(["TCP", "UDP"]).optional(),
            name: z.string().max(15).optional(),
          })
          .strict(),
      )
      .max(16)
      .optional(),
    resources: resourcesSchema.optional(),
  })
  .strict();

export const deploymentManifest = z
  .object({
    apiVersion: z.literal("apps/v1").optional(),
    kind: z.literal("Deployment").optional(),
    metadata: z
      .object({ name: dnsLabel.optional(), namespace: dnsLabel.optional(), labels: labelMap.optional() })
      .strict()
      .optional(),
    spec: z
      .object({
        replicas: z.number().int().min(0).max(MAX_REPLICAS).optional(),
        selector: z.object({ matchLabels: labelMap }).strict().optional(),
        strategy: z
          .object({
            type: z.literal("RollingUpdate").optional(),
            rollingUpdate: z
              .object({ maxSurge: intOrPercent.optional(), maxUnavailable: intOrPercent.optional() })
              .strict()
              .optional(),
          })
          .strict()
          .optional(),
        template: z
          .object({
            metadata: z.object({ labels: labelMap.optional() }).strict().optional(),
            spec: z
              .object({
                containers: z.array(container).min(1).max(8),
                nodeSelector: labelMap.optional(),
                tolerations: z
                  .array(
                    z
                      .object({
                        key: z.string().max(253),
                        operator: z.enum(["Equal", "Exists"]).optional(),
                        value: z.string().max(63).optional(),
                        effect: z.enum(["NoSchedule", "PreferNoSchedule", "NoExecute"]).optional(),
                      })
                      .strict(),
                  )
                  .max(32)
                  .optional(),
                priority: z.number().int().min(-1000).max(1000).optional(),
              })
              .strict(),
          })
          .strict(),
      })
      .strict(),
  })
  .strict();
export type DeploymentManifest = z.infer<typeof deploymentManifest>;

export interface NormalisedDeployment {
  replicas: number;
  labels: Record<string, string>;
  template: PodTemplate;
  templateHash: string;
}

/** Turns a manifest into what the control plane stores, with quantities parsed exactly. */
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
  const spec = m.spec.template.spec;
  const names = new Set<string>();
  const hostPorts = new Set<string>();
  const containers: ContainerTemplate[] = spec.containers.map((c, i) => {
    const at = `spec.template.spec.containers[${i}]`;
    if (names.has(c.name)) throw new ValidationError(`${at}.name: duplicate container name ${c.name}`);
    names.add(c.name);
    for (const p of c.ports ?? []) {
      const key = `${p.containerPort}/${p.protocol ?? "TCP"}`;
      if (hostPorts.has(key))
        throw new ValidationError(`${at}.ports: containerPort ${key} is used twice in the pod`);
      hostPorts.add(key);
    }
    // Stored normalised: the node pulls exactly the reference the image policy was checked against.
    const image = parseImageReference(c.image, `${at}.image`).normalised;
    return {
      name: c.name,
      image,
      ...(c.command ? { command: c.command } : {}),
      ...(c.args ? { args: c.args } : {}),
      env: c.env ?? [],
      ports: (c.ports ?? []).map((p) => ({
        containerPort: p.containerPort,
        protocol: p.protocol ?? "TCP",
        ...(p.name ? { name: p.name } : {}),
      })),
      ...containerResources(c.resources, at),
    };
  });
  const replicas = m.spec.replicas ?? 1;
  checkPodTotals(containers, replicas);
  const template: PodTemplate = {
    containers,
    nodeSelector: spec.nodeSelector ?? {},
    tolerations: spec.tolerations ?? [],
    priority: spec.priority ?? 0,
    rollout: {
      maxSurge: m.spec.strategy?.rollingUpdate?.maxSurge ?? "25%",
      maxUnavailable: m.spec.strategy?.rollingUpdate?.maxUnavailable ?? "25%",
    },
  };
  return {
    replicas,
    labels: m.metadata?.labels ?? {},
    template,
    // The rollout strategy says how to move between templates; changing it alone starts no rollout.
    templateHash: createHash("sha256")
      .update(JSON.stringify({ ...template, rollout: null }))
      .digest("hex")
      .slice(0, 10),
  };
}
