import {
  BerthError,
  DEFAULT_CPU_REQUEST_MILLIS,
  DEFAULT_EPHEMERAL_STORAGE_BYTES,
  DEFAULT_MAX_LIMIT_REQUEST_RATIO,
  DEFAULT_MEMORY_REQUEST_BYTES,
  formatCpuMillis,
  formatMemoryBytes,
  MAX_EPHEMERAL_STORAGE_BYTES,
  MIN_CPU_LIMIT_MILLIS,
  MIN_CPU_REQUEST_MILLIS,
  MIN_EPHEMERAL_STORAGE_BYTES,
  MIN_MEMORY_LIMIT_BYTES,
  MIN_MEMORY_REQUEST_BYTES,
  NODE_MAX_CPU_MILLIS,
  NODE_MAX_MEMORY_BYTES,
  parseCpuMillis,
  parseMemoryBytes,
  ValidationError,
} from "@berth/core";
import { z } from "zod";
import { containerExtended } from "./extended";
import { type LimitPolicy, PLATFORM_RESOURCE_POLICY } from "./limit-range";
import type { StoredContainer } from "./template";

/**
 * A container's `resources`, admitted the way a LimitRange would: every quantity within what a
 * node can have, every limit one the runtime can honour, and no limit more than
 * `maxLimitRequestRatio` times its request (what is placed and billed must be what may be used).
 * The namespace's LimitRanges (a `LimitPolicy`) add their defaults, minimums, maximums and ratios;
 * without one the platform's defaults apply (a ratio of at most 4).
 */
const quantity = z.union([z.string().max(32), z.number().nonnegative()]);
/** cpu, memory, ephemeral-storage, and extended resources by name (checked in `containerExtended`). */
const quantities = z
  .object({
    cpu: quantity.optional(),
    memory: quantity.optional(),
    "ephemeral-storage": quantity.optional(),
  })
  .catchall(quantity);
export const resourcesSchema = z
  .object({ requests: quantities.optional(), limits: quantities.optional() })
  .strict();
export type ResourcesInput = z.infer<typeof resourcesSchema>;

type Quantity = z.infer<typeof quantity>;

interface Kind {
  name: "cpu" | "memory";
  parse: (value: Quantity, path: string) => number;
  format: (n: number) => string;
  defaultRequest: number;
  minRequest: number;
  minLimit: number;
  minLimitWhy: string;
  max: number;
  maxText: string;
  ratio: number;
}

const CPU: Kind = {
  name: "cpu",
  parse: parseCpuMillis,
  format: formatCpuMillis,
  defaultRequest: DEFAULT_CPU_REQUEST_MILLIS,
  minRequest: MIN_CPU_REQUEST_MILLIS,
  minLimit: MIN_CPU_LIMIT_MILLIS,
  minLimitWhy: "the CFS quota cannot be below 1 ms of its 100 ms period",
  max: NODE_MAX_CPU_MILLIS,
  maxText: `${NODE_MAX_CPU_MILLIS / 1000} CPUs`,
  ratio: DEFAULT_MAX_LIMIT_REQUEST_RATIO.cpu,
};

const MEMORY: Kind = {
  name: "memory",
  parse: parseMemoryBytes,
  format: formatMemoryBytes,
  defaultRequest: DEFAULT_MEMORY_REQUEST_BYTES,
  minRequest: MIN_MEMORY_REQUEST_BYTES,
  minLimit: MIN_MEMORY_LIMIT_BYTES,
  minLimitWhy: "container engines refuse smaller memory limits",
  max: NODE_MAX_MEMORY_BYTES,
  maxText: formatMemoryBytes(NODE_MAX_MEMORY_BYTES),
  ratio: DEFAULT_MAX_LIMIT_REQUEST_RATIO.memory,
};

function invalid(path: string, message: string): never {
  throw new ValidationError(`${path}: ${message}`, [{ path, message }]);
}

/** A LimitRange's rule was broken: refused with 403, as Kubernetes' LimitRanger refuses it. */
function forbidden(path: string, message: string): never {
  throw new BerthError("FORBIDDEN", `${path}: ${message}`, { details: { issues: [{ path, message }] } });
}

/**
 * A request and a limit of one kind. The request defaults to the limit (as in Kubernetes), else to
 * the LimitRange's defaultRequest, else the platform's; the limit to the LimitRange's default, else
 * the request.
 */
function requestAndLimit(kind: Kind, r: ResourcesInput | undefined, at: string, policy: LimitPolicy) {
  const reqPath = `${at}.resources.requests.${kind.name}`;
  const limPath = `${at}.resources.limits.${kind.name}`;
  const req = r?.requests?.[kind.name];
  const lim = r?.limits?.[kind.name];
  const given = {
    request: req === undefined ? undefined : kind.parse(req, reqPath),
    limit: lim === undefined ? undefined : kind.parse(lim, limPath),
  };
  for (const [value, path] of [
    [given.request, reqPath],
    [given.limit, limPath],
  ] as const)
    if (value !== undefined && value > kind.max)
      invalid(path, `${kind.format(value)} is more than the largest node offers (${kind.maxText})`);
  const request = given.request ?? given.limit ?? policy.defaultRequest[kind.name] ?? kind.defaultRequest;
  const limit = given.limit ?? policy.defaultLimit[kind.name] ?? request;
  if (request < kind.minRequest)
    invalid(
      given.request !== undefined ? reqPath : limPath,
      `must be at least ${kind.format(kind.minRequest)}`,
    );
  if (limit < request)
    invalid(
      limPath,
      `limits must not be below requests (${kind.format(request)})${
        given.limit === undefined
          ? `; the namespace's LimitRange gives a default limit of ${kind.format(limit)}`
          : ""
      }`,
    );
  if (limit < kind.minLimit)
    invalid(
      given.limit !== undefined ? limPath : reqPath,
      `the smallest ${kind.name} limit a container can have is ${kind.format(kind.minLimit)} (${kind.minLimitWhy})${
        given.limit === undefined ? "; the limit defaults to the request" : ""
      }`,
    );
  checkLimitPolicy(kind.name, { request, limit }, policy, "Container", { reqPath, limPath }, kind.format);
  const rangeRatio = policy.maxLimitRequestRatio[kind.name];
  if (rangeRatio === undefined && limit > kind.ratio * request)
    invalid(
      limPath,
      `${kind.format(limit)} is more than ${kind.ratio} × requests.${kind.name} (${kind.format(request)}): ` +
        `the maximum limit/request ratio (maxLimitRequestRatio) for ${kind.name} is ${kind.ratio}` +
        (given.limit === undefined && policy.defaultLimit[kind.name] !== undefined
          ? " (the limit is the default of the namespace's LimitRange; give a limit, or a LimitRange maxLimitRequestRatio)"
          : ""),
    );
  return { request, limit };
}

/**
 * A LimitRange's minimum, maximum and limit/request ratio for one resource of a container or a
 * pod, in Kubernetes' words ("maximum cpu usage per Container is 1, but limit is 2").
 */
export function checkLimitPolicy(
  resource: "cpu" | "memory",
  amounts: { request: number; limit: number },
  policy: LimitPolicy,
  type: "Container" | "Pod",
  paths: { reqPath: string; limPath: string },
  format: (n: number) => string,
): void {
  const min = policy.min[resource];
  if (min !== undefined && amounts.request < min)
    forbidden(
      paths.reqPath,
      `minimum ${resource} usage per ${type} is ${format(min)}, but request is ${format(amounts.request)}`,
    );
  if (min !== undefined && amounts.limit < min)
    forbidden(
      paths.limPath,
      `minimum ${resource} usage per ${type} is ${format(min)}, but limit is ${format(amounts.limit)}`,
    );
  const max = policy.max[resource];
  if (max !== undefined && amounts.limit > max)
    forbidden(
      paths.limPath,
      `maximum ${resource} usage per ${type} is ${format(max)}, but limit is ${format(amounts.limit)}`,
    );
  if (max !== undefined && amounts.request > max)
    forbidden(
      paths.reqPath,
      `maximum ${resource} usage per ${type} is ${format(max)}, but request is ${format(amounts.request)}`,
    );
  const ratio = policy.maxLimitRequestRatio[resource];
  if (ratio !== undefined && amounts.limit > ratio * amounts.request)
    forbidden(
      paths.limPath,
      `${resource} max limit to request ratio per ${type} is ${ratio}, but provided ratio is ${(amounts.limit / amounts.request).toFixed(6)}`,
    );
}

function ephemeralStorage(r: ResourcesInput | undefined, at: string, policy: LimitPolicy): number {
  const reqPath = `${at}.resources.requests.ephemeral-storage`;
  const limPath = `${at}.resources.limits.ephemeral-storage`;
  const req = r?.requests?.["ephemeral-storage"];
  const lim = r?.limits?.["ephemeral-storage"];
  const request = req === undefined ? undefined : parseMemoryBytes(req, reqPath);
  const limit =
    lim === undefined
      ? (request ?? policy.defaultLimit["ephemeral-storage"] ?? DEFAULT_EPHEMERAL_STORAGE_BYTES)
      : parseMemoryBytes(lim, limPath);
  const path = lim !== undefined ? limPath : reqPath;
  if (limit < MIN_EPHEMERAL_STORAGE_BYTES || limit > MAX_EPHEMERAL_STORAGE_BYTES)
    invalid(
      path,
      `must be within ${formatMemoryBytes(MIN_EPHEMERAL_STORAGE_BYTES)}..${formatMemoryBytes(MAX_EPHEMERAL_STORAGE_BYTES)}`,
    );
  if (request !== undefined && request > limit)
    invalid(limPath, `limits must not be below requests (${formatMemoryBytes(request)})`);
  const max = policy.max["ephemeral-storage"];
  if (max !== undefined && limit > max)
    forbidden(
      limPath,
      `maximum ephemeral-storage usage per Container is ${formatMemoryBytes(max)}, but limit is ${formatMemoryBytes(limit)}`,
    );
  const min = policy.min["ephemeral-storage"];
  if (min !== undefined && limit < min)
    forbidden(
      limPath,
      `minimum ephemeral-storage usage per Container is ${formatMemoryBytes(min)}, but limit is ${formatMemoryBytes(limit)}`,
    );
  return limit;
}

/**
 * A container's requests and limits as stored, or a ValidationError naming the field (`at` is the
 * container's path); a LimitRange's rule broken is a 403 (BerthError FORBIDDEN) naming it.
 */
export function containerResources(
  r: ResourcesInput | undefined,
  at: string,
  policy: LimitPolicy = PLATFORM_RESOURCE_POLICY.container,
): Pick<StoredContainer, "resources" | "limits"> {
  const cpu = requestAndLimit(CPU, r, at, policy);
  const memory = requestAndLimit(MEMORY, r, at, policy);
  const extended = containerExtended(r, at);
  return {
    resources: { cpuMillis: cpu.request, memoryBytes: memory.request, ...(extended ? { extended } : {}) },
    limits: {
      cpuMillis: cpu.limit,
      memoryBytes: memory.limit,
      ephemeralStorageBytes: ephemeralStorage(r, at, policy),
    },
  };
}

/**
 * Bounds of the pod as a whole: its containers' limits (≥ their requests) must fit on the largest
 * node, and `replicas` times them must stay exact integer arithmetic (quotas, usage).
 */
export function checkPodTotals(
  containers: readonly Pick<StoredContainer, "limits">[],
  replicas: number,
  at = "spec.template.spec.containers",
): void {
  const cpu = containers.reduce((n, c) => n + c.limits.cpuMillis, 0);
  const memory = containers.reduce((n, c) => n + c.limits.memoryBytes, 0);
  if (cpu > NODE_MAX_CPU_MILLIS)
    invalid(
      at,
      `the containers' cpu limits add up to ${formatCpuMillis(cpu)}, more than the largest node offers (${CPU.maxText})`,
    );
  if (memory > NODE_MAX_MEMORY_BYTES)
    invalid(
      at,
      `the containers' memory limits add up to ${formatMemoryBytes(memory)}, more than the largest node offers (${MEMORY.maxText})`,
    );
  if (!Number.isSafeInteger(replicas * memory) || !Number.isSafeInteger(replicas * cpu))
    invalid(
      "spec.replicas",
      `${replicas} replicas of a pod of ${formatMemoryBytes(memory)} is too much memory`,
    );
}
