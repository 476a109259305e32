import { isExtendedResourceName, MAX_EXTENDED_RESOURCE_COUNT, MAX_EXTENDED_RESOURCES } from "@berth/protocol";
import { invalid } from "../kinds/common";
import type { ResourcesInput } from "./resources";
import type { PodTemplate, StoredContainer } from "./template";

const STANDARD = new Set(["cpu", "memory", "ephemeral-storage"]);

function count(value: unknown, path: string): number {
  const n =
    typeof value === "number"
      ? value
      : typeof value === "string" && /^[0-9]+$/.test(value)
        ? Number(value)
        : Number.NaN;
  if (!Number.isSafeInteger(n)) invalid(path, "must be an integer");
  if (n > MAX_EXTENDED_RESOURCE_COUNT) invalid(path, `must be at most ${MAX_EXTENDED_RESOURCE_COUNT}`);
  return n;
}

/**
 * A container's extended resources (`berth.dev/gpu`, `nvidia.com/gpu`), as Kubernetes admits them:
 * whole units that cannot be over-committed, so the limit must be set and a request, when given,
 * must equal it. Any other name beside cpu, memory and ephemeral-storage is refused, naming it.
 * Returns the non-zero amounts, or undefined when the container asks for none.
 */
export function containerExtended(
  r: ResourcesInput | undefined,
  at: string,
): Record<string, number> | undefined {
  const requests: Record<string, unknown> = r?.requests ?? {};
  const limits: Record<string, unknown> = r?.limits ?? {};
  const names = new Set([...Object.keys(requests), ...Object.keys(limits)].filter((k) => !STANDARD.has(k)));
  if (names.size === 0) return undefined;
  if (names.size > MAX_EXTENDED_RESOURCES)
    invalid(`${at}.resources`, `at most ${MAX_EXTENDED_RESOURCES} extended resources per container`);
  const out: Record<string, number> = {};
  for (const name of [...names].sort()) {
    const limPath = `${at}.resources.limits.${name}`;
    const reqPath = `${at}.resources.requests.${name}`;
    if (!isExtendedResourceName(name))
      invalid(
        name in limits ? limPath : reqPath,
        "unknown resource: a container asks for cpu, memory, ephemeral-storage or an extended resource with a domain prefix, such as berth.dev/gpu",
      );
    if (!(name in limits)) invalid(limPath, "Limit must be set for non overcommitable resources");
    const limit = count(limits[name], limPath);
    if (name in requests && count(requests[name], reqPath) !== limit)
      invalid(reqPath, `must be equal to ${name} limit of ${limit}`);
    if (limit > 0) out[name] = limit;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

const add = (into: Record<string, number>, from: Readonly<Record<string, number>> | undefined) => {
  for (const [k, v] of Object.entries(from ?? {})) into[k] = (into[k] ?? 0) + v;
};

/**
 * What one pod asks for of each extended resource, as kube's scheduler counts it: the sum over its
 * containers, or the most any one init container asks when that is more.
 */
export function podExtendedRequests(
  t: Pick<PodTemplate, "containers" | "initContainers">,
): Record<string, number> | undefined {
  const total: Record<string, number> = {};
  // Stored rows are read defensively: a row written past admission must not stop the loop.
  const of = (c: StoredContainer) => (c as Partial<StoredContainer>).resources?.extended;
  for (const c of t.containers) add(total, of(c));
  for (const init of t.initContainers ?? [])
    for (const [k, v] of Object.entries(of(init) ?? {})) total[k] = Math.max(total[k] ?? 0, v);
  return Object.keys(total).length > 0 ? total : undefined;
}
