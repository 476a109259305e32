import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Agents, demoDeployment, hostPortBlock, startAgents } from "./agent-support";
import { type Platform, startPlatform } from "./harness";

/**
 * Issue #12: a node lost → its pods running elsewhere, with the production defaults (a 10 s lease,
 * pods evicted 12 s after their node was last heard, the sweep every 2 s), two real agents and
 * real Podman. The node is lost as when its host dies: its agent stops without a word and its
 * containers stay where they are.
 */
let p: Platform;
let agents: Agents;
let token: string;

beforeAll(async () => {
  p = await startPlatform({
    timings: { nodeLeaseMs: 10_000, podEvictionMs: 12_000 },
    schedules: { "reconcile.sweep": 2_000 },
  });
  agents = await startAgents(p);
  ({ token } = await p.api.tenant("node-loss"));
});
afterAll(async () => {
  await agents?.close();
  await p?.close();
});

type PodView = { id: string; name: string; phase: string; nodeId: string | null };

describe("a node lost with the production lease and eviction times", () => {
  it("has its pods running on the other node well within 20 s, and none moved before its lease lapsed", async () => {
    const clusterId = await p.activeCluster(token, "lost");
    const call = (method: string, path: string, body?: unknown) =>
      p.api.call(method, `/v1/clusters/${clusterId}/${path}`, { token, ...(body ? { body } : {}) });
    const pods = async (): Promise<PodView[]> => (await call("GET", "pods?limit=100")).body.items;
    const nodes = [];
    for (const name of ["a", "b"]) {
      const jt = await p.api.call("POST", `/v1/clusters/${clusterId}/join-tokens`, { token });
      nodes.push(await agents.start(name, { joinToken: jt.body.token, portRange: hostPortBlock(10) }));
    }
    expect((await call("PUT", "deployments/default/web", demoDeployment(2))).status).toBeLessThan(300);
    await p.waitFor(
      "2 pods Running",
      async () => (await pods()).filter((x) => x.phase === "Running").length === 2,
      60_000,
    );
    const before = await pods();
    // The node that runs a pod goes; the other stays (both may run one: the spread puts one on each).
    const lost = nodes.find((n) => before.some((x) => x.nodeId === n.agent.status().nodeId));
    const kept = nodes.find((n) => n !== lost);
    if (!lost || !kept) throw new Error("expected the pods on the two nodes");
    const lostId = lost.agent.status().nodeId ?? "";
    const keptId = kept.agent.status().nodeId ?? "";
    const stranded = before.filter((x) => x.nodeId === lostId).map((x) => x.id);

    const killed = Date.now();
    await lost.agent.stop();
    let movedEarly = false;
    await p.waitFor(
      "the lost node's pods replaced by pods Running on the other node",
      async () => {
        const now = await pods();
        const elapsed = Date.now() - killed;
        if (elapsed < 10_000 && stranded.some((id) => !now.some((x) => x.id === id))) movedEarly = true;
        return (
          now.filter((x) => x.phase === "Running" && x.nodeId === keptId).length === 2 &&
          stranded.every((id) => !now.some((x) => x.id === id))
        );
      },
      60_000,
    );
    const took = Date.now() - killed;
    console.log(
      `node lost (10 s lease, 12 s eviction, 2 s sweep): its pods Running on the other node ${(took / 1000).toFixed(1)} s later`,
    );
    expect(movedEarly).toBe(false);
    const reasons = (await call("GET", "events?limit=200")).body.items.map(
      (e: { reason: string }) => e.reason,
    );
    expect(reasons).toContain("NodeNotReady");
    expect(reasons).toContain("PodsEvicted");
    expect(reasons).not.toContain("PodEvictionsHeld");
  }, 120_000);
});
