import { operations as ops } from "../operations";
import { mutation, query, router } from "./init";

/** The typed API of the SDK: the same operations as REST, grouped as plain records. */
export const appRouter = router({
  auth: router({ signup: mutation(ops.signup), token: mutation(ops.token) }),
  clusters: router({
    create: mutation(ops.createCluster),
    list: query(ops.listClusters),
    get: query(ops.getCluster),
    delete: mutation(ops.deleteCluster),
    createJoinToken: mutation(ops.createJoinToken),
  }),
  nodes: router({ list: query(ops.listNodes), join: mutation(ops.joinNode), sync: mutation(ops.syncNode) }),
  deployments: router({
    upsert: mutation(ops.applyDeployment),
    get: query(ops.getDeployment),
    list: query(ops.listDeployments),
    delete: mutation(ops.deleteDeployment),
  }),
  pods: router({ list: query(ops.listPods) }),
  events: router({ list: query(ops.listEvents) }),
  usage: router({ get: query(ops.usage) }),
});

export type AppRouter = typeof appRouter;
