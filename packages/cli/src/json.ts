/** An object as the API answers it: read with `at`, which never throws on a missing field. */
export type Json = Record<string, unknown>;

/** The value at a dotted path (`status.readyReplicas`), or undefined. */
export function at(value: unknown, path: string): unknown {
  let v = value;
  for (const key of path.split(".")) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

export const num = (value: unknown, fallback = 0): number => (typeof value === "number" ? value : fallback);
export const str = (value: unknown, fallback = ""): string =>
  typeof value === "string" ? value : typeof value === "number" ? String(value) : fallback;
export const arr = (value: unknown): Json[] => (Array.isArray(value) ? (value as Json[]) : []);
export const rec = (value: unknown): Record<string, string> =>
  value !== null && typeof value === "object" && !Array.isArray(value)
    ? (value as Record<string, string>)
    : {};

/** Every page of a paged list (`nextCursor`). */
export async function listAll<T>(
  page: (cursor: string | undefined) => Promise<{ items: readonly T[]; nextCursor?: string | null }>,
): Promise<T[]> {
  const items: T[] = [];
  for (let cursor: string | undefined; ; ) {
    const p = await page(cursor);
    items.push(...p.items);
    if (!p.nextCursor) return items;
    cursor = p.nextCursor;
  }
}
