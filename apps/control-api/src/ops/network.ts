import { networkRequestSchema, nodeCertificateRequestSchema } from "@berth/protocol";
import { z } from "zod";
import { brn, clusterBrn, defineOperation as op } from "../operation";
import { clusterId } from "../services/clusters";
import { endpointSliceReply, getEndpointSlice, listEndpointSlices } from "../services/network/endpoints";
import { nodeCertificate, nodeCertificateReply } from "../services/network/node-certificate";
import { networkViewReply, nodeNetwork } from "../services/network/node-network";
import { namespaceParam, objectNameParam } from "../services/objects/names";
import { labelSelectorParam } from "../services/objects/selector-sql";
import { pageInput } from "../services/paging";
import { pageOf } from "../services/replies";

/**
 * Networking reads: a Service's EndpointSlices (worked out from its ready pods on each read) for
 * tenants, and the cluster's network view for node agents (their service proxy and DNS).
 */
const sliceRef = z.object({ clusterId, namespace: namespaceParam, name: objectNameParam }).strict();

export const networkOperations = {
  getEndpointSlice: op({
    id: "endpointslices.get",
    summary: "Get an EndpointSlice (discovery.k8s.io/v1): a Service's ready endpoints",
    method: "GET",
    path: "/v1/clusters/:clusterId/endpointslices/:namespace/:name",
    auth: "user",
    action: "endpointslice:Describe",
    resource: (c, i) =>
      brn(c.tenantId, `cluster/${i.clusterId}/namespace/${i.namespace}/endpointslice/${i.name}`),
    successStatus: 200,
    input: sliceRef,
    output: endpointSliceReply,
    run: getEndpointSlice,
  }),
  listEndpointSlices: op({
    id: "endpointslices.list",
    summary:
      "List EndpointSlices (every namespace unless one is given; ?labelSelector=kubernetes.io/service-name=web for one Service's)",
    method: "GET",
    path: "/v1/clusters/:clusterId/endpointslices",
    auth: "user",
    action: "endpointslice:List",
    resource: (c, i) => clusterBrn(c.tenantId, i.clusterId),
    successStatus: 200,
    input: pageInput
      .extend({
        clusterId,
        namespace: namespaceParam.optional(),
        labelSelector: labelSelectorParam.optional(),
      })
      .strict(),
    output: pageOf(endpointSliceReply),
    run: listEndpointSlices,
  }),
  nodeNetwork: op({
    id: "nodes.network",
    summary: "Node agent: the cluster's service range, DNS address, Services and their ready endpoints",
    method: "GET",
    path: "/v1/nodes/network",
    auth: "node",
    action: "node:Network",
    resource: (c) => clusterBrn(c.tenantId, c.clusterId),
    successStatus: 200,
    input: networkRequestSchema,
    output: networkViewReply,
    run: nodeNetwork,
    // Each node holds one long poll: only failures are worth an audit record.
    audit: "failures",
    longPoll: true,
  }),
  nodeCertificate: op({
    id: "nodes.certificate",
    summary:
      "Node agent: a short-lived certificate for the node's own key (the cluster's mutual-TLS tunnel), its CA bundle; records the tunnel's port",
    method: "POST",
    path: "/v1/nodes/certificate",
    auth: "node",
    action: "node:Certificate",
    resource: (c) => clusterBrn(c.tenantId, c.clusterId),
    successStatus: 200,
    input: nodeCertificateRequestSchema,
    output: nodeCertificateReply,
    run: nodeCertificate,
  }),
};
