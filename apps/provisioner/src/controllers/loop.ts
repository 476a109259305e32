import { type clusters, type nodes, type pods, recordEvent, type Tx } from "@berth/db";
import type { Deps } from "../deps";

export type ClusterRow = typeof clusters.$inferSelect;
export type NodeRow = typeof nodes.$inferSelect;
export type PodRow = typeof pods.$inferSelect;

/** What every phase of one pass of a cluster's control loop works in: one transaction, one instant. */
export interface LoopContext {
  readonly deps: Deps;
  readonly tx: Tx;
  readonly cluster: ClusterRow;
  readonly now: Date;
  /** The cluster's nodes that have not left, by id. */
  readonly nodeById: ReadonlyMap<string, NodeRow>;
}

/** The same context on another transaction handle (a savepoint). */
export function withTx(ctx: LoopContext, tx: Tx): LoopContext {
  return { ...ctx, tx };
}

/** Records an event of the cluster, in the context's transaction. */
export function loopEvent(
  ctx: LoopContext,
  e: { kind: string; name: string; reason: string; message: string; type?: "Normal" | "Warning" },
): Promise<void> {
  return recordEvent(ctx.tx, {
    tenantId: ctx.cluster.tenantId,
    clusterId: ctx.cluster.id,
    objectKind: e.kind,
    objectName: e.name,
    type: e.type ?? "Normal",
    reason: e.reason,
    message: e.message,
  });
}
