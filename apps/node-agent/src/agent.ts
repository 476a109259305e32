import { join } from "node:path";
import type { Logger } from "@berth/core";
import type { AgentAnnouncement, JoinRequest } from "@berth/protocol";
import type { ApiError, ControlPlane } from "./api";
import { removeStaleContainers } from "./containers";
import { establishIdentity, type IdentityContext, joinCluster } from "./identity";
import type { HostCounters } from "./metrics/host-stats";
import type { TunnelStats } from "./network/tunnel";
import { RegistryAccess } from "./registry-access";
import { type ContainerRuntime, isRuntimeError } from "./runtime";
import type { RegistryAuth } from "./runtime/docker-engine";
import { DEFAULT_INTERVALS, type Intervals, NodeSession } from "./session";
import { type AgentState, forgetState, installationId, saveState } from "./state";
import { RunHistory } from "./streams/runs";

export interface AgentOptions {
  server: string;
  joinToken: string | undefined;
  stateDir: string;
  join: Omit<JoinRequest, "joinToken">;
  publishAddress: string;
  stopTimeoutSeconds: number;
  /** How long to keep retrying a join the control plane cannot take yet (default 10 minutes). */
  joinRetryMs?: number;
  /** Pods worked on at once (default 8). */
  podConcurrency?: number;
  intervals?: Partial<Intervals>;
  /**
   * Look for host ports of the node's range held outside Berth (default true). Hollow nodes do
   * not: they hold no real ports, and all of them share one host.
   */
  scanHostPorts?: boolean;
  /** The pod network (see SessionOptions); its view is cached in the state directory. */
  network?: {
    pollMs: number;
    dnsUpstream?: { address: string; port: number } | undefined;
    /** The node's mutual-TLS tunnel to the cluster's other nodes: where it listens (port 0: any free one). */
    tunnel?: { address: string; port: number } | undefined;
  };
  /** The agent the control plane serves, as its heartbeat replies announce it (see self-update.ts). */
  onAgentAnnounced?: (agent: AgentAnnouncement | undefined) => void;
}

export interface AgentDeps {
  runtime: ContainerRuntime;
  /** The control plane at a server's URL (the agent may have to say goodbye to an old one). */
  controlPlane: (server: string) => ControlPlane;
  logger: Logger;
  /** The host's counters for the node's metrics (default: read from /proc each sample). */
  hostCounters?: () => Promise<HostCounters>;
}

export interface AgentStatus {
  nodeId: string | null;
  clusterId: string | null;
  installationId: string | null;
  lastHeartbeatAt: number | null;
  heartbeatFailures: number;
  lastSyncAt: number | null;
  syncFailures: number;
  watching: boolean;
  pods: number;
  reservedHostPorts: number[];
  /** Log and exec streams being served. */
  streams: number;
  /** The node's mutual-TLS tunnel's counters (null: no tunnel). */
  tunnel: TunnelStats | null;
}

export interface Agent {
  /** Establishes the node's identity (resumes, or leaves an old cluster and joins) and starts working. */
  start(): Promise<void>;
  /** Stops working; the pods keep running (an agent restart must not restart workloads). */
  stop(): Promise<void>;
  /** Settles with "left" when the control plane told the node to leave and it did. */
  readonly done: Promise<"left" | "stopped">;
  status(): AgentStatus;
  /**
   * Credentials for the runtime's pulls from `host` (give it as the runtime's `registryAuth`): the
   * node's own credential for Berth's registry, as the control plane names it; null for any other.
   */
  registryAuth(host: string): Promise<RegistryAuth | null>;
}

const REJOIN_COOLDOWN_MS = 60_000;

export function createAgent(opts: AgentOptions, deps: AgentDeps): Agent {
  const { runtime, logger } = deps;
  const intervals = { ...DEFAULT_INTERVALS, ...opts.intervals };
  const ctx: IdentityContext = {
    server: opts.server,
    joinToken: opts.joinToken,
    stateDir: opts.stateDir,
    join: opts.join,
    joinRetryMs: opts.joinRetryMs ?? 600_000,
    controlPlane: deps.controlPlane,
    runtime,
    logger,
  };
  let installation: string | null = null;
  let state: AgentState | null = null;
  let session: NodeSession | null = null;
  let leaving: Promise<void> | null = null;
  let recovering: Promise<void> | null = null;
  let nextRejoinAt = 0;
  const runHistory = new RunHistory(join(opts.stateDir, "container-runs.json"));
  const registry = new RegistryAccess(() =>
    state ? { nodeId: state.nodeId, credential: state.credential } : null,
  );
  let finish: (how: "left" | "stopped") => void = () => {};
  const done = new Promise<"left" | "stopped">((resolve) => (finish = resolve));

  async function begin(s: AgentState): Promise<void> {
    state = s;
    await removeStaleContainers(runtime, installation ?? "", s.nodeId, logger).catch((e: unknown) => {
      if (!isRuntimeError(e, "UNAVAILABLE")) throw e;
    });
    const current = new NodeSession(
      {
        runtime,
        controlPlane: deps.controlPlane(opts.server),
        logger,
        ...(deps.hostCounters ? { hostCounters: deps.hostCounters } : {}),
      },
      {
        identity: { nodeId: s.nodeId, clusterId: s.clusterId, installationId: installation ?? "" },
        credential: () => state?.credential ?? "",
        saveCredential: async (credential, expiresAt) => {
          if (!state || session !== current) return;
          state = { ...state, credential, expiresAt };
          await saveState(opts.stateDir, state);
        },
        portRange: opts.join.portRange,
        publishAddress: opts.publishAddress,
        stopTimeoutSeconds: opts.stopTimeoutSeconds,
        podConcurrency: opts.podConcurrency ?? 8,
        podsDir: join(opts.stateDir, "pods"),
        intervals,
        ...(opts.scanHostPorts === false ? { scanHostPorts: false } : {}),
        onLeave: () => void leave(),
        onUnauthorized: (error) => void recover(error),
        runHistory,
        probeStatesFile: join(opts.stateDir, "probe-states.json"),
        ...(opts.join.agentVersion ? { agentVersion: opts.join.agentVersion } : {}),
        ...(opts.onAgentAnnounced ? { onAgentAnnounced: opts.onAgentAnnounced } : {}),
        onRegistry: (host) => registry.told(host),
        ...(opts.network
          ? {
              network: {
                ...opts.network,
                cacheFile: join(opts.stateDir, "network.json"),
                tunnel: opts.network.tunnel && { ...opts.network.tunnel, nodeName: opts.join.name },
              },
            }
          : {}),
      },
    );
    session = current;
    await current.start();
  }

  function leave(): Promise<void> {
    leaving ??= (async () => {
      await session?.leave();
      session = null;
      await forgetState(opts.stateDir);
      logger.info({ nodeId: state?.nodeId }, "left the cluster");
      finish("left");
    })();
    return leaving;
  }

  /**
   * The control plane refused the node's credential (the node was retired, its cluster deleted,
   * the credential expired while the agent was down). The node joins again when its token still
   * allows it; until then its pods keep running as last assigned, and it tries again now and then.
   */
  function recover(error: ApiError): Promise<void> {
    recovering ??= (async () => {
      if (leaving || Date.now() < nextRejoinAt) return;
      nextRejoinAt = Date.now() + REJOIN_COOLDOWN_MS;
      logger.warn({ err: error.message }, "the control plane refuses this node's credential: joining again");
      let joined: AgentState;
      try {
        joined = await joinCluster(ctx, { retry: false });
      } catch (e) {
        logger.error(
          { err: (e as Error).message, retryInMs: REJOIN_COOLDOWN_MS },
          "cannot join again (restart the agent with a new --join-token); pods keep running as last assigned",
        );
        return;
      }
      await session?.stop();
      await begin(joined);
    })().finally(() => {
      recovering = null;
    });
    return recovering;
  }

  return {
    done,
    registryAuth: (host) => registry.auth(host),
    async start() {
      // Without its runtime the node still joins and heartbeats (its pods fail, saying why), so
      // the control plane sees it and its operators read the reason here.
      await runtime
        .ping()
        .catch((e: unknown) =>
          logger.error(
            { runtime: runtime.name, err: (e as Error).message },
            "the container runtime is unavailable: the node joins, but no pod can start until it is",
          ),
        );
      installation = await installationId(opts.stateDir);
      await runHistory.load();
      await begin(await establishIdentity(ctx));
    },
    async stop() {
      await recovering;
      if (leaving) await leaving;
      else await session?.stop();
      finish("stopped");
    },
    status: () => ({
      nodeId: state?.nodeId ?? null,
      clusterId: state?.clusterId ?? null,
      installationId: installation,
      lastHeartbeatAt: null,
      heartbeatFailures: 0,
      lastSyncAt: null,
      syncFailures: 0,
      watching: false,
      pods: 0,
      reservedHostPorts: [],
      streams: 0,
      tunnel: null,
      ...session?.status(),
    }),
  };
}
