import { BerthError, ValidationError } from "@berth/core";
import type { z } from "zod";

/** A field path as Kubernetes writes it: `spec.template.spec.containers[0].image`. */
export function fieldPath(path: readonly PropertyKey[], prefix = ""): string {
  let out = prefix;
  for (const p of path) {
    if (typeof p === "number") out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out || "(root)";
}

/**
 * Parses a manifest with its kind's schema; the errors name each field as Kubernetes does
 * (`spec.replicas: …`, `spec.template.spec.foo: unknown field "foo"`), under `prefix` when given
 * (`documents[3]`). At most 20 issues are reported; the first is the message.
 */
export function parseManifest<S extends z.ZodType>(schema: S, doc: unknown, prefix = ""): z.output<S> {
  const result = schema.safeParse(doc);
  if (result.success) return result.data;
  const issues: { path: string; message: string }[] = [];
  for (const issue of result.error.issues.slice(0, 20)) {
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys.slice(0, 5)) {
        const path = fieldPath([...issue.path, key], prefix);
        issues.push({ path, message: `unknown field ${JSON.stringify(key)}` });
      }
      continue;
    }
    issues.push({ path: fieldPath(issue.path, prefix), message: issue.message });
  }
  const first = issues[0] ?? { path: prefix || "(root)", message: "invalid" };
  // What the schema refuses for Pod Security (hostPath, hostNetwork, …) is a 403, as Kubernetes'
  // PodSecurity admission answers, like the refusals of pod-security.ts.
  if (/\(Pod Security: restricted\)$/.test(first.message))
    throw new BerthError("FORBIDDEN", `${first.path}: ${first.message}`, { details: { issues } });
  throw new ValidationError(`${first.path}: ${first.message}`, issues);
}
