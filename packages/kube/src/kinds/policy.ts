import { parseCpuMillis, parseMemoryBytes } from "@berth/core";
import { z } from "zod";
import { objectMetaSchema } from "../meta";
import { ignored, invalid } from "./common";

const quantity = z.union([z.string().max(32), z.number().nonnegative()]);

/** What a ResourceQuota may limit (Kubernetes' names): compute, and counts of objects. */
export const QUOTA_RESOURCES = [
  "pods",
  "requests.cpu",
  "requests.memory",
  "limits.cpu",
  "limits.memory",
  "cpu",
  "memory",
  "requests.ephemeral-storage",
  "limits.ephemeral-storage",
  "configmaps",
  "secrets",
  "services",
  "count/deployments.apps",
  "count/jobs.batch",
  "count/cronjobs.batch",
  "count/pods",
  "count/configmaps",
  "count/secrets",
] as const;
export type QuotaResource = (typeof QUOTA_RESOURCES)[number];

export const resourceQuotaSchema = z
  .object({
    apiVersion: z.literal("v1").optional(),
    kind: z.literal("ResourceQuota").optional(),
    metadata: objectMetaSchema.optional(),
    spec: z
      .object({
        hard: z.partialRecord(z.enum(QUOTA_RESOURCES), quantity),
        scopes: z.never({ error: "quota scopes are not supported" }).optional(),
        scopeSelector: z.never({ error: "quota scopeSelector is not supported" }).optional(),
      })
      .strict(),
    status: ignored,
  })
  .strict();
export type ResourceQuotaInput = z.infer<typeof resourceQuotaSchema>;

/** Quota amounts as integers: millicores for cpu, bytes for memory and storage, counts otherwise. */
export type QuotaAmounts = Partial<Record<QuotaResource, number>>;

export function quotaAmount(resource: QuotaResource, value: string | number, path: string): number {
  if (resource.endsWith("cpu") || resource === "cpu") return parseCpuMillis(value, path);
  if (resource.includes("memory") || resource.includes("ephemeral-storage"))
    return parseMemoryBytes(value, path);
  const n = typeof value === "number" ? value : Number(value);
  if (!Number.isSafeInteger(n) || n < 0) invalid(path, "must be a whole number");
  return n;
}

export function normaliseResourceQuota(q: ResourceQuotaInput): { hard: QuotaAmounts } {
  const hard: QuotaAmounts = {};
  for (const [k, v] of Object.entries(q.spec.hard)) {
    const r = k as QuotaResource;
    if (v !== undefined) hard[r] = quotaAmount(r, v, `spec.hard.${k}`);
  }
  return { hard };
}

const resourceList = z
  .object({ cpu: quantity.optional(), memory: quantity.optional(), "ephemeral-storage": quantity.optional() })
  .strict();

export const limitRangeSchema = z
  .object({
    apiVersion: z.literal("v1").optional(),
    kind: z.literal("LimitRange").optional(),
    metadata: objectMetaSchema.optional(),
    spec: z
      .object({
        limits: z
          .array(
            z
              .object({
                type: z.enum(["Container", "Pod"]),
                default: resourceList.optional(),
                defaultRequest: resourceList.optional(),
                min: resourceList.optional(),
                max: resourceList.optional(),
                maxLimitRequestRatio: resourceList.optional(),
              })
              .strict(),
          )
          .min(1)
          .max(8),
      })
      .strict(),
  })
  .strict();
export type LimitRangeInput = z.infer<typeof limitRangeSchema>;

/** One LimitRange item with quantities as integers (millicores, bytes; ratios as plain numbers). */
export interface LimitRangeItem {
  type: "Container" | "Pod";
  default: { cpu?: number; memory?: number; "ephemeral-storage"?: number };
  defaultRequest: { cpu?: number; memory?: number; "ephemeral-storage"?: number };
  min: { cpu?: number; memory?: number; "ephemeral-storage"?: number };
  max: { cpu?: number; memory?: number; "ephemeral-storage"?: number };
  maxLimitRequestRatio: { cpu?: number; memory?: number };
}

function amounts(list: z.infer<typeof resourceList> | undefined, path: string) {
  const out: LimitRangeItem["default"] = {};
  if (list?.cpu !== undefined) out.cpu = parseCpuMillis(list.cpu, `${path}.cpu`);
  if (list?.memory !== undefined) out.memory = parseMemoryBytes(list.memory, `${path}.memory`);
  if (list?.["ephemeral-storage"] !== undefined)
    out["ephemeral-storage"] = parseMemoryBytes(list["ephemeral-storage"], `${path}.ephemeral-storage`);
  return out;
}

const AMOUNT_KEYS = ["cpu", "memory", "ephemeral-storage"] as const;

/**
 * Kubernetes' defaulting of a Container item (SetDefaults_LimitRangeItem): a missing default limit
 * is the max, a missing default request is the default limit, else the min.
 */
function defaulted(item: LimitRangeItem): LimitRangeItem {
  if (item.type !== "Container") return item;
  const def = { ...item.default };
  const req = { ...item.defaultRequest };
  for (const k of AMOUNT_KEYS) if (def[k] === undefined && item.max[k] !== undefined) def[k] = item.max[k];
  for (const k of AMOUNT_KEYS) if (req[k] === undefined && def[k] !== undefined) req[k] = def[k];
  for (const k of AMOUNT_KEYS) if (req[k] === undefined && item.min[k] !== undefined) req[k] = item.min[k];
  return { ...item, default: def, defaultRequest: req };
}

/** Kubernetes' validation of an item: min ≤ defaultRequest ≤ default ≤ max, for each resource. */
function checkOrder(item: LimitRangeItem, at: string): void {
  for (const k of AMOUNT_KEYS) {
    const { min, max } = { min: item.min[k], max: item.max[k] };
    const def = item.default[k];
    const req = item.defaultRequest[k];
    if (min !== undefined && max !== undefined && min > max)
      invalid(`${at}.min.${k}`, "min must be less than or equal to max");
    if (req !== undefined && def !== undefined && req > def)
      invalid(`${at}.defaultRequest.${k}`, "defaultRequest must be less than or equal to default");
    if (def !== undefined && max !== undefined && def > max)
      invalid(`${at}.default.${k}`, "default must be less than or equal to max");
    if (req !== undefined && min !== undefined && req < min)
      invalid(`${at}.defaultRequest.${k}`, "defaultRequest must be greater than or equal to min");
  }
}

export function normaliseLimitRange(l: LimitRangeInput): { limits: LimitRangeItem[] } {
  return {
    limits: l.spec.limits.map((item, i) => {
      const at = `spec.limits[${i}]`;
      if (item.type === "Pod" && (item.default !== undefined || item.defaultRequest !== undefined))
        invalid(
          item.default !== undefined ? `${at}.default` : `${at}.defaultRequest`,
          "may not be specified when type is 'Pod'",
        );
      const ratio: LimitRangeItem["maxLimitRequestRatio"] = {};
      for (const k of ["cpu", "memory"] as const) {
        const v = item.maxLimitRequestRatio?.[k];
        if (v === undefined) continue;
        const n = Number(v);
        if (!Number.isFinite(n) || n < 1)
          invalid(`${at}.maxLimitRequestRatio.${k}`, "must be a number of at least 1");
        ratio[k] = n;
      }
      const normal = defaulted({
        type: item.type,
        default: amounts(item.default, `${at}.default`),
        defaultRequest: amounts(item.defaultRequest, `${at}.defaultRequest`),
        min: amounts(item.min, `${at}.min`),
        max: amounts(item.max, `${at}.max`),
        maxLimitRequestRatio: ratio,
      });
      checkOrder(normal, at);
      return normal;
    }),
  };
}
