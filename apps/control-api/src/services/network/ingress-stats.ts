import { BerthError } from "@berth/core";
import { INGRESS_LATENCY_BUCKETS_MS, ingressRouteStats, objects, withTenant } from "@berth/db";
import { and, eq, gte } from "drizzle-orm";
import { z } from "zod";
import type { Deps, UserCaller } from "../../deps";
import { clusterId, loadCluster } from "../clusters";
import { namespaceParam, notFoundMessage, objectNameParam } from "../objects/names";

export const ingressStatsInput = z
  .object({
    clusterId,
    namespace: namespaceParam,
    name: objectNameParam,
    /** The window: the last this many minutes (the current one included). */
    minutes: z.coerce.number().int().min(1).max(1440).default(60),
  })
  .strict();

const count = z.number().int().min(0);
type StatusClass = "1xx" | "2xx" | "3xx" | "4xx" | "5xx";
const routeStats = z.strictObject({
  host: z.string().describe("The rule's host as written (a wildcard stays `*.x.y`)"),
  path: z.string().describe("The rule's path; \"\" for the Ingress's defaultBackend"),
  statusClass: z.enum(["1xx", "2xx", "3xx", "4xx", "5xx"]),
  requests: count,
  bytes: count,
  meanMs: z.number(),
  p50Ms: z.number().describe("Upper bound of the latency bucket holding the median"),
  p99Ms: z
    .number()
    .describe("Upper bound of the bucket holding the 99th percentile (null-free: the last bound when above)"),
  latencyBuckets: z.array(z.strictObject({ leMs: z.number().nullable(), requests: count })),
});
export const ingressStatsReply = z.strictObject({
  ingress: z.string(),
  namespace: z.string(),
  from: z.string(),
  routes: z.array(routeStats),
});

/** The upper bound of the bucket where the `q`-quantile falls. */
function quantile(buckets: number[], total: number, q: number): number {
  const bounds = INGRESS_LATENCY_BUCKETS_MS;
  let seen = 0;
  for (let i = 0; i < buckets.length; i++) {
    seen += buckets[i] ?? 0;
    if (seen >= q * total) return bounds[i] ?? (bounds.at(-1) as number);
  }
  return bounds.at(-1) as number;
}

/**
 * Requests the gateway served for one Ingress over the last `minutes`, per rule (host, path) and
 * status class: counts, bytes, mean latency, p50/p99 from the histogram's buckets. Read in the
 * tenant's transaction: row-level security shows a tenant its own Ingresses' rows only.
 */
export async function ingressStats(
  deps: Deps,
  caller: UserCaller,
  input: z.output<typeof ingressStatsInput>,
) {
  return withTenant(deps.db, caller.tenantId, async (tx) => {
    await loadCluster(tx, input.clusterId);
    const [o] = await tx
      .select({ id: objects.id })
      .from(objects)
      .where(
        and(
          eq(objects.clusterId, input.clusterId),
          eq(objects.kind, "Ingress"),
          eq(objects.namespace, input.namespace),
          eq(objects.name, input.name),
        ),
      );
    if (!o) throw new BerthError("NOT_FOUND", notFoundMessage("Ingress", input.name));
    const now = deps.now().getTime();
    const from = new Date(Math.floor(now / 60_000) * 60_000 - (input.minutes - 1) * 60_000);
    const rows = await tx
      .select()
      .from(ingressRouteStats)
      .where(and(eq(ingressRouteStats.objectId, o.id), gte(ingressRouteStats.minute, from)))
      .orderBy(ingressRouteStats.host, ingressRouteStats.path, ingressRouteStats.statusClass);
    const sums = new Map<
      string,
      {
        host: string;
        path: string;
        statusClass: StatusClass;
        requests: number;
        bytes: number;
        durationMsSum: number;
        buckets: number[];
      }
    >();
    for (const r of rows) {
      const key = `${r.host}\0${r.path}\0${r.statusClass}`;
      const s = sums.get(key) ?? {
        host: r.host,
        path: r.path,
        statusClass: r.statusClass,
        requests: 0,
        bytes: 0,
        durationMsSum: 0,
        buckets: [],
      };
      s.requests += r.requests;
      s.bytes += r.bytes;
      s.durationMsSum += r.durationMsSum;
      r.latencyBuckets.forEach((n, i) => {
        s.buckets[i] = (s.buckets[i] ?? 0) + n;
      });
      sums.set(key, s);
    }
    return {
      ingress: input.name,
      namespace: input.namespace,
      from: from.toISOString(),
      routes: [...sums.values()].map((r) => {
        const { requests, buckets } = r;
        return {
          host: r.host,
          path: r.path,
          statusClass: r.statusClass,
          requests,
          bytes: r.bytes,
          meanMs: requests > 0 ? Math.round((r.durationMsSum / requests) * 1000) / 1000 : 0,
          p50Ms: quantile(buckets, requests, 0.5),
          p99Ms: quantile(buckets, requests, 0.99),
          latencyBuckets: buckets.map((n, i) => ({
            leMs: INGRESS_LATENCY_BUCKETS_MS[i] ?? null,
            requests: n,
          })),
        };
      }),
    };
  });
}
