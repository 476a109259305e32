import { clusterBrn, defineOperation as op } from "../operation";
import { joinInput, joinNode, syncInput, syncNode } from "../services/node-agent";

/** Every operation of the API. Add one here and it exists over REST, tRPC and in the OpenAPI document. */

/** The node agent's own calls. */
export const nodeAgentOperations = {
  joinNode: op({
    id: "nodes.join",
    summary: "Node agent: exchange a join token for a node credential",
    method: "POST",
    path: "/v1/nodes/join",
    auth: "public",
    action: "node:Join",
    resource: () => "*",
    successStatus: 201,
    input: joinInput,
    run: (deps, _caller, input) => joinNode(deps, input),
  }),
  syncNode: op({
    id: "nodes.sync",
    summary: "Node agent: report pod status, renew the lease, receive assignments",
    method: "POST",
    path: "/v1/nodes/sync",
    auth: "node",
    action: "node:Sync",
    resource: (c) => clusterBrn(c.tenantId, c.clusterId),
    successStatus: 200,
    input: syncInput,
    run: syncNode,
    // Agents sync every few seconds: only their failures are worth an audit record.
    audit: "failures",
  }),
};
