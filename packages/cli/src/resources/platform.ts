import { CliError } from "../errors";
import { type Json, listAll, num, rec, str } from "../json";
import { age, type Column, labels } from "../output";
import type { Runtime } from "../runtime";
import type { Resource } from "./resource";

const created = (field: string): Column<Json> => ({
  header: "age",
  value: (o, now) => age(str(o[field]), now),
});
const byName = (o: Json) => str(o.name);

/** One item of a list by name or id, or a NOT_FOUND in kubectl's words. */
function find(items: Json[], kind: string, wanted: string): Json {
  const found = items.find((i) => i.id === wanted || i.name === wanted);
  if (!found) throw new CliError(`${kind} "${wanted}" not found`, 1, "NOT_FOUND");
  return found;
}

export const clusters: Resource = {
  kind: "Cluster",
  names: ["clusters", "cluster"],
  scope: "account",
  nameOf: (c) => `cluster/${str(c.name)}`,
  columns: [
    { header: "name", value: byName },
    { header: "id", value: (c) => str(c.id) },
    { header: "status", value: (c) => str(c.status) },
    created("createdAt"),
    { header: "tags", wide: true, value: (c) => labels(rec(c.tags)) },
    { header: "reason", wide: true, value: (c) => str(c.statusReason) },
  ],
  async list(rt) {
    const client = await rt.client();
    return (await listAll((cursor) =>
      client.clusters.list.query({ limit: 500, ...(cursor ? { cursor } : {}) }),
    )) as Json[];
  },
  async get(rt, ref) {
    const client = await rt.client();
    if (ref.name.startsWith("cl_")) return (await client.clusters.get.query({ clusterId: ref.name })) as Json;
    const live = (await clusters.list(rt, {})).filter((c) => c.status !== "deleted");
    return find(live, "cluster", ref.name);
  },
  async delete(rt, ref) {
    const client = await rt.client();
    const cluster = await clusters.get(rt, ref);
    return client.clusters.delete.mutate({ clusterId: str(cluster.id) });
  },
};

export const nodes: Resource = {
  kind: "Node",
  names: ["nodes", "node", "no"],
  scope: "cluster",
  nameOf: (n) => `node/${str(n.name)}`,
  columns: [
    { header: "name", value: byName },
    {
      header: "status",
      value: (n) =>
        [
          n.status === "ready" ? "Ready" : n.status === "not_ready" ? "NotReady" : str(n.status),
          ...(n.unschedulable === true ? ["SchedulingDisabled"] : []),
        ].join(","),
    },
    created("joinedAt"),
    { header: "version", value: (n) => str(n.agentVersion) },
    { header: "address", wide: true, value: (n) => str(n.address) },
    { header: "id", wide: true, value: (n) => str(n.id) },
    { header: "labels", wide: true, value: (n) => labels(rec(n.labels)) },
  ],
  async list(rt) {
    const [client, clusterId] = [await rt.client(), await rt.clusterId()];
    return (await listAll((cursor) =>
      client.nodes.list.query({ clusterId, limit: 500, ...(cursor ? { cursor } : {}) }),
    )) as Json[];
  },
  async get(rt, ref) {
    return find(await nodes.list(rt, {}), "node", ref.name);
  },
};

export const nodePools: Resource = {
  kind: "NodePool",
  names: ["nodepools", "nodepool", "node-pools", "node-pool", "np"],
  scope: "cluster",
  nameOf: (p) => `nodepool/${str(p.name)}`,
  columns: [
    { header: "name", value: byName },
    { header: "provider", value: (p) => str(p.provider) },
    { header: "instance type", value: (p) => str(p.instanceType) },
    { header: "desired", value: (p) => num(p.desiredSize) },
    { header: "min", value: (p) => num(p.minSize) },
    { header: "max", value: (p) => num(p.maxSize) },
    {
      header: "autoscaling",
      value: (p) => ((p.autoscaling as Json | undefined)?.enabled ? "on" : "off"),
    },
    { header: "status", value: (p) => str(p.status) },
    created("createdAt"),
    { header: "id", wide: true, value: (p) => str(p.id) },
    { header: "zone", wide: true, value: (p) => str(p.zone) },
  ],
  async list(rt) {
    const [client, clusterId] = [await rt.client(), await rt.clusterId()];
    return (await client.nodePools.list.query({ clusterId })).items as Json[];
  },
  async get(rt, ref) {
    return find(await nodePools.list(rt, {}), "node pool", ref.name);
  },
  async delete(rt, ref) {
    const [client, clusterId] = [await rt.client(), await rt.clusterId()];
    const pool = await nodePools.get(rt, ref);
    return client.nodePools.delete.mutate({ clusterId, poolId: str(pool.id) });
  },
};

export const joinTokens: Resource = {
  kind: "JoinToken",
  names: ["jointokens", "jointoken", "join-tokens", "join-token"],
  scope: "cluster",
  nameOf: (t) => `jointoken/${str(t.id)}`,
  columns: [
    { header: "id", value: (t) => str(t.id) },
    { header: "description", value: (t) => str(t.description) },
    { header: "uses", value: (t) => `${num(t.usedCount)}/${t.maxUses === null ? "∞" : num(t.maxUses, 1)}` },
    { header: "expires", value: (t) => str(t.expiresAt) },
    { header: "revoked", value: (t) => (t.revokedAt ? "yes" : "no") },
    { header: "pool", wide: true, value: (t) => str(t.poolId) },
  ],
  async list(rt) {
    const [client, clusterId] = [await rt.client(), await rt.clusterId()];
    return (await listAll((cursor) =>
      client.clusters.listJoinTokens.query({ clusterId, limit: 500, ...(cursor ? { cursor } : {}) }),
    )) as Json[];
  },
  async get(rt, ref) {
    return find(await joinTokens.list(rt, {}), "join token", ref.name);
  },
  async delete(rt, ref) {
    const [client, clusterId] = [await rt.client(), await rt.clusterId()];
    return client.clusters.revokeJoinToken.mutate({ clusterId, tokenId: ref.name });
  },
};

/** A node's id from its name or id (cordon, drain, …). */
export async function nodeId(rt: Runtime, nameOrId: string): Promise<string> {
  return str((await nodes.get(rt, { namespace: "", name: nameOrId })).id);
}
