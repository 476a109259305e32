import { type Db, INGRESS_LATENCY_BUCKETS_MS, ingressRouteStats, objects, withSystem } from "@berth/db";
import { inArray, sql } from "drizzle-orm";
import type { Backend } from "./routes";

type StatusClass = "1xx" | "2xx" | "3xx" | "4xx" | "5xx";

interface Cell {
  tenantId: string;
  clusterId: string;
  objectId: string;
  host: string;
  path: string;
  statusClass: StatusClass;
  minute: Date;
  requests: number;
  bytes: number;
  durationMsSum: number;
  buckets: number[];
}

export const statusClassOf = (status: number): StatusClass =>
  `${Math.min(5, Math.max(1, Math.floor(status / 100)))}xx` as StatusClass;

/** The bucket of a latency: the first bound it does not exceed, else the last (overflow) bucket. */
export function bucketOf(ms: number): number {
  const i = INGRESS_LATENCY_BUCKETS_MS.findIndex((b) => ms <= b);
  return i < 0 ? INGRESS_LATENCY_BUCKETS_MS.length : i;
}

/**
 * Per-route request counts and latency histograms, added up in memory per minute and added to
 * `ingress_route_stats` every flush (a row per Ingress, rule host, rule path, status class and
 * minute; `requests = requests + …`, so gateways add to the same rows).
 */
export class RouteStats {
  private cells = new Map<string, Cell>();

  record(b: Backend, status: number, bytes: number, durationMs: number, now: Date): void {
    const minute = new Date(Math.floor(now.getTime() / 60_000) * 60_000);
    const statusClass = statusClassOf(status);
    const key = `${b.ingressUid}\0${b.ruleHost}\0${b.rulePath}\0${statusClass}\0${minute.getTime()}`;
    let c = this.cells.get(key);
    if (!c) {
      c = {
        tenantId: b.tenantId,
        clusterId: b.clusterId,
        objectId: b.ingressUid,
        host: b.ruleHost,
        path: b.rulePath,
        statusClass,
        minute,
        requests: 0,
        bytes: 0,
        durationMsSum: 0,
        buckets: new Array(INGRESS_LATENCY_BUCKETS_MS.length + 1).fill(0),
      };
      this.cells.set(key, c);
    }
    c.requests++;
    c.bytes += bytes;
    c.durationMsSum += durationMs;
    c.buckets[bucketOf(durationMs)] = (c.buckets[bucketOf(durationMs)] ?? 0) + 1;
  }

  /** Adds what was counted since the last flush to the database; kept for the next flush if that fails. */
  async flush(db: Db): Promise<void> {
    if (this.cells.size === 0) return;
    const cells = [...this.cells.values()];
    this.cells = new Map();
    try {
      await withSystem(db, async (tx) => {
        // Rows of an Ingress deleted since the requests went with it: so do these.
        const ids = [...new Set(cells.map((c) => c.objectId))];
        const live = new Set(
          (await tx.select({ id: objects.id }).from(objects).where(inArray(objects.id, ids))).map(
            (r) => r.id,
          ),
        );
        const kept = cells.filter((c) => live.has(c.objectId));
        if (kept.length === 0) return;
        await tx
          .insert(ingressRouteStats)
          .values(
            kept.map((c) => ({
              tenantId: c.tenantId,
              clusterId: c.clusterId,
              objectId: c.objectId,
              host: c.host,
              path: c.path,
              statusClass: c.statusClass,
              minute: c.minute,
              requests: c.requests,
              bytes: c.bytes,
              durationMsSum: Math.round(c.durationMsSum),
              latencyBuckets: c.buckets,
            })),
          )
          .onConflictDoUpdate({
            target: [
              ingressRouteStats.objectId,
              ingressRouteStats.host,
              ingressRouteStats.path,
              ingressRouteStats.statusClass,
              ingressRouteStats.minute,
            ],
            set: {
              requests: sql`${ingressRouteStats.requests} + excluded.requests`,
              bytes: sql`${ingressRouteStats.bytes} + excluded.bytes`,
              durationMsSum: sql`${ingressRouteStats.durationMsSum} + excluded.duration_ms_sum`,
              latencyBuckets: sql`array(select a + b from unnest(${ingressRouteStats.latencyBuckets}, excluded.latency_buckets) as t(a, b))`,
            },
          });
      });
    } catch (error) {
      for (const c of cells) {
        const key = `${c.objectId}\0${c.host}\0${c.path}\0${c.statusClass}\0${c.minute.getTime()}`;
        if (!this.cells.has(key)) this.cells.set(key, c);
      }
      throw error;
    }
  }
}
