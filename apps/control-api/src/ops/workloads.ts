import { usageToCsv } from "@berth/core";
import { deploymentSchema } from "@berth/kube";
import { brn, clusterBrn, defineOperation as op } from "../operation";
import { eventReply, listEvents, listEventsInput } from "../services/events";
import { deploymentReply } from "../services/objects/deployment-view";
import { deletePod, getPod, listPods, listPodsInput, podRefInput, podReply } from "../services/pods";
import { pageOf } from "../services/replies";
import { scaleDeploymentInput, scaleDeploymentOp, scaleReply } from "../services/scale";
import { getUsage, usageInput, usageReply } from "../services/usage";
import { reportToCsv } from "../services/usage-report";
import {
  applyDeployment,
  applyDeploymentInput,
  deleteDeployment,
  deploymentListItem,
  deploymentRefInput,
  getDeployment,
  listDeployments,
  listDeploymentsInput,
} from "../services/workloads";

const deploymentBrn = (t: string, i: { clusterId: string; namespace: string; name: string }) =>
  brn(t, `cluster/${i.clusterId}/namespace/${i.namespace}/deployment/${i.name}`);
const podBrn = (t: string, i: { clusterId: string; namespace: string; name: string }) =>
  brn(t, `cluster/${i.clusterId}/namespace/${i.namespace}/pod/${i.name}`);

/** Every operation of the API. Add one here and it exists over REST, tRPC and in the OpenAPI document. */

/** Deployments, pods, events and usage. */
export const workloadOperations = {
  applyDeployment: op({
    id: "deployments.upsert",
    summary:
      "Create or replace a deployment from its manifest (JSON or YAML); a stale metadata.resourceVersion is 409",
    method: "PUT",
    path: "/v1/clusters/:clusterId/deployments/:namespace/:name",
    auth: "user",
    action: "deployment:Apply",
    resource: (c, i) => deploymentBrn(c.tenantId, i),
    successStatus: 200,
    bodyAs: "manifest",
    bodySchema: deploymentSchema,
    input: applyDeploymentInput,
    output: deploymentReply,
    run: applyDeployment,
  }),
  getDeployment: op({
    id: "deployments.get",
    summary: "Get a deployment and its status",
    method: "GET",
    path: "/v1/clusters/:clusterId/deployments/:namespace/:name",
    auth: "user",
    action: "deployment:Describe",
    resource: (c, i) => deploymentBrn(c.tenantId, i),
    successStatus: 200,
    input: deploymentRefInput,
    output: deploymentReply,
    run: getDeployment,
  }),
  listDeployments: op({
    id: "deployments.list",
    summary: "List a cluster's deployments",
    method: "GET",
    path: "/v1/clusters/:clusterId/deployments",
    auth: "user",
    action: "deployment:List",
    resource: (c, i) => clusterBrn(c.tenantId, i.clusterId),
    successStatus: 200,
    input: listDeploymentsInput,
    output: pageOf(deploymentListItem),
    run: listDeployments,
  }),
  scaleDeployment: op({
    id: "deployments.scale",
    summary:
      "Set a deployment's replicas (Kubernetes' scale subresource); the autoscaler scales the same way",
    method: "PUT",
    path: "/v1/clusters/:clusterId/deployments/:namespace/:name/scale",
    auth: "user",
    action: "deployment:Scale",
    resource: (c, i) => deploymentBrn(c.tenantId, i),
    successStatus: 200,
    bodyAs: "scale",
    input: scaleDeploymentInput,
    output: scaleReply,
    run: scaleDeploymentOp,
  }),
  deleteDeployment: op({
    id: "deployments.delete",
    summary: "Delete a deployment; its pods are stopped",
    method: "DELETE",
    path: "/v1/clusters/:clusterId/deployments/:namespace/:name",
    auth: "user",
    action: "deployment:Delete",
    resource: (c, i) => deploymentBrn(c.tenantId, i),
    successStatus: 202,
    input: deploymentRefInput,
    output: deploymentReply,
    run: deleteDeployment,
  }),
  getPod: op({
    id: "pods.get",
    summary: "Get a pod in Kubernetes' shape: owner, spec, status with container statuses",
    method: "GET",
    path: "/v1/clusters/:clusterId/pods/:namespace/:name",
    auth: "user",
    action: "pod:Describe",
    resource: (c, i) => podBrn(c.tenantId, i),
    successStatus: 200,
    input: podRefInput,
    output: podReply,
    run: getPod,
  }),
  deletePod: op({
    id: "pods.delete",
    summary: "Delete a pod gracefully: its node stops it, its controller replaces it",
    method: "DELETE",
    path: "/v1/clusters/:clusterId/pods/:namespace/:name",
    auth: "user",
    action: "pod:Delete",
    resource: (c, i) => podBrn(c.tenantId, i),
    successStatus: 200,
    input: podRefInput,
    output: podReply,
    run: deletePod,
  }),
  listPods: op({
    id: "pods.list",
    summary: "List a cluster's pods (?namespace=, ?labelSelector=) with their placement and phase",
    method: "GET",
    path: "/v1/clusters/:clusterId/pods",
    auth: "user",
    action: "pod:List",
    resource: (c, i) => clusterBrn(c.tenantId, i.clusterId),
    successStatus: 200,
    input: listPodsInput,
    output: pageOf(podReply),
    run: listPods,
  }),
  listEvents: op({
    id: "events.list",
    summary: "List a cluster's events, newest first (?namespace=, ?involvedObject=Kind/name or uid)",
    method: "GET",
    path: "/v1/clusters/:clusterId/events",
    auth: "user",
    action: "event:List",
    resource: (c, i) => clusterBrn(c.tenantId, i.clusterId),
    successStatus: 200,
    input: listEventsInput,
    output: pageOf(eventReply),
    run: listEvents,
  }),
  usage: op({
    id: "usage.get",
    summary:
      "Metered usage and its price between two instants (JSON, or CSV with format=csv); groupBy=cluster,namespace,meter,day,hour,label:<key> reports from the hourly rollups",
    method: "GET",
    path: "/v1/usage",
    auth: "user",
    action: "usage:Read",
    resource: (c) => brn(c.tenantId, "usage"),
    successStatus: 200,
    input: usageInput,
    output: usageReply,
    // Not by `limit` (a report's page size): a grouped report reads months of rollups whatever the
    // page, and takes one of the tenant's slots for expensive calls; live usage is one query.
    cost: (input) => (input.groupBy ? 3 : 1),
    run: getUsage,
    render: (value, input) =>
      input.format === "csv"
        ? {
            contentType: "text/csv; charset=utf-8",
            body: "groupBy" in value ? reportToCsv(value) : usageToCsv(value),
          }
        : undefined,
  }),
};
