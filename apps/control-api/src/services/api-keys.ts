import { randomBytes } from "node:crypto";
import {
  constantTimeEqual,
  NotFoundError,
  newId,
  sha256Hex,
  UnauthenticatedError,
  ValidationError,
} from "@berth/core";
import { apiKeys, type Tx, withSystem, withTenant } from "@berth/db";
import { and, desc, eq, lt } from "drizzle-orm";
import { z } from "zod";
import type { Deps, UserCaller } from "../deps";
import { page, pageInput } from "./paging";
import { findPrincipal, type Principal } from "./principals";

export const MAX_KEYS_PER_PRINCIPAL = 10;
const KEY_FORMAT = /^brk_(ak_[0-9a-z]{26})_([A-Za-z0-9_-]{43})$/;

const view = (k: typeof apiKeys.$inferSelect) => ({
  id: k.id,
  principalId: k.principalId,
  name: k.name,
  expiresAt: k.expiresAt?.toISOString() ?? null,
  revokedAt: k.revokedAt?.toISOString() ?? null,
  lastUsedAt: k.lastUsedAt?.toISOString() ?? null,
  createdAt: k.createdAt.toISOString(),
});

export const createApiKeyInput = z
  .object({
    principalId: z.string().min(1).max(64).optional(),
    name: z.string().max(128).optional(),
    expiresAt: z.iso.datetime({ offset: true }).optional(),
  })
  .strict();

/** A new API key for the caller or another principal of its tenant. The key is in this reply only. */
export async function createApiKey(deps: Deps, caller: UserCaller, input: z.infer<typeof createApiKeyInput>) {
  const expiresAt = input.expiresAt ? new Date(input.expiresAt) : null;
  if (expiresAt && expiresAt <= deps.now()) throw new ValidationError("expiresAt must be in the future");
  const id = newId("apiKey");
  const secret = randomBytes(32).toString("base64url");
  const row = await withTenant(deps.db, caller.tenantId, async (tx) => {
    const principalId = input.principalId ?? caller.principalId;
    const principal = await findPrincipal(tx, principalId);
    if (!principal) throw new NotFoundError("principal", principalId);
    const live = await tx
      .select({ id: apiKeys.id })
      .from(apiKeys)
      .where(and(eq(apiKeys.principalId, principalId)));
    if (live.length >= MAX_KEYS_PER_PRINCIPAL)
      throw new ValidationError(`a principal may have at most ${MAX_KEYS_PER_PRINCIPAL} API keys`);
    const [k] = await tx
      .insert(apiKeys)
      .values({
        id,
        tenantId: caller.tenantId,
        principalId,
        name: input.name ?? "",
        secretHash: sha256Hex(secret),
        expiresAt,
        createdBy: caller.principalId,
      })
      .returning();
    if (!k) throw new Error("insert returned nothing");
    return k;
  });
  return { ...view(row), key: `brk_${id}_${secret}` };
}

export const listApiKeysInput = pageInput.extend({ principalId: z.string().max(64).optional() }).strict();

export async function listApiKeys(deps: Deps, caller: UserCaller, input: z.infer<typeof listApiKeysInput>) {
  const rows = await withTenant(deps.db, caller.tenantId, (tx) =>
    tx
      .select()
      .from(apiKeys)
      .where(
        and(
          eq(apiKeys.tenantId, caller.tenantId),
          input.principalId ? eq(apiKeys.principalId, input.principalId) : undefined,
          input.cursor ? lt(apiKeys.id, input.cursor) : undefined,
        ),
      )
      .orderBy(desc(apiKeys.id))
      .limit(input.limit + 1),
  );
  return page(rows.map(view), input.limit);
}

export const apiKeyRefInput = z.object({ apiKeyId: z.string().min(1).max(64) }).strict();

/** Revokes a key; tokens minted from it stop working at once (every request checks the key). */
export async function revokeApiKey(deps: Deps, caller: UserCaller, input: z.infer<typeof apiKeyRefInput>) {
  const row = await withTenant(deps.db, caller.tenantId, async (tx) => {
    const [k] = await tx
      .update(apiKeys)
      .set({ revokedAt: deps.now() })
      .where(eq(apiKeys.id, input.apiKeyId))
      .returning();
    if (!k) throw new NotFoundError("API key", input.apiKeyId);
    return k;
  });
  return view(row);
}

/** Checks an API key and returns its principal; records when it was last used. */
export async function authenticateApiKey(
  deps: Deps,
  key: string,
): Promise<{ principal: Principal; apiKeyId: string }> {
  const fail = new UnauthenticatedError("the API key is invalid, expired or revoked");
  const m = KEY_FORMAT.exec(key);
  if (!m?.[1] || !m[2]) throw fail;
  const [id, secret] = [m[1], m[2]];
  // The key names its tenant only after it is found; the lookup is by its unique id.
  const [row] = await withSystem(deps.db, (tx) => tx.select().from(apiKeys).where(eq(apiKeys.id, id)));
  const now = deps.now();
  if (
    !row ||
    !constantTimeEqual(row.secretHash, sha256Hex(secret)) ||
    row.revokedAt ||
    (row.expiresAt && row.expiresAt <= now)
  )
    throw fail;
  const principal = await withTenant(deps.db, row.tenantId, async (tx: Tx) => {
    await tx.update(apiKeys).set({ lastUsedAt: now }).where(eq(apiKeys.id, row.id));
    return findPrincipal(tx, row.principalId);
  });
  if (principal?.status !== "active") throw fail;
  return { principal, apiKeyId: row.id };
}
