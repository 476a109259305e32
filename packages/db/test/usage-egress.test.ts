import { DEFAULT_PRICE_BOOK_DOCUMENT, newId, priceMonth } from "@berth/core";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  clusters,
  deriveEgressEvents,
  INGRESS_LATENCY_BUCKETS_MS,
  ingressRouteStats,
  monthCells,
  objects,
  rollupAll,
  tenants,
  withSystem,
} from "../src";
import { createTestDatabase, type TestDatabase } from "../src/testing";

/**
 * Egress through the ingress gateway: the bytes of an Ingress's route stats per settled hour
 * become one `egress_bytes` event, priced per GiB.
 */
let t: TestDatabase;
const tenantId = newId("tenant");
const clusterId = newId("cluster");
const ingressId = newId("object");
const GiB = 1024 ** 3;

const stats = (minute: string, bytes: number, path = "/") => ({
  tenantId,
  clusterId,
  objectId: ingressId,
  host: "shop.example.com",
  path,
  statusClass: "2xx" as const,
  minute: new Date(minute),
  requests: 10,
  bytes,
  durationMsSum: 20,
  latencyBuckets: new Array(INGRESS_LATENCY_BUCKETS_MS.length + 1).fill(0),
});

beforeAll(async () => {
  t = await createTestDatabase();
  await withSystem(t.db, async (tx) => {
    await tx.insert(tenants).values({ id: tenantId, name: "egress" });
    await tx.insert(clusters).values({ id: clusterId, tenantId, name: "c" });
    await tx.insert(objects).values({
      id: ingressId,
      tenantId,
      clusterId,
      kind: "Ingress",
      namespace: "web",
      name: "shop",
      labels: { team: "red" },
    });
    await tx
      .insert(ingressRouteStats)
      .values([
        stats("2026-11-20T09:00:00Z", GiB),
        stats("2026-11-20T09:59:00Z", GiB, "/api"),
        stats("2026-11-20T10:00:00Z", 5),
        stats("2026-11-20T10:01:00Z", 7),
      ]);
  });
});
afterAll(() => t.drop());

const events = () =>
  withSystem(t.db, (tx) =>
    tx.execute<{ meter: string; subject_id: string; hour: string; raw: string; namespace: string }>(
      sql`select meter, subject_id, hour::text, raw::text, namespace from usage_events order by hour`,
    ),
  );

describe("egress_bytes", () => {
  it("is one event per Ingress and settled hour, the sum of its rules' bytes; the open hour waits", async () => {
    // 10:01: the 09:00 hour ended a minute ago, not yet settled (the gateway may still flush).
    expect((await deriveEgressEvents(t.db, new Date("2026-11-20T10:01:00Z"))).inserted).toBe(0);
    expect((await deriveEgressEvents(t.db, new Date("2026-11-20T10:17:00Z"))).inserted).toBe(1);
    expect([...(await events())]).toEqual([
      {
        meter: "egress_bytes",
        subject_id: ingressId,
        hour: "2026-11-20 09:00:00+00",
        raw: String(2 * GiB),
        namespace: "web",
      },
    ]);
    // Again, and an hour on: the 09:00 event is not written twice; 10:00 is.
    expect((await deriveEgressEvents(t.db, new Date("2026-11-20T10:17:00Z"))).inserted).toBe(0);
    expect((await deriveEgressEvents(t.db, new Date("2026-11-20T11:05:00Z"))).inserted).toBe(1);
    expect((await events()).map((e) => e.raw)).toEqual([String(2 * GiB), "12"]);
  });

  it("is priced per GiB ($0.09 in the default price book)", async () => {
    await rollupAll(t.db);
    const cells = await withSystem(t.db, (tx) =>
      monthCells(tx, tenantId, new Date("2026-11-01T00:00:00Z"), new Date("2026-12-01T00:00:00Z")),
    );
    const lines = priceMonth(DEFAULT_PRICE_BOOK_DOCUMENT, cells).filter((l) => l.meter === "egress_bytes");
    // 2 GiB + 12 bytes at $0.09/GiB = 180,000 µ$ (the 12 bytes round away).
    expect(lines.map((l) => l.amountMicro)).toEqual([180_000n]);
  });
});
