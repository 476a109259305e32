import { streamPollRequestSchema } from "@berth/protocol";
import { brn, clusterBrn, defineOperation as op } from "../operation";
import {
  execAuditDetails,
  execInPod,
  execInPodInteractive,
  execReply,
  podExecInput,
  podExecSocketInput,
} from "../services/pod-exec";
import { podLogsInput, streamPodLogs } from "../services/pod-logs";
import { podPath } from "../services/pod-streams";
import { attachStream, pollStreams, streamAttachInput, streamPollReply } from "../streams/attach";

/** Every operation of the API. Add one here and it exists over REST, tRPC and in the OpenAPI document. */

/**
 * Logs and exec, streamed from the pod's node through the control plane (the agent dials out:
 * see streams/), and the agent's side of those streams.
 */
export const streamOperations = {
  podLogs: op({
    id: "pods.logs",
    summary:
      "A container's log (text/plain), streamed from its node; follow, tailLines, sinceSeconds, previous …",
    method: "GET",
    path: "/v1/clusters/:clusterId/pods/:namespace/:name/log",
    auth: "user",
    action: "pod:ReadLogs",
    resource: (c, i) => brn(c.tenantId, podPath(i)),
    successStatus: 200,
    input: podLogsInput,
    run: streamPodLogs,
    transport: "stream",
  }),
  podExec: op({
    id: "pods.exec",
    summary: "Run a command in a pod's container: its output (bounded) and exit code",
    method: "POST",
    path: "/v1/clusters/:clusterId/pods/:namespace/:name/exec",
    auth: "user",
    action: "pod:Exec",
    resource: (c, i) => brn(c.tenantId, podPath(i)),
    successStatus: 200,
    input: podExecInput,
    output: execReply,
    run: execInPod,
    auditDetails: execAuditDetails,
  }),
  podExecInteractive: op({
    id: "pods.execInteractive",
    summary:
      "Attach to a command in a pod's container over a WebSocket (stdin, tty, resize), like kubectl exec -it",
    method: "GET",
    path: "/v1/clusters/:clusterId/pods/:namespace/:name/exec",
    auth: "user",
    action: "pod:Exec",
    resource: (c, i) => brn(c.tenantId, podPath(i)),
    successStatus: 200,
    input: podExecSocketInput,
    run: execInPodInteractive,
    transport: "websocket",
    auditDetails: execAuditDetails,
    // Every exec is a change to what runs: recorded like a write, though it is a GET.
    audit: "always",
  }),
  pollStreams: op({
    id: "nodes.streams",
    summary: "Node agent: long poll that answers with the log and exec streams asked of the node",
    method: "GET",
    path: "/v1/nodes/streams",
    auth: "node",
    action: "node:Stream",
    resource: (c) => clusterBrn(c.tenantId, c.clusterId),
    successStatus: 200,
    input: streamPollRequestSchema,
    output: streamPollReply,
    run: pollStreams,
    longPoll: true,
  }),
  attachStream: op({
    id: "nodes.attachStream",
    summary: "Node agent: the WebSocket that carries one stream's bytes",
    method: "GET",
    path: "/v1/nodes/streams/:streamId",
    auth: "node",
    action: "node:Stream",
    resource: (c) => clusterBrn(c.tenantId, c.clusterId),
    successStatus: 200,
    input: streamAttachInput,
    run: attachStream,
    transport: "websocket",
  }),
};
