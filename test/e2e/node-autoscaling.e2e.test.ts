import { systemRows } from "@berth/db/testing";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Cloud, startCloud, startCloudProvisioner } from "./cloud";
import { poll } from "./support";

/**
 * The node autoscaler against the EC2-compatible endpoint, with instances that take 3 s to boot
 * and real node agents running real containers: 20 pending pods grow the pool that wastes least
 * by exactly the nodes they need (and nothing more while the instances boot); once the load is
 * gone the nodes are given back, drained under a PodDisruptionBudget, down to what the pods left need.
 */
let cloud: Cloud;
let stopProvisioner: () => Promise<void>;
let token: string;
let clusterId: string;
const pools: Record<string, string> = {};
const figures: Record<string, number | string> = {};

const call = (method: string, path: string, body?: unknown) => cloud.api.call(method, path, { token, body });
const poolOf = async (name: string) =>
  (await call("GET", `/v1/clusters/${clusterId}/node-pools/${pools[name]}`)).body;
const machinesOf = async (name: string) =>
  (
    await systemRows(
      cloud.api.deps.db,
      sql`select id, status from machines where pool_id = ${pools[name] ?? ""} order by created_at`,
    )
  ).map((r) => ({ id: String(r.id), status: String(r.status) }));
const webPods = async () =>
  (
    (await call("GET", `/v1/clusters/${clusterId}/pods`)).body.items as {
      name: string;
      phase: string;
      ready: boolean;
      nodeId: string | null;
    }[]
  ).filter((p) => p.name.startsWith("web-"));
const eventsOf = async (reason: string) =>
  (
    await systemRows(
      cloud.api.deps.db,
      sql`select object_name, message, count from events where cluster_id = ${clusterId} and reason = ${reason} order by created_at`,
    )
  ).map((r) => ({ name: String(r.object_name), message: String(r.message), count: Number(r.count) }));

const web = (replicas: number) => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "web" },
  spec: {
    replicas,
    selector: { matchLabels: { app: "web" } },
    template: {
      metadata: { labels: { app: "web" } },
      spec: {
        containers: [
          {
            name: "web",
            image: "localhost/berth/demo-web:latest",
            ports: [{ containerPort: 8080 }],
            resources: { requests: { cpu: "1500m", memory: "1Gi" } },
          },
        ],
      },
    },
  },
});

beforeAll(async () => {
  cloud = await startCloud({ pendingMs: 3_000 });
  stopProvisioner = await startCloudProvisioner(cloud, { drainTimeoutMs: 60_000 });
  ({ token } = await cloud.api.tenant("autoscaling"));
  const c = await call("POST", "/v1/clusters", {
    name: "elastic",
    autoscalerProfile: { scaleDownUnneededTimeSeconds: 5, scaleDownDelayAfterAddSeconds: 5 },
  });
  expect(c.body.autoscalerProfile).toEqual({
    expander: "least-waste",
    scaleDownUtilizationThreshold: 0.5,
    scaleDownUnneededTimeSeconds: 5,
    scaleDownDelayAfterAddSeconds: 5,
  });
  clusterId = c.body.id;
  await poll(
    "cluster active",
    async () => (await call("GET", `/v1/clusters/${clusterId}`)).body.status === "active",
  );
  for (const [name, instanceType, maxSize] of [
    ["small", "small", 10],
    ["large", "large", 5],
  ] as const) {
    const r = await call("POST", `/v1/clusters/${clusterId}/node-pools`, {
      name,
      provider: "ec2",
      instanceType,
      autoscaling: { enabled: true, minSize: 0, maxSize },
    });
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({ desiredSize: 0, autoscaling: { enabled: true, minSize: 0, maxSize } });
    pools[name] = r.body.id;
  }
}, 120_000);

afterAll(async () => {
  console.log(`node autoscaling figures: ${JSON.stringify(figures)}`);
  await stopProvisioner?.();
  await cloud?.close();
}, 120_000);

describe("the node autoscaler on ec2 pools", () => {
  it("grows the least-waste pool by exactly the nodes 20 pending pods need, and runs them", async () => {
    const started = Date.now();
    const applied = await call("POST", `/v1/clusters/${clusterId}/apply`, [
      web(20),
      {
        apiVersion: "policy/v1",
        kind: "PodDisruptionBudget",
        metadata: { name: "web" },
        spec: { minAvailable: 1, selector: { matchLabels: { app: "web" } } },
      },
    ]);
    expect(applied.status).toBe(200);
    // 1500m and 1 GiB each: 5 a large node (8 cpu, 16 GiB: waste 0.75), 1 a small one (waste 1.0).
    await poll("the large pool grows", async () => (await poolOf("large")).desiredSize > 0, 30_000);
    figures.pendingToScaleUpSeconds = (Date.now() - started) / 1000;
    expect(figures.pendingToScaleUpSeconds).toBeLessThan(15);
    expect((await poolOf("large")).desiredSize).toBe(4);

    await poll(
      "20 web pods Running",
      async () => {
        const pods = await webPods();
        return pods.length === 20 && pods.every((p) => p.phase === "Running") && pods;
      },
      240_000,
    );
    figures.pendingToAllRunningSeconds = (Date.now() - started) / 1000;
    // While the instances booted, nothing more was launched: 4 machines ever, none in the small pool.
    expect(await machinesOf("large")).toHaveLength(4);
    expect(await machinesOf("small")).toHaveLength(0);
    expect((await poolOf("small")).desiredSize).toBe(0);
    const grown = await eventsOf("ScaledUpGroup");
    expect(grown).toEqual([
      expect.objectContaining({
        name: "large",
        message: expect.stringMatching(/^Scale-up: setting group large size to 4 instead of 0 \(max: 5\)/),
      }),
    ]);
    expect((await eventsOf("TriggeredScaleUp")).length).toBe(20);
  }, 300_000);

  it("gives nodes back once the load is gone, never dropping the pods that are left", async () => {
    const started = Date.now();
    expect((await call("POST", `/v1/clusters/${clusterId}/apply`, [web(2)])).status).toBe(200);
    let fewestReady = 2;
    await poll(
      "the large pool shrinks to 1 node with both pods on it",
      async () => {
        const pods = (await webPods()).filter((p) => p.phase === "Running");
        const ready = pods.filter((p) => p.ready).length;
        if (pods.length <= 2) fewestReady = Math.min(fewestReady, ready);
        const pool = await poolOf("large");
        return (
          pool.desiredSize === 1 &&
          pool.machines.running === 1 &&
          pool.machines.terminating === 0 &&
          pods.length === 2 &&
          ready === 2 &&
          new Set(pods.map((p) => p.nodeId)).size === 1
        );
      },
      240_000,
    );
    figures.loadGoneToOneNodeSeconds = (Date.now() - started) / 1000;
    // The PodDisruptionBudget (minAvailable 1) held while nodes drained.
    expect(fewestReady).toBeGreaterThanOrEqual(1);
    const removed = await eventsOf("ScaleDown");
    expect(removed).toHaveLength(3);
    expect(
      removed.every((e) => /^node removed by the node autoscaler: unneeded for 5s/.test(e.message)),
    ).toBe(true);
    expect((await machinesOf("large")).filter((m) => m.status === "terminated")).toHaveLength(3);
    // One node holds both pods now and is needed: it stays, the pool's minimum (0) notwithstanding.
    await new Promise((r) => setTimeout(r, 8_000));
    expect((await poolOf("large")).desiredSize).toBe(1);
  }, 300_000);
});
