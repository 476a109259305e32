import { newId } from "@berth/core";
import { meterIntervals, objects, openMeter, pods, withSystem } from "@berth/db";
import { type CronJobInput, type JobInput, normaliseCronJob, normaliseJobSpec } from "@berth/kube";
import { and, eq, inArray } from "drizzle-orm";
import type { Fixture } from "./fixtures";

/**
 * Jobs and CronJobs written as the object API writes them (kind, namespace, name, the admitted
 * spec), and a node's reports on Job pods as node-sync applies them.
 */
type Ref = { tenantId: string; clusterId: string };

export const container = { name: "work", image: "localhost/berth/demo-web:latest" };

export async function insertObject(
  f: Fixture,
  ref: Ref,
  kind: "Job" | "CronJob",
  name: string,
  spec: Record<string, unknown>,
  more: { ownerReferences?: Record<string, unknown>[]; createdAt?: Date } = {},
): Promise<string> {
  const id = newId("deployment").replace(/^dep_/, "obj_");
  await withSystem(f.deps.db, (tx) =>
    tx.insert(objects).values({
      id,
      tenantId: ref.tenantId,
      clusterId: ref.clusterId,
      kind,
      namespace: "default",
      name,
      spec,
      ownerReferences: more.ownerReferences ?? [],
      createdAt: more.createdAt ?? f.clock.now,
    }),
  );
  return id;
}

export function jobSpec(spec: Partial<JobInput["spec"]> = {}) {
  return normaliseJobSpec({
    template: { spec: { containers: [container], restartPolicy: "Never" } },
    ...spec,
  });
}

export function insertJob(f: Fixture, ref: Ref, name: string, spec: Partial<JobInput["spec"]> = {}) {
  return insertObject(f, ref, "Job", name, jobSpec(spec) as unknown as Record<string, unknown>);
}

export function insertCronJob(
  f: Fixture,
  ref: Ref,
  name: string,
  spec: Partial<CronJobInput["spec"]> = {},
  createdAt?: Date,
) {
  const normal = normaliseCronJob({
    spec: {
      schedule: "* * * * *",
      jobTemplate: { spec: { template: { spec: { containers: [container], restartPolicy: "Never" } } } },
      ...spec,
    },
  });
  return insertObject(
    f,
    ref,
    "CronJob",
    name,
    normal as unknown as Record<string, unknown>,
    createdAt ? { createdAt } : {},
  );
}

export async function objectRow(f: Fixture, id: string) {
  const [o] = await withSystem(f.deps.db, (tx) => tx.select().from(objects).where(eq(objects.id, id)));
  return o;
}

export const podsOwnedBy = (f: Fixture, ownerId: string) =>
  withSystem(f.deps.db, (tx) => tx.select().from(pods).where(eq(pods.ownerId, ownerId)).orderBy(pods.seq));

/** The node runs the Job's placed pods (their meters open, as node-sync opens them). */
export async function runPods(f: Fixture, ownerId: string) {
  await withSystem(f.deps.db, async (tx) => {
    const placed = (await tx.select().from(pods).where(eq(pods.ownerId, ownerId))).filter(
      (p) => p.nodeId && p.phase === "Pending" && !p.deletionRequestedAt,
    );
    for (const p of placed) {
      await tx
        .update(pods)
        .set({ phase: "Running", startedAt: f.clock.now, ready: true, readyAt: f.clock.now })
        .where(eq(pods.id, p.id));
      await openMeter(tx, {
        tenantId: p.tenantId,
        clusterId: p.clusterId,
        meter: "pod_vcpu_seconds",
        subjectId: p.id,
        rate: 100n,
        at: f.clock.now,
      });
    }
  });
}

/** The pods' containers ended: exit 0 (Succeeded) or not (Failed), as the node reports it. */
export async function finishPods(f: Fixture, ids: readonly string[], phase: "Succeeded" | "Failed") {
  if (ids.length === 0) return;
  await withSystem(f.deps.db, (tx) =>
    tx
      .update(pods)
      .set({ phase, ready: false, stoppedAt: f.clock.now })
      .where(inArray(pods.id, [...ids])),
  );
}

/** Pods being removed are gone from their node (node-sync deletes their rows). */
export async function podsGone(f: Fixture, clusterId: string) {
  await withSystem(f.deps.db, async (tx) => {
    const going = (await tx.select().from(pods).where(eq(pods.clusterId, clusterId))).filter(
      (p) => p.deletionRequestedAt !== null,
    );
    if (going.length > 0)
      await tx.delete(pods).where(
        inArray(
          pods.id,
          going.map((p) => p.id),
        ),
      );
  });
}

export const openMeters = (f: Fixture, podIds: readonly string[]) =>
  withSystem(f.deps.db, async (tx) =>
    (
      await tx
        .select()
        .from(meterIntervals)
        .where(and(inArray(meterIntervals.subjectId, [...podIds])))
    ).filter((m) => m.endedAt === null),
  );
