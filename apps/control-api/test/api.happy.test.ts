import { decodeProtectedHeader } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApi, TEST_METRICS_TOKEN, type TestApi } from "../src/testing";

let api: TestApi;
beforeAll(async () => {
  api = await createTestApi();
});
afterAll(() => api.close());

describe("sign-up, tokens and clusters", () => {
  it("signs up a tenant and its first user", async () => {
    const r = await api.call("POST", "/v1/signup", {
      body: { tenantName: "acme", email: "Owner@Acme.test", password: "correct horse battery" },
    });
    expect(r.status).toBe(201);
    expect(r.body.tenant).toEqual({ id: expect.stringMatching(/^ten_/), name: "acme" });
    expect(r.body.user).toEqual({ id: expect.stringMatching(/^usr_/), email: "owner@acme.test" });
  });

  it("issues an EdDSA access token whose key is in the JWKS", async () => {
    const r = await api.call("POST", "/v1/auth/token", {
      body: { email: "owner@acme.test", password: "correct horse battery" },
    });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ tokenType: "Bearer", expiresIn: 900 });
    const header = decodeProtectedHeader(r.body.accessToken);
    expect(header.alg).toBe("EdDSA");
    const jwks = await api.call("GET", "/.well-known/jwks.json");
    expect(jwks.body.keys.map((k: { kid: string }) => k.kid)).toContain(header.kid);
    expect(JSON.stringify(jwks.body)).not.toMatch(/"d":/); // never the private half
  });

  it("creates a cluster as provisioning, lists it and reads it back", async () => {
    const { token } = await api.tenant("clusters");
    const created = await api.call("POST", "/v1/clusters", { token, body: { name: "prod" } });
    expect(created.status).toBe(202);
    expect(created.body).toMatchObject({
      id: expect.stringMatching(/^cl_/),
      name: "prod",
      status: "provisioning",
    });
    const list = await api.call("GET", "/v1/clusters", { token });
    expect(list.body.items.map((c: { id: string }) => c.id)).toEqual([created.body.id]);
    const one = await api.call("GET", `/v1/clusters/${created.body.id}`, { token });
    expect(one.body).toMatchObject({ id: created.body.id, status: "provisioning" });
    const job = await api.deps.queues.get("clusters").getJob(`provision-${created.body.id}`);
    expect(job?.data).toEqual({ tenantId: expect.stringMatching(/^ten_/), clusterId: created.body.id });
  });

  it("serves the same operations over tRPC", async () => {
    const { token } = await api.tenant("trpc");
    const res = await api.app.request("/trpc/clusters.create", {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "via-trpc" }),
    });
    expect(res.status).toBe(200);
    const created = ((await res.json()) as { result: { data: { id: string; status: string } } }).result.data;
    expect(created.status).toBe("provisioning");
    const rest = await api.call("GET", `/v1/clusters/${created.id}`, { token });
    expect(rest.body.name).toBe("via-trpc");
  });

  it("answers health, readiness and metrics", async () => {
    expect((await api.call("GET", "/healthz")).status).toBe(200);
    const ready = await api.call("GET", "/readyz");
    expect(ready.body).toEqual({ status: "ready", checks: { postgres: "ok", redis: "ok" } });
    expect((await api.call("GET", "/metrics")).status).toBe(401);
    expect((await api.call("GET", "/metrics", { token: "not-the-metrics-token-at-all" })).status).toBe(401);
    const metrics = await api.call("GET", "/metrics", { token: TEST_METRICS_TOKEN });
    expect(metrics.text).toMatch(/http_requests_total\{[^}]*route="\/v1\/clusters"/);
  });

  it("describes every operation in its OpenAPI document", async () => {
    const doc = await api.call("GET", "/v1/openapi.json");
    expect(doc.body.openapi).toBe("3.1.0");
    const ids = Object.values(
      doc.body.paths as Record<string, Record<string, { operationId: string }>>,
    ).flatMap((p) => Object.values(p).map((o) => o.operationId));
    expect(ids).toContain("deployments.upsert");
    expect(ids).toContain("usage.get");
  });
});
