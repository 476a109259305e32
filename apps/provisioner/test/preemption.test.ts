import { newId } from "@berth/core";
import { deployments, events, objects, type PodTemplate, pods, withSystem } from "@berth/db";
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { reconcileCluster } from "../src/jobs/reconcile-cluster";
import {
  applyDeployment,
  createFixture,
  type Fixture,
  insertDeployment,
  insertNode,
  insertTenantAndCluster,
  MiB,
  nodeReports,
  template,
} from "./fixtures";

let f: Fixture;
beforeAll(async () => {
  f = await createFixture();
});
afterAll(() => f.close());

const rowsOf = (clusterId: string) =>
  withSystem(f.deps.db, (tx) => tx.select().from(pods).where(eq(pods.clusterId, clusterId)));
const podEvents = (clusterId: string, reason: string) =>
  withSystem(f.deps.db, (tx) =>
    tx
      .select()
      .from(events)
      .where(and(eq(events.clusterId, clusterId), eq(events.reason, reason))),
  );

function app(name: string, priority: number, more: Partial<PodTemplate> = {}): PodTemplate {
  return {
    ...template(900, 64 * MiB),
    metadata: { labels: { app: name }, annotations: {} },
    priority,
    ...more,
  };
}

/** One node of 2 cores running two 900m pods of a low-priority deployment, all ready. */
async function fullNode() {
  const ref = await insertTenantAndCluster(f);
  await insertNode(f, ref, "n1", { cpuMillis: 2000, memoryBytes: 4096 * MiB });
  await insertDeployment(f, ref, "batch", 2, app("batch", 0));
  expect(await reconcileCluster(f.deps, ref)).toMatchObject({ placed: 2 });
  await nodeReports(f, ref.clusterId);
  return ref;
}

async function budget(ref: { tenantId: string; clusterId: string }, spec: Record<string, unknown>) {
  await withSystem(f.deps.db, (tx) =>
    tx.insert(objects).values({
      id: newId("object"),
      tenantId: ref.tenantId,
      clusterId: ref.clusterId,
      kind: "PodDisruptionBudget",
      namespace: "default",
      name: "batch",
      spec,
    }),
  );
}

describe("preemption", () => {
  it("deletes a lower-priority pod gracefully, nominates its node, then places the pod there", async () => {
    const ref = await fullNode();
    await insertDeployment(f, ref, "api", 1, app("api", 100));
    const first = await reconcileCluster(f.deps, ref);
    expect(first).toMatchObject({ created: 1, placed: 0, preempted: 1 });
    let rows = await rowsOf(ref.clusterId);
    const api = rows.find((p) => p.labels.app === "api");
    expect(api?.nodeId).toBeNull();
    expect(api?.nominatedNodeName).toBe("n1");
    expect(api?.message).toBe("0/1 nodes are available: 1 Insufficient cpu.");
    // The victim is stopping, not gone: its node stops it with its grace period.
    const victims = rows.filter((p) => p.labels.app === "batch" && p.deletionRequestedAt !== null);
    expect(victims).toHaveLength(1);
    const victim = victims[0];
    expect(victim?.nodeId).not.toBeNull();
    const preempted = await podEvents(ref.clusterId, "Preempted");
    expect(preempted.map((e) => [e.objectName, e.message])).toEqual([
      [`default/${victim?.name}`, `Preempted by pod ${api?.id} on node n1`],
    ]);

    // While the victim is still stopping, the pod keeps its nomination and preempts nobody else.
    expect(await reconcileCluster(f.deps, ref)).toMatchObject({ placed: 0, preempted: 0 });
    rows = await rowsOf(ref.clusterId);
    expect(rows.find((p) => p.id === api?.id)?.nominatedNodeName).toBe("n1");
    expect(rows.filter((p) => p.deletionRequestedAt !== null)).toHaveLength(1);

    // The node reports the victim gone: the pod is placed on its node, the nomination cleared.
    await nodeReports(f, ref.clusterId);
    expect(await reconcileCluster(f.deps, ref)).toMatchObject({ placed: 1, preempted: 0 });
    rows = await rowsOf(ref.clusterId);
    const placed = rows.find((p) => p.id === api?.id);
    expect(placed?.nodeId).not.toBeNull();
    expect(placed?.nominatedNodeName).toBeNull();
    // The batch deployment's replacement waits: it may not preempt the pod that outranks it.
    const waiting = rows.filter((p) => p.labels.app === "batch" && p.nodeId === null);
    expect(waiting).toHaveLength(1);
    expect(waiting[0]?.nominatedNodeName).toBeNull();
    expect(rows.filter((p) => p.labels.app === "batch" && p.nodeId !== null)).toHaveLength(1);
  });

  it("never takes a PodDisruptionBudget below zero", async () => {
    const ref = await fullNode();
    await budget(ref, { minAvailable: 2, selector: { matchLabels: { app: "batch" } } });
    await insertDeployment(f, ref, "api", 1, app("api", 100));
    expect(await reconcileCluster(f.deps, ref)).toMatchObject({ placed: 0, preempted: 0, unschedulable: 1 });
    const rows = await rowsOf(ref.clusterId);
    expect(rows.filter((p) => p.deletionRequestedAt !== null)).toHaveLength(0);
    expect(rows.find((p) => p.labels.app === "api")?.nominatedNodeName).toBeNull();
  });

  it("takes one pod when the budget allows one disruption", async () => {
    const ref = await fullNode();
    await budget(ref, { maxUnavailable: 1, selector: { matchLabels: { app: "batch" } } });
    await insertDeployment(f, ref, "api", 1, app("api", 100));
    expect(await reconcileCluster(f.deps, ref)).toMatchObject({ preempted: 1 });
  });

  it("does not preempt for a pod whose preemptionPolicy is Never, nor for an equal priority", async () => {
    const ref = await fullNode();
    await insertDeployment(f, ref, "polite", 1, app("polite", 100, { preemptionPolicy: "Never" }));
    await insertDeployment(f, ref, "peer", 1, app("peer", 0));
    expect(await reconcileCluster(f.deps, ref)).toMatchObject({ placed: 0, preempted: 0, unschedulable: 2 });
    const rows = await rowsOf(ref.clusterId);
    expect(rows.filter((p) => p.deletionRequestedAt !== null)).toHaveLength(0);
  });

  it("never picks as a victim a pod its controller removed earlier in the same pass", async () => {
    const ref = await fullNode();
    const [batch] = await withSystem(f.deps.db, (tx) =>
      tx.select().from(deployments).where(eq(deployments.clusterId, ref.clusterId)),
    );
    if (!batch) throw new Error("no deployment");
    // One pass: the batch deployment scales down to 1 (one pod stopping) and api arrives.
    await applyDeployment(f, batch.id, { replicas: 1 });
    await insertDeployment(f, ref, "api", 1, app("api", 100));
    const result = await reconcileCluster(f.deps, ref);
    expect(result).toMatchObject({ removed: 1 });
    const preempted = await podEvents(ref.clusterId, "Preempted");
    const [deleted] = await podEvents(ref.clusterId, "SuccessfulDelete");
    const scaledDown = deleted?.message.replace(/^Deleted pod: /, "");
    expect(scaledDown).toMatch(/^batch-/);
    // The preemption took the pod still running, not the one already stopping.
    expect(preempted.map((e) => e.objectName)).toHaveLength(1);
    expect(preempted[0]?.objectName).not.toBe(`default/${scaledDown}`);
    const rows = await rowsOf(ref.clusterId);
    expect(rows.filter((p) => p.labels.app === "batch" && p.deletionRequestedAt !== null)).toHaveLength(2);
    expect(preempted.length).toBe(result.preempted);
  });
});
