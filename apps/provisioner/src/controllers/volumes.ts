import type { JobPayload } from "@berth/core";
import {
  clusters,
  isOperational,
  machines,
  nodes,
  objects,
  persistentVolumes,
  pods,
  recordEvent,
  type Tx,
  withTenant,
} from "@berth/db";
import type { PersistentVolumeClaimSpec } from "@berth/kube";
import { and, eq, isNotNull, ne } from "drizzle-orm";
import type { Deps } from "../deps";
import type { DiskProvider, DiskRef } from "../providers/types";
import { claimNamesOf } from "./claims";

type ClaimRow = typeof objects.$inferSelect;
type VolumeRow = typeof persistentVolumes.$inferSelect;
type PodRow = typeof pods.$inferSelect;

/** What one claim's step sees: the claim (absent: deleted under it), its disk row, the pods that mount it. */
interface ClaimState {
  claimId: string;
  claim: ClaimRow | undefined;
  volume: VolumeRow | undefined;
  users: PodRow[];
}

interface World {
  cluster: typeof clusters.$inferSelect;
  claims: ClaimState[];
  /** The running local-vm instance of each node that has one. */
  instanceOf: ReadonlyMap<string, string>;
  nodeName: ReadonlyMap<string, string>;
}

async function readWorld(deps: Deps, p: JobPayload<"cluster.reconcile">): Promise<World | null> {
  return withTenant(deps.db, p.tenantId, async (tx) => {
    const [cluster] = await tx.select().from(clusters).where(eq(clusters.id, p.clusterId));
    if (!cluster || !isOperational(cluster.status)) return null;
    const claimRows = await tx
      .select()
      .from(objects)
      .where(and(eq(objects.clusterId, cluster.id), eq(objects.kind, "PersistentVolumeClaim")));
    const volumeRows = await tx
      .select()
      .from(persistentVolumes)
      .where(eq(persistentVolumes.clusterId, cluster.id));
    if (claimRows.length === 0 && volumeRows.length === 0) return null;
    const podRows = await tx.select().from(pods).where(eq(pods.clusterId, cluster.id));
    const vms = await tx
      .select({ nodeId: machines.nodeId, instanceId: machines.instanceId })
      .from(machines)
      .where(
        and(
          eq(machines.clusterId, cluster.id),
          eq(machines.provider, "local-vm"),
          ne(machines.status, "terminated"),
          isNotNull(machines.nodeId),
          isNotNull(machines.instanceId),
        ),
      );
    const nodeRows = await tx
      .select({ id: nodes.id, name: nodes.name })
      .from(nodes)
      .where(eq(nodes.clusterId, cluster.id));
    const claimById = new Map(claimRows.map((c) => [c.id, c]));
    const volumeById = new Map(volumeRows.map((v) => [v.claimId, v]));
    const ids = new Set([...claimById.keys(), ...volumeById.keys()]);
    const claims = [...ids].map((claimId): ClaimState => {
      const claim = claimById.get(claimId);
      const users = claim
        ? podRows.filter(
            (x) => x.namespace === claim.namespace && claimNamesOf(x.template).includes(claim.name),
          )
        : [];
      return { claimId, claim, volume: volumeById.get(claimId), users };
    });
    return {
      cluster,
      claims,
      instanceOf: new Map(vms.flatMap((m) => (m.nodeId && m.instanceId ? [[m.nodeId, m.instanceId]] : []))),
      nodeName: new Map(nodeRows.map((n) => [n.id, n.name])),
    };
  });
}

/**
 * Kubernetes' PersistentVolume and attach/detach controllers for a cluster's claims, outside the
 * control loop's transaction (they wait on QEMU): a claim gets its disk (Bound); its disk is
 * attached to the node of the pod that mounts it, and detached once no pod on that node mounts it
 * any more (the node confirmed the pod gone, after unmounting) or at once when that node's VM is
 * dead (a killed VM holds nothing: ReadWriteOnce lets the disk move); a deleted claim keeps its
 * disk while a pod mounts it (kubernetes.io/pvc-protection), then loses it. Every step is recorded
 * in `persistent_volumes` before and after it is asked of the provider: a crash at any line is
 * finished by the next pass. Returns whether something is still in motion (look again soon).
 */
export async function syncVolumes(
  deps: Deps,
  p: JobPayload<"cluster.reconcile">,
): Promise<{ pending: boolean }> {
  const disks = deps.providers["local-vm"]?.disks;
  const world = disks ? await readWorld(deps, p) : null;
  if (!disks || !world) return { pending: false };
  let pending = false;
  for (const c of world.claims) {
    try {
      pending = (await stepClaim(deps, disks, world, c)) || pending;
    } catch (error) {
      pending = true;
      deps.logger.warn({ claimId: c.claimId, err: (error as Error).message }, "volume step failed; retried");
    }
  }
  return { pending };
}

function event(
  deps: Deps,
  world: World,
  e: { kind: string; name: string; namespace: string; reason: string; message: string; type?: "Warning" },
) {
  return withTenant(deps.db, world.cluster.tenantId, (tx) =>
    recordEvent(tx, {
      tenantId: world.cluster.tenantId,
      clusterId: world.cluster.id,
      objectKind: e.kind,
      objectName: e.name,
      namespace: e.namespace,
      type: e.type ?? "Normal",
      reason: e.reason,
      message: e.message,
      source: "attachdetach-controller",
    }),
  );
}

const updateVolume = (deps: Deps, tenantId: string, claimId: string, set: Partial<VolumeRow>) =>
  withTenant(deps.db, tenantId, (tx: Tx) =>
    tx.update(persistentVolumes).set(set).where(eq(persistentVolumes.claimId, claimId)),
  );

async function stepClaim(deps: Deps, disks: DiskProvider, world: World, c: ClaimState): Promise<boolean> {
  const { cluster } = world;
  const ref: DiskRef = { clusterId: cluster.id, claimId: c.claimId };
  const volumeName = `pvc-${c.claimId}`;
  let v = c.volume;

  // Provision: the claim's disk, then its row and Bound status in one transaction.
  if (!v) {
    if (!c.claim || c.claim.deletionTimestamp) return removeClaim(deps, disks, world, c, ref);
    const spec = c.claim.spec as unknown as PersistentVolumeClaimSpec;
    await disks.ensure(ref, spec.storageBytes);
    const claim = c.claim;
    await withTenant(deps.db, cluster.tenantId, async (tx) => {
      await tx
        .insert(persistentVolumes)
        .values({
          claimId: claim.id,
          tenantId: cluster.tenantId,
          clusterId: cluster.id,
          namespace: claim.namespace,
          claimName: claim.name,
          provider: "local-vm",
          sizeBytes: spec.storageBytes,
        })
        .onConflictDoNothing();
      await tx
        .update(objects)
        .set({ status: { phase: "Bound", capacityBytes: spec.storageBytes } })
        .where(eq(objects.id, claim.id));
    });
    await event(deps, world, {
      kind: "PersistentVolumeClaim",
      name: claim.name,
      namespace: claim.namespace,
      reason: "ProvisioningSucceeded",
      message: `Successfully provisioned volume ${volumeName} (${spec.storageBytes} bytes, a qcow2 disk of the local-vm pool)`,
    });
    [v] = await withTenant(deps.db, cluster.tenantId, (tx) =>
      tx.select().from(persistentVolumes).where(eq(persistentVolumes.claimId, claim.id)),
    );
    if (!v) return true;
  }

  // Detach: from a dead VM by definition; from a live one once no pod there mounts it.
  let detached = false;
  if (v.nodeId && v.instanceId) {
    const nodeId = v.nodeId;
    const state = (await deps.providers["local-vm"]?.describe(v.instanceId))?.state;
    const dead = state !== "running";
    const stillUsed = c.users.some((x) => x.nodeId === nodeId);
    if (!dead && stillUsed) {
      if (v.attachedAt) return false;
      // An attach that did not finish: ask again (idempotent).
      return attach(deps, disks, world, c, v, nodeId, v.instanceId);
    }
    if (!dead) await disks.detach(v.instanceId, ref);
    await updateVolume(deps, cluster.tenantId, v.claimId, {
      nodeId: null,
      instanceId: null,
      attachingAt: null,
      attachedAt: null,
    });
    await event(deps, world, {
      kind: "PersistentVolumeClaim",
      name: v.claimName,
      namespace: v.namespace,
      reason: dead ? "VolumeDetachedNodeLost" : "SuccessfulDetachVolume",
      message: dead
        ? `Volume ${volumeName} is detached from ${world.nodeName.get(nodeId) ?? nodeId}: its VM is gone`
        : `DetachVolume.Detach succeeded for volume "${volumeName}" from node "${world.nodeName.get(nodeId) ?? nodeId}"`,
    });
    v = { ...v, nodeId: null, instanceId: null, attachedAt: null };
    detached = true;
  }

  if (!c.claim || c.claim.deletionTimestamp) return removeClaim(deps, disks, world, c, ref);

  // Attach: to the node of the pod that mounts it (one node: ReadWriteOnce).
  const target = c.users.find((x) => x.nodeId !== null && x.deletionRequestedAt === null);
  // Detached with no pod placed yet: a pod waiting for this disk can be placed now.
  if (!target?.nodeId) return detached;
  const instanceId = world.instanceOf.get(target.nodeId);
  if (!instanceId) {
    await event(deps, world, {
      kind: "Pod",
      name: target.name,
      namespace: target.namespace,
      type: "Warning",
      reason: "FailedAttachVolume",
      message: `AttachVolume.Attach failed for volume "${volumeName}": node ${world.nodeName.get(target.nodeId) ?? target.nodeId} is not a local-vm machine`,
    });
    return false;
  }
  await updateVolume(deps, cluster.tenantId, v.claimId, {
    nodeId: target.nodeId,
    instanceId,
    attachingAt: deps.now(),
    attachedAt: null,
  });
  return attach(deps, disks, world, c, v, target.nodeId, instanceId);
}

async function attach(
  deps: Deps,
  disks: DiskProvider,
  world: World,
  c: ClaimState,
  v: VolumeRow,
  nodeId: string,
  instanceId: string,
): Promise<boolean> {
  const pod = c.users.find((x) => x.nodeId === nodeId);
  const podName = pod ? pod.name : v.claimName;
  const volumeName = `pvc-${v.claimId}`;
  const started = Date.now();
  try {
    await disks.attach(instanceId, { clusterId: world.cluster.id, claimId: v.claimId });
  } catch (error) {
    await event(deps, world, {
      kind: "Pod",
      name: podName,
      namespace: v.namespace,
      type: "Warning",
      reason: "FailedAttachVolume",
      message: `AttachVolume.Attach failed for volume "${volumeName}" : ${(error as Error).message}`,
    });
    return true;
  }
  await updateVolume(deps, world.cluster.tenantId, v.claimId, { attachedAt: deps.now() });
  await event(deps, world, {
    kind: "Pod",
    name: podName,
    namespace: v.namespace,
    reason: "SuccessfulAttachVolume",
    message: `AttachVolume.Attach succeeded for volume "${volumeName}" on node "${world.nodeName.get(nodeId) ?? nodeId}" in ${Date.now() - started} ms`,
  });
  return false;
}

/** A deleted claim: its disk goes once no pod mounts it (pvc-protection), then the claim itself. */
async function removeClaim(
  deps: Deps,
  disks: DiskProvider,
  world: World,
  c: ClaimState,
  ref: DiskRef,
): Promise<boolean> {
  if (c.users.length > 0) return false;
  await disks.remove(ref);
  await withTenant(deps.db, world.cluster.tenantId, async (tx) => {
    await tx.delete(persistentVolumes).where(eq(persistentVolumes.claimId, c.claimId));
    await tx.delete(objects).where(and(eq(objects.id, c.claimId), isNotNull(objects.deletionTimestamp)));
  });
  const name = c.claim?.name ?? c.volume?.claimName ?? c.claimId;
  await event(deps, world, {
    kind: "PersistentVolumeClaim",
    name,
    namespace: c.claim?.namespace ?? c.volume?.namespace ?? "",
    reason: "VolumeDeleted",
    message: `the disk of claim ${name} (pvc-${c.claimId}) is deleted`,
  });
  return false;
}
