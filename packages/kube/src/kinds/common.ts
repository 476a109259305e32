import { ValidationError } from "@berth/core";
import { z } from "zod";

export const ignored = z.unknown().optional();

export function invalid(path: string, message: string): never {
  throw new ValidationError(`${path}: ${message}`, [{ path, message }]);
}

/** An int or a percentage, as `maxSurge`, `maxUnavailable` and friends are written. */
export const intOrPercent = z.union([
  z.number().int().min(0).max(1_000_000),
  z.string().regex(/^\d{1,3}%$/, "must be an integer or a percentage"),
]);

/** `matchLabels` and `matchExpressions` (Kubernetes' LabelSelector). */
export const labelSelectorSchema = z
  .object({
    matchLabels: z.record(z.string().max(317), z.string().max(63)).optional(),
    matchExpressions: z
      .array(
        z
          .object({
            key: z.string().min(1).max(317),
            operator: z.enum(["In", "NotIn", "Exists", "DoesNotExist"]),
            values: z.array(z.string().max(63)).max(64).optional(),
          })
          .strict(),
      )
      .max(16)
      .optional(),
  })
  .strict();
export type LabelSelector = z.infer<typeof labelSelectorSchema>;

/** Does a set of labels match a selector? (An empty selector matches everything.) */
export function selectorMatches(selector: LabelSelector, labels: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const value = labels[e.key];
    const values = e.values ?? [];
    if (e.operator === "In" && !(has && values.includes(value as string))) return false;
    if (e.operator === "NotIn" && has && values.includes(value as string)) return false;
    if (e.operator === "Exists" && !has) return false;
    if (e.operator === "DoesNotExist" && has) return false;
  }
  return true;
}
