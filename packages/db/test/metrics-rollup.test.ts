import { newId } from "@berth/core";
import { and, asc, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  clusters,
  metricRollups,
  nodeMetrics,
  podMetrics,
  readMeasuredUsage,
  rollupMetrics,
  tenants,
  withSystem,
  withTenant,
} from "../src";
import { createTestDatabase, type TestDatabase } from "../src/testing";

let t: TestDatabase;
const tenantA = newId("tenant");
const tenantB = newId("tenant");
const clusterA = newId("cluster");
const clusterB = newId("cluster");
const T0 = Date.parse("2026-01-01T10:00:00.000Z");
const MIB = 1024 * 1024;

beforeAll(async () => {
  t = await createTestDatabase();
  await withSystem(t.db, async (tx) => {
    await tx.insert(tenants).values([
      { id: tenantA, name: "metrics-a" },
      { id: tenantB, name: "metrics-b" },
    ]);
    await tx.insert(clusters).values([
      { id: clusterA, tenantId: tenantA, name: "a" },
      { id: clusterB, tenantId: tenantB, name: "b" },
    ]);
  });
});
afterAll(() => t.drop());

/** Raw samples of one pod every 10 s from `from` (exclusive) to `to` (inclusive): 500 m of CPU, 100 MiB. */
async function rawSamples(
  podId: string,
  fromMs: number,
  toMs: number,
  tenantId = tenantA,
  clusterId = clusterA,
) {
  const rows: (typeof podMetrics.$inferInsert)[] = [];
  for (let at = fromMs + 10_000; at <= toMs; at += 10_000)
    rows.push({
      tenantId,
      clusterId,
      podId,
      ownerId: "dep_1",
      resolution: 0,
      ts: new Date(at),
      windowMs: 10_000,
      cpuNanos: 5_000_000_000n,
      memoryBytes: 100 * MIB,
      memoryByteSeconds: BigInt(100 * MIB * 10),
      rxBytes: 1_000,
      txBytes: 10,
      restarts: 0,
    });
  await withTenant(t.db, tenantId, async (tx) => {
    for (let i = 0; i < rows.length; i += 500) await tx.insert(podMetrics).values(rows.slice(i, i + 500));
  });
}

const tier = (podId: string, resolution: number) =>
  withSystem(t.db, (tx) =>
    tx
      .select()
      .from(podMetrics)
      .where(and(eq(podMetrics.podId, podId), eq(podMetrics.resolution, resolution)))
      .orderBy(asc(podMetrics.ts)),
  );

describe("metrics rollups and retention", () => {
  it("rolls 10 s samples into minutes and minutes into hours, each sample in the bucket its window ends in", async () => {
    await rawSamples("pod_one", T0, T0 + 90 * 60_000);
    const result = await rollupMetrics(t.db, new Date(T0 + 90 * 60_000 + 45_000), { lateMs: 30_000 });
    const minutes = await tier("pod_one", 60);
    expect(minutes).toHaveLength(90);
    expect(minutes[0]).toMatchObject({
      ts: new Date(T0),
      windowMs: 60_000,
      cpuNanos: 30_000_000_000n,
      memoryBytes: 100 * MIB,
      memoryByteSeconds: BigInt(100 * MIB * 60),
      rxBytes: 6_000,
      ownerId: "dep_1",
    });
    const hours = await tier("pod_one", 3_600);
    // 11:00 is not complete: only 10:00 is rolled up.
    expect(hours.map((h) => [h.ts.toISOString(), h.cpuNanos, h.windowMs])).toEqual([
      ["2026-01-01T10:00:00.000Z", 1_800_000_000_000n, 3_600_000],
    ]);
    expect(result.rows[60]).toBeGreaterThanOrEqual(90);
  });

  it("is idempotent: running again changes nothing, and a late sample is taken into the last bucket", async () => {
    const now = new Date(T0 + 90 * 60_000 + 45_000);
    const before = await tier("pod_one", 60);
    await rollupMetrics(t.db, now, { lateMs: 30_000 });
    expect(await tier("pod_one", 60)).toEqual(before);
    // A sample of 11:29:55 arrives late (its agent resent its batch): the next run, a minute on, computes
    // the last minute again and takes it in.
    await withTenant(t.db, tenantA, (tx) =>
      tx.insert(podMetrics).values({
        tenantId: tenantA,
        clusterId: clusterA,
        podId: "pod_one",
        ownerId: "dep_1",
        resolution: 0,
        ts: new Date(T0 + 89 * 60_000 + 55_000),
        windowMs: 5_000,
        cpuNanos: 1n,
        memoryBytes: 200 * MIB,
        memoryByteSeconds: BigInt(200 * MIB * 5),
        rxBytes: 0,
        txBytes: 0,
        restarts: 1,
      }),
    );
    await rollupMetrics(t.db, new Date(now.getTime() + 60_000), { lateMs: 30_000 });
    const last = (await tier("pod_one", 60)).at(-1);
    expect(last).toMatchObject({
      cpuNanos: 30_000_000_001n,
      windowMs: 65_000,
      memoryBytes: 200 * MIB,
      restarts: 1,
    });
  });

  it("keeps raw samples past their hour while the minutes have not taken them in", async () => {
    const [mark] = await withSystem(t.db, (tx) =>
      tx.select().from(metricRollups).where(eq(metricRollups.resolution, 60)),
    );
    expect(mark?.doneUntil.getTime()).toBe(T0 + 91 * 60_000);
    await rawSamples("pod_fresh", T0 + 91 * 60_000, T0 + 96 * 60_000);
    // Two hours later, but with a lateness of three hours no minute after 11:31 is complete yet.
    await rollupMetrics(t.db, new Date(T0 + 215 * 60_000), { lateMs: 3 * 3_600_000 });
    expect(await tier("pod_fresh", 0)).toHaveLength(30);
    expect(await tier("pod_fresh", 60)).toHaveLength(0);
    // Once they are complete they are rolled up, and then pruned.
    await rollupMetrics(t.db, new Date(T0 + 215 * 60_000), { lateMs: 30_000 });
    expect(await tier("pod_fresh", 0)).toHaveLength(0);
    expect(await tier("pod_fresh", 60)).toHaveLength(5);
  });

  it("drops minutes after a day and hours after 35 days, never before the tier above has them", async () => {
    const day = 86_400_000;
    await rollupMetrics(t.db, new Date(T0 + day + 3 * 3_600_000), { lateMs: 30_000 });
    expect(await tier("pod_one", 0)).toHaveLength(0);
    // Minutes from before 13:00 the day before are past a day old; 10:00–11:00 of pod_one are gone.
    expect((await tier("pod_one", 60)).length).toBe(0);
    expect((await tier("pod_one", 3_600)).map((h) => h.ts.toISOString())).toEqual([
      "2026-01-01T10:00:00.000Z",
      "2026-01-01T11:00:00.000Z",
    ]);
    await rollupMetrics(t.db, new Date(T0 + 36 * day), { lateMs: 30_000 });
    expect(await tier("pod_one", 3_600)).toHaveLength(0);
  });

  it("rolls up nodes as it does pods", async () => {
    await withTenant(t.db, tenantB, (tx) =>
      tx.insert(nodeMetrics).values(
        [1, 2, 3, 4, 5, 6].map((i) => ({
          tenantId: tenantB,
          clusterId: clusterB,
          nodeId: "node_b",
          resolution: 0,
          ts: new Date(T0 + 40 * 86_400_000 + i * 10_000),
          windowMs: 10_000,
          cpuNanos: 20_000_000_000n,
          memoryBytes: i * MIB,
          memoryByteSeconds: BigInt(i * MIB * 10),
          rxBytes: 1,
          txBytes: 2,
        })),
      ),
    );
    await rollupMetrics(t.db, new Date(T0 + 40 * 86_400_000 + 120_000), { lateMs: 30_000 });
    const rows = await withSystem(t.db, (tx) =>
      tx.select().from(nodeMetrics).where(eq(nodeMetrics.resolution, 60)),
    );
    expect(rows).toEqual([
      expect.objectContaining({
        nodeId: "node_b",
        cpuNanos: 120_000_000_000n,
        memoryBytes: 6 * MIB,
        txBytes: 12,
      }),
    ]);
  });
});

describe("measured usage", () => {
  it("is exact integer cpu-nanoseconds and byte-seconds per pod per hour, and only the tenant's own", async () => {
    const t1 = T0 + 50 * 86_400_000;
    await rawSamples("pod_billed", t1, t1 + 2 * 3_600_000);
    await rawSamples("pod_other", t1, t1 + 2 * 3_600_000, tenantB, clusterB);
    await rollupMetrics(t.db, new Date(t1 + 2 * 3_600_000 + 120_000), { lateMs: 30_000 });
    const range = { from: new Date(t1), to: new Date(t1 + 2 * 3_600_000) };
    const usage = await withTenant(t.db, tenantA, (tx) => readMeasuredUsage(tx, range));
    expect(usage.map((u) => [u.podId, u.start, u.cpuNanoseconds, u.memoryByteSeconds, u.sampledMs])).toEqual([
      ["pod_billed", new Date(t1).toISOString(), 1_800_000_000_000n, BigInt(100 * MIB) * 3_600n, 3_600_000],
      [
        "pod_billed",
        new Date(t1 + 3_600_000).toISOString(),
        1_800_000_000_000n,
        BigInt(100 * MIB) * 3_600n,
        3_600_000,
      ],
    ]);
    const seenByB = await withTenant(t.db, tenantB, (tx) => readMeasuredUsage(tx, range));
    expect(seenByB.map((u) => u.podId)).toEqual(["pod_other", "pod_other"]);
    const direct = await withTenant(t.db, tenantB, (tx) =>
      tx.execute(sql`select count(*)::int as n from pod_metrics where pod_id = 'pod_billed'`),
    );
    expect([...direct]).toEqual([{ n: 0 }]);
  });
});
