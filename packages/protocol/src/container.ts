import { z } from "zod";
import { DEFAULT_EPHEMERAL_STORAGE_BYTES } from "./constants";
import { extendedResourceMap } from "./labels";
import { lifecycleSchema, probeSchema } from "./probes";
import { containerSecuritySchema } from "./security";
import { volumeMountSchema } from "./volumes";

/**
 * A container as the control plane hands it to the agent: normalised, quantities already
 * integers. The control plane stores pods' templates in this shape; the agent validates every one
 * it receives (it trusts nothing it did not check).
 */
export const containerTemplateSchema = z.object({
  name: z.string(),
  image: z.string(),
  /** Kubernetes' rule: pull each start (Always), only when absent (IfNotPresent), or never. */
  imagePullPolicy: z.enum(["Always", "IfNotPresent", "Never"]).default("IfNotPresent"),
  command: z.array(z.string()).optional(),
  args: z.array(z.string()).optional(),
  workingDir: z.string().optional(),
  /** Every variable resolved to its value (ConfigMap and Secret references included). */
  env: z.array(z.object({ name: z.string(), value: z.string() })),
  ports: z.array(
    z.object({
      containerPort: z.number().int(),
      protocol: z.enum(["TCP", "UDP"]),
      name: z.string().optional(),
    }),
  ),
  /**
   * Requests: what the scheduler reserves and what is billed. Extended resources (`berth.dev/gpu`)
   * are whole units whose limit is their request, as in Kubernetes.
   */
  resources: z.object({
    cpuMillis: z.number().int(),
    memoryBytes: z.number().int(),
    extended: extendedResourceMap.optional(),
  }),
  /** Limits the node enforces (the requests when the manifest gives none). */
  limits: z.object({
    cpuMillis: z.number().int(),
    memoryBytes: z.number().int(),
    /** What the container may write to its writable layer before its pod is evicted. */
    ephemeralStorageBytes: z.number().int().positive().default(DEFAULT_EPHEMERAL_STORAGE_BYTES),
  }),
  readinessProbe: probeSchema.optional(),
  livenessProbe: probeSchema.optional(),
  startupProbe: probeSchema.optional(),
  lifecycle: lifecycleSchema.optional(),
  volumeMounts: z.array(volumeMountSchema).default([]),
  securityContext: containerSecuritySchema.default({
    runAsNonRoot: false,
    readOnlyRootFilesystem: false,
    capabilitiesAdd: [],
  }),
});

/** As the agent reads it: every default filled in. */
export type ContainerTemplate = z.output<typeof containerTemplateSchema>;
/** As the control plane may store and send it: limits it does not set are defaulted by the agent. */
export type ContainerTemplateInput = z.input<typeof containerTemplateSchema>;
