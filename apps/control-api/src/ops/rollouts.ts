import { brn, defineOperation as op } from "../operation";
import {
  listRevisions,
  pauseDeployment,
  pausedReply,
  resumeDeployment,
  revisionsReply,
  rollbackDeployment,
  rollbackInput,
  rollbackReply,
  rolloutRefInput,
} from "../services/rollouts";

const deploymentBrn = (t: string, i: { clusterId: string; namespace: string; name: string }) =>
  brn(t, `cluster/${i.clusterId}/namespace/${i.namespace}/deployment/${i.name}`);
const path = "/v1/clusters/:clusterId/deployments/:namespace/:name";

/** A Deployment's rollouts, as `kubectl rollout history|undo|pause|resume` drive them. */
export const rolloutOperations = {
  listDeploymentRevisions: op({
    id: "deployments.revisions",
    summary: "A deployment's revision history, newest first (kubectl rollout history)",
    method: "GET",
    path: `${path}/revisions`,
    auth: "user",
    action: "deployment:Describe",
    resource: (c, i) => deploymentBrn(c.tenantId, i),
    successStatus: 200,
    input: rolloutRefInput,
    output: revisionsReply,
    run: listRevisions,
  }),
  rollbackDeployment: op({
    id: "deployments.rollback",
    summary: "Roll a deployment back to its previous revision or to `toRevision` (kubectl rollout undo)",
    method: "POST",
    path: `${path}/rollback`,
    auth: "user",
    action: "deployment:Rollback",
    resource: (c, i) => deploymentBrn(c.tenantId, i),
    successStatus: 200,
    input: rollbackInput,
    output: rollbackReply,
    run: rollbackDeployment,
  }),
  pauseDeployment: op({
    id: "deployments.pause",
    summary: "Pause a deployment's rollouts: it still scales, but starts no new rollout step",
    method: "POST",
    path: `${path}/pause`,
    auth: "user",
    action: "deployment:Pause",
    resource: (c, i) => deploymentBrn(c.tenantId, i),
    successStatus: 200,
    input: rolloutRefInput,
    output: pausedReply,
    run: pauseDeployment,
  }),
  resumeDeployment: op({
    id: "deployments.resume",
    summary: "Resume a paused deployment's rollout",
    method: "POST",
    path: `${path}/resume`,
    auth: "user",
    // Pausing and resuming are one permission: both set spec.paused.
    action: "deployment:Pause",
    resource: (c, i) => deploymentBrn(c.tenantId, i),
    successStatus: 200,
    input: rolloutRefInput,
    output: pausedReply,
    run: resumeDeployment,
  }),
};
