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
  recordingChanges,
  TRANSACTION_CHANGED,
  tenants,
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

/** Runs `fn` with a handle of the database that has `record` pending. */
const withRecord = <T>(record: ChangeRecord, fn: (db: Db) => Promise<T>) => fn(recordingChanges(db, record));

/** A change record that inserts a cluster of `tenantId` named `name` (where audit entries would go). */
function record(tenantId: string, name: string, id = newId("cluster")): ChangeRecord {
  return {
    tenantId,
    committed: false,
    notified: { auth: false, read: false, unmarked: false },
    insert: {
      text: `insert into clusters (id, tenant_id, name) select $1::text, $2::text, $3::text where ${TRANSACTION_CHANGED}`,
      values: [id, tenantId, name],
    },
  };
}

describe("tenant transactions", () => {
  it("read a tenant's rows as row-level security allows, every statement prepared (three round trips)", async () => {
    // BEGIN; the tenant's setting and the query, sent together; COMMIT: on the warm connection.
    expect(await roundTrips(() => withTenant(db, a, (tx) => tx.select().from(clusters)))).toBe(3);
    expect(names(await withTenant(db, a, (tx) => tx.select().from(clusters)))).toEqual(["a1"]);
    expect(names(await withTenant(db, b, (tx) => tx.select().from(clusters)))).toEqual(["b1"]);
  });

  it("set the tenant before any statement of the transaction runs, however they are issued", async () => {
    // Statements issued at once, before anything was awaited, and none at all.
    const setting = sql<string>`current_setting('berth.tenant_id', true)`;
    const [first, rows, again] = await withTenant(db, a, (tx) =>
      Promise.all([
        tx.select({ tenant: setting }).from(sql`(select 1) as one`),
        tx.select().from(clusters),
        tx.execute(sql`select ${setting} as tenant`),
      ]),
    );
    expect(first).toEqual([{ tenant: a }]);
    expect(names(rows)).toEqual(["a1"]);
    expect([...again]).toEqual([{ tenant: a }]);
    expect(await withTenant(db, b, async () => "nothing run")).toBe("nothing run");
    expect(names(await withTenant(db, b, (tx) => tx.select().from(clusters)))).toEqual(["b1"]);
  });

  it("keep tenants apart on one connection, and leave no tenant set on it afterwards", async () => {
    for (let i = 0; i < 10; i++) {
      const [tenant, other] = i % 2 ? [a, b] : [b, a];
      const rows = await withTenant(db, tenant, (tx) => tx.select().from(clusters));
      expect(rows.map((r) => r.tenantId)).toEqual([tenant]);
      expect(rows.map((r) => r.tenantId)).not.toContain(other);
    }
    expect(await db.select().from(clusters)).toEqual([]);
  });

  it("write a change and its record in one transaction; a transaction that changed nothing writes no record", async () => {
    const pending = record(a, `rec-${newId("cluster")}`);
    await withRecord(pending, async (db) => {
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
    const rows = await withSystem(t.db, (tx) =>
      tx
        .select({ name: clusters.name, xmin: sql<string>`xmin::text` })
        .from(clusters)
        .where(eq(clusters.tenantId, a)),
    );
    const written = rows.filter((r) => r.name.startsWith("rec-") || r.name.startsWith("chg-"));
    expect(written).toHaveLength(2);
    expect(new Set(written.map((r) => r.xmin)).size).toBe(1);
  });

  it("send the record with COMMIT: a one-statement write and its record in three round trips", async () => {
    const write = () => {
      const name = `rt-${newId("cluster")}`;
      const pending = record(a, `rec-${name}`);
      return withRecord(pending, async (db) => {
        await withTenant(db, a, (tx) =>
          tx.insert(clusters).values({ id: newId("cluster"), tenantId: a, name }),
        );
        expect(pending.committed).toBe(true);
      });
    };
    // BEGIN; the tenant's setting with the insert; the record with COMMIT.
    expect(await roundTrips(write)).toBe(3);
  });

  it("tell what the call changed that the replicas are notified of, read with COMMIT", async () => {
    const told = async (fn: (db: Db) => Promise<unknown>) => {
      const pending = record(a, `told-${newId("cluster")}`);
      await withRecord(pending, fn);
      return pending.notified;
    };
    // Nothing changed: nothing told (the record itself is not written either).
    expect(await told((db) => withTenant(db, a, (tx) => tx.select().from(clusters)))).toEqual({
      auth: false,
      read: false,
      unmarked: false,
    });
    // A new cluster changes what the tenant reads, not what admits anyone.
    const id = newId("cluster");
    const insert = (db: Db) =>
      withTenant(db, a, (tx) => tx.insert(clusters).values({ id, tenantId: a, name: `t-${id}` }));
    expect(await told(insert)).toEqual({ auth: false, read: true, unmarked: false });
    // A new signing key of the cluster changes which node credentials are good: both.
    const rotate = (db: Db) =>
      withTenant(db, a, (tx) =>
        tx
          .update(clusters)
          .set({ signingPublicJwk: `{"kty":"OKP","x":"${newId("cluster")}"}` })
          .where(eq(clusters.id, id)),
      );
    expect(await told(rotate)).toEqual({ auth: true, read: true, unmarked: false });
    // Marks are the transaction's own: the next one of the same call starts clean, the call keeps them.
    expect(
      await told(async (db) => {
        await rotate(db);
        await withTenant(db, a, (tx) => tx.select().from(clusters));
      }),
    ).toEqual({ auth: true, read: true, unmarked: false });
    // A write as the system role is not read: the call cannot tell.
    expect((await told((db) => withSystem(db, (tx) => tx.select().from(clusters)))).unmarked).toBe(true);
  });

  it("roll the change back when its record cannot be written", async () => {
    const [existing] = await withTenant(db, a, (tx) =>
      tx.select().from(clusters).where(eq(clusters.name, "a1")),
    );
    const failing = record(a, "dup", existing?.id);
    const error = await withRecord(failing, (db) =>
      withTenant(db, a, (tx) =>
        tx.insert(clusters).values({ id: newId("cluster"), tenantId: a, name: "lost" }),
      ),
    ).catch((e: unknown) => e);
    expect(String((error as Error).cause ?? error)).toMatch(/duplicate key/);
    expect(failing.committed).toBe(false);
    const rows = await withTenant(db, a, (tx) => tx.select().from(clusters));
    expect(names(rows)).not.toContain("lost");
    // The connection is usable afterwards.
    expect(names(await withTenant(db, b, (tx) => tx.select().from(clusters)))).toEqual(["b1"]);
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
});
