import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Platform, startPlatform } from "./harness";

/** Cordon and drain, and an agent that comes back after its pods were moved: driven through the node API. */
let p: Platform;
let token: string;
let clusterId: string;
const nodes: Record<string, { id: string; credential: string }> = {};

const sync = (name: string, pods: unknown[] = []) =>
  p.api.call("POST", "/v1/nodes/sync", { token: nodes[name]?.credential, body: { pods } });
const podsOf = async () =>
  (await p.api.call("GET", `/v1/clusters/${clusterId}/pods`, { token })).body.items as {
    id: string;
    nodeId: string | null;
    nodeName: string | null;
  }[];

beforeAll(async () => {
  p = await startPlatform();
  ({ token } = await p.api.tenant("drainer"));
  clusterId = await p.activeCluster(token, "c");
  for (const name of ["n1", "n2"]) {
    const jt = await p.api.call("POST", `/v1/clusters/${clusterId}/join-tokens`, { token });
    const j = await p.api.call("POST", "/v1/nodes/join", {
      body: {
        joinToken: jt.body.token,
        name,
        capacity: { cpuMillis: 4000, memoryBytes: 8 * 1024 ** 3, pods: 20 },
        portRange: { min: 30000, max: 30050 },
        address: "127.0.0.1",
      },
    });
    nodes[name] = { id: j.body.nodeId, credential: j.body.credential };
  }
  // Only n1 is schedulable at first, so every pod lands there.
  await p.api.call("POST", `/v1/clusters/${clusterId}/nodes/${nodes.n2?.id}/cordon`, { token });
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
    async () => (await podsOf()).filter((x) => x.nodeName === "n1").length === 3,
  );
});
afterAll(() => p.close());

describe("cordon and drain", () => {
  it("drains a node: it is cordoned, its pods are stopped there and replaced on another node", async () => {
    await p.api.call("POST", `/v1/clusters/${clusterId}/nodes/${nodes.n2?.id}/uncordon`, { token });
    const before = (await podsOf()).map((x) => x.id);
    const drained = await p.api.call("POST", `/v1/clusters/${clusterId}/nodes/${nodes.n1?.id}/drain`, {
      token,
    });
    expect(drained.status).toBe(202);
    expect(drained.body).toMatchObject({ unschedulable: true, evictedPods: 3 });
    // n1's agent is told to stop all three.
    const told = await sync(
      "n1",
      before.map((podId) => ({ podId, state: "running", restarts: 0, ready: true })),
    );
    expect(told.body.pods.map((x: { action: string }) => x.action)).toEqual(["stop", "stop", "stop"]);
    await p.waitFor(
      "3 replacements on n2",
      async () => (await podsOf()).filter((x) => x.nodeName === "n2" && !before.includes(x.id)).length === 3,
    );
    // Once the agent reports them gone, they disappear.
    await sync(
      "n1",
      before.map((podId) => ({ podId, state: "gone", restarts: 0, ready: false })),
    );
    expect((await podsOf()).every((x) => x.nodeName === "n2")).toBe(true);
    const listed = await p.api.call("GET", `/v1/clusters/${clusterId}/nodes`, { token });
    expect(listed.body.items.find((n: { name: string }) => n.name === "n1").unschedulable).toBe(true);
  });

  it("tells an agent that comes back to stop pods that were moved while it was away", async () => {
    const stale = ["pod_moved_while_away_0000000"];
    const r = await sync(
      "n1",
      stale.map((podId) => ({ podId, state: "running", restarts: 0, ready: true })),
    );
    expect(r.body.pods).toEqual([
      { podId: stale[0], name: stale[0], namespace: "", action: "stop", hostPorts: [], containers: [] },
    ]);
  });
});
