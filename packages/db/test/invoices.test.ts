import { newId } from "@berth/core";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  clusters,
  computeInvoice,
  eraseClosedTenants,
  finalizeInvoices,
  HOUR_MS,
  ingestUsageEvents,
  rollupAll,
  tenants,
  type UsageEvent,
  withSystem,
  withTenant,
} from "../src";
import { createTestDatabase, systemRows, type TestDatabase } from "../src/testing";

let t: TestDatabase;
const tenantId = newId("tenant");
const cl = [newId("cluster"), newId("cluster"), newId("cluster")].sort();
const nov = new Date("2026-11-01T00:00:00Z");
const dec = new Date("2026-12-01T00:00:00Z");

beforeAll(async () => {
  t = await createTestDatabase();
  await withSystem(t.db, async (tx) => {
    await tx.insert(tenants).values({ id: tenantId, name: "invoiced" });
    for (const [i, c] of cl.entries()) await tx.insert(clusters).values({ id: c, tenantId, name: `c${i}` });
  });
});
afterAll(() => t.drop());

let seq = 0;
function event(clusterId: string, meter: string, hour: Date, raw: bigint): UsageEvent {
  seq++;
  return {
    id: `ue_inv_${seq}`,
    tenantId,
    clusterId,
    namespace: "",
    meter,
    subjectId: `s${seq}`,
    hour,
    raw,
    labels: {},
  };
}
const at = (d: Date, hours: number) => new Date(d.getTime() + hours * HOUR_MS);
/** $0.10 per cluster-hour in micro-dollars, from whole milliseconds: the ground truth's own arithmetic. */
const clusterMicro = (ms: bigint) => (ms * 100_000n + 1_800_000n) / 3_600_000n;

describe("invoices", () => {
  it("finalises a month an hour after it ends, numbered, with a line per cluster × meter, once", async () => {
    const events = [
      event(cl[0] as string, "cluster_hours", at(nov, 5), 3_600_000n),
      event(cl[0] as string, "cluster_hours", at(nov, 6), 1_800_000n),
      event(cl[1] as string, "cluster_hours", at(nov, 700), 3_600_000n),
      event(cl[2] as string, "node_hours", at(nov, 10), 7_200_000n),
    ];
    await ingestUsageEvents(t.db, events, at(dec, 0.5));
    await rollupAll(t.db);
    expect(await finalizeInvoices(t.db, at(dec, 0.9))).toEqual([]); // not yet an hour after
    const [id] = await finalizeInvoices(t.db, at(dec, 1.1));
    expect(await finalizeInvoices(t.db, at(dec, 2))).toEqual([]);
    const lines = await systemRows(
      t.db,
      sql`select kind, cluster_id, meter, raw::text, amount_micro::text from invoice_lines where invoice_id = ${id} order by line_no`,
    );
    expect(lines).toEqual([
      {
        kind: "usage",
        cluster_id: cl[0],
        meter: "cluster_hours",
        raw: "5400000",
        amount_micro: String(clusterMicro(5_400_000n)),
      },
      { kind: "usage", cluster_id: cl[1], meter: "cluster_hours", raw: "3600000", amount_micro: "100000" },
      { kind: "usage", cluster_id: cl[2], meter: "node_hours", raw: "7200000", amount_micro: "20000" },
    ]);
    const [inv] = await systemRows(
      t.db,
      sql`select number, total_micro::text as total from invoices where id = ${id}`,
    );
    expect(inv).toEqual({ number: 1, total: String(150_000n + 100_000n + 20_000n) });
  });

  it("refuses any change to a finalised invoice", async () => {
    const error = await withSystem(t.db, (tx) =>
      tx.execute(sql`update invoice_lines set amount_micro = 0`),
    ).catch((e: unknown) => e as Error);
    expect(String((error as Error).cause)).toMatch(/immutable/);
  });

  it("puts late usage of a finalised month on an adjustment line of the next invoice, so every month is billed its final usage", async () => {
    // An agent that was offline reports November usage in December.
    await ingestUsageEvents(
      t.db,
      [event(cl[1] as string, "cluster_hours", at(nov, 20), 900_000n)],
      at(dec, 100),
    );
    await rollupAll(t.db);
    await ingestUsageEvents(
      t.db,
      [event(cl[0] as string, "cluster_hours", at(dec, 3), 3_600_000n)],
      at(dec, 100),
    );
    await rollupAll(t.db);
    const draft = await withTenant(t.db, tenantId, (tx) => computeInvoice(tx, tenantId, dec));
    expect(draft.lines.map((l) => [l.kind, l.clusterId, l.raw, l.amountMicro])).toEqual([
      ["usage", cl[0], 3_600_000n, 100_000n],
      ["adjustment", cl[1], 900_000n, 25_000n],
    ]);
    const jan = new Date("2027-01-01T00:00:00Z");
    const [id] = await finalizeInvoices(t.db, at(jan, 2));
    const [inv] = await systemRows(
      t.db,
      sql`select number, total_micro::text as total from invoices where id = ${id}`,
    );
    expect(inv).toEqual({ number: 2, total: "125000" });
    // Billed over both invoices, for November: exactly what November's final usage costs.
    const [nov1] = await systemRows(
      t.db,
      sql`select sum(amount_micro)::text as s from invoice_lines where usage_period_start = ${nov.toISOString()}::timestamptz`,
    );
    expect(nov1?.s).toBe(String(clusterMicro(5_400_000n) + clusterMicro(4_500_000n) + 20_000n));
  });

  it("erases a closed tenant's usage, invoices and price book with the rest of its data", async () => {
    await withSystem(t.db, async (tx) => {
      await tx.execute(
        sql`insert into price_books (id, tenant_id, document) values ('pb_erase', ${tenantId}, '{}')`,
      );
      await tx.execute(sql`update clusters set status = 'deleted' where tenant_id = ${tenantId}`);
      await tx.execute(
        sql`update tenants set status = 'closed', closed_at = now(), erase_after = now() - interval '1 day' where id = ${tenantId}`,
      );
    });
    expect(await eraseClosedTenants(t.db, new Date())).toEqual([tenantId]);
    const [left] = await systemRows(
      t.db,
      sql`select (select count(*) from usage_events where tenant_id = ${tenantId})::int
               + (select count(*) from usage_hourly where tenant_id = ${tenantId})::int
               + (select count(*) from invoices where tenant_id = ${tenantId})::int
               + (select count(*) from invoice_lines where tenant_id = ${tenantId})::int
               + (select count(*) from price_books where tenant_id = ${tenantId})::int as n`,
    );
    expect(left?.n).toBe(0);
  });
});
