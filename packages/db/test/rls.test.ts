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

  it("connects as roles that are neither superuser nor able to bypass RLS, and own nothing", async () => {
    for (const db of [t.db, t.db.$system]) {
      const [role] = await db.execute<{ rolsuper: boolean; rolbypassrls: boolean; owns: number }>(
        sql`select rolsuper, rolbypassrls,
              (select count(*)::int from pg_tables where tableowner = current_user) as owns
            from pg_roles where rolname = current_user`,
      );
      expect(role).toEqual({ rolsuper: false, rolbypassrls: false, owns: 0 });
    }
  });

  it("cannot be talked into system mode by a tenant transaction: the old setting means nothing", async () => {
    const rows = await withTenant(t.db, a, async (tx) => {
      await tx.execute(sql`select set_config('berth.system', 'on', true)`);
      return tx.select().from(clusters);
    });
    expect(rows.map((r) => r.tenantId)).toEqual([a]);
  });

  it("cannot become the system role, switch row-level security off, or read the signing keys", async () => {
    const attempts = [
      sql`set role berth_system`,
      sql`alter table clusters no force row level security`,
      sql`alter table clusters disable row level security`,
      sql`drop policy tenant_isolation on clusters`,
      sql`select * from signing_keys`,
      sql`create table sneaky (id int)`,
    ];
    for (const attempt of attempts) {
      const error = await withTenant(t.db, a, (tx) => tx.execute(attempt)).catch((e: unknown) => e as Error);
      expect(String((error as Error).cause ?? error), String(attempt.queryChunks)).toMatch(
        /permission denied|must be owner|must be member/,
      );
    }
  });

  it("keeps the audit log append-only for both roles", async () => {
    await withTenant(t.db, a, (tx) =>
      tx.execute(
        sql`insert into audit_events (id, tenant_id, action, resource, result, status, request_id, source_ip)
            values ('aud_1', ${a}, 'x:Y', '*', 'success', '200', 'r', '127.0.0.1')`,
      ),
    );
    for (const run of [
      (q: ReturnType<typeof sql>) => withTenant(t.db, a, (tx) => tx.execute(q)),
      (q: ReturnType<typeof sql>) => withSystem(t.db, (tx) => tx.execute(q)),
    ]) {
      const update = await run(sql`update audit_events set action = 'forged'`).catch((e: unknown) => e);
      expect(String((update as Error).cause ?? update)).toMatch(/append-only/);
    }
    const del = await withSystem(t.db, (tx) => tx.execute(sql`delete from audit_events`)).catch(
      (e: unknown) => e,
    );
    expect(String((del as Error).cause ?? del)).toMatch(/closed tenant/);
  });
});
