import { join } from "node:path";
import type { Logger } from "@berth/core";
import { AGENT_RELEASE, type JoinRequest } from "@berth/protocol";
import { type Agent, type AgentOptions, createAgent } from "./agent";
import { createControlPlane } from "./api";
import { type HostCounters, readHostCounters } from "./metrics/host-stats";
import { createHollowRuntime } from "./runtime/hollow";

/**
 * Many hollow nodes in one process (kubemark's hollow kubelets): each a real agent — its own
 * join, credential, lease, heartbeats, assignment watch and pod lifecycle — over a hollow runtime
 * whose containers start after `startDelayMs` and run nothing. Everything the control plane does
 * for them is its real code path. For tests and benchmarks at scale, never a node's default.
 */
export interface HollowNodesOptions {
  server: string;
  /** A token that admits `count` nodes (a pool's token with `maxUses`, or one per node). */
  joinToken: string | ((index: number) => string);
  count: number;
  /** Names are `<prefix>-<index>`. */
  prefix: string;
  /** Each node keeps its identity under `<stateDir>/<name>`. */
  stateDir: string;
  capacity: JoinRequest["capacity"];
  portRange: JoinRequest["portRange"];
  /** How long a hollow container takes to start (default 0). */
  startDelayMs?: number;
  /** Agents started at once (default 50): joining 5,000 at a time would only queue at the API. */
  startConcurrency?: number;
  intervals?: AgentOptions["intervals"];
  /** Each node makes its frequent calls over a node channel of its own (api.ts). */
  channel?: boolean;
  logger: Logger;
}

export interface HollowNodes {
  readonly agents: readonly Agent[];
  stop(): Promise<void>;
}

export async function startHollowNodes(opts: HollowNodesOptions): Promise<HollowNodes> {
  const agents: Agent[] = [];
  // They share one host: one read of its counters a second serves them all (each read three /proc
  // files every 10 s, most of the harness's system time at thousands of nodes).
  const hostCounters = memoized(readHostCounters, 1_000);
  const tokenOf = typeof opts.joinToken === "string" ? () => opts.joinToken as string : opts.joinToken;
  let next = 0;
  const startOne = async (i: number) => {
    const name = `${opts.prefix}-${i}`;
    const agent = createAgent(
      {
        server: opts.server,
        joinToken: tokenOf(i),
        stateDir: join(opts.stateDir, name),
        join: {
          name,
          capacity: opts.capacity,
          portRange: opts.portRange,
          address: "127.0.0.1",
          labels: {},
          agentVersion: `${AGENT_RELEASE}+hollow`,
        },
        publishAddress: "127.0.0.1",
        stopTimeoutSeconds: 1,
        // Their containers hold no host ports, and they share one host: each reading its whole
        // socket table every 30 s was most of the harness's CPU.
        scanHostPorts: false,
        ...(opts.intervals ? { intervals: opts.intervals } : {}),
      },
      {
        runtime: createHollowRuntime({ startDelayMs: opts.startDelayMs ?? 0 }),
        controlPlane: (server) => createControlPlane(server, { channel: opts.channel ?? false }),
        logger: opts.logger.child({ node: name }),
        hostCounters,
      },
    );
    agents[i] = agent;
    await agent.start();
  };
  const worker = async () => {
    for (let i = next++; i < opts.count; i = next++) await startOne(i);
  };
  await Promise.all(Array.from({ length: Math.min(opts.startConcurrency ?? 50, opts.count) }, worker));
  return {
    agents,
    async stop() {
      await Promise.all(agents.map((a) => a.stop().catch(() => {})));
    },
  };
}

/** `read`'s answer, shared by every caller within `ttlMs` of it (and while it is in flight). */
function memoized(read: () => Promise<HostCounters>, ttlMs: number): () => Promise<HostCounters> {
  let last: { at: number; value: Promise<HostCounters> } | undefined;
  return () => {
    const now = Date.now();
    if (!last || now - last.at >= ttlMs) {
      const value = read();
      last = { at: now, value };
      // A failed read is not kept: the next caller reads again.
      value.catch(() => {
        if (last?.value === value) last = undefined;
      });
    }
    return last.value;
  };
}
