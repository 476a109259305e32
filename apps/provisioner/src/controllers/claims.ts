import { machines, objects, persistentVolumes } from "@berth/db";
import type { StoredVolume } from "@berth/kube";
import type { PodVolumeClaim } from "@berth/scheduler";
import { and, eq, isNotNull, ne } from "drizzle-orm";
import type { LoopContext, PodRow } from "./loop";

/** The claims a pod's template mounts, by name. */
export function claimNamesOf(template: PodRow["template"]): string[] {
  const volumes = (template.volumes ?? []) as StoredVolume[];
  return volumes.flatMap((v) => (v.type === "persistentVolumeClaim" ? [v.claimName] : []));
}

/** What placement needs to know of a cluster's claims and disks. */
export interface ClaimFacts {
  /** Nodes that can attach persistent disks: those of local-vm machines. */
  attachable: ReadonlySet<string>;
  /** The claims a pod mounts, as the scheduler takes them (absent: it mounts none). */
  claimsOf(pod: PodRow): PodVolumeClaim[] | undefined;
}

/**
 * The cluster's claims (which exist, which are being deleted), where their disks are attached, and
 * which nodes can attach disks, read in the pass's transaction. A disk attached to a node that is
 * not ready does not pin anything: that node may be gone (the volume controller detaches it first).
 */
export async function claimFacts(ctx: LoopContext): Promise<ClaimFacts> {
  const attachable = new Set(
    (
      await ctx.tx
        .select({ nodeId: machines.nodeId })
        .from(machines)
        .where(
          and(
            eq(machines.clusterId, ctx.cluster.id),
            eq(machines.provider, "local-vm"),
            ne(machines.status, "terminated"),
            isNotNull(machines.nodeId),
          ),
        )
    ).flatMap((m) => (m.nodeId ? [m.nodeId] : [])),
  );
  const claims = await ctx.tx
    .select({
      id: objects.id,
      namespace: objects.namespace,
      name: objects.name,
      deleting: objects.deletionTimestamp,
    })
    .from(objects)
    .where(and(eq(objects.clusterId, ctx.cluster.id), eq(objects.kind, "PersistentVolumeClaim")));
  const disks = await ctx.tx
    .select({ claimId: persistentVolumes.claimId, nodeId: persistentVolumes.nodeId })
    .from(persistentVolumes)
    .where(eq(persistentVolumes.clusterId, ctx.cluster.id));
  const byName = new Map(claims.map((c) => [`${c.namespace}/${c.name}`, c]));
  const nodeOf = new Map(disks.map((d) => [d.claimId, d.nodeId]));
  return {
    attachable,
    claimsOf(pod) {
      const names = claimNamesOf(pod.template);
      if (names.length === 0) return undefined;
      return names.map((name): PodVolumeClaim => {
        const c = byName.get(`${pod.namespace}/${name}`);
        if (!c) return { name, problem: `persistentvolumeclaim "${name}" not found` };
        if (c.deleting) return { name, problem: `persistentvolumeclaim "${name}" is being deleted` };
        const nodeId = nodeOf.get(c.id);
        const alive = nodeId ? ctx.nodeById.get(nodeId)?.status === "ready" : false;
        return nodeId && alive ? { name, attachedNodeId: nodeId } : { name };
      });
    },
  };
}
