import { operations as ops } from "../operations";
import { mutation, query, router } from "./init";

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
    rotateKey: mutation(ops.rotateClusterKey),
  }),
  nodes: router({
    list: query(ops.listNodes),
    join: mutation(ops.joinNode),
    heartbeat: mutation(ops.heartbeatNode),
    sync: mutation(ops.syncNode),
    watch: query(ops.watchNode),
    streams: query(ops.pollStreams),
    drain: mutation(ops.drainNode),
    cordon: mutation(ops.cordonNode),
    uncordon: mutation(ops.uncordonNode),
  }),
  nodePools: router({
    create: mutation(ops.createNodePool),
    list: query(ops.listNodePools),
    get: query(ops.getNodePool),
    update: mutation(ops.updateNodePool),
    delete: mutation(ops.deleteNodePool),
  }),
  deployments: router({
    upsert: mutation(ops.applyDeployment),
    get: query(ops.getDeployment),
    list: query(ops.listDeployments),
    delete: mutation(ops.deleteDeployment),
  }),
  // pods.logs and pods.execInteractive stream: REST only.
  pods: router({ list: query(ops.listPods), exec: mutation(ops.podExec) }),
  events: router({ list: query(ops.listEvents) }),
  usage: router({ get: query(ops.usage) }),
});

export type AppRouter = typeof appRouter;
