import { ConflictError, NotFoundError, newId, newSecretToken, sha256Hex, ValidationError } from "@berth/core";
import { isOperational, joinTokens, nodePools, statement, withTenant } from "@berth/db";
import { objectId, text } from "@berth/protocol";
import { and, desc, eq, lt, sql } from "drizzle-orm";
import { z } from "zod";
import type { Deps, UserCaller } from "../deps";
import { clusterId, loadCluster } from "./clusters";
import { page, pageInput } from "./paging";
import { timestamp } from "./replies";

/** A join token lives 30 minutes unless asked otherwise, a week at most. */
export const JOIN_TOKEN_DEFAULT_TTL_SECONDS = 1800;
export const JOIN_TOKEN_MAX_TTL_SECONDS = 7 * 24 * 3600;
export const JOIN_TOKEN_MAX_USES = 10_000;

const tokenId = objectId.refine((s) => s.startsWith("jt_"), "must be a join token id");

export const createJoinTokenInput = z
  .object({
    clusterId,
    ttlSeconds: z.number().int().min(60).max(JOIN_TOKEN_MAX_TTL_SECONDS).optional(),
    /** A bring-your-own node pool: nodes joining with the token get its labels and taints. */
    poolId: objectId.optional(),
    /** How many nodes may join with it (default 1); `null`, asked for explicitly: any number until it expires. */
    maxUses: z.number().int().min(1).max(JOIN_TOKEN_MAX_USES).nullable().optional(),
    description: text(256).optional(),
  })
  .strict();

export const joinTokenReply = z.strictObject({
  id: z.string(),
  description: z.string(),
  poolId: z.string().nullable().describe("The bring-your-own pool its nodes join, if any"),
  machineId: z
    .string()
    .nullable()
    .describe("Set for a machine's own token: the node that joins with it is that machine"),
  expiresAt: timestamp,
  usedCount: z.number().int(),
  maxUses: z
    .number()
    .int()
    .nullable()
    .describe("How many nodes may join with it; null: any number until it expires"),
  revokedAt: timestamp.nullable(),
  createdBy: z.string().nullable().describe("The principal that created it; null for a machine's own token"),
  createdAt: timestamp,
});
/** A new token: the only reply that holds its secret. */
export const createdJoinTokenReply = joinTokenReply.extend({
  token: z.string().describe("The bootstrap token; shown only here"),
  installCommand: z.string().describe("What to run on a host to make it a node of the cluster"),
});

function view(t: typeof joinTokens.$inferSelect): z.output<typeof joinTokenReply> {
  return {
    id: t.id,
    description: t.description,
    poolId: t.poolId,
    machineId: t.machineId,
    expiresAt: t.expiresAt.toISOString(),
    usedCount: t.usedCount,
    maxUses: t.maxUses,
    revokedAt: t.revokedAt?.toISOString() ?? null,
    createdBy: t.createdBy,
    createdAt: t.createdAt.toISOString(),
  };
}

const insertJoinToken = statement((tx) => {
  const p = sql.placeholder;
  return tx
    .insert(joinTokens)
    .values({
      id: p("id"),
      tenantId: p("tenantId"),
      clusterId: p("clusterId"),
      poolId: p("poolId"),
      tokenHash: p("tokenHash"),
      expiresAt: p("expiresAt"),
      maxUses: p("maxUses"),
      description: p("description"),
      createdBy: p("createdBy"),
    })
    .returning();
});

/** A bootstrap token for node agents: shown once, stored as a hash, expiring, good for `maxUses` joins. */
export async function createJoinToken(
  deps: Deps,
  caller: UserCaller,
  input: z.infer<typeof createJoinTokenInput>,
): Promise<z.output<typeof createdJoinTokenReply>> {
  const token = newSecretToken("bjt");
  const expiresAt = new Date(
    deps.now().getTime() + (input.ttlSeconds ?? JOIN_TOKEN_DEFAULT_TTL_SECONDS) * 1000,
  );
  const row = await withTenant(deps.db, caller.tenantId, async (tx) => {
    const c = await loadCluster(tx, input.clusterId);
    if (!isOperational(c.status) && c.status !== "provisioning")
      throw new ConflictError(`cluster ${c.id} is ${c.status}; nodes cannot join it`, "CLUSTER_NOT_ACTIVE");
    if (input.poolId) {
      const [pool] = await tx
        .select()
        .from(nodePools)
        .where(
          and(eq(nodePools.id, input.poolId), eq(nodePools.clusterId, c.id), eq(nodePools.status, "active")),
        );
      if (!pool) throw new NotFoundError("node pool", input.poolId);
      if (pool.provider !== "byo")
        throw new ValidationError(
          `${pool.name} is an ${pool.provider} pool: its machines join by themselves`,
        );
    }
    const [inserted] = await insertJoinToken(tx, {
      id: newId("joinToken"),
      tenantId: caller.tenantId,
      clusterId: c.id,
      poolId: input.poolId ?? null,
      tokenHash: sha256Hex(token),
      expiresAt,
      maxUses: input.maxUses === undefined ? 1 : input.maxUses,
      description: input.description ?? "",
      createdBy: caller.principalId,
    });
    if (!inserted) throw new Error("insert returned nothing");
    return inserted;
  });
  return {
    token,
    ...view(row),
    /** What to run, as root, on a host (Node 20+, a container engine) to make it a node of the cluster. */
    installCommand: `curl -fsSL ${deps.publicUrl}/v1/agent/install.sh | BERTH_JOIN_TOKEN=${token} sh`,
  };
}

export const listJoinTokensInput = pageInput.extend({ clusterId }).strict();

/** The cluster's join tokens, newest first: what they are for and how much they were used, never the secret. */
export async function listJoinTokens(
  deps: Deps,
  caller: UserCaller,
  input: z.infer<typeof listJoinTokensInput>,
) {
  const rows = await withTenant(deps.db, caller.tenantId, async (tx) => {
    await loadCluster(tx, input.clusterId);
    return tx
      .select()
      .from(joinTokens)
      .where(
        and(
          eq(joinTokens.clusterId, input.clusterId),
          input.cursor ? lt(joinTokens.id, input.cursor) : undefined,
        ),
      )
      .orderBy(desc(joinTokens.id))
      .limit(input.limit + 1);
  });
  return page(rows.map(view), input.limit);
}

export const joinTokenRefInput = z.object({ clusterId, tokenId }).strict();

/** Revokes a join token: no node joins with it any more (nodes that joined stay). Idempotent. */
export async function revokeJoinToken(
  deps: Deps,
  caller: UserCaller,
  input: z.infer<typeof joinTokenRefInput>,
) {
  return withTenant(deps.db, caller.tenantId, async (tx) => {
    await loadCluster(tx, input.clusterId);
    const [t] = await tx
      .select()
      .from(joinTokens)
      .where(and(eq(joinTokens.id, input.tokenId), eq(joinTokens.clusterId, input.clusterId)))
      .for("update");
    if (!t) throw new NotFoundError("join token", input.tokenId);
    if (t.revokedAt) return view(t);
    const [row] = await tx
      .update(joinTokens)
      .set({ revokedAt: deps.now() })
      .where(eq(joinTokens.id, t.id))
      .returning();
    return view(row ?? t);
  });
}
