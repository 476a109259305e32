import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import { CHECK_TIMEOUT_MS, generateMasterKey, parseMasterKey } from "@berth/core";
import { createQueues, type Queues } from "@berth/core/queues";
import { createTestDatabase, type TestDatabase, testRedisUrl } from "@berth/db/testing";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHealthApp } from "../src/health";
import { createTestProvisionerDeps } from "../src/testing";

/** A loopback port nothing listens on: a Redis that is down. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((ok) => s.listen(0, "127.0.0.1", ok));
  const port = (s.address() as { port: number }).port;
  await new Promise((ok) => s.close(ok));
  return port;
}

let database: TestDatabase;
let redis: Redis;
/** The queues on the shared Redis: only the health checks' connection is down. */
let healthy: Redis;
let queues: Queues;
beforeAll(async () => {
  database = await createTestDatabase();
  healthy = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
  queues = createQueues(healthy, `health-${randomBytes(4).toString("hex")}`);
  // The provisioner's own options: its commands wait for Redis to come back instead of failing.
  redis = new Redis(`redis://127.0.0.1:${await closedPort()}`, { maxRetriesPerRequest: null });
  redis.on("error", () => {});
});
afterAll(async () => {
  redis.disconnect();
  await queues.close();
  await healthy.quit();
  await database.drop();
});

describe("the provisioner's readiness", () => {
  it("answers 503 naming redis within the check timeout while Redis is down", async () => {
    const deps = createTestProvisionerDeps({
      db: database.db,
      redis,
      queues,
      master: parseMasterKey(generateMasterKey()),
    });
    const started = Date.now();
    const res = await createHealthApp(deps).request("/readyz");
    const took = Date.now() - started;
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({
      status: "not ready",
      checks: { postgres: "ok", redis: `no answer within ${CHECK_TIMEOUT_MS} ms` },
    });
    expect(took).toBeGreaterThanOrEqual(CHECK_TIMEOUT_MS - 50);
    expect(took).toBeLessThan(CHECK_TIMEOUT_MS + 2_000);
  });
});
