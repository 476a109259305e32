/**
 * The node agent under load, against the real control API and provisioner (in this process) and
 * real Podman containers: create → Running latency of single pods, then a Deployment of
 * BENCH_PODS pods on one node (time to all Running, NotReady and eviction events). Pods request
 * BENCH_CPU (default 10m, which is also their CFS limit: such a container takes ~2.5 s to start on
 * these machines, as its runtime's init runs throttled in its cgroup).
 * Run: `npx tsx test/bench/agent.bench.ts`.
 */
import { mkdtemp, rm } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "@berth/core";
import { ensureTemplate, systemRows } from "@berth/db/testing";
import { createAgent } from "@berth/node-agent/agent";
import { createControlPlane } from "@berth/node-agent/api";
import { type ContainerRuntime, createDockerEngineRuntime } from "@berth/node-agent/runtime";
import { AGENT_RELEASE } from "@berth/protocol";
import { serve } from "@hono/node-server";
import { sql } from "drizzle-orm";
import { containersOf, engine, hostPortBlock, ROOT } from "../e2e/support";
import { startPlatform } from "../integration/harness";

const PODS = Number(process.env.BENCH_PODS ?? 20);
const SINGLE = Number(process.env.BENCH_SINGLE ?? 5);

/** With BENCH_LOG_LEVEL=debug, each runtime call's duration is printed (where an agent's time goes). */
function traced(rt: ContainerRuntime): ContainerRuntime {
  if (process.env.BENCH_LOG_LEVEL !== "debug") return rt;
  const out = { ...rt } as Record<string, unknown>;
  for (const [k, v] of Object.entries(rt))
    if (typeof v === "function")
      out[k] = async (...args: unknown[]) => {
        const t = Date.now();
        try {
          return await (v as (...a: unknown[]) => Promise<unknown>)(...args);
        } finally {
          console.log(JSON.stringify({ time: t, msg: `runtime.${k}`, ms: Date.now() - t }));
        }
      };
  return out as unknown as ContainerRuntime;
}

await ensureTemplate();
const p = await startPlatform({
  timings: { nodeLeaseMs: 10_000, podEvictionMs: 30_000 },
});
const server = serve({ fetch: p.api.app.fetch, port: 0, hostname: "127.0.0.1" });
await new Promise<void>((ok) => server.once("listening", () => ok()));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const { token } = await p.api.tenant("bench");
const clusterId = await p.activeCluster(token, "bench");
const jt = await p.api.call("POST", `/v1/clusters/${clusterId}/join-tokens`, { token });
const stateDir = await mkdtemp(join(tmpdir(), "berth-agent-bench-"));
const socket = (process.env.CONTAINER_HOST ?? `unix://${ROOT}/.data/podman/podman.sock`).replace(
  /^unix:\/\//,
  "",
);
const portRange = hostPortBlock(100);
const agent = createAgent(
  {
    server: url,
    joinToken: jt.body.token,
    stateDir,
    join: {
      name: "bench",
      capacity: { cpuMillis: 64_000, memoryBytes: 64 * 1024 ** 3, pods: 110 },
      portRange,
      address: "127.0.0.1",
      labels: {},
      agentVersion: `${AGENT_RELEASE}+bench`,
    },
    publishAddress: "127.0.0.1",
    stopTimeoutSeconds: 2,
  },
  {
    runtime: traced(createDockerEngineRuntime({ socketPath: socket })),
    controlPlane: (server) => createControlPlane(server),
    logger: createLogger("node-agent", process.env.BENCH_LOG_LEVEL ?? "silent"),
  },
);
await agent.start();
const nodeId = agent.status().nodeId ?? "";

const deployment = (replicas: number) => ({
  spec: {
    replicas,
    template: {
      spec: {
        containers: [
          {
            name: "web",
            image: "localhost/berth/demo-web:latest",
            ports: [{ containerPort: 8080 }],
            resources: { requests: { cpu: process.env.BENCH_CPU ?? "10m", memory: "16Mi" } },
          },
        ],
      },
    },
  },
});
type PodView = {
  id: string;
  phase: string;
  deployment: string;
  createdAt: string;
  startedAt: string | null;
};
const pods = async (): Promise<PodView[]> =>
  (await p.api.call("GET", `/v1/clusters/${clusterId}/pods?limit=500`, { token })).body.items;
const events = async (): Promise<{ reason: string }[]> =>
  (await p.api.call("GET", `/v1/clusters/${clusterId}/events?limit=500`, { token })).body.items;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

try {
  const latencies: number[] = [];
  const placed: number[] = [];
  for (let i = 0; i < SINGLE; i++) {
    const name = `single-${i}`;
    if (process.env.BENCH_LOG_LEVEL) console.log(JSON.stringify({ time: Date.now(), msg: `PUT ${name}` }));
    await p.api.call("PUT", `/v1/clusters/${clusterId}/deployments/default/${name}`, {
      token,
      body: deployment(1),
    });
    const pod = await p.waitFor(
      `${name} running`,
      async () => (await pods()).find((x) => x.deployment === name && x.phase === "Running" && x.startedAt),
      60_000,
    );
    latencies.push(Date.parse(pod.startedAt ?? "") - Date.parse(pod.createdAt));
    const [row] = await systemRows(
      p.api.deps.db,
      sql`select extract(epoch from scheduled_at - created_at) * 1000 as placed from pods where id = ${pod.id}`,
    );
    placed.push(Math.round(Number(row?.placed)));
    await p.api.call("DELETE", `/v1/clusters/${clusterId}/deployments/default/${name}`, { token });
    await p.waitFor(`${name} gone`, async () => !(await pods()).some((x) => x.deployment === name), 60_000);
  }
  console.log(
    `create → Running, one pod at a time (${SINGLE}): median ${median(latencies)} ms, all ${latencies.join(", ")} ms` +
      ` (of which create → placed: median ${median(placed)} ms)`,
  );

  const started = Date.now();
  await p.api.call("PUT", `/v1/clusters/${clusterId}/deployments/default/many`, {
    token,
    body: deployment(PODS),
  });
  let allRunning: number | null = null;
  try {
    await p.waitFor(
      `${PODS} running`,
      async () =>
        (await pods()).filter((x) => x.deployment === "many" && x.phase === "Running").length === PODS,
      Number(process.env.BENCH_TIMEOUT_MS ?? 180_000),
    );
    allRunning = Date.now() - started;
  } catch {}
  const ev = await events();
  const count = (reason: string) => ev.filter((e) => e.reason === reason).length;
  const running = (await pods()).filter((x) => x.deployment === "many" && x.phase === "Running");
  console.log(
    `${PODS} pods on one node: ${allRunning === null ? `NOT converged (${running.length} running)` : `all Running after ${allRunning} ms`}; ` +
      `NodeNotReady events ${count("NodeNotReady")}, PodsEvicted events ${count("PodsEvicted")}; ` +
      `median create → Running ${median(running.map((x) => Date.parse(x.startedAt ?? "") - Date.parse(x.createdAt)))} ms`,
  );
} finally {
  await agent.stop();
  for (const c of await containersOf(nodeId)) await engine("DELETE", `/containers/${c.Id}?force=true`);
  server.close();
  await p.close();
  await rm(stateDir, { recursive: true, force: true });
}
process.exit(0);
