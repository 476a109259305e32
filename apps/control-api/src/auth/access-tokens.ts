import { importPrivateKey, type MasterKey, TOKEN_ALG, UnauthenticatedError } from "@berth/core";
import { type Db, loadPlatformKeys } from "@berth/db";
import { createLocalJWKSet, type JSONWebKeySet, type JWK, jwtVerify, SignJWT } from "jose";

export const API_AUDIENCE = "berth:api";

export type PrincipalType = "user" | "serviceAccount";

export interface AccessClaims {
  tenantId: string;
  principalId: string;
  principalType: PrincipalType;
  /** The API key the token was minted from, if any: revoking the key revokes the token. */
  apiKeyId?: string | undefined;
  /** The sign-in session (refresh-token family) the token belongs to, if any: signing out revokes the token. */
  sessionId?: string | undefined;
}

type VerifiedClaims = AccessClaims & { expiresAt: number; issuedAt: number };

export interface AccessTokens {
  issue(claims: AccessClaims): Promise<{ accessToken: string; expiresIn: number }>;
  verify(token: string): Promise<VerifiedClaims>;
  jwks(): Promise<JSONWebKeySet>;
}

/** How long keys loaded from the database are trusted before they are read again (rotation reaches every replica). */
const KEY_CACHE_MS = 30_000;
/** An unknown `kid` may trigger a reload at most this often (a flood of junk tokens cannot hammer the database). */
const UNKNOWN_KID_RELOAD_MS = 5_000;
/** Verified tokens remembered per replica (a few MB at most). */
const VERIFIED_CACHE_SIZE = 10_000;

/**
 * Access tokens for tenants' principals: EdDSA JWTs signed with the platform's active key.
 * Verification pins the algorithm, type, issuer and audience, requires exp/iat/nbf, and accepts
 * only keys of the JWKS (the active key, and rotated ones until their tokens have expired).
 */
export async function loadAccessTokens(
  db: Db,
  master: MasterKey,
  opts: { issuer: string; ttlSeconds: number },
): Promise<AccessTokens> {
  type Loaded = {
    at: number;
    kid: string;
    privateKey: Awaited<ReturnType<typeof importPrivateKey>>;
    jwks: JSONWebKeySet;
    keySet: ReturnType<typeof createLocalJWKSet>;
    /** The `kid`s of `jwks`. */
    kids: Set<string>;
  };
  let loaded: Loaded | null = null;
  let lastForced = 0;
  async function keys(force = false): Promise<Loaded> {
    if (loaded && !force && Date.now() - loaded.at < KEY_CACHE_MS) return loaded;
    const k = await loadPlatformKeys(db, master);
    const jwks = { keys: k.publicJwks as JWK[] };
    loaded = {
      at: Date.now(),
      kid: k.active.kid,
      privateKey: await importPrivateKey(k.active.privatePkcs8),
      jwks,
      keySet: createLocalJWKSet(jwks),
      kids: new Set(jwks.keys.map((j) => j.kid).filter((kid) => kid !== undefined)),
    };
    return loaded;
  }
  await keys();

  const fail = () => new UnauthenticatedError("the access token is invalid or expired");
  /**
   * Tokens already verified, by their exact text: a client sends the same token on every request
   * for its lifetime, and a signature check costs more than the rest of an authorised read. A hit
   * still needs its key in the current key set (a key withdrawn from the JWKS takes its tokens
   * with it) and an unexpired token. Only valid tokens are stored, so junk cannot fill it.
   */
  const verified = new Map<string, { claims: VerifiedClaims; kid: string }>();
  async function check(token: string, k: Loaded) {
    return jwtVerify(token, k.keySet, {
      algorithms: [TOKEN_ALG],
      issuer: opts.issuer,
      audience: API_AUDIENCE,
      typ: "at+jwt",
      requiredClaims: ["exp", "iat", "nbf", "sub", "tid", "pty"],
    });
  }

  return {
    async issue(claims) {
      const k = await keys();
      const accessToken = await new SignJWT({
        tid: claims.tenantId,
        pty: claims.principalType,
        ...(claims.apiKeyId ? { akid: claims.apiKeyId } : {}),
        ...(claims.sessionId ? { sid: claims.sessionId } : {}),
      })
        .setProtectedHeader({ alg: TOKEN_ALG, kid: k.kid, typ: "at+jwt" })
        .setIssuer(opts.issuer)
        .setAudience(API_AUDIENCE)
        .setSubject(claims.principalId)
        .setIssuedAt()
        .setNotBefore("0s")
        .setExpirationTime(`${opts.ttlSeconds}s`)
        .setJti(crypto.randomUUID())
        .sign(k.privateKey);
      return { accessToken, expiresIn: opts.ttlSeconds };
    },
    async verify(token) {
      const current = await keys();
      const known = verified.get(token);
      if (known && current.kids.has(known.kid) && Date.now() < known.claims.expiresAt)
        return { ...known.claims };
      if (known) verified.delete(token);
      let result: Awaited<ReturnType<typeof check>>;
      try {
        result = await check(token, current);
      } catch (error) {
        // A key rotated on another replica: reload once, rate-limited, and try again.
        const unknownKey = (error as { code?: string }).code === "ERR_JWKS_NO_MATCHING_KEY";
        if (!unknownKey || Date.now() - lastForced < UNKNOWN_KID_RELOAD_MS) throw fail();
        lastForced = Date.now();
        try {
          result = await check(token, await keys(true));
        } catch {
          throw fail();
        }
      }
      const p = result.payload;
      if (
        typeof p.sub !== "string" ||
        typeof p.tid !== "string" ||
        typeof p.exp !== "number" ||
        typeof p.iat !== "number"
      )
        throw fail();
      if (p.pty !== "user" && p.pty !== "serviceAccount") throw fail();
      if (p.akid !== undefined && typeof p.akid !== "string") throw fail();
      if (p.sid !== undefined && typeof p.sid !== "string") throw fail();
      const claims: VerifiedClaims = {
        tenantId: p.tid,
        principalId: p.sub,
        principalType: p.pty,
        apiKeyId: p.akid,
        sessionId: p.sid,
        expiresAt: p.exp * 1000,
        issuedAt: p.iat * 1000,
      };
      const kid = result.protectedHeader.kid;
      if (kid !== undefined) {
        if (verified.size >= VERIFIED_CACHE_SIZE) {
          const oldest = verified.keys().next().value;
          if (oldest !== undefined) verified.delete(oldest);
        }
        verified.set(token, { claims, kid });
      }
      return { ...claims };
    },
    async jwks() {
      return (await keys()).jwks;
    },
  };
}
