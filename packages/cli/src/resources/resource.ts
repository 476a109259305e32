import type { BerthClient } from "@berth/sdk";
import { at, type Json, listAll, str } from "../json";
import { age, type Column } from "../output";
import type { Runtime } from "../runtime";

/** Which objects a list asks for: one namespace (or all), and a label selector. */
export interface ListQuery {
  namespace?: string;
  labelSelector?: string;
}

/** A reference to one object: its name, and its namespace when the kind has them. */
export interface ObjectRef {
  namespace: string;
  name: string;
}

/**
 * A kind of thing `berth get/describe/delete` knows: its names on the command line, where it
 * lives (a namespace of a cluster, a cluster, or the account), its table and how it is read.
 */
export interface Resource {
  kind: string;
  /** The plural first (`pods`), then the singular and short names (`pod`, `po`). */
  names: readonly string[];
  scope: "namespaced" | "cluster" | "account";
  columns: readonly Column<Json>[];
  list(rt: Runtime, query: ListQuery): Promise<Json[]>;
  get(rt: Runtime, ref: ObjectRef): Promise<Json>;
  delete?(rt: Runtime, ref: ObjectRef): Promise<unknown>;
  /** The `kind/name` of `-o name` (default: the kind in lower case and `metadata.name`). */
  nameOf?(item: Json): string;
}

/** The tRPC procedures every kind of the object registry has (`configmaps.list`, …), loosely typed. */
interface KindApi {
  list: {
    query(input: {
      clusterId: string;
      namespace?: string;
      labelSelector?: string;
      limit?: number;
      cursor?: string;
    }): Promise<{ items: Json[]; nextCursor?: string | null }>;
  };
  get: { query(input: { clusterId: string; namespace?: string; name: string }): Promise<Json> };
  delete: { mutate(input: { clusterId: string; namespace?: string; name: string }): Promise<unknown> };
}

/** One kind's procedures by its plural (each router is `<plural>.get/list/delete`, as in the README). */
export function kindApi(client: BerthClient, plural: string): KindApi {
  // The routers of the registry's kinds share this shape; their manifests' types differ, which
  // a CLI that prints what it gets does not need.
  return (client as unknown as Record<string, KindApi>)[plural] as KindApi;
}

/** A kind of the object registry: read through its `<plural>.*` procedures. */
export function registryResource(opts: {
  kind: string;
  names: readonly string[];
  namespaced: boolean;
  columns: readonly Column<Json>[];
}): Resource {
  const plural = opts.names[0] as string;
  const scoped = (ref: ObjectRef) => (opts.namespaced ? { namespace: ref.namespace } : {});
  return {
    kind: opts.kind,
    names: opts.names,
    scope: opts.namespaced ? "namespaced" : "cluster",
    columns: opts.columns,
    async list(rt, q) {
      const [client, clusterId] = [await rt.client(), await rt.clusterId()];
      return listAll((cursor) =>
        kindApi(client, plural).list.query({
          clusterId,
          limit: 500,
          ...(opts.namespaced && q.namespace ? { namespace: q.namespace } : {}),
          ...(q.labelSelector ? { labelSelector: q.labelSelector } : {}),
          ...(cursor ? { cursor } : {}),
        }),
      );
    },
    async get(rt, ref) {
      const [client, clusterId] = [await rt.client(), await rt.clusterId()];
      return kindApi(client, plural).get.query({ clusterId, name: ref.name, ...scoped(ref) });
    },
    async delete(rt, ref) {
      const [client, clusterId] = [await rt.client(), await rt.clusterId()];
      return kindApi(client, plural).delete.mutate({ clusterId, name: ref.name, ...scoped(ref) });
    },
  };
}

/** NAME and AGE, the columns every kind starts and ends with. */
export const nameColumn: Column<Json> = { header: "name", value: (o) => str(at(o, "metadata.name")) };
export const ageColumn: Column<Json> = {
  header: "age",
  value: (o, now) => age(str(at(o, "metadata.creationTimestamp")), now),
};
