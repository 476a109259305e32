import type { AnyOperation } from "../operation";
import { operations as ops } from "../operations";
import { applyOperation, objectKindOperations as kinds } from "../ops/objects";
import { mutation, query, router } from "./init";

/** `upsert/get/list/delete` of one kind of the registry. */
function kindRouter<
  T extends { upsert: AnyOperation; get: AnyOperation; list: AnyOperation; delete: AnyOperation },
>(o: T) {
  return {
    upsert: mutation(o.upsert as T["upsert"]),
    get: query(o.get as T["get"]),
    list: query(o.list as T["list"]),
    delete: mutation(o.delete as T["delete"]),
  };
}

/** The typed API of the SDK: the same operations as REST, grouped as plain records. */
export const appRouter = router({
  auth: router({
    signup: mutation(ops.signup),
    token: mutation(ops.token),
    refresh: mutation(ops.refresh),
    logout: mutation(ops.logout),
    me: query(ops.me),
  }),
  tenant: router({
    get: query(ops.getTenant),
    update: mutation(ops.updateTenant),
    close: mutation(ops.closeTenant),
  }),
  users: router({
    create: mutation(ops.createUser),
    list: query(ops.listUsers),
    update: mutation(ops.updateUser),
    delete: mutation(ops.deleteUser),
  }),
  serviceAccounts: router({
    create: mutation(ops.createServiceAccount),
    list: query(ops.listServiceAccounts),
  }),
  apiKeys: router({
    create: mutation(ops.createApiKey),
    list: query(ops.listApiKeys),
    revoke: mutation(ops.revokeApiKey),
  }),
  policies: router({
    create: mutation(ops.createPolicy),
    list: query(ops.listPolicies),
    attach: mutation(ops.attachPolicy),
    detach: mutation(ops.detachPolicy),
  }),
  iam: router({ simulate: mutation(ops.simulate) }),
  audit: router({ list: query(ops.listAuditEvents) }),
  clusters: router({
    create: mutation(ops.createCluster),
    list: query(ops.listClusters),
    get: query(ops.getCluster),
    delete: mutation(ops.deleteCluster),
    createJoinToken: mutation(ops.createJoinToken),
    listJoinTokens: query(ops.listJoinTokens),
    revokeJoinToken: mutation(ops.revokeJoinToken),
    update: mutation(ops.updateCluster),
    rotateKey: mutation(ops.rotateClusterKey),
    applyManifests: mutation(applyOperation),
  }),
  nodes: router({
    list: query(ops.listNodes),
    join: mutation(ops.joinNode),
    heartbeat: mutation(ops.heartbeatNode),
    sync: mutation(ops.syncNode),
    metrics: mutation(ops.reportMetrics),
    watch: query(ops.watchNode),
    network: query(ops.nodeNetwork),
    certificate: mutation(ops.nodeCertificate),
    streams: query(ops.pollStreams),
    drain: mutation(ops.drainNode),
    cordon: mutation(ops.cordonNode),
    uncordon: mutation(ops.uncordonNode),
  }),
  nodePools: router({
    create: mutation(ops.createNodePool),
    list: query(ops.listNodePools),
    get: query(ops.getNodePool),
    machineConsole: query(ops.machineConsole),
    update: mutation(ops.updateNodePool),
    delete: mutation(ops.deleteNodePool),
  }),
  deployments: router({
    upsert: mutation(ops.applyDeployment),
    get: query(ops.getDeployment),
    list: query(ops.listDeployments),
    delete: mutation(ops.deleteDeployment),
    scale: mutation(ops.scaleDeployment),
    revisions: query(ops.listDeploymentRevisions),
    rollback: mutation(ops.rollbackDeployment),
    pause: mutation(ops.pauseDeployment),
    resume: mutation(ops.resumeDeployment),
  }),
  // pods.logs and pods.execInteractive stream: REST only.
  pods: router({
    list: query(ops.listPods),
    get: query(ops.getPod),
    delete: mutation(ops.deletePod),
    exec: mutation(ops.podExec),
  }),
  namespaces: router(kindRouter(kinds.Namespace)),
  configmaps: router(kindRouter(kinds.ConfigMap)),
  secrets: router({ ...kindRouter(kinds.Secret), reveal: query(kinds.Secret.reveal) }),
  resourcequotas: router(kindRouter(kinds.ResourceQuota)),
  limitranges: router(kindRouter(kinds.LimitRange)),
  jobs: router(kindRouter(kinds.Job)),
  cronjobs: router(kindRouter(kinds.CronJob)),
  priorityclasses: router(kindRouter(kinds.PriorityClass)),
  poddisruptionbudgets: router(kindRouter(kinds.PodDisruptionBudget)),
  horizontalpodautoscalers: router(kindRouter(kinds.HorizontalPodAutoscaler)),
  services: router(kindRouter(kinds.Service)),
  networkpolicies: router(kindRouter(kinds.NetworkPolicy)),
  persistentvolumeclaims: router(kindRouter(kinds.PersistentVolumeClaim)),
  ingresses: router({ ...kindRouter(kinds.Ingress), stats: query(ops.ingressStats) }),
  endpointslices: router({ get: query(ops.getEndpointSlice), list: query(ops.listEndpointSlices) }),
  events: router({ list: query(ops.listEvents) }),
  metrics: router({
    pods: query(ops.topPods),
    nodes: query(ops.topNodes),
    podSeries: query(ops.podSeries),
    deploymentSeries: query(ops.deploymentSeries),
    prometheus: query(ops.prometheus),
  }),
  usage: router({ get: query(ops.usage), chart: query(ops.usageChart) }),
  invoices: router({ list: query(ops.listInvoices), get: query(ops.getInvoice) }),
  agent: router({
    release: query(ops.agentRelease),
    installer: query(ops.agentInstaller),
    file: query(ops.agentFile),
  }),
  budgets: router({
    create: mutation(ops.createBudget),
    list: query(ops.listBudgets),
    get: query(ops.describeBudget),
    update: mutation(ops.updateBudget),
    delete: mutation(ops.deleteBudget),
    events: query(ops.listBudgetEvents),
  }),
  // The Docker token protocol; over tRPC the caller's own bearer (an access token) is the credential.
  registry: router({ token: query(ops.registryToken) }),
  webhooks: router({
    create: mutation(ops.createWebhook),
    list: query(ops.listWebhooks),
    delete: mutation(ops.deleteWebhook),
    deliveries: query(ops.listWebhookDeliveries),
  }),
});

export type AppRouter = typeof appRouter;
