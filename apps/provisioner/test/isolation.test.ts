import { type Condition, deployments, events, type PodTemplate, pods, withSystem } from "@berth/db";
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { reconcileCluster } from "../src/jobs/reconcile-cluster";
import {
  createFixture,
  type Fixture,
  insertDeployment,
  insertNode,
  insertTenantAndCluster,
  MiB,
  template,
} from "./fixtures";

/**
 * One bad object cannot stall a cluster: deployment rows written straight into the database, past
 * admission, fail their own step; the other deployments of the cluster are reconciled anyway.
 */
let f: Fixture;
beforeAll(async () => {
  f = await createFixture();
});
afterAll(() => f.close());

const deployment = async (id: string) => {
  const [d] = await withSystem(f.deps.db, (tx) =>
    tx.select().from(deployments).where(eq(deployments.id, id)),
  );
  return d;
};
const replicaFailure = (d: { conditions: Condition[] } | undefined) =>
  d?.conditions.find((c) => c.type === "ReplicaFailure");
const podsOf = (id: string) =>
  withSystem(f.deps.db, (tx) => tx.select().from(pods).where(eq(pods.deploymentId, id)));
const warnings = (clusterId: string, name: string) =>
  withSystem(f.deps.db, (tx) =>
    tx
      .select()
      .from(events)
      .where(and(eq(events.clusterId, clusterId), eq(events.objectName, name), eq(events.type, "Warning"))),
  );

describe("a poisoned deployment", () => {
  it("fails alone: the cluster's other deployments reach their replicas, it carries ReplicaFailure", async () => {
    const ref = await insertTenantAndCluster(f);
    await insertNode(f, ref, "n1", { cpuMillis: 4000, memoryBytes: 4096 * MiB });
    const good = await insertDeployment(f, ref, "web", 3, template(100, 32 * MiB));
    // 2147484 CPUs: the pod row's 32-bit cpu column overflows (the probe admission now refuses).
    const overflow = await insertDeployment(f, ref, "overflow", 1, template(2_147_484_000, 32 * MiB));
    const broken = await insertDeployment(f, ref, "broken", 1, {
      ...template(100, 32 * MiB),
      containers: null,
    } as unknown as PodTemplate);
    const after = await insertDeployment(f, ref, "zzz", 2, template(100, 32 * MiB));

    const result = await reconcileCluster(f.deps, ref);
    expect(result).toMatchObject({ created: 5, placed: 5, unschedulable: 0 });
    expect(await podsOf(good)).toHaveLength(3);
    expect(await podsOf(after)).toHaveLength(2);
    expect(await podsOf(overflow)).toEqual([]);
    expect(await podsOf(broken)).toEqual([]);

    // The agent reports the pods ready; the next pass sees the good deployments complete.
    await withSystem(f.deps.db, (tx) =>
      tx.update(pods).set({ ready: true, phase: "Running" }).where(eq(pods.clusterId, ref.clusterId)),
    );
    await reconcileCluster(f.deps, ref);
    expect(await deployment(good)).toMatchObject({ readyReplicas: 3, updatedReplicas: 3 });
    expect(await deployment(after)).toMatchObject({ readyReplicas: 2 });
    expect(replicaFailure(await deployment(good))).toBeUndefined();
    expect(replicaFailure(await deployment(after))).toBeUndefined();

    const o = await deployment(overflow);
    expect(o?.conditions).toEqual([
      {
        type: "ReplicaFailure",
        status: "True",
        reason: "ReconcileError",
        message: expect.stringMatching(
          /^reconciling failed: value "2147484000" is out of range for type integer$/,
        ),
        lastTransitionTime: f.clock.now.toISOString(),
      },
    ]);
    expect(o?.observedGeneration).toBe(0);
    expect((await deployment(broken))?.conditions[0]).toMatchObject({
      type: "ReplicaFailure",
      status: "True",
      message: expect.stringMatching(/^reconciling failed: /),
    });
    const w = await warnings(ref.clusterId, "default/overflow");
    expect(w).toHaveLength(1);
    expect(w[0]).toMatchObject({ objectKind: "Deployment", reason: "ReconcileError" });
  });

  it("keeps the condition's transition time and writes no new event while it keeps failing", async () => {
    const ref = await insertTenantAndCluster(f);
    await insertNode(f, ref, "n1", { cpuMillis: 4000, memoryBytes: 4096 * MiB });
    const bad = await insertDeployment(f, ref, "bad", 1, template(2_147_484_000, 32 * MiB));
    await reconcileCluster(f.deps, ref);
    const first = (await deployment(bad))?.conditions[0] as Condition;
    f.clock.advance(60_000);
    await reconcileCluster(f.deps, ref);
    await reconcileCluster(f.deps, ref);
    expect((await deployment(bad))?.conditions).toEqual([first]);
    expect(await warnings(ref.clusterId, "default/bad")).toHaveLength(1);
  });

  it("clears the condition once the deployment reconciles again", async () => {
    const ref = await insertTenantAndCluster(f);
    await insertNode(f, ref, "n1", { cpuMillis: 4000, memoryBytes: 4096 * MiB });
    const bad = await insertDeployment(f, ref, "mended", 2, template(2_147_484_000, 32 * MiB));
    await reconcileCluster(f.deps, ref);
    expect((await deployment(bad))?.conditions).toHaveLength(1);
    await withSystem(f.deps.db, (tx) =>
      tx
        .update(deployments)
        .set({ template: template(100, 32 * MiB), generation: 2 })
        .where(eq(deployments.id, bad)),
    );
    await reconcileCluster(f.deps, ref);
    expect(replicaFailure(await deployment(bad))).toBeUndefined();
    expect(await deployment(bad)).toMatchObject({
      observedGeneration: 2,
      updatedReplicas: 2,
    });
    expect(await podsOf(bad)).toHaveLength(2);
  });

  it("leaves a pending pod with a broken template unschedulable with the reason, and places the others", async () => {
    const ref = await insertTenantAndCluster(f);
    await insertNode(f, ref, "n1", { cpuMillis: 4000, memoryBytes: 4096 * MiB });
    const good = await insertDeployment(f, ref, "good", 1, template(100, 32 * MiB));
    const odd = await insertDeployment(f, ref, "odd", 1, template(100, 32 * MiB));
    await reconcileCluster(f.deps, ref);
    // A pod row broken after it was created (admission and the deployment step both bypassed).
    await withSystem(f.deps.db, async (tx) => {
      await tx.update(pods).set({ nodeId: null }).where(eq(pods.clusterId, ref.clusterId));
      await tx
        .update(pods)
        .set({ template: { ...template(100, 32 * MiB), nodeSelector: null } as unknown as PodTemplate })
        .where(eq(pods.deploymentId, odd));
    });
    const result = await reconcileCluster(f.deps, ref);
    expect(result).toMatchObject({ placed: 1, unschedulable: 1 });
    expect((await podsOf(good))[0]?.nodeId).not.toBeNull();
    expect((await podsOf(odd))[0]).toMatchObject({
      nodeId: null,
      reason: "Unschedulable",
      message: "invalid pod spec: nodeSelector is not a map of strings",
    });
  });
});
