import { z } from "zod";

/**
 * Kubernetes' label syntax: an optional DNS-subdomain prefix and '/', then a name of at most 63
 * characters of alphanumerics, '-', '_' and '.', beginning and ending with an alphanumeric.
 */
const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_PREFIX = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

export function isLabelKey(key: string): boolean {
  const slash = key.indexOf("/");
  if (slash === -1) return LABEL_NAME.test(key);
  const prefix = key.slice(0, slash);
  return prefix.length <= 253 && LABEL_PREFIX.test(prefix) && LABEL_NAME.test(key.slice(slash + 1));
}

export const labelKey = z.string().min(1).max(317).refine(isLabelKey, "must be a label key");
export const labelValue = z.string().max(63).regex(LABEL_VALUE, "must be a label value");
export const labelMap = z
  .record(labelKey, labelValue)
  .refine((m) => Object.keys(m).length <= 64, "at most 64 labels");

/**
 * Prefixes whose labels and taints only the platform sets (`berth.io/pool`, `berth.io/machine`, …)
 * and the ones Kubernetes reserves for itself. A joining agent may set none of them: a node could
 * otherwise claim to be a machine or a pool it is not, and attract pods meant for those.
 */
export const RESERVED_LABEL_PREFIXES = [
  "berth.io/",
  "kubernetes.io/",
  "node.kubernetes.io/",
  "topology.kubernetes.io/",
] as const;

export function isReservedLabelKey(key: string): boolean {
  const lower = key.toLowerCase();
  const slash = lower.indexOf("/");
  if (slash === -1) return false;
  const prefix = lower.slice(0, slash);
  // `berth.io/…` and any subdomain of the reserved ones (`x.kubernetes.io/…` belongs to Kubernetes).
  return RESERVED_LABEL_PREFIXES.some((r) => {
    const domain = r.slice(0, -1);
    return prefix === domain || prefix.endsWith(`.${domain}`);
  });
}

/**
 * Kubernetes' extended resources (`berth.dev/gpu`, `nvidia.com/gpu`, `example.com/fpga`): a
 * qualified name whose prefix is a DNS subdomain outside `kubernetes.io` (kube keeps that one for
 * itself) and not `requests.…` (quota syntax), counted in whole units.
 */
export function isExtendedResourceName(name: string): boolean {
  const slash = name.indexOf("/");
  if (slash <= 0 || !isLabelKey(name)) return false;
  const prefix = name.slice(0, slash);
  return prefix !== "kubernetes.io" && !prefix.endsWith(".kubernetes.io") && !prefix.startsWith("requests.");
}

/** The most extended resources one node advertises or one container asks for. */
export const MAX_EXTENDED_RESOURCES = 16;
/** The largest count of one extended resource (a node with a million GPUs is a typo). */
export const MAX_EXTENDED_RESOURCE_COUNT = 1_000_000;

/** Amounts of extended resources by name, whole numbers (a node's capacity, a container's request). */
export const extendedResourceMap = z
  .record(z.string().max(317), z.number().int().min(0).max(MAX_EXTENDED_RESOURCE_COUNT))
  .superRefine((m, ctx) => {
    const names = Object.keys(m);
    if (names.length > MAX_EXTENDED_RESOURCES)
      ctx.addIssue({ code: "custom", message: `at most ${MAX_EXTENDED_RESOURCES} extended resources` });
    for (const name of names)
      if (!isExtendedResourceName(name))
        ctx.addIssue({
          code: "custom",
          path: [name],
          message:
            "must be an extended resource name: a domain prefix outside kubernetes.io and a name, such as berth.dev/gpu",
        });
  });
