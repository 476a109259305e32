import { clusters, nodes, type PodTemplate, pods, withSystem } from "@berth/db";
import { eq } from "drizzle-orm";
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

/** The cluster's pods, with the name of the node each is on (or null). */
async function placement(clusterId: string) {
  return withSystem(f.deps.db, async (tx) => {
    const names = new Map(
      (await tx.select().from(nodes).where(eq(nodes.clusterId, clusterId))).map((n) => [n.id, n.name]),
    );
    const rows = await tx.select().from(pods).where(eq(pods.clusterId, clusterId));
    return rows.map((p) => ({ ...p, nodeName: p.nodeId ? (names.get(p.nodeId) ?? null) : null }));
  });
}

function labelled(app: string, more: Partial<PodTemplate> = {}): PodTemplate {
  return { ...template(100, 64 * MiB), metadata: { labels: { app }, annotations: {} }, ...more };
}

const big = { cpuMillis: 4000, memoryBytes: 4096 * MiB };

describe("node affinity from the pod spec", () => {
  it("places pods only on nodes their required node affinity selects", async () => {
    const ref = await insertTenantAndCluster(f);
    await insertNode(f, ref, "hdd-1", big, { disk: "hdd" });
    await insertNode(f, ref, "ssd-1", big, { disk: "ssd" });
    await insertNode(f, ref, "plain-1", big);
    await insertDeployment(
      f,
      ref,
      "db",
      4,
      labelled("db", {
        affinity: {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: [{ matchExpressions: [{ key: "disk", operator: "In", values: ["ssd"] }] }],
            },
          },
        },
      }),
    );
    // A term no node matches: every replica stays Pending, with kube's reason.
    await insertDeployment(
      f,
      ref,
      "gpu",
      1,
      labelled("gpu", {
        affinity: {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: [{ matchExpressions: [{ key: "accelerator", operator: "Exists" }] }],
            },
          },
        },
      }),
    );
    expect(await reconcileCluster(f.deps, ref)).toMatchObject({ created: 5, placed: 4, unschedulable: 1 });
    const rows = await placement(ref.clusterId);
    const db = rows.filter((p) => p.labels.app === "db");
    expect(db.map((p) => p.nodeName)).toEqual(["ssd-1", "ssd-1", "ssd-1", "ssd-1"]);
    const gpu = rows.find((p) => p.labels.app === "gpu");
    expect(gpu?.nodeId).toBeNull();
    expect(gpu?.reason).toBe("Unschedulable");
    expect(gpu?.message).toBe(
      "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector.",
    );
  });
});

describe("pod anti-affinity from the pod spec", () => {
  const oneEach = (app: string) =>
    labelled(app, {
      affinity: {
        podAntiAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: [
            { labelSelector: { matchLabels: { app } }, topologyKey: "kubernetes.io/hostname" },
          ],
        },
      },
    });

  it("keeps replicas on separate nodes, counting the pods bound in earlier passes", async () => {
    const ref = await insertTenantAndCluster(f);
    for (const name of ["n1", "n2", "n3"]) await insertNode(f, ref, name, big);
    const id = await insertDeployment(f, ref, "web", 2, oneEach("web"));
    expect(await reconcileCluster(f.deps, ref)).toMatchObject({ placed: 2, unschedulable: 0 });
    await nodeReports(f, ref.clusterId);
    // Two more: one fits on the third node; the fourth has nowhere to go.
    await applyDeployment(f, id, { replicas: 4 });
    expect(await reconcileCluster(f.deps, ref)).toMatchObject({ created: 2, placed: 1, unschedulable: 1 });
    const rows = await placement(ref.clusterId);
    const placed = rows.filter((p) => p.nodeName !== null).map((p) => p.nodeName);
    expect(placed.sort()).toEqual(["n1", "n2", "n3"]);
    const waiting = rows.filter((p) => p.nodeId === null);
    expect(waiting).toHaveLength(1);
    expect(waiting[0]?.message).toBe(
      "0/3 nodes are available: 3 node(s) didn't satisfy existing pods anti-affinity rules.",
    );
  });

  it("repels only the pods it selects", async () => {
    const ref = await insertTenantAndCluster(f);
    await insertNode(f, ref, "only", big);
    await insertDeployment(f, ref, "web", 1, oneEach("web"));
    await insertDeployment(f, ref, "worker", 2, labelled("worker"));
    expect(await reconcileCluster(f.deps, ref)).toMatchObject({ placed: 3, unschedulable: 0 });
  });
});

describe("topology spread over zones", () => {
  const zone = (z: string, host: string) => ({
    "topology.kubernetes.io/zone": z,
    "kubernetes.io/hostname": host,
  });
  const spreadOverZones = {
    topologySpreadConstraints: [
      {
        maxSkew: 1,
        topologyKey: "topology.kubernetes.io/zone",
        whenUnsatisfiable: "DoNotSchedule" as const,
        labelSelector: { matchLabels: { app: "web" } },
      },
    ],
  };
  /** Places a 6-replica deployment on nodes `[name, zone]`; pods per zone. */
  const place = async (nodeZones: [string, string][], spread: boolean) => {
    const ref = await insertTenantAndCluster(f);
    for (const [name, z] of nodeZones) await insertNode(f, ref, name, big, zone(z, name));
    await insertDeployment(f, ref, "web", 6, labelled("web", spread ? spreadOverZones : {}));
    expect(await reconcileCluster(f.deps, ref)).toMatchObject({ created: 6, placed: 6 });
    const zoneOf = new Map(nodeZones);
    const perZone: Record<string, number> = {};
    for (const p of await placement(ref.clusterId)) {
      const z = p.nodeName ? zoneOf.get(p.nodeName) : undefined;
      if (z) perZone[z] = (perZone[z] ?? 0) + 1;
    }
    return perZone;
  };

  it("puts a 6-replica deployment 2/2/2 on three nodes in three zones", async () => {
    const nodes: [string, string][] = [
      ["a-1", "eu-1a"],
      ["b-1", "eu-1b"],
      ["c-1", "eu-1c"],
    ];
    expect(await place(nodes, true)).toEqual({ "eu-1a": 2, "eu-1b": 2, "eu-1c": 2 });
  });

  it("counts zones, not nodes: two nodes in one zone still get 2 between them", async () => {
    const nodes: [string, string][] = [
      ["a-1", "eu-1a"],
      ["a-2", "eu-1a"],
      ["b-1", "eu-1b"],
      ["c-1", "eu-1c"],
    ];
    expect(await place(nodes, true)).toEqual({ "eu-1a": 2, "eu-1b": 2, "eu-1c": 2 });
    // Without the constraint, spreading by node gives the two-node zone more.
    expect((await place(nodes, false))["eu-1a"]).toBeGreaterThan(2);
  });
});

describe("the cluster's scoring strategy", () => {
  async function spreadOf(scheduling?: { scoringStrategy: { type: "LeastAllocated" | "MostAllocated" } }) {
    const ref = await insertTenantAndCluster(f);
    if (scheduling)
      await withSystem(f.deps.db, (tx) =>
        tx.update(clusters).set({ scheduling }).where(eq(clusters.id, ref.clusterId)),
      );
    for (const name of ["n1", "n2", "n3"]) await insertNode(f, ref, name, big);
    // Six single-replica apps: no spreading of one owner's replicas gets in the way.
    for (const app of ["a", "b", "c", "d", "e", "f"]) await insertDeployment(f, ref, app, 1, labelled(app));
    await reconcileCluster(f.deps, ref);
    const perNode = new Map<string, number>();
    for (const p of await placement(ref.clusterId))
      perNode.set(p.nodeName ?? "-", (perNode.get(p.nodeName ?? "-") ?? 0) + 1);
    return [...perNode.values()].sort();
  }

  it("spreads by default (LeastAllocated) and bin-packs onto one node with MostAllocated", async () => {
    expect(await spreadOf()).toEqual([2, 2, 2]);
    expect(await spreadOf({ scoringStrategy: { type: "MostAllocated" } })).toEqual([6]);
  });
});

describe("matchLabelKeys of a spread constraint", () => {
  it("counts only the pods of the pod's own revision (pod-template-hash), as kube merges it", async () => {
    const ref = await insertTenantAndCluster(f);
    await insertNode(f, ref, "a-1", big, { "topology.kubernetes.io/zone": "a" });
    await insertNode(f, ref, "b-1", big, { "topology.kubernetes.io/zone": "b" });
    const spread = (matchLabelKeys?: string[]) =>
      labelled("web", {
        topologySpreadConstraints: [
          {
            maxSkew: 1,
            topologyKey: "topology.kubernetes.io/zone",
            whenUnsatisfiable: "DoNotSchedule",
            labelSelector: { matchLabels: { app: "web" } },
            ...(matchLabelKeys ? { matchLabelKeys } : {}),
          },
        ],
      });
    // Another revision's 3 pods fill zone a (a node affinity puts them there).
    await insertDeployment(
      f,
      ref,
      "old",
      3,
      labelled("web", {
        nodeSelector: { "topology.kubernetes.io/zone": "a" },
        metadata: { labels: { app: "web", "pod-template-hash": "old" }, annotations: {} },
      }),
    );
    await reconcileCluster(f.deps, ref);
    // Without matchLabelKeys the new pods see 3 in zone a and go to b until it evens out;
    // with it they count only their own revision and spread 1/1.
    await insertDeployment(f, ref, "new", 2, spread(["pod-template-hash"]));
    await reconcileCluster(f.deps, ref);
    const fresh = (await placement(ref.clusterId)).filter((p) => p.name.startsWith("new-"));
    expect(fresh.map((p) => p.nodeName).sort()).toEqual(["a-1", "b-1"]);
  });
});

describe("extended resources", () => {
  it("places a pod asking for a GPU only where one is free, and says why the next one waits", async () => {
    const ref = await insertTenantAndCluster(f);
    await insertNode(f, ref, "cpu-1", big);
    await insertNode(f, ref, "gpu-1", big);
    await withSystem(f.deps.db, (tx) =>
      tx
        .update(nodes)
        .set({ extendedResources: { "berth.dev/gpu": 1 } })
        .where(eq(nodes.name, "gpu-1")),
    );
    const gpu = template(100, 64 * MiB);
    const [c0] = gpu.containers;
    if (!c0) throw new Error("no container");
    c0.resources = { ...c0.resources, extended: { "berth.dev/gpu": 1 } };
    await insertDeployment(f, ref, "train", 2, gpu);
    await reconcileCluster(f.deps, ref);
    const list = await placement(ref.clusterId);
    expect(list.filter((p) => p.nodeName !== null).map((p) => p.nodeName)).toEqual(["gpu-1"]);
    const waiting = list.find((p) => p.nodeName === null);
    expect(waiting?.reason).toBe("Unschedulable");
    expect(waiting?.message).toBe("0/2 nodes are available: 2 Insufficient berth.dev/gpu.");
  });
});
