import { randomUUID } from "node:crypto";
import { exportJWK, exportPKCS8, generateKeyPair, importJWK, importPKCS8, type JWK } from "jose";

/** Every token Berth signs is EdDSA (Ed25519); verification pins this algorithm. */
export const TOKEN_ALG = "EdDSA";

export interface GeneratedSigningKey {
  kid: string;
  privatePkcs8: string;
  publicJwk: JWK;
}

export async function generateSigningKey(): Promise<GeneratedSigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(TOKEN_ALG, { crv: "Ed25519", extractable: true });
  const kid = randomUUID();
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: TOKEN_ALG, use: "sig" };
  return { kid, privatePkcs8: await exportPKCS8(privateKey), publicJwk };
}

export type SigningKeyLike = Awaited<ReturnType<typeof importPKCS8>>;

export function importPrivateKey(pkcs8: string): Promise<SigningKeyLike> {
  return importPKCS8(pkcs8, TOKEN_ALG);
}

export function importPublicJwk(jwk: JWK): Promise<SigningKeyLike | Uint8Array> {
  return importJWK(jwk, TOKEN_ALG);
}
