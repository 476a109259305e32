import { BerthError, ValidationError } from "@berth/core";
import { KINDS, type KindName, kindOf, parseManifest } from "@berth/kube";
import type { z } from "zod";
import { kindInfo } from "./names";

/** A document of a write, read far enough to know what it is: its kind, namespace and name. */
export interface Identified {
  kind: KindName;
  namespace: string;
  name: string;
  /** The manifest, parsed by its kind's schema (its type is the kind's; see admission.ts). */
  input: unknown;
  /** Where errors about it point: "" for a PUT, `documents[3]` in an apply. */
  prefix: string;
}

/** Prefixes a failure about a document with where it is (`documents[3].spec.replicas: …`). */
export function atDocument<T>(prefix: string, fn: () => T): T {
  if (!prefix) return fn();
  try {
    return fn();
  } catch (error) {
    if (!(error instanceof BerthError)) throw error;
    const issues = error.details.issues?.map((i) => ({ ...i, path: `${prefix}.${i.path}` }));
    throw new BerthError(error.code, `${prefix}.${error.message}`, {
      retryable: error.retryable,
      details: { ...error.details, ...(issues ? { issues } : {}) },
      cause: error,
    });
  }
}

const fail = (path: string, message: string): never => {
  throw new ValidationError(`${path}: ${message}`, [{ path, message }]);
};

/** A document of `POST …/apply`: its apiVersion and kind say what it is; its namespace defaults to `default`. */
export function identifyDocument(doc: unknown, index: number): Identified {
  const prefix = `documents[${index}]`;
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) fail(prefix, "must be an object");
  const d = doc as {
    apiVersion?: unknown;
    kind?: unknown;
    metadata?: { name?: unknown; namespace?: unknown };
  };
  const info = kindOf(d.apiVersion, d.kind);
  if (!info) {
    const known = Object.values(KINDS)
      .map((k) => `${k.apiVersion} ${k.kind}`)
      .join(", ");
    fail(
      `${prefix}.kind`,
      `${JSON.stringify(d.apiVersion)} ${JSON.stringify(d.kind)} is not a kind Berth serves (${known})`,
    );
  }
  const kind = (info as { kind: KindName }).kind;
  const input = parseManifest(KINDS[kind].schema as z.ZodType, doc, prefix);
  const meta = (input as { metadata?: { name?: string; namespace?: string } }).metadata;
  if (!meta?.name) fail(`${prefix}.metadata.name`, "is required");
  const namespaced = kindInfo(kind).namespaced;
  if (!namespaced && meta?.namespace !== undefined)
    fail(`${prefix}.metadata.namespace`, `a ${kind} is not namespaced; remove metadata.namespace`);
  return {
    kind,
    namespace: namespaced ? (meta?.namespace ?? "default") : "",
    name: meta?.name as string,
    input,
    prefix,
  };
}

/** The body of `PUT …/{plural}/{namespace}/{name}`: its kind, name and namespace, if given, must be the URL's. */
export function identifyPut(
  kind: KindName,
  doc: unknown,
  where: { namespace: string; name: string },
): Identified {
  const info = KINDS[kind];
  if (typeof doc !== "object" || doc === null || Array.isArray(doc))
    fail("(body)", `must be a ${kind} object`);
  const d = doc as { apiVersion?: unknown; kind?: unknown };
  if (d.kind !== undefined && d.kind !== kind)
    fail("kind", `must be ${kind} (the URL's kind), not ${JSON.stringify(d.kind)}`);
  if (d.apiVersion !== undefined && d.apiVersion !== info.apiVersion)
    fail("apiVersion", `must be ${info.apiVersion} for a ${kind}`);
  const input = parseManifest(info.schema as z.ZodType, doc);
  const meta = (input as { metadata?: { name?: string; namespace?: string } }).metadata;
  if (meta?.name !== undefined && meta.name !== where.name)
    fail("metadata.name", `${JSON.stringify(meta.name)} does not match the URL (${where.name})`);
  if (info.namespaced && meta?.namespace !== undefined && meta.namespace !== where.namespace)
    fail(
      "metadata.namespace",
      `${JSON.stringify(meta.namespace)} does not match the URL (${where.namespace})`,
    );
  if (!info.namespaced && meta?.namespace !== undefined)
    fail("metadata.namespace", `a ${kind} is not namespaced; remove metadata.namespace`);
  return { kind, namespace: info.namespaced ? where.namespace : "", name: where.name, input, prefix: "" };
}
