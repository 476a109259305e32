import { createCipheriv, createDecipheriv, createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";

/**
 * Envelope encryption for secrets at rest. Each secret gets its own data key (AES-256-GCM); the data
 * key is wrapped by the master key. The `context` (e.g. a cluster id) is authenticated data: a
 * ciphertext copied to another row does not decrypt.
 *
 * Format: `v1.<masterKeyId>.<wrappedKey>.<iv>.<ciphertext+tag>`, base64url parts.
 */
export interface MasterKey {
  readonly id: string;
  readonly key: Buffer;
}

export function parseMasterKey(base64: string): MasterKey {
  const key = Buffer.from(base64, "base64");
  if (key.length !== 32) throw new Error("the master key must be 32 bytes, base64-encoded");
  return { id: createHash("sha256").update(key).digest("base64url").slice(0, 8), key };
}

export function generateMasterKey(): string {
  return randomBytes(32).toString("base64");
}

function seal(key: Buffer, plaintext: Buffer, aad: string): Buffer {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  cipher.setAAD(Buffer.from(aad));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([iv, body, cipher.getAuthTag()]);
}

function open(key: Buffer, sealed: Buffer, aad: string): Buffer {
  const iv = sealed.subarray(0, 12);
  const tag = sealed.subarray(sealed.length - 16);
  const body = sealed.subarray(12, sealed.length - 16);
  const decipher = createDecipheriv("aes-256-gcm", key, iv);
  decipher.setAAD(Buffer.from(aad));
  decipher.setAuthTag(tag);
  return Buffer.concat([decipher.update(body), decipher.final()]);
}

export function encryptSecret(master: MasterKey, plaintext: string, context: string): string {
  const dataKey = randomBytes(32);
  const wrapped = seal(master.key, dataKey, `berth-dek:${context}`);
  const sealed = seal(dataKey, Buffer.from(plaintext, "utf8"), `berth-secret:${context}`);
  return ["v1", master.id, wrapped.toString("base64url"), sealed.toString("base64url")].join(".");
}

export function decryptSecret(master: MasterKey, envelope: string, context: string): string {
  const [version, keyId, wrapped, sealed] = envelope.split(".");
  if (version !== "v1" || !wrapped || !sealed) throw new Error("unrecognised secret envelope");
  if (keyId !== master.id) throw new Error(`secret was encrypted with master key ${keyId}, not ${master.id}`);
  const dataKey = open(master.key, Buffer.from(wrapped, "base64url"), `berth-dek:${context}`);
  return open(dataKey, Buffer.from(sealed, "base64url"), `berth-secret:${context}`).toString("utf8");
}

/** A random, URL-safe secret with a readable prefix: `bjt_…`. */
export function newSecretToken(prefix: string, bytes = 32): string {
  return `${prefix}_${randomBytes(bytes).toString("base64url")}`;
}

export function sha256Hex(value: string): string {
  return createHash("sha256").update(value).digest("hex");
}

export function constantTimeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  return ab.length === bb.length && timingSafeEqual(ab, bb);
}

/**
 * Outside production, a master key is generated once and kept beside the local databases, so that
 * `npm run up` needs no configuration. Production must pass BERTH_MASTER_KEY.
 */
export function developmentMasterKey(development: boolean, dataDir: string): string {
  if (!development)
    throw new Error(
      "invalid environment:\n  BERTH_MASTER_KEY: required (32 bytes, base64); only BERTH_DEV=1 keeps a development key under BERTH_DATA_DIR",
    );
  const file = resolve(dataDir, "master.key");
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true });
    try {
      writeFileSync(file, generateMasterKey(), { mode: 0o600, flag: "wx" });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
  }
  return readFileSync(file, "utf8").trim();
}
