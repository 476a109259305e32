import {
  type DeploymentRow,
  deploymentRevisions,
  deployments,
  events,
  type PodTemplate,
  pods,
  restoreRevision,
  revisionsOf,
  rollbackTarget,
  withSystem,
} from "@berth/db";
import { and, asc, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { reconcileCluster } from "../src/jobs/reconcile-cluster";
import {
  applyDeployment,
  createFixture,
  deploymentRow,
  type Fixture,
  hashOf,
  insertDeployment,
  insertNode,
  insertTenantAndCluster,
  MiB,
  nodeReports,
  release,
  template,
} from "./fixtures";

/**
 * Deployments as Kubernetes' deployment controller runs them, pass by pass, with the node's
 * reports written as node-sync writes them: revisions and rollbacks, pause and resume, rolling
 * updates that never take too many pods away, minReadySeconds, progress deadlines and Berth's
 * automatic rollback, Recreate, deletion.
 */
let f: Fixture;
beforeAll(async () => {
  f = await createFixture();
});
afterAll(() => f.close());

type Ref = { tenantId: string; clusterId: string };

async function cluster(): Promise<Ref> {
  const ref = await insertTenantAndCluster(f);
  await insertNode(f, ref, "n1", { cpuMillis: 64_000, memoryBytes: 64 * 1024 * MiB, pods: 200 });
  return ref;
}

const podsOf = (id: string) =>
  withSystem(f.deps.db, (tx) =>
    tx.select().from(pods).where(eq(pods.deploymentId, id)).orderBy(asc(pods.seq)),
  );
const live = async (id: string) => (await podsOf(id)).filter((p) => p.deletionRequestedAt === null);
const eventsOf = (clusterId: string, reason: string) =>
  withSystem(f.deps.db, (tx) =>
    tx
      .select()
      .from(events)
      .where(and(eq(events.clusterId, clusterId), eq(events.reason, reason)))
      .orderBy(asc(events.createdAt)),
  );
const progressing = (d: DeploymentRow) => d.conditions.find((c) => c.type === "Progressing");
const complete = (d: DeploymentRow) =>
  progressing(d)?.reason === "NewReplicaSetAvailable" &&
  d.updatedReplicas === d.replicas &&
  d.statusReplicas === d.replicas &&
  d.observedGeneration === d.generation;

/** Passes of the loop, the node reporting in between, until the rollout is complete. */
async function settle(ref: Ref, id: string, passes = 40): Promise<DeploymentRow> {
  for (let i = 0; i < passes; i++) {
    await reconcileCluster(f.deps, ref);
    const d = await deploymentRow(f, id);
    if (complete(d)) return d;
    await nodeReports(f, ref.clusterId);
    f.clock.advance(1_000);
  }
  throw new Error(`deployment ${id} did not complete: ${JSON.stringify(await deploymentRow(f, id))}`);
}

/** `kubectl rollout undo [--to-revision]`, as the API runs it. */
async function rollback(id: string, toRevision?: number) {
  await withSystem(f.deps.db, async (tx) => {
    const d = await deploymentRow(f, id);
    const target = rollbackTarget(d, await revisionsOf(tx, id), toRevision);
    await restoreRevision(tx, d, target, f.clock.now);
  });
}

const revisions = async (id: string) =>
  (await withSystem(f.deps.db, (tx) => revisionsOf(tx, id))).map((r) => ({
    revision: r.revision,
    hash: r.templateHash,
    changeCause: r.changeCause,
  }));

/** Pods that count as available now: active, ready, for minReadySeconds. */
const availableNow = async (id: string, minReadySeconds = 0) =>
  (await podsOf(id)).filter(
    (p) =>
      p.deletionRequestedAt === null &&
      p.ready &&
      p.readyAt !== null &&
      p.readyAt.getTime() + minReadySeconds * 1000 <= f.clock.now.getTime(),
  ).length;

const v1 = template(100, 32 * MiB);
const cause = (text: string) => ({ "kubernetes.io/change-cause": text });

describe("deployment revisions", () => {
  it("keeps a revision per template, with its change-cause, and reports status as Kubernetes does", async () => {
    const ref = await cluster();
    const id = await insertDeployment(f, ref, "web", 2, v1, { annotations: cause("v1") });
    const d = await settle(ref, id);
    const rs = `web-${hashOf(v1)}`;
    expect(d).toMatchObject({
      revision: 1,
      annotations: { "deployment.kubernetes.io/revision": "1", "kubernetes.io/change-cause": "v1" },
      statusReplicas: 2,
      updatedReplicas: 2,
      readyReplicas: 2,
      availableReplicas: 2,
      unavailableReplicas: 0,
      observedGeneration: 1,
    });
    expect(d.conditions).toEqual([
      {
        type: "Available",
        status: "True",
        reason: "MinimumReplicasAvailable",
        message: "Deployment has minimum availability.",
        lastUpdateTime: expect.any(String),
        lastTransitionTime: expect.any(String),
      },
      {
        type: "Progressing",
        status: "True",
        reason: "NewReplicaSetAvailable",
        message: `ReplicaSet "${rs}" has successfully progressed.`,
        lastUpdateTime: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
        lastTransitionTime: expect.any(String),
      },
    ]);
    expect(d.progressAt).not.toBeNull();
    expect(
      (await live(id)).every((p) => p.name.startsWith(`${rs}-`) && p.name.length === rs.length + 6),
    ).toBe(true);
    expect((await eventsOf(ref.clusterId, "ScalingReplicaSet")).map((e) => e.message)).toEqual([
      `Scaled up replica set ${rs} to 2`,
    ]);
    const created = await eventsOf(ref.clusterId, "SuccessfulCreate");
    expect(created).toHaveLength(2);
    expect(created[0]).toMatchObject({ objectKind: "ReplicaSet", objectName: `default/${rs}` });
    expect(created[0]?.message).toMatch(new RegExp(`^Created pod: ${rs}-[a-z0-9]{5}$`));

    const v2 = release(v1, "2");
    await applyDeployment(f, id, { template: v2, annotations: cause("v2") });
    const after = await settle(ref, id);
    expect(after).toMatchObject({ revision: 2, templateHash: hashOf(v2), observedGeneration: 2 });
    expect(await revisions(id)).toEqual([
      { revision: 2, hash: hashOf(v2), changeCause: "v2" },
      { revision: 1, hash: hashOf(v1), changeCause: "v1" },
    ]);
    expect((await live(id)).every((p) => p.templateHash === hashOf(v2))).toBe(true);
  });

  it("rolls back to the previous revision and to a given one, which becomes the newest", async () => {
    const ref = await cluster();
    const v2 = release(v1, "2");
    const v3 = release(v1, "3");
    const id = await insertDeployment(f, ref, "api", 2, v1, { annotations: cause("v1") });
    await settle(ref, id);
    await applyDeployment(f, id, { template: v2, annotations: cause("v2") });
    await settle(ref, id);
    await applyDeployment(f, id, { template: v3, annotations: cause("v3") });
    await settle(ref, id);

    await rollback(id);
    const back = await settle(ref, id);
    expect(back).toMatchObject({ revision: 4, templateHash: hashOf(v2), generation: 4 });
    expect(back.annotations).toMatchObject({
      "deployment.kubernetes.io/revision": "4",
      "kubernetes.io/change-cause": "v2",
    });
    expect(back.template).toEqual(v2);
    expect(await revisions(id)).toEqual([
      { revision: 4, hash: hashOf(v2), changeCause: "v2" },
      { revision: 3, hash: hashOf(v3), changeCause: "v3" },
      { revision: 1, hash: hashOf(v1), changeCause: "v1" },
    ]);

    await rollback(id, 1);
    const first = await settle(ref, id);
    expect(first).toMatchObject({ revision: 5, templateHash: hashOf(v1) });
    expect((await live(id)).every((p) => p.templateHash === hashOf(v1))).toBe(true);
    expect((await revisions(id)).map((r) => r.revision)).toEqual([5, 4, 3]);
    expect(() => rollbackTarget(first, [], 9)).toThrow(
      /revision "9 of deployment default\/api" was not found/,
    );
  });

  it("keeps revisionHistoryLimit old revisions and drops older ones once they have no pods", async () => {
    const ref = await cluster();
    const id = await insertDeployment(f, ref, "short", 1, v1, { spec: { revisionHistoryLimit: 1 } });
    await settle(ref, id);
    for (const v of ["2", "3", "4"]) {
      await applyDeployment(f, id, { template: release(v1, v) });
      await settle(ref, id);
    }
    expect((await revisions(id)).map((r) => r.revision)).toEqual([4, 3]);
  });
});

describe("pause and resume", () => {
  it("a paused deployment starts no rollout step; resumed, it carries on from where it stopped", async () => {
    const ref = await cluster();
    const id = await insertDeployment(f, ref, "paused", 4, v1);
    await settle(ref, id);
    const v2 = release(v1, "2");
    await applyDeployment(f, id, { template: v2, spec: { paused: true } });
    for (let i = 0; i < 3; i++) {
      await reconcileCluster(f.deps, ref);
      await nodeReports(f, ref.clusterId);
    }
    let d = await deploymentRow(f, id);
    expect(progressing(d)).toMatchObject({ status: "Unknown", reason: "DeploymentPaused" });
    expect(d.revision).toBe(1);
    expect((await live(id)).map((p) => p.templateHash)).toEqual(Array(4).fill(hashOf(v1)));
    expect(await revisions(id)).toHaveLength(1);

    // Resumed: the rollout starts; paused again after one step, it stops there.
    await applyDeployment(f, id, { spec: { paused: false } });
    await reconcileCluster(f.deps, ref);
    d = await deploymentRow(f, id);
    expect(d.revision).toBe(2);
    const started = (await live(id)).filter((p) => p.templateHash === hashOf(v2)).length;
    expect(started).toBeGreaterThan(0);
    await applyDeployment(f, id, { spec: { paused: true } });
    for (let i = 0; i < 4; i++) {
      await nodeReports(f, ref.clusterId);
      await reconcileCluster(f.deps, ref);
    }
    const held = await live(id);
    expect(held.filter((p) => p.templateHash === hashOf(v2))).toHaveLength(started);
    expect(held).toHaveLength(4);

    await applyDeployment(f, id, { spec: { paused: false } });
    d = await settle(ref, id);
    expect((await live(id)).every((p) => p.templateHash === hashOf(v2))).toBe(true);
    const resumed = (await eventsOf(ref.clusterId, "ScalingReplicaSet")).length;
    expect(resumed).toBeGreaterThan(2);
  });
});

describe("rolling updates", () => {
  it("never lets available pods drop below replicas - maxUnavailable nor pods exceed replicas + maxSurge, on any pass", async () => {
    const ref = await cluster();
    const spec = {
      strategy: { type: "RollingUpdate" as const, maxSurge: 3, maxUnavailable: 2 },
    };
    const id = await insertDeployment(f, ref, "wide", 10, v1, { spec });
    await settle(ref, id);
    const v2 = release(v1, "2");
    await applyDeployment(f, id, { template: v2 });
    let least = 10;
    let most = 10;
    for (let pass = 0; pass < 60; pass++) {
      await reconcileCluster(f.deps, ref);
      const available = await availableNow(id);
      least = Math.min(least, available);
      most = Math.max(most, (await live(id)).length);
      expect(available, `pass ${pass}`).toBeGreaterThanOrEqual(8);
      expect((await live(id)).length, `pass ${pass}`).toBeLessThanOrEqual(13);
      if (complete(await deploymentRow(f, id))) break;
      // New pods take a report to become ready after they start.
      await nodeReports(f, ref.clusterId, (p) => p.startedAt !== null);
      f.clock.advance(1_000);
    }
    expect(complete(await deploymentRow(f, id))).toBe(true);
    expect((await live(id)).every((p) => p.templateHash === hashOf(v2))).toBe(true);
    expect(least).toBe(8);
    expect(most).toBe(13);
  });

  it("counts a pod available only once it has been ready for minReadySeconds", async () => {
    const ref = await cluster();
    const spec = {
      minReadySeconds: 30,
      strategy: { type: "RollingUpdate" as const, maxSurge: 1, maxUnavailable: 0 },
    };
    const id = await insertDeployment(f, ref, "slow", 2, v1, { spec });
    await reconcileCluster(f.deps, ref);
    await nodeReports(f, ref.clusterId);
    await reconcileCluster(f.deps, ref);
    expect(await deploymentRow(f, id)).toMatchObject({ readyReplicas: 2, availableReplicas: 0 });
    f.clock.advance(30_000);
    await reconcileCluster(f.deps, ref);
    expect(await deploymentRow(f, id)).toMatchObject({ readyReplicas: 2, availableReplicas: 2 });

    await applyDeployment(f, id, { template: release(v1, "2") });
    await reconcileCluster(f.deps, ref); // one new pod (surge 1)
    await nodeReports(f, ref.clusterId); // it is ready from now
    await reconcileCluster(f.deps, ref);
    expect(await live(id)).toHaveLength(3);
    f.clock.advance(29_000);
    await reconcileCluster(f.deps, ref);
    expect(await live(id)).toHaveLength(3);
    expect(await deploymentRow(f, id)).toMatchObject({ updatedReplicas: 1, availableReplicas: 2 });
    f.clock.advance(1_000);
    await reconcileCluster(f.deps, ref);
    expect(await live(id)).toHaveLength(2);
    expect(await deploymentRow(f, id)).toMatchObject({ availableReplicas: 2, unavailableReplicas: 0 });
  });
});

describe("progress deadline", () => {
  async function badRelease(name: string, autoRollback: boolean) {
    const ref = await cluster();
    const spec = {
      progressDeadlineSeconds: 60,
      autoRollback,
      strategy: { type: "RollingUpdate" as const, maxSurge: 1, maxUnavailable: 1 },
    };
    const id = await insertDeployment(f, ref, name, 4, v1, { spec });
    await settle(ref, id);
    const bad: PodTemplate = release(v1, "broken");
    await applyDeployment(f, id, { template: bad });
    return { ref, id, bad };
  }

  it("reports ProgressDeadlineExceeded and rolls back by itself with autoRollback, never below minimum availability", async () => {
    const { ref, id, bad } = await badRelease("web", true);
    let rolledBackAt = -1;
    for (let pass = 0; pass < 40 && rolledBackAt < 0; pass++) {
      await reconcileCluster(f.deps, ref);
      expect(await availableNow(id), `pass ${pass}`).toBeGreaterThanOrEqual(3);
      if ((await deploymentRow(f, id)).templateHash === hashOf(v1)) rolledBackAt = pass;
      // The bad release's readiness probe never passes.
      await nodeReports(f, ref.clusterId, (p) => p.templateHash !== hashOf(bad));
      f.clock.advance(10_000);
    }
    expect(rolledBackAt).toBeGreaterThan(4);
    const d = await deploymentRow(f, id);
    expect(progressing(d)).toMatchObject({
      status: "False",
      reason: "ProgressDeadlineExceeded",
      message: `ReplicaSet "web-${hashOf(bad)}" has timed out progressing.`,
    });
    const [warning] = await eventsOf(ref.clusterId, "RolledBack");
    expect(warning).toMatchObject({ type: "Warning", objectKind: "Deployment", objectName: "default/web" });
    expect(warning?.message).toContain("to revision 1");
    expect(warning?.message).toContain("did not progress within 60 s");

    const recovered = await settle(ref, id);
    expect(recovered).toMatchObject({ revision: 3, templateHash: hashOf(v1), availableReplicas: 4 });
    expect((await live(id)).every((p) => p.templateHash === hashOf(v1))).toBe(true);
    expect(await eventsOf(ref.clusterId, "RolledBack")).toHaveLength(1);
  });

  it("without autoRollback, stays at ProgressDeadlineExceeded with the old pods serving", async () => {
    const { ref, id, bad } = await badRelease("stuck", false);
    for (let pass = 0; pass < 12; pass++) {
      await reconcileCluster(f.deps, ref);
      await nodeReports(f, ref.clusterId, (p) => p.templateHash !== hashOf(bad));
      f.clock.advance(10_000);
    }
    await reconcileCluster(f.deps, ref);
    const d = await deploymentRow(f, id);
    expect(d.templateHash).toBe(hashOf(bad));
    expect(progressing(d)?.reason).toBe("ProgressDeadlineExceeded");
    expect(d.conditions.find((c) => c.type === "Available")?.status).toBe("True");
    expect(await availableNow(id)).toBe(3);
    expect(await eventsOf(ref.clusterId, "RolledBack")).toHaveLength(0);
  });
});

describe("Recreate", () => {
  it("removes every old pod, and creates the new ones only once the old ones are gone from their node", async () => {
    const ref = await cluster();
    const id = await insertDeployment(f, ref, "batch", 3, v1, {
      spec: { strategy: { type: "Recreate", maxSurge: 0, maxUnavailable: "100%" } },
    });
    await settle(ref, id);
    const v2 = release(v1, "2");
    await applyDeployment(f, id, { template: v2 });
    await reconcileCluster(f.deps, ref);
    let rows = await podsOf(id);
    expect(rows).toHaveLength(3);
    expect(rows.every((p) => p.deletionRequestedAt !== null)).toBe(true);
    await reconcileCluster(f.deps, ref); // the node has not confirmed yet
    expect(await podsOf(id)).toHaveLength(3);
    await nodeReports(f, ref.clusterId); // the old pods are gone
    await reconcileCluster(f.deps, ref);
    rows = await podsOf(id);
    expect(rows.map((p) => p.templateHash)).toEqual(Array(3).fill(hashOf(v2)));
    expect((await settle(ref, id)).revision).toBe(2);
  });
});

describe("deleting a deployment", () => {
  it("stops its pods, then removes its revisions and its row", async () => {
    const ref = await cluster();
    const id = await insertDeployment(f, ref, "gone", 2, v1);
    await settle(ref, id);
    await withSystem(f.deps.db, (tx) =>
      tx.update(deployments).set({ deletedAt: f.clock.now }).where(eq(deployments.id, id)),
    );
    await reconcileCluster(f.deps, ref);
    expect((await podsOf(id)).every((p) => p.deletionRequestedAt !== null)).toBe(true);
    expect(await deploymentRow(f, id)).toBeDefined();
    await nodeReports(f, ref.clusterId);
    await reconcileCluster(f.deps, ref);
    expect(await podsOf(id)).toEqual([]);
    const left = await withSystem(f.deps.db, async (tx) => [
      ...(await tx.select().from(deployments).where(eq(deployments.id, id))),
      ...(await tx.select().from(deploymentRevisions).where(eq(deploymentRevisions.deploymentId, id))),
    ]);
    expect(left).toEqual([]);
  });
});
