import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Gateway, startTestGateway } from "@berth/gateway/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Agents, demoManifest, hostPortBlock, startAgents } from "./agent-support";
import { type Platform, startPlatform } from "./harness";
import { ingress, selfSigned, tlsSecret } from "./tls-support";

/**
 * The ingress gateway end to end with real containers: two Services behind one Ingress with TLS
 * from the tenant's Secret, reached with curl (`--resolve`, `--cacert`) per host and path; plain
 * HTTP redirected (308); another tenant's claim of the host refused; a TLS Secret missing or of
 * the wrong type is a condition on the Ingress; a LoadBalancer Service reachable at the port its
 * status names.
 */
// biome-ignore lint/suspicious/noExplicitAny: tests read JSON replies freely; the assertions check them
type J = any;
let p: Platform;
let agents: Agents;
let gateway: Gateway;
const a = { token: "", clusterId: "" };
const b = { token: "", clusterId: "" };
const pem = selfSigned(["shop.example.com", "api.example.com"]);
const caFile = join(mkdtempSync(join(tmpdir(), "berth-ingress-")), "ca.pem");
writeFileSync(caFile, pem.crt);

const call = (t: typeof a, method: string, path: string, body?: unknown) =>
  p.api.call(method, `/v1/clusters/${t.clusterId}/${path}`, { token: t.token, ...(body ? { body } : {}) });

/** A demo-web pod answering `<name>-service` at `/` and at `/api/`. */
const site = (name: string) =>
  demoManifest(name, {
    container: {
      command: [
        "sh",
        "-c",
        `mkdir -p /tmp/www/api && echo ${name}-service > /tmp/www/index.html && cp /tmp/www/index.html /tmp/www/api/ && exec httpd -f -p 8080 -h /tmp/www`,
      ],
      ports: [{ name: "http", containerPort: 8080 }],
      readinessProbe: { httpGet: { path: "/", port: "http" }, periodSeconds: 1 },
    },
  });
const service = (name: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name },
  spec: { selector: { app: name }, ports: [{ name: "http", port: 80, targetPort: "http" }], ...extra },
});
const shop = ingress(
  "shop",
  [
    {
      host: "shop.example.com",
      paths: [
        { path: "/", pathType: "Prefix", service: "web" },
        { path: "/api", pathType: "Prefix", service: "api" },
      ],
    },
    { host: "api.example.com", service: "api" },
  ],
  { hosts: ["shop.example.com", "api.example.com"], secretName: "shop-tls" },
);

/** curl as a client would run it: `--resolve` the host to the gateway, trust the tenant's certificate. */
function curl(
  url: string,
  port: number,
  extra: string[] = [],
): Promise<{ code: number; body: string; location: string }> {
  const host = new URL(url).hostname;
  const args = ["-sS", "--max-time", "10", "--resolve", `${host}:${port}:127.0.0.1`, "--cacert", caFile];
  args.push("-o", "-", "-w", "\n%{http_code} %{redirect_url}", ...extra, url);
  return new Promise((resolve, reject) =>
    execFile("curl", args, (error, stdout, stderr) => {
      if (error) return reject(new Error(`curl ${url}: ${stderr || error.message}`));
      const lines = stdout.trimEnd().split("\n");
      const [code, location] = (lines.pop() ?? "").split(" ");
      resolve({ code: Number(code), body: lines.join("\n").trim(), location: location ?? "" });
    }),
  );
}

beforeAll(async () => {
  p = await startPlatform();
  agents = await startAgents(p);
  ({ token: a.token } = await p.api.tenant("gw-a"));
  ({ token: b.token } = await p.api.tenant("gw-b"));
  a.clusterId = await p.activeCluster(a.token, "a");
  b.clusterId = await p.activeCluster(b.token, "b");
  const join = await p.api.call("POST", `/v1/clusters/${a.clusterId}/join-tokens`, { token: a.token });
  await agents.start("a1", { joinToken: join.body.token, portRange: hostPortBlock(20) });
  gateway = await startTestGateway(p.api.deps.db, p.api.deps.master, { lbPorts: hostPortBlock(5) });
  const r = await call(a, "POST", "apply", [
    site("web"),
    site("api"),
    service("web"),
    service("api"),
    tlsSecret("shop-tls", pem),
    shop,
  ]);
  expect(r.status, r.text).toBe(200);
  await p.waitFor(
    "web and api pods ready",
    async () => {
      const pods = (await call(a, "GET", "pods?namespace=default")).body.items as J[];
      return pods.length === 2 && pods.every((x) => x.ready && x.status.podIP);
    },
    90_000,
  );
}, 150_000);
afterAll(async () => {
  await gateway?.stop();
  await agents?.close();
  await p?.close();
});

describe("an Ingress with TLS served by the gateway", () => {
  it("says in its status where it is served, as Kubernetes does, with its ports", async () => {
    const ing = await p.waitFor("the Ingress's status", async () => {
      const r = (await call(a, "GET", "ingresses/default/shop")).body;
      return r.status.loadBalancer.ingress ? r : undefined;
    });
    expect(ing.status.loadBalancer).toEqual({
      ingress: [
        {
          ip: "127.0.0.1",
          ports: [
            { port: gateway.httpPort, protocol: "TCP" },
            { port: gateway.httpsPort, protocol: "TCP" },
          ],
        },
      ],
    });
    expect(ing.status.conditions).toContainEqual(
      expect.objectContaining({ type: "berth.io/TLSReady", status: "True", reason: "CertificatesLoaded" }),
    );
    // Written once: refreshes that change nothing do not move the resourceVersion.
    await new Promise((resolve) => setTimeout(resolve, 700));
    const later = (await call(a, "GET", "ingresses/default/shop")).body;
    expect(later.metadata.resourceVersion).toBe(ing.metadata.resourceVersion);
  });

  it("routes by host and path over HTTPS with the tenant's certificate", async () => {
    const port = gateway.httpsPort;
    await p.waitFor("the gateway to reach the pods", async () => {
      const r = await curl(`https://shop.example.com:${port}/`, port).catch(() => undefined);
      return r?.code === 200;
    });
    expect(await curl(`https://shop.example.com:${port}/`, port)).toMatchObject({
      code: 200,
      body: "web-service",
    });
    expect(await curl(`https://shop.example.com:${port}/api/`, port)).toMatchObject({
      code: 200,
      body: "api-service",
    });
    expect(await curl(`https://shop.example.com:${port}/apix`, port)).toMatchObject({ code: 404 });
    expect(await curl(`https://api.example.com:${port}/`, port)).toMatchObject({
      code: 200,
      body: "api-service",
    });
  });

  it("redirects plain HTTP to HTTPS with a 308, and answers 404 for a host nobody serves", async () => {
    const port = gateway.httpPort;
    const r = await curl(`http://shop.example.com:${port}/api/?q=1`, port);
    expect(r.code).toBe(308);
    expect(r.location).toBe(`https://shop.example.com:${gateway.httpsPort}/api/?q=1`);
    expect((await curl(`http://nobody.example.com:${port}/`, port)).code).toBe(404);
  });

  it("refuses another tenant's Ingress for the same host with 409 HOST_CLAIMED", async () => {
    const r = await call(
      b,
      "PUT",
      "ingresses/default/steal",
      ingress("steal", [{ host: "shop.example.com" }]),
    );
    expect(r.status).toBe(409);
    expect(r.body.error.code).toBe("HOST_CLAIMED");
  });

  it("answers 503 for a backend without a ready endpoint", async () => {
    const r = await call(a, "POST", "apply", [
      service("empty"),
      ingress("empty", [{ host: "empty.example.com", service: "empty" }]),
    ]);
    expect(r.status, r.text).toBe(200);
    const port = gateway.httpPort;
    const got = await p.waitFor("a 503", async () => {
      const x = await curl(`http://empty.example.com:${port}/`, port);
      return x.code === 503 ? x : undefined;
    });
    expect(got.body).toContain("no ready endpoint");
  });
});

describe("per-route request counts and latency", () => {
  it("are readable by the tenant for its Ingress, per rule and status class, and by no other tenant", async () => {
    const port = gateway.httpsPort;
    for (let i = 0; i < 5; i++) await curl(`https://shop.example.com:${port}/api/`, port);
    const stats = await p.waitFor("the stats to be flushed", async () => {
      const r = await call(a, "GET", "ingresses/default/shop/stats?minutes=5");
      expect(r.status, r.text).toBe(200);
      const api = (r.body.routes as J[]).find((x) => x.path === "/api" && x.statusClass === "2xx");
      return api && api.requests >= 5 ? r.body : undefined;
    });
    const api = (stats.routes as J[]).find((x) => x.path === "/api" && x.statusClass === "2xx");
    expect(api).toMatchObject({ host: "shop.example.com", bytes: expect.any(Number) });
    expect(api.latencyBuckets.reduce((n: number, x: J) => n + x.requests, 0)).toBe(api.requests);
    expect(api.p99Ms).toBeGreaterThanOrEqual(api.p50Ms);
    const other = await p.api.call("GET", `/v1/clusters/${a.clusterId}/ingresses/default/shop/stats`, {
      token: b.token,
    });
    expect([403, 404]).toContain(other.status);
  });
});

describe("what can only be known later is a condition on the Ingress", () => {
  it("a missing TLS Secret: TLSReady False, reason SecretNotFound; the host is served over HTTP", async () => {
    const doc = ingress("nocert", [{ host: "nocert.example.com" }], {
      hosts: ["nocert.example.com"],
      secretName: "absent",
    });
    expect((await call(a, "PUT", "ingresses/default/nocert", doc)).status).toBe(200);
    const cond = await p.waitFor("the condition", async () => {
      const r = (await call(a, "GET", "ingresses/default/nocert")).body;
      return (r.status.conditions as J[] | undefined)?.find((c) => c.type === "berth.io/TLSReady");
    });
    expect(cond).toMatchObject({ status: "False", reason: "SecretNotFound" });
    expect(cond.message).toContain("default/absent");
    const port = gateway.httpPort;
    expect((await curl(`http://nocert.example.com:${port}/`, port)).body).toBe("web-service");
  });

  it("a certificate that does not cover the host: reason CertificateHostMismatch", async () => {
    const doc = ingress("mismatch", [{ host: "mismatch.example.com" }], {
      hosts: ["mismatch.example.com"],
      secretName: "shop-tls",
    });
    expect((await call(a, "PUT", "ingresses/default/mismatch", doc)).status).toBe(200);
    const cond = await p.waitFor("the condition", async () => {
      const r = (await call(a, "GET", "ingresses/default/mismatch")).body;
      return (r.status.conditions as J[] | undefined)?.find((c) => c.type === "berth.io/TLSReady");
    });
    expect(cond).toMatchObject({ status: "False", reason: "CertificateHostMismatch" });
  });

  it("a Secret of another type: reason SecretWrongType", async () => {
    const opaque = { apiVersion: "v1", kind: "Secret", metadata: { name: "opaque" }, stringData: { a: "b" } };
    const doc = ingress("wrongtype", [{ host: "wrongtype.example.com" }], {
      hosts: ["wrongtype.example.com"],
      secretName: "opaque",
    });
    expect((await call(a, "POST", "apply", [opaque, doc])).status).toBe(200);
    const cond = await p.waitFor("the condition", async () => {
      const r = (await call(a, "GET", "ingresses/default/wrongtype")).body;
      return (r.status.conditions as J[] | undefined)?.find((c) => c.type === "berth.io/TLSReady");
    });
    expect(cond).toMatchObject({ status: "False", reason: "SecretWrongType" });
  });
});

describe("a LoadBalancer Service", () => {
  it("gets a gateway port of its own, named in its status, that forwards to its endpoints", async () => {
    const lb = service("web", { type: "LoadBalancer" });
    lb.metadata.name = "web-lb";
    expect((await call(a, "PUT", "services/default/web-lb", lb)).status).toBe(200);
    const s = await p.waitFor("the Service's status", async () => {
      const r = (await call(a, "GET", "services/default/web-lb")).body;
      return r.status.loadBalancer.ingress ? r : undefined;
    });
    const [entry] = s.status.loadBalancer.ingress;
    expect(entry.ip).toBe("127.0.0.1");
    const port = entry.ports[0].port as number;
    expect(entry.ports).toEqual([{ port, protocol: "TCP" }]);
    expect(s.status.conditions).toContainEqual(
      expect.objectContaining({ type: "berth.io/ExternallyReachable", status: "True" }),
    );
    const r = await p.waitFor("the port to answer", async () => {
      const x = await curl(`http://127.0.0.1:${port}/`, port).catch(() => undefined);
      return x?.code === 200 ? x : undefined;
    });
    expect(r.body).toBe("web-service");
    // Applied again, it keeps its port; as ClusterIP it gives it back.
    expect((await call(a, "PUT", "services/default/web-lb", lb)).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(
      (await call(a, "GET", "services/default/web-lb")).body.status.loadBalancer.ingress[0].ports[0].port,
    ).toBe(port);
    const back = await call(a, "PUT", "services/default/web-lb", {
      ...lb,
      spec: { ...lb.spec, type: "ClusterIP" },
    });
    expect(back.status, back.text).toBe(200);
    await p.waitFor("the port to close", async () => {
      const x = await curl(`http://127.0.0.1:${port}/`, port).catch(() => undefined);
      return x === undefined;
    });
  });
});
