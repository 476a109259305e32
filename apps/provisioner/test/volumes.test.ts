import { newId } from "@berth/core";
import {
  events,
  machines,
  nodePools,
  nodes as nodesTable,
  objects,
  type PodTemplate,
  persistentVolumes,
  pods,
  withSystem,
} from "@berth/db";
import { NO_ATTACHABLE_DISKS } from "@berth/scheduler";
import { eq } from "drizzle-orm";
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

/** Placement of pods that mount PersistentVolumeClaims, through the real control loop and Postgres. */
let f: Fixture;
beforeAll(async () => {
  f = await createFixture();
});
afterAll(() => f.close());

type Ref = { tenantId: string; clusterId: string };
const big = { cpuMillis: 4000, memoryBytes: 4096 * MiB };

function withClaim(claimName: string): PodTemplate {
  const t = template(100, 64 * MiB);
  return {
    ...t,
    containers: t.containers.map((c) => ({
      ...c,
      volumeMounts: [{ name: "data", mountPath: "/data", readOnly: false }],
    })),
    volumes: [{ name: "data", type: "persistentVolumeClaim", claimName, readOnly: false }],
  };
}

async function insertClaim(ref: Ref, name: string): Promise<string> {
  const id = newId("object");
  await withSystem(f.deps.db, (tx) =>
    tx.insert(objects).values({
      id,
      tenantId: ref.tenantId,
      clusterId: ref.clusterId,
      kind: "PersistentVolumeClaim",
      namespace: "default",
      name,
      spec: {
        accessModes: ["ReadWriteOnce"],
        storageBytes: 1024 * MiB,
        storageClassName: null,
        volumeMode: "Filesystem",
      },
    }),
  );
  return id;
}

/** A node of a local-vm machine (one that can attach disks). */
async function vmNode(ref: Ref, name: string): Promise<string> {
  const nodeId = await insertNode(f, ref, name, big);
  await withSystem(f.deps.db, async (tx) => {
    const poolId = newId("nodePool");
    await tx.insert(nodePools).values({
      id: poolId,
      tenantId: ref.tenantId,
      clusterId: ref.clusterId,
      name: `pool-${name}`,
      provider: "local-vm",
      instanceType: "small",
      minSize: 0,
      maxSize: 1,
      desiredSize: 1,
    });
    await tx.insert(machines).values({
      id: newId("machine"),
      tenantId: ref.tenantId,
      clusterId: ref.clusterId,
      poolId,
      provider: "local-vm",
      instanceType: "small",
      status: "running",
      instanceId: `vm-${name}`,
      nodeName: name,
      nodeId,
    });
  });
  return nodeId;
}

const podsOf = (clusterId: string) =>
  withSystem(f.deps.db, (tx) => tx.select().from(pods).where(eq(pods.clusterId, clusterId)));

describe("pods that mount a PersistentVolumeClaim", () => {
  it("stay Pending on nodes that cannot attach disks, with a FailedScheduling event saying why", async () => {
    const ref = await insertTenantAndCluster(f);
    await insertNode(f, ref, "podman-1", big);
    await insertClaim(ref, "data");
    await insertDeployment(f, ref, "db", 1, withClaim("data"));
    expect(await reconcileCluster(f.deps, ref)).toMatchObject({ created: 1, placed: 0, unschedulable: 1 });
    const [pod] = await podsOf(ref.clusterId);
    expect(pod).toMatchObject({ nodeId: null, phase: "Pending", reason: "Unschedulable" });
    expect(pod?.message).toBe(`0/1 nodes are available: 1 ${NO_ATTACHABLE_DISKS}.`);
    const recorded = await withSystem(f.deps.db, (tx) =>
      tx.select().from(events).where(eq(events.clusterId, ref.clusterId)),
    );
    expect(recorded.map((e) => [e.reason, e.type])).toContainEqual(["FailedScheduling", "Warning"]);
  });

  it("wait while their claim does not exist, and go to a local-vm node once it does", async () => {
    const ref = await insertTenantAndCluster(f);
    await insertNode(f, ref, "podman-1", big);
    const vm = await vmNode(ref, "vm-1");
    await insertDeployment(f, ref, "db", 1, withClaim("data"));
    await reconcileCluster(f.deps, ref);
    expect((await podsOf(ref.clusterId))[0]?.message).toBe(
      '0/2 nodes are available: 2 persistentvolumeclaim "data" not found.',
    );
    await insertClaim(ref, "data");
    await reconcileCluster(f.deps, ref);
    expect((await podsOf(ref.clusterId))[0]?.nodeId).toBe(vm);
  });

  it("go only to the node their claim's disk is attached to while that node is ready (ReadWriteOnce)", async () => {
    const ref = await insertTenantAndCluster(f);
    await vmNode(ref, "vm-a");
    const b = await vmNode(ref, "vm-b");
    const claimId = await insertClaim(ref, "data");
    await withSystem(f.deps.db, (tx) =>
      tx.insert(persistentVolumes).values({
        claimId,
        tenantId: ref.tenantId,
        clusterId: ref.clusterId,
        namespace: "default",
        claimName: "data",
        provider: "local-vm",
        sizeBytes: 1024 * MiB,
        nodeId: b,
        instanceId: "vm-vm-b",
        attachedAt: f.clock.now,
      }),
    );
    await insertDeployment(f, ref, "db", 3, withClaim("data"));
    await reconcileCluster(f.deps, ref);
    expect((await podsOf(ref.clusterId)).map((x) => x.nodeId)).toEqual([b, b, b]);
    // Attached to a node that is not ready: it pins nothing (the volume controller detaches it first).
    const other = await insertTenantAndCluster(f);
    const a2 = await vmNode(other, "vm-a");
    const b2 = await vmNode(other, "vm-b");
    const claim2 = await insertClaim(other, "data");
    await withSystem(f.deps.db, async (tx) => {
      await tx.update(nodesTable).set({ status: "not_ready" }).where(eq(nodesTable.id, b2));
      await tx.insert(persistentVolumes).values({
        claimId: claim2,
        tenantId: other.tenantId,
        clusterId: other.clusterId,
        namespace: "default",
        claimName: "data",
        provider: "local-vm",
        sizeBytes: 1024 * MiB,
        nodeId: b2,
        instanceId: "vm-vm-b",
        attachedAt: f.clock.now,
      });
    });
    await insertDeployment(f, other, "db", 1, withClaim("data"));
    await reconcileCluster(f.deps, other);
    expect((await podsOf(other.clusterId)).map((x) => x.nodeId)).toEqual([a2]);
  });
});
