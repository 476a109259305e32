import { newId } from "@berth/core";
import { clusters, HOUR_MS, hourOf, ingestUsageEvents, rollupAll, withSystem } from "@berth/db";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApi, TEST_PLATFORM_ADMIN_TOKEN, type TestApi } from "../src/testing";

let api: TestApi;
let tenant: { token: string; tenantId: string };
let clusterId: string;
const admin = { authorization: `Bearer ${TEST_PLATFORM_ADMIN_TOKEN}` };
const book = {
  currency: "EUR",
  prices: {
    cluster_hours: {
      tiers: [
        { upTo: 1, unitPrice: "2" },
        { upTo: null, unitPrice: "0.5" },
      ],
      freeUnitsPerMonth: 1,
    },
  },
};

beforeAll(async () => {
  api = await createTestApi();
  tenant = await api.tenant("priced");
  clusterId = newId("cluster");
  await withSystem(api.deps.db, (tx) =>
    tx.insert(clusters).values({ id: clusterId, tenantId: tenant.tenantId, name: "p" }),
  );
  // Three cluster-hours this month.
  const now = new Date();
  const start = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1);
  const hour = hourOf(new Date(Math.max(start, now.getTime() - HOUR_MS)));
  const events = [0, 1, 2].map((i) => ({
    id: `ue_admin_${i}`,
    tenantId: tenant.tenantId,
    clusterId,
    namespace: "",
    meter: "cluster_hours",
    subjectId: `c${i}`,
    hour,
    raw: BigInt(HOUR_MS),
    labels: {},
  }));
  await ingestUsageEvents(api.deps.db, events, now);
  await rollupAll(api.deps.db);
});
afterAll(() => api.close());

describe("price books (platform admin API)", () => {
  it("answers only the platform admin token", async () => {
    const variants: Record<string, string>[] = [
      {},
      { authorization: `Bearer ${tenant.token}` },
      { authorization: "Bearer nope" },
    ];
    for (const headers of variants) {
      const r = await api.call("GET", "/admin/v1/price-books", { headers });
      expect(r.status).toBe(401);
      expect(r.body.error.code).toBe("UNAUTHENTICATED");
    }
    expect((await api.call("GET", "/admin/v1/price-books", { headers: admin })).body.items).toEqual([]);
  });

  it("refuses malformed books and unknown tenants, naming the problem", async () => {
    const tenPlaces = { currency: "USD", prices: { node_hours: { unitPrice: "0.0000000001" } } };
    const r = await api.call("PUT", "/admin/v1/price-books/default", { headers: admin, body: tenPlaces });
    expect(r.status).toBe(400);
    expect(r.body.error.message).toMatch(/unitPrice/);
    const bad = await api.call("PUT", "/admin/v1/price-books/default", {
      headers: admin,
      body: { currency: "usd", prices: {} },
    });
    expect(bad.body.error.message).toMatch(/currency/);
    const unknown = await api.call("PUT", `/admin/v1/price-books/tenants/${newId("tenant")}`, {
      headers: admin,
      body: book,
    });
    expect(unknown.status).toBe(404);
  });

  it("prices a tenant's invoice with its override: currency, allowance and tiers", async () => {
    const put = await api.call("PUT", `/admin/v1/price-books/tenants/${tenant.tenantId}`, {
      headers: admin,
      body: book,
    });
    expect(put.status).toBe(200);
    const draftId = `draft-${new Date().toISOString().slice(0, 7)}`;
    const inv = (await api.call("GET", `/v1/invoices/${draftId}`, { token: tenant.token })).body;
    // 3 hours: 1 free, 1 at 2.00, 1 at 0.50.
    expect(inv).toMatchObject({ currency: "EUR", total: "2.500000", status: "draft" });
    expect(inv.lines).toMatchObject([
      { clusterId, meter: "cluster_hours", quantity: "3.000000", amount: "2.500000" },
    ]);
    const removed = await api.call("DELETE", `/admin/v1/price-books/tenants/${tenant.tenantId}`, {
      headers: admin,
    });
    expect(removed.status).toBe(200);
    const back = (await api.call("GET", `/v1/invoices/${draftId}`, { token: tenant.token })).body;
    expect(back).toMatchObject({ currency: "USD", total: "0.300000" });
  });
});
