import { randomBytes } from "node:crypto";

/** Every id kind Berth hands out, with its prefix. */
export const ID_PREFIXES = {
  tenant: "ten",
  user: "usr",
  cluster: "cl",
  joinToken: "jt",
  node: "node",
  deployment: "dep",
  pod: "pod",
  event: "evt",
  meter: "mtr",
  serviceAccount: "sa",
  apiKey: "ak",
  policy: "pol",
  attachment: "att",
  refreshToken: "rt",
  audit: "aud",
  nodePool: "np",
  machine: "m",
  /** Kubernetes-shaped objects of the `objects` table (Namespace, ConfigMap, Secret, Job, …). */
  object: "obj",
  invoice: "inv",
  priceBook: "pb",
  budget: "bud",
  /** One fired budget alert (budget × month × threshold × actual|forecast); a webhook event's id. */
  budgetAlert: "bal",
  webhook: "wh",
  webhookDelivery: "whd",
  /** A cluster's tunnel CA (the nodes' mutual-TLS trust root). */
  clusterCa: "ca",
} as const;
export type IdKind = keyof typeof ID_PREFIXES;

const ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"; // Crockford base32, lower case

function encodeTime(ms: number): string {
  let out = "";
  let n = ms;
  for (let i = 0; i < 10; i++) {
    out = ALPHABET.charAt(n % 32) + out;
    n = Math.floor(n / 32);
  }
  return out;
}

/**
 * Ids' random bytes, drawn from the CSPRNG a page at a time: a call for 16 bytes costs about as much
 * as one for 4 KiB (a request that makes ids for a row and its audit entry spent ~3 % of its CPU
 * there, profiled). Ids are not secrets; tokens and keys still draw their own bytes.
 */
const POOL_BYTES = 4096;
let pool = Buffer.alloc(0);
let pooled = 0;

/** A prefixed, time-sortable id: `cl_01hx…` (10 chars of milliseconds, 16 random). */
export function newId(kind: IdKind, now: number = Date.now()): string {
  if (pooled + 16 > pool.length) {
    pool = randomBytes(POOL_BYTES);
    pooled = 0;
  }
  let tail = "";
  for (let i = pooled; i < pooled + 16; i++) tail += ALPHABET.charAt((pool[i] ?? 0) % 32);
  pooled += 16;
  return `${ID_PREFIXES[kind]}_${encodeTime(now)}${tail}`;
}

export function isIdOf(kind: IdKind, value: string): boolean {
  return new RegExp(`^${ID_PREFIXES[kind]}_[0-9a-z]{26}$`).test(value);
}
