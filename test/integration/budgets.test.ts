import { evaluateBudgets, withSystem } from "@berth/db";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  amountOf,
  expectedForecast,
  micro,
  reached,
  seedCluster,
  seedUsage,
  startReceiver,
} from "./budgets-support";
import { type Platform, startPlatform } from "./harness";

let platform: Platform;
beforeAll(async () => {
  platform = await startPlatform();
});
afterAll(() => platform.close());

/** A tenant with usage on two clusters, a webhook endpoint to a real receiver, and the draft's figures. */
async function tenantWithUsage(name: string, answers?: number[]) {
  const { api } = platform;
  const t = await api.tenant(name);
  const a = await seedCluster(api.deps.db, t.tenantId, "a");
  const b = await seedCluster(api.deps.db, t.tenantId, "b");
  await seedUsage(api.deps.db, { tenantId: t.tenantId, clusterId: a, nodeHours: 300 });
  await seedUsage(api.deps.db, { tenantId: t.tenantId, clusterId: b, nodeHours: 100 });
  const receiver = await startReceiver(answers);
  const hook = await api.call("POST", "/v1/webhooks", {
    token: t.token,
    body: { url: receiver.url, events: ["budget.threshold"] },
  });
  expect(hook.status).toBe(201);
  receiver.setSecret(hook.body.secret);
  const draft = (await api.call("GET", "/v1/invoices", { token: t.token })).body.items[0];
  const lines = (await api.call("GET", `/v1/invoices/${draft.id}`, { token: t.token })).body.lines as {
    clusterId: string;
    amount: string;
  }[];
  const ofCluster = (id: string) =>
    lines.filter((l) => l.clusterId === id).reduce((s, l) => s + micro(l.amount), 0n);
  return { ...t, a, b, receiver, webhookId: hook.body.id as string, total: micro(draft.total), ofCluster };
}

describe("budgets", () => {
  it("fires each threshold of actual and forecast once, as events and as signed webhooks", async () => {
    const { api, waitFor } = platform;
    const t = await tenantWithUsage("budget-fire");
    try {
      // The tenant's actual is 85 % of this amount: 50 and 80 are reached, 100 is not.
      const amount = (t.total * 100n) / 85n;
      const created = await api.call("POST", "/v1/budgets", {
        token: t.token,
        body: { name: "monthly", amount: amountOf(amount), scope: { type: "tenant" } },
      });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({
        thresholds: [50, 80, 100],
        notify: { actual: true, forecast: true },
        currency: "USD",
      });
      const forecast = expectedForecast(t.total);
      const wantActual = reached(t.total, amount, [50, 80, 100]);
      const wantForecast = reached(forecast, amount, [50, 80, 100]);
      expect(wantActual).toEqual([50, 80]);
      const expected = wantActual.length + wantForecast.length;
      await waitFor("the alerts' webhooks", async () => t.receiver.received.length >= expected);
      // Several evaluations later, nothing more has fired.
      await new Promise((r) => setTimeout(r, 3_000));
      expect(t.receiver.received).toHaveLength(expected);
      expect(t.receiver.received.every((r) => r.signatureValid)).toBe(true);
      const got = t.receiver.received.map((r) => `${r.body.data.kind}:${r.body.data.threshold}`).sort();
      expect(got).toEqual(
        [...wantActual.map((x) => `actual:${x}`), ...wantForecast.map((x) => `forecast:${x}`)].sort(),
      );
      const first = t.receiver.received[0];
      expect(first?.body).toMatchObject({
        type: "budget.threshold",
        data: { budget: { id: created.body.id, name: "monthly" } },
      });
      expect(first?.headers["berth-event-id"]).toBe(first?.body.id);

      const got1 = await api.call("GET", `/v1/budgets/${created.body.id}`, { token: t.token });
      expect(got1.status).toBe(200);
      // The actual is the invoice draft's total, to the micro-unit; the forecast follows the rule.
      expect(micro(got1.body.period.actual)).toBe(t.total);
      expect(micro(got1.body.period.forecast)).toBe(expectedForecast(t.total));
      expect(got1.body.period.actualPercent).toBeCloseTo(85, 0);
      expect(got1.body.alerts).toHaveLength(expected);

      const events = await api.call("GET", `/v1/budgets/${created.body.id}/events`, { token: t.token });
      expect(events.status).toBe(200);
      const reasons = events.body.items.map((e: { reason: string }) => e.reason);
      expect(reasons.filter((r: string) => r === "BudgetThresholdReached")).toHaveLength(wantActual.length);
      expect(reasons.filter((r: string) => r === "BudgetForecastExceeded")).toHaveLength(wantForecast.length);
      expect(events.body.items[0].message).toMatch(/of the budget .* USD \(threshold \d+%\)/);

      const log = await api.call("GET", `/v1/webhooks/${t.webhookId}/deliveries`, { token: t.token });
      expect(log.body.items).toHaveLength(expected);
      expect(
        log.body.items.every(
          (d: { status: string; attempts: number }) => d.status === "succeeded" && d.attempts === 1,
        ),
      ).toBe(true);
    } finally {
      await t.receiver.close();
    }
  });

  it("scopes a budget to a cluster or a label value with the figures the invoice draft shows", async () => {
    const { api } = platform;
    const t = await tenantWithUsage("budget-scope");
    try {
      const cluster = await api.call("POST", "/v1/budgets", {
        token: t.token,
        body: {
          name: "cluster-a",
          amount: "1000000",
          scope: { type: "cluster", clusterId: t.a },
          notify: { actual: true, forecast: false },
        },
      });
      expect(cluster.status).toBe(201);
      const view = await api.call("GET", `/v1/budgets/${cluster.body.id}`, { token: t.token });
      expect(micro(view.body.period.actual)).toBe(t.ofCluster(t.a));
      // The same over tRPC (the SDK's face).
      const viaTrpc = await api.app.request(
        `/trpc/budgets.get?input=${encodeURIComponent(JSON.stringify({ budgetId: cluster.body.id }))}`,
        { headers: { authorization: `Bearer ${t.token}` } },
      );
      expect(((await viaTrpc.json()) as { result: { data: unknown } }).result.data).toEqual(view.body);
      expect(micro(view.body.period.actual)).toBeLessThan(t.total);
      await api.call("PATCH", "/v1/tenant", { token: t.token, body: { costAllocationLabelKeys: ["team"] } });
      const label = await api.call("POST", "/v1/budgets", {
        token: t.token,
        body: { name: "team-red", amount: "10", scope: { type: "label", key: "team", value: "red" } },
      });
      expect(label.status).toBe(201);
      // Usage labelled before the key was a cost-allocation label is not attributed to it.
      expect(
        (await api.call("GET", `/v1/budgets/${label.body.id}`, { token: t.token })).body.period.actual,
      ).toBe("0.000000");
      const patched = await api.call("PATCH", `/v1/budgets/${cluster.body.id}`, {
        token: t.token,
        body: { amount: "5", thresholds: [100, 90] },
      });
      expect(patched.body).toMatchObject({ amount: "5.000000", thresholds: [90, 100] });
      const list = await api.call("GET", "/v1/budgets", { token: t.token });
      expect(list.body.items.map((b: { name: string }) => b.name)).toEqual(["cluster-a", "team-red"]);
      expect((await api.call("DELETE", `/v1/budgets/${label.body.id}`, { token: t.token })).status).toBe(200);
      expect((await api.call("GET", `/v1/budgets/${label.body.id}`, { token: t.token })).status).toBe(404);
    } finally {
      await t.receiver.close();
    }
  });

  it("retries a delivery answered 500 twice, then 200, and logs the three attempts", async () => {
    const { api, waitFor } = platform;
    const t = await tenantWithUsage("budget-retry", [500, 500, 200]);
    try {
      const budget = await api.call("POST", "/v1/budgets", {
        token: t.token,
        body: {
          name: "one-alert",
          scope: { type: "tenant" },
          amount: amountOf(t.total * 2n),
          thresholds: [50],
          notify: { actual: true, forecast: false },
        },
      });
      expect(budget.status).toBe(201);
      const delivered = await waitFor(
        "a delivery that succeeded",
        async () => {
          const log = await api.call("GET", `/v1/webhooks/${t.webhookId}/deliveries`, { token: t.token });
          const d = log.body.items[0];
          return d?.status === "succeeded" ? d : null;
        },
        60_000,
      );
      expect(delivered).toMatchObject({
        attempts: 3,
        lastStatusCode: 200,
        lastError: null,
        eventType: "budget.threshold",
      });
      expect(t.receiver.received.map((r) => r.answered)).toEqual([500, 500, 200]);
      // The same event each time (one id), each attempt signed afresh.
      expect(new Set(t.receiver.received.map((r) => r.body.id)).size).toBe(1);
      expect(t.receiver.received.every((r) => r.signatureValid)).toBe(true);
    } finally {
      await t.receiver.close();
    }
  });

  it("fires nothing twice when evaluations run at once, and delivers what a crash left unenqueued", async () => {
    const { api, waitFor } = platform;
    const t = await tenantWithUsage("budget-race");
    try {
      const amount = amountOf(t.total);
      // Five evaluations at once (as replicas, or a rerun after a crash, would), racing the scheduled one.
      const budget = await api.call("POST", "/v1/budgets", {
        token: t.token,
        body: {
          name: "race",
          scope: { type: "tenant" },
          amount,
          thresholds: [10, 20, 30, 40, 50],
          notify: { actual: true, forecast: false },
        },
      });
      expect(budget.status, budget.text).toBe(201);
      const runs = await Promise.all(
        Array.from({ length: 5 }, () => evaluateBudgets(api.deps.db, new Date())),
      );
      const alerts = await withSystem(api.deps.db, (tx) =>
        tx.execute<{ n: number; d: number }>(sql`
          select (select count(*)::int from budget_alerts where budget_id = ${budget.body.id}) as n,
                 (select count(*)::int from webhook_deliveries where tenant_id = ${t.tenantId}) as d`),
      );
      expect(alerts[0]).toEqual({ n: 5, d: 5 });
      // Whichever run fired an alert made its delivery; the others made none.
      expect(runs.flatMap((r) => r.deliveries).length).toBeLessThanOrEqual(5);
      expect(runs.flatMap((r) => r.failures)).toEqual([]);
      // Deliveries created by a run that never enqueued them (evaluateBudgets alone) still arrive:
      // the scheduled job enqueues every pending delivery.
      await waitFor("five webhooks", async () => t.receiver.received.length >= 5);
      await new Promise((r) => setTimeout(r, 2_000));
      expect(t.receiver.received).toHaveLength(5);
    } finally {
      await t.receiver.close();
    }
  });
});
