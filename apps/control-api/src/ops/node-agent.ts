import {
  heartbeatRequestSchema,
  joinRequestSchema,
  metricsBatchSchema,
  syncRequestSchema,
  watchRequestSchema,
} from "@berth/protocol";
import { clusterBrn, defineOperation as op } from "../operation";
import {
  agentFile,
  agentFileInput,
  agentFileReply,
  agentInstaller,
  agentInstallerInput,
  agentInstallerReply,
  agentRelease,
  agentReleaseInput,
  agentReleaseReply,
} from "../services/agent-bundle";
import { watchNode, watchReply } from "../services/node-assignments";
import { heartbeatNode, heartbeatReply } from "../services/node-heartbeat";
import { joinNode, joinReply } from "../services/node-join";
import { ingestMetrics, metricsReply } from "../services/node-metrics";
import { syncNode, syncReply } from "../services/node-sync";

/** Every operation of the API. Add one here and it exists over REST, tRPC and in the OpenAPI document. */

/** The node agent's own calls; their bodies are the wire contract of `@berth/protocol`. */
export const nodeAgentOperations = {
  // The agent itself, for hosts to install (no credential: it holds none, and a machine has none yet).
  agentRelease: op({
    id: "agent.release",
    summary: "The node agent this control plane serves: version, SHA-256, download and installer URLs",
    method: "GET",
    path: "/v1/agent",
    auth: "public",
    action: "agent:Get",
    resource: () => "*",
    successStatus: 200,
    input: agentReleaseInput,
    output: agentReleaseReply,
    run: (deps) => agentRelease(deps),
  }),
  agentInstaller: op({
    id: "agent.installer",
    summary:
      "The installer script: downloads the agent, verifies its checksum, runs it (systemd where present)",
    method: "GET",
    path: "/v1/agent/install.sh",
    auth: "public",
    action: "agent:Get",
    resource: () => "*",
    successStatus: 200,
    input: agentInstallerInput,
    output: agentInstallerReply,
    run: (deps) => agentInstaller(deps),
    render: (value) => ({ contentType: "text/x-shellscript; charset=utf-8", body: value.script }),
  }),
  agentFile: op({
    id: "agent.file",
    summary:
      "The node agent as one ES module for Node 20+ (its SHA-256 is in agent.release; the installer checks it)",
    method: "GET",
    path: "/v1/agent/:version/:file",
    auth: "public",
    action: "agent:Get",
    resource: () => "*",
    successStatus: 200,
    input: agentFileInput,
    output: agentFileReply,
    run: (deps, _caller, input) => agentFile(deps, input),
    render: (value) => ({ contentType: "text/javascript; charset=utf-8", body: value.source }),
  }),
  joinNode: op({
    id: "nodes.join",
    summary: "Node agent: exchange a join token for a node credential",
    method: "POST",
    path: "/v1/nodes/join",
    auth: "public",
    action: "node:Join",
    resource: () => "*",
    successStatus: 201,
    input: joinRequestSchema,
    output: joinReply,
    run: (deps, _caller, input) => joinNode(deps, input),
  }),
  heartbeatNode: op({
    id: "nodes.heartbeat",
    summary: "Node agent: renew the node's lease (nothing else)",
    method: "POST",
    path: "/v1/nodes/heartbeat",
    auth: "node",
    action: "node:Heartbeat",
    resource: (c) => clusterBrn(c.tenantId, c.clusterId),
    successStatus: 200,
    input: heartbeatRequestSchema,
    output: heartbeatReply,
    run: heartbeatNode,
    // Every two seconds per node: only failures are worth an audit record.
    audit: "failures",
  }),
  syncNode: op({
    id: "nodes.sync",
    summary: "Node agent: report pod status and reserved host ports, receive assignments",
    method: "POST",
    path: "/v1/nodes/sync",
    auth: "node",
    action: "node:Sync",
    resource: (c) => clusterBrn(c.tenantId, c.clusterId),
    successStatus: 200,
    input: syncRequestSchema,
    output: syncReply,
    run: syncNode,
    // Agents sync every few seconds: only their failures are worth an audit record.
    audit: "failures",
  }),
  watchNode: op({
    id: "nodes.watch",
    summary: "Node agent: long poll that answers with the assignments as soon as they change",
    method: "GET",
    path: "/v1/nodes/watch",
    auth: "node",
    action: "node:Watch",
    resource: (c) => clusterBrn(c.tenantId, c.clusterId),
    successStatus: 200,
    input: watchRequestSchema,
    output: watchReply,
    run: watchNode,
    longPoll: true,
  }),
  reportMetrics: op({
    id: "nodes.metrics",
    summary: "Node agent: a batch of usage samples of the node's pods and of the node itself",
    method: "POST",
    path: "/v1/nodes/metrics",
    auth: "node",
    action: "node:ReportMetrics",
    resource: (c) => clusterBrn(c.tenantId, c.clusterId),
    successStatus: 200,
    input: metricsBatchSchema,
    output: metricsReply,
    run: ingestMetrics,
    // Every sample interval per node: only failures are worth an audit record.
    audit: "failures",
    // A batch of a full node is a few thousand rows: priced like a list of that many.
    cost: (i) => 1 + Math.floor(i.pods.length / 50),
  }),
};
