/**
 * Usage-event ingestion throughput, exact: `--events` distinct events (default 1,000,000) over 3
 * tenants × 3 clusters, delivered with 30 % replayed and 10 % late, in batches of `--batch`
 * (10,000) by `--writers` concurrent writers (2, one a core), into a fresh database. Prints events/s
 * (delivered events, replays included, committed into Postgres), then rolls everything up and
 * checks the rolled-up totals against the ground truth summed here in JS, to the raw unit.
 * Run: `npm run bench -w @berth/db [-- --events 200000]` (needs the env of `infra/services.sh env`).
 */
import { newId } from "@berth/core";
import { sql } from "drizzle-orm";
import { clusters, ingestUsageEvents, rollupAll, tenants, withSystem } from "../src";
import {
  createTestDatabase,
  ensureTemplate,
  generateWorkload,
  groundTruth,
  systemRows,
} from "../src/testing";

const args = process.argv.slice(2);
const flag = (name: string, fallback: number) => {
  const at = args.indexOf(name);
  return at >= 0 ? Number(args[at + 1]) : fallback;
};
const EVENTS = flag("--events", 1_000_000);
const BATCH = flag("--batch", 10_000);
const WRITERS = flag("--writers", 2);

await ensureTemplate();
const t = await createTestDatabase({ poolSize: WRITERS + 2 });
try {
  const tenantIds = [newId("tenant"), newId("tenant"), newId("tenant")];
  const clusterIds: Record<string, string[]> = {};
  await withSystem(t.db, async (tx) => {
    for (const [i, id] of tenantIds.entries()) {
      await tx.insert(tenants).values({ id, name: `bench-${i}`, costAllocationLabelKeys: ["team"] });
      clusterIds[id] = [newId("cluster"), newId("cluster"), newId("cluster")];
      for (const [j, c] of (clusterIds[id] ?? []).entries())
        await tx.insert(clusters).values({ id: c, tenantId: id, name: `c${j}` });
    }
  });
  const now = new Date();
  const w = generateWorkload({
    tenants: tenantIds,
    clustersPerTenant: clusterIds,
    distinct: EVENTS,
    replayedShare: 0.3,
    lateShare: 0.1,
    now,
    batchSize: BATCH,
  });
  const queue = [...w.batches];
  let inserted = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: WRITERS }, async () => {
      for (let b = queue.shift(); b; b = queue.shift()) {
        const r = await ingestUsageEvents(t.db, b, now);
        inserted += r.inserted;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const rollStarted = performance.now();
  const hours = await rollupAll(t.db, 200);
  const rollSeconds = (performance.now() - rollStarted) / 1000;
  const rows = await systemRows(
    t.db,
    sql`select tenant_id, cluster_id, meter, sum(raw)::text as raw from usage_hourly group by 1, 2, 3`,
  );
  const truth = groundTruth(w.distinct);
  const mismatches = rows.filter(
    (r) => truth.get(`${r.tenant_id}|${r.cluster_id}|${r.meter}`) !== BigInt(String(r.raw)),
  ).length;
  const exact = mismatches === 0 && rows.length === truth.size && inserted === w.distinct.length;
  console.log(
    JSON.stringify({
      delivered: w.delivered,
      distinct: w.distinct.length,
      inserted,
      ingestSeconds: Number(seconds.toFixed(2)),
      eventsPerSecond: Math.round(w.delivered / seconds),
      rollupHours: hours,
      rollupSeconds: Number(rollSeconds.toFixed(2)),
      exact,
    }),
  );
  if (!exact) process.exitCode = 1;
} finally {
  await t.drop();
}
