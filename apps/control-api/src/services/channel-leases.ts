import { UnauthenticatedError } from "@berth/core";
import { HEARTBEAT_INTERVAL_MS } from "@berth/protocol";
import type { WebSocket } from "ws";
import type { Deps, NodeCaller } from "../deps";
import { heartbeatNode } from "./node-heartbeat";

/** How a tick went for one channel: renewed, not renewed (its pings went unanswered), or failed. */
export type LeaseOutcome = "renewed" | "silent" | "failed";

/** What a replica's channel leases report: each channel's outcome, and how long each tick took. */
export interface LeaseObserver {
  lease(outcome: LeaseOutcome): void;
  leaseTick(seconds: number): void;
}

interface Held {
  node: NodeCaller;
  /** When the agent was last heard on the channel: a message, or the pong of a ping. */
  heardAt: number;
  /** The latest expiry of a credential the node used on the channel: no renewal after it. */
  validUntil: number;
  /** A renewal of its lease is in flight. */
  renewing: boolean;
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
  /** When the last two ticks pinged every channel, older first. */
  private pings: number[] = [];

  constructor(
    private readonly deps: Deps,
    private readonly opts: { intervalMs: number; observer?: LeaseObserver },
  ) {}

  get intervalMs(): number {
    return this.opts.intervalMs;
  }

  /** Holds `node`'s lease through `ws` until the socket closes. */
  hold(ws: WebSocket, node: NodeCaller): void {
    this.held.set(ws, { node, heardAt: Date.now(), validUntil: node.expiresAt, renewing: false });
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
    this.pings = [];
  }

  /**
   * Ticks an interval apart, whatever the renewals of the last one still wait on: pings go out on
   * time, and a renewal still in flight is not sent again (see tick).
   */
  private schedule(ms: number): void {
    const run = this.run;
    this.timer = setTimeout(() => {
      if (run !== this.run) return;
      this.tick();
      if (this.held.size > 0) this.schedule(this.opts.intervalMs);
      else this.timer = undefined;
    }, ms);
    this.timer.unref?.();
  }

  private heard(ws: WebSocket): void {
    const h = this.held.get(ws);
    if (h) h.heardAt = Date.now();
  }

  /**
   * One interval: ping every channel, renew the lease of each heard since the ping before last (a
   * pong arrives within an interval of its ping). Silence is judged against this replica's own
   * pings, not the clock: a replica that fell behind (a stalled event loop, a late timer) does not
   * blame the agents for the pings it did not send.
   */
  private tick(): void {
    const started = Date.now();
    const since = this.pings[0] ?? started - 2 * this.opts.intervalMs;
    this.pings = [this.pings[1] ?? since, started];
    const renewals: Promise<void>[] = [];
    for (const [ws, h] of this.held) {
      if (ws.readyState !== ws.OPEN) continue;
      ws.ping();
      if (h.heardAt < since || started >= h.validUntil) {
        this.opts.observer?.lease("silent");
        continue;
      }
      // Still waiting on the last renewal (Postgres is slow): one at a time per node.
      if (h.renewing) continue;
      renewals.push(this.renew(ws, h));
    }
    void Promise.all(renewals).then(() => {
      const took = Date.now() - started;
      this.opts.observer?.leaseTick(took / 1000);
      if (took > this.opts.intervalMs)
        this.deps.logger.warn(
          { tookMs: took, intervalMs: this.opts.intervalMs, renewals: renewals.length },
          "renewing the leases of the node channels took longer than their interval",
        );
    });
  }

  private async renew(ws: WebSocket, h: Held): Promise<void> {
    h.renewing = true;
    try {
      await heartbeatNode(this.deps, h.node, {});
      this.opts.observer?.lease("renewed");
    } catch (error) {
      this.opts.observer?.lease("failed");
      if (error instanceof UnauthenticatedError) {
        this.held.delete(ws);
        ws.close(1008, "this node is not part of the cluster");
        return;
      }
      this.deps.logger.warn(
        { err: error, nodeId: h.node.nodeId },
        "could not renew a node lease held by its channel",
      );
    } finally {
      h.renewing = false;
    }
  }
}

const perDeps = new WeakMap<Deps, ChannelLeases>();

/** The replica's holder of channel leases (one per app). */
export function channelLeasesOf(deps: Deps, observer?: LeaseObserver): ChannelLeases {
  let leases = perDeps.get(deps);
  if (!leases) {
    leases = new ChannelLeases(deps, {
      intervalMs: HEARTBEAT_INTERVAL_MS,
      ...(observer ? { observer } : {}),
    });
    perDeps.set(deps, leases);
  }
  return leases;
}
