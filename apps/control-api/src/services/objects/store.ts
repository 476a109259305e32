import type { MasterKey } from "@berth/core";
import { newId } from "@berth/core";
import { deployments, objects, pods, type Tx } from "@berth/db";
import type { DeploymentSpec, KindName } from "@berth/kube";
import { and, eq, getTableColumns, isNull, sql } from "drizzle-orm";
import { templateHashOf } from "../manifest";
import { serviceRenderOptions } from "../network/node-ports";
import { clusterDataKey, openSecretData, sealSecretData } from "../secret-data";
import { type DeploymentRow, deploymentSpecOf, renderDeployment } from "./deployment-view";
import type { UserMeta } from "./meta";
import { type ObjectRow, type ObjectView, renderObject } from "./render";

/**
 * Reading and writing the stored form of every kind: Deployments in their own table (the control
 * loop's), every other kind in `objects`. What is stored is the kind's normalised spec, never the
 * manifest as sent; a Secret's values are sealed in `dataEnc` under the cluster's data key.
 */
export interface Current {
  kind: KindName;
  uid: string;
  namespace: string;
  name: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  ownerReferences: Record<string, unknown>[];
  /** The normalised spec as stored (a Secret's without its values). */
  spec: unknown;
  status: Record<string, unknown>;
  /** A Secret's values (key → base64), opened. */
  secretData?: Record<string, string>;
  resourceVersion: number;
  generation: number;
  deletionTimestamp: Date | null;
}

export interface ClusterKeys {
  id: string;
  tenantId: string;
  dataKeyEnc: string | null;
}

/** A deployment's live pods, counted in the query that reads it. */
export const podCount = sql<number>`(select count(*)::int from pods p where p.deployment_id = "deployments"."id" and p.deletion_requested_at is null)`;

export async function liveDeployment(tx: Tx, clusterId: string, namespace: string, name: string) {
  const [d] = await tx
    .select({ ...getTableColumns(deployments), podCount })
    .from(deployments)
    .where(
      and(
        eq(deployments.clusterId, clusterId),
        eq(deployments.namespace, namespace),
        eq(deployments.name, name),
        isNull(deployments.deletedAt),
      ),
    );
  return d;
}

export async function objectRow(
  tx: Tx,
  clusterId: string,
  kind: KindName,
  namespace: string,
  name: string,
): Promise<ObjectRow | undefined> {
  const [o] = await tx
    .select()
    .from(objects)
    .where(
      and(
        eq(objects.clusterId, clusterId),
        eq(objects.kind, kind),
        eq(objects.namespace, namespace),
        eq(objects.name, name),
      ),
    );
  return o;
}

const fromDeployment = (d: DeploymentRow): Current => ({
  kind: "Deployment",
  uid: d.id,
  namespace: d.namespace,
  name: d.name,
  labels: d.labels,
  annotations: d.annotations,
  ownerReferences: [],
  spec: deploymentSpecOf(d),
  status: {},
  resourceVersion: d.resourceVersion,
  generation: d.generation,
  deletionTimestamp: d.deletedAt,
});

/** The object as stored now, or undefined. A Secret's values are opened (for comparison, never answered). */
export async function loadCurrent(
  tx: Tx,
  master: MasterKey,
  cluster: ClusterKeys,
  kind: KindName,
  namespace: string,
  name: string,
): Promise<Current | undefined> {
  if (kind === "Deployment") {
    const d = await liveDeployment(tx, cluster.id, namespace, name);
    return d ? fromDeployment(d) : undefined;
  }
  const o = await objectRow(tx, cluster.id, kind, namespace, name);
  if (!o) return undefined;
  return {
    kind,
    uid: o.id,
    namespace: o.namespace,
    name: o.name,
    labels: o.labels,
    annotations: o.annotations,
    ownerReferences: o.ownerReferences,
    spec: o.spec,
    status: o.status,
    ...(kind === "Secret" && o.dataEnc
      ? { secretData: openSecretData(master, cluster, o.id, o.dataEnc) }
      : {}),
    resourceVersion: o.resourceVersion,
    generation: o.generation,
    deletionTimestamp: o.deletionTimestamp,
  };
}

export interface Write {
  kind: KindName;
  namespace: string;
  name: string;
  meta: UserMeta;
  spec: unknown;
  secretData?: Record<string, string>;
  current?: Current;
  /** The spec (or data) changed: the generation moves too. */
  specChanged: boolean;
}

/** Writes one admitted object (insert, or update of `current`); returns its new view. */
export async function writeObject(
  tx: Tx,
  master: MasterKey,
  cluster: ClusterKeys,
  w: Write,
  now: Date,
): Promise<{ uid: string; view: ObjectView }> {
  if (w.kind === "Deployment") return writeDeployment(tx, cluster, w, now);
  const id = w.current?.uid ?? newId("object");
  const dataEnc =
    w.kind === "Secret"
      ? sealSecretData(await clusterDataKey(tx, master, cluster.id), id, w.secretData ?? {})
      : null;
  const fields = {
    labels: w.meta.labels,
    annotations: w.meta.annotations,
    ownerReferences: w.meta.ownerReferences,
    spec: w.spec as Record<string, unknown>,
    dataEnc,
    updatedAt: now,
  };
  let row: ObjectRow | undefined;
  if (w.current)
    [row] = await tx
      .update(objects)
      .set({
        ...fields,
        resourceVersion: sql`nextval('resource_versions')`,
        generation: w.current.generation + (w.specChanged ? 1 : 0),
      })
      .where(eq(objects.id, w.current.uid))
      .returning();
  else
    [row] = await tx
      .insert(objects)
      .values({
        id,
        tenantId: cluster.tenantId,
        clusterId: cluster.id,
        kind: w.kind,
        namespace: w.namespace,
        name: w.name,
        ...fields,
      })
      .returning();
  if (!row) throw new Error(`writing ${w.kind} ${w.name} returned nothing`);
  return { uid: row.id, view: renderObject(row, await serviceRenderOptions(tx, row)) };
}

async function writeDeployment(tx: Tx, cluster: ClusterKeys, w: Write, now: Date) {
  const { template, replicas, ...spec } = w.spec as DeploymentSpec;
  const fields = {
    replicas,
    template,
    templateHash: templateHashOf(template),
    labels: w.meta.labels,
    annotations: w.meta.annotations,
    spec,
    updatedAt: now,
  };
  let row: DeploymentRow | undefined;
  if (w.current)
    [row] = await tx
      .update(deployments)
      .set({
        ...fields,
        resourceVersion: sql`nextval('resource_versions')`,
        generation: w.current.generation + (w.specChanged ? 1 : 0),
      })
      .where(eq(deployments.id, w.current.uid))
      .returning();
  else
    [row] = await tx
      .insert(deployments)
      .values({
        id: newId("deployment"),
        tenantId: cluster.tenantId,
        clusterId: cluster.id,
        namespace: w.namespace,
        name: w.name,
        ...fields,
      })
      .returning();
  if (!row) throw new Error(`writing deployment ${w.name} returned nothing`);
  const [count] = await tx
    .select({ n: sql<number>`count(*)::int` })
    .from(pods)
    .where(and(eq(pods.deploymentId, row.id), isNull(pods.deletionRequestedAt)));
  return { uid: row.id, view: renderDeployment(row, count?.n ?? 0) };
}

/** The view of an object as stored now (a write that changed nothing answers with it). */
export async function renderStored(
  tx: Tx,
  clusterId: string,
  kind: KindName,
  namespace: string,
  name: string,
): Promise<ObjectView | undefined> {
  if (kind === "Deployment") {
    const d = await liveDeployment(tx, clusterId, namespace, name);
    return d ? renderDeployment(d, d.podCount) : undefined;
  }
  const o = await objectRow(tx, clusterId, kind, namespace, name);
  return o ? renderObject(o, await serviceRenderOptions(tx, o)) : undefined;
}
