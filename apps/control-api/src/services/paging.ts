import { objectId } from "@berth/protocol";
import { z } from "zod";

/** Lists are paged by id (newest first); a page holds at most 500 items. */
export const MAX_PAGE_SIZE = 500;
export const pageInput = z.object({
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).default(100),
  /** The last id of the previous page: an id of ours, nothing else (never a NUL byte into a query). */
  cursor: objectId.optional(),
});

export function page<T extends { id: string }>(
  rows: T[],
  limit: number,
): { items: T[]; nextCursor: string | null } {
  const items = rows.slice(0, limit);
  return { items, nextCursor: rows.length > limit ? (items.at(-1)?.id ?? null) : null };
}
