import { labelMap, text } from "@berth/protocol";
import { z } from "zod";
import { labelNamedMetaSchema, objectMetaSchema } from "../meta";
import { ignored, invalid } from "./common";

/** Keys of ConfigMaps and Secrets: `[-._a-zA-Z0-9]+`, at most 253 characters. */
export const dataKey = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[-._a-zA-Z0-9]+$/, "must be a key of alphanumerics, '-', '_' or '.'");
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const base64 = z
  .string()
  .max(1_400_000)
  .refine((s) => s.length % 4 === 0 && BASE64.test(s), "must be base64");

/** ConfigMaps and Secrets hold at most 1 MiB (Kubernetes' limit). */
export const MAX_DATA_BYTES = 1024 * 1024;

function checkKeys(maps: readonly (Record<string, string> | undefined)[], path: string): void {
  const seen = new Set<string>();
  for (const m of maps)
    for (const k of Object.keys(m ?? {})) {
      if (seen.has(k)) invalid(`${path}.${k}`, "the key is given twice (data and binaryData/stringData)");
      seen.add(k);
    }
}

export const configMapSchema = z
  .object({
    apiVersion: z.literal("v1").optional(),
    kind: z.literal("ConfigMap").optional(),
    metadata: objectMetaSchema.optional(),
    data: z.record(dataKey, text(MAX_DATA_BYTES)).optional(),
    binaryData: z.record(dataKey, base64).optional(),
    immutable: z.boolean().optional(),
  })
  .strict();
export type ConfigMapInput = z.infer<typeof configMapSchema>;

/** A ConfigMap's content as stored: every value as bytes in base64 (data and binaryData alike). */
export interface ConfigMapSpec {
  /** Text values. */
  data: Record<string, string>;
  /** Binary values, base64. */
  binaryData: Record<string, string>;
  immutable: boolean;
}

export function normaliseConfigMap(c: ConfigMapInput): ConfigMapSpec {
  checkKeys([c.data, c.binaryData], "data");
  const size =
    Object.entries(c.data ?? {}).reduce((n, [k, v]) => n + k.length + Buffer.byteLength(v), 0) +
    Object.entries(c.binaryData ?? {}).reduce(
      (n, [k, v]) => n + k.length + Math.floor((v.length * 3) / 4),
      0,
    );
  if (size > MAX_DATA_BYTES) invalid("data", `a ConfigMap may hold at most 1 MiB (this one ${size} bytes)`);
  return { data: c.data ?? {}, binaryData: c.binaryData ?? {}, immutable: c.immutable ?? false };
}

export const SECRET_TYPES = [
  "Opaque",
  "kubernetes.io/tls",
  "kubernetes.io/dockerconfigjson",
  "kubernetes.io/basic-auth",
  "kubernetes.io/ssh-auth",
] as const;

export const secretSchema = z
  .object({
    apiVersion: z.literal("v1").optional(),
    kind: z.literal("Secret").optional(),
    metadata: objectMetaSchema.optional(),
    type: z.enum(SECRET_TYPES).optional(),
    data: z.record(dataKey, base64).optional(),
    /** Write-only convenience: merged into `data` (encoded) on write; wins over `data` (Kubernetes). */
    stringData: z.record(dataKey, text(MAX_DATA_BYTES)).optional(),
    immutable: z.boolean().optional(),
  })
  .strict();
export type SecretInput = z.infer<typeof secretSchema>;

/** A Secret as stored: its values as base64, encrypted at rest as a whole by the caller. */
export interface SecretSpec {
  type: (typeof SECRET_TYPES)[number];
  data: Record<string, string>;
  immutable: boolean;
}

const REQUIRED_KEYS: Partial<Record<SecretSpec["type"], string[]>> = {
  "kubernetes.io/tls": ["tls.crt", "tls.key"],
  "kubernetes.io/dockerconfigjson": [".dockerconfigjson"],
  "kubernetes.io/ssh-auth": ["ssh-privatekey"],
};

export function normaliseSecret(s: SecretInput): SecretSpec {
  const data: Record<string, string> = { ...(s.data ?? {}) };
  for (const [k, v] of Object.entries(s.stringData ?? {}))
    data[k] = Buffer.from(v, "utf8").toString("base64");
  const size = Object.entries(data).reduce((n, [k, v]) => n + k.length + Math.floor((v.length * 3) / 4), 0);
  if (size > MAX_DATA_BYTES) invalid("data", `a Secret may hold at most 1 MiB (this one ${size} bytes)`);
  const type = s.type ?? "Opaque";
  for (const key of REQUIRED_KEYS[type] ?? [])
    if (!(key in data)) invalid(`data.${key}`, `a Secret of type ${type} needs the key ${key}`);
  return { type, data, immutable: s.immutable ?? false };
}

export const namespaceSchema = z
  .object({
    apiVersion: z.literal("v1").optional(),
    kind: z.literal("Namespace").optional(),
    metadata: labelNamedMetaSchema.optional(),
    spec: z
      .object({ finalizers: z.array(z.string()).optional() })
      .strict()
      .optional(),
    status: ignored,
  })
  .strict();
export type NamespaceInput = z.infer<typeof namespaceSchema>;

/** Namespaces every cluster has; they cannot be deleted. */
export const BUILT_IN_NAMESPACES = ["default", "kube-system", "kube-public"] as const;

export { labelMap };
