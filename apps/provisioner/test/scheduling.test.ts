import { nodes, type PodTemplate, pods, withSystem } from "@berth/db";
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
