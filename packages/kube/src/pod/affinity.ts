import { labelKey, labelValue } from "@berth/protocol";
import { z } from "zod";
import { dnsLabelName } from "../meta";

/**
 * A pod's `affinity` and `topologySpreadConstraints` in Kubernetes' shapes, checked as its API
 * server checks them (same field paths and messages). The scheduler (`@berth/scheduler`) takes
 * them as they are stored.
 */

type Ctx = z.RefinementCtx;
const issue = (ctx: Ctx, path: (string | number)[], message: string) =>
  ctx.addIssue({ code: "custom", path, message });

const IN_NOT_IN = "must be specified when `operator` is 'In' or 'NotIn'";
const NO_VALUES = "may not be specified when `operator` is 'Exists' or 'DoesNotExist'";
const WEIGHT = "must be in the range 1-100";

/** Kubernetes' LabelSelector, with its API's checks of values per operator. */
export const podLabelSelectorSchema = z
  .object({
    matchLabels: z
      .record(labelKey, labelValue)
      .refine((m) => Object.keys(m).length <= 64, "at most 64 labels")
      .optional(),
    matchExpressions: z
      .array(
        z
          .object({
            key: labelKey,
            operator: z.enum(["In", "NotIn", "Exists", "DoesNotExist"]),
            values: z.array(labelValue).max(64).optional(),
          })
          .strict()
          .superRefine((r, ctx) => {
            const n = r.values?.length ?? 0;
            if ((r.operator === "In" || r.operator === "NotIn") && n === 0) issue(ctx, ["values"], IN_NOT_IN);
            if ((r.operator === "Exists" || r.operator === "DoesNotExist") && n > 0)
              issue(ctx, ["values"], NO_VALUES);
          }),
      )
      .max(16)
      .optional(),
  })
  .strict();

const nodeSelectorRequirement = z
  .object({
    key: labelKey,
    operator: z.enum(["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"]),
    values: z.array(z.string().max(63)).max(64).optional(),
  })
  .strict()
  .superRefine((r, ctx) => {
    const n = r.values?.length ?? 0;
    if ((r.operator === "In" || r.operator === "NotIn") && n === 0) issue(ctx, ["values"], IN_NOT_IN);
    if ((r.operator === "Exists" || r.operator === "DoesNotExist") && n > 0)
      issue(ctx, ["values"], NO_VALUES);
    if ((r.operator === "Gt" || r.operator === "Lt") && n !== 1)
      issue(ctx, ["values"], "must be specified single value when `operator` is 'Lt' or 'Gt'");
  });

const nodeFieldSelectorRequirement = z
  .object({
    key: z.literal("metadata.name", { error: 'supported values: "metadata.name"' }),
    operator: z.enum(["In", "NotIn"]),
    values: z.array(z.string().max(253)).optional(),
  })
  .strict()
  .superRefine((r, ctx) => {
    if ((r.values?.length ?? 0) !== 1)
      issue(
        ctx,
        ["values"],
        "must be only one value when `operator` is 'In' or 'NotIn' for node field selector",
      );
  });

const nodeSelectorTerm = z
  .object({
    matchExpressions: z.array(nodeSelectorRequirement).max(16).optional(),
    matchFields: z.array(nodeFieldSelectorRequirement).max(4).optional(),
  })
  .strict();

const weight = z.number().int({ error: WEIGHT }).min(1, { error: WEIGHT }).max(100, { error: WEIGHT });

const nodeAffinity = z
  .object({
    requiredDuringSchedulingIgnoredDuringExecution: z
      .object({
        nodeSelectorTerms: z
          .array(nodeSelectorTerm)
          .min(1, { error: "must have at least one node selector term" })
          .max(16),
      })
      .strict()
      .optional(),
    preferredDuringSchedulingIgnoredDuringExecution: z
      .array(z.object({ weight, preference: nodeSelectorTerm }).strict())
      .max(16)
      .optional(),
  })
  .strict();

const topologyKey = z
  .string({ error: "can not be empty" })
  .min(1, { error: "can not be empty" })
  .max(317)
  .refine((k) => labelKey.safeParse(k).success, "must be a label key");

const podAffinityTerm = z
  .object({
    labelSelector: podLabelSelectorSchema.optional(),
    namespaces: z.array(dnsLabelName).max(64).optional(),
    namespaceSelector: podLabelSelectorSchema.optional(),
    topologyKey,
    matchLabelKeys: z.never({ error: "matchLabelKeys is not supported" }).optional(),
    mismatchLabelKeys: z.never({ error: "mismatchLabelKeys is not supported" }).optional(),
  })
  .strict();

const podAffinity = z
  .object({
    requiredDuringSchedulingIgnoredDuringExecution: z.array(podAffinityTerm).max(16).optional(),
    preferredDuringSchedulingIgnoredDuringExecution: z
      .array(z.object({ weight, podAffinityTerm }).strict())
      .max(16)
      .optional(),
  })
  .strict();

export const affinitySchema = z
  .object({
    nodeAffinity: nodeAffinity.optional(),
    podAffinity: podAffinity.optional(),
    podAntiAffinity: podAffinity.optional(),
  })
  .strict();
export type AffinityInput = z.infer<typeof affinitySchema>;

const greaterThanZero = "must be greater than zero";

export const topologySpreadConstraintSchema = z
  .object({
    maxSkew: z
      .number()
      .int()
      .min(1, { error: greaterThanZero })
      .max(2 ** 31 - 1),
    topologyKey,
    whenUnsatisfiable: z.enum(["DoNotSchedule", "ScheduleAnyway"]),
    labelSelector: podLabelSelectorSchema.optional(),
    minDomains: z
      .number()
      .int()
      .min(1, { error: greaterThanZero })
      .max(2 ** 31 - 1)
      .optional(),
    nodeAffinityPolicy: z.enum(["Honor", "Ignore"]).optional(),
    nodeTaintsPolicy: z.enum(["Honor", "Ignore"]).optional(),
    matchLabelKeys: z.never({ error: "matchLabelKeys is not supported" }).optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.minDomains !== undefined && c.whenUnsatisfiable !== "DoNotSchedule")
      issue(
        ctx,
        ["minDomains"],
        `can only use minDomains if whenUnsatisfiable=DoNotSchedule, not ${c.whenUnsatisfiable}`,
      );
  });

export const topologySpreadConstraintsSchema = z
  .array(topologySpreadConstraintSchema)
  .max(16)
  .superRefine((list, ctx) => {
    const seen = new Set<string>();
    list.forEach((c, i) => {
      const pair = `{${c.topologyKey}, ${c.whenUnsatisfiable}}`;
      if (seen.has(pair)) issue(ctx, [i], `Duplicate value: "${pair}"`);
      seen.add(pair);
    });
  });
export type TopologySpreadConstraintInput = z.infer<typeof topologySpreadConstraintSchema>;
