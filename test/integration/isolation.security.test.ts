import { type AnyOperation, operations } from "@berth/control-api/operations";
import { newId } from "@berth/core";
import { finalizeInvoices, HOUR_MS, hourOf, ingestUsageEvents, monthOf, rollupAll } from "@berth/db";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kindBodies } from "./catalog-bodies";
import { type Platform, startPlatform } from "./harness";

const manifest = {
  spec: {
    replicas: 2,
    template: {
      spec: {
        containers: [
          {
            name: "web",
            image: "localhost/berth/demo-web:latest",
            ports: [{ containerPort: 8080 }],
            resources: { requests: { cpu: "100m", memory: "32Mi" } },
          },
        ],
      },
    },
  },
};

/** A request body per write operation (using A's ids where it takes any); a new write operation without one fails the matrix. */
const bodyFor = (id: string): unknown => {
  const bodies: Record<string, unknown> = {
    "clusters.create": { name: "b-cluster" },
    // A's name: B's own tenant must not close (the name does not match B's).
    "tenant.close": { confirm: "tenant-a" },
    "tenant.update": { allowedImagePrefixes: ["localhost/"] },
    "clusters.createJoinToken": {},
    "clusters.rotateKey": {},
    "clusters.update": { scheduling: { scoringStrategy: { type: "MostAllocated" } } },
    "deployments.upsert": manifest,
    "pods.exec": { command: ["id"] },
    "deployments.rollback": { toRevision: 1 },
    "deployments.scale": { spec: { replicas: 5 } },
    "deployments.pause": {},
    "deployments.resume": {},
    "nodePools.create": { name: "b-pool", provider: "byo", desiredSize: 0 },
    "nodePools.update": { desiredSize: 0 },
    "nodes.drain": {},
    "nodes.cordon": {},
    "nodes.uncordon": {},
    "users.create": { email: `b-${Date.now()}@b.test`, password: "correct horse battery" },
    "users.update": { status: "disabled" },
    "serviceAccounts.create": { name: "b-sa" },
    "apiKeys.create": { principalId: params.userId },
    "policies.create": {
      name: "BPolicy",
      document: { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] },
    },
    "policies.attach": { principalId: params.userId },
    "iam.simulate": { principalId: params.userId, action: "cluster:Delete", resource: "*" },
    // A's cluster as the scope: B may not budget it.
    "budgets.create": {
      name: "b-budget",
      amount: "10",
      scope: { type: "cluster", clusterId: params.clusterId },
    },
    "budgets.update": { amount: "1" },
    "webhooks.create": { url: "https://hooks.example.com/b", events: ["budget.threshold"] },
  };
  return bodies[id] ?? kindBodies[id];
};
const hasBody = (id: string) => bodyFor(id) !== undefined;

const day = 86_400_000;
const usageRange = `?from=${new Date(Date.now() - day).toISOString()}&to=${new Date(Date.now() + day).toISOString()}`;

let p: Platform;
let a: { token: string; tenantId: string; userId: string };
let b: { token: string; tenantId: string };
let secrets: string[];
let params: Record<string, string>;
let nodeCredential: string;

beforeAll(async () => {
  p = await startPlatform();
  a = await p.api.tenant("tenant-a");
  b = await p.api.tenant("tenant-b");
  const clusterId = await p.activeCluster(a.token, "a-prod");
  const jt = await p.api.call("POST", `/v1/clusters/${clusterId}/join-tokens`, { token: a.token });
  const joined = await p.api.call("POST", "/v1/nodes/join", {
    body: {
      joinToken: jt.body.token,
      name: "a-node",
      capacity: { cpuMillis: 4000, memoryBytes: 4 * 1024 ** 3, pods: 20 },
      portRange: { min: 30000, max: 30099 },
      address: "127.0.0.1",
    },
  });
  nodeCredential = joined.body.credential;
  await p.api.call("PUT", `/v1/clusters/${clusterId}/deployments/default/web`, {
    token: a.token,
    body: manifest,
  });
  const placed = await p.waitFor("A's pods placed", async () => {
    const pods = await p.api.call("GET", `/v1/clusters/${clusterId}/pods`, { token: a.token });
    return (
      pods.body.items.length === 2 &&
      pods.body.items.every((x: { nodeId: string | null }) => x.nodeId) &&
      pods.body.items
    );
  });
  const dep = await p.api.call("GET", `/v1/clusters/${clusterId}/deployments/default/web`, {
    token: a.token,
  });
  const listed = await p.api.call("GET", `/v1/clusters/${clusterId}/join-tokens`, { token: a.token });
  const tokenId = listed.body.items[0]?.id as string;
  // A has an invoice: an hour of last month's usage, finalised.
  const now = new Date();
  const lastMonth = monthOf(new Date(monthOf(now).start.getTime() - 1)).start;
  const hour = hourOf(new Date(Math.max(lastMonth.getTime(), now.getTime() - 30 * 86_400_000)));
  const usage = {
    tenantId: a.tenantId,
    clusterId,
    namespace: "",
    meter: "cluster_hours",
    subjectId: clusterId,
  };
  await ingestUsageEvents(
    p.api.deps.db,
    [{ ...usage, id: "ue_isolation", hour, raw: BigInt(HOUR_MS), labels: {} }],
    now,
  );
  await rollupAll(p.api.deps.db);
  const [invoiceId = newId("invoice")] = await finalizeInvoices(p.api.deps.db, now);
  const budget = await p.api.call("POST", "/v1/budgets", {
    token: a.token,
    body: { name: "a-budget", amount: "1", scope: { type: "cluster", clusterId } },
  });
  const webhook = await p.api.call("POST", "/v1/webhooks", {
    token: a.token,
    body: { url: "https://a-hooks.example.com/berth", events: ["budget.threshold"] },
  });
  secrets = [
    clusterId,
    tokenId,
    joined.body.nodeId,
    dep.body.metadata.uid,
    ...placed.map((x: { id: string; name: string }) => x.id),
    "a-prod",
    "a-node",
    invoiceId,
    budget.body.id,
    "a-budget",
    webhook.body.id,
    "a-hooks.example.com",
  ];
  // A's ids where A has them; ids of the right shape that nobody has for the rest.
  params = {
    clusterId,
    namespace: "default",
    name: "web",
    nodeId: joined.body.nodeId,
    poolId: newId("nodePool"),
    machineId: newId("machine"),
    userId: a.userId,
    apiKeyId: newId("apiKey"),
    policyId: newId("policy"),
    principalId: a.userId,
    tokenId,
    invoiceId,
    budgetId: budget.body.id,
    webhookId: webhook.body.id,
  };
});
afterAll(() => p.close());

describe("tenant B cannot see or touch tenant A", () => {
  it("answers every tenant route called with A's ids with 403/404 or an empty result, and never with A's data", async () => {
    const covered: string[] = [];
    for (const op of Object.values(operations) as AnyOperation[]) {
      if (op.auth !== "user") continue;
      const path = op.path.replace(/:(\w+)/g, (_, k: string) => params[k] ?? "x");
      const query =
        (
          {
            "usage.get": usageRange,
            "pods.execInteractive": "?command=sh&stdin=true",
            "invoices.get": "?format=csv",
            "usage.chart": `?from=${monthOf(new Date()).start.toISOString()}&to=${monthOf(new Date()).end.toISOString()}`,
          } as Record<string, string>
        )[op.id] ?? "";
      if (op.method !== "GET" && op.method !== "DELETE")
        expect(hasBody(op.id), `a body for ${op.id}`).toBe(true);
      const body = bodyFor(op.id);
      const r = await p.api.call(op.method, path + query, { token: b.token, body });
      expect(r.status, `${op.id} → ${r.status} ${r.text}`).toBeLessThan(500);
      // Anything that names one of A's objects is refused; the rest works on B's own (empty) world.
      const sent = path + JSON.stringify(body ?? "");
      if (secrets.some((x) => sent.includes(x)))
        expect([403, 404], `${op.id} → ${r.status} ${r.text}`).toContain(r.status);
      // An error may repeat the id the caller sent; nothing else of A's may appear.
      for (const s of secrets)
        if (!(r.status >= 400 && sent.includes(s))) expect(r.text, `${op.id} leaks ${s}`).not.toContain(s);
      covered.push(op.id);
    }
    const tenantRoutes = Object.values(operations).filter((o) => o.auth === "user").length;
    expect(covered).toHaveLength(tenantRoutes);
    console.log(`cross-tenant matrix: ${covered.length} of ${tenantRoutes} tenant routes covered`);
  });

  it("left A's cluster, deployment and pods exactly as they were", async () => {
    const c = await p.api.call("GET", `/v1/clusters/${params.clusterId}`, { token: a.token });
    expect(c.body.status).toBe("active");
    const d = await p.api.call("GET", `/v1/clusters/${params.clusterId}/deployments/default/web`, {
      token: a.token,
    });
    expect(d.status).toBe(200);
    expect(d.body.metadata.deletionTimestamp).toBeNull();
  });

  it("shows B no usage of A", async () => {
    const r = await p.api.call("GET", `/v1/usage${usageRange}`, { token: b.token });
    expect(r.status).toBe(200);
    // B has no usage of A's (its own matrix cluster may or may not be active yet).
    expect(r.body.lines.every((l: { clusterId: string }) => l.clusterId !== params.clusterId)).toBe(true);
  });

  it("refuses a node credential on the tenant API, and a tenant token on the node API", async () => {
    expect((await p.api.call("GET", "/v1/clusters", { token: nodeCredential })).status).toBe(401);
    expect((await p.api.call("POST", "/v1/nodes/sync", { token: a.token, body: { pods: [] } })).status).toBe(
      401,
    );
  });

  it("refuses a node credential of cluster A for cluster B's nodes, and hides A's pods from B's node", async () => {
    const bCluster = await p.activeCluster(b.token, "b-prod");
    const jt = await p.api.call("POST", `/v1/clusters/${bCluster}/join-tokens`, { token: b.token });
    const bNode = await p.api.call("POST", "/v1/nodes/join", {
      body: {
        joinToken: jt.body.token,
        name: "b-node",
        capacity: { cpuMillis: 1000, memoryBytes: 1024 ** 3, pods: 10 },
        portRange: { min: 30000, max: 30099 },
        address: "127.0.0.1",
      },
    });
    // B's node reports A's pods as its own: it is told to stop them, and learns nothing about them.
    const aPods = secrets.filter((s) => s.startsWith("pod_"));
    const sync = await p.api.call("POST", "/v1/nodes/sync", {
      token: bNode.body.credential,
      body: { pods: aPods.map((podId) => ({ podId, state: "running", restarts: 0, ready: true })) },
    });
    expect(sync.status).toBe(200);
    expect(
      sync.body.pods.every(
        (x: { action: string; containers: unknown[] }) => x.action === "stop" && x.containers.length === 0,
      ),
    ).toBe(true);
    expect(sync.text).not.toContain("a-prod");
    const aView = await p.api.call("GET", `/v1/clusters/${params.clusterId}/pods`, { token: a.token });
    expect(aView.body.items.every((x: { phase: string }) => x.phase === "Pending")).toBe(true);
    // A re-signed credential with B's cluster id but A's key is refused.
    const [h, payload, sig] = nodeCredential.split(".");
    const claims = JSON.parse(Buffer.from(payload ?? "", "base64url").toString());
    const moved = Buffer.from(
      JSON.stringify({ ...claims, cid: bCluster, aud: `berth:cluster:${bCluster}` }),
    ).toString("base64url");
    expect(
      (await p.api.call("POST", "/v1/nodes/sync", { token: `${h}.${moved}.${sig}`, body: { pods: [] } }))
        .status,
    ).toBe(401);
  });
});
