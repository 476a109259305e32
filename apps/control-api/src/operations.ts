import { billingOperations } from "./ops/billing";
import { budgetOperations } from "./ops/budgets";
import { clusterOperations } from "./ops/clusters";
import { identityOperations } from "./ops/identity";
import { ingressOperations } from "./ops/ingress";
import { metricsOperations } from "./ops/metrics";
import { networkOperations } from "./ops/network";
import { nodeAgentOperations } from "./ops/node-agent";
import { nodeChannelOperations } from "./ops/node-channel";
import { objectOperations } from "./ops/objects";
import { registryOperations } from "./ops/registry";
import { rolloutOperations } from "./ops/rollouts";
import { streamOperations } from "./ops/streams";
import { tenantOperations } from "./ops/tenant";
import { workloadOperations } from "./ops/workloads";

/**
 * Every operation of the API, declared once each (ops/*.ts): path, IAM action and resource, input
 * schema, service function. Add one there and it exists over REST, tRPC and in the OpenAPI document
 * (streams and WebSockets: REST and OpenAPI only).
 */
export const operations = {
  ...identityOperations,
  ...tenantOperations,
  ...clusterOperations,
  ...workloadOperations,
  ...metricsOperations,
  ...rolloutOperations,
  ...objectOperations,
  ...nodeAgentOperations,
  ...nodeChannelOperations,
  ...networkOperations,
  ...ingressOperations,
  ...streamOperations,
  ...billingOperations,
  ...budgetOperations,
  ...registryOperations,
};

export type Operations = typeof operations;
export type { AnyOperation } from "./operation";
