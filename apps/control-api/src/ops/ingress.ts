import { brn, defineOperation as op } from "../operation";
import { ingressStats, ingressStatsInput, ingressStatsReply } from "../services/network/ingress-stats";

/** What the platform's gateway measured for a tenant's Ingress (the Ingress itself is an object kind). */
export const ingressOperations = {
  ingressStats: op({
    id: "ingresses.stats",
    summary:
      "Requests the gateway served for an Ingress over the last ?minutes (60): per rule and status class, counts, bytes, mean/p50/p99 latency and the histogram",
    method: "GET",
    path: "/v1/clusters/:clusterId/ingresses/:namespace/:name/stats",
    auth: "user",
    action: "ingress:GetStats",
    resource: (c, i) => brn(c.tenantId, `cluster/${i.clusterId}/namespace/${i.namespace}/ingress/${i.name}`),
    successStatus: 200,
    input: ingressStatsInput,
    output: ingressStatsReply,
    run: ingressStats,
  }),
};
