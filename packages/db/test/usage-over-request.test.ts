import { DEFAULT_PRICE_BOOK_DOCUMENT, newId, priceMonth } from "@berth/core";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  clusters,
  deriveOverRequestEvents,
  deriveUsageEvents,
  meterIntervals,
  metricRollups,
  monthCells,
  podMetrics,
  rollupAll,
  tenants,
  withSystem,
} from "../src";

import { createTestDatabase, systemRows, type TestDatabase } from "../src/testing";

/**
 * Usage over requests: per pod and closed hour, what the pod used beyond what it requested, from
 * the metrics' hourly tier and the request events; billed at its base meter's price, sharing its
 * allowance, only under the price book's greater-of basis.
 */
let t: TestDatabase;
const tenantId = newId("tenant");
const clusterId = newId("cluster");
const now = new Date("2026-11-20T10:17:00Z");
const nine = new Date("2026-11-20T09:00:00Z");
const MiB = 1024 ** 2;
const HOUR_S = 3600;

beforeAll(async () => {
  t = await createTestDatabase();
  await withSystem(t.db, async (tx) => {
    await tx.insert(tenants).values({ id: tenantId, name: "over", costAllocationLabelKeys: ["team"] });
    await tx.insert(clusters).values({ id: clusterId, tenantId, name: "c" });
    // Pod a asks for 500m and 256 MiB, pod b for 1000m and 256 MiB, for the whole 09:00 hour.
    for (const [pod, cpu] of [
      ["pod_a", 500n],
      ["pod_b", 1000n],
    ] as const)
      await tx.insert(meterIntervals).values([
        { ...interval(pod), meter: "pod_vcpu_seconds", rate: cpu },
        { ...interval(pod), meter: "pod_memory_gib_seconds", rate: BigInt(256 * MiB) },
      ]);
    // Measured in that hour: a used 800m and 100 MiB, b 200m and 512 MiB.
    await tx
      .insert(podMetrics)
      .values([measured("pod_a", 800, 100 * MiB), measured("pod_b", 200, 512 * MiB)]);
    await tx.insert(metricRollups).values({ resolution: 3600, doneUntil: new Date("2026-11-20T10:00:00Z") });
  });
});
afterAll(() => t.drop());

function interval(pod: string) {
  return {
    id: newId("meter"),
    tenantId,
    clusterId,
    namespace: "web",
    subjectId: pod,
    labels: { team: "red" },
    startedAt: nine,
    endedAt: new Date("2026-11-20T10:00:00Z"),
  };
}

function measured(pod: string, millicores: number, bytes: number) {
  return {
    tenantId,
    clusterId,
    podId: pod,
    ownerId: "dep_1",
    resolution: 3600,
    ts: nine,
    windowMs: HOUR_S * 1000,
    cpuNanos: BigInt(millicores) * 1_000_000n * BigInt(HOUR_S),
    memoryBytes: bytes,
    memoryByteSeconds: BigInt(bytes) * BigInt(HOUR_S),
    rxBytes: 0,
    txBytes: 0,
    restarts: 0,
  };
}

describe("usage over requests", () => {
  it("is what each pod used beyond its request, per hour, once", async () => {
    await deriveUsageEvents(t.db, now, { lookbackHours: 4 });
    const first = await deriveOverRequestEvents(t.db, now);
    expect(first?.inserted).toBe(2);
    const rows = await systemRows(
      t.db,
      sql`select subject_id, meter, raw::text, namespace, labels from usage_events where meter like '%over_request' order by meter`,
    );
    expect(rows).toEqual([
      {
        subject_id: "pod_b",
        meter: "pod_memory_gib_seconds_over_request",
        // (512 − 256) MiB for 3,600 s, in ms × bytes
        raw: String(256n * BigInt(MiB) * 3_600_000n),
        namespace: "web",
        labels: { team: "red" },
      },
      {
        subject_id: "pod_a",
        meter: "pod_vcpu_seconds_over_request",
        // (800 − 500) millicores for 3,600,000 ms
        raw: String(300n * 3_600_000n),
        namespace: "web",
        labels: { team: "red" },
      },
    ]);
    expect((await deriveOverRequestEvents(t.db, now))?.inserted).toBe(0);
    expect((await deriveOverRequestEvents(t.db, new Date(now.getTime() + 7_200_000)))?.inserted).toBe(0);
  });

  it("is billed as the larger of requests and usage under the greater-of basis, and free under requests", async () => {
    await rollupAll(t.db);
    const cells = await withSystem(t.db, (tx) =>
      monthCells(tx, tenantId, new Date("2026-11-01T00:00:00Z"), new Date("2026-12-01T00:00:00Z")),
    );
    const cpu = (basis?: "greater-of-requests-and-usage") =>
      priceMonth({ ...DEFAULT_PRICE_BOOK_DOCUMENT, ...(basis ? { podUsageBasis: basis } : {}) }, cells)
        .filter((l) => l.meter.startsWith("pod_vcpu"))
        .map((l) => [l.meter, l.amountMicro]);
    // $0.000011244 per vCPU-second: requested 5,400 vCPU-s = 60,717.6 µ$; over 1,080 vCPU-s = 12,143.52 µ$.
    expect(cpu()).toEqual([
      ["pod_vcpu_seconds", 60_718n],
      ["pod_vcpu_seconds_over_request", 0n],
    ]);
    expect(cpu("greater-of-requests-and-usage")).toEqual([
      ["pod_vcpu_seconds", 60_718n],
      ["pod_vcpu_seconds_over_request", 12_144n],
    ]);
  });

  it("shares its base meter's free allowance, counted after the requests", () => {
    const book = {
      currency: "USD",
      podUsageBasis: "greater-of-requests-and-usage" as const,
      prices: {
        pod_vcpu_seconds: { unitPrice: "0.01", tierMode: "graduated" as const, freeUnitsPerMonth: 2000 },
      },
    };
    const lines = priceMonth(book, [
      { clusterId: "c1", meter: "pod_vcpu_seconds", raw: 1500n * 1_000_000n },
      { clusterId: "c1", meter: "pod_vcpu_seconds_over_request", raw: 1000n * 1_000_000n },
    ]);
    expect(lines.map((l) => [l.meter, l.amountMicro, l.unitPrice])).toEqual([
      ["pod_vcpu_seconds", 0n, "0.01"],
      ["pod_vcpu_seconds_over_request", 5_000_000n, "0.01"], // 500 billable units at $0.01
    ]);
  });
});
