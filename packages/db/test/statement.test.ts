import { newId } from "@berth/core";
import { and, desc, eq, lt, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clusters, statement, type Tx, tenants, withSystem, withTenant } from "../src";
import { createTestDatabase, type TestDatabase } from "../src/testing";

let t: TestDatabase;
const a = newId("tenant");
const b = newId("tenant");
const aClusters = [newId("cluster"), newId("cluster"), newId("cluster")].sort();

beforeAll(async () => {
  t = await createTestDatabase();
  await withSystem(t.db, async (tx) => {
    await tx.insert(tenants).values([
      { id: a, name: "tenant-a" },
      { id: b, name: "tenant-b" },
    ]);
    await tx
      .insert(clusters)
      .values([
        ...aClusters.map((id, i) => ({ id, tenantId: a, name: `a${i}`, tags: { n: String(i) } })),
        { id: newId("cluster"), tenantId: b, name: "b0" },
      ]);
  });
});
afterAll(() => t.drop());

let builds = 0;
const page = (after: boolean) =>
  statement((tx: Tx) => {
    builds++;
    return tx
      .select({ id: clusters.id, name: clusters.name, tags: clusters.tags, createdAt: clusters.createdAt })
      .from(clusters)
      .where(
        and(
          eq(clusters.tenantId, sql.placeholder("tenantId")),
          after ? lt(clusters.id, sql.placeholder("cursor")) : undefined,
        ),
      )
      .orderBy(desc(clusters.id))
      .limit(sql.placeholder("limit"));
  });
const firstPage = page(false);
const pageAfter = page(true);

/** The same query as drizzle builds it on every run. */
const built = (tx: Tx, tenantId: string, limit: number, cursor?: string) =>
  tx
    .select({ id: clusters.id, name: clusters.name, tags: clusters.tags, createdAt: clusters.createdAt })
    .from(clusters)
    .where(and(eq(clusters.tenantId, tenantId), cursor ? lt(clusters.id, cursor) : undefined))
    .orderBy(desc(clusters.id))
    .limit(limit);

describe("a statement built once", () => {
  it("is built on its first run only, and answers as the query drizzle builds each time", async () => {
    builds = 0;
    for (let i = 0; i < 3; i++) {
      const rows = await withTenant(t.db, a, (tx) => firstPage(tx, { tenantId: a, limit: 2 }));
      expect(rows).toEqual(await withTenant(t.db, a, (tx) => built(tx, a, 2)));
      expect(rows.map((r) => r.id)).toEqual([aClusters[2], aClusters[1]]);
      // Rows are mapped as drizzle maps them: jsonb parsed, timestamps as dates.
      expect(rows[0]?.tags).toEqual({ n: "2" });
      expect(rows[0]?.createdAt).toBeInstanceOf(Date);
    }
    const after = await withTenant(t.db, a, (tx) =>
      pageAfter(tx, { tenantId: a, cursor: aClusters[1], limit: 5 }),
    );
    expect(after).toEqual(await withTenant(t.db, a, (tx) => built(tx, a, 5, aClusters[1])));
    expect(after.map((r) => r.id)).toEqual([aClusters[0]]);
    expect(builds).toBe(2); // one per shape
  });

  it("runs in the transaction it is given: row-level security still keeps tenants apart", async () => {
    // Tenant b's transaction asking for tenant a's rows sees none of them.
    expect(await withTenant(t.db, b, (tx) => firstPage(tx, { tenantId: a, limit: 10 }))).toEqual([]);
    expect(
      (await withTenant(t.db, b, (tx) => firstPage(tx, { tenantId: b, limit: 10 }))).map((r) => r.name),
    ).toEqual(["b0"]);
    // And it is rolled back with that transaction.
    const rename = statement((tx) =>
      tx
        .update(clusters)
        .set({ name: sql`${sql.placeholder("name")}` })
        .where(eq(clusters.id, sql.placeholder("id")))
        .returning({ name: clusters.name }),
    );
    const failed = withTenant(t.db, a, async (tx) => {
      expect(await rename(tx, { id: aClusters[0], name: "renamed" })).toEqual([{ name: "renamed" }]);
      throw new Error("roll back");
    });
    await expect(failed).rejects.toThrow("roll back");
    const names = await withTenant(t.db, a, (tx) => built(tx, a, 10));
    expect(names.map((r) => r.name).sort()).toEqual(["a0", "a1", "a2"]);
  });

  it("takes raw SQL with placeholders", async () => {
    const setting = statement((tx) =>
      tx.execute(
        sql`select current_setting('berth.tenant_id') as tenant, ${sql.placeholder("x")}::int + 1 as y`,
      ),
    );
    const [row] = await withTenant(t.db, b, (tx) => setting(tx, { x: 41 }));
    expect(row).toEqual({ tenant: b, y: 42 });
  });
});
