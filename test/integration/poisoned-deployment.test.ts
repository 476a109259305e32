import { newId } from "@berth/core";
import { deployments, withSystem } from "@berth/db";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Platform, startPlatform } from "./harness";

/**
 * The probe that stalled a cluster: a deployment whose pods overflow a 32-bit column, written
 * straight into the database (admission refuses it now). The real control loop keeps reconciling
 * the cluster's other deployments, and the bad one says why on its status.
 */
let p: Platform;
let token: string;
let clusterId: string;
let credential: string;

const get = (name: string) =>
  p.api.call("GET", `/v1/clusters/${clusterId}/deployments/default/${name}`, { token });

beforeAll(async () => {
  p = await startPlatform();
  ({ token } = await p.api.tenant("poison"));
  clusterId = await p.activeCluster(token, "c");
  const jt = await p.api.call("POST", `/v1/clusters/${clusterId}/join-tokens`, { token });
  const joined = await p.api.call("POST", "/v1/nodes/join", {
    body: {
      joinToken: jt.body.token,
      name: "n1",
      capacity: { cpuMillis: 4000, memoryBytes: 8 * 1024 ** 3, pods: 20 },
      portRange: { min: 30000, max: 30050 },
      address: "127.0.0.1",
    },
  });
  credential = joined.body.credential;
});
afterAll(() => p.close());

describe("a cluster with a poisoned deployment", () => {
  it("keeps reconciling its other deployments, and shows ReplicaFailure on the poisoned one", async () => {
    const put = await p.api.call("PUT", `/v1/clusters/${clusterId}/deployments/default/web`, {
      token,
      body: {
        spec: { replicas: 2, template: { spec: { containers: [{ name: "w", image: "localhost/x" }] } } },
      },
    });
    expect(put.status, put.text).toBe(200);
    await withSystem(p.api.deps.db, async (tx) => {
      const [web] = await tx.select().from(deployments).where(eq(deployments.name, "web"));
      if (!web) throw new Error("web is missing");
      const containers = web.template.containers.map((c) => ({
        ...c,
        resources: { ...c.resources, cpuMillis: 2_147_484_000 },
      }));
      await tx.insert(deployments).values({
        ...web,
        id: newId("deployment"),
        name: "poison",
        template: { ...web.template, containers },
        templateHash: "poisoned00",
        observedGeneration: 0,
      });
    });
    await p.api.call("PUT", `/v1/clusters/${clusterId}/deployments/default/later`, {
      token,
      body: {
        spec: { replicas: 1, template: { spec: { containers: [{ name: "w", image: "localhost/x" }] } } },
      },
    });

    // The node agent reports every pod it was given running and ready.
    const placed = await p.waitFor("3 pods placed on n1", async () => {
      const r = await p.api.call("POST", "/v1/nodes/sync", { token: credential, body: { pods: [] } });
      const run = (r.body.pods as { podId: string; action: string }[]).filter((x) => x.action === "run");
      return run.length === 3 && run;
    });
    await p.api.call("POST", "/v1/nodes/sync", {
      token: credential,
      body: { pods: placed.map((x) => ({ podId: x.podId, state: "running", restarts: 0, ready: true })) },
    });
    await p.waitFor("web ready", async () => (await get("web")).body.status.readyReplicas === 2);
    await p.waitFor("later ready", async () => (await get("later")).body.status.readyReplicas === 1);

    const poison = await get("poison");
    expect(poison.status).toBe(200);
    expect(poison.body.status.conditions).toEqual([
      {
        type: "ReplicaFailure",
        status: "True",
        reason: "ReconcileError",
        message: 'reconciling failed: value "2147484000" is out of range for type integer',
        lastTransitionTime: expect.any(String),
      },
    ]);
    expect(poison.body.status.replicas).toBe(0);
    const events = await p.api.call("GET", `/v1/clusters/${clusterId}/events`, { token });
    expect(
      events.body.items.filter(
        (e: { object: string; type: string }) =>
          e.object === "Deployment/default/poison" && e.type === "Warning",
      ),
    ).toHaveLength(1);

    // Passes keep completing (the sweep enqueues one every 500 ms): no job is failing and retrying.
    await new Promise((r) => setTimeout(r, 2_000));
    const counts = await p.api.deps.queues.get("reconcile").getJobCounts("failed", "delayed");
    expect(counts).toEqual({ failed: 0, delayed: 0 });
    expect((await get("poison")).body.status.conditions[0].lastTransitionTime).toBe(
      poison.body.status.conditions[0].lastTransitionTime,
    );
  });
});
