import { MAX_REPLICAS } from "@berth/core";
import { z } from "zod";
import { objectMetaSchema } from "../meta";
import type { ResourcePolicy } from "../pod/limit-range";
import { normalisePodTemplate } from "../pod/normalise";
import type { PriorityClassRef } from "../pod/priority";
import { podTemplateInputSchema } from "../pod/spec";
import type { PodTemplate } from "../pod/template";
import {
  ignored,
  intOrPercent,
  invalid,
  type LabelSelector,
  labelSelectorSchema,
  selectorMatches,
} from "./common";

export const deploymentSchema = z
  .object({
    apiVersion: z.literal("apps/v1").optional(),
    kind: z.literal("Deployment").optional(),
    metadata: objectMetaSchema.optional(),
    spec: z
      .object({
        replicas: z.number().int().min(0).max(MAX_REPLICAS).optional(),
        selector: labelSelectorSchema.optional(),
        template: podTemplateInputSchema,
        strategy: z
          .object({
            type: z.enum(["RollingUpdate", "Recreate"]).optional(),
            rollingUpdate: z
              .object({ maxSurge: intOrPercent.optional(), maxUnavailable: intOrPercent.optional() })
              .strict()
              .optional(),
          })
          .strict()
          .optional(),
        minReadySeconds: z.number().int().min(0).max(86_400).optional(),
        revisionHistoryLimit: z.number().int().min(0).max(100).optional(),
        progressDeadlineSeconds: z.number().int().min(1).max(86_400).optional(),
        paused: z.boolean().optional(),
        /** Berth's extension: roll back by itself when a rollout exceeds its progress deadline. */
        autoRollback: z.boolean().optional(),
      })
      .strict(),
    status: ignored,
  })
  .strict();
export type DeploymentInput = z.infer<typeof deploymentSchema>;

/** A Deployment's spec as stored, every default applied. */
export interface DeploymentSpec {
  replicas: number;
  selector: LabelSelector;
  strategy: {
    type: "RollingUpdate" | "Recreate";
    maxSurge: number | string;
    maxUnavailable: number | string;
  };
  minReadySeconds: number;
  revisionHistoryLimit: number;
  progressDeadlineSeconds: number;
  paused: boolean;
  autoRollback: boolean;
  template: PodTemplate;
}

/** Admits a Deployment: Kubernetes' defaults, and its selector must match its template's labels. */
export function normaliseDeployment(
  d: DeploymentInput,
  name: string,
  policy?: ResourcePolicy,
  priorityClasses?: readonly PriorityClassRef[],
): DeploymentSpec {
  const spec = d.spec;
  const replicas = spec.replicas ?? 1;
  let labels = spec.template.metadata?.labels ?? {};
  // Berth leniency for hand-written manifests: neither selector nor labels means app=<name>.
  if (!spec.selector && Object.keys(labels).length === 0) labels = { app: name };
  const selector = spec.selector ?? { matchLabels: labels };
  if (Object.keys(selector.matchLabels ?? {}).length === 0 && (selector.matchExpressions ?? []).length === 0)
    invalid("spec.selector", "must not be empty");
  if (!selectorMatches(selector, labels))
    invalid("spec.template.metadata.labels", "`selector` does not match template `labels`");
  const strategyType = spec.strategy?.type ?? "RollingUpdate";
  if (strategyType === "Recreate" && spec.strategy?.rollingUpdate)
    invalid("spec.strategy.rollingUpdate", "may not be given when strategy type is 'Recreate'");
  const restart = spec.template.spec.restartPolicy;
  if (restart !== undefined && restart !== "Always")
    invalid("spec.template.spec.restartPolicy", 'must be "Always" for a Deployment');
  const maxSurge = spec.strategy?.rollingUpdate?.maxSurge ?? "25%";
  const maxUnavailable = spec.strategy?.rollingUpdate?.maxUnavailable ?? "25%";
  if ((maxSurge === 0 || maxSurge === "0%") && (maxUnavailable === 0 || maxUnavailable === "0%"))
    invalid("spec.strategy.rollingUpdate.maxUnavailable", "may not be 0 when maxSurge is 0");
  const template = normalisePodTemplate(
    { ...spec.template, metadata: { ...spec.template.metadata, labels } },
    {
      at: "spec.template.spec",
      replicas,
      ...(policy ? { policy } : {}),
      ...(priorityClasses ? { priorityClasses } : {}),
    },
  );
  return {
    replicas,
    selector,
    strategy:
      strategyType === "Recreate"
        ? { type: "Recreate", maxSurge: 0, maxUnavailable: "100%" }
        : { type: "RollingUpdate", maxSurge, maxUnavailable },
    minReadySeconds: spec.minReadySeconds ?? 0,
    revisionHistoryLimit: spec.revisionHistoryLimit ?? 10,
    progressDeadlineSeconds: spec.progressDeadlineSeconds ?? 600,
    paused: spec.paused ?? false,
    autoRollback: spec.autoRollback ?? false,
    template: { ...template, rollout: { maxSurge, maxUnavailable } },
  };
}
