import { afterAll, describe, expect, it } from "vitest";
import { createTestApi, type TestApi } from "../src/testing";

const apis: TestApi[] = [];
afterAll(async () => {
  for (const a of apis) await a.close();
});

describe("rate limits", () => {
  it("answers 429 with Retry-After past a principal's limit", async () => {
    const api = await createTestApi({ limits: { requestsPerMinutePerPrincipal: 5 } });
    apis.push(api);
    const t = await api.tenant("limited");
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++)
      statuses.push((await api.call("GET", "/v1/clusters?limit=50", { token: t.token })).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200]);
    const r = await api.call("GET", "/v1/clusters?limit=50", { token: t.token });
    expect(r.status).toBe(429);
    expect(r.body.error.code).toBe("RATE_LIMITED");
    expect(Number(r.headers.get("retry-after"))).toBeGreaterThan(0);
  });

  it("limits a tenant as a whole, across its principals", async () => {
    const api = await createTestApi({ limits: { requestsPerMinutePerTenant: 6 } });
    apis.push(api);
    const t = await api.tenant("crowded");
    const u = await api.call("POST", "/v1/users", {
      token: t.token,
      body: { email: "second@crowded.test", password: "a long enough password" },
    });
    await api.call("POST", "/v1/policies/ReadOnlyAccess/attachments", {
      token: t.token,
      body: { principalId: u.body.id },
    });
    const second = (
      await api.call("POST", "/v1/auth/token", {
        body: { email: "second@crowded.test", password: "a long enough password" },
      })
    ).body.accessToken;
    // The admin used 2 of the tenant's 6; the second user gets the other 4, then 429.
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++)
      statuses.push((await api.call("GET", "/v1/clusters?limit=50", { token: second })).status);
    expect(statuses).toEqual([200, 200, 200, 200, 429]);
    expect((await api.call("GET", "/v1/clusters?limit=50", { token: t.token })).status).toBe(429);
  });

  it("costs a list by the rows it may read: one unit per 50", async () => {
    const api = await createTestApi({ limits: { requestsPerMinutePerPrincipal: 25 } });
    apis.push(api);
    const t = await api.tenant("lister");
    // 10 units each: two fit in 25, the third does not.
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++)
      statuses.push((await api.call("GET", "/v1/clusters?limit=500", { token: t.token })).status);
    expect(statuses).toEqual([200, 200, 429]);
  });

  it("runs at most two large lists of one tenant at once, and lets another tenant's through", async () => {
    const api = await createTestApi();
    apis.push(api);
    const a = await api.tenant("flooder");
    const b = await api.tenant("neighbour");
    const held = [
      await api.deps.expensiveCalls.acquire(a.tenantId),
      await api.deps.expensiveCalls.acquire(a.tenantId),
    ];
    const started = Date.now();
    const third = api.call("GET", "/v1/clusters?limit=500", { token: a.token });
    const other = await api.call("GET", "/v1/clusters?limit=500", { token: b.token });
    expect(other.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(2_000);
    for (const release of held) release();
    expect((await third).status).toBe(200);
  });

  it("limits the public routes per address", async () => {
    const api = await createTestApi({ limits: { publicRequestsPerMinutePerIp: 3 } });
    apis.push(api);
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++)
      statuses.push(
        (
          await api.call("POST", "/v1/auth/token", {
            body: { email: "x@y.test", password: "whatever" },
            headers: { "x-forwarded-for": "192.0.2.1" },
          })
        ).status,
      );
    expect(statuses).toEqual([401, 401, 401, 429]);
    const other = await api.call("POST", "/v1/auth/token", {
      body: { email: "x@y.test", password: "whatever" },
      headers: { "x-forwarded-for": "192.0.2.2" },
    });
    expect(other.status).toBe(401);
  });
});
