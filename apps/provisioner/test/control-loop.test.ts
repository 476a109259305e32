import { clusters, deployments, meterIntervals, nodes, pods, withSystem } from "@berth/db";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deleteCluster } from "../src/jobs/delete-cluster";
import { provisionCluster } from "../src/jobs/provision-cluster";
import { reconcileCluster } from "../src/jobs/reconcile-cluster";
import { sweep } from "../src/jobs/sweep";
import {
  createFixture,
  type Fixture,
  insertDeployment,
  insertNode,
  insertTenantAndCluster,
  MiB,
  template,
} from "./fixtures";

let f: Fixture;
beforeAll(async () => {
  f = await createFixture();
});
afterAll(() => f.close());

const allPods = (clusterId: string) =>
  withSystem(f.deps.db, (tx) => tx.select().from(pods).where(eq(pods.clusterId, clusterId)));

describe("cluster provisioning", () => {
  it("meters a dev-tier cluster on the free dev meter, a standard one on cluster_hours", async () => {
    const dev = await insertTenantAndCluster(f, "provisioning");
    const standard = await insertTenantAndCluster(f, "provisioning");
    await withSystem(f.deps.db, (tx) =>
      tx.update(clusters).set({ tier: "dev" }).where(eq(clusters.id, dev.clusterId)),
    );
    await provisionCluster(f.deps, dev);
    await provisionCluster(f.deps, standard);
    const meterOf = async (id: string) =>
      (
        await withSystem(f.deps.db, (tx) =>
          tx.select().from(meterIntervals).where(eq(meterIntervals.subjectId, id)),
        )
      ).map((m) => m.meter);
    expect(await meterOf(dev.clusterId)).toEqual(["cluster_dev_hours"]);
    expect(await meterOf(standard.clusterId)).toEqual(["cluster_hours"]);
  });

  it("activates a cluster once, with its own encrypted key and one open meter, however often it runs", async () => {
    const ref = await insertTenantAndCluster(f, "provisioning");
    await provisionCluster(f.deps, ref);
    const [first] = await withSystem(f.deps.db, (tx) =>
      tx.select().from(clusters).where(eq(clusters.id, ref.clusterId)),
    );
    await provisionCluster(f.deps, ref);
    const [second] = await withSystem(f.deps.db, (tx) =>
      tx.select().from(clusters).where(eq(clusters.id, ref.clusterId)),
    );
    expect(first?.status).toBe("active");
    expect(first?.signingKeyEnc).toMatch(/^v1\./);
    expect(first?.signingKeyEnc).not.toContain("PRIVATE KEY");
    expect(second?.signingKid).toBe(first?.signingKid);
    const meters = await withSystem(f.deps.db, (tx) =>
      tx.select().from(meterIntervals).where(eq(meterIntervals.subjectId, ref.clusterId)),
    );
    expect(meters).toHaveLength(1);
  });
});

describe("placing pods", () => {
  it("places replicas within each node's capacity and leaves the rest Pending with a reason", async () => {
    const ref = await insertTenantAndCluster(f);
    await insertNode(f, ref, "small-a", { cpuMillis: 1000, memoryBytes: 256 * MiB });
    await insertNode(f, ref, "small-b", { cpuMillis: 1000, memoryBytes: 256 * MiB });
    // Each node fits three pods of 64Mi+ (3 × 80 Mi = 240 Mi); eight are asked for.
    await insertDeployment(f, ref, "web", 8, template(100, 80 * MiB));
    const result = await reconcileCluster(f.deps, ref);
    expect(result).toMatchObject({ created: 8, placed: 6, unschedulable: 2 });
    const rows = await allPods(ref.clusterId);
    const perNode = new Map<string, number>();
    for (const p of rows) if (p.nodeId) perNode.set(p.nodeId, (perNode.get(p.nodeId) ?? 0) + p.memoryBytes);
    for (const used of perNode.values()) expect(used).toBeLessThanOrEqual(256 * MiB);
    const pending = rows.filter((p) => !p.nodeId);
    expect(pending).toHaveLength(2);
    expect(pending[0]?.reason).toBe("Unschedulable");
    expect(pending[0]?.message).toMatch(/0\/2 nodes are available: 2 Insufficient memory/);
    // Host ports are unique per node and inside its range.
    const ports = rows.filter((p) => p.nodeId).map((p) => `${p.nodeId}:${p.hostPorts[0]}`);
    expect(new Set(ports).size).toBe(6);
    for (const p of rows.filter((x) => x.nodeId)) expect(p.hostPorts[0]).toBeGreaterThanOrEqual(30000);
  });

  it("is stable: a second pass with nothing changed creates and moves nothing", async () => {
    const ref = await insertTenantAndCluster(f);
    await insertNode(f, ref, "n1", { cpuMillis: 4000, memoryBytes: 4096 * MiB });
    await insertDeployment(f, ref, "api", 3, template(250, 64 * MiB));
    await reconcileCluster(f.deps, ref);
    const before = await allPods(ref.clusterId);
    expect(await reconcileCluster(f.deps, ref)).toEqual({
      created: 0,
      removed: 0,
      placed: 0,
      unschedulable: 0,
      evicted: 0,
      drained: 0,
      preempted: 0,
      pending: false,
    });
    expect((await allPods(ref.clusterId)).map((p) => p.id).sort()).toEqual(before.map((p) => p.id).sort());
  });

  it("marks the pods of a deleted deployment for removal by their node", async () => {
    const ref = await insertTenantAndCluster(f);
    await insertNode(f, ref, "n1", { cpuMillis: 4000, memoryBytes: 4096 * MiB });
    const dep = await insertDeployment(f, ref, "gone", 2, template(100, 32 * MiB));
    await reconcileCluster(f.deps, ref);
    await withSystem(f.deps.db, (tx) =>
      tx.update(deployments).set({ deletedAt: f.clock.now }).where(eq(deployments.id, dep)),
    );
    expect((await reconcileCluster(f.deps, ref)).removed).toBe(2);
    const rows = await allPods(ref.clusterId);
    expect(rows.every((p) => p.deletionRequestedAt !== null)).toBe(true);
  });
});

describe("node health", () => {
  it("lapses the lease of a silent node, then replaces its pods on a healthy node", async () => {
    const ref = await insertTenantAndCluster(f);
    const a = await insertNode(f, ref, "a", { cpuMillis: 4000, memoryBytes: 4096 * MiB });
    await insertDeployment(f, ref, "web", 2, template(100, 32 * MiB));
    await reconcileCluster(f.deps, ref);
    expect((await allPods(ref.clusterId)).every((p) => p.nodeId === a)).toBe(true);
    const b = await insertNode(f, ref, "b", { cpuMillis: 4000, memoryBytes: 4096 * MiB });

    // Node a stops syncing; node b keeps syncing.
    f.clock.advance(f.deps.timings.nodeLeaseMs + 1);
    await withSystem(f.deps.db, (tx) =>
      tx.update(nodes).set({ lastHeartbeatAt: f.clock.now }).where(eq(nodes.id, b)),
    );
    await sweep(f.deps);
    const [lapsed] = await withSystem(f.deps.db, (tx) => tx.select().from(nodes).where(eq(nodes.id, a)));
    expect(lapsed?.status).toBe("not_ready");
    expect((await reconcileCluster(f.deps, ref)).evicted).toBe(0); // not yet past the eviction timeout

    f.clock.advance(f.deps.timings.podEvictionMs);
    const result = await reconcileCluster(f.deps, ref);
    expect(result).toMatchObject({ evicted: 2, created: 2, placed: 2 });
    expect((await allPods(ref.clusterId)).every((p) => p.nodeId === b)).toBe(true);
  });
});

describe("the sweep", () => {
  it("leaves an idle cluster alone: only clusters with nodes or workloads get a reconcile", async () => {
    const ref = await insertTenantAndCluster(f);
    const idle = (await sweep(f.deps)).clusters;
    await insertDeployment(f, ref, "web", 1, template(100, 32 * MiB));
    expect((await sweep(f.deps)).clusters).toBe(idle + 1);
    const other = await insertTenantAndCluster(f);
    expect((await sweep(f.deps)).clusters).toBe(idle + 1);
    await insertNode(f, other, "n1", { cpuMillis: 1000, memoryBytes: 1024 * MiB });
    expect((await sweep(f.deps)).clusters).toBe(idle + 2);
  });
});

describe("cluster deletion", () => {
  it("waits for live agents to leave, releases silent ones, destroys the key and stops metering", async () => {
    const ref = await insertTenantAndCluster(f, "provisioning");
    await provisionCluster(f.deps, ref);
    const node = await insertNode(f, ref, "n1", { cpuMillis: 4000, memoryBytes: 4096 * MiB });
    await insertDeployment(f, ref, "web", 1, template(100, 32 * MiB));
    await reconcileCluster(f.deps, ref);
    await withSystem(f.deps.db, (tx) =>
      tx
        .update(clusters)
        .set({ status: "deleting", deletingAt: f.clock.now })
        .where(eq(clusters.id, ref.clusterId)),
    );

    expect(await deleteCluster(f.deps, ref)).toBe("waiting");
    const [leaving] = await withSystem(f.deps.db, (tx) => tx.select().from(nodes).where(eq(nodes.id, node)));
    expect(leaving?.status).toBe("leaving");

    f.clock.advance(f.deps.timings.nodeLeaseMs + 1); // the agent never confirms
    expect(await deleteCluster(f.deps, ref)).toBe("done");
    expect(await deleteCluster(f.deps, ref)).toBe("done"); // idempotent
    const [c] = await withSystem(f.deps.db, (tx) =>
      tx.select().from(clusters).where(eq(clusters.id, ref.clusterId)),
    );
    expect(c).toMatchObject({ status: "deleted", signingKeyEnc: null, signingPublicJwk: null });
    expect(await allPods(ref.clusterId)).toEqual([]);
    const open = await withSystem(f.deps.db, (tx) =>
      tx.select().from(meterIntervals).where(eq(meterIntervals.clusterId, ref.clusterId)),
    );
    expect(open.length).toBeGreaterThan(0);
    expect(open.every((m) => m.endedAt !== null)).toBe(true);
  });
});
