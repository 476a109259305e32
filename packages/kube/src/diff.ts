/**
 * The field paths on which two JSON values differ (`spec.replicas`,
 * `spec.template.spec.containers[0].image`), for apply's "configured" answers and dry runs.
 * Objects are compared key by key, arrays element by element (a length change is the array's path).
 */
export function changedPaths(before: unknown, after: unknown, path = ""): string[] {
  if (Object.is(before, after)) return [];
  const isObj = (v: unknown): v is Record<string, unknown> =>
    typeof v === "object" && v !== null && !Array.isArray(v);
  if (Array.isArray(before) && Array.isArray(after)) {
    if (before.length !== after.length) return [path || "(root)"];
    return before.flatMap((b, i) => changedPaths(b, after[i], `${path}[${i}]`));
  }
  if (isObj(before) && isObj(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((k) => changedPaths(before[k], after[k], path ? `${path}.${k}` : k));
  }
  return [path || "(root)"];
}
