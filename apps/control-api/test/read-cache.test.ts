import { randomBytes } from "node:crypto";
import { clusters, withSystem } from "@berth/db";
import { createTestDatabase, type TestDatabase } from "@berth/db/testing";
import { eq } from "drizzle-orm";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApi, type TestApi } from "../src/testing";

/**
 * A tenant's cluster reads answered from the replica's memory (services/read-cache.ts): two
 * replicas of the API on one Postgres and one Redis. What each statement of the tenant role runs
 * is counted, so "from the cache" means no statement reached Postgres.
 */
let statements = 0;
let database: TestDatabase;
let a: TestApi;
let b: TestApi;
let token: string;
let clusterId: string;

beforeAll(async () => {
  database = await createTestDatabase({ onQuery: () => statements++ });
  const queuePrefix = `berth-rc-${randomBytes(4).toString("hex")}`;
  a = await createTestApi({ database, queuePrefix });
  b = await createTestApi({ database, queuePrefix, masterKey: a.deps.master.key.toString("base64") });
  ({ token } = await a.tenant("reads"));
  clusterId = (await a.call("POST", "/v1/clusters", { token, body: { name: "first" } })).body.id;
});
afterAll(async () => {
  await a?.close();
  await b?.close();
  await database?.drop();
});

/** A read through `api`, and how many statements of the tenant role it ran. */
async function read(api: TestApi, path = "/v1/clusters", as = token) {
  const before = statements;
  const r = await api.call("GET", path, { token: as });
  expect(r.status, r.text).toBe(200);
  return { body: r.body, statements: statements - before };
}
const statusOf = async (api: TestApi) =>
  (await read(api)).body.items.find((c: { id: string }) => c.id === clusterId)?.status;

/**
 * Runs `fn` with the clusters' read trigger sending no notification (as the database's owner); it
 * still marks the transaction (migration 0037), as a write whose notification was lost would.
 */
async function withoutNotifications(fn: () => Promise<void>) {
  const owner = postgres(database.migrationUrl, { max: 1, onnotice: () => {} });
  const [original] = await owner<{ def: string }[]>`
    select pg_get_functiondef('notify_tenant_read'::regproc) as def`;
  try {
    await owner.unsafe(`create or replace function notify_tenant_read() returns trigger language plpgsql as $$
      begin perform set_config('berth.notified_read', 'on', true); return null; end $$`);
    await fn();
  } finally {
    if (original) await owner.unsafe(original.def);
    await owner.end({ timeout: 5 });
  }
}

describe("a tenant's cluster reads, cached per replica", () => {
  it("are answered without a statement once read, a page and one cluster alike", async () => {
    await read(a);
    expect((await read(a)).statements).toBe(0);
    await read(a, `/v1/clusters/${clusterId}`);
    const one = await read(a, `/v1/clusters/${clusterId}`);
    expect(one.statements).toBe(0);
    expect(one.body.id).toBe(clusterId);
    // Another page size is another read.
    expect((await read(a, "/v1/clusters?limit=1")).statements).toBeGreaterThan(0);
  });

  it("see a change made by another writer (the provisioner) as soon as its notification arrives", async () => {
    await read(a);
    await read(b);
    await withSystem(database.db, (tx) =>
      tx.update(clusters).set({ status: "active" }).where(eq(clusters.id, clusterId)),
    );
    await a.deps.assignments.barrier();
    await b.deps.assignments.barrier();
    expect(await statusOf(a)).toBe("active");
    expect(await statusOf(b)).toBe("active");
  });

  it("see the tenant's own write at once through any replica, without waiting for a notification", async () => {
    await withoutNotifications(async () => {
      expect((await read(a)).body.items[0].tags).toEqual({});
      expect((await read(a)).statements).toBe(0);
      // A write through replica B: no notification reaches A; the read version it set does.
      const patched = await b.call("PATCH", `/v1/clusters/${clusterId}`, {
        token,
        body: { tags: { team: "web" } },
      });
      expect(patched.status, patched.text).toBe(200);
      const after = await read(a);
      expect(after.statements).toBeGreaterThan(0);
      expect(after.body.items[0].tags).toEqual({ team: "web" });
      expect((await read(a, `/v1/clusters/${clusterId}`)).body.tags).toEqual({ team: "web" });
    });
  });

  it("are cached, not recomputed: a change nothing announced stays unseen (the net is the entry's age)", async () => {
    await read(a);
    await withoutNotifications(() =>
      withSystem(database.db, async (tx) => {
        await tx.update(clusters).set({ statusReason: "unannounced" }).where(eq(clusters.id, clusterId));
      }),
    );
    const cached = await read(a);
    expect(cached.statements).toBe(0);
    expect(cached.body.items[0].statusReason).toBeNull();
  });

  it("keep what they cached over the tenant's write that changed no cluster (a join token)", async () => {
    await read(a);
    expect((await read(a)).statements).toBe(0);
    const created = await b.call("POST", `/v1/clusters/${clusterId}/join-tokens`, { token });
    expect(created.status, created.text).toBe(201);
    expect((await read(a)).statements).toBe(0);
  });

  it("keep tenants apart: another tenant's identical read is its own", async () => {
    const other = await a.tenant("reads-other");
    await read(a);
    const theirs = await read(a, "/v1/clusters", other.token);
    expect(theirs.statements).toBeGreaterThan(0);
    expect(theirs.body.items).toEqual([]);
    // The owner's read of the cluster is cached; the other tenant's read of its id is still 404.
    expect((await read(a, `/v1/clusters/${clusterId}`)).statements).toBe(0);
    const foreign = await a.call("GET", `/v1/clusters/${clusterId}`, { token: other.token });
    expect(foreign.status).toBe(404);
  });

  it("are not cached while the replica does not hear notifications", async () => {
    await b.deps.assignments.stop();
    expect(b.deps.assignments.listening).toBe(false);
    await read(b);
    expect((await read(b)).statements).toBeGreaterThan(0);
    // What it had cached before is not used either: a change nothing announced is seen.
    await withoutNotifications(() =>
      withSystem(database.db, async (tx) => {
        await tx.update(clusters).set({ statusReason: "seen" }).where(eq(clusters.id, clusterId));
      }),
    );
    expect((await read(b)).body.items[0].statusReason).toBe("seen");
  });

  it("count hits and misses in /metrics", async () => {
    const metric = await a.deps.metrics.getSingleMetric("berth_read_cache_lookups_total")?.get();
    const byResult = Object.fromEntries(metric?.values.map((v) => [v.labels.result, v.value]) ?? []);
    expect(byResult.hit).toBeGreaterThan(0);
    expect(byResult.miss).toBeGreaterThan(0);
  });
});
