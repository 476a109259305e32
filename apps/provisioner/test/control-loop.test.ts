import { clusters, deployments, events, meterIntervals, nodes, pods, withSystem } from "@berth/db";
import { and, eq, inArray } from "drizzle-orm";
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

describe("evictions held in a disruption (as Kubernetes' node lifecycle controller)", () => {
  const lapseAllBut = async (alive: string[]) => {
    f.clock.advance(f.deps.timings.nodeLeaseMs + 1);
    await withSystem(f.deps.db, (tx) =>
      tx.update(nodes).set({ lastHeartbeatAt: f.clock.now }).where(inArray(nodes.id, alive)),
    );
    await sweep(f.deps);
  };
  const heldEvents = (clusterId: string) =>
    withSystem(f.deps.db, (tx) =>
      tx
        .select()
        .from(events)
        .where(and(eq(events.clusterId, clusterId), eq(events.reason, "PodEvictionsHeld"))),
    );

  it("evicts nothing while every node of the cluster is not ready, and gives a node still lost after that a full timeout", async () => {
    const ref = await insertTenantAndCluster(f);
    const a = await insertNode(f, ref, "a", { cpuMillis: 4000, memoryBytes: 4096 * MiB, pods: 1 });
    const b = await insertNode(f, ref, "b", { cpuMillis: 4000, memoryBytes: 4096 * MiB, pods: 1 });
    await insertDeployment(f, ref, "web", 2, template(100, 32 * MiB));
    expect((await reconcileCluster(f.deps, ref)).placed).toBe(2);

    // Both go silent at once (as when the control plane stalls): both lapse, nothing is evicted.
    await lapseAllBut([]);
    f.clock.advance(f.deps.timings.podEvictionMs * 3);
    expect((await reconcileCluster(f.deps, ref)).evicted).toBe(0);
    const [held] = await heldEvents(ref.clusterId);
    expect(held).toMatchObject({ type: "Warning", objectKind: "Cluster" });
    expect(held?.message).toContain("every node of the cluster is not ready: 2 pod(s)");
    const heldAt = f.clock.now;

    // b comes back; a stays lost. Its pods wait a full eviction timeout from the hold's end.
    f.clock.advance(1_000);
    await withSystem(f.deps.db, (tx) =>
      tx.update(nodes).set({ status: "ready", lastHeartbeatAt: f.clock.now }).where(eq(nodes.id, b)),
    );
    expect((await reconcileCluster(f.deps, ref)).evicted).toBe(0);
    f.clock.advance(heldAt.getTime() + f.deps.timings.podEvictionMs + 1 - f.clock.now.getTime());
    await withSystem(f.deps.db, (tx) =>
      tx.update(nodes).set({ lastHeartbeatAt: f.clock.now }).where(eq(nodes.id, b)),
    );
    expect((await reconcileCluster(f.deps, ref)).evicted).toBe(1);
    const left = await allPods(ref.clusterId);
    expect(left.filter((p) => p.nodeId === a)).toEqual([]);
  });

  it("holds a zone that lost most of its nodes at once, and evicts from a zone that lost one, or all of a small one", async () => {
    const ref = await insertTenantAndCluster(f);
    const node = (name: string, zone: string) =>
      insertNode(
        f,
        ref,
        name,
        { cpuMillis: 4000, memoryBytes: 4096 * MiB, pods: 1 },
        {
          "topology.kubernetes.io/zone": zone,
        },
      );
    const [x1, x2, x3, x4] = [
      await node("x1", "x"),
      await node("x2", "x"),
      await node("x3", "x"),
      await node("x4", "x"),
    ];
    const [y1, y2, y3] = [await node("y1", "y"), await node("y2", "y"), await node("y3", "y")];
    const z1 = await node("z1", "z");
    await insertDeployment(f, ref, "web", 8, template(100, 32 * MiB));
    expect((await reconcileCluster(f.deps, ref)).placed).toBe(8);
    const before = await allPods(ref.clusterId);

    // Zone x loses 3 of 4 (partial disruption), y loses 1 of 3, z its only node (zone down).
    await lapseAllBut([x4 as string, y2 as string, y3 as string]);
    f.clock.advance(f.deps.timings.podEvictionMs + 1);
    expect((await reconcileCluster(f.deps, ref)).evicted).toBe(2);
    const after = await allPods(ref.clusterId);
    const on = (rows: typeof before, id: string | undefined) => rows.filter((p) => p.nodeId === id).length;
    for (const lost of [x1, x2, x3]) expect(on(after, lost)).toBe(1);
    expect(on(after, y1)).toBe(0);
    expect(on(after, z1)).toBe(0);
    const [held] = await heldEvents(ref.clusterId);
    expect(held?.message).toContain("3 of 4 nodes of zone x are not ready at once: 3 pod(s)");
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
