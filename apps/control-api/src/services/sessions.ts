import { randomBytes } from "node:crypto";
import { newId, sha256Hex, UnauthenticatedError } from "@berth/core";
import { refreshTokens, users, withSystem, withTenant } from "@berth/db";
import { and, eq, isNull, sql } from "drizzle-orm";
import { z } from "zod";
import type { AccessClaims } from "../auth/access-tokens";
import { policiesOf } from "../auth/authorize";
import { reserveLoginAttempt } from "../auth/login-throttle";
import { DUMMY_PASSWORD_HASH, verifyPassword } from "../auth/passwords";
import type { Deps, UserCaller } from "../deps";
import type { RequestMeta } from "../operation";
import { authenticateApiKey } from "./api-keys";
import { loadPrincipal } from "./principals";

export const tokenInput = z.union([
  z.object({ email: z.email().max(254), password: z.string().min(1).max(256) }).strict(),
  z.object({ apiKey: z.string().min(1).max(200) }).strict(),
]);

const LOGIN_WINDOW_MS = 15 * 60_000;

async function newRefreshToken(deps: Deps, claims: AccessClaims, familyId: string) {
  const id = newId("refreshToken");
  const token = `brt_${id}_${randomBytes(32).toString("base64url")}`;
  const expiresAt = new Date(deps.now().getTime() + deps.refreshTokenTtlSeconds * 1000);
  await withTenant(deps.db, claims.tenantId, (tx) =>
    tx.insert(refreshTokens).values({
      id,
      tenantId: claims.tenantId,
      principalId: claims.principalId,
      familyId,
      tokenHash: sha256Hex(token),
      expiresAt,
    }),
  );
  return token;
}

export const tokenReply = z.strictObject({
  accessToken: z.string(),
  tokenType: z.literal("Bearer"),
  expiresIn: z.number().int().describe("seconds the access token is valid for"),
  refreshToken: z
    .string()
    .optional()
    .describe("for a password sign-in or a refresh only (an API key's tokens are not refreshed)"),
});
export const signedOutReply = z.strictObject({ signedOut: z.literal(true) });
export const meReply = z.strictObject({
  tenantId: z.string(),
  principal: z.strictObject({
    id: z.string(),
    type: z.enum(["user", "serviceAccount"]),
    name: z.string().describe("a user's email, a service account's name"),
    status: z.enum(["active", "disabled"]),
  }),
  viaApiKey: z.string().nullable().describe("the API key the caller's token was minted from, if any"),
  policies: z.array(z.strictObject({ id: z.string(), name: z.string() })),
});

async function tokensFor(
  deps: Deps,
  claims: AccessClaims,
  familyId: string | null,
): Promise<z.output<typeof tokenReply>> {
  const { accessToken, expiresIn } = await deps.tokens.issue({
    ...claims,
    ...(familyId ? { sessionId: familyId } : {}),
  });
  const refreshToken = familyId ? await newRefreshToken(deps, claims, familyId) : undefined;
  return { accessToken, tokenType: "Bearer" as const, expiresIn, ...(refreshToken ? { refreshToken } : {}) };
}

/**
 * Signs in with an email and password (→ access and refresh token) or an API key (→ access token).
 * Every password attempt is counted (per account and address, per address, per account) before the
 * password is checked; see login-throttle.ts.
 */
export async function issueToken(deps: Deps, input: z.infer<typeof tokenInput>, meta: RequestMeta) {
  if ("apiKey" in input) {
    const { principal, apiKeyId } = await authenticateApiKey(deps, input.apiKey);
    return tokensFor(
      deps,
      { tenantId: principal.tenantId, principalId: principal.id, principalType: principal.type, apiKeyId },
      null,
    );
  }
  const email = input.email.toLowerCase();
  const attempt = await reserveLoginAttempt(
    deps.redis,
    deps.queues.prefix,
    {
      perAccountAndIp: deps.limits.loginFailuresPerAccountAndIp,
      perIp: deps.limits.loginFailuresPerIp,
      perAccount: deps.limits.loginFailuresPerAccount,
      windowMs: LOGIN_WINDOW_MS,
    },
    email,
    meta.sourceIp,
  );
  // Logging in is by email, before any tenant is known.
  const [user] = await withSystem(deps.db, (tx) =>
    tx
      .select({
        id: users.id,
        tenantId: users.tenantId,
        passwordHash: users.passwordHash,
        status: users.status,
      })
      .from(users)
      .where(sql`lower(${users.email}) = ${email}`),
  );
  const ok = await verifyPassword(input.password, user?.passwordHash ?? DUMMY_PASSWORD_HASH);
  if (user) meta.attribute({ tenantId: user.tenantId, principalId: user.id, principalType: "user" });
  if (!user || !ok || user.status !== "active") throw new UnauthenticatedError("wrong email or password");
  await attempt.succeeded();
  return tokensFor(
    deps,
    { tenantId: user.tenantId, principalId: user.id, principalType: "user" },
    newId("refreshToken"),
  );
}

export const refreshInput = z.object({ refreshToken: z.string().min(10).max(200) }).strict();

/**
 * Signs out: the refresh token's whole session (its family) is revoked, and so is every access
 * token of that session (each request checks it). Answers the same whether or not the token was
 * valid, so it cannot be used to test tokens.
 */
export async function logout(
  deps: Deps,
  input: z.infer<typeof refreshInput>,
): Promise<z.output<typeof signedOutReply>> {
  const [row] = await withSystem(deps.db, (tx) =>
    tx
      .select({ tenantId: refreshTokens.tenantId, familyId: refreshTokens.familyId })
      .from(refreshTokens)
      .where(eq(refreshTokens.tokenHash, sha256Hex(input.refreshToken))),
  );
  if (row)
    await withTenant(deps.db, row.tenantId, (tx) =>
      tx
        .update(refreshTokens)
        .set({ revokedAt: deps.now() })
        .where(and(eq(refreshTokens.familyId, row.familyId), isNull(refreshTokens.revokedAt))),
    );
  return { signedOut: true };
}

/**
 * Trades a refresh token for new tokens; the old one is spent. Presenting a spent token means it
 * leaked: every token of its family is revoked, the thief's and the user's alike.
 */
export async function refresh(deps: Deps, input: z.infer<typeof refreshInput>) {
  const fail = new UnauthenticatedError("the refresh token is invalid, expired or revoked");
  const now = deps.now();
  const hash = sha256Hex(input.refreshToken);
  const [row] = await withSystem(deps.db, (tx) =>
    tx.select().from(refreshTokens).where(eq(refreshTokens.tokenHash, hash)),
  );
  if (!row || row.revokedAt || row.expiresAt <= now) throw fail;
  const spent = await withTenant(deps.db, row.tenantId, async (tx) => {
    const [won] = await tx
      .update(refreshTokens)
      .set({ usedAt: now })
      .where(and(eq(refreshTokens.id, row.id), isNull(refreshTokens.usedAt)))
      .returning({ id: refreshTokens.id });
    if (won) return false;
    await tx
      .update(refreshTokens)
      .set({ revokedAt: now })
      .where(and(eq(refreshTokens.familyId, row.familyId), isNull(refreshTokens.revokedAt)));
    return true;
  });
  if (spent) {
    deps.logger.warn(
      { familyId: row.familyId, principalId: row.principalId },
      "refresh token reused: family revoked",
    );
    throw fail;
  }
  const principal = await withTenant(deps.db, row.tenantId, (tx) => loadPrincipal(tx, row.principalId)).catch(
    () => null,
  );
  if (principal?.status !== "active") throw fail;
  if (principal.sessionsValidAfter && row.createdAt < principal.sessionsValidAfter) throw fail;
  return tokensFor(
    deps,
    { tenantId: row.tenantId, principalId: principal.id, principalType: principal.type },
    row.familyId,
  );
}

/** Who the caller is, and what is attached to it. */
export async function me(deps: Deps, caller: UserCaller): Promise<z.output<typeof meReply>> {
  return withTenant(deps.db, caller.tenantId, async (tx) => {
    const principal = await loadPrincipal(tx, caller.principalId);
    const policySet = await policiesOf(tx, caller.principalId);
    return {
      tenantId: caller.tenantId,
      principal: { id: principal.id, type: principal.type, name: principal.name, status: principal.status },
      viaApiKey: caller.apiKeyId ?? null,
      policies: policySet.map((p) => ({ id: p.id, name: p.name })),
    };
  });
}
