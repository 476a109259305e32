import { BerthError } from "@berth/core";
import { nodes, type Tx } from "@berth/db";
import { POD_RANGE_BLOCKS, podBlockOf, podRangeOfBlock, preferredPodBlock } from "@berth/kube";
import { and, eq, isNull } from "drizzle-orm";
import { claimUniqueBlock } from "./service-range";

/**
 * A node's pod address range, allocated on first need: the block its id hashes to, else the next
 * free one. Unique across the platform among nodes that have not left (a unique index the tenant's
 * own rows cannot see past: a clash rolls back its savepoint and the next block is tried). When the
 * node's host cannot have its range (`taken`: something there holds the subnet), it gets the next
 * free block after that one.
 */
export async function ensurePodCidr(tx: Tx, nodeId: string, taken?: string): Promise<string> {
  const takenBlock = taken ? podBlockOf(taken) : undefined;
  if (taken && takenBlock !== undefined)
    await tx
      .update(nodes)
      .set({ podCidr: null })
      .where(and(eq(nodes.id, nodeId), eq(nodes.podCidr, taken)));
  return claimUniqueBlock(tx, {
    current: async () => {
      const [row] = await tx.select({ cidr: nodes.podCidr }).from(nodes).where(eq(nodes.id, nodeId));
      if (!row) throw new BerthError("NOT_FOUND", `node ${nodeId} not found`);
      return row.cidr;
    },
    start: takenBlock !== undefined ? takenBlock + 1 : preferredPodBlock(nodeId),
    count: POD_RANGE_BLOCKS,
    set: async (sp, block) => {
      const [set] = await sp
        .update(nodes)
        .set({ podCidr: podRangeOfBlock(block) })
        .where(and(eq(nodes.id, nodeId), isNull(nodes.podCidr)))
        .returning({ cidr: nodes.podCidr });
      return set?.cidr;
    },
    exhausted: "no pod address range is free on this platform",
  });
}
