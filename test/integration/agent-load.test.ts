import type { ContainerRuntime } from "@berth/node-agent/runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { containersOf } from "../e2e/support";
import { type Agents, demoDeployment, hostPortBlock, startAgents } from "./agent-support";
import { type Platform, startPlatform } from "./harness";

/**
 * The node agent under load, against the real control plane (leases of 3 s, evictions after 5 s)
 * and real Podman: many pods at once on one node, and a runtime that takes 12 s (more than twice the
 * eviction timeout) to start each container. Heartbeats must never wait on either.
 */
const SLOW_START_MS = 12_000;
let p: Platform;
let agents: Agents;
let token: string;

beforeAll(async () => {
  p = await startPlatform();
  agents = await startAgents(p);
  ({ token } = await p.api.tenant("load"));
});
afterAll(async () => {
  await agents?.close();
  await p?.close();
});

type PodView = { id: string; phase: string; restarts: number; createdAt: string; startedAt: string | null };
const pods = async (clusterId: string): Promise<PodView[]> =>
  (await p.api.call("GET", `/v1/clusters/${clusterId}/pods?limit=500`, { token })).body.items;
const events = async (clusterId: string): Promise<{ reason: string }[]> =>
  (await p.api.call("GET", `/v1/clusters/${clusterId}/events?limit=500`, { token })).body.items;

async function waitUntil(probe: () => Promise<boolean>, everyMs: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error("timed out waiting for 50 pods Running");
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Polls the node's status until stopped; remembers every status it saw. */
function watchNodeStatus(clusterId: string) {
  const seen = new Set<string>();
  let running = true;
  const loop = (async () => {
    while (running) {
      const nodes = await p.api.call("GET", `/v1/clusters/${clusterId}/nodes`, { token });
      for (const n of nodes.body.items ?? []) seen.add(n.status);
      await new Promise((r) => setTimeout(r, 250));
    }
  })();
  return {
    seen,
    async stop() {
      running = false;
      await loop;
    },
  };
}

/** The real runtime, slowed down: each container start takes `ms` longer (a slow disk, a loaded host). */
function slowStarts(runtime: ContainerRuntime, ms: number): ContainerRuntime {
  return {
    ...runtime,
    name: `${runtime.name} (slow starts)`,
    async start(id) {
      await new Promise((r) => setTimeout(r, ms));
      return runtime.start(id);
    },
  };
}

describe("the node agent under load", () => {
  it("runs 50 pods on one node: all reach Running, none is evicted, the node is never NotReady", async () => {
    const clusterId = await p.activeCluster(token, "fifty");
    const jt = await p.api.call("POST", `/v1/clusters/${clusterId}/join-tokens`, { token });
    const { agent } = await agents.start("fifty", {
      joinToken: jt.body.token,
      portRange: hostPortBlock(80),
      pods: 60,
    });
    const status = watchNodeStatus(clusterId);
    const started = Date.now();
    // As `kubectl create deployment web --replicas=50` writes it: no resources, so the platform's
    // defaults (100m, 128Mi). A limit of a few millicores would throttle each container's own
    // start-up (the runtime's init runs in its cgroup), not the agent.
    await p.api.call("PUT", `/v1/clusters/${clusterId}/deployments/default/web`, {
      token,
      body: demoDeployment(50, { resources: undefined }),
    });
    try {
      // Looked at twice a second: the figure is the pods' own start times, and a tighter poll of
      // 50 pods would take CPU from what it measures.
      await waitUntil(
        async () => (await pods(clusterId)).filter((x) => x.phase === "Running").length === 50,
        500,
        240_000,
      );
    } finally {
      await status.stop();
    }
    const list = await pods(clusterId);
    const took = Math.max(...list.map((x) => Date.parse(x.startedAt ?? ""))) - started;
    const reasons = (await events(clusterId)).map((e) => e.reason);
    const latencies = list
      .map((x) => Date.parse(x.startedAt ?? "") - Date.parse(x.createdAt))
      .sort((a, b) => a - b);
    console.log(
      `50 pods on one node: all Running after ${took} ms; create → Running median ${latencies[25]} ms, max ${latencies[49]} ms; ` +
        `node statuses seen: ${[...status.seen].join(", ")}; NodeNotReady ${reasons.filter((r) => r === "NodeNotReady").length}, PodsEvicted ${reasons.filter((r) => r === "PodsEvicted").length}`,
    );
    expect(list).toHaveLength(50);
    expect(list.every((x) => x.restarts === 0)).toBe(true);
    expect([...status.seen]).toEqual(["ready"]);
    expect(reasons).not.toContain("NodeNotReady");
    expect(reasons).not.toContain("PodsEvicted");
    const nodeId = agent.status().nodeId ?? "";
    expect((await containersOf(nodeId)).filter((c) => c.State === "running")).toHaveLength(50);

    // And they all go again.
    await p.api.call("DELETE", `/v1/clusters/${clusterId}/deployments/default/web`, { token });
    await p.waitFor(
      "containers gone",
      async () => (await containersOf(nodeId, { all: true })).length === 0,
      120_000,
    );
  }, 400_000);

  it("stays Ready while its runtime takes 12 s to start each container", async () => {
    const clusterId = await p.activeCluster(token, "slow");
    const jt = await p.api.call("POST", `/v1/clusters/${clusterId}/join-tokens`, { token });
    await agents.start("slow", {
      joinToken: jt.body.token,
      portRange: hostPortBlock(10),
      runtime: slowStarts(agents.runtime, SLOW_START_MS),
    });
    const status = watchNodeStatus(clusterId);
    const started = Date.now();
    await p.api.call("PUT", `/v1/clusters/${clusterId}/deployments/default/web`, {
      token,
      body: demoDeployment(3),
    });
    try {
      await p.waitFor(
        "3 pods Running",
        async () => (await pods(clusterId)).filter((x) => x.phase === "Running").length === 3,
        120_000,
      );
    } finally {
      await status.stop();
    }
    const took = Date.now() - started;
    const reasons = (await events(clusterId)).map((e) => e.reason);
    console.log(
      `${SLOW_START_MS / 1000} s per container start: 3 pods Running after ${took} ms; node statuses seen: ${[...status.seen].join(", ")}`,
    );
    expect(took).toBeGreaterThanOrEqual(SLOW_START_MS);
    expect([...status.seen]).toEqual(["ready"]);
    expect(reasons).not.toContain("NodeNotReady");
    expect(reasons).not.toContain("PodsEvicted");
  }, 200_000);
});
