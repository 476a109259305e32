import { generateSigningKey } from "@berth/core";
import { clusters, withSystem } from "@berth/db";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdmissionCache } from "../src/auth/admission-cache";
import { createTestApi, type TestApi } from "../src/testing";
import { tenantWithNode } from "./workload-support";

/**
 * The admission cache: two control-api replicas on one Postgres; a token admitted (and cached) on
 * replica B stops working there within a second of its user being disabled — or losing a policy —
 * through replica A.
 */
let a: TestApi;
let b: TestApi;
let admin: Awaited<ReturnType<TestApi["tenant"]>>;
beforeAll(async () => {
  a = await createTestApi();
  b = await createTestApi({ database: a.database, masterKey: a.deps.master.key.toString("base64") });
  admin = await a.tenant("admission-cache");
});
afterAll(async () => {
  await b?.close();
  await a?.close();
});

const PASSWORD = "a long enough password";
async function newUser(email: string) {
  const r = await a.call("POST", "/v1/users", { token: admin.token, body: { email, password: PASSWORD } });
  expect(r.status).toBe(201);
  const t = await a.call("POST", "/v1/auth/token", { body: { email, password: PASSWORD } });
  return { id: r.body.id as string, token: t.body.accessToken as string };
}

async function lookups(api: TestApi, result: "hit" | "miss", cache = "principal"): Promise<number> {
  const m = await api.deps.metrics.getSingleMetric("berth_admission_cache_lookups_total")?.get();
  return m?.values.find((v) => v.labels.result === result && v.labels.cache === cache)?.value ?? 0;
}

/** Milliseconds until `status` answers `want` on replica B (polled every 10 ms, at most 3 s). */
async function msUntil(want: number, status: () => Promise<number>): Promise<number> {
  const started = performance.now();
  while (performance.now() - started < 3_000) {
    if ((await status()) === want) return performance.now() - started;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`never answered ${want}`);
}

describe("admission, cached per replica", () => {
  it("answers a principal's next requests from the cache", async () => {
    const u = await newUser("cached@admission.test");
    expect((await b.call("GET", "/v1/me", { token: u.token })).status).toBe(200);
    const hits = await lookups(b, "hit");
    for (let i = 0; i < 5; i++) expect((await b.call("GET", "/v1/me", { token: u.token })).status).toBe(200);
    expect(await lookups(b, "hit")).toBe(hits + 5);
  });

  it("a user disabled on replica A is refused on replica B within a second", async () => {
    const u = await newUser("leaver@admission.test");
    expect((await b.call("GET", "/v1/me", { token: u.token })).status).toBe(200);
    const patched = await a.call("PATCH", `/v1/users/${u.id}`, {
      token: admin.token,
      body: { status: "disabled" },
    });
    expect(patched.status).toBe(200);
    const ms = await msUntil(401, async () => (await b.call("GET", "/v1/me", { token: u.token })).status);
    process.stdout.write(`disabled on A → refused on B after ${ms.toFixed(1)} ms\n`);
    expect(ms).toBeLessThan(1_000);
  });

  it("a policy detached on replica A denies on replica B within a second", async () => {
    const u = await newUser("reader@admission.test");
    const list = async () => (await b.call("GET", "/v1/clusters", { token: u.token })).status;
    expect(await list()).toBe(403);
    const attach = await a.call("POST", "/v1/policies/ReadOnlyAccess/attachments", {
      token: admin.token,
      body: { principalId: u.id },
    });
    expect(attach.status, attach.text).toBeLessThan(300);
    const allowedMs = await msUntil(200, list);
    const detach = await a.call("DELETE", `/v1/policies/ReadOnlyAccess/attachments/${u.id}`, {
      token: admin.token,
    });
    expect(detach.status, detach.text).toBeLessThan(300);
    const deniedMs = await msUntil(403, list);
    process.stdout.write(
      `attached on A → allowed on B after ${allowedMs.toFixed(1)} ms; detached → denied after ${deniedMs.toFixed(1)} ms\n`,
    );
    expect(Math.max(allowedMs, deniedMs)).toBeLessThan(1_000);
  });
});

describe("node credentials, cached per replica", () => {
  const heartbeat = (api: TestApi, credential: string) =>
    api.call("POST", "/v1/nodes/heartbeat", { token: credential, body: {} });

  it("answers a node's next requests without verifying its credential again", async () => {
    const n = await tenantWithNode(a, "node-cached");
    expect((await heartbeat(b, n.credential)).status).toBe(200);
    const [hits, misses] = [await lookups(b, "hit", "node"), await lookups(b, "miss", "node")];
    for (let i = 0; i < 5; i++) expect((await heartbeat(b, n.credential)).status).toBe(200);
    expect(await lookups(b, "hit", "node")).toBe(hits + 5);
    expect(await lookups(b, "miss", "node")).toBe(misses);
  });

  it("a node that left through replica A is refused on replica B within a second", async () => {
    const n = await tenantWithNode(a, "node-left");
    expect((await heartbeat(b, n.credential)).status).toBe(200);
    const left = await a.call("POST", "/v1/nodes/sync", {
      token: n.credential,
      body: { pods: [], left: true },
    });
    expect(left.status, left.text).toBe(200);
    const ms = await msUntil(401, async () => (await heartbeat(b, n.credential)).status);
    process.stdout.write(`node left on A → refused on B after ${ms.toFixed(1)} ms\n`);
    expect(ms).toBeLessThan(1_000);
  });

  it("a cluster key replaced (the old one retired) refuses the old credentials on replica B within a second", async () => {
    const n = await tenantWithNode(a, "node-rekeyed");
    expect((await heartbeat(b, n.credential)).status).toBe(200);
    const key = await generateSigningKey();
    await withSystem(a.deps.db, (tx) =>
      tx
        .update(clusters)
        .set({ signingPublicJwk: JSON.stringify(key.publicJwk), signingKid: key.kid })
        .where(eq(clusters.id, n.clusterId)),
    );
    const ms = await msUntil(401, async () => (await heartbeat(b, n.credential)).status);
    process.stdout.write(
      `cluster key replaced on A → old credential refused on B after ${ms.toFixed(1)} ms\n`,
    );
    expect(ms).toBeLessThan(1_000);
  });

  it("a credential past its expiry is refused even when cached", async () => {
    const n = await tenantWithNode(a, "node-expiring");
    expect((await heartbeat(b, n.credential)).status).toBe(200);
    const cached = await b.deps.nodeCredentials.get(n.clusterId, n.credential, async () => {
      throw new Error("not cached");
    });
    expect(cached.node.nodeId).toBe(n.nodeId);
    // Its entry ends where the credential does: made to end now, the next request is refused.
    cached.until = Date.now();
    expect((await heartbeat(b, n.credential)).status).toBe(401);
  });
});

describe("AdmissionCache", () => {
  it("does not keep a value read while the principal changed", async () => {
    const cache = new AdmissionCache<string>({ enabled: () => true });
    let release: (v: string) => void = () => {};
    const reading = cache.get("p", "p|", () => new Promise<string>((r) => (release = r)));
    cache.invalidate("p");
    release("stale");
    expect(await reading).toBe("stale");
    expect(await cache.get("p", "p|", async () => "fresh")).toBe("fresh");
    expect(await cache.get("p", "p|", async () => "never read")).toBe("fresh");
  });

  it("caches nothing while disabled, forgets after its time, and drops a principal's or all entries", async () => {
    let enabled = false;
    let now = 0;
    const cache = new AdmissionCache<number>({ enabled: () => enabled, ttlMs: 1_000, now: () => now });
    let reads = 0;
    const read = async () => ++reads;
    await cache.get("p", "p|", read);
    await cache.get("p", "p|", read);
    expect(reads).toBe(2);
    enabled = true;
    await cache.get("p", "p|s1", read);
    await cache.get("q", "q|", read);
    expect(await cache.get("p", "p|s1", read)).toBe(3);
    now = 1_000;
    expect(await cache.get("p", "p|s1", read)).toBe(5);
    cache.invalidate("p");
    expect(cache.size).toBe(1);
    cache.invalidate(null);
    expect(cache.size).toBe(0);
  });
});
