import type { Resolve } from "./template";
import type { AuthorizationRequest } from "./types";

/** A context value once looked up: absent keys are `undefined`. */
export type ContextValue = string | readonly string[];

/**
 * The request context keyed by lower-cased name: AWS condition key names are
 * case-insensitive ("IAM JSON policy elements: Condition", "aws:SourceIP is equivalent to
 * AWS:SourceIp"). If the caller passes two keys that differ only in case, the first one
 * with a value wins; Berth's callers never do.
 */
export function indexContext(context: AuthorizationRequest["context"]): Map<string, ContextValue> {
  const index = new Map<string, ContextValue>();
  // Not an object (a string's characters would be for…in keys): empty. for…in over null visits nothing.
  if (typeof context !== "object") return index;
  for (const key in context) {
    if (!Object.hasOwn(context, key)) continue;
    const value = readable(context[key]);
    if (value === undefined) continue;
    const lower = key.toLowerCase();
    if (!index.has(lower)) index.set(lower, value);
  }
  return index;
}

/** Strings and lists of strings; anything else a caller slips past the types counts as absent. */
function readable(value: unknown): ContextValue | undefined {
  if (typeof value === "string") return value;
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : undefined;
}

/**
 * Policy variables resolve to single-valued keys only; a multivalued key cannot be a
 * variable (AWS, "Single-valued vs. multivalued context keys": "you cannot use multivalued
 * context keys as policy variables").
 */
export function resolverFor(index: ReadonlyMap<string, ContextValue>): Resolve {
  return (key) => {
    const value = index.get(key);
    return typeof value === "string" ? value : undefined;
  };
}

/**
 * Whether a key counts as present. An empty list counts as absent: AWS treats "context keys
 * with empty values" like missing ones (ForAllValues is true for both; `Null: false` rules
 * both out — "Multivalued context key examples").
 */
export function isPresent(value: ContextValue | undefined): value is ContextValue {
  return value !== undefined && (typeof value === "string" || value.length > 0);
}
