import { BerthError } from "@berth/core";
import { nodes, type Tx } from "@berth/db";
import { POD_RANGE_BLOCKS, podRangeOfBlock, preferredPodBlock } from "@berth/kube";
import { and, eq, isNull } from "drizzle-orm";
import { isUniqueViolation } from "./service-range";

/**
 * A node's pod address range, allocated on first need: the block its id hashes to, else the next
 * free one. Unique across the platform among nodes that have not left (a unique index the tenant's
 * own rows cannot see past: a clash rolls back its savepoint and the next block is tried).
 */
export async function ensurePodCidr(tx: Tx, nodeId: string): Promise<string> {
  const [row] = await tx.select({ cidr: nodes.podCidr }).from(nodes).where(eq(nodes.id, nodeId));
  if (!row) throw new BerthError("NOT_FOUND", `node ${nodeId} not found`);
  if (row.cidr) return row.cidr;
  const start = preferredPodBlock(nodeId);
  for (let i = 0; i < POD_RANGE_BLOCKS; i++) {
    const cidr = podRangeOfBlock(start + i);
    try {
      const [set] = await tx.transaction(async (sp) =>
        sp
          .update(nodes)
          .set({ podCidr: cidr })
          .where(and(eq(nodes.id, nodeId), isNull(nodes.podCidr)))
          .returning({ cidr: nodes.podCidr }),
      );
      if (set?.cidr) return set.cidr;
      // Another request set it meanwhile: take theirs.
      return ensurePodCidr(tx, nodeId);
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
    }
  }
  throw new BerthError("QUOTA_EXCEEDED", "no pod address range is free on this platform");
}
