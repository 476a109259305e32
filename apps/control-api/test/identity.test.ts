import { auditEvents, withSystem } from "@berth/db";
import { systemRows } from "@berth/db/testing";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApi, type TestApi } from "../src/testing";

let api: TestApi;
let admin: Awaited<ReturnType<TestApi["tenant"]>>;
beforeAll(async () => {
  api = await createTestApi();
  admin = await api.tenant("identity");
});
afterAll(() => api.close());

const as = (token: string) => ({
  get: (path: string, headers: Record<string, string> = {}) => api.call("GET", path, { token, headers }),
  post: (path: string, body: unknown = {}, headers: Record<string, string> = {}) =>
    api.call("POST", path, { token, body, headers }),
  patch: (path: string, body: unknown) => api.call("PATCH", path, { token, body }),
  del: (path: string) => api.call("DELETE", path, { token }),
});

async function newUser(email: string) {
  const r = await as(admin.token).post("/v1/users", { email, password: "a long enough password" });
  expect(r.status).toBe(201);
  const t = await api.call("POST", "/v1/auth/token", { body: { email, password: "a long enough password" } });
  return {
    id: r.body.id as string,
    token: t.body.accessToken as string,
    refreshToken: t.body.refreshToken as string,
  };
}

describe("users and service accounts", () => {
  it("makes the tenant's first user an administrator", async () => {
    const me = await as(admin.token).get("/v1/me");
    expect(me.body).toMatchObject({
      tenantId: admin.tenantId,
      principal: { id: admin.userId, type: "user" },
      policies: [{ name: "AdministratorAccess" }],
    });
  });

  it("gives a new user nothing until a policy is attached (default deny)", async () => {
    const u = await newUser("nobody@identity.test");
    const denied = await as(u.token).get("/v1/clusters");
    expect(denied.status).toBe(403);
    expect(denied.body.error.message).toMatch(/cluster:List/);
    expect((await as(u.token).get("/v1/me")).status).toBe(200); // like STS GetCallerIdentity
    await as(admin.token).post("/v1/policies/ReadOnlyAccess/attachments", { principalId: u.id });
    expect((await as(u.token).get("/v1/clusters")).status).toBe(200);
    expect((await as(u.token).post("/v1/clusters", { name: "nope" })).status).toBe(403);
  });

  it("lets an explicit Deny win over AdministratorAccess", async () => {
    const u = await newUser("denied@identity.test");
    await as(admin.token).post("/v1/policies/AdministratorAccess/attachments", { principalId: u.id });
    const p = await as(admin.token).post("/v1/policies", {
      name: "NoClusterDelete",
      document: {
        Version: "2012-10-17",
        Statement: [{ Sid: "NoDelete", Effect: "Deny", Action: "cluster:Delete", Resource: "*" }],
      },
    });
    expect(p.status).toBe(201);
    await as(admin.token).post(`/v1/policies/${p.body.id}/attachments`, { principalId: u.id });
    const c = await as(u.token).post("/v1/clusters", { name: "keep-me" });
    expect(c.status).toBe(202);
    const del = await as(u.token).del(`/v1/clusters/${c.body.id}`);
    expect(del.status).toBe(403);
    expect(del.body.error.message).toMatch(/explicit Deny in NoClusterDelete \(NoDelete\)/);
    const sim = await as(admin.token).post("/v1/iam/simulate", {
      principalId: u.id,
      action: "cluster:Delete",
      resource: `brn:berth:${admin.tenantId}:cluster/${c.body.id}`,
    });
    expect(sim.body).toMatchObject({
      decision: "ExplicitDeny",
      allowed: false,
      decidingStatement: { policyName: "NoClusterDelete", sid: "NoDelete" },
    });
  });

  it("evaluates conditions on source IP, time and resource tags", async () => {
    const u = await newUser("conditional@identity.test");
    const doc = {
      Version: "2012-10-17",
      Statement: [
        {
          Sid: "Office",
          Effect: "Allow",
          Action: "cluster:List",
          Resource: "*",
          Condition: { IpAddress: { "berth:SourceIp": ["10.0.0.0/8"] } },
        },
        {
          Sid: "DevOnly",
          Effect: "Allow",
          Action: "cluster:Describe",
          Resource: "*",
          Condition: { StringEquals: { "berth:ResourceTag/env": "dev" } },
        },
        {
          Sid: "Expired",
          Effect: "Allow",
          Action: "usage:Read",
          Resource: "*",
          Condition: { DateLessThan: { "berth:CurrentTime": "2020-01-01T00:00:00Z" } },
        },
      ],
    };
    const p = await as(admin.token).post("/v1/policies", { name: "Conditional", document: doc });
    await as(admin.token).post(`/v1/policies/${p.body.id}/attachments`, { principalId: u.id });
    expect((await as(u.token).get("/v1/clusters", { "x-forwarded-for": "10.1.2.3" })).status).toBe(200);
    expect((await as(u.token).get("/v1/clusters", { "x-forwarded-for": "192.168.1.9" })).status).toBe(403);
    const dev = await as(admin.token).post("/v1/clusters", { name: "dev-1", tags: { env: "dev" } });
    const prod = await as(admin.token).post("/v1/clusters", { name: "prod-1", tags: { env: "prod" } });
    expect((await as(u.token).get(`/v1/clusters/${dev.body.id}`)).status).toBe(200);
    expect((await as(u.token).get(`/v1/clusters/${prod.body.id}`)).status).toBe(403);
    expect(
      (await as(u.token).get("/v1/usage?from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00Z")).status,
    ).toBe(403);
  });

  it("disables a user at once: its tokens stop working", async () => {
    const u = await newUser("leaver@identity.test");
    expect((await as(u.token).get("/v1/me")).status).toBe(200);
    expect((await as(admin.token).patch(`/v1/users/${u.id}`, { status: "disabled" })).status).toBe(200);
    expect((await as(u.token).get("/v1/me")).status).toBe(401);
    expect(
      (await api.call("POST", "/v1/auth/refresh", { body: { refreshToken: u.refreshToken } })).status,
    ).toBe(401);
    expect(
      (
        await api.call("POST", "/v1/auth/token", {
          body: { email: "leaver@identity.test", password: "a long enough password" },
        })
      ).status,
    ).toBe(401);
  });

  it("deletes a user, but never yourself", async () => {
    const u = await newUser("gone@identity.test");
    expect((await as(admin.token).del(`/v1/users/${u.id}`)).status).toBe(200);
    expect((await as(u.token).get("/v1/me")).status).toBe(401);
    expect((await as(admin.token).del(`/v1/users/${admin.userId}`)).status).toBe(400);
  });

  it("gives service accounts API keys: shown once, stored hashed, revocable, last use recorded", async () => {
    const sa = await as(admin.token).post("/v1/service-accounts", { name: "ci", description: "deploys" });
    expect(sa.status).toBe(201);
    await as(admin.token).post("/v1/policies/ClusterAdmin/attachments", { principalId: sa.body.id });
    const key = await as(admin.token).post("/v1/api-keys", { principalId: sa.body.id, name: "ci-key" });
    expect(key.status).toBe(201);
    expect(key.body.key).toMatch(/^brk_ak_[0-9a-z]{26}_/);
    const stored = await systemRows(
      api.deps.db,
      sql`select secret_hash from api_keys where id = ${key.body.id}`,
    );
    expect(JSON.stringify(stored)).not.toContain(key.body.key.split("_").at(-1));
    const listed = await as(admin.token).get("/v1/api-keys");
    expect(JSON.stringify(listed.body)).not.toContain(key.body.key);
    const t = await api.call("POST", "/v1/auth/token", { body: { apiKey: key.body.key } });
    expect(t.status).toBe(200);
    expect(t.body.refreshToken).toBeUndefined();
    const me = await as(t.body.accessToken).get("/v1/me");
    expect(me.body.principal).toMatchObject({ id: sa.body.id, type: "serviceAccount" });
    expect((await as(t.body.accessToken).get("/v1/clusters")).status).toBe(200); // ClusterAdmin
    expect((await as(t.body.accessToken).get("/v1/users")).status).toBe(403); // ...and nothing of IAM
    const after = await as(admin.token).get(`/v1/api-keys?principalId=${sa.body.id}`);
    expect(after.body.items[0].lastUsedAt).not.toBeNull();
    expect((await as(admin.token).del(`/v1/api-keys/${key.body.id}`)).status).toBe(200);
    expect((await as(t.body.accessToken).get("/v1/me")).status).toBe(401);
    expect((await api.call("POST", "/v1/auth/token", { body: { apiKey: key.body.key } })).status).toBe(401);
  });

  it("refuses an expired API key", async () => {
    const key = await as(admin.token).post("/v1/api-keys", {
      expiresAt: new Date(Date.now() + 1500).toISOString(),
    });
    expect(key.status).toBe(201);
    await new Promise((r) => setTimeout(r, 1600));
    expect((await api.call("POST", "/v1/auth/token", { body: { apiKey: key.body.key } })).status).toBe(401);
  });
});

describe("sessions", () => {
  it("rotates refresh tokens and revokes the whole family when a spent one is reused", async () => {
    const u = await newUser("refresher@identity.test");
    const first = await api.call("POST", "/v1/auth/refresh", { body: { refreshToken: u.refreshToken } });
    expect(first.status).toBe(200);
    expect(first.body.refreshToken).not.toBe(u.refreshToken);
    // The stolen, already-spent token is presented again: the family dies, the legitimate new token too.
    expect(
      (await api.call("POST", "/v1/auth/refresh", { body: { refreshToken: u.refreshToken } })).status,
    ).toBe(401);
    expect(
      (await api.call("POST", "/v1/auth/refresh", { body: { refreshToken: first.body.refreshToken } }))
        .status,
    ).toBe(401);
  });

  it("throttles failed sign-ins per account with 429 and Retry-After", async () => {
    await newUser("target@identity.test");
    for (let i = 0; i < 5; i++)
      expect(
        (
          await api.call("POST", "/v1/auth/token", {
            body: { email: "target@identity.test", password: `wrong-${i}` },
          })
        ).status,
      ).toBe(401);
    const blocked = await api.call("POST", "/v1/auth/token", {
      body: { email: "target@identity.test", password: "a long enough password" },
    });
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get("retry-after"))).toBeGreaterThan(0);
  });
});

describe("the audit log", () => {
  it("records writes and failed authentication, with principal, action, resource, result and address", async () => {
    await api.call("POST", "/v1/clusters", {
      token: admin.token,
      body: { name: "audited" },
      headers: { "x-forwarded-for": "203.0.113.7" },
    });
    await api.call("GET", "/v1/clusters", {
      token: "not-a-token-at-all",
      headers: { "x-forwarded-for": "198.51.100.1" },
    });
    await api.call("POST", "/v1/auth/token", { body: { email: admin.email, password: "wrong password!" } });
    const log = await as(admin.token).get("/v1/audit-events?limit=100");
    const create = log.body.items.find((e: { action: string }) => e.action === "cluster:Create");
    expect(create).toMatchObject({
      principalId: admin.userId,
      result: "success",
      status: 202,
      sourceIp: "203.0.113.7",
      resource: `brn:berth:${admin.tenantId}:cluster/*`,
    });
    expect(create.requestId).toBeTruthy();
    const failedLogin = log.body.items.find(
      (e: { action: string; result: string }) => e.action === "auth:IssueToken" && e.result === "failure",
    );
    expect(failedLogin).toMatchObject({
      principalId: admin.userId,
      errorCode: "UNAUTHENTICATED",
      status: 401,
    });
    const all = await withSystem(api.deps.db, (tx) => tx.select().from(auditEvents));
    expect(
      all.some(
        (e) =>
          e.errorCode === "UNAUTHENTICATED" && e.sourceIp === "198.51.100.1" && e.action === "cluster:List",
      ),
    ).toBe(true);
  });

  it("writes a change's entry in the transaction that makes the change, and no success entry for a change refused", async () => {
    const xminOf = async (query: ReturnType<typeof sql>) =>
      ((await systemRows(api.deps.db, query))[0] as { xmin: string } | undefined)?.xmin;
    const created = await api.call("POST", "/v1/clusters", {
      token: admin.token,
      body: { name: "atomic" },
      headers: { "x-request-id": "audit-atomic-1" },
    });
    expect(created.status).toBe(202);
    // Rows written by one transaction carry its id as xmin.
    const change = await xminOf(sql`select xmin::text from clusters where id = ${created.body.id}`);
    const entry = await xminOf(sql`select xmin::text from audit_events where request_id = 'audit-atomic-1'`);
    expect(change).toBeDefined();
    expect(entry).toBe(change);
    const again = await api.call("POST", "/v1/clusters", {
      token: admin.token,
      body: { name: "atomic" },
      headers: { "x-request-id": "audit-atomic-2" },
    });
    expect(again.status).toBe(409);
    const entries = await systemRows(
      api.deps.db,
      sql`select result, status from audit_events where request_id = 'audit-atomic-2'`,
    );
    expect(entries).toEqual([{ result: "failure", status: "409" }]);
  });

  it("filters and pages", async () => {
    const page1 = await as(admin.token).get("/v1/audit-events?limit=2&action=cluster:Create");
    expect(page1.body.items.length).toBeLessThanOrEqual(2);
    for (const e of page1.body.items) expect(e.action).toBe("cluster:Create");
  });

  it("is append-only, even for the platform's own role", async () => {
    const attempt = (q: string) =>
      withSystem(api.deps.db, (tx) => tx.execute(q as never)).then(
        () => "ok",
        (e: Error) => String(e.cause ?? e),
      );
    expect(await attempt("update audit_events set result = 'success'")).toMatch(/append-only/);
    expect(await attempt("delete from audit_events")).toMatch(/erased only with their closed tenant/);
  });
});
