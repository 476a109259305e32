import { newId } from "@berth/core";
import { deployments, events, objects, podMetrics, pods, withSystem } from "@berth/db";
import { normaliseHorizontalPodAutoscaler } from "@berth/kube";
import { and, eq, isNull } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { syncAutoscalers } from "../src/jobs/hpa-sync";
import { reconcileCluster } from "../src/jobs/reconcile-cluster";
import {
  createFixture,
  deploymentRow,
  type Fixture,
  insertDeployment,
  insertNode,
  insertTenantAndCluster,
  MiB,
  nodeReports,
  template,
} from "./fixtures";

/**
 * The autoscaler's job against real Postgres: it reads the stored samples of a Deployment's pods,
 * scales through the scale path, keeps its status, conditions and memory on the HPA's row, says
 * every change in an event, and asks for the cluster's reconcile.
 */
let f: Fixture;
beforeAll(async () => {
  f = await createFixture();
});
afterAll(() => f.close());

type Ref = { tenantId: string; clusterId: string };

async function putHpa(ref: Ref, name: string, target: string, utilization: number) {
  const spec = normaliseHorizontalPodAutoscaler({
    spec: {
      scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: target },
      minReplicas: 1,
      maxReplicas: 10,
      metrics: [
        {
          type: "Resource",
          resource: { name: "cpu", target: { type: "Utilization", averageUtilization: utilization } },
        },
      ],
    },
  });
  const id = newId("object");
  await withSystem(f.deps.db, (tx) =>
    tx.insert(objects).values({
      id,
      tenantId: ref.tenantId,
      clusterId: ref.clusterId,
      kind: "HorizontalPodAutoscaler",
      namespace: "default",
      name,
      spec: spec as unknown as Record<string, unknown>,
    }),
  );
  return id;
}

const hpaRow = async (id: string) => {
  const [o] = await withSystem(f.deps.db, (tx) => tx.select().from(objects).where(eq(objects.id, id)));
  return o as typeof objects.$inferSelect;
};
const eventsOf = (uid: string) =>
  withSystem(f.deps.db, (tx) => tx.select().from(events).where(eq(events.objectUid, uid)));

/** A 10 s sample of every live pod of the deployment, ending a second ago, at `millicores`. */
async function sample(ref: Ref, deploymentId: string, millicores: number) {
  const live = await withSystem(f.deps.db, (tx) =>
    tx
      .select()
      .from(pods)
      .where(and(eq(pods.deploymentId, deploymentId), isNull(pods.deletionRequestedAt))),
  );
  await withSystem(f.deps.db, (tx) =>
    tx.insert(podMetrics).values(
      live.map((p) => ({
        tenantId: ref.tenantId,
        clusterId: ref.clusterId,
        podId: p.id,
        ownerId: deploymentId,
        resolution: 0,
        ts: new Date(f.clock.now.getTime() - 1_000),
        windowMs: 10_000,
        cpuNanos: BigInt(millicores * 10_000_000),
        memoryBytes: 10 * MiB,
        memoryByteSeconds: BigInt(100 * MiB),
        rxBytes: 0,
        txBytes: 0,
        restarts: 0,
      })),
    ),
  );
}

describe("the autoscaler's job", () => {
  it("scales a deployment whose pods use twice their target, once, and says so", async () => {
    const ref = await insertTenantAndCluster(f);
    await insertNode(f, ref, "n1", { cpuMillis: 64_000, memoryBytes: 64 * 1024 * MiB, pods: 100 });
    const dep = await insertDeployment(f, ref, "web", 2, template(100, 32 * MiB));
    await reconcileCluster(f.deps, ref);
    await nodeReports(f, ref.clusterId);
    const hpa = await putHpa(ref, "web", "web", 50);
    await sample(ref, dep, 100);

    const first = await syncAutoscalers(f.deps);
    expect(first).toMatchObject({ scaled: 1, failed: 0 });
    // 100 % of requests against 50 %: twice the pods.
    expect((await deploymentRow(f, dep)).replicas).toBe(4);
    const status = (await hpaRow(hpa)).status as Record<string, unknown>;
    expect(status).toMatchObject({
      desiredReplicas: 4,
      lastScaleTime: f.clock.now.toISOString(),
      currentMetrics: [
        {
          type: "Resource",
          resource: { name: "cpu", current: { averageUtilization: 100, averageValue: "100m" } },
        },
      ],
    });
    expect((status.conditions as { type: string; reason: string }[]).map((c) => [c.type, c.reason])).toEqual([
      ["AbleToScale", "SucceededRescale"],
      ["ScalingActive", "ValidMetricFound"],
      ["ScalingLimited", "DesiredWithinRange"],
    ]);
    expect((await eventsOf(hpa)).map((e) => [e.reason, e.message])).toEqual([
      [
        "SuccessfulRescale",
        "New size: 4; reason: cpu resource utilization (percentage of request) above target",
      ],
    ]);
    expect((await eventsOf(dep)).filter((e) => e.reason === "Scaled").map((e) => e.message)).toEqual([
      "scaled from 2 to 4 replicas",
    ]);
    const waiting = await f.deps.queues.get("reconcile").getJobs(["waiting", "prioritized", "delayed"]);
    expect(waiting.some((j) => j.data.clusterId === ref.clusterId)).toBe(true);

    // The new pods have no sample yet: counted at 0 % when scaling up, the usage is on target.
    await reconcileCluster(f.deps, ref);
    await nodeReports(f, ref.clusterId);
    f.clock.advance(1_000);
    expect(await syncAutoscalers(f.deps)).toMatchObject({ scaled: 0 });
    expect((await deploymentRow(f, dep)).replicas).toBe(4);
    expect((await eventsOf(hpa)).length).toBe(1);
    const again = (await hpaRow(hpa)).status as { conditions: { type: string; reason: string }[] };
    expect(again.conditions.find((c) => c.type === "AbleToScale")?.reason).toBe("ReadyForNewScale");
  });

  it("says it cannot find its target, and leaves every other deployment alone", async () => {
    const ref = await insertTenantAndCluster(f);
    const other = await insertDeployment(f, ref, "other", 3, template(100, 32 * MiB));
    const hpa = await putHpa(ref, "lost", "nope", 50);
    await syncAutoscalers(f.deps);
    const status = (await hpaRow(hpa)).status as {
      conditions: { type: string; status: string; reason: string }[];
    };
    expect(status.conditions).toEqual([
      expect.objectContaining({ type: "AbleToScale", status: "False", reason: "FailedGetScale" }),
    ]);
    expect((await eventsOf(hpa)).map((e) => [e.type, e.reason])).toEqual([["Warning", "FailedGetScale"]]);
    const [d] = await withSystem(f.deps.db, (tx) =>
      tx.select().from(deployments).where(eq(deployments.id, other)),
    );
    expect(d?.replicas).toBe(3);
  });
});
