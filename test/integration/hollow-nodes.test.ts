import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type HollowNodes, startHollowNodes } from "@berth/node-agent/hollow";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Agents, startAgents } from "./agent-support";
import { type Platform, startPlatform } from "./harness";

/**
 * Hollow nodes: real agents over a runtime that runs nothing join, receive their pods over the
 * push channel, report them running, and stop them, all through the control plane's real paths —
 * once making each call as an HTTP request, once over node channels (one WebSocket per node).
 */
let p: Platform;
let served: Agents;
let hollow: HollowNodes | undefined;
let stateDir: string;
let token: string;
let clusterId: string;
const COUNT = 20;

beforeAll(async () => {
  p = await startPlatform();
  served = await startAgents(p);
  stateDir = await mkdtemp(join(tmpdir(), "berth-hollow-"));
  ({ token } = await p.api.tenant("hollow"));
}, 60_000);
afterAll(async () => {
  await hollow?.stop();
  await served?.close();
  await p?.close();
  await rm(stateDir, { recursive: true, force: true });
});

const api = (method: string, path: string, body?: unknown) =>
  p.api.call(method, `/v1/clusters/${clusterId}${path}`, { token, ...(body ? { body } : {}) });

/**
 * Calls answered over node channels so far, by operation (status 200), and as "lease" the leases
 * the API renewed for the channels it holds.
 */
async function channelCalls(): Promise<Map<string, number>> {
  const m = await p.api.deps.metrics.getSingleMetric("berth_node_channel_calls_total")?.get();
  const out = new Map<string, number>();
  for (const v of m?.values ?? [])
    if (v.labels.status === "200")
      out.set(String(v.labels.op), (out.get(String(v.labels.op)) ?? 0) + v.value);
  const leases = await p.api.deps.metrics.getSingleMetric("berth_node_channel_lease_renewals_total")?.get();
  out.set("lease", leases?.values.find((v) => v.labels.outcome === "renewed")?.value ?? 0);
  return out;
}

describe.each([
  { over: "HTTP", channel: false },
  { over: "node channels", channel: true },
])("hollow nodes, their calls over $over", ({ over, channel }) => {
  it("join with one token each as a node of their own, run a deployment's pods, and stop them", async () => {
    await hollow?.stop();
    clusterId = await p.activeCluster(token, channel ? "kubemark-channel" : "kubemark");
    const before = await channelCalls();
    const jt = await api("POST", "/join-tokens", { maxUses: COUNT });
    expect(jt.status).toBe(201);
    hollow = await startHollowNodes({
      server: served.url,
      joinToken: jt.body.token,
      count: COUNT,
      prefix: channel ? "channel" : "hollow",
      stateDir,
      channel,
      capacity: { cpuMillis: 4000, memoryBytes: 8 * 1024 ** 3, pods: 110 },
      portRange: { min: 30000, max: 30099 },
      startDelayMs: 50,
      logger: pino({ level: "silent" }),
    });
    const nodes = (await api("GET", "/nodes?limit=100")).body.items as { name: string; status: string }[];
    expect(nodes.filter((n) => n.status === "ready")).toHaveLength(COUNT);
    expect(new Set(hollow.agents.map((a) => a.status().nodeId)).size).toBe(COUNT);

    const created = Date.now();
    await api("PUT", "/deployments/default/load", {
      spec: {
        replicas: 100,
        template: {
          spec: {
            containers: [
              {
                name: "app",
                image: "localhost/anything:1",
                resources: { requests: { cpu: "10m", memory: "16Mi" } },
              },
            ],
          },
        },
      },
    });
    const running = await p.waitFor(
      "100 pods running",
      async () => {
        const items = (await api("GET", "/pods?limit=200")).body.items as {
          phase: string;
          nodeName: string;
        }[];
        return items.filter((x) => x.phase === "Running").length === 100 && items;
      },
      60_000,
    );
    const seconds = (Date.now() - created) / 1000;
    console.log(
      `hollow (${over}): 100 pods on ${COUNT} hollow nodes running ${seconds.toFixed(2)} s after the create`,
    );
    // Every pod on a hollow node, and the agents hold exactly what they were given.
    const names = new Set(nodes.map((n) => n.name));
    expect(running.every((x) => names.has(x.nodeName))).toBe(true);
    expect(new Set(running.map((x) => x.nodeName)).size).toBeGreaterThan(1);
    expect(hollow.agents.reduce((n, a) => n + a.status().pods, 0)).toBe(100);

    await api("DELETE", "/deployments/default/load");
    await p.waitFor(
      "the pods gone",
      async () => ((await api("GET", "/pods?limit=200")).body.items as unknown[]).length === 0,
      60_000,
    );
    // Over channels, the frequent calls go there, and the API renews the nodes' leases through them
    // (heartbeats then come every 30 s: the first, which opens the channel, went over HTTP); over
    // HTTP, nothing went over a channel.
    const grew = async (op: string) => ((await channelCalls()).get(op) ?? 0) - (before.get(op) ?? 0);
    if (channel)
      await p.waitFor("each kind of call over the channels, and leases renewed through them", async () => {
        for (const op of ["nodes.sync", "nodes.watch", "lease"]) if ((await grew(op)) === 0) return false;
        return true;
      });
    else
      for (const op of ["nodes.heartbeat", "nodes.sync", "nodes.watch"]) expect(await grew(op), op).toBe(0);
  }, 120_000);
});
