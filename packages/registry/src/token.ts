import { createHash, createPrivateKey, createPublicKey, type KeyObject, randomUUID, sign } from "node:crypto";
import type { ResourceAccess } from "./names";

/**
 * Bearer tokens in the format the CNCF Distribution registry (2.8) verifies in its `auth.token`
 * mode: a compact JWS signed with ES256, whose header names the signing key by `kid` in libtrust's
 * fingerprint form, and whose claims carry `iss` (the configured issuer), `aud` (the configured
 * service), `exp`/`nbf`/`iat` and `access` (what the bearer may do). The registry trusts a `kid`
 * when it is the fingerprint of a public key in its `rootcertbundle`.
 */

export interface RegistrySigningKey {
  readonly privateKey: KeyObject;
  /** The libtrust fingerprint of the public key: what the registry looks the key up by. */
  readonly kid: string;
}

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

function base32(bytes: Uint8Array): string {
  let out = "";
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

/**
 * libtrust's key id: the SHA-256 of the key's DER SubjectPublicKeyInfo, its first 240 bits in
 * base32 (48 characters), in 12 groups of 4 joined by `:`.
 */
export function libtrustKeyId(key: KeyObject): string {
  const publicKey = key.type === "private" ? createPublicKey(key) : key;
  const der = publicKey.export({ type: "spki", format: "der" });
  const encoded = base32(createHash("sha256").update(der).digest().subarray(0, 30));
  return encoded.match(/.{4}/g)?.join(":") ?? encoded;
}

/** Reads a PEM private key (PKCS#8 or SEC1); only EC P-256 keys are accepted (the registry's ES256). */
export function loadRegistrySigningKey(pem: string): RegistrySigningKey {
  const privateKey = createPrivateKey(pem);
  const curve = privateKey.asymmetricKeyDetails?.namedCurve;
  if (privateKey.asymmetricKeyType !== "ec" || curve !== "prime256v1")
    throw new Error(
      "the registry token key must be an EC P-256 private key (openssl ecparam -name prime256v1)",
    );
  return { privateKey, kid: libtrustKeyId(privateKey) };
}

const b64url = (data: string | Buffer): string => Buffer.from(data).toString("base64url");

export interface RegistryTokenRequest {
  issuer: string;
  /** The registry's `auth.token.service`: the token's audience. */
  service: string;
  /** Who the token is for (a principal, a node, `platform`). */
  subject: string;
  access: readonly ResourceAccess[];
  ttlSeconds: number;
  now?: Date;
}

export interface RegistryToken {
  token: string;
  expiresIn: number;
  issuedAt: Date;
}

export function signRegistryToken(key: RegistrySigningKey, req: RegistryTokenRequest): RegistryToken {
  const issuedAt = req.now ?? new Date();
  const iat = Math.floor(issuedAt.getTime() / 1000);
  const header = { typ: "JWT", alg: "ES256", kid: key.kid };
  const claims = {
    iss: req.issuer,
    sub: req.subject,
    aud: req.service,
    exp: iat + req.ttlSeconds,
    nbf: iat,
    iat,
    jti: randomUUID(),
    access: req.access,
  };
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  const signature = sign("sha256", Buffer.from(input), { key: key.privateKey, dsaEncoding: "ieee-p1363" });
  return { token: `${input}.${b64url(signature)}`, expiresIn: req.ttlSeconds, issuedAt };
}
