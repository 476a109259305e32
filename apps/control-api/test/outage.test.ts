import { createServer } from "node:net";
import { generateMasterKey } from "@berth/core";
import { systemRows } from "@berth/db/testing";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApi, type TestApi } from "../src/testing";

/** A loopback port nothing listens on: a Redis that is down. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((ok) => s.listen(0, "127.0.0.1", ok));
  const port = (s.address() as { port: number }).port;
  await new Promise((ok) => s.close(ok));
  return port;
}

let healthy: TestApi;
let degraded: TestApi;
let token: string;
beforeAll(async () => {
  const masterKey = generateMasterKey();
  healthy = await createTestApi({ masterKey });
  ({ token } = await healthy.tenant("outage"));
  degraded = await createTestApi({
    database: healthy.database,
    masterKey,
    redisUrl: `redis://127.0.0.1:${await closedPort()}`,
  });
});
afterAll(async () => {
  degraded.deps.redis.disconnect();
  await healthy.close();
});

describe("a dependency outage", () => {
  it("answers 503 UNAVAILABLE with Retry-After when Redis is down, and writes nothing", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) {
      const r = await degraded.call("POST", "/v1/clusters", { token, body: { name: `down-${i}` } });
      statuses.push(r.status);
      expect(r.body.error.code).toBe("UNAVAILABLE");
      expect(Number(r.headers.get("retry-after"))).toBeGreaterThan(0);
    }
    expect(statuses).toEqual(Array(10).fill(503));
    const rows = await systemRows(healthy.deps.db, sql`select count(*)::int as n from clusters`);
    expect(rows[0]?.n).toBe(0);
  });

  it("answers public routes and tRPC with 503 too", async () => {
    const signup = await degraded.call("POST", "/v1/signup", {
      body: { tenantName: "nope", email: "nope@outage.test", password: "correct horse battery" },
    });
    expect(signup.status).toBe(503);
    const res = await degraded.app.request("/trpc/clusters.list", {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(503);
    expect(await res.text()).toContain("UNAVAILABLE");
  });

  it("says which dependency is down on /readyz", async () => {
    const r = await degraded.call("GET", "/readyz");
    expect(r.status).toBe(503);
    expect(r.body.checks.redis).not.toBe("ok");
    expect(r.body.checks.postgres).toBe("ok");
  });
});
