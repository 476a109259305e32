import { events, nodes, objects, pods, withSystem } from "@berth/db";
import { and, asc, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { JobStatus } from "../src/controllers/job-status";
import { reconcileCluster } from "../src/jobs/reconcile-cluster";
import { createFixture, type Fixture, insertNode, insertTenantAndCluster, MiB } from "./fixtures";
import {
  finishPods,
  insertJob,
  objectRow,
  openMeters,
  podsGone,
  podsOwnedBy,
  runPods,
} from "./workload-fixtures";

/**
 * Jobs as Kubernetes' job controller runs them, pass by pass, the node's reports written as
 * node-sync writes them: parallelism and completions, failures and backoffLimit, the back-off
 * before failed pods are replaced, activeDeadlineSeconds, suspend, TTL after finishing, deletion.
 */
let f: Fixture;
beforeAll(async () => {
  f = await createFixture();
});
afterAll(() => f.close());

type Ref = { tenantId: string; clusterId: string };

async function cluster(): Promise<Ref & { nodeId: string }> {
  const ref = await insertTenantAndCluster(f);
  const nodeId = await insertNode(f, ref, "n1", { cpuMillis: 16_000, memoryBytes: 16 * 1024 * MiB });
  return { ...ref, nodeId };
}

const pass = (ref: Ref) => reconcileCluster(f.deps, ref);
const statusOf = async (id: string) => (await objectRow(f, id))?.status as unknown as JobStatus;
const active = async (id: string) =>
  (await podsOwnedBy(f, id)).filter(
    (p) => p.phase !== "Succeeded" && p.phase !== "Failed" && !p.deletionRequestedAt,
  );
const jobEvents = (clusterId: string, name: string) =>
  withSystem(f.deps.db, (tx) =>
    tx
      .select()
      .from(events)
      .where(
        and(
          eq(events.clusterId, clusterId),
          eq(events.objectKind, "Job"),
          eq(events.objectName, `default/${name}`),
        ),
      )
      .orderBy(asc(events.createdAt)),
  );

describe("a Job", () => {
  it("of 5 completions with parallelism 2 completes though one pod fails once (succeeded 5, failed 1)", async () => {
    const ref = await cluster();
    const id = await insertJob(f, ref, "batch", { completions: 5, parallelism: 2 });
    const first = await pass(ref);
    expect(first).toMatchObject({ created: 2, placed: 2 });
    const [a, b] = await podsOwnedBy(f, id);
    expect(a?.name).toMatch(/^batch-[a-z0-9]{5}$/);
    expect(a).toMatchObject({
      ownerKind: "Job",
      ownerId: id,
      deploymentId: null,
      nodeId: ref.nodeId,
      finalizers: ["batch.kubernetes.io/job-tracking"],
      labels: {
        "job-name": "batch",
        "controller-uid": id,
        "batch.kubernetes.io/job-name": "batch",
        "batch.kubernetes.io/controller-uid": id,
      },
    });
    expect(await statusOf(id)).toMatchObject({ active: 2, ready: 0, succeeded: 0, failed: 0 });
    expect((await statusOf(id)).startTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    await runPods(f, id);
    await pass(ref);
    expect(await statusOf(id)).toMatchObject({ active: 2, ready: 2 });

    // One pod fails: it is not replaced until the 10 s back-off has passed.
    f.clock.advance(5_000);
    await finishPods(f, [a?.id ?? ""], "Failed");
    await pass(ref);
    expect(await statusOf(id)).toMatchObject({ active: 1, succeeded: 0, failed: 1 });
    f.clock.advance(9_000);
    await pass(ref);
    expect((await active(id)).map((p) => p.id)).toEqual([b?.id]);
    f.clock.advance(1_000);
    await pass(ref);
    expect(await active(id)).toHaveLength(2);

    for (let round = 0; round < 4 && (await active(id)).length > 0; round++) {
      await runPods(f, id);
      f.clock.advance(5_000);
      await finishPods(
        f,
        (await active(id)).map((p) => p.id),
        "Succeeded",
      );
      await pass(ref);
    }
    const status = await statusOf(id);
    expect(status).toMatchObject({ active: 0, ready: 0, succeeded: 5, failed: 1 });
    expect(status.completionTime).toBeDefined();
    expect(status.conditions).toEqual([
      {
        type: "Complete",
        status: "True",
        reason: "CompletionsReached",
        message: "Reached expected number of succeeded pods",
        lastProbeTime: status.completionTime,
        lastTransitionTime: status.completionTime,
      },
    ]);
    // The finished pods stay, counted once (no finalizer left), their metering ended.
    const rows = await podsOwnedBy(f, id);
    expect(rows.filter((p) => p.phase === "Succeeded")).toHaveLength(5);
    expect(rows.filter((p) => p.phase === "Failed")).toHaveLength(1);
    expect(rows.every((p) => p.finalizers.length === 0)).toBe(true);
    expect(
      await openMeters(
        f,
        rows.map((p) => p.id),
      ),
    ).toEqual([]);
    const reasons = (await jobEvents(ref.clusterId, "batch")).map((e) => e.reason);
    expect(reasons.filter((r) => r === "SuccessfulCreate")).toHaveLength(6);
    expect(reasons.at(-1)).toBe("Completed");

    // A finished Job stays as it is.
    await pass(ref);
    expect(await statusOf(id)).toEqual(status);
  });

  it("fails with BackoffLimitExceeded once more pods failed than backoffLimit", async () => {
    const ref = await cluster();
    const id = await insertJob(f, ref, "flaky", { backoffLimit: 1 });
    for (let attempt = 0; attempt < 2; attempt++) {
      await pass(ref);
      await runPods(f, id);
      await finishPods(
        f,
        (await active(id)).map((p) => p.id),
        "Failed",
      );
      f.clock.advance(60_000);
    }
    await pass(ref);
    const status = await statusOf(id);
    expect(status).toMatchObject({ active: 0, succeeded: 0, failed: 2 });
    expect(status.conditions).toMatchObject([
      {
        type: "Failed",
        status: "True",
        reason: "BackoffLimitExceeded",
        message: "Job has reached the specified backoff limit",
      },
    ]);
    const warning = (await jobEvents(ref.clusterId, "flaky")).find(
      (e) => e.reason === "BackoffLimitExceeded",
    );
    expect(warning?.type).toBe("Warning");
    await pass(ref);
    expect(await podsOwnedBy(f, id)).toHaveLength(2);
  });

  it("with restartPolicy OnFailure counts its containers' restarts against backoffLimit", async () => {
    const ref = await cluster();
    const id = await insertJob(f, ref, "restarts", {
      backoffLimit: 2,
      template: { spec: { containers: [{ name: "w", image: "localhost/x" }], restartPolicy: "OnFailure" } },
    });
    await pass(ref);
    await runPods(f, id);
    await withSystem(f.deps.db, (tx) => tx.update(pods).set({ restarts: 2 }).where(eq(pods.ownerId, id)));
    await pass(ref);
    expect((await statusOf(id)).conditions[0]).toMatchObject({
      type: "Failed",
      reason: "BackoffLimitExceeded",
    });
    expect((await podsOwnedBy(f, id)).every((p) => p.deletionRequestedAt !== null)).toBe(true);
  });

  it("fails with DeadlineExceeded after activeDeadlineSeconds, its running pods stopped and counted failed", async () => {
    const ref = await cluster();
    const id = await insertJob(f, ref, "slow", { activeDeadlineSeconds: 30, parallelism: 2, completions: 4 });
    await pass(ref);
    await runPods(f, id);
    f.clock.advance(29_000);
    await pass(ref);
    expect((await statusOf(id)).conditions).toEqual([]);
    f.clock.advance(1_000);
    await pass(ref);
    const status = await statusOf(id);
    expect(status).toMatchObject({ active: 0, failed: 2, succeeded: 0 });
    expect(status.conditions[0]).toMatchObject({
      type: "Failed",
      reason: "DeadlineExceeded",
      message: "Job was active longer than specified deadline",
    });
    expect((await podsOwnedBy(f, id)).every((p) => p.deletionRequestedAt !== null)).toBe(true);
    expect(
      (await jobEvents(ref.clusterId, "slow")).filter((e) => e.reason === "SuccessfulDelete"),
    ).toHaveLength(2);
  });

  it("is deleted with its pods ttlSecondsAfterFinished after it finished", async () => {
    const ref = await cluster();
    const id = await insertJob(f, ref, "once", { ttlSecondsAfterFinished: 60 });
    await pass(ref);
    await runPods(f, id);
    await finishPods(
      f,
      (await active(id)).map((p) => p.id),
      "Succeeded",
    );
    await pass(ref);
    expect((await statusOf(id)).conditions[0]?.type).toBe("Complete");
    f.clock.advance(59_000);
    await pass(ref);
    expect((await objectRow(f, id))?.deletionTimestamp).toBeNull();
    f.clock.advance(1_000);
    await pass(ref);
    expect((await objectRow(f, id))?.deletionTimestamp).not.toBeNull();
    expect((await podsOwnedBy(f, id)).every((p) => p.deletionRequestedAt !== null)).toBe(true);
    await podsGone(f, ref.clusterId);
    await pass(ref);
    expect(await objectRow(f, id)).toBeUndefined();
    expect(await podsOwnedBy(f, id)).toEqual([]);
  });

  it("suspended, runs no pod and says so; resumed, starts again with a new startTime", async () => {
    const ref = await cluster();
    const id = await insertJob(f, ref, "later", { suspend: true });
    await pass(ref);
    expect(await podsOwnedBy(f, id)).toEqual([]);
    expect((await statusOf(id)).conditions).toMatchObject([
      { type: "Suspended", status: "True", reason: "JobSuspended", message: "Job suspended" },
    ]);
    const o = await objectRow(f, id);
    await withSystem(f.deps.db, (tx) =>
      tx
        .update(objects)
        .set({ spec: { ...o?.spec, suspend: false } })
        .where(eq(objects.id, id)),
    );
    f.clock.advance(5_000);
    await pass(ref);
    expect(await active(id)).toHaveLength(1);
    const status = await statusOf(id);
    expect(status.conditions).toMatchObject([
      { type: "Suspended", status: "False", reason: "JobResumed", message: "Job resumed" },
    ]);
    expect(Date.parse(status.startTime ?? "")).toBe(Math.floor(f.clock.now.getTime() / 1000) * 1000);
  });

  it("deleted, loses its pods, then its row", async () => {
    const ref = await cluster();
    const id = await insertJob(f, ref, "bye", { parallelism: 3, completions: 3 });
    await pass(ref);
    await runPods(f, id);
    await withSystem(f.deps.db, (tx) =>
      tx.update(objects).set({ deletionTimestamp: f.clock.now }).where(eq(objects.id, id)),
    );
    await pass(ref);
    expect(await objectRow(f, id)).toBeDefined();
    expect((await podsOwnedBy(f, id)).every((p) => p.deletionRequestedAt !== null)).toBe(true);
    await podsGone(f, ref.clusterId);
    await pass(ref);
    expect(await objectRow(f, id)).toBeUndefined();
  });

  it("counts a pod of a lost node as failed (NodeLost) and replaces it", async () => {
    const ref = await cluster();
    const id = await insertJob(f, ref, "lost", { backoffLimit: 3 });
    await pass(ref);
    await runPods(f, id);
    await withSystem(f.deps.db, (tx) =>
      tx.update(nodes).set({ status: "not_ready" }).where(eq(nodes.id, ref.nodeId)),
    );
    f.clock.advance(f.deps.timings.podEvictionMs + 1);
    await insertNode(f, ref, "n2", { cpuMillis: 16_000, memoryBytes: 16 * 1024 * MiB });
    await pass(ref);
    const rows = await podsOwnedBy(f, id);
    expect(rows[0]).toMatchObject({ phase: "Failed", reason: "NodeLost" });
    expect(await statusOf(id)).toMatchObject({ failed: 1 });
    f.clock.advance(10_000);
    await pass(ref);
    expect(await active(id)).toHaveLength(1);
  });
});
