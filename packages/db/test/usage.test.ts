import { newId } from "@berth/core";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  clusters,
  deriveUsageEvents,
  HOUR_MS,
  ingestUsageEvents,
  meterIntervals,
  rollupAll,
  tenants,
  withSystem,
  withTenant,
} from "../src";
import {
  createTestDatabase,
  generateWorkload,
  groundTruth,
  systemRows,
  type TestDatabase,
} from "../src/testing";

let t: TestDatabase;
const tenantIds = [newId("tenant"), newId("tenant"), newId("tenant")];
const clusterIds: Record<string, string[]> = {};
const now = new Date("2026-11-20T10:17:00Z");

beforeAll(async () => {
  t = await createTestDatabase();
  await withSystem(t.db, async (tx) => {
    for (const [i, id] of tenantIds.entries()) {
      await tx.insert(tenants).values({ id, name: `usage-${i}`, costAllocationLabelKeys: ["team"] });
      clusterIds[id] = [newId("cluster"), newId("cluster"), newId("cluster")];
      for (const [j, c] of (clusterIds[id] ?? []).entries())
        await tx.insert(clusters).values({ id: c, tenantId: id, name: `c${j}` });
    }
  });
});
afterAll(() => t.drop());

async function rolledUp(): Promise<Map<string, bigint>> {
  const rows = await systemRows(
    t.db,
    sql`select tenant_id, cluster_id, meter, sum(raw)::text as raw from usage_hourly group by 1, 2, 3`,
  );
  return new Map(rows.map((r) => [`${r.tenant_id}|${r.cluster_id}|${r.meter}`, BigInt(String(r.raw))]));
}

describe("usage events", () => {
  it("bills a workload with 30 % replays and 10 % late events exactly as its ground truth", async () => {
    const w = generateWorkload({
      tenants: tenantIds,
      clustersPerTenant: clusterIds,
      distinct: 40_000,
      replayedShare: 0.3,
      lateShare: 0.1,
      now,
      batchSize: 5_000,
    });
    let inserted = 0;
    let duplicates = 0;
    for (const [i, batch] of w.batches.entries()) {
      const r = await ingestUsageEvents(t.db, batch, now);
      inserted += r.inserted;
      duplicates += r.duplicates;
      expect(r.refused).toBe(0);
      // Roll up now and then while events still arrive, as the job scheduler would.
      if (i % 3 === 0) await rollupAll(t.db);
    }
    await rollupAll(t.db);
    expect(inserted).toBe(w.distinct.length);
    expect(duplicates).toBe(w.delivered - w.distinct.length);
    expect(await rolledUp()).toEqual(groundTruth(w.distinct));

    // Ingesting everything again and rolling up again changes nothing.
    for (const batch of w.batches) expect((await ingestUsageEvents(t.db, batch, now)).inserted).toBe(0);
    await rollupAll(t.db);
    expect(await rolledUp()).toEqual(groundTruth(w.distinct));

    // Rolled up by the tenant's allocation label only ("env" is not one of its keys).
    const [labels] = await systemRows(
      t.db,
      sql`select count(distinct labels_key)::int as n, bool_or(labels ? 'env') as env from usage_hourly`,
    );
    expect(labels).toEqual({ n: 3, env: false });
  }, 60_000);

  it("refuses events older than 35 days and of hours not yet begun", async () => {
    const base = {
      tenantId: tenantIds[0] as string,
      clusterId: clusterIds[tenantIds[0] as string]?.[0] as string,
      namespace: "",
      meter: "cluster_hours",
      subjectId: "x",
      raw: 1n,
      labels: {},
    };
    const r = await ingestUsageEvents(
      t.db,
      [
        {
          ...base,
          id: "ue_too_old",
          hour: new Date(now.getTime() - 36 * 86_400_000 - (now.getTime() % HOUR_MS)),
        },
        { ...base, id: "ue_future", hour: new Date(now.getTime() + HOUR_MS - (now.getTime() % HOUR_MS)) },
      ],
      now,
    );
    expect(r).toEqual({ inserted: 0, duplicates: 0, refused: 2 });
  });

  it("keeps each tenant's events and rollups to itself", async () => {
    const [a] = tenantIds as [string];
    const seen = await withTenant(t.db, a, (tx) =>
      tx.execute<{ n: number }>(sql`select count(distinct tenant_id)::int as n from usage_hourly`),
    );
    expect(seen[0]?.n).toBe(1);
    const events = await withTenant(t.db, a, (tx) =>
      tx.execute<{ n: number }>(sql`select count(*)::int as n from usage_events where tenant_id <> ${a}`),
    );
    expect(events[0]?.n).toBe(0);
  });

  it("lets a tenant read price books but write none, and hides the jobs' watermarks", async () => {
    const [a] = tenantIds as [string];
    const error = await withTenant(t.db, a, (tx) =>
      tx.execute(sql`insert into price_books (id, tenant_id, document) values ('pb_x', ${a}, '{}')`),
    ).catch((e: unknown) => e as Error);
    expect(String((error as Error).cause)).toMatch(/row-level security/);
    await withSystem(t.db, (tx) => tx.execute(sql`insert into usage_watermarks values ('x', now())`));
    const marks = await withTenant(t.db, a, (tx) => tx.execute(sql`select * from usage_watermarks`));
    expect(marks.length).toBe(0);
  });
});

describe("deriving events from meter intervals", () => {
  it("yields one event per interval and closed hour, the same ids on every run, and EC2's 60 s minimum", async () => {
    const tenantId = newId("tenant");
    const clusterId = newId("cluster");
    const at = (s: string) => new Date(`2026-11-20T${s}Z`);
    await withSystem(t.db, async (tx) => {
      await tx.insert(tenants).values({ id: tenantId, name: "derive", costAllocationLabelKeys: ["team"] });
      await tx.insert(clusters).values({ id: clusterId, tenantId, name: "d" });
      await tx.insert(meterIntervals).values([
        // 07:30 → 09:15 at rate 1: 30 min, 60 min, 15 min.
        {
          id: "mtr_a",
          tenantId,
          clusterId,
          meter: "cluster_hours",
          subjectId: "c",
          rate: 1n,
          startedAt: at("07:30:00"),
          endedAt: at("09:15:00"),
        },
        // A node that lived 20 s: billed 60 s.
        {
          id: "mtr_b",
          tenantId,
          clusterId,
          meter: "node_hours",
          subjectId: "n",
          rate: 1n,
          startedAt: at("08:59:50"),
          endedAt: at("09:00:10"),
        },
        // A pod still running, 500 millicores, with its labels.
        {
          id: "mtr_c",
          tenantId,
          clusterId,
          meter: "pod_vcpu_seconds",
          subjectId: "p",
          rate: 500n,
          startedAt: at("09:45:00"),
          namespace: "web",
          labels: { team: "red", app: "x" },
        },
      ]);
    });
    const first = await deriveUsageEvents(t.db, now, { lookbackHours: 4 });
    expect(first.to).toEqual(at("10:00:00"));
    const rows = await systemRows(
      t.db,
      sql`select meter, hour, raw::text, namespace from usage_events where tenant_id = ${tenantId} order by meter, hour, raw`,
    );
    expect(
      rows.map((r) => [r.meter, new Date(String(r.hour)).toISOString().slice(11, 16), r.raw, r.namespace]),
    ).toEqual([
      ["cluster_hours", "07:00", String(30 * 60_000), ""],
      ["cluster_hours", "08:00", String(60 * 60_000), ""],
      ["cluster_hours", "09:00", String(15 * 60_000), ""],
      ["node_hours", "08:00", "10000", ""],
      ["node_hours", "08:00", "40000", ""],
      ["node_hours", "09:00", "10000", ""],
      ["pod_vcpu_seconds", "09:00", String(15 * 60_000 * 500), "web"],
    ]);
    // Again, and an hour later with a longer look-back: nothing twice.
    expect((await deriveUsageEvents(t.db, now, { lookbackHours: 4 })).inserted).toBe(0);
    const later = await deriveUsageEvents(t.db, new Date(now.getTime() + HOUR_MS), { lookbackHours: 6 });
    expect(later.inserted).toBe(1); // the pod's 10:00 hour
    await rollupAll(t.db);
    const rolled = await systemRows(
      t.db,
      sql`select namespace, labels_key, raw::text from usage_hourly where tenant_id = ${tenantId} and meter = 'pod_vcpu_seconds' order by hour`,
    );
    expect(rolled).toEqual([
      { namespace: "web", labels_key: '{"team": "red"}', raw: String(15 * 60_000 * 500) },
      { namespace: "web", labels_key: '{"team": "red"}', raw: String(60 * 60_000 * 500) },
    ]);
  });
});
