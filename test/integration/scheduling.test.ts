import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Agents, hostPortBlock, startAgents } from "./agent-support";
import { type Platform, startPlatform } from "./harness";

/**
 * The scheduler through the whole platform with real node agents and real containers: zone
 * spread over a byo pool's zones, preemption on a full cluster (and the victim placed again when
 * capacity returns), and extended resources that only a GPU pool's node offers.
 */
let p: Platform;
let agents: Agents;
let token: string;

interface PodItem {
  id: string;
  name: string;
  nodeName: string | null;
  phase: string;
  ready: boolean;
  reason: string | null;
  message: string | null;
  nominatedNodeName?: string | null;
}

beforeAll(async () => {
  p = await startPlatform();
  agents = await startAgents(p);
  ({ token } = await p.api.tenant("scheduling"));
}, 120_000);
afterAll(async () => {
  await agents?.close();
  await p?.close();
});

const GiB = 1024 ** 3;
const web = (resources: Record<string, unknown>) => ({
  name: "web",
  image: "localhost/berth/demo-web:latest",
  ports: [{ containerPort: 8080 }],
  resources,
});
const deployment = (name: string, replicas: number, spec: Record<string, unknown>) => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec },
  },
});

function cluster(clusterId: string) {
  const api = (method: string, path: string, body?: unknown) =>
    p.api.call(method, `/v1/clusters/${clusterId}${path}`, { token, ...(body ? { body } : {}) });
  return {
    api,
    async apply(docs: unknown[]) {
      const r = await api("POST", "/apply", docs);
      if (r.status !== 200) throw new Error(`apply: ${r.status} ${r.text}`);
    },
    async pods(app?: string): Promise<PodItem[]> {
      const items = (await api("GET", "/pods")).body.items as PodItem[];
      return app ? items.filter((x) => x.name.startsWith(`${app}-`)) : items;
    },
    async nodes(): Promise<
      { name: string; labels: Record<string, string>; capacity: Record<string, unknown> }[]
    > {
      return (await api("GET", "/nodes")).body.items;
    },
    async events(reason: string): Promise<{ message: string; involvedObject: { name: string } }[]> {
      return (await api("GET", "/events")).body.items.filter((e: { reason: string }) => e.reason === reason);
    },
    /** Joins a node run by a real agent, with a token of the pool if given. */
    async node(
      name: string,
      opts: { poolId?: string; zone?: string; capacity?: Parameters<Agents["start"]>[1]["capacity"] } = {},
    ) {
      const jt = await api("POST", "/join-tokens", opts.poolId ? { poolId: opts.poolId } : undefined);
      await agents.start(name, {
        joinToken: jt.body.token,
        portRange: hostPortBlock(20),
        ...(opts.zone ? { zone: opts.zone } : {}),
        ...(opts.capacity ? { capacity: opts.capacity } : {}),
      });
    },
  };
}

const runningOn = (list: PodItem[]) =>
  list.filter((x) => x.phase === "Running" && x.ready).map((x) => x.nodeName ?? "");

describe("the scheduler with real containers", () => {
  it("spreads a 6-replica deployment 2/2/2 over the three zones of a byo pool, though one zone has two nodes", async () => {
    const c = cluster(await p.activeCluster(token, "spread"));
    const pool = await c.api("POST", "/node-pools", { name: "metal", provider: "byo", desiredSize: 0 });
    expect(pool.status).toBe(202);
    for (const [name, zone] of [
      ["metal-a1", "site-a"],
      ["metal-a2", "site-a"],
      ["metal-b", "site-b"],
      ["metal-c", "site-c"],
    ] as const)
      await c.node(name, { poolId: pool.body.id, zone });
    const zoneOf = new Map((await c.nodes()).map((n) => [n.name, n.labels["topology.kubernetes.io/zone"]]));
    expect([...zoneOf.values()].sort()).toEqual(["site-a", "site-a", "site-b", "site-c"]);
    await c.apply([
      deployment("spread", 6, {
        containers: [web({ requests: { cpu: "10m", memory: "16Mi" } })],
        topologySpreadConstraints: [
          {
            maxSkew: 1,
            topologyKey: "topology.kubernetes.io/zone",
            whenUnsatisfiable: "DoNotSchedule",
            labelSelector: { matchLabels: { app: "spread" } },
          },
        ],
      }),
    ]);
    const on = await p.waitFor(
      "6 replicas running",
      async () => {
        const nodes = runningOn(await c.pods("spread"));
        return nodes.length === 6 && nodes;
      },
      90_000,
    );
    const perZone: Record<string, number> = {};
    for (const n of on) perZone[zoneOf.get(n) ?? "?"] = (perZone[zoneOf.get(n) ?? "?"] ?? 0) + 1;
    expect(perZone).toEqual({ "site-a": 2, "site-b": 2, "site-c": 2 });
  }, 120_000);

  it("preempts a lower-priority pod on a full cluster, and places the victim's replacement when capacity returns", async () => {
    const c = cluster(await p.activeCluster(token, "preempt"));
    await c.node("small-1", { capacity: { cpuMillis: 1000, memoryBytes: 2 * GiB } });
    const small = { requests: { cpu: "400m", memory: "32Mi" } };
    await c.apply([
      {
        apiVersion: "scheduling.k8s.io/v1",
        kind: "PriorityClass",
        metadata: { name: "critical" },
        value: 100_000,
      },
      deployment("batch", 2, { containers: [web(small)] }),
    ]);
    await p.waitFor(
      "2 batch pods running",
      async () => runningOn(await c.pods("batch")).length === 2,
      60_000,
    );
    const before = (await c.pods("batch")).map((x) => x.id);

    await c.apply([
      deployment("urgent", 1, {
        priorityClassName: "critical",
        containers: [web({ requests: { cpu: "500m", memory: "32Mi" } })],
      }),
    ]);
    await p.waitFor(
      "the urgent pod running",
      async () => runningOn(await c.pods("urgent")).length === 1,
      60_000,
    );
    const preempted = await c.events("Preempted");
    expect(preempted).toHaveLength(1);
    expect(preempted[0]?.message).toMatch(/^Preempted by pod pod_\w+ on node small-1$/);
    // One victim (the fewest that make room), and its deployment's replacement waits for capacity.
    const batch = await p.waitFor("a batch pod pending", async () => {
      const list = await c.pods("batch");
      return list.length === 2 && list.some((x) => x.reason === "Unschedulable") && list;
    });
    expect(batch.filter((x) => before.includes(x.id))).toHaveLength(1);
    expect(batch.find((x) => x.reason === "Unschedulable")?.message).toMatch(/Insufficient cpu/);

    await c.node("small-2", { capacity: { cpuMillis: 1000, memoryBytes: 2 * GiB } });
    const placed = await p.waitFor(
      "both batch pods running again",
      async () => {
        const nodes = runningOn(await c.pods("batch"));
        return nodes.length === 2 && nodes;
      },
      60_000,
    );
    expect(placed.sort()).toEqual(["small-1", "small-2"]);
    expect(runningOn(await c.pods("urgent"))).toEqual(["small-1"]);
  }, 150_000);

  it("places a pod asking for berth.dev/gpu only on the GPU pool's node, and leaves one that does not fit pending", async () => {
    const c = cluster(await p.activeCluster(token, "gpu"));
    const gpuPool = await c.api("POST", "/node-pools", {
      name: "gpu",
      provider: "byo",
      desiredSize: 0,
      labels: { accelerator: "t4" },
    });
    const cpuPool = await c.api("POST", "/node-pools", { name: "general", provider: "byo", desiredSize: 0 });
    await c.node("general-1", { poolId: cpuPool.body.id });
    await c.node("general-2", { poolId: cpuPool.body.id });
    await c.node("gpu-1", {
      poolId: gpuPool.body.id,
      capacity: { cpuMillis: 4000, memoryBytes: 16 * GiB, extended: { "berth.dev/gpu": 1 } },
    });
    const nodes = await c.nodes();
    expect(nodes.find((n) => n.name === "gpu-1")?.capacity).toMatchObject({
      extended: { "berth.dev/gpu": 1 },
    });
    expect(nodes.find((n) => n.name === "general-1")?.capacity).toMatchObject({ extended: {} });

    await c.apply([
      deployment("trainer", 1, {
        containers: [web({ requests: { cpu: "10m", memory: "16Mi" }, limits: { "berth.dev/gpu": 1 } })],
      }),
    ]);
    const [trainer] = await p.waitFor(
      "the GPU pod running",
      async () => {
        const list = runningOn(await c.pods("trainer"));
        return list.length === 1 && list;
      },
      60_000,
    );
    expect(trainer).toBe("gpu-1");
    const spec = (await c.api("GET", "/deployments/default/trainer")).body;
    expect(JSON.stringify(spec)).toContain('"berth.dev/gpu":"1"');

    // A second GPU replica has no GPU left anywhere: it waits, saying why.
    await c.apply([
      deployment("trainer", 2, {
        containers: [web({ requests: { cpu: "10m", memory: "16Mi" }, limits: { "berth.dev/gpu": 1 } })],
      }),
    ]);
    const waiting = await p.waitFor("the second GPU pod unschedulable", async () =>
      (await c.pods("trainer")).find((x) => x.reason === "Unschedulable"),
    );
    expect(waiting.message).toMatch(/0\/3 nodes are available: .*Insufficient berth\.dev\/gpu/);
    expect(runningOn(await c.pods("trainer"))).toEqual(["gpu-1"]);
  }, 150_000);
});
