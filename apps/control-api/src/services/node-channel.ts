import { randomUUID } from "node:crypto";
import { assertSafeInput, BerthError, ForbiddenError, httpStatusOf } from "@berth/core";
import {
  NODE_CHANNEL_LEASE_HEADER,
  NODE_CHANNEL_MAX_IN_FLIGHT,
  type NodeChannelRequest,
  nodeChannelRequestSchema,
  readChannelMessage,
} from "@berth/protocol";
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { z } from "zod";
import { authenticate } from "../auth/authenticate";
import type { Deps, NodeCaller } from "../deps";
import { toBerthError } from "../http/errors";
import { auditOutcome, authorizeAndRun, type Scratch } from "../http/pipeline";
import type { AnyOperation, RequestMeta, SocketReply } from "../operation";
import type { ChannelLeases, LeaseOutcome } from "./channel-leases";

export const nodeChannelInput = z.object({}).strict();

/** What the channel counts: calls by operation and status, the channels open on this replica, lease renewals. */
export interface ChannelMetrics {
  call(op: string, status: number): void;
  opened(delta: 1 | -1): void;
  lease(outcome: LeaseOutcome): void;
  leaseTick(seconds: number): void;
}

const registered = new WeakMap<Registry, ChannelMetrics>();

/** The channel's metrics in `registry` (made once per registry). */
export function channelMetricsOf(registry: Registry): ChannelMetrics {
  let m = registered.get(registry);
  if (!m) {
    const calls = new Counter({
      name: "berth_node_channel_calls_total",
      help: "Calls node agents made over their channel, by operation and status",
      labelNames: ["op", "status"],
      registers: [registry],
    });
    const open = new Gauge({
      name: "berth_node_channels",
      help: "Node channels open on this replica",
      registers: [registry],
    });
    const leases = new Counter({
      name: "berth_node_channel_lease_renewals_total",
      help: "Node leases this replica renewed (or did not) for the node channels it holds, by outcome",
      labelNames: ["outcome"],
      registers: [registry],
    });
    const ticks = new Histogram({
      name: "berth_node_channel_lease_tick_seconds",
      help: "How long this replica took to ping its node channels and renew their leases, each interval",
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8],
      registers: [registry],
    });
    m = {
      call: (op, status) => calls.inc({ op, status: String(status) }),
      opened: (delta) => open.inc(delta),
      lease: (outcome) => leases.inc({ outcome }),
      leaseTick: (seconds) => ticks.observe(seconds),
    };
    registered.set(registry, m);
  }
  return m;
}

/**
 * The node agent's channel: one WebSocket over which it makes its frequent calls (heartbeats,
 * status reports, metrics, and the long polls for assignments, the network view and streams)
 * instead of one HTTP request each. Each call is what it is over REST: it names its operation and
 * carries the node's credential, which is checked as a request's would be (through the replica's
 * cache of verified credentials), its input is validated by the operation's schema, and it runs
 * through the same authorise → run → audit pipeline. Replies name the call they answer and come
 * in any order; a call the socket's close interrupts is abandoned (a long poll stops waiting).
 * A credential refused (the node left, it expired) is answered 401, as over REST; one of another
 * node (another tenant's) 403: a channel carries the calls of the node that opened it only.
 */
export async function openNodeChannel(
  deps: Deps,
  owner: NodeCaller,
  request: RequestMeta,
  calls: ReadonlyMap<string, AnyOperation>,
  opts: { metrics?: ChannelMetrics; leases?: ChannelLeases } = {},
): Promise<SocketReply> {
  if (!request.upgrade)
    throw new BerthError("VALIDATION_FAILED", "the node channel needs a WebSocket upgrade");
  const { metrics, leases } = opts;
  return {
    ...(leases ? { headers: { [NODE_CHANNEL_LEASE_HEADER]: String(leases.intervalMs) } } : {}),
    attach(ws) {
      const closed = new AbortController();
      let inFlight = 0;
      metrics?.opened(1);
      leases?.hold(ws, owner);
      const send = (reply: object) => {
        if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(reply));
      };
      ws.on("message", (data: Buffer, isBinary: boolean) => {
        const message = isBinary ? null : readChannelMessage(nodeChannelRequestSchema, data.toString("utf8"));
        if (!message)
          return void ws.close(1007, "a channel message is a JSON call: {id, op, credential, input}");
        // The credential aside, a call's input is held to the request body limit, as over REST.
        if (data.length - message.credential.length > deps.bodyLimitBytes) {
          send(
            errorReply(
              message.id,
              new BerthError(
                "PAYLOAD_TOO_LARGE",
                `a call's input may be at most ${deps.bodyLimitBytes} bytes`,
              ),
            ),
          );
          return;
        }
        if (inFlight >= NODE_CHANNEL_MAX_IN_FLIGHT) {
          send(
            errorReply(
              message.id,
              new BerthError(
                "RATE_LIMITED",
                `at most ${NODE_CHANNEL_MAX_IN_FLIGHT} calls at once on one channel`,
                { retryable: true },
              ),
            ),
          );
          return;
        }
        inFlight++;
        void answer(
          deps,
          calls,
          owner.nodeId,
          message,
          { ...request, requestId: randomUUID(), signal: closed.signal },
          metrics,
          (expiresAt) => leases?.credentialUsed(ws, expiresAt),
        )
          .then(send)
          .finally(() => inFlight--);
      });
      ws.on("close", () => {
        closed.abort();
        metrics?.opened(-1);
      });
      ws.on("error", () => ws.terminate());
    },
    abandon() {},
  };
}

function errorReply(id: number, error: BerthError) {
  return { id, status: httpStatusOf(error.code), error: { code: error.code, message: error.message } };
}

/** One call: authenticated, validated, authorised, run and audited as its REST request would be. */
async function answer(
  deps: Deps,
  calls: ReadonlyMap<string, AnyOperation>,
  ownerNodeId: string,
  message: NodeChannelRequest,
  meta: RequestMeta,
  metrics?: ChannelMetrics,
  credentialUsed?: (expiresAt: number) => void,
): Promise<object> {
  const op = calls.get(message.op);
  if (!op) {
    const error = new BerthError(
      "NOT_FOUND",
      `the channel carries no operation ${JSON.stringify(message.op)}`,
    );
    metrics?.call("unknown", 404);
    return errorReply(message.id, error);
  }
  const scratch: Scratch = {};
  const callMeta: RequestMeta = { ...meta, authorization: `Bearer ${message.credential}` };
  try {
    const caller = await authenticate(deps, "node", callMeta.authorization, callMeta.sourceIp);
    scratch.caller = caller;
    // A channel carries the calls of the node that opened it, never another's (another tenant's).
    if (caller.kind !== "node" || caller.nodeId !== ownerNodeId)
      throw new ForbiddenError("a node channel carries only the calls of the node that opened it");
    credentialUsed?.(caller.expiresAt);
    assertSafeInput(message.input);
    const input = op.input.parse(message.input ?? {});
    const value = await authorizeAndRun(deps, op, caller, input, callMeta, scratch);
    await auditOutcome(deps, op, callMeta, scratch, null, op.successStatus);
    metrics?.call(op.id, op.successStatus);
    return { id: message.id, status: op.successStatus, body: value };
  } catch (error) {
    const berth = toBerthError(error);
    const status = httpStatusOf(berth.code);
    await auditOutcome(deps, op, callMeta, scratch, berth, status).catch(() => {});
    metrics?.call(op.id, status);
    if (status >= 500)
      deps.logger.error({ err: error, op: op.id, requestId: callMeta.requestId }, "node channel call failed");
    return errorReply(message.id, berth);
  }
}
