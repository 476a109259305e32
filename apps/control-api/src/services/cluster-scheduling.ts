import type { ClusterAutoscalerProfile, ClusterScheduling } from "@berth/db";
import { isExtendedResourceName } from "@berth/protocol";
import { z } from "zod";

const issue = (ctx: z.RefinementCtx, path: (string | number)[], message: string) =>
  ctx.addIssue({ code: "custom", path, message });

/**
 * A cluster's scoring strategy, checked as kube-scheduler checks its NodeResourcesFit arguments:
 * resources are cpu, memory or extended resources, each once, weights 1..100; a shape of 1..10
 * points, utilization 0..100 strictly increasing, scores 0..10, only for RequestedToCapacityRatio.
 */
export const scoringStrategyInput = z
  .object({
    type: z.enum(["LeastAllocated", "MostAllocated", "RequestedToCapacityRatio"]),
    resources: z
      .array(
        z
          .object({
            name: z
              .string()
              .max(317)
              .refine(
                (n) => n === "cpu" || n === "memory" || isExtendedResourceName(n),
                "must be cpu, memory or an extended resource such as berth.dev/gpu",
              ),
            weight: z.number().int().min(1).max(100),
          })
          .strict(),
      )
      .min(1)
      .max(16)
      .optional(),
    requestedToCapacityRatio: z
      .object({
        shape: z
          .array(
            z
              .object({
                utilization: z.number().int().min(0).max(100),
                score: z.number().int().min(0).max(10),
              })
              .strict(),
          )
          .min(1)
          .max(10),
      })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((s, ctx) => {
    const seen = new Set<string>();
    s.resources?.forEach((r, i) => {
      if (seen.has(r.name)) issue(ctx, ["resources", i, "name"], `${r.name} is listed twice`);
      seen.add(r.name);
    });
    if (s.type === "RequestedToCapacityRatio" && !s.requestedToCapacityRatio)
      issue(ctx, ["requestedToCapacityRatio"], "required for type RequestedToCapacityRatio");
    if (s.type !== "RequestedToCapacityRatio" && s.requestedToCapacityRatio)
      issue(ctx, ["requestedToCapacityRatio"], `only for type RequestedToCapacityRatio, not ${s.type}`);
    s.requestedToCapacityRatio?.shape.forEach((p, i, shape) => {
      const before = shape[i - 1];
      if (before && p.utilization <= before.utilization)
        issue(
          ctx,
          ["requestedToCapacityRatio", "shape", i, "utilization"],
          "utilization values must be sorted in increasing order",
        );
    });
  });

export const schedulingInput = z.object({ scoringStrategy: scoringStrategyInput }).strict();

/** What a cluster's `scheduling` is when it was created without one: kube's default, spreading. */
export const DEFAULT_SCHEDULING: ClusterScheduling = { scoringStrategy: { type: "LeastAllocated" } };

const DAY_SECONDS = 86_400;

/**
 * The node autoscaler's profile (AKS's `--cluster-autoscaler-profile`, its defaults): on PATCH,
 * the fields given replace those stored.
 */
export const autoscalerProfileInput = z
  .object({
    expander: z.enum(["least-waste", "priority"]).optional(),
    scaleDownUtilizationThreshold: z.number().min(0).max(1).optional(),
    scaleDownUnneededTimeSeconds: z.number().int().min(0).max(DAY_SECONDS).optional(),
    scaleDownDelayAfterAddSeconds: z.number().int().min(0).max(DAY_SECONDS).optional(),
  })
  .strict();

export function withProfile(
  base: ClusterAutoscalerProfile,
  change: z.infer<typeof autoscalerProfileInput> | undefined,
): ClusterAutoscalerProfile {
  return { ...base, ...Object.fromEntries(Object.entries(change ?? {}).filter(([, v]) => v !== undefined)) };
}
