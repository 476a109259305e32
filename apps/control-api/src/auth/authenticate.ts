import { UnauthenticatedError } from "@berth/core";
import type { Caller, Deps, UserCaller } from "../deps";
import type { AuthKind } from "../operation";
import { authenticateApiKey } from "../services/api-keys";
import { readVersionKey } from "../services/read-cache";
import { admit } from "./authorize";
import { verifyNodeCredential } from "./node-credentials";
import { hit, type Window } from "./rate-limit";

const MINUTE = 60_000;

/** A tenant principal's request windows: its own, and its tenant's. */
/** A tenant principal's call once its claims are verified: admitted (not disabled, its policies). */
export async function admittedUser(
  deps: Deps,
  claims: Parameters<typeof admit>[1],
  readVersion?: string,
): Promise<UserCaller> {
  return {
    kind: "user",
    tenantId: claims.tenantId,
    principalId: claims.principalId,
    principalType: claims.principalType,
    apiKeyId: claims.apiKeyId,
    policies: await admit(deps, claims),
    ...(readVersion === undefined ? {} : { readVersion }),
  };
}

export function principalWindows(deps: Deps, who: { principalId: string; tenantId: string }): Window[] {
  return [
    {
      key: `principal:${who.principalId}`,
      limit: deps.limits.requestsPerMinutePerPrincipal,
      windowMs: MINUTE,
    },
    { key: `tenant:${who.tenantId}`, limit: deps.limits.requestsPerMinutePerTenant, windowMs: MINUTE },
  ];
}

/**
 * An API key sent as the bearer itself (only where an operation allows it: scrapers such as
 * Prometheus cannot exchange a key for an access token): the same checks as the exchange, as if
 * a token had been issued now.
 */
/** The claims an API key stands for, as an access token would carry them. */
export async function apiKeyClaims(deps: Deps, key: string) {
  const { principal, apiKeyId } = await authenticateApiKey(deps, key);
  return {
    tenantId: principal.tenantId,
    principalId: principal.id,
    principalType: principal.type,
    apiKeyId,
    issuedAt: deps.now().getTime(),
  };
}

function bearer(header: string | undefined): string {
  const m = /^Bearer ([A-Za-z0-9._~+/=-]{10,4096})$/.exec(header ?? "");
  if (!m?.[1]) throw new UnauthenticatedError("send `Authorization: Bearer <token>`");
  return m[1];
}

/**
 * Resolves the caller an operation requires from the Authorization header, or throws
 * UNAUTHENTICATED; then applies the caller's rate limits (RATE_LIMITED with Retry-After).
 */
export async function authenticate(
  deps: Deps,
  kind: AuthKind,
  authorization: string | undefined,
  sourceIp: string,
  opts: { apiKeyBearer?: boolean | undefined; cost?: number } = {},
): Promise<Caller> {
  switch (kind) {
    case "public":
      await hit(
        deps.redis,
        deps.queues.prefix,
        [{ key: `ip:${sourceIp}`, limit: deps.limits.publicRequestsPerMinutePerIp, windowMs: MINUTE }],
        "requests from this address",
      );
      return { kind: "anonymous" };
    case "user": {
      const token = bearer(authorization);
      const claims =
        opts.apiKeyBearer && token.startsWith("brk_")
          ? await apiKeyClaims(deps, token)
          : await deps.tokens.verify(token);
      // The tenant's read version comes back in the same round trip (services/read-cache.ts).
      const readVersion = await hit(
        deps.redis,
        deps.queues.prefix,
        principalWindows(deps, claims),
        "requests",
        {
          cost: opts.cost ?? 1,
          read: readVersionKey(deps.queues.prefix, claims.tenantId),
        },
      );
      return admittedUser(deps, claims, readVersion);
    }
    case "node": {
      const claims = await verifyNodeCredential(deps, bearer(authorization));
      return { kind: "node", ...claims };
    }
    default: {
      const unknownKind: never = kind;
      throw new Error(`unknown auth kind ${String(unknownKind)}`);
    }
  }
}
