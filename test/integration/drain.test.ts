import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Platform, startPlatform } from "./harness";

/**
 * Cordon and drain, driven through the node API (the agents' reports are the test's): a drain
 * evicts as PodDisruptionBudgets allow, like `kubectl drain` through the Eviction API, and an
 * agent that comes back after its pods were moved is told to stop them.
 */
let p: Platform;
let token: string;
const nodes: Record<string, { id: string; credential: string }> = {};

interface PodItem {
  id: string;
  name: string;
  nodeId: string | null;
  nodeName: string | null;
}
type Report = { podId: string; state: string; restarts: number; ready: boolean };

const sync = async (name: string, pods: Report[] = []) =>
  (await p.api.call("POST", "/v1/nodes/sync", { token: nodes[name]?.credential, body: { pods } })).body as {
    pods: { podId: string; action: string }[];
  };
const podsOf = async (clusterId: string) =>
  (await p.api.call("GET", `/v1/clusters/${clusterId}/pods`, { token })).body.items as PodItem[];
const nodeCall = (clusterId: string, name: string, verb: "drain" | "cordon" | "uncordon") =>
  p.api.call("POST", `/v1/clusters/${clusterId}/nodes/${nodes[name]?.id}/${verb}`, { token });
const running = (ids: string[]): Report[] =>
  ids.map((podId) => ({ podId, state: "running", restarts: 0, ready: true }));
const gone = (ids: string[]): Report[] =>
  ids.map((podId) => ({ podId, state: "gone", restarts: 0, ready: false }));
const stopsFor = async (name: string, ids: string[]) =>
  (await sync(name, running(ids))).pods.filter((x) => x.action === "stop").map((x) => x.podId);

async function clusterWithNodes(name: string, nodeNames: string[]): Promise<string> {
  const clusterId = await p.activeCluster(token, name);
  for (const node of nodeNames) {
    const jt = await p.api.call("POST", `/v1/clusters/${clusterId}/join-tokens`, { token });
    const j = await p.api.call("POST", "/v1/nodes/join", {
      body: {
        joinToken: jt.body.token,
        name: node,
        capacity: { cpuMillis: 4000, memoryBytes: 8 * 1024 ** 3, pods: 20 },
        portRange: { min: 30000, max: 30050 },
        address: "127.0.0.1",
      },
    });
    nodes[node] = { id: j.body.nodeId, credential: j.body.credential };
  }
  return clusterId;
}

beforeAll(async () => {
  p = await startPlatform();
  ({ token } = await p.api.tenant("drainer"));
});
afterAll(() => p.close());

describe("cordon and drain", () => {
  let clusterId: string;
  beforeAll(async () => {
    clusterId = await clusterWithNodes("c", ["n1", "n2"]);
    // Only n1 is schedulable at first, so every pod lands there.
    await nodeCall(clusterId, "n2", "cordon");
    await p.api.call("PUT", `/v1/clusters/${clusterId}/deployments/default/web`, {
      token,
      body: {
        spec: {
          replicas: 3,
          template: {
            spec: { containers: [{ name: "w", image: "localhost/x", ports: [{ containerPort: 80 }] }] },
          },
        },
      },
    });
    await p.waitFor(
      "3 pods on n1",
      async () => (await podsOf(clusterId)).filter((x) => x.nodeName === "n1").length === 3,
    );
  });

  it("drains a node: it is cordoned, its pods are stopped there and replaced on another node", async () => {
    await nodeCall(clusterId, "n2", "uncordon");
    const before = (await podsOf(clusterId)).map((x) => x.id);
    const drained = await nodeCall(clusterId, "n1", "drain");
    expect(drained.status).toBe(202);
    expect(drained.body).toMatchObject({ unschedulable: true, podsToMove: 3 });
    expect(drained.body.drainRequestedAt).toEqual(expect.any(String));
    // No budget covers them: n1's agent is told to stop all three at once.
    await p.waitFor("all three evicted", async () => (await stopsFor("n1", before)).length === 3);
    await p.waitFor(
      "3 replacements on n2",
      async () =>
        (await podsOf(clusterId)).filter((x) => x.nodeName === "n2" && !before.includes(x.id)).length === 3,
    );
    // Once the agent reports them gone, they disappear.
    await sync("n1", gone(before));
    expect((await podsOf(clusterId)).every((x) => x.nodeName === "n2")).toBe(true);
    const listed = await p.api.call("GET", `/v1/clusters/${clusterId}/nodes`, { token });
    const n1 = listed.body.items.find((n: { name: string }) => n.name === "n1");
    expect(n1).toMatchObject({ unschedulable: true, drainRequestedAt: expect.any(String) });
    // Uncordoning ends the drain.
    await nodeCall(clusterId, "n1", "uncordon");
    const after = await p.api.call("GET", `/v1/clusters/${clusterId}/nodes`, { token });
    expect(after.body.items.find((n: { name: string }) => n.name === "n1")).toMatchObject({
      unschedulable: false,
      drainRequestedAt: null,
    });
  });

  it("tells an agent that comes back to stop pods that were moved while it was away", async () => {
    const stale = ["pod_moved_while_away_0000000"];
    const r = await sync("n1", running(stale));
    expect(r.pods).toEqual([
      { podId: stale[0], name: stale[0], namespace: "", action: "stop", hostPorts: [], containers: [] },
    ]);
  });
});

describe("a drain under a PodDisruptionBudget", () => {
  it("evicts one pod at a time while minAvailable 2 of 3 must stay ready, and finishes as replacements become ready", async () => {
    const clusterId = await clusterWithNodes("pdb", ["m1", "m2"]);
    await nodeCall(clusterId, "m2", "cordon");
    const applied = await p.api.call("POST", `/v1/clusters/${clusterId}/apply`, {
      token,
      body: [
        {
          apiVersion: "apps/v1",
          kind: "Deployment",
          metadata: { name: "api" },
          spec: {
            replicas: 3,
            selector: { matchLabels: { app: "api" } },
            template: {
              metadata: { labels: { app: "api" } },
              spec: { containers: [{ name: "api", image: "localhost/api" }] },
            },
          },
        },
        {
          apiVersion: "policy/v1",
          kind: "PodDisruptionBudget",
          metadata: { name: "api" },
          spec: { minAvailable: 2, selector: { matchLabels: { app: "api" } } },
        },
      ],
    });
    expect(applied.status).toBe(200);
    const on = async (node: string) =>
      (await podsOf(clusterId)).filter((x) => x.nodeName === node).map((x) => x.id);
    await p.waitFor("3 pods on m1", async () => (await on("m1")).length === 3);
    const original = await on("m1");
    await sync("m1", running(original));
    await nodeCall(clusterId, "m2", "uncordon");
    const drained = await nodeCall(clusterId, "m1", "drain");
    expect(drained.body).toMatchObject({ podsToMove: 3 });

    let evictedSoFar: string[] = [];
    let readyOnM2: string[] = [];
    for (let round = 1; round <= 3; round++) {
      const stillOnM1 = original.filter((id) => !evictedSoFar.includes(id));
      // One more eviction, and no more: the budget allows one disruption while 3 are healthy.
      await p.waitFor(`eviction ${round}`, async () => (await stopsFor("m1", stillOnM1)).length === 1);
      const [victim] = await stopsFor("m1", stillOnM1);
      if (!victim) throw new Error("no victim");
      await p.waitFor(`replacement ${round} on m2`, async () => (await on("m2")).length === round);
      // The replacement is placed but not ready: the next pod stays, whatever passes run meanwhile.
      await sync("m2", running(readyOnM2));
      await p.api.call("POST", `/v1/clusters/${clusterId}/nodes/${nodes.m1?.id}/cordon`, { token }); // kicks a pass
      await new Promise((r) => setTimeout(r, 300));
      expect(await stopsFor("m1", stillOnM1)).toEqual([victim]);
      // The victim stops; its replacement on m2 becomes ready: the budget has room again.
      await sync("m1", [...running(stillOnM1.filter((id) => id !== victim)), ...gone([victim])]);
      readyOnM2 = await on("m2");
      await sync("m2", running(readyOnM2));
      evictedSoFar = [...evictedSoFar, victim];
    }
    expect(await on("m1")).toEqual([]);
    expect(await on("m2")).toHaveLength(3);
    const events = await p.api.call("GET", `/v1/clusters/${clusterId}/events`, { token });
    const reasons = events.body.items.map((e: { reason: string }) => e.reason);
    expect(reasons).toContain("EvictionBlocked");
    expect(reasons.filter((r: string) => r === "Evicted").length).toBeGreaterThanOrEqual(3);
    const blocked = events.body.items.find((e: { reason: string }) => e.reason === "EvictionBlocked");
    expect(blocked.message).toContain("would violate PodDisruptionBudget api (needs 2 healthy, has 2)");
  });
});
