import { randomBytes } from "node:crypto";
import { BerthError, newId, sha256Hex, UnauthenticatedError } from "@berth/core";
import { refreshTokens, users, withSystem, withTenant } from "@berth/db";
import { and, eq, isNull, sql } from "drizzle-orm";
import { z } from "zod";
import type { AccessClaims } from "../auth/access-tokens";
import { policiesOf } from "../auth/authorize";
import { DUMMY_PASSWORD_HASH, verifyPassword } from "../auth/passwords";
import { hit, peek, reset } from "../auth/rate-limit";
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

async function tokensFor(deps: Deps, claims: AccessClaims, familyId: string | null) {
  const { accessToken, expiresIn } = await deps.tokens.issue(claims);
  const refreshToken = familyId ? await newRefreshToken(deps, claims, familyId) : undefined;
  return { accessToken, tokenType: "Bearer" as const, expiresIn, ...(refreshToken ? { refreshToken } : {}) };
}

/**
 * Signs in with an email and password (→ access and refresh token) or an API key (→ access token).
 * Failed passwords are throttled per account and per address before the password is even checked.
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
  const windows = [
    {
      key: `login:acct:${sha256Hex(email)}`,
      limit: deps.limits.loginFailuresPerAccount,
      windowMs: LOGIN_WINDOW_MS,
    },
    { key: `login:ip:${meta.sourceIp}`, limit: deps.limits.loginFailuresPerIp, windowMs: LOGIN_WINDOW_MS },
  ];
  for (const w of windows) {
    const { count, ttlMs } = await peek(deps.redis, deps.queues.prefix, w);
    if (count >= w.limit) {
      const retryAfterSeconds = Math.max(1, Math.ceil(ttlMs / 1000));
      throw new BerthError("RATE_LIMITED", `too many failed sign-ins; retry in ${retryAfterSeconds} s`, {
        retryable: true,
        details: { retryAfterSeconds },
      });
    }
  }
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
  if (!user || !ok || user.status !== "active") {
    for (const w of windows)
      await hit(deps.redis, deps.queues.prefix, [{ ...w, limit: Number.MAX_SAFE_INTEGER }], "sign-ins");
    throw new UnauthenticatedError("wrong email or password");
  }
  await reset(deps.redis, deps.queues.prefix, windows[0]?.key ?? "");
  return tokensFor(
    deps,
    { tenantId: user.tenantId, principalId: user.id, principalType: "user" },
    newId("refreshToken"),
  );
}

export const refreshInput = z.object({ refreshToken: z.string().min(10).max(200) }).strict();

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
  return tokensFor(
    deps,
    { tenantId: row.tenantId, principalId: principal.id, principalType: principal.type },
    row.familyId,
  );
}

/** Who the caller is, and what is attached to it. */
export async function me(deps: Deps, caller: UserCaller) {
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
