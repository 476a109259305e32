import { randomBytes } from "node:crypto";
import {
  constantTimeEqual,
  idOf,
  instantSchema,
  NotFoundError,
  newId,
  QuotaExceededError,
  sha256Hex,
  UnauthenticatedError,
  ValidationError,
} from "@berth/core";
import { apiKeys, type Tx, withSystem, withTenant } from "@berth/db";
import { and, desc, eq, gt, isNull, lt, or, sql } from "drizzle-orm";
import { z } from "zod";
import { authorize, policiesOf } from "../auth/authorize";
import { assertCanGrant } from "../auth/escalation";
import type { Deps, UserCaller } from "../deps";
import { brn, principalPath, type RequestMeta } from "../operation";
import { page, pageInput } from "./paging";
import { findPrincipal, type Principal, principalIdSchema } from "./principals";
import { timestamp } from "./replies";

export const MAX_KEYS_PER_PRINCIPAL = 10;
const KEY_FORMAT = /^brk_(ak_[0-9a-z]{26})_([A-Za-z0-9_-]{43})$/;

export const apiKeyReply = z.strictObject({
  id: z.string(),
  principalId: z.string(),
  name: z.string(),
  expiresAt: timestamp.nullable().describe("null: the key never expires"),
  revokedAt: timestamp.nullable(),
  lastUsedAt: timestamp.nullable(),
  createdAt: timestamp,
});
/** A new key: the only reply that carries the key itself. */
export const createdApiKeyReply = apiKeyReply.extend({
  key: z.string().describe("the API key, `brk_<id>_<secret>`: shown once, never again"),
});

const view = (k: typeof apiKeys.$inferSelect): z.output<typeof apiKeyReply> => ({
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
    principalId: principalIdSchema.optional(),
    name: z.string().max(128).optional(),
    /** When the key stops working; "never" only when asked for explicitly. Default: 90 days. */
    expiresAt: z.union([instantSchema, z.literal("never")]).optional(),
  })
  .strict();

/** The IAM resource of a principal's API keys: `brn:berth:<t>:user/<id>/api-key/<keyId or *>`. */
export const apiKeyBrn = (tenantId: string, principalId: string | undefined, keyId = "*"): string =>
  brn(tenantId, `${principalPath(principalId)}/api-key/${keyId}`);

/**
 * The resource a revocation is authorised on, named after the key's owner as at creation and in
 * lists, so that a self-service policy (`user/${berth:PrincipalId}/api-key/*`) covers all three.
 */
export async function apiKeyResource(deps: Deps, caller: UserCaller, apiKeyId: string): Promise<string> {
  const [k] = await withTenant(deps.db, caller.tenantId, (tx) =>
    tx.select({ principalId: apiKeys.principalId }).from(apiKeys).where(eq(apiKeys.id, apiKeyId)),
  );
  return apiKeyBrn(caller.tenantId, k?.principalId, apiKeyId);
}

/**
 * A new API key for the caller, or for another principal of its tenant. Minting for another is its
 * own action (`iam:CreateApiKeyForPrincipal` on that principal), and the caller must hold every
 * permission the other principal has (a key must never be a way up); such keys are revoked when
 * their creator is disabled or deleted. The key is in this reply only.
 */
export async function createApiKey(
  deps: Deps,
  caller: UserCaller,
  input: z.infer<typeof createApiKeyInput>,
  meta: RequestMeta,
) {
  const now = deps.now();
  const expiresAt =
    input.expiresAt === "never"
      ? null
      : input.expiresAt
        ? new Date(input.expiresAt)
        : new Date(now.getTime() + deps.limits.apiKeyDefaultTtlDays * 86_400_000);
  if (expiresAt && expiresAt <= now) throw new ValidationError("expiresAt must be in the future");
  const principalId = input.principalId ?? caller.principalId;
  if (principalId !== caller.principalId) {
    await authorize(
      deps,
      caller,
      "iam:CreateApiKeyForPrincipal",
      brn(caller.tenantId, principalPath(principalId)),
      meta,
    );
    await assertCanGrant(deps, caller, meta, {
      what: `an API key for ${principalId}`,
      granted: await withTenant(deps.db, caller.tenantId, (tx) => policiesOf(tx, principalId)),
      grantedPrincipalId: principalId,
    });
  }
  const id = newId("apiKey");
  const secret = randomBytes(32).toString("base64url");
  const row = await withTenant(deps.db, caller.tenantId, async (tx) => {
    const principal = await findPrincipal(tx, principalId);
    if (!principal) throw new NotFoundError("principal", principalId);
    // Revoked and expired keys do not count.
    const [live] = await tx
      .select({ n: sql<number>`count(*)::int` })
      .from(apiKeys)
      .where(
        and(
          eq(apiKeys.principalId, principalId),
          isNull(apiKeys.revokedAt),
          or(isNull(apiKeys.expiresAt), gt(apiKeys.expiresAt, now)),
        ),
      );
    if ((live?.n ?? 0) >= MAX_KEYS_PER_PRINCIPAL)
      throw new QuotaExceededError(
        `a principal may have at most ${MAX_KEYS_PER_PRINCIPAL} live API keys; revoke one first`,
      );
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

export const listApiKeysInput = pageInput.extend({ principalId: principalIdSchema.optional() }).strict();

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

export const apiKeyRefInput = z.object({ apiKeyId: idOf("apiKey") }).strict();

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
