import { eraseClosedTenants } from "@berth/db";
import { systemRows } from "@berth/db/testing";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Platform, startPlatform } from "./harness";

let p: Platform;
let a: Awaited<ReturnType<Platform["api"]["tenant"]>>;
let b: Awaited<ReturnType<Platform["api"]["tenant"]>>;
let clusterId: string;
let apiKey: string;

beforeAll(async () => {
  p = await startPlatform();
  a = await p.api.tenant("closing");
  b = await p.api.tenant("staying");
  clusterId = await p.activeCluster(a.token, "doomed");
  await p.activeCluster(b.token, "kept");
  const k = await p.api.call("POST", "/v1/api-keys", { token: a.token, body: {} });
  apiKey = k.body.key;
});
afterAll(() => p.close());

const countsOf = async (tenantId: string) =>
  (
    await systemRows(
      p.api.deps.db,
      sql`select (select count(*) from users where tenant_id = ${tenantId})::int as users,
                 (select count(*) from clusters where tenant_id = ${tenantId})::int as clusters,
                 (select count(*) from events where tenant_id = ${tenantId})::int as events,
                 (select count(*) from audit_events where tenant_id = ${tenantId})::int as audit,
                 (select count(*) from tenants where id = ${tenantId})::int as tenants`,
    )
  )[0];

describe("closing a tenant", () => {
  it("refuses without the tenant's name typed again", async () => {
    const r = await p.api.call("POST", "/v1/tenant/close", { token: a.token, body: { confirm: "staying" } });
    expect(r.status).toBe(400);
    expect((await p.api.call("GET", "/v1/tenant", { token: a.token })).body.status).toBe("active");
  });

  it("locks every principal out, revokes keys, and deletes its clusters", async () => {
    const r = await p.api.call("POST", "/v1/tenant/close", { token: a.token, body: { confirm: "closing" } });
    expect(r.status).toBe(202);
    expect(r.body.status).toBe("closed");
    expect(r.body.clustersDeleting).toEqual([clusterId]);
    expect((await p.api.call("GET", "/v1/clusters", { token: a.token })).status).toBe(401);
    expect(
      (await p.api.call("POST", "/v1/auth/token", { body: { email: a.email, password: a.password } })).status,
    ).toBe(401);
    expect((await p.api.call("POST", "/v1/auth/token", { body: { apiKey } })).status).toBe(401);
    expect(
      (await p.api.call("POST", "/v1/auth/refresh", { body: { refreshToken: a.refreshToken } })).status,
    ).toBe(401);
    await p.waitFor("the closed tenant's cluster deleted", async () => {
      const [row] = await systemRows(p.api.deps.db, sql`select status from clusters where id = ${clusterId}`);
      return row?.status === "deleted";
    });
    // The other tenant is untouched.
    expect((await p.api.call("GET", "/v1/clusters", { token: b.token })).body.items).toHaveLength(1);
  });

  it("erases its data, audit log included, only after the retention has passed", async () => {
    const before = await countsOf(a.tenantId);
    expect(before).toMatchObject({ tenants: 1, users: 1, clusters: 1 });
    expect(before?.audit).toBeGreaterThan(0);
    expect(await eraseClosedTenants(p.api.deps.db, new Date())).toEqual([]);
    // The retention passes (the database itself checks it before it lets audit records go).
    await systemRows(
      p.api.deps.db,
      sql`update tenants set erase_after = now() - interval '1 second' where id = ${a.tenantId}`,
    );
    expect(await eraseClosedTenants(p.api.deps.db, new Date())).toEqual([a.tenantId]);
    expect(await countsOf(a.tenantId)).toEqual({ users: 0, clusters: 0, events: 0, audit: 0, tenants: 0 });
    expect((await countsOf(b.tenantId))?.tenants).toBe(1);
    // Its name and email are free again.
    const again = await p.api.call("POST", "/v1/signup", {
      body: { tenantName: "closing", email: a.email, password: "correct horse battery staple" },
    });
    expect(again.status).toBe(201);
  });
});
