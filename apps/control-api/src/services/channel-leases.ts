import { UnauthenticatedError } from "@berth/core";
import { HEARTBEAT_INTERVAL_MS } from "@berth/protocol";
import type { WebSocket } from "ws";
import type { Deps, NodeCaller } from "../deps";
import { heartbeatNode } from "./node-heartbeat";

/** How a tick went for one channel: renewed, not renewed (its pings went unanswered), or failed. */
export type LeaseOutcome = "renewed" | "silent" | "failed";

interface Held {
  node: NodeCaller;
  /** When the agent was last heard on the channel: a message, or the pong of a ping. */
  heardAt: number;
  /** The latest expiry of a credential the node used on the channel: no renewal after it. */
  validUntil: number;
}

/**
 * Node leases held through node channels (`NODE_CHANNEL_LEASE_HEADER` in @berth/protocol): every
 * interval the replica pings each channel it holds and renews the lease of each node heard since
 * the interval before last, as that node's heartbeat would (heartbeatNode: the plain case batched
 * into one statement with every other, a node back from not_ready through the transactional path
 * with its event). An agent whose channel holds its lease heartbeats only every
 * CHANNEL_LEASE_HEARTBEAT_MS, so a node costs a ping and a pong where it cost a call.
 *
 * A lease is renewed only while the node's credential is good (the latest it used on the channel)
 * and the agent answers: a hung agent, a cut connection or a half-open socket stops the renewals,
 * and the lease lapses as when heartbeats stop. A node that is no longer part of its cluster has
 * its channel closed (1008); its agent then finds that out over HTTP, as before.
 */
export class ChannelLeases {
  private readonly held = new Map<WebSocket, Held>();
  private timer: NodeJS.Timeout | undefined;
  /** Bumped by stop(): a tick of an earlier run schedules no more. */
  private run = 0;

  constructor(
    private readonly deps: Deps,
    private readonly opts: { intervalMs: number; onOutcome?: (outcome: LeaseOutcome) => void },
  ) {}

  get intervalMs(): number {
    return this.opts.intervalMs;
  }

  /** Holds `node`'s lease through `ws` until the socket closes. */
  hold(ws: WebSocket, node: NodeCaller): void {
    this.held.set(ws, { node, heardAt: Date.now(), validUntil: node.expiresAt });
    const heard = () => this.heard(ws);
    ws.on("pong", heard);
    ws.on("message", heard);
    ws.once("close", () => {
      this.held.delete(ws);
      if (this.held.size === 0) this.stop();
    });
    if (!this.timer) this.schedule(this.opts.intervalMs);
  }

  /** A call on the channel was authenticated with a credential good until `expiresAt`. */
  credentialUsed(ws: WebSocket, expiresAt: number): void {
    const h = this.held.get(ws);
    if (h && expiresAt > h.validUntil) h.validUntil = expiresAt;
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.run++;
  }

  /**
   * The next tick in `ms`. Ticks never overlap, and a slow one delays the next only by what is left
   * of the interval (as an agent's heartbeat does), so renewals stay an interval apart.
   */
  private schedule(ms: number): void {
    const run = this.run;
    this.timer = setTimeout(() => {
      const started = Date.now();
      void this.tick().finally(() => {
        if (run !== this.run) return;
        if (this.held.size > 0) this.schedule(Math.max(0, this.opts.intervalMs - (Date.now() - started)));
        else this.timer = undefined;
      });
    }, ms);
    this.timer.unref?.();
  }

  private heard(ws: WebSocket): void {
    const h = this.held.get(ws);
    if (h) h.heardAt = Date.now();
  }

  /** One interval: ping every channel, renew the leases of those heard lately. */
  private async tick(): Promise<void> {
    const now = Date.now();
    const renewals: Promise<void>[] = [];
    for (const [ws, h] of this.held) {
      if (ws.readyState !== ws.OPEN) continue;
      ws.ping();
      // Heard since the interval before last: a pong arrives within an interval of its ping.
      if (now - h.heardAt > 2 * this.opts.intervalMs || now >= h.validUntil) {
        this.opts.onOutcome?.("silent");
        continue;
      }
      renewals.push(this.renew(ws, h));
    }
    await Promise.all(renewals);
  }

  private async renew(ws: WebSocket, h: Held): Promise<void> {
    try {
      await heartbeatNode(this.deps, h.node, {});
      this.opts.onOutcome?.("renewed");
    } catch (error) {
      this.opts.onOutcome?.("failed");
      if (error instanceof UnauthenticatedError) {
        this.held.delete(ws);
        ws.close(1008, "this node is not part of the cluster");
        return;
      }
      this.deps.logger.warn(
        { err: error, nodeId: h.node.nodeId },
        "could not renew a node lease held by its channel",
      );
    }
  }
}

const perDeps = new WeakMap<Deps, ChannelLeases>();

/** The replica's holder of channel leases (one per app). */
export function channelLeasesOf(deps: Deps, onOutcome?: (outcome: LeaseOutcome) => void): ChannelLeases {
  let leases = perDeps.get(deps);
  if (!leases) {
    leases = new ChannelLeases(deps, {
      intervalMs: HEARTBEAT_INTERVAL_MS,
      ...(onOutcome ? { onOutcome } : {}),
    });
    perDeps.set(deps, leases);
  }
  return leases;
}
