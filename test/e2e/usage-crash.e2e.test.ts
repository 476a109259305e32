import { newId } from "@berth/core";
import { clusters, ingestUsageEvents, rollupAll, tenants, withSystem } from "@berth/db";
import {
  createTestDatabase,
  generateWorkload,
  groundTruth,
  systemRows,
  type TestDatabase,
} from "@berth/db/testing";
import { ROLLUP_CRASH_POINTS } from "@berth/provisioner/crashpoints";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundled, type Proc, start } from "./support";

/**
 * kill -9 of the rollup worker mid-batch, 20 times: 10 times at the crash point inside a batch's
 * transaction (its hours' rollups replaced, not committed), 10 times by a SIGKILL from here at a
 * random moment of a full recompute (every hour marked stale first); more events (new and replayed) arrive between the kills. Then one
 * worker runs to the end: the rolled-up totals equal the ground truth summed in JS, exactly.
 */
let t: TestDatabase;
const tenantIds = [newId("tenant"), newId("tenant")];
const clusterIds: Record<string, string[]> = {};
const now = new Date();
const children: Proc[] = [];

let childBundle: string;
beforeAll(async () => {
  childBundle = await bundled("test/e2e/usage-rollup-child.ts");
  t = await createTestDatabase();
  await withSystem(t.db, async (tx) => {
    for (const [i, id] of tenantIds.entries()) {
      await tx
        .insert(tenants)
        .values({ id, name: `crash-usage-${i}`, costAllocationLabelKeys: ["team", "env"] });
      clusterIds[id] = [newId("cluster"), newId("cluster"), newId("cluster")];
      for (const [j, c] of (clusterIds[id] ?? []).entries())
        await tx.insert(clusters).values({ id: c, tenantId: id, name: `c${j}` });
    }
  });
}, 30_000);
afterAll(async () => {
  for (const c of children)
    if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill("SIGKILL");
  await t.drop();
});

function rollupWorker(crashAt?: string): Proc {
  // One node process (no tsx wrapper, bundled), so that its SIGKILL is what the test observes.
  const p = start(process.execPath, [childBundle], {
    DATABASE_URL: t.url,
    DATABASE_SYSTEM_URL: t.systemUrl,
    ...(crashAt ? { BERTH_CRASH_AT: crashAt } : {}),
  });
  children.push(p);
  return p;
}

describe("the rollup worker killed mid-batch", () => {
  it("leaves the billed totals exactly as the ground truth after 20 kills", async () => {
    const w = generateWorkload({
      tenants: tenantIds,
      clustersPerTenant: clusterIds,
      distinct: 20_000,
      replayedShare: 0.3,
      lateShare: 0.1,
      now,
      batchSize: 1_000,
      seed: 7,
    });
    const batches = [...w.batches];
    const feed = async (n: number) => {
      for (const b of batches.splice(0, n)) await ingestUsageEvents(t.db, b, now);
    };
    await feed(Math.ceil(batches.length / 2));
    let crashed = 0;
    for (let i = 0; i < 20; i++) {
      const atPoint = i % 2 === 0;
      // Every hour is stale again (as late events for all of them would make it): the worker has a
      // whole recompute to do, long enough that the kill lands in the middle of it.
      if (!atPoint)
        await systemRows(
          t.db,
          sql`insert into usage_dirty_hours (tenant_id, hour) select distinct tenant_id, hour from usage_events on conflict do nothing`,
        );
      const p = rollupWorker(atPoint ? ROLLUP_CRASH_POINTS[0] : undefined);
      if (!atPoint) {
        await p.waitForOutput(/started/, 20_000);
        await new Promise((r) => setTimeout(r, 20 + Math.floor(Math.random() * 150)));
        p.child.kill("SIGKILL");
      }
      await p.exited;
      if (p.child.signalCode === "SIGKILL") crashed++;
      await feed(2);
    }
    await feed(batches.length);
    expect(crashed).toBeGreaterThanOrEqual(15);
    const last = rollupWorker();
    await last.waitForOutput(/done/, 60_000);
    await rollupAll(t.db);
    const rows = await systemRows(
      t.db,
      sql`select tenant_id, cluster_id, meter, sum(raw)::text as raw from usage_hourly group by 1, 2, 3`,
    );
    const totals = new Map(
      rows.map((r) => [`${r.tenant_id}|${r.cluster_id}|${r.meter}`, BigInt(String(r.raw))]),
    );
    expect(totals).toEqual(groundTruth(w.distinct));
    const [left] = await systemRows(t.db, sql`select count(*)::int as n from usage_dirty_hours`);
    expect(left?.n).toBe(0);
  }, 180_000);
});
