import { deployments, events, podMetrics, withSystem } from "@berth/db";
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApi, type TestApi } from "../src/testing";
import { addPod, tenantWithNode, userWith, webDeployment } from "./workload-support";

/** The metrics pipeline's API: node batches in; top, series and Prometheus out; tenants apart. */
let api: TestApi;
type Tenant = Awaited<ReturnType<typeof tenantWithNode>>;
let a: Tenant;
let b: Tenant;
let deploymentId: string;
const pods: Record<string, string> = {};
const MIB = 1024 * 1024;

const at = (secondsAgo: number) => new Date(Date.now() - secondsAgo * 1000).toISOString();
/** Three 10 s samples of a pod at `millicores` and `mib`. */
const samples = (podId: string, millicores: number, mib: number) =>
  [25, 15, 5].map((ago) => ({
    podId,
    at: at(ago),
    windowMs: 10_000,
    cpuNanos: millicores * 10_000_000,
    memoryBytes: mib * MIB,
    rxBytes: 1_000,
    txBytes: 500,
    restarts: 1,
  }));
const nodeSamples = [25, 15, 5].map((ago) => ({
  at: at(ago),
  windowMs: 10_000,
  cpuNanos: 5_000_000_000,
  memoryBytes: 1024 * MIB,
  rxBytes: 1,
  txBytes: 1,
}));

beforeAll(async () => {
  api = await createTestApi();
  a = await tenantWithNode(api, "metrics-a");
  b = await tenantWithNode(api, "metrics-b");
  const web = await webDeployment(api, a);
  deploymentId = web.deploymentId;
  const template = web.template;
  for (const name of ["web-1", "web-2"])
    pods[name] = await addPod(api, {
      tenantId: a.tenantId,
      clusterId: a.clusterId,
      namespace: "default",
      name,
      template,
      owner: { kind: "Deployment", id: deploymentId },
      nodeId: a.nodeId,
    });
  pods.other = await addPod(api, {
    tenantId: b.tenantId,
    clusterId: b.clusterId,
    namespace: "default",
    name: "other",
    template,
    owner: { kind: "Job", id: "job_x" },
    nodeId: b.nodeId,
  });
});
afterAll(() => api.close());

const report = (t: Tenant, body: unknown) =>
  api.call("POST", "/v1/nodes/metrics", { token: t.credential, body });

describe("node batches", () => {
  it("stores the samples of the node's own pods and of the node, once", async () => {
    const body = {
      pods: [...samples(pods["web-1"] as string, 250, 50), ...samples(pods["web-2"] as string, 100, 30)],
      node: nodeSamples,
    };
    const first = await report(a, body);
    expect(first.status, first.text).toBe(200);
    expect(first.body).toEqual({ accepted: 9 });
    // The agent did not hear the answer and sends the batch again: nothing is stored twice.
    expect((await report(a, body)).body).toEqual({ accepted: 0 });
    const rows = await withSystem(api.deps.db, (tx) =>
      tx
        .select()
        .from(podMetrics)
        .where(eq(podMetrics.podId, pods["web-1"] as string)),
    );
    expect(rows.map((r) => [r.ownerId, r.memoryByteSeconds])).toEqual(
      Array(3).fill([deploymentId, BigInt(50 * MIB * 10)]),
    );
  });

  it("ignores samples of pods that are not on the reporting node (another tenant's included)", async () => {
    const r = await report(a, { pods: samples(pods.other as string, 900, 10), node: [] });
    expect(r.body).toEqual({ accepted: 0 });
    expect(
      (await report(b, { pods: samples(pods.other as string, 900, 10), node: nodeSamples })).body,
    ).toEqual({
      accepted: 6,
    });
  });

  it("stores nothing retention would never remove: samples older than the raw tier keeps, or from the future", async () => {
    const [sample] = samples(pods["web-2"] as string, 100, 30);
    const odd = [
      { ...sample, at: new Date(Date.now() - 2 * 3_600_000).toISOString() },
      { ...sample, at: "9999-01-01T00:00:00Z" },
    ];
    expect((await report(a, { pods: odd, node: [] })).body).toEqual({ accepted: 0 });
  });

  it("refuses unbounded or malformed batches with 4xx", async () => {
    const tooMany = { pods: Array(5_001).fill(samples(pods["web-1"] as string, 1, 1)[0]), node: [] };
    const big = await report(a, tooMany);
    expect([big.status, big.body.error.code]).toEqual([413, "PAYLOAD_TOO_LARGE"]);
    const negative = { pods: [{ ...samples(pods["web-1"] as string, 1, 1)[0], cpuNanos: -1 }], node: [] };
    const r = await report(a, negative);
    expect([r.status, r.body.error.code]).toEqual([400, "VALIDATION_FAILED"]);
  });
});

describe("top, series and Prometheus", () => {
  it("answers kubectl top pods and nodes from the latest samples", async () => {
    const top = await api.call("GET", `/v1/clusters/${a.clusterId}/metrics/pods`, { token: a.token });
    expect(top.status, top.text).toBe(200);
    expect(
      top.body.items.map((i: { name: string; cpuMillis: number; memoryBytes: number; usage: unknown }) => [
        i.name,
        i.cpuMillis,
        i.memoryBytes,
        i.usage,
      ]),
    ).toEqual([
      ["web-1", 250, 50 * MIB, { cpu: "250m", memory: "50Mi" }],
      ["web-2", 100, 30 * MIB, { cpu: "100m", memory: "30Mi" }],
    ]);
    const nodes = await api.call("GET", `/v1/clusters/${a.clusterId}/metrics/nodes`, { token: a.token });
    expect(nodes.body.items).toEqual([
      expect.objectContaining({ name: "metrics-a-node", cpuMillis: 500, cpuPercent: 25, memoryPercent: 25 }),
    ]);
  });

  it("gives a pod's and a deployment's series in 10 s steps for an hour", async () => {
    const pod = await api.call("GET", `/v1/clusters/${a.clusterId}/metrics/pods/default/web-1?window=1h`, {
      token: a.token,
    });
    expect(pod.status, pod.text).toBe(200);
    expect(pod.body.resolutionSeconds).toBe(10);
    expect(pod.body.points.map((p: { cpuMillis: number }) => p.cpuMillis)).toEqual([250, 250, 250]);
    const dep = await api.call(
      "GET",
      `/v1/clusters/${a.clusterId}/metrics/deployments/default/web?window=30m`,
      {
        token: a.token,
      },
    );
    expect(
      dep.body.points.map((p: { cpuMillis: number; memoryBytes: number; pods: number }) => [
        p.cpuMillis,
        p.memoryBytes,
        p.pods,
      ]),
    ).toEqual(Array(3).fill([350, 80 * MIB, 2]));
    const week = await api.call(
      "GET",
      `/v1/clusters/${a.clusterId}/metrics/deployments/default/web?window=7d`,
      {
        token: a.token,
      },
    );
    expect(week.body).toMatchObject({ resolutionSeconds: 3_600, points: [] });
  });

  it("refuses windows it does not keep, and unknown pods, with 4xx and a code", async () => {
    for (const w of ["36d", "10s", "1y", "-1h"]) {
      const r = await api.call("GET", `/v1/clusters/${a.clusterId}/metrics/pods/default/web-1?window=${w}`, {
        token: a.token,
      });
      expect([w, r.status, r.body.error.code]).toEqual([w, 400, "VALIDATION_FAILED"]);
    }
    const r = await api.call("GET", `/v1/clusters/${a.clusterId}/metrics/pods/default/nope`, {
      token: a.token,
    });
    expect([r.status, r.body.error.code]).toEqual([404, "NOT_FOUND"]);
  });

  it("serves the cluster's series in Prometheus' text format", async () => {
    const r = await api.call("GET", `/v1/clusters/${a.clusterId}/metrics/prometheus`, { token: a.token });
    expect(r.status, r.text).toBe(200);
    expect(r.headers.get("content-type")).toContain("text/plain; version=0.0.4");
    expect(r.text).toContain("# TYPE berth_pod_cpu_usage_cores gauge");
    expect(r.text).toMatch(
      /^berth_pod_cpu_usage_cores\{cluster="c",namespace="default",pod="web-1"\} 0\.25 \d+$/m,
    );
    expect(r.text).toMatch(
      /^berth_pod_memory_working_set_bytes\{cluster="c",namespace="default",pod="web-2"\} 31457280 \d+$/m,
    );
    expect(r.text).toMatch(/^berth_node_cpu_usage_cores\{cluster="c",node="metrics-a-node"\} 0\.5 \d+$/m);
  });
});

describe("tenant isolation and IAM", () => {
  it("never shows tenant A's series to tenant B", async () => {
    for (const path of [
      "metrics/pods",
      "metrics/nodes",
      "metrics/prometheus",
      "metrics/pods/default/web-1",
      "metrics/deployments/default/web",
    ]) {
      const r = await api.call("GET", `/v1/clusters/${a.clusterId}/${path}`, { token: b.token });
      expect([path, r.status]).toEqual([path, 404]);
    }
    const own = await api.call("GET", `/v1/clusters/${b.clusterId}/metrics/prometheus`, { token: b.token });
    expect(own.status).toBe(200);
    expect(own.text).toContain('pod="other"');
    expect(own.text).not.toContain("web-1");
    const top = await api.call("GET", `/v1/clusters/${b.clusterId}/metrics/pods`, { token: b.token });
    expect(top.body.items.map((i: { name: string }) => i.name)).toEqual(["other"]);
  });

  it("authorises every metrics call by its own action: read-only may, a policy without metrics may not", async () => {
    const viewer = await userWith(api, a.token, "ReadOnlyAccess");
    for (const path of ["metrics/pods", "metrics/nodes", "metrics/prometheus", "metrics/pods/default/web-1"])
      expect((await api.call("GET", `/v1/clusters/${a.clusterId}/${path}`, { token: viewer })).status).toBe(
        200,
      );
    const podsOnly = await userWith(api, a.token, {
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Action: ["pod:List", "deployment:*"], Resource: "*" }],
    });
    for (const path of [
      "metrics/pods",
      "metrics/nodes",
      "metrics/prometheus",
      "metrics/deployments/default/web",
    ]) {
      const r = await api.call("GET", `/v1/clusters/${a.clusterId}/${path}`, { token: podsOnly });
      expect([path, r.status, r.body.error?.code]).toEqual([path, 403, "FORBIDDEN"]);
    }
  });
});

describe("scraping with an API key", () => {
  it("takes the tenant's API key itself as bearer on the Prometheus endpoint only, and never another tenant's cluster", async () => {
    const key = (await api.call("POST", "/v1/api-keys", { token: a.token, body: {} })).body;
    const bearer = { authorization: `Bearer ${key.key}` };
    const scrape = await api.call("GET", `/v1/clusters/${a.clusterId}/metrics/prometheus`, {
      headers: bearer,
    });
    expect(scrape.status, scrape.text).toBe(200);
    expect(scrape.text).toContain('pod="web-1"');
    // Everywhere else a key must be exchanged for an access token first.
    const top = await api.call("GET", `/v1/clusters/${a.clusterId}/metrics/pods`, { headers: bearer });
    expect(top.status).toBe(401);
    const keyB = (await api.call("POST", "/v1/api-keys", { token: b.token, body: {} })).body;
    const cross = await api.call("GET", `/v1/clusters/${a.clusterId}/metrics/prometheus`, {
      headers: { authorization: `Bearer ${keyB.key}` },
    });
    expect(cross.status).toBe(404);
    expect(cross.text).not.toContain("web-1");
    await api.call("DELETE", `/v1/api-keys/${key.id}`, { token: a.token });
    const revoked = await api.call("GET", `/v1/clusters/${a.clusterId}/metrics/prometheus`, {
      headers: bearer,
    });
    expect([revoked.status, revoked.body.error.code]).toEqual([401, "UNAUTHENTICATED"]);
  });
});

describe("the scale subresource", () => {
  it("sets a deployment's replicas, with an event, through the autoscaler's path", async () => {
    const r = await api.call("PUT", `/v1/clusters/${a.clusterId}/deployments/default/web/scale`, {
      token: a.token,
      body: { spec: { replicas: 5 } },
    });
    expect(r.status, r.text).toBe(200);
    expect(r.body).toMatchObject({ kind: "Scale", spec: { replicas: 5 } });
    const [d] = await withSystem(api.deps.db, (tx) =>
      tx.select().from(deployments).where(eq(deployments.id, deploymentId)),
    );
    expect([d?.replicas, d?.generation]).toEqual([5, 2]);
    const ev = await withSystem(api.deps.db, (tx) =>
      tx
        .select()
        .from(events)
        .where(and(eq(events.objectUid, deploymentId), eq(events.reason, "Scaled"))),
    );
    expect(ev.map((e) => e.message)).toEqual(["scaled from 2 to 5 replicas"]);
    const bad = await api.call("PUT", `/v1/clusters/${a.clusterId}/deployments/default/web/scale`, {
      token: a.token,
      body: { spec: { replicas: -1 } },
    });
    expect(bad.status).toBe(400);
  });
});
