import { cursorSchema } from "@berth/core";
import { z } from "zod";

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
