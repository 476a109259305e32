import { arr, at, type Json, listAll, num, rec, str } from "../json";
import { age, labels } from "../output";
import { ageColumn, nameColumn, type Resource, registryResource } from "./resource";

const count = (o: unknown) => Object.keys(rec(o)).length;
const containers = (o: Json) => arr(at(o, "spec.template.spec.containers"));

/** kubectl's STATUS of a pod: Terminating, a reason (CrashLoopBackOff, Evicted, …), else the phase. */
export function podStatus(p: Json): string {
  if (p.terminating === true || at(p, "metadata.deletionTimestamp")) return "Terminating";
  const reason = str(p.reason);
  return reason && reason !== "Unschedulable" ? reason : str(at(p, "status.phase"), "Unknown");
}

export const pods: Resource = {
  kind: "Pod",
  names: ["pods", "pod", "po"],
  scope: "namespaced",
  columns: [
    nameColumn,
    {
      header: "ready",
      value: (p) =>
        `${arr(at(p, "status.containerStatuses")).filter((c) => c.ready === true).length}/${arr(at(p, "spec.containers")).length}`,
    },
    { header: "status", value: podStatus },
    { header: "restarts", value: (p) => num(p.restarts) },
    ageColumn,
    { header: "ip", wide: true, value: (p) => str(at(p, "status.podIP")) },
    { header: "node", wide: true, value: (p) => str(p.nodeName) },
    { header: "nominated node", wide: true, value: (p) => str(at(p, "status.nominatedNodeName")) },
  ],
  async list(rt, q) {
    const [client, clusterId] = [await rt.client(), await rt.clusterId()];
    return listAll((cursor) =>
      client.pods.list.query({
        clusterId,
        limit: 500,
        ...(q.namespace ? { namespace: q.namespace } : {}),
        ...(q.labelSelector ? { labelSelector: q.labelSelector } : {}),
        ...(cursor ? { cursor } : {}),
      }),
    ) as Promise<Json[]>;
  },
  async get(rt, ref) {
    const [client, clusterId] = [await rt.client(), await rt.clusterId()];
    return (await client.pods.get.query({ clusterId, ...ref })) as Json;
  },
  async delete(rt, ref) {
    const [client, clusterId] = [await rt.client(), await rt.clusterId()];
    return client.pods.delete.mutate({ clusterId, ...ref });
  },
};

export const events: Resource = {
  kind: "Event",
  names: ["events", "event", "ev"],
  scope: "namespaced",
  columns: [
    { header: "last seen", value: (e, now) => age(str(e.lastTimestamp), now) },
    { header: "type", value: (e) => str(e.type) },
    { header: "reason", value: (e) => str(e.reason) },
    {
      header: "object",
      value: (e) => `${str(at(e, "involvedObject.kind")).toLowerCase()}/${str(at(e, "involvedObject.name"))}`,
    },
    { header: "count", wide: true, value: (e) => num(e.count, 1) },
    { header: "message", value: (e) => str(e.message) },
  ],
  async list(rt, q) {
    const [client, clusterId] = [await rt.client(), await rt.clusterId()];
    return (await listAll((cursor) =>
      client.events.list.query({
        clusterId,
        limit: 500,
        ...(q.namespace ? { namespace: q.namespace } : {}),
        ...(cursor ? { cursor } : {}),
      }),
    )) as Json[];
  },
  async get() {
    throw new Error("events are listed, not read one by one: berth get events");
  },
};

/** The kinds of the object registry, with kubectl's columns. */
export const registryKinds: Resource[] = [
  registryResource({
    kind: "Deployment",
    names: ["deployments", "deployment", "deploy"],
    namespaced: true,
    columns: [
      nameColumn,
      {
        header: "ready",
        value: (d) => `${num(at(d, "status.readyReplicas"))}/${num(at(d, "spec.replicas"))}`,
      },
      { header: "up-to-date", value: (d) => num(at(d, "status.updatedReplicas")) },
      { header: "available", value: (d) => num(at(d, "status.availableReplicas")) },
      ageColumn,
      {
        header: "containers",
        wide: true,
        value: (d) =>
          containers(d)
            .map((c) => str(c.name))
            .join(","),
      },
      {
        header: "images",
        wide: true,
        value: (d) =>
          containers(d)
            .map((c) => str(c.image))
            .join(","),
      },
      { header: "selector", wide: true, value: (d) => labels(rec(at(d, "spec.selector.matchLabels"))) },
    ],
  }),
  registryResource({
    kind: "Job",
    names: ["jobs", "job"],
    namespaced: true,
    columns: [
      nameColumn,
      {
        header: "completions",
        value: (j) => `${num(at(j, "status.succeeded"))}/${num(at(j, "spec.completions"), 1)}`,
      },
      { header: "active", value: (j) => num(at(j, "status.active")) },
      ageColumn,
      {
        header: "images",
        wide: true,
        value: (j) =>
          containers(j)
            .map((c) => str(c.image))
            .join(","),
      },
    ],
  }),
  registryResource({
    kind: "CronJob",
    names: ["cronjobs", "cronjob", "cj"],
    namespaced: true,
    columns: [
      nameColumn,
      { header: "schedule", value: (c) => str(at(c, "spec.schedule")) },
      { header: "suspend", value: (c) => String(at(c, "spec.suspend") === true) },
      { header: "active", value: (c) => arr(at(c, "status.active")).length },
      {
        header: "last schedule",
        value: (c, now) =>
          at(c, "status.lastScheduleTime") ? age(str(at(c, "status.lastScheduleTime")), now) : "<none>",
      },
      ageColumn,
    ],
  }),
  registryResource({
    kind: "Namespace",
    names: ["namespaces", "namespace", "ns"],
    namespaced: false,
    columns: [nameColumn, { header: "status", value: (n) => str(at(n, "status.phase")) }, ageColumn],
  }),
  registryResource({
    kind: "PersistentVolumeClaim",
    names: ["persistentvolumeclaims", "persistentvolumeclaim", "pvc"],
    namespaced: true,
    columns: [
      nameColumn,
      { header: "status", value: (c) => str(at(c, "status.phase")) },
      { header: "capacity", value: (c) => str(at(c, "status.capacity.storage"), "") },
      { header: "access modes", value: () => "RWO" },
      ageColumn,
    ],
  }),
  registryResource({
    kind: "ConfigMap",
    names: ["configmaps", "configmap", "cm"],
    namespaced: true,
    columns: [nameColumn, { header: "data", value: (c) => count(c.data) + count(c.binaryData) }, ageColumn],
  }),
  registryResource({
    kind: "Secret",
    names: ["secrets", "secret"],
    namespaced: true,
    columns: [
      nameColumn,
      { header: "type", value: (s) => str(s.type) },
      { header: "data", value: (s) => count(s.data) },
      ageColumn,
    ],
  }),
  registryResource({
    kind: "ResourceQuota",
    names: ["resourcequotas", "resourcequota", "quota"],
    namespaced: true,
    columns: [
      nameColumn,
      ageColumn,
      {
        header: "used / hard",
        value: (q) =>
          Object.entries(rec(at(q, "spec.hard")))
            .map(([k, v]) => `${k}: ${rec(at(q, "status.used"))[k] ?? "0"}/${v}`)
            .join(", "),
      },
    ],
  }),
  registryResource({
    kind: "LimitRange",
    names: ["limitranges", "limitrange", "limits"],
    namespaced: true,
    columns: [nameColumn, ageColumn],
  }),
  registryResource({
    kind: "PriorityClass",
    names: ["priorityclasses", "priorityclass", "pc"],
    namespaced: false,
    columns: [
      nameColumn,
      { header: "value", value: (p) => num(p.value) },
      { header: "global-default", value: (p) => String(p.globalDefault === true) },
      { header: "preemptionpolicy", value: (p) => str(p.preemptionPolicy, "PreemptLowerPriority") },
      ageColumn,
    ],
  }),
  registryResource({
    kind: "PodDisruptionBudget",
    names: ["poddisruptionbudgets", "poddisruptionbudget", "pdb"],
    namespaced: true,
    columns: [
      nameColumn,
      { header: "min available", value: (p) => str(at(p, "spec.minAvailable"), "N/A") },
      { header: "max unavailable", value: (p) => str(at(p, "spec.maxUnavailable"), "N/A") },
      { header: "allowed disruptions", value: (p) => num(at(p, "status.disruptionsAllowed")) },
      ageColumn,
    ],
  }),
];
