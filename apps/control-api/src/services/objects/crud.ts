import { BerthError } from "@berth/core";
import { objects, pods, recordEvent, type Tx, withTenant } from "@berth/db";
import type { KindName, LabelSelector } from "@berth/kube";
import { and, desc, eq, inArray, lt, sql } from "drizzle-orm";
import type { Deps, UserCaller } from "../../deps";
import { loadCluster } from "../clusters";
import { kick } from "../kick";
import { releaseIngressHosts } from "../network/ingress-hosts";
import { serviceRenderOptions } from "../network/node-ports";
import { page } from "../paging";
import { stopPods } from "../pod-removal";
import { openSecretData } from "../secret-data";
import { applyDocuments, lockWorkloads } from "./apply";
import { deleteClaim } from "./claims";
import { budgetStatusOf } from "./disruption";
import { identifyPut } from "./identify";
import { notFoundMessage, type ObjectKindName } from "./names";
import { deleteNamespace, ensureBuiltInNamespaces } from "./namespaces";
import { type ObjectRow, type ObjectView, renderObject } from "./render";
import { selectorCondition } from "./selector-sql";
import { objectRow } from "./store";
import { AdmissionWorld } from "./world";

/**
 * GET, list, PUT and DELETE of the kinds kept in `objects`, one set of functions for all of them
 * (the operation catalog makes one operation set per kind from the registry).
 */
export interface ObjectRef {
  clusterId: string;
  /** "" (absent) for cluster-scoped kinds. */
  namespace?: string;
  name: string;
}

async function mustFind(tx: Tx, kind: ObjectKindName, ref: ObjectRef): Promise<ObjectRow> {
  const o = await objectRow(tx, ref.clusterId, kind, ref.namespace ?? "", ref.name);
  if (!o) throw new BerthError("NOT_FOUND", notFoundMessage(kind, ref.name));
  return o;
}

/** A quota's `status.used`: its namespace's usage now; a budget's status: its pods now. */
async function withUsage(tx: Tx, rows: ObjectRow[]): Promise<ObjectView[]> {
  const used = new Map<string, Awaited<ReturnType<AdmissionWorld["used"]>>>();
  const out: ObjectView[] = [];
  const nodes: { addresses?: string[] } = {};
  for (const r of rows) {
    if (r.kind === "PodDisruptionBudget") {
      out.push(renderObject(r, { budgetStatus: await budgetStatusOf(tx, r) }));
      continue;
    }
    if (r.kind !== "ResourceQuota") {
      out.push(renderObject(r, await serviceRenderOptions(tx, r, nodes)));
      continue;
    }
    if (!used.has(r.namespace))
      used.set(r.namespace, await new AdmissionWorld(tx, r.clusterId).used(r.namespace));
    out.push(renderObject(r, { quotaUsed: used.get(r.namespace) ?? {} }));
  }
  return out;
}

export async function getObject(deps: Deps, caller: UserCaller, kind: ObjectKindName, ref: ObjectRef) {
  return withTenant(deps.db, caller.tenantId, async (tx) => {
    const cluster = await loadCluster(tx, ref.clusterId);
    if (kind === "Namespace") await ensureBuiltInNamespaces(tx, cluster);
    const [view] = await withUsage(tx, [await mustFind(tx, kind, ref)]);
    return view as ObjectView;
  });
}

export interface ListInput {
  clusterId: string;
  namespace?: string | undefined;
  labelSelector?: LabelSelector | undefined;
  limit: number;
  cursor?: string | undefined;
}

/** A page of one kind's objects, newest first; every namespace unless one is given. */
export async function listObjects(deps: Deps, caller: UserCaller, kind: ObjectKindName, input: ListInput) {
  const views = await withTenant(deps.db, caller.tenantId, async (tx) => {
    const cluster = await loadCluster(tx, input.clusterId);
    if (kind === "Namespace") await ensureBuiltInNamespaces(tx, cluster);
    const rows = await tx
      .select()
      .from(objects)
      .where(
        and(
          eq(objects.clusterId, input.clusterId),
          eq(objects.kind, kind),
          input.namespace !== undefined ? eq(objects.namespace, input.namespace) : undefined,
          selectorCondition(objects.labels, input.labelSelector),
          input.cursor ? lt(objects.id, input.cursor) : undefined,
        ),
      )
      .orderBy(desc(objects.id))
      .limit(input.limit + 1);
    const views = await withUsage(tx, rows);
    return views.map((v) => ({ ...v, id: v.metadata.uid }));
  });
  const { items, nextCursor } = page(views, input.limit);
  return { items: items.map(({ id: _id, ...v }) => v), nextCursor };
}

/** PUT: create or replace one object from its manifest (JSON or YAML). */
export async function putObject(
  deps: Deps,
  caller: UserCaller,
  kind: KindName,
  input: ObjectRef & { manifest: unknown; dryRun?: boolean | undefined },
): Promise<ObjectView> {
  const doc = identifyPut(kind, input.manifest, { namespace: input.namespace ?? "", name: input.name });
  const [result] = await applyDocuments(deps, caller, input.clusterId, [doc], { dryRun: false });
  if (!result?.view) throw new Error(`${kind} ${input.name}: the write answered no object`);
  return result.view;
}

/** The Secret with its values: the one read that needs `secret:ReadValue`. */
export async function revealSecret(deps: Deps, caller: UserCaller, ref: ObjectRef) {
  return withTenant(deps.db, caller.tenantId, async (tx) => {
    const cluster = await loadCluster(tx, ref.clusterId);
    const o = await mustFind(tx, "Secret", ref);
    const data = o.dataEnc ? openSecretData(deps.master, cluster, o.id, o.dataEnc) : {};
    return renderObject(o, { secretData: data });
  });
}

/** Deletes what a Job or CronJob owns: a Job's pods stop; a CronJob's Jobs go, and their pods. */
async function deleteOwned(tx: Tx, o: ObjectRow, now: Date): Promise<void> {
  if (o.kind === "Job") await stopPods(tx, and(eq(pods.clusterId, o.clusterId), eq(pods.ownerId, o.id)), now);
  if (o.kind === "CronJob") {
    const jobs = await tx
      .delete(objects)
      .where(
        and(
          eq(objects.clusterId, o.clusterId),
          eq(objects.kind, "Job"),
          sql`${objects.ownerReferences} @> ${JSON.stringify([{ uid: o.id }])}::jsonb`,
        ),
      )
      .returning({ id: objects.id });
    if (jobs.length > 0)
      await stopPods(
        tx,
        and(
          eq(pods.clusterId, o.clusterId),
          inArray(
            pods.ownerId,
            jobs.map((j) => j.id),
          ),
        ),
        now,
      );
  }
}

/** DELETE of one object; a Namespace takes everything in it along (see namespaces.ts). */
export async function deleteObject(deps: Deps, caller: UserCaller, kind: ObjectKindName, ref: ObjectRef) {
  const view = await withTenant(deps.db, caller.tenantId, async (tx) => {
    await loadCluster(tx, ref.clusterId);
    await lockWorkloads(tx, ref.clusterId);
    const o = await mustFind(tx, kind, ref);
    const now = deps.now();
    if (kind === "Namespace") return (await deleteNamespace(tx, o, now)).view;
    if (kind === "PersistentVolumeClaim") {
      const { deleting } = await deleteClaim(tx, o, now);
      return renderObject({ ...o, deletionTimestamp: deleting });
    }
    await deleteOwned(tx, o, now);
    await tx.delete(objects).where(eq(objects.id, o.id));
    if (kind === "Ingress") await releaseIngressHosts(tx, o.clusterId);
    await recordEvent(tx, {
      tenantId: o.tenantId,
      clusterId: o.clusterId,
      objectKind: kind,
      objectName: o.name,
      namespace: o.namespace || null,
      objectUid: o.id,
      source: "berth-api",
      reason: "Deleted",
      message: `deleted ${kind} ${o.namespace}/${o.name}`,
    });
    return renderObject({ ...o, deletionTimestamp: now });
  });
  if (kind === "Namespace" || kind === "Job" || kind === "CronJob" || kind === "PersistentVolumeClaim")
    await kick(deps, "cluster.reconcile", { tenantId: caller.tenantId, clusterId: ref.clusterId });
  return view;
}
