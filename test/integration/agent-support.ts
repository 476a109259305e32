import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import type { Server } from "node:http";
import { type AddressInfo, connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { attachWebSockets } from "@berth/control-api/testing";
import { type Agent, type AgentOptions, createAgent } from "@berth/node-agent/agent";
import { createControlPlane } from "@berth/node-agent/api";
import { dismantleNodeNetwork } from "@berth/node-agent/network";
import { type ContainerRuntime, createDockerEngineRuntime } from "@berth/node-agent/runtime";
import { AGENT_RELEASE } from "@berth/protocol";
import { serve } from "@hono/node-server";
import { pino } from "pino";
import { containersOf, engine, ROOT } from "../e2e/support";
import type { Platform } from "./harness";

/** Node agents in this process against a platform served on a real port, with real Podman. */
export interface Agents {
  url: string;
  runtime: ContainerRuntime;
  /** Starts an agent; `logs` collects its log lines. */
  start(
    name: string,
    opts: {
      joinToken?: string;
      stateDir?: string;
      portRange: { min: number; max: number };
      pods?: number;
      runtime?: ContainerRuntime;
      /** A runtime of its own, built with the agent's registry credentials (its `registryAuth`). */
      runtimeWith?: (registryAuth: Agent["registryAuth"]) => ContainerRuntime;
      podConcurrency?: number;
      server?: string;
      intervals?: AgentOptions["intervals"];
      /** What the node offers (default: 64 cores, 64 GiB); `extended` as its agent advertises it. */
      capacity?: { cpuMillis: number; memoryBytes: number; extended?: Record<string, number> };
      /** Its `topology.kubernetes.io/zone`, where its pool names none. */
      zone?: string;
      /** The node's address: its pods' published ports and its node ports (default 127.0.0.1). */
      address?: string;
      /** The pod network (default: each cluster's own network, its view read every 500 ms, and a tunnel on any free port). */
      network?: AgentOptions["network"] | false;
    },
  ): Promise<{ agent: Agent; stateDir: string; logs: string[] }>;
  close(): Promise<void>;
}

export const socketPath = (): string =>
  (process.env.CONTAINER_HOST ?? `unix://${ROOT}/.data/podman/podman.sock`).replace(/^unix:\/\//, "");

export async function startAgents(p: Platform): Promise<Agents> {
  const server = serve({ fetch: p.api.app.fetch, port: 0, hostname: "127.0.0.1" });
  await new Promise<void>((ok) => server.once("listening", () => ok()));
  // The agents' log and exec streams are WebSockets to the control plane.
  const sockets = attachWebSockets(server as Server, p.api.app);
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const runtime = createDockerEngineRuntime({ socketPath: socketPath() });
  const started: { agent: Agent; stateDir: string; owned: boolean }[] = [];
  return {
    url,
    runtime,
    async start(name, o) {
      const stateDir = o.stateDir ?? (await mkdtemp(join(tmpdir(), `berth-agent-${name}-`)));
      const logs: string[] = [];
      const level = process.env.AGENT_LOG_LEVEL ?? "info";
      const logger = pino(
        { level, base: { service: "node-agent", node: name } },
        {
          write(line: string) {
            logs.push(line);
            if (process.env.AGENT_LOG_LEVEL) process.stdout.write(line);
          },
        },
      );
      let self: Agent | undefined;
      const own = o.runtimeWith?.(async (host) => (self ? self.registryAuth(host) : null));
      const agent = createAgent(
        {
          server: o.server ?? url,
          joinToken: o.joinToken,
          stateDir,
          join: {
            name,
            capacity: {
              ...(o.capacity ?? { cpuMillis: 64_000, memoryBytes: 64 * 1024 ** 3 }),
              pods: o.pods ?? 20,
            },
            ...(o.zone ? { zone: o.zone } : {}),
            portRange: o.portRange,
            address: o.address ?? "127.0.0.1",
            labels: {},
            agentVersion: `${AGENT_RELEASE}+test`,
          },
          publishAddress: o.address ?? "127.0.0.1",
          stopTimeoutSeconds: 2,
          joinRetryMs: 30_000,
          ...(o.podConcurrency ? { podConcurrency: o.podConcurrency } : {}),
          ...(o.intervals ? { intervals: o.intervals } : {}),
          ...(o.network === false
            ? {}
            : { network: o.network ?? { pollMs: 500, tunnel: { address: "127.0.0.1", port: 0 } } }),
        },
        {
          runtime: own ?? o.runtime ?? runtime,
          controlPlane: (s) => createControlPlane(s, { timeoutMs: 5_000, channel: true }),
          logger,
        },
      );
      self = agent;
      started.push({ agent, stateDir, owned: o.stateDir === undefined });
      await agent.start();
      return { agent, stateDir, logs };
    },
    async close() {
      const nodes: { nodeId: string; clusterId: string }[] = [];
      for (const { agent } of started) {
        const { nodeId, clusterId } = agent.status();
        if (nodeId && clusterId) nodes.push({ nodeId, clusterId });
        await agent.stop().catch(() => {});
        if (nodeId)
          for (const c of await containersOf(nodeId, { all: true }))
            await engine("DELETE", `/containers/${c.Id}?force=true`);
      }
      // Each node's network goes with its last container (agents leave it in place when they stop).
      for (const node of nodes) await dismantleNodeNetwork(runtime, node);
      for (const { stateDir } of started) {
        // A stopped agent leaves its pods' mounts (their Secrets' tmpfs): a restarted one keeps them.
        await unmountUnder(stateDir);
        await rm(stateDir, { recursive: true, force: true });
      }
      sockets.close();
      await new Promise<void>((ok) => {
        server.close(() => ok());
        (server as unknown as { closeAllConnections(): void }).closeAllConnections();
      });
    },
  };
}

/** Unmounts what is mounted at or under `dir`, deepest first (a pod's Secret volumes are tmpfs). */
async function unmountUnder(dir: string): Promise<void> {
  const info = await readFile("/proc/self/mountinfo", "utf8");
  const points = info
    .split("\n")
    .map((line) => line.split(" ")[4] ?? "")
    .filter((p) => p === dir || p.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const point of points)
    await new Promise<void>((ok, fail) =>
      execFile("umount", [point], (error) => (error ? fail(error) : ok())),
    );
}

/** A free block of host ports for one test's nodes (tests run in parallel on one host). */
export { hostPortBlock } from "../e2e/support";

export const demoDeployment = (replicas: number, extra: Record<string, unknown> = {}) => ({
  spec: {
    replicas,
    template: {
      spec: {
        containers: [
          {
            name: "web",
            image: "localhost/berth/demo-web:latest",
            ports: [{ containerPort: 8080 }],
            resources: { requests: { cpu: "10m", memory: "16Mi" } },
            ...extra,
          },
        ],
      },
    },
  },
});

/**
 * Deployment manifests (for `apply`) of the demo image (`localhost/berth/demo-web:latest`, busybox httpd on 8080) as the
 * networking tests run them: labelled `app: <name>` (plus `labels`), one container named like the
 * Deployment with a small request; `container` adds to (or replaces) the container's fields.
 */
export function demoManifest(
  name: string,
  o: {
    replicas?: number;
    namespace?: string;
    labels?: Record<string, string>;
    container?: Record<string, unknown>;
    pod?: Record<string, unknown>;
  } = {},
) {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, ...(o.namespace ? { namespace: o.namespace } : {}) },
    spec: {
      replicas: o.replicas ?? 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name, ...o.labels } },
        spec: {
          ...o.pod,
          containers: [
            {
              name,
              image: "localhost/berth/demo-web:latest",
              resources: { requests: { cpu: "10m", memory: "16Mi" } },
              ...o.container,
            },
          ],
        },
      },
    },
  };
}

/** A pod that only waits (a client to exec calls from). */
export const SLEEPER = { command: ["sleep", "3600"] };

/**
 * Whether something listens at `host:port` (a TCP connection opens). Agents of one cluster on one
 * host share its service addresses, and the first to listen on one serves it: a test that needs a
 * given node's proxy to serve starts that agent alone and waits for this before starting the next.
 */
export function listening(host: string, port: number): Promise<boolean> {
  return new Promise((ok) => {
    const s = connect({ host, port });
    s.once("connect", () => {
      s.destroy();
      ok(true);
    });
    s.once("error", () => ok(false));
  });
}

/** A one-replica Deployment of the demo image pinned to a node (its `kubernetes.io/hostname`). */
export const pinnedDeployment = (name: string, node: string, container: Record<string, unknown> = {}) =>
  demoManifest(name, { pod: { nodeSelector: { "kubernetes.io/hostname": node } }, container });

/** A sample's value in a Prometheus text exposition (the first series of that name), NaN when absent. */
export function metricValue(text: string, name: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return Number(line?.split(" ").at(-1) ?? Number.NaN);
}

/** A node joined through the API alone (no agent): its id and credential. */
export async function joinByApi(
  p: Platform,
  t: { token: string; clusterId: string },
  name: string,
): Promise<{ id: string; credential: string }> {
  const jt = await p.api.call("POST", `/v1/clusters/${t.clusterId}/join-tokens`, { token: t.token });
  const j = await p.api.call("POST", "/v1/nodes/join", {
    body: {
      joinToken: jt.body.token,
      name,
      capacity: { cpuMillis: 1000, memoryBytes: 1024 ** 3, pods: 10 },
      portRange: { min: 31900, max: 31909 },
      address: "127.0.0.1",
    },
  });
  if (j.status !== 201) throw new Error(`join ${name}: ${j.status} ${j.text}`);
  return { id: j.body.nodeId as string, credential: j.body.credential as string };
}

/**
 * A tenant's calls into one cluster as the networking tests make them: the API, pods by `app`, exec
 * in a pod. `platform` is read at each call (tests start it in `beforeAll`).
 */
export function clusterClient(platform: () => Platform, t: { token: string; clusterId: string }) {
  const call = (method: string, path: string, body?: unknown) =>
    platform().api.call(method, `/v1/clusters/${t.clusterId}/${path}`, {
      token: t.token,
      ...(body ? { body } : {}),
    });
  return {
    call,
    // biome-ignore lint/suspicious/noExplicitAny: tests read JSON replies freely; the assertions check them
    podsOf: async (app: string): Promise<any[]> =>
      (await call("GET", `pods?namespace=default&labelSelector=app%3D${app}`)).body.items,
    // biome-ignore lint/suspicious/noExplicitAny: a pod as the API lists it
    async exec(pod: any, script: string) {
      const r = await call("POST", `pods/default/${pod.name}/exec`, { command: ["sh", "-c", script] });
      if (r.status !== 200) throw new Error(`exec in ${pod.name}: ${r.status} ${r.text}`);
      return r.body as { stdout: string; stderr: string; exitCode: number | null };
    },
  };
}
