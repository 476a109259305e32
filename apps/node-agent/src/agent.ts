import { rm } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "@berth/core";
import { ApiError, type Assignment, type ControlPlane, type JoinRequest } from "./api";
import type { ContainerRuntime } from "./runtime";
import { type AgentState, loadState, saveState } from "./state";
import { PodSupervisor } from "./supervisor";

export interface AgentOptions {
  server: string;
  joinToken: string | undefined;
  stateDir: string;
  join: Omit<JoinRequest, "joinToken">;
  publishAddress: string;
  stopTimeoutSeconds: number;
  /** How long to keep retrying a join the control plane cannot take yet (default 10 minutes). */
  joinRetryMs?: number;
}

export interface AgentDeps {
  runtime: ContainerRuntime;
  controlPlane: ControlPlane;
  logger: Logger;
}

export interface AgentStatus {
  nodeId: string | null;
  lastSyncAt: number | null;
  syncFailures: number;
  pods: number;
}

export interface Agent {
  /** Joins (or resumes its saved identity) and starts syncing. */
  start(): Promise<void>;
  /** Stops syncing; the pods keep running (an agent restart must not restart workloads). */
  stop(): Promise<void>;
  /** Settles with "left" when the control plane told the node to leave and it did. */
  readonly done: Promise<"left" | "stopped">;
  status(): AgentStatus;
}

export function createAgent(opts: AgentOptions, deps: AgentDeps): Agent {
  const { runtime, controlPlane, logger } = deps;
  let state: AgentState | null = null;
  let supervisor: PodSupervisor | null = null;
  let assignments: Assignment[] = [];
  let intervalMs = 2_000;
  let timer: NodeJS.Timeout | null = null;
  let running = false;
  let ticking: Promise<void> = Promise.resolve();
  let lastSyncAt: number | null = null;
  let syncFailures = 0;
  let finish: (how: "left" | "stopped") => void = () => {};
  const done = new Promise<"left" | "stopped">((resolve) => (finish = resolve));

  /**
   * A machine may boot before the control plane can be reached, or while its cluster is busy:
   * unreachable, 5xx, 409 and 429 are retried with back-off (up to `joinRetryMs`); a refused token
   * (401) or a bad request is final.
   */
  async function joinWithRetries(joinToken: string) {
    const deadline = Date.now() + (opts.joinRetryMs ?? 600_000);
    for (let attempt = 1; ; attempt++) {
      try {
        return await controlPlane.join({ ...opts.join, joinToken });
      } catch (error) {
        const retryable =
          error instanceof ApiError &&
          (error.status === 0 || error.status >= 500 || error.status === 409 || error.status === 429);
        if (!retryable || Date.now() > deadline) throw error;
        const delay = Math.min(1000 * 2 ** (attempt - 1), 15_000);
        logger.warn(
          { err: (error as Error).message, attempt, retryInMs: delay },
          "could not join yet; retrying",
        );
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  async function joinCluster(): Promise<AgentState> {
    if (!opts.joinToken) throw new Error("this node has no saved identity: pass --join-token");
    const reply = await joinWithRetries(opts.joinToken);
    const s = {
      server: opts.server,
      nodeId: reply.nodeId,
      clusterId: reply.clusterId,
      credential: reply.credential,
      expiresAt: reply.expiresAt,
    };
    await saveState(opts.stateDir, s);
    intervalMs = reply.heartbeatIntervalMs;
    logger.info({ nodeId: s.nodeId, clusterId: s.clusterId }, "joined the cluster");
    return s;
  }

  function adopt(s: AgentState): void {
    state = s;
    supervisor = new PodSupervisor(runtime, s.nodeId, {
      publishAddress: opts.publishAddress,
      stopTimeoutSeconds: opts.stopTimeoutSeconds,
      logger,
    });
  }

  async function leave(): Promise<void> {
    if (!state || !supervisor) return;
    logger.info("the control plane asked this node to leave: stopping its pods");
    await supervisor.removeAll();
    try {
      await controlPlane.sync(state.credential, { pods: [], left: true });
    } catch (error) {
      logger.warn(
        { err: (error as Error).message },
        "could not confirm leaving; the control plane releases the node itself",
      );
    }
    await rm(join(opts.stateDir, "state.json"), { force: true });
    running = false;
    finish("left");
  }

  async function tick(): Promise<void> {
    if (!state || !supervisor) return;
    const observed = await supervisor.observe();
    try {
      const reply = await controlPlane.sync(state.credential, {
        pods: supervisor.report(observed, assignments),
      });
      assignments = reply.pods;
      intervalMs = reply.heartbeatIntervalMs;
      lastSyncAt = Date.now();
      syncFailures = 0;
      if (reply.credential) {
        state = { ...state, credential: reply.credential.credential, expiresAt: reply.credential.expiresAt };
        await saveState(opts.stateDir, state);
      }
      if (reply.leave) return leave();
    } catch (error) {
      syncFailures++;
      if (error instanceof ApiError && error.status === 401 && opts.joinToken) {
        logger.warn({ err: error.message }, "the node credential was refused: joining again");
        adopt(await joinCluster());
        assignments = [];
        return;
      }
      // The control plane is unreachable or refusing: keep the pods as they were told to be.
      logger.warn(
        { err: (error as Error).message, failures: syncFailures },
        "sync failed; keeping pods running",
      );
    }
    await supervisor.act(observed, assignments);
  }

  function schedule(): void {
    if (!running) return;
    timer = setTimeout(() => {
      ticking = tick()
        .catch((error: unknown) => logger.error({ err: error }, "tick failed"))
        .finally(schedule);
    }, intervalMs);
  }

  return {
    done,
    async start() {
      await runtime.ping();
      const saved = await loadState(opts.stateDir);
      adopt(saved && saved.server === opts.server ? saved : await joinCluster());
      running = true;
      ticking = tick().catch((error: unknown) => logger.error({ err: error }, "tick failed"));
      await ticking;
      schedule();
    },
    async stop() {
      running = false;
      if (timer) clearTimeout(timer);
      await ticking;
      finish("stopped");
    },
    status: () => ({
      nodeId: state?.nodeId ?? null,
      lastSyncAt,
      syncFailures,
      pods: assignments.filter((a) => a.action === "run").length,
    }),
  };
}
