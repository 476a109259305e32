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

/** Label keys whose values the pod's own labels fill in (kube's `matchLabelKeys`, `mismatchLabelKeys`). */
const labelKeys = z.array(labelKey).max(16);

type Selector = z.infer<typeof podLabelSelectorSchema>;
const selectorKeys = (s: Selector | undefined): Set<string> =>
  new Set([...Object.keys(s?.matchLabels ?? {}), ...(s?.matchExpressions ?? []).map((e) => e.key)]);

/** kube's checks of label keys beside a `labelSelector`: it must be set, and name none of them. */
function checkLabelKeys(
  ctx: Ctx,
  selector: Selector | undefined,
  fields: Partial<Record<"matchLabelKeys" | "mismatchLabelKeys", string[]>>,
): void {
  const inSelector = selectorKeys(selector);
  for (const [field, keys] of Object.entries(fields)) {
    if (!keys || keys.length === 0) continue;
    if (!selector) issue(ctx, [field], "must not be specified when labelSelector is not set");
    keys.forEach((k, i) => {
      if (inSelector.has(k)) issue(ctx, [field, i], `exists in both ${field} and labelSelector`);
    });
  }
  const mismatch = new Set(fields.mismatchLabelKeys ?? []);
  (fields.matchLabelKeys ?? []).forEach((k, i) => {
    if (mismatch.has(k))
      issue(ctx, ["matchLabelKeys", i], "exists in both matchLabelKeys and mismatchLabelKeys");
  });
}

const podAffinityTerm = z
  .object({
    labelSelector: podLabelSelectorSchema.optional(),
    namespaces: z.array(dnsLabelName).max(64).optional(),
    namespaceSelector: podLabelSelectorSchema.optional(),
    topologyKey,
    matchLabelKeys: labelKeys.optional(),
    mismatchLabelKeys: labelKeys.optional(),
  })
  .strict()
  .superRefine((t, ctx) =>
    checkLabelKeys(ctx, t.labelSelector, {
      ...(t.matchLabelKeys ? { matchLabelKeys: t.matchLabelKeys } : {}),
      ...(t.mismatchLabelKeys ? { mismatchLabelKeys: t.mismatchLabelKeys } : {}),
    }),
  );

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
    matchLabelKeys: labelKeys.optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.matchLabelKeys) checkLabelKeys(ctx, c.labelSelector, { matchLabelKeys: c.matchLabelKeys });
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

type Term = z.infer<typeof podAffinityTerm>;

/**
 * A term with its label keys resolved against the pod's own labels, as kube's API server merges
 * them when the pod is created: each `matchLabelKeys` key the pod has becomes `key In (value)`,
 * each `mismatchLabelKeys` key `key NotIn (value)`, in the `labelSelector`; keys the pod lacks are
 * ignored. (`pod-template-hash` is the usual one: spread or repel per Deployment revision.)
 */
function resolveSelector<
  T extends { labelSelector?: Selector; matchLabelKeys?: string[]; mismatchLabelKeys?: string[] },
>(term: T, labels: Readonly<Record<string, string>>): Omit<T, "matchLabelKeys" | "mismatchLabelKeys"> {
  const { matchLabelKeys = [], mismatchLabelKeys = [], ...rest } = term;
  if (matchLabelKeys.length === 0 && mismatchLabelKeys.length === 0) return rest;
  const extra = [
    ...matchLabelKeys.flatMap((key) =>
      labels[key] === undefined ? [] : [{ key, operator: "In" as const, values: [labels[key]] }],
    ),
    ...mismatchLabelKeys.flatMap((key) =>
      labels[key] === undefined ? [] : [{ key, operator: "NotIn" as const, values: [labels[key]] }],
    ),
  ];
  if (extra.length === 0 || !rest.labelSelector) return rest;
  return {
    ...rest,
    labelSelector: {
      ...rest.labelSelector,
      matchExpressions: [...(rest.labelSelector.matchExpressions ?? []), ...extra],
    },
  };
}

const resolveTerms = (terms: Term[] | undefined, labels: Readonly<Record<string, string>>) =>
  terms?.map((t) => resolveSelector(t, labels));

/** A pod's affinity with every term's label keys resolved against its labels (see `resolveSelector`). */
export function resolveAffinityLabelKeys(
  affinity: AffinityInput,
  labels: Readonly<Record<string, string>>,
): AffinityInput {
  const side = (a: z.infer<typeof podAffinity> | undefined) =>
    a && {
      ...(a.requiredDuringSchedulingIgnoredDuringExecution
        ? {
            requiredDuringSchedulingIgnoredDuringExecution: resolveTerms(
              a.requiredDuringSchedulingIgnoredDuringExecution,
              labels,
            ),
          }
        : {}),
      ...(a.preferredDuringSchedulingIgnoredDuringExecution
        ? {
            preferredDuringSchedulingIgnoredDuringExecution:
              a.preferredDuringSchedulingIgnoredDuringExecution.map((w) => ({
                weight: w.weight,
                podAffinityTerm: resolveSelector(w.podAffinityTerm, labels),
              })),
          }
        : {}),
    };
  return {
    ...affinity,
    ...(affinity.podAffinity ? { podAffinity: side(affinity.podAffinity) } : {}),
    ...(affinity.podAntiAffinity ? { podAntiAffinity: side(affinity.podAntiAffinity) } : {}),
  };
}

/** A pod's spread constraints with their `matchLabelKeys` resolved against its labels. */
export function resolveSpreadLabelKeys(
  constraints: TopologySpreadConstraintInput[],
  labels: Readonly<Record<string, string>>,
): TopologySpreadConstraintInput[] {
  return constraints.map((c) => resolveSelector(c, labels));
}
