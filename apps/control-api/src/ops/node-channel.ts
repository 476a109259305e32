import { NODE_CHANNEL_OPERATIONS, NODE_CHANNEL_PATH } from "@berth/protocol";
import { clusterBrn, defineOperation as op } from "../operation";
import type { AnyOperation } from "../operations";
import { channelLeasesOf } from "../services/channel-leases";
import { channelMetricsOf, nodeChannelInput, openNodeChannel } from "../services/node-channel";
import { networkOperations } from "./network";
import { nodeAgentOperations } from "./node-agent";
import { streamOperations } from "./streams";

/** The operations the node channel carries, by id: each runs as its REST request would. */
const CHANNEL_CALLS = new Map<string, AnyOperation>(
  [
    nodeAgentOperations.heartbeatNode,
    nodeAgentOperations.syncNode,
    nodeAgentOperations.reportMetrics,
    nodeAgentOperations.watchNode,
    networkOperations.nodeNetwork,
    streamOperations.pollStreams,
  ].map((o) => [o.id, o as AnyOperation]),
);
if (
  NODE_CHANNEL_OPERATIONS.some((id) => !CHANNEL_CALLS.has(id)) ||
  CHANNEL_CALLS.size !== NODE_CHANNEL_OPERATIONS.length
)
  throw new Error("the node channel's operations differ from the protocol's list");

export const nodeChannelOperations = {
  nodeChannel: op({
    id: "nodes.channel",
    summary:
      "Node agent: one WebSocket carrying its heartbeats, status reports, metrics and long polls (@berth/protocol channel.ts)",
    method: "GET",
    path: NODE_CHANNEL_PATH,
    auth: "node",
    action: "node:Channel",
    resource: (c) => clusterBrn(c.tenantId, c.clusterId),
    successStatus: 200,
    input: nodeChannelInput,
    run: (deps, caller, _input, request) => {
      const metrics = channelMetricsOf(deps.metrics);
      const leases = channelLeasesOf(deps, metrics);
      return openNodeChannel(deps, caller, request, CHANNEL_CALLS, { metrics, leases });
    },
    transport: "websocket",
    audit: "failures",
  }),
};
