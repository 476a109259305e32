import { type AnyOperation, operations } from "@berth/control-api/operations";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kindBodies } from "./catalog-bodies";
import { type Platform, startPlatform } from "./harness";

/**
 * Hostile input against every operation of the catalog, over REST and over tRPC: NUL bytes, lone
 * surrogates, malformed percent-encoding, extreme numbers and dates, wrong types, oversized and
 * deeply nested bodies, in every path parameter, query parameter and body field. Whatever comes
 * back must be a 4xx in the one envelope: never a 5xx, never a stack trace.
 */
const hostileStrings = [
  "\u0000",
  "a\u0000b",
  "\ud800",
  "x\udfff",
  "0000-01-01T00:00:00Z",
  "-271821-04-20T00:00:00Z",
  "9999999999999999999999",
  "1e309",
  "-1",
  "NaN",
  "x".repeat(5_000),
  "../../etc/passwd",
  "'; drop table tenants; --",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: an IAM policy variable, sent as text
  "${berth:TenantId}",
];
const hostileValues: unknown[] = [
  ...hostileStrings,
  1e308,
  -1e308,
  2 ** 53 + 1,
  -0,
  0.5,
  true,
  null,
  [],
  {},
  ["\u0000"],
  { "\u0000": 1 },
];
/** Path segments as they arrive raw: Hono decodes them, which must never throw a 500. */
const hostileSegments = ["%00", "a%00b", "%ED%A0%80", "%E0%A4%A", "%", "x".repeat(300), "%2e%2e", "cl_%00"];

function deep(levels: number): unknown {
  let v: unknown = "leaf";
  for (let i = 0; i < levels; i++) v = { a: v };
  return v;
}

const manifest = {
  spec: {
    replicas: 1,
    template: {
      spec: {
        containers: [
          {
            name: "web",
            image: "localhost/berth/demo-web:latest",
            env: [{ name: "A", value: "b" }],
            resources: { requests: { cpu: "100m", memory: "32Mi" } },
          },
        ],
      },
    },
  },
};

/** A plausible body per write operation; the fuzz varies one field at a time. */
function bodyFor(op: AnyOperation, ids: Record<string, string>): Record<string, unknown> {
  const bodies: Record<string, Record<string, unknown>> = {
    "auth.signup": { tenantName: "fuzz-x", email: "fuzz-x@example.test", password: "correct horse battery" },
    "auth.token": { email: "a@b.test", password: "whatever" },
    "auth.refresh": { refreshToken: "brt_0123456789" },
    "auth.logout": { refreshToken: "brt_0123456789" },
    "tenant.close": { confirm: "not-the-name" },
    "tenant.update": { allowedImagePrefixes: ["localhost/", "registry.example/team/"] },
    "clusters.create": { name: "fuzz", tags: { team: "a" } },
    "clusters.createJoinToken": { ttlSeconds: 600 },
    "clusters.update": { tags: { team: "b" }, scheduling: { scoringStrategy: { type: "MostAllocated" } } },
    "nodePools.create": { name: "p", provider: "byo", desiredSize: 0, labels: { a: "b" } },
    "nodePools.update": { desiredSize: 1 },
    "nodes.join": {
      joinToken: "bjt_0123456789",
      name: "n",
      capacity: { cpuMillis: 1000, memoryBytes: 1024 ** 3, pods: 10 },
      portRange: { min: 30000, max: 30010 },
      address: "127.0.0.1",
    },
    "nodes.sync": { pods: [{ podId: "pod_x", state: "running", restarts: 0, ready: true }] },
    "nodes.metrics": {
      pods: [
        {
          podId: "pod_x",
          at: "2026-01-01T00:00:10Z",
          windowMs: 10_000,
          cpuNanos: 1,
          memoryBytes: 2,
          rxBytes: 3,
          txBytes: 4,
          restarts: 0,
        },
      ],
      node: [
        { at: "2026-01-01T00:00:10Z", windowMs: 10_000, cpuNanos: 1, memoryBytes: 2, rxBytes: 3, txBytes: 4 },
      ],
    },
    "deployments.scale": { spec: { replicas: 2 } },
    "deployments.upsert": manifest,
    "pods.exec": { command: ["sh", "-c", "id"], timeoutSeconds: 5 },
    "deployments.rollback": { toRevision: 1 },
    "users.create": { email: "fuzz@example.test", password: "correct horse battery" },
    "users.update": { status: "active" },
    "serviceAccounts.create": { name: "fuzz", description: "d" },
    "apiKeys.create": { name: "k", expiresAt: "2030-01-01T00:00:00Z" },
    "policies.create": {
      name: "Fuzz",
      description: "d",
      document: { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] },
    },
    "policies.attach": { principalId: ids.userId },
    "iam.simulate": { principalId: ids.userId, action: "cluster:List", resource: "*", context: { a: "b" } },
  };
  return bodies[op.id] ?? kindBodies[op.id] ?? {};
}

/** Query parameters a read may take, with plausible values. */
const queryFor: Record<string, Record<string, string>> = {
  "usage.get": {
    from: "2026-01-01T00:00:00Z",
    to: "2026-02-01T00:00:00Z",
    format: "json",
    groupBy: "cluster,label:team,day",
    namespace: "default",
    meter: "pod_vcpu_seconds",
    label: "team=red",
  },
  "invoices.get": { format: "json" },
  "usage.chart": { from: "2026-01-01T00:00:00Z", to: "2026-02-01T00:00:00Z", groupBy: "label:team" },
  "audit.list": { from: "2026-01-01T00:00:00Z", to: "2026-02-01T00:00:00Z", limit: "10" },
  "pods.logs": { container: "web", tailLines: "10", sinceSeconds: "60", timestamps: "true" },
  "pods.execInteractive": { command: "sh", stdin: "true", tty: "true" },
  // Never a long poll here: every request answers at once.
  "nodes.streams": { waitMs: "0" },
  "pods.list": { limit: "10", namespace: "default", labelSelector: "app=web,tier in (a,b)" },
  "events.list": { limit: "10", namespace: "default", involvedObject: "Deployment/web" },
  "deployments.list": { limit: "10", namespace: "default", labelSelector: "!canary" },
  ...Object.fromEntries(
    [
      "configmaps",
      "secrets",
      "resourcequotas",
      "limitranges",
      "jobs",
      "cronjobs",
      "poddisruptionbudgets",
      "horizontalpodautoscalers",
      "networkpolicies",
    ].map((p) => [`${p}.list`, { limit: "10", namespace: "default", labelSelector: "app=web" }]),
  ),
  "namespaces.list": { limit: "10", labelSelector: "team" },
  "metrics.pods": { limit: "10", namespace: "default" },
  "metrics.nodes": {},
  "metrics.prometheus": {},
  "metrics.podSeries": { window: "1h", end: "2026-01-01T00:00:00Z" },
  "metrics.deploymentSeries": { window: "7d" },
  "priorityclasses.list": { limit: "10", labelSelector: "tier=high" },
};

/** Every leaf path of a value: ["spec", "template", …]. */
function leaves(value: unknown, path: (string | number)[] = []): (string | number)[][] {
  if (typeof value !== "object" || value === null) return [path];
  const entries = Array.isArray(value) ? value.map((v, i) => [i, v] as const) : Object.entries(value);
  const out: (string | number)[][] = path.length > 0 ? [path] : [];
  for (const [k, v] of entries) out.push(...leaves(v, [...path, k]));
  return out;
}

function setAt(value: unknown, path: (string | number)[], replacement: unknown): unknown {
  if (path.length === 0) return replacement;
  const [head, ...rest] = path as [string | number, ...(string | number)[]];
  const copy = (Array.isArray(value) ? [...value] : { ...(value as Record<string, unknown>) }) as Record<
    string | number,
    unknown
  >;
  copy[head] = setAt((value as Record<string | number, unknown>)[head], rest, replacement);
  return copy;
}

/** Runs the thunks `width` at a time (requests overlap their database round trips). */
async function inParallel(thunks: (() => Promise<unknown>)[], width = 6): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < thunks.length) await thunks[next++]?.();
  };
  await Promise.all(Array.from({ length: width }, worker));
}

let p: Platform;
let token: string;
let nodeCredential: string;
const ids: Record<string, string> = {};

beforeAll(async () => {
  p = await startPlatform();
  const t = await p.api.tenant("fuzz-tenant");
  token = t.token;
  ids.userId = t.userId;
  ids.invoiceId = `draft-${new Date().toISOString().slice(0, 7)}`;
  ids.clusterId = await p.activeCluster(token, "fuzz-cluster");
  const jt = await p.api.call("POST", `/v1/clusters/${ids.clusterId}/join-tokens`, {
    token,
    body: { maxUses: 10 },
  });
  const joined = await p.api.call("POST", "/v1/nodes/join", {
    body: {
      joinToken: jt.body.token,
      name: "fuzz-node",
      capacity: { cpuMillis: 1000, memoryBytes: 1024 ** 3, pods: 10 },
      portRange: { min: 30000, max: 30010 },
      address: "127.0.0.1",
    },
  });
  nodeCredential = joined.body.credential;
  ids.nodeId = joined.body.nodeId;
  ids.namespace = "default";
  ids.name = "web";
  ids.policyId = "ReadOnlyAccess";
  ids.principalId = t.userId;
});
afterAll(() => p.close());

interface Outcome {
  op: string;
  transport: "rest" | "trpc";
  what: string;
  status: number;
  text: string;
}

function expectNoServerError(outcomes: Outcome[]): void {
  const bad = outcomes.filter((o) => o.status >= 500 || /at \w+ \(|\.ts:\d+/.test(o.text));
  expect(bad.map((o) => `${o.transport} ${o.op} ${o.what} → ${o.status} ${o.text.slice(0, 200)}`)).toEqual(
    [],
  );
}

describe("hostile input over every route", () => {
  it("never answers 5xx over REST: path, query and body fields", async () => {
    const outcomes: Outcome[] = [];
    for (const op of Object.values(operations) as AnyOperation[]) {
      const auth = op.auth === "user" ? token : op.auth === "node" ? nodeCredential : undefined;
      const params = [...op.path.matchAll(/:(\w+)/g)].map((m) => m[1] as string);
      const pathWith = (override: Record<string, string>) =>
        op.path.replace(/:(\w+)/g, (_, k: string) => override[k] ?? encodeURIComponent(ids[k] ?? "x"));
      // Requests are queued, then sent a few at a time (one operation's variations together).
      const queued: (() => Promise<void>)[] = [];
      const send = (what: string, path: string, body?: unknown, headers?: Record<string, string>) =>
        queued.push(async () => {
          const r = await p.api.call(op.method, path, { token: auth, body, headers });
          outcomes.push({ op: op.id, transport: "rest", what, status: r.status, text: r.text });
        });
      const reads = op.method === "GET" || op.method === "DELETE";
      const base = bodyFor(op, ids);
      for (const param of params)
        for (const seg of hostileSegments) send(`${param}=${seg}`, pathWith({ [param]: seg }));
      if (reads) {
        const query = queryFor[op.id] ?? { limit: "10" };
        for (const key of [...Object.keys(query), "cursor", "unknown"])
          for (const v of hostileStrings) {
            const q = new URLSearchParams({ ...query, [key]: v });
            send(`?${key}=${JSON.stringify(v).slice(0, 20)}`, `${pathWith({})}?${q}`);
          }
      } else {
        for (const leaf of leaves(base))
          for (const v of hostileValues)
            send(`${leaf.join(".")}=${JSON.stringify(v)?.slice(0, 20)}`, pathWith({}), setAt(base, leaf, v));
        send("deep body", pathWith({}), deep(200));
        send("wide body", pathWith({}), { ...base, many: Array.from({ length: 30_000 }, () => 1) });
        send("array body", pathWith({}), [base]);
        send("string body", pathWith({}), JSON.stringify("\u0000"));
        send("yaml aliases", pathWith({}), "a: &a [x]\nb: *a\n", {
          "content-type": "application/yaml",
        });
      }
      await inParallel(queued);
    }
    expectNoServerError(outcomes);
    console.log(
      `fuzz (REST): ${outcomes.length} requests over ${Object.keys(operations).length} operations, 0 × 5xx`,
    );
  }, 600_000);

  it("never answers 5xx over tRPC, single calls and batches", async () => {
    const outcomes: Outcome[] = [];
    const call = async (op: AnyOperation, input: unknown, what: string) => {
      const auth = op.auth === "user" ? token : op.auth === "node" ? nodeCredential : undefined;
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (auth) headers.authorization = `Bearer ${auth}`;
      const query = op.method === "GET";
      const res = query
        ? await p.api.app.request(`/trpc/${op.id}?input=${encodeURIComponent(JSON.stringify(input))}`, {
            headers,
          })
        : await p.api.app.request(`/trpc/${op.id}`, { method: "POST", headers, body: JSON.stringify(input) });
      outcomes.push({ op: op.id, transport: "trpc", what, status: res.status, text: await res.text() });
    };
    for (const op of Object.values(operations) as AnyOperation[]) {
      const params = Object.fromEntries(
        [...op.path.matchAll(/:(\w+)/g)].map((m) => [m[1] as string, ids[m[1] as string] ?? "x"]),
      );
      const reads = op.method === "GET" || op.method === "DELETE";
      const base = reads ? { ...params, ...(queryFor[op.id] ?? {}) } : { ...params, ...bodyFor(op, ids) };
      const input = op.bodyAs ? { ...params, [op.bodyAs]: bodyFor(op, ids) } : base;
      await inParallel(
        leaves(input).flatMap((leaf) =>
          hostileValues.map((v) => () => call(op, setAt(input, leaf, v), `${leaf.join(".")}`)),
        ),
      );
      await call(op, deep(200), "deep input");
      if (op.method !== "GET") {
        const auth = op.auth === "user" ? token : op.auth === "node" ? nodeCredential : undefined;
        const res = await p.api.app.request(`/trpc/${op.id}`, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            ...(auth ? { authorization: `Bearer ${auth}` } : {}),
          },
          body: "{not json",
        });
        outcomes.push({
          op: op.id,
          transport: "trpc",
          what: "malformed JSON",
          status: res.status,
          text: await res.text(),
        });
      }
      await call(op, "\u0000", "string input");
    }
    // Batches: over the size limit, and of procedures that do not exist.
    const batch = async (paths: string[], what: string) => {
      const body = Object.fromEntries(paths.map((_, i) => [i, { email: "a@b.test", password: "x" }]));
      const res = await p.api.app.request(`/trpc/${paths.join(",")}?batch=1`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      const text = await res.text();
      outcomes.push({ op: "batch", transport: "trpc", what, status: res.status, text });
      return { status: res.status, text };
    };
    const tooBig = await batch(Array(50).fill("auth.token"), "50-call batch");
    expect(tooBig.status).toBe(400);
    const missing = await batch(Array(5).fill("no.such.procedure"), "unknown procedures");
    expect(missing.status).toBe(404);
    expect(missing.text).toContain("ROUTE_NOT_FOUND");
    for (const [method, type, status, code] of [
      ["PUT", "application/json", 405, "METHOD_NOT_ALLOWED"],
      ["PUT", "text/plain", 415, "UNSUPPORTED_MEDIA_TYPE"],
    ] as const) {
      const res = await p.api.app.request("/trpc/clusters.list", {
        method,
        headers: { "content-type": type },
        body: "{}",
      });
      const text = await res.text();
      outcomes.push({
        op: "clusters.list",
        transport: "trpc",
        what: `${method} ${type}`,
        status: res.status,
        text,
      });
      expect(res.status, text).toBe(status);
      expect(text).toContain(code);
    }
    expectNoServerError(outcomes);
    console.log(`fuzz (tRPC): ${outcomes.length} requests, 0 × 5xx`);
  }, 600_000);
});
