import { newId } from "@berth/core";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clusters, tenants, withSystem, withTenant } from "../src";
import { createTestDatabase, type TestDatabase } from "../src/testing";

let t: TestDatabase;
const a = newId("tenant");
const b = newId("tenant");
beforeAll(async () => {
  t = await createTestDatabase();
  await withSystem(t.db, async (tx) => {
    await tx.insert(tenants).values([
      { id: a, name: "tenant-a" },
      { id: b, name: "tenant-b" },
    ]);
    await tx.insert(clusters).values([
      { id: newId("cluster"), tenantId: a, name: "a1" },
      { id: newId("cluster"), tenantId: b, name: "b1" },
    ]);
  });
});
afterAll(() => t.drop());

describe("row-level security", () => {
  it("shows a tenant only its own rows even when the query forgets its where clause", async () => {
    const rows = await withTenant(t.db, a, (tx) => tx.select().from(clusters));
    expect(rows.map((r) => r.name)).toEqual(["a1"]);
  });

  it("shows nothing at all outside a tenant or system transaction", async () => {
    expect(await t.db.select().from(clusters)).toEqual([]);
    expect(await t.db.select().from(tenants)).toEqual([]);
  });

  it("refuses to write a row into another tenant", async () => {
    const error = await withTenant(t.db, a, (tx) =>
      tx.insert(clusters).values({ id: newId("cluster"), tenantId: b, name: "sneaky" }),
    ).catch((e: unknown) => e as Error);
    expect(String((error as Error).cause)).toMatch(/row-level security/);
  });

  it("cannot update or delete another tenant's rows", async () => {
    await withTenant(t.db, a, async (tx) => {
      await tx.update(clusters).set({ name: "renamed" });
      await tx.delete(clusters).where(sql`${clusters.name} = 'b1'`);
    });
    const all = await withSystem(t.db, (tx) => tx.select().from(clusters));
    expect(all.map((r) => r.name).sort()).toEqual(["b1", "renamed"]);
  });

  it("connects as a role that is neither superuser nor able to bypass RLS", async () => {
    const [role] = await t.db.execute<{ rolsuper: boolean; rolbypassrls: boolean }>(
      sql`select rolsuper, rolbypassrls from pg_roles where rolname = current_user`,
    );
    expect(role).toEqual({ rolsuper: false, rolbypassrls: false });
  });
});
