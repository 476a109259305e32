import {
  decryptSecret,
  encryptSecret,
  generateSigningKey,
  importPrivateKey,
  type MasterKey,
  TOKEN_ALG,
  UnauthenticatedError,
} from "@berth/core";
import { type Db, signingKeys, withSystem } from "@berth/db";
import { eq, sql } from "drizzle-orm";
import { createLocalJWKSet, type JSONWebKeySet, type JWK, jwtVerify, SignJWT } from "jose";

export const API_AUDIENCE = "berth:api";

export interface AccessClaims {
  tenantId: string;
  userId: string;
}

export interface AccessTokens {
  issue(claims: AccessClaims): Promise<{ accessToken: string; expiresIn: number }>;
  verify(token: string): Promise<AccessClaims>;
  jwks(): JSONWebKeySet;
}

/**
 * Access tokens for tenants' principals: EdDSA JWTs signed with the platform's active key, which is
 * created on first boot (under an advisory lock, so replicas agree on one) and stored encrypted.
 * Verification pins the algorithm, issuer and audience, and accepts only keys of the JWKS.
 */
export async function loadAccessTokens(
  db: Db,
  master: MasterKey,
  opts: { issuer: string; ttlSeconds: number },
): Promise<AccessTokens> {
  const rows = await withSystem(db, async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext('berth:platform-signing-key'))`);
    const existing = await tx.select().from(signingKeys).where(eq(signingKeys.status, "active"));
    if (existing.length > 0) return tx.select().from(signingKeys);
    const key = await generateSigningKey();
    await tx.insert(signingKeys).values({
      kid: key.kid,
      alg: TOKEN_ALG,
      publicJwk: JSON.stringify(key.publicJwk),
      privateKeyEnc: encryptSecret(master, key.privatePkcs8, `signing-key:${key.kid}`),
    });
    return tx.select().from(signingKeys);
  });
  const active = rows.filter((r) => r.status === "active").sort((a, b) => +b.createdAt - +a.createdAt)[0];
  if (!active) throw new Error("no active signing key");
  const privateKey = await importPrivateKey(
    decryptSecret(master, active.privateKeyEnc, `signing-key:${active.kid}`),
  );
  const jwks: JSONWebKeySet = { keys: rows.map((r) => JSON.parse(r.publicJwk) as JWK) };
  const keySet = createLocalJWKSet(jwks);

  return {
    async issue({ tenantId, userId }) {
      const accessToken = await new SignJWT({ tid: tenantId })
        .setProtectedHeader({ alg: TOKEN_ALG, kid: active.kid, typ: "at+jwt" })
        .setIssuer(opts.issuer)
        .setAudience(API_AUDIENCE)
        .setSubject(userId)
        .setIssuedAt()
        .setNotBefore("0s")
        .setExpirationTime(`${opts.ttlSeconds}s`)
        .setJti(crypto.randomUUID())
        .sign(privateKey);
      return { accessToken, expiresIn: opts.ttlSeconds };
    },
    async verify(token) {
      try {
        const { payload } = await jwtVerify(token, keySet, {
          algorithms: [TOKEN_ALG],
          issuer: opts.issuer,
          audience: API_AUDIENCE,
          typ: "at+jwt",
          requiredClaims: ["exp", "iat", "sub", "tid"],
        });
        if (typeof payload.sub !== "string" || typeof payload.tid !== "string") throw new Error("claims");
        return { tenantId: payload.tid, userId: payload.sub };
      } catch {
        throw new UnauthenticatedError("the access token is invalid or expired");
      }
    },
    jwks: () => jwks,
  };
}
