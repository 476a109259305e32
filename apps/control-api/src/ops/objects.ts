import { KINDS } from "@berth/kube";
import { z } from "zod";
import { clusterBrn, defineOperation as op } from "../operation";
import { clusterId } from "../services/clusters";
import { applyManifests, applyManifestsInput, applyManifestsReply } from "../services/objects/apply-op";
import { deleteObject, getObject, listObjects, putObject, revealSecret } from "../services/objects/crud";
import {
  type ClusterObjectKind,
  type NamespacedObjectKind,
  namespaceParam,
  objectBrn,
  objectNameParam,
} from "../services/objects/names";
import { objectReplies } from "../services/objects/replies";
import { labelSelectorParam } from "../services/objects/selector-sql";
import { pageInput } from "../services/paging";
import { pageOf } from "../services/replies";

/**
 * One operation set per kind of @berth/kube's registry (PUT, GET, list, DELETE), generated from
 * it: paths from its plural, IAM actions from its prefix (`configmap:Apply`, …), resources of the
 * shape `…:cluster/<id>/namespace/<ns>/<kind>/<name>`; and `POST …/apply` for many at once.
 */
/**
 * A manifest, typed as its kind's (for the SDK) but only checked to be an object here: admission
 * parses it with the kind's schema so that errors name the manifest's own fields.
 */
const manifestOf = <S extends z.ZodType>(_schema: S) =>
  z.custom<z.input<S>>(
    (v) => typeof v === "object" && v !== null && !Array.isArray(v),
    "must be an object (the manifest)",
  );

const namespacedRef = z.object({ clusterId, namespace: namespaceParam, name: objectNameParam }).strict();
const namespacedList = pageInput
  .extend({ clusterId, namespace: namespaceParam.optional(), labelSelector: labelSelectorParam.optional() })
  .strict();

function namespacedOperations<K extends NamespacedObjectKind>(kind: K) {
  const k = KINDS[kind];
  const output = objectReplies[kind];
  const one = `/v1/clusters/:clusterId/${k.plural}/:namespace/:name`;
  const resource = (t: string, i: { clusterId: string; namespace: string; name: string }) =>
    objectBrn(t, i.clusterId, kind, i.namespace, i.name);
  return {
    upsert: op({
      id: `${k.plural}.upsert`,
      summary: `Create or replace a ${kind} from its manifest (JSON or YAML); a stale metadata.resourceVersion is 409`,
      method: "PUT",
      path: one,
      auth: "user",
      action: `${k.iamPrefix}:Apply`,
      resource: (c, i) => resource(c.tenantId, i),
      successStatus: 200,
      bodyAs: "manifest",
      bodySchema: k.schema,
      input: namespacedRef.extend({ manifest: manifestOf(k.schema) }).strict(),
      output,
      run: (deps, caller, input) => putObject(deps, caller, kind, input),
    }),
    get: op({
      id: `${k.plural}.get`,
      summary: `Get a ${kind}`,
      method: "GET",
      path: one,
      auth: "user",
      action: `${k.iamPrefix}:Describe`,
      resource: (c, i) => resource(c.tenantId, i),
      successStatus: 200,
      input: namespacedRef,
      output,
      run: (deps, caller, input) => getObject(deps, caller, kind, input),
    }),
    list: op({
      id: `${k.plural}.list`,
      summary: `List ${k.plural} (every namespace unless one is given; ?labelSelector=)`,
      method: "GET",
      path: `/v1/clusters/:clusterId/${k.plural}`,
      auth: "user",
      action: `${k.iamPrefix}:List`,
      resource: (c, i) => clusterBrn(c.tenantId, i.clusterId),
      successStatus: 200,
      input: namespacedList,
      output: pageOf(output),
      run: (deps, caller, input) => listObjects(deps, caller, kind, input),
    }),
    delete: op({
      id: `${k.plural}.delete`,
      summary: `Delete a ${kind}`,
      method: "DELETE",
      path: one,
      auth: "user",
      action: `${k.iamPrefix}:Delete`,
      resource: (c, i) => resource(c.tenantId, i),
      successStatus: 200,
      input: namespacedRef,
      output,
      run: (deps, caller, input) => deleteObject(deps, caller, kind, input),
    }),
  };
}

const clusterScopedRef = z.object({ clusterId, name: objectNameParam }).strict();

/** Cluster-scoped kinds (PriorityClass): `/v1/clusters/{id}/{plural}/{name}`. */
function clusterScopedOperations<K extends ClusterObjectKind>(kind: K) {
  const k = KINDS[kind];
  const output = objectReplies[kind];
  const one = `/v1/clusters/:clusterId/${k.plural}/:name`;
  const resource = (t: string, i: { clusterId: string; name: string }) =>
    objectBrn(t, i.clusterId, kind, "", i.name);
  return {
    upsert: op({
      id: `${k.plural}.upsert`,
      summary: `Create or replace a ${kind} from its manifest (JSON or YAML); a stale metadata.resourceVersion is 409`,
      method: "PUT",
      path: one,
      auth: "user",
      action: `${k.iamPrefix}:Apply`,
      resource: (c, i) => resource(c.tenantId, i),
      successStatus: 200,
      bodyAs: "manifest",
      bodySchema: k.schema,
      input: clusterScopedRef.extend({ manifest: manifestOf(k.schema) }).strict(),
      output,
      run: (deps, caller, input) => putObject(deps, caller, kind, input),
    }),
    get: op({
      id: `${k.plural}.get`,
      summary: `Get a ${kind}`,
      method: "GET",
      path: one,
      auth: "user",
      action: `${k.iamPrefix}:Describe`,
      resource: (c, i) => resource(c.tenantId, i),
      successStatus: 200,
      input: clusterScopedRef,
      output,
      run: (deps, caller, input) => getObject(deps, caller, kind, input),
    }),
    list: op({
      id: `${k.plural}.list`,
      summary: `List a cluster's ${k.plural} (?labelSelector=)`,
      method: "GET",
      path: `/v1/clusters/:clusterId/${k.plural}`,
      auth: "user",
      action: `${k.iamPrefix}:List`,
      resource: (c, i) => clusterBrn(c.tenantId, i.clusterId),
      successStatus: 200,
      input: pageInput.extend({ clusterId, labelSelector: labelSelectorParam.optional() }).strict(),
      output: pageOf(output),
      run: (deps, caller, input) => listObjects(deps, caller, kind, input),
    }),
    delete: op({
      id: `${k.plural}.delete`,
      summary: `Delete a ${kind} (pods keep the priority they were given)`,
      method: "DELETE",
      path: one,
      auth: "user",
      action: `${k.iamPrefix}:Delete`,
      resource: (c, i) => resource(c.tenantId, i),
      successStatus: 200,
      input: clusterScopedRef,
      output,
      run: (deps, caller, input) => deleteObject(deps, caller, kind, input),
    }),
  };
}

const namespaceRef = z.object({ clusterId, name: namespaceParam }).strict();
const namespaceBrn = (t: string, i: { clusterId: string; name: string }) =>
  objectBrn(t, i.clusterId, "Namespace", "", i.name);

/** Namespaces are cluster-scoped: `/v1/clusters/{id}/namespaces/{name}`. */
export const namespaceOperations = {
  upsert: op({
    id: "namespaces.upsert",
    summary: "Create or replace a namespace (labels, annotations)",
    method: "PUT",
    path: "/v1/clusters/:clusterId/namespaces/:name",
    auth: "user",
    action: "namespace:Apply",
    resource: (c, i) => namespaceBrn(c.tenantId, i),
    successStatus: 200,
    bodyAs: "manifest",
    bodySchema: KINDS.Namespace.schema,
    input: namespaceRef.extend({ manifest: manifestOf(KINDS.Namespace.schema) }).strict(),
    output: objectReplies.Namespace,
    run: (deps, caller, input) => putObject(deps, caller, "Namespace", input),
  }),
  get: op({
    id: "namespaces.get",
    summary: "Get a namespace (status.phase Active or Terminating)",
    method: "GET",
    path: "/v1/clusters/:clusterId/namespaces/:name",
    auth: "user",
    action: "namespace:Describe",
    resource: (c, i) => namespaceBrn(c.tenantId, i),
    successStatus: 200,
    input: namespaceRef,
    output: objectReplies.Namespace,
    run: (deps, caller, input) => getObject(deps, caller, "Namespace", input),
  }),
  list: op({
    id: "namespaces.list",
    summary: "List a cluster's namespaces",
    method: "GET",
    path: "/v1/clusters/:clusterId/namespaces",
    auth: "user",
    action: "namespace:List",
    resource: (c, i) => clusterBrn(c.tenantId, i.clusterId),
    successStatus: 200,
    input: pageInput.extend({ clusterId, labelSelector: labelSelectorParam.optional() }).strict(),
    output: pageOf(objectReplies.Namespace),
    run: (deps, caller, input) => listObjects(deps, caller, "Namespace", input),
  }),
  delete: op({
    id: "namespaces.delete",
    summary: "Delete a namespace and everything in it (Terminating until its pods have stopped)",
    method: "DELETE",
    path: "/v1/clusters/:clusterId/namespaces/:name",
    auth: "user",
    action: "namespace:Delete",
    resource: (c, i) => namespaceBrn(c.tenantId, i),
    successStatus: 200,
    input: namespaceRef,
    output: objectReplies.Namespace,
    run: (deps, caller, input) => deleteObject(deps, caller, "Namespace", input),
  }),
};

export const objectKindOperations = {
  Namespace: namespaceOperations,
  ConfigMap: namespacedOperations("ConfigMap"),
  Secret: {
    ...namespacedOperations("Secret"),
    reveal: op({
      id: "secrets.reveal",
      summary: "Get a Secret with its values (base64), which every other read hides",
      method: "GET",
      path: "/v1/clusters/:clusterId/secrets/:namespace/:name/data",
      auth: "user",
      action: "secret:ReadValue",
      resource: (c, i) => objectBrn(c.tenantId, i.clusterId, "Secret", i.namespace, i.name),
      successStatus: 200,
      input: namespacedRef,
      output: objectReplies.Secret,
      run: revealSecret,
      // Every read of a Secret's values is in the audit log, not only refusals.
      audit: "always",
    }),
  },
  ResourceQuota: namespacedOperations("ResourceQuota"),
  LimitRange: namespacedOperations("LimitRange"),
  Job: namespacedOperations("Job"),
  CronJob: namespacedOperations("CronJob"),
  PriorityClass: clusterScopedOperations("PriorityClass"),
  PodDisruptionBudget: namespacedOperations("PodDisruptionBudget"),
  HorizontalPodAutoscaler: namespacedOperations("HorizontalPodAutoscaler"),
  Service: namespacedOperations("Service"),
  NetworkPolicy: namespacedOperations("NetworkPolicy"),
  Ingress: namespacedOperations("Ingress"),
  PersistentVolumeClaim: namespacedOperations("PersistentVolumeClaim"),
};

export const applyOperation = op({
  id: "clusters.applyManifests",
  summary:
    "Apply many objects at once (multi-document YAML, a JSON array or a List): all admitted before any is written, in one transaction; ?dryRun=true writes nothing",
  method: "POST",
  path: "/v1/clusters/:clusterId/apply",
  auth: "user",
  // Each object is authorised on its own name as `<kind>:Apply` (services/objects/apply.ts).
  action: "cluster:Apply",
  authorization: "authenticated",
  resource: (c, i) => clusterBrn(c.tenantId, i.clusterId),
  successStatus: 200,
  bodyAs: "manifests",
  rawBody: true,
  queryParams: ["dryRun"],
  input: applyManifestsInput,
  output: applyManifestsReply,
  run: applyManifests,
  // One unit per 16 KiB of YAML or JSON, or per 10 objects: a large apply costs as a large list does.
  cost: (i) =>
    Math.max(
      1,
      typeof i.manifests === "string"
        ? Math.ceil(i.manifests.length / 16_384)
        : Array.isArray(i.manifests)
          ? Math.ceil(i.manifests.length / 10)
          : 1,
    ),
});

/**
 * The kind operations of the catalog, by a key each (`ConfigMap.upsert`, …), plus apply. (tRPC
 * reserves `apply` as a procedure name: writes are `upsert`, as deployments' always were.)
 */
export const objectOperations = {
  applyManifests: applyOperation,
  ...Object.fromEntries(
    Object.entries(objectKindOperations).flatMap(([kind, ops]) =>
      Object.entries(ops).map(([verb, o]) => [`${kind}.${verb}`, o] as const),
    ),
  ),
};
