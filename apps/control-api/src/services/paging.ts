import { cursorSchema } from "@berth/core";
import { z } from "zod";
import { yieldToForeground } from "../http/foreground";

/** Lists are paged by id (newest first); a page holds at most 500 items. */
export const MAX_PAGE_SIZE = 500;
export const pageInput = z.object({
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).default(100),
  cursor: cursorSchema.optional(),
});

export function page<T extends { id: string }>(
  rows: T[],
  limit: number,
): { items: T[]; nextCursor: string | null } {
  const items = rows.slice(0, limit);
  return { items, nextCursor: rows.length > limit ? (items.at(-1)?.id ?? null) : null };
}

/**
 * Rows a long page reads per query. A page of 500 is then five short pieces of work with the
 * database's round trip between them, and each slice is mapped and rendered as it arrives, so one
 * tenant's long list never holds the event loop for the whole page (the noisy-neighbour bench).
 */
export const PAGE_SLICE_ROWS = 50;

/**
 * A page read `PAGE_SLICE_ROWS` rows at a time, newest id first: `read(before, take)` returns at
 * most `take` rows with ids below `before` (from the top when undefined), in that order; `idOf`
 * tells a row's id.
 */
export async function pageInSlices<R, V extends { id: string }>(
  limit: number,
  read: (before: string | undefined, take: number) => Promise<R[]>,
  render: (row: R) => V,
  idOf: (row: R) => string,
): Promise<{ items: V[]; nextCursor: string | null }> {
  const views: V[] = [];
  let before: string | undefined;
  // One row more than the page tells whether a next page exists.
  while (views.length < limit + 1) {
    const take = Math.min(PAGE_SLICE_ROWS, limit + 1 - views.length);
    // Small calls in flight go first (see http/foreground.ts).
    if (before !== undefined) await yieldToForeground();
    const rows = await read(before, take);
    for (const row of rows) views.push(render(row));
    if (rows.length < take) break;
    const last = rows.at(-1);
    before = last === undefined ? undefined : idOf(last);
  }
  return page(views, limit);
}
