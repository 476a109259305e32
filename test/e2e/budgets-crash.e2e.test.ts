import { randomBytes } from "node:crypto";
import { newId } from "@berth/core";
import { createQueues, type Queues } from "@berth/core/queues";
import { budgets, clusters, computeInvoice, monthOf, tenants, webhookEndpoints, withSystem } from "@berth/db";
import { createTestDatabase, systemRows, type TestDatabase, testRedisUrl } from "@berth/db/testing";
import { BUDGET_CRASH_POINTS } from "@berth/provisioner/crashpoints";
import { sql } from "drizzle-orm";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectedForecast, reached, seedUsage } from "../integration/budgets-support";
import { bundled, type Proc, start } from "./support";

/**
 * kill -9 of the budgets' evaluation at each of its crash points (an alert inserted but not its
 * event and deliveries; everything written, not committed; committed, nothing enqueued; one
 * delivery enqueued), and at random moments, then one run to the end: every alert reached is
 * there exactly once, with one event each and one delivery per endpoint, each enqueued once.
 */
let t: TestDatabase;
let redis: Redis;
let queues: Queues;
const prefix = `test-${randomBytes(5).toString("hex")}`;
const tenantId = newId("tenant");
const clusterId = newId("cluster");
const budgetId = newId("budget");
const thresholds = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100];
const children: Proc[] = [];

let childBundle: string;
beforeAll(async () => {
  childBundle = await bundled("test/e2e/budgets-child.ts");
  t = await createTestDatabase();
  redis = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
  queues = createQueues(redis, prefix);
  await withSystem(t.db, async (tx) => {
    await tx.insert(tenants).values({ id: tenantId, name: "budget-crash" });
    await tx.insert(clusters).values({ id: clusterId, tenantId, name: "c" });
    for (const i of [1, 2])
      await tx.insert(webhookEndpoints).values({
        id: newId("webhook"),
        tenantId,
        url: `https://hooks${i}.example.com/`,
        events: ["budget.threshold"],
        secretSealed: "v1.unused",
      });
  });
  await seedUsage(t.db, { tenantId, clusterId, nodeHours: 500 });
}, 60_000);
afterAll(async () => {
  for (const c of children)
    if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill("SIGKILL");
  await queues.get("webhooks").obliterate({ force: true });
  await queues.close();
  await redis.quit();
  await t.drop();
});

function evaluation(crashAt?: string): Proc {
  const p = start(process.execPath, [childBundle], {
    DATABASE_URL: t.url,
    DATABASE_SYSTEM_URL: t.systemUrl,
    REDIS_URL: testRedisUrl(),
    QUEUE_PREFIX: prefix,
    ...(crashAt ? { BERTH_CRASH_AT: crashAt } : {}),
  });
  children.push(p);
  return p;
}

describe("the budgets' evaluation killed at any point", () => {
  it("neither loses nor duplicates an alert, its event or its deliveries", async () => {
    // The actual is the invoice draft's total; the amount makes it 55 %, whatever the prices.
    const actual = await withSystem(
      t.db,
      async (tx) => (await computeInvoice(tx, tenantId, monthOf(new Date()).start)).totalMicro,
    );
    expect(actual).toBeGreaterThan(0n);
    const amount = (actual * 100n) / 55n;
    await withSystem(t.db, (tx) =>
      tx.insert(budgets).values({
        id: budgetId,
        tenantId,
        name: "crash",
        amountMicro: amount,
        currency: "USD",
        scopeType: "tenant",
        thresholds,
        notifyActual: true,
        notifyForecast: true,
      }),
    );
    let killed = 0;
    for (const point of BUDGET_CRASH_POINTS) {
      const p = evaluation(point);
      await p.exited;
      if (p.child.signalCode === "SIGKILL") killed++;
    }
    expect(killed).toBe(BUDGET_CRASH_POINTS.length);
    for (let i = 0; i < 4; i++) {
      const p = evaluation();
      await p.waitForOutput(/started/, 20_000);
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 200)));
      p.child.kill("SIGKILL");
      await p.exited;
    }
    const last = evaluation();
    await last.waitForOutput(/done/, 60_000);

    const want = [
      ...reached(actual, amount, thresholds).map((x) => `actual:${x}`),
      ...reached(expectedForecast(actual), amount, thresholds).map((x) => `forecast:${x}`),
    ].sort();
    expect(want.length).toBeGreaterThanOrEqual(5);
    const alerts = await systemRows(
      t.db,
      sql`select kind || ':' || threshold as k, id from budget_alerts where budget_id = ${budgetId}`,
    );
    expect(alerts.map((a) => String(a.k)).sort()).toEqual(want);
    const [events] = await systemRows(
      t.db,
      sql`select count(*)::int as n from events where object_uid = ${budgetId}`,
    );
    expect(events?.n).toBe(want.length);
    const deliveries = await systemRows(
      t.db,
      sql`select id, event_id from webhook_deliveries where tenant_id = ${tenantId}`,
    );
    expect(deliveries).toHaveLength(want.length * 2);
    expect(new Set(deliveries.map((d) => d.event_id))).toEqual(new Set(alerts.map((a) => a.id)));
    // Each delivery is one job (its id is the delivery's), none lost, none twice.
    const jobs = await queues.get("webhooks").getJobs(["waiting", "delayed", "active"]);
    expect(jobs.map((j) => j.id).sort()).toEqual(deliveries.map((d) => `webhook-${d.id}`).sort());
  }, 240_000);
});
