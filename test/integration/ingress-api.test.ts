import { ingressHosts, withTenant } from "@berth/db";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Platform, startPlatform } from "./harness";
import { ingress, selfSigned, tlsSecret } from "./tls-support";

/**
 * Ingress through the API, no containers: the kubectl shape stored and served, host claims across
 * tenants and clusters (409 HOST_CLAIMED, released on delete or change), wildcard hosts only under
 * the tenant's own subdomain of the apps domain, and `kubernetes.io/tls` Secrets checked at write.
 */
// biome-ignore lint/suspicious/noExplicitAny: tests read JSON replies freely; the assertions check them
type J = any;
let p: Platform;
const a = { token: "", tenantId: "", clusterId: "" };
const a2 = { token: "", tenantId: "", clusterId: "" };
const b = { token: "", tenantId: "", clusterId: "" };

beforeAll(async () => {
  p = await startPlatform();
  ({ token: a.token, tenantId: a.tenantId } = await p.api.tenant("ing-a"));
  ({ token: b.token, tenantId: b.tenantId } = await p.api.tenant("ing-b"));
  Object.assign(a2, { token: a.token, tenantId: a.tenantId });
  a.clusterId = await p.activeCluster(a.token, "a");
  a2.clusterId = await p.activeCluster(a.token, "a2");
  b.clusterId = await p.activeCluster(b.token, "b");
}, 60_000);
afterAll(() => p?.close());

const call = (t: typeof a, method: string, path: string, body?: unknown) =>
  p.api.call(method, `/v1/clusters/${t.clusterId}/${path}`, { token: t.token, ...(body ? { body } : {}) });
const put = (t: typeof a, doc: J) => call(t, "PUT", `ingresses/default/${doc.metadata.name}`, doc);
const issue = (r: { body: J }) => r.body.error.issues?.[0]?.path ?? r.body.error.message;
const subdomain = (t: typeof a) => `${t.tenantId.replaceAll("_", "-")}.apps.berth.localhost`;

describe("Ingress objects", () => {
  it("are stored and served in the networking.k8s.io/v1 shape, through PUT, apply and list", async () => {
    const doc = ingress("shop", [{ host: "shop.example.com", service: "web" }]);
    const r = await put(a, doc);
    expect(r.status, r.text).toBe(200);
    expect(r.body).toMatchObject({ apiVersion: "networking.k8s.io/v1", kind: "Ingress", spec: doc.spec });
    expect(r.body.status.loadBalancer).toEqual({});
    const applied = await call(a, "POST", "apply", [ingress("docs", [{ host: "docs.example.com" }])]);
    expect(applied.status, applied.text).toBe(200);
    const list = await call(a, "GET", "ingresses?namespace=default");
    expect(list.body.items.map((i: J) => i.metadata.name)).toEqual(["docs", "shop"]);
  });

  it("refuses an invalid host or path with a 400 naming the field", async () => {
    const bad = await put(a, ingress("bad", [{ host: "10.1.2.3" }]));
    expect(bad.status).toBe(400);
    expect(issue(bad)).toBe("spec.rules[0].host");
    const rel = await put(
      a,
      ingress("bad", [
        { host: "x.example.com", paths: [{ path: "api", pathType: "Prefix", service: "web" }] },
      ]),
    );
    expect(rel.status).toBe(400);
    expect(issue(rel)).toBe("spec.rules[0].http.paths[0].path");
  });
});

describe("host claims", () => {
  it("refuse a host another tenant's Ingress holds with 409 HOST_CLAIMED, without showing whose", async () => {
    const r = await put(b, ingress("mine", [{ host: "shop.example.com" }]));
    expect(r.status).toBe(409);
    expect(r.body.error.code).toBe("HOST_CLAIMED");
    expect(r.body.error.message).toContain("another tenant");
    expect(r.body.error.message).not.toContain(a.clusterId);
  });

  it("cannot be read by another tenant, not even through its own SQL (row-level security)", async () => {
    const seen = (tenantId: string) =>
      withTenant(p.api.deps.db, tenantId, (tx) =>
        tx
          .select({ host: ingressHosts.host })
          .from(ingressHosts)
          .where(eq(ingressHosts.host, "shop.example.com")),
      );
    expect(await seen(a.tenantId)).toEqual([{ host: "shop.example.com" }]);
    expect(await seen(b.tenantId)).toEqual([]);
  });

  it("refuse it for another cluster of the same tenant, but let Ingresses of one cluster share it", async () => {
    const other = await put(a2, ingress("shop", [{ host: "shop.example.com" }]));
    expect(other.status).toBe(409);
    expect(other.body.error.code).toBe("HOST_CLAIMED");
    const sibling = await put(
      a,
      ingress("shop-api", [
        { host: "shop.example.com", paths: [{ path: "/api", pathType: "Prefix", service: "api" }] },
      ]),
    );
    expect(sibling.status, sibling.text).toBe(200);
  });

  it("are released when no Ingress of the cluster lists the host any more (change, then delete)", async () => {
    expect((await put(a, ingress("shop-api", [{ host: "api.example.com" }]))).status).toBe(200);
    expect((await put(b, ingress("mine", [{ host: "shop.example.com" }]))).status).toBe(409);
    expect((await call(a, "DELETE", "ingresses/default/shop")).status).toBe(200);
    const now = await put(b, ingress("mine", [{ host: "shop.example.com" }]));
    expect(now.status, now.text).toBe(200);
    expect((await put(a, ingress("shop", [{ host: "shop.example.com" }]))).status).toBe(409);
  });

  it("allow wildcards only under the tenant's own subdomain of the apps domain (403 naming the host)", async () => {
    const own = await put(a, ingress("wild", [{ host: `*.${subdomain(a)}` }]));
    expect(own.status, own.text).toBe(200);
    const other = await put(b, ingress("wild", [{ host: `*.${subdomain(a)}` }]));
    expect(other.status).toBe(403);
    expect(issue(other)).toBe("spec.rules[0].host");
    const anywhere = await put(b, ingress("wild", [{ host: "*.example.org" }]));
    expect(anywhere.status).toBe(403);
    expect(issue(anywhere)).toBe("spec.rules[0].host");
    const squat = await put(b, ingress("squat", [{ host: `www.${subdomain(a)}` }]));
    expect(squat.status).toBe(403);
    expect((await put(b, ingress("wild", [{ host: `*.${subdomain(b)}` }]))).status).toBe(200);
  });
});

describe("kubernetes.io/tls Secrets", () => {
  const pem = selfSigned(["shop.example.com"]);
  const secret = (name: string, s: J) => call(a, "PUT", `secrets/default/${name}`, s);

  it("are admitted with a certificate and its key", async () => {
    const r = await secret("shop-tls", tlsSecret("shop-tls", pem));
    expect(r.status, r.text).toBe(200);
  });

  it("are refused with 400 naming data[tls.key] when the key is not the certificate's", async () => {
    const other = selfSigned(["shop.example.com"]);
    const r = await secret("mixed", tlsSecret("mixed", { crt: pem.crt, key: other.key }));
    expect(r.status).toBe(400);
    expect(issue(r)).toBe("data[tls.key]");
  });

  it("are refused with 400 naming data[tls.crt] when the certificate expired or is not PEM", async () => {
    const expired = await secret("old", tlsSecret("old", selfSigned(["old.example.com"], { expired: true })));
    expect(expired.status).toBe(400);
    expect(issue(expired)).toBe("data[tls.crt]");
    expect(expired.body.error.message).toContain("expired");
    const junk = await secret("junk", tlsSecret("junk", { crt: "not a certificate", key: pem.key }));
    expect(junk.status).toBe(400);
    expect(issue(junk)).toBe("data[tls.crt]");
  });
});
