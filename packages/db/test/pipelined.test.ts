import { createServer, type Server, Socket } from "node:net";
import { newId } from "@berth/core";
import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type ChangeRecord,
  closeDb,
  clusters,
  createDb,
  type Db,
  tenantStatement,
  tenants,
  withChangeRecord,
  withSystem,
  withTenant,
} from "../src";
import { createTestDatabase, type TestDatabase } from "../src/testing";

/**
 * A proxy between the pool (one connection) and Postgres that counts round trips: each time the
 * client speaks again after Postgres has answered is one more.
 */
function countingProxy(target: URL): Promise<{ server: Server; port: number; turns: () => number }> {
  let turns = 0;
  const server = createServer((client) => {
    const upstream = new Socket();
    upstream.connect(Number(target.port), target.hostname);
    let answered = true;
    client.on("data", (chunk) => {
      if (answered) turns++;
      answered = false;
      upstream.write(chunk);
    });
    upstream.on("data", (chunk) => {
      answered = true;
      client.write(chunk);
    });
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
  });
  return new Promise((ok) =>
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      ok({ server, port: typeof address === "object" && address ? address.port : 0, turns: () => turns });
    }),
  );
}

let t: TestDatabase;
let db: Db;
let proxy: Awaited<ReturnType<typeof countingProxy>>;
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
  const url = new URL(t.url);
  proxy = await countingProxy(url);
  const viaProxy = new URL(t.url);
  viaProxy.port = String(proxy.port);
  db = createDb({ url: viaProxy.toString(), systemUrl: t.systemUrl }, { max: 1 });
});
afterAll(async () => {
  await closeDb(db);
  proxy.server.close();
  await t.drop();
});

/** Round trips `fn` takes on the warm connection (its statements already prepared by a first run). */
async function roundTrips(fn: () => Promise<unknown>): Promise<number> {
  await fn();
  const before = proxy.turns();
  await fn();
  return proxy.turns() - before;
}

const names = (rows: { name: string }[]) => rows.map((r) => r.name).sort();

/** A change record that inserts a cluster of `tenantId` named `name` (where audit entries would go). */
function record(tenantId: string, name: string, id = newId("cluster")): ChangeRecord {
  return {
    tenantId,
    committed: false,
    insertIfChanged: (changed) =>
      sql`insert into ${clusters} (id, tenant_id, name) select ${id}::text, ${tenantId}::text, ${name}::text where ${changed}`,
  };
}

describe("pipelined tenant transactions", () => {
  it("read a tenant's rows in one round trip (tenantStatement), or two (withTenant), as row-level security allows", async () => {
    expect(await roundTrips(() => tenantStatement(db, a, (tx) => tx.select().from(clusters)))).toBe(1);
    expect(await roundTrips(() => withTenant(db, a, (tx) => tx.select().from(clusters)))).toBe(2);
    expect(names(await tenantStatement(db, a, (tx) => tx.select().from(clusters)))).toEqual(["a1"]);
    expect(names(await withTenant(db, b, (tx) => tx.select().from(clusters)))).toEqual(["b1"]);
  });

  it("keep tenants apart on one connection, and leave no tenant set on it afterwards", async () => {
    for (let i = 0; i < 10; i++) {
      const [tenant, other] = i % 2 ? [a, b] : [b, a];
      const rows = await (i % 3
        ? tenantStatement(db, tenant, (tx) => tx.select().from(clusters))
        : withTenant(db, tenant, (tx) => tx.select().from(clusters)));
      expect(rows.map((r) => r.tenantId)).toEqual([tenant]);
      expect(rows.map((r) => r.tenantId)).not.toContain(other);
    }
    expect(await db.select().from(clusters)).toEqual([]);
  });

  it("write a change and its record in three round trips; a transaction that changed nothing writes no record", async () => {
    const write = async () => {
      const pending = record(a, `rec-${newId("cluster")}`);
      await withChangeRecord(pending, async () => {
        await withTenant(db, a, (tx) => tx.select().from(clusters));
        expect(pending.committed).toBe(false);
        await withTenant(db, a, async (tx) => {
          await tx.select().from(clusters);
          await tx
            .insert(clusters)
            .values({ id: newId("cluster"), tenantId: a, name: `chg-${newId("cluster")}` });
        });
      });
      expect(pending.committed).toBe(true);
    };
    const before = proxy.turns();
    await write();
    const after = proxy.turns();
    await write();
    // The read-only transaction: two; the write with its record: three (BEGIN + first statement, the insert, record + COMMIT).
    expect(proxy.turns() - after).toBe(5);
    expect(after - before).toBeGreaterThanOrEqual(5);
    const rows = await withTenant(db, a, (tx) => tx.select().from(clusters));
    expect(rows.filter((r) => r.name.startsWith("rec-"))).toHaveLength(2);
    expect(rows.filter((r) => r.name.startsWith("chg-"))).toHaveLength(2);
  });

  it("roll the change back when its record cannot be written", async () => {
    const [existing] = await withTenant(db, a, (tx) =>
      tx.select().from(clusters).where(eq(clusters.name, "a1")),
    );
    const failing = record(a, "dup", existing?.id);
    const error = await withChangeRecord(failing, () =>
      withTenant(db, a, (tx) =>
        tx.insert(clusters).values({ id: newId("cluster"), tenantId: a, name: "lost" }),
      ),
    ).catch((e: unknown) => e);
    expect(String(error)).toMatch(/duplicate key/);
    expect(failing.committed).toBe(false);
    const rows = await withTenant(db, a, (tx) => tx.select().from(clusters));
    expect(names(rows)).not.toContain("lost");
    // The connection is usable afterwards.
    expect(names(await tenantStatement(db, b, (tx) => tx.select().from(clusters)))).toEqual(["b1"]);
  });

  it("refuse to commit a transaction one of whose statements failed, even when the code went on", async () => {
    const error = await withTenant(db, a, async (tx) => {
      await tx.insert(clusters).values({ id: newId("cluster"), tenantId: a, name: "half" });
      await tx.execute(sql`select 1/0`).catch(() => {});
    }).catch((e: unknown) => e);
    expect(String(error)).toMatch(/did not commit/);
    expect(names(await withTenant(db, a, (tx) => tx.select().from(clusters)))).not.toContain("half");
  });

  it("roll back to a savepoint and keep the rest of the transaction", async () => {
    await withTenant(db, a, async (tx) => {
      await tx.insert(clusters).values({ id: newId("cluster"), tenantId: a, name: "kept" });
      await tx
        .transaction(async (sp) => {
          await sp.insert(clusters).values({ id: newId("cluster"), tenantId: a, name: "undone" });
          throw new Error("undo");
        })
        .catch(() => {});
    });
    const all = names(await withTenant(db, a, (tx) => tx.select().from(clusters)));
    expect(all).toContain("kept");
    expect(all).not.toContain("undone");
  });

  it("tenantStatement runs one statement only, and reports a failing one with the connection still usable", async () => {
    const twice = await tenantStatement(db, a, async (tx) => {
      await tx.select().from(clusters);
      return tx.select().from(clusters);
    }).catch((e: unknown) => e);
    expect(String((twice as Error).cause ?? twice)).toMatch(/second statement/);
    const failed = await tenantStatement(db, a, (tx) => tx.execute(sql`select 1/0`)).catch((e: unknown) => e);
    expect(String((failed as Error).cause ?? failed)).toMatch(/division by zero/);
    expect(names(await tenantStatement(db, a, (tx) => tx.select().from(clusters)))).toContain("a1");
  });
});
