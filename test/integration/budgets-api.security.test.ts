import { decryptSecret } from "@berth/core";
import { webhookDeliveries, webhookEndpoints, withSystem } from "@berth/db";
import { createTestProvisionerDeps } from "@berth/provisioner/testing";
import { deliverWebhook } from "@berth/provisioner/webhooks";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seedCluster, startReceiver } from "./budgets-support";
import { type Platform, startPlatform } from "./harness";

let platform: Platform;
let owner: Awaited<ReturnType<Platform["api"]["tenant"]>>;
let other: Awaited<ReturnType<Platform["api"]["tenant"]>>;
let receiver: Awaited<ReturnType<typeof startReceiver>>;
beforeAll(async () => {
  // The provisioner delivers to public addresses only, as in production; the API still takes
  // http://127.0.0.1 endpoints (a test receiver), so the refusal at delivery is what is seen.
  platform = await startPlatform({ webhooks: { allowLoopback: false } });
  owner = await platform.api.tenant("budget-owner");
  other = await platform.api.tenant("budget-other");
  receiver = await startReceiver();
});
afterAll(async () => {
  await receiver.close();
  await platform.close();
});

const budget = (over: Record<string, unknown> = {}) => ({
  name: "monthly",
  amount: "100",
  scope: { type: "tenant" },
  ...over,
});

describe("budgets and webhooks: input, isolation, secrets", () => {
  it("answers 400 naming the field of each bad input", async () => {
    const { api } = platform;
    const cases: [Record<string, unknown>, string][] = [
      [budget({ amount: "-5" }), "amount"],
      [budget({ amount: "0" }), "amount"],
      [budget({ amount: 100 }), "amount"],
      [budget({ amount: "1.1234567" }), "amount"],
      [budget({ name: "Not_DNS" }), "name"],
      [budget({ name: "x".repeat(64) }), "name"],
      [budget({ thresholds: [0] }), "thresholds.0"],
      [budget({ thresholds: [50, 50] }), "thresholds"],
      [budget({ thresholds: [] }), "thresholds"],
      [budget({ currency: "usd" }), "currency"],
      [budget({ currency: "EUR" }), "currency"],
      [budget({ scope: { type: "cluster", clusterId: "nope" } }), "scope.clusterId"],
      [budget({ scope: { type: "label", key: "team", value: "red" } }), "scope.key"],
      [budget({ scope: { type: "project" } }), "scope.type"],
      [budget({ notify: { actual: "yes" } }), "notify.actual"],
      [budget({ owner: "me" }), ""],
    ];
    for (const [body, path] of cases) {
      const r = await api.call("POST", "/v1/budgets", { token: owner.token, body });
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.error.code).toBe("VALIDATION_FAILED");
      if (path)
        expect(
          r.body.error.issues.map((i: { path: string }) => i.path),
          JSON.stringify(body),
        ).toContain(path);
    }
    // A cluster of another tenant is no cluster of this one.
    const theirs = await seedCluster(api.deps.db, other.tenantId, "theirs");
    const r = await api.call("POST", "/v1/budgets", {
      token: owner.token,
      body: budget({ scope: { type: "cluster", clusterId: theirs } }),
    });
    expect(r.status).toBe(404);
    const hooks: [Record<string, unknown>, string][] = [
      [{ url: "http://example.com/hook", events: ["budget.threshold"] }, "must be https"],
      [{ url: "https://10.1.2.3/hook", events: ["budget.threshold"] }, "private"],
      [{ url: "https://169.254.169.254/latest/meta-data", events: ["budget.threshold"] }, "private"],
      [{ url: "https://[::ffff:192.168.0.1]/", events: ["budget.threshold"] }, "private"],
      [{ url: "https://user:pw@example.com/", events: ["budget.threshold"] }, "credentials"],
      [{ url: "not a url", events: ["budget.threshold"] }, "absolute URL"],
      [{ url: "https://example.com/", events: ["invoice.paid"] }, ""],
      [{ url: "https://example.com/", events: [] }, ""],
    ];
    for (const [body, message] of hooks) {
      const h = await api.call("POST", "/v1/webhooks", { token: owner.token, body });
      expect(h.status, JSON.stringify(body)).toBe(400);
      expect(h.body.error.code).toBe("VALIDATION_FAILED");
      if (message)
        expect(h.body.error.issues[0]).toMatchObject({
          path: "url",
          message: expect.stringContaining(message),
        });
    }
  });

  it("limits a tenant to 20 budgets and refuses a second budget of the same name", async () => {
    const { api } = platform;
    const t = await api.tenant("budget-limit");
    for (let i = 0; i < 20; i++)
      expect(
        (await api.call("POST", "/v1/budgets", { token: t.token, body: budget({ name: `b-${i}` }) })).status,
      ).toBe(201);
    const over = await api.call("POST", "/v1/budgets", { token: t.token, body: budget({ name: "b-20" }) });
    expect(over.body.error.code).toBe("QUOTA_EXCEEDED");
    await api.call(
      "DELETE",
      `/v1/budgets/${(await api.call("GET", "/v1/budgets", { token: t.token })).body.items[0].id}`,
      {
        token: t.token,
      },
    );
    const dup = await api.call("POST", "/v1/budgets", { token: t.token, body: budget({ name: "b-1" }) });
    expect(dup.status).toBe(400);
    expect(dup.body.error.issues[0].path).toBe("name");
  });

  it("answers 404 for another tenant's budget, webhook and delivery log, and lists none of them", async () => {
    const { api } = platform;
    const b = await api.call("POST", "/v1/budgets", {
      token: owner.token,
      body: budget({ name: "private" }),
    });
    const h = await api.call("POST", "/v1/webhooks", {
      token: owner.token,
      body: { url: receiver.url, events: ["budget.threshold"] },
    });
    expect([b.status, h.status]).toEqual([201, 201]);
    const as = { token: other.token };
    expect((await api.call("GET", `/v1/budgets/${b.body.id}`, as)).status).toBe(404);
    expect((await api.call("GET", `/v1/budgets/${b.body.id}/events`, as)).status).toBe(404);
    expect(
      (await api.call("PATCH", `/v1/budgets/${b.body.id}`, { ...as, body: { amount: "1" } })).status,
    ).toBe(404);
    expect((await api.call("DELETE", `/v1/budgets/${b.body.id}`, as)).status).toBe(404);
    expect((await api.call("GET", `/v1/webhooks/${h.body.id}/deliveries`, as)).status).toBe(404);
    expect((await api.call("DELETE", `/v1/webhooks/${h.body.id}`, as)).status).toBe(404);
    expect((await api.call("GET", "/v1/budgets", as)).body.items).toEqual([]);
    expect((await api.call("GET", "/v1/webhooks", as)).body.items).toEqual([]);
    // Still the owner's, unchanged.
    expect((await api.call("GET", `/v1/budgets/${b.body.id}`, { token: owner.token })).body.amount).toBe(
      "100.000000",
    );
  });

  it("shows the signing secret once and stores it only sealed under the master key", async () => {
    const { api } = platform;
    const h = await api.call("POST", "/v1/webhooks", {
      token: owner.token,
      body: { url: receiver.url, events: ["budget.threshold"] },
    });
    expect(h.body.secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    const listed = await api.call("GET", "/v1/webhooks", { token: owner.token });
    expect(listed.text).not.toContain(h.body.secret);
    const [row] = await withSystem(api.deps.db, (tx) =>
      tx.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, h.body.id)),
    );
    expect(row?.secretSealed).toMatch(/^v1\./);
    expect(JSON.stringify(row)).not.toContain(h.body.secret);
    expect(JSON.stringify(row)).not.toContain(h.body.secret.slice(6));
    expect(decryptSecret(api.deps.master, row?.secretSealed ?? "", h.body.id)).toBe(h.body.secret);
    // Sealed for this endpoint: copied to another row it does not open.
    expect(() => decryptSecret(api.deps.master, row?.secretSealed ?? "", "wh_other")).toThrow();
  });

  it("refuses to deliver to a loopback address unless allowed, for good and logged", async () => {
    const { api } = platform;
    const strict = createTestProvisionerDeps({ ...api.deps, webhooks: { allowLoopback: false } });
    const before = receiver.received.length;
    // An address in the URL is checked as it is; a name is resolved, every address checked, and
    // the connection pinned to what was checked.
    for (const [url, n] of [
      [receiver.url, "b"],
      [receiver.url.replace("127.0.0.1", "localhost"), "c"],
    ] as const) {
      const h = await api.call("POST", "/v1/webhooks", {
        token: owner.token,
        body: { url, events: ["budget.threshold"] },
      });
      const deliveryId = `whd_01m8z3n3rfd0wgrqz4mfc2a6y${n}`;
      const eventId = `bal_01m8z3n3rfd0wgrqz4mfc2a6y${n}`;
      await withSystem(api.deps.db, (tx) =>
        tx.insert(webhookDeliveries).values({
          id: deliveryId,
          tenantId: owner.tenantId,
          endpointId: h.body.id,
          eventId,
          eventType: "budget.threshold",
          body: JSON.stringify({ id: eventId, type: "budget.threshold", created: 0, data: {} }),
        }),
      );
      // A direct attempt is refused before any connection, as a permanent failure (unless the
      // job the evaluation enqueues for every pending delivery got there first)…
      const direct = await deliverWebhook(strict, { tenantId: owner.tenantId, deliveryId }).catch(
        (e: unknown) => e,
      );
      if (direct instanceof Error)
        expect(direct).toMatchObject({
          retryable: false,
          message: expect.stringMatching(/refused: .* is a loopback address/),
        });
      else expect(direct).toEqual({ status: "skipped" });
      // …and the delivery is failed for good, unretried, its log saying why.
      const failed = await platform.waitFor("the delivery failed", async () => {
        const log = await api.call("GET", `/v1/webhooks/${h.body.id}/deliveries`, { token: owner.token });
        return log.body.items[0]?.status === "failed" ? log.body.items[0] : null;
      });
      expect(failed).toMatchObject({ id: deliveryId, lastStatusCode: null, completedAt: expect.any(String) });
      expect(failed.attempts).toBeLessThanOrEqual(2);
      expect(failed.lastError).toMatch(/loopback/);
    }
    expect(receiver.received.length).toBe(before);
  });
});
