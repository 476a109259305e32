import { brn, clusterBrn, defineOperation as op } from "../operation";
import {
  prometheusInput,
  prometheusReply,
  prometheusSamples,
  toPrometheusText,
} from "../services/metrics-prometheus";
import {
  deploymentSeries,
  deploymentSeriesInput,
  podSeries,
  podSeriesInput,
  seriesReply,
} from "../services/metrics-series";
import {
  nodeUsageReply,
  podUsageReply,
  topNodes,
  topNodesInput,
  topPods,
  topPodsInput,
} from "../services/metrics-top";
import { listOf } from "../services/replies";

const inNamespace = (t: string, i: { clusterId: string; namespace: string; name: string }, kind: string) =>
  brn(t, `cluster/${i.clusterId}/namespace/${i.namespace}/${kind}/${i.name}`);

/** Every operation of the API. Add one here and it exists over REST, tRPC and in the OpenAPI document. */

/** Usage the node agents measured: latest (kubectl top), over time, and for a tenant's Prometheus. */
export const metricsOperations = {
  topPods: op({
    id: "metrics.pods",
    summary: "Latest CPU (millicores) and memory (bytes) of every pod of a cluster, as kubectl top pods",
    method: "GET",
    path: "/v1/clusters/:clusterId/metrics/pods",
    auth: "user",
    action: "metrics:ListPodMetrics",
    resource: (c, i) => clusterBrn(c.tenantId, i.clusterId),
    successStatus: 200,
    input: topPodsInput,
    output: listOf(podUsageReply),
    run: topPods,
  }),
  topNodes: op({
    id: "metrics.nodes",
    summary: "Latest CPU and memory of every node of a cluster, of its capacity, as kubectl top nodes",
    method: "GET",
    path: "/v1/clusters/:clusterId/metrics/nodes",
    auth: "user",
    action: "metrics:ListNodeMetrics",
    resource: (c, i) => clusterBrn(c.tenantId, i.clusterId),
    successStatus: 200,
    input: topNodesInput,
    output: listOf(nodeUsageReply),
    run: topNodes,
  }),
  podSeries: op({
    id: "metrics.podSeries",
    summary:
      "A pod's usage over a window (?window=1h&end=…): 10 s steps up to 1 h, minutes up to 1 d, hours up to 35 d",
    method: "GET",
    path: "/v1/clusters/:clusterId/metrics/pods/:namespace/:name",
    auth: "user",
    action: "metrics:GetPodMetrics",
    resource: (c, i) => inNamespace(c.tenantId, i, "pod"),
    successStatus: 200,
    input: podSeriesInput,
    output: seriesReply,
    run: podSeries,
  }),
  deploymentSeries: op({
    id: "metrics.deploymentSeries",
    summary: "A deployment's usage over a window, summed over its pods at each step",
    method: "GET",
    path: "/v1/clusters/:clusterId/metrics/deployments/:namespace/:name",
    auth: "user",
    action: "metrics:GetDeploymentMetrics",
    resource: (c, i) => inNamespace(c.tenantId, i, "deployment"),
    successStatus: 200,
    input: deploymentSeriesInput,
    output: seriesReply,
    run: deploymentSeries,
  }),
  prometheus: op({
    id: "metrics.prometheus",
    summary:
      "The cluster's latest usage in Prometheus' text format, for the tenant's own Prometheus to scrape",
    method: "GET",
    path: "/v1/clusters/:clusterId/metrics/prometheus",
    auth: "user",
    action: "metrics:Read",
    resource: (c, i) => clusterBrn(c.tenantId, i.clusterId),
    successStatus: 200,
    input: prometheusInput,
    output: prometheusReply,
    run: prometheusSamples,
    apiKeyBearer: true,
    render: (value) => ({
      contentType: "text/plain; version=0.0.4; charset=utf-8",
      body: toPrometheusText(value.samples),
    }),
  }),
};
