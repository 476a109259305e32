import type { Logger } from "@berth/core";
import { CONTAINER_LABELS, type JoinRequest } from "@berth/protocol";
import { ApiError, type ControlPlane, isRetryable } from "./api";
import { removeContainers } from "./containers";
import type { ContainerRuntime } from "./runtime";
import { type AgentState, forgetState, hashJoinToken, loadState, saveState } from "./state";

export interface IdentityContext {
  server: string;
  joinToken: string | undefined;
  stateDir: string;
  join: Omit<JoinRequest, "joinToken">;
  /** How long to keep retrying a join the control plane cannot take yet. */
  joinRetryMs: number;
  controlPlane: (server: string) => ControlPlane;
  runtime: ContainerRuntime;
  logger: Logger;
}

/**
 * Who this node is at start: the identity it saved, unless it was started for another cluster
 * (another join token, or another server) — then it leaves the old cluster cleanly first — or it
 * has none yet; then it joins.
 */
export async function establishIdentity(ctx: IdentityContext): Promise<AgentState> {
  const saved = await loadState(ctx.stateDir);
  if (saved) {
    const sameServer = saved.server === ctx.server;
    const sameToken =
      !ctx.joinToken || !saved.joinTokenHash || saved.joinTokenHash === hashJoinToken(ctx.joinToken);
    if (sameServer && sameToken) {
      ctx.logger.info(
        { nodeId: saved.nodeId, clusterId: saved.clusterId },
        "resuming the saved node identity",
      );
      return saved;
    }
    if (!ctx.joinToken)
      throw new Error(
        `this host is node ${saved.nodeId} of ${saved.server}; pass --join-token to join ${ctx.server}`,
      );
    await leaveIdentity(
      ctx,
      saved,
      sameServer ? "started with a different join token" : "started for another server",
    );
  }
  return joinCluster(ctx);
}

/** Joins with the configured token (retrying what may clear up) and saves the identity. */
export async function joinCluster(ctx: IdentityContext, opts: { retry?: boolean } = {}): Promise<AgentState> {
  const token = ctx.joinToken;
  if (!token) throw new Error("this node has no saved identity: pass --join-token");
  const reply = await joinWithRetries(ctx, token, opts.retry === false ? 0 : ctx.joinRetryMs);
  const state: AgentState = {
    server: ctx.server,
    nodeId: reply.nodeId,
    clusterId: reply.clusterId,
    credential: reply.credential,
    expiresAt: reply.expiresAt,
    joinTokenHash: hashJoinToken(token),
  };
  await saveState(ctx.stateDir, state);
  ctx.logger.info({ nodeId: state.nodeId, clusterId: state.clusterId }, "joined the cluster");
  return state;
}

/**
 * A machine may boot before the control plane can be reached, or while its cluster is busy, or
 * while a node of its name is still alive: unreachable, 5xx, 409 and 429 are retried with back-off
 * (up to `retryMs`); a refused token (401) or a bad request is final.
 */
async function joinWithRetries(ctx: IdentityContext, joinToken: string, retryMs: number) {
  const deadline = Date.now() + retryMs;
  const cp = ctx.controlPlane(ctx.server);
  for (let attempt = 1; ; attempt++) {
    try {
      return await cp.join({ ...ctx.join, joinToken });
    } catch (error) {
      if (!isRetryable(error) || Date.now() > deadline) throw error;
      const delay = Math.min(1000 * 2 ** (attempt - 1), 15_000);
      ctx.logger.warn(
        { err: (error as Error).message, attempt, retryInMs: delay },
        "could not join yet; retrying",
      );
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

/**
 * Leaves the cluster of a saved identity: its pods stop, the old control plane is told (if it can
 * be reached), the identity is forgotten. Never silently comes back as the old node.
 */
async function leaveIdentity(ctx: IdentityContext, saved: AgentState, why: string): Promise<void> {
  ctx.logger.info(
    { nodeId: saved.nodeId, clusterId: saved.clusterId, server: saved.server },
    `${why}: leaving the old cluster first`,
  );
  const old = await ctx.runtime.list({ [CONTAINER_LABELS.node]: saved.nodeId });
  await removeContainers(ctx.runtime, old, ctx.logger, 5);
  try {
    await ctx.controlPlane(saved.server).sync(saved.credential, { pods: [], left: true });
    ctx.logger.info({ nodeId: saved.nodeId, stopped: old.length }, "left the old cluster");
  } catch (error) {
    const reason = error instanceof ApiError ? error.message : String(error);
    ctx.logger.warn(
      { nodeId: saved.nodeId, stopped: old.length, err: reason },
      "could not tell the old control plane that this node left; its pods are stopped and its identity forgotten anyway",
    );
  }
  await forgetState(ctx.stateDir);
}
