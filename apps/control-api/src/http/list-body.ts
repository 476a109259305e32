/**
 * A long page of a list goes out a slice of items at a time, with a turn of the event loop between
 * slices, given first to any small call in flight (foreground.ts): one tenant's 500-row page is
 * then many short pieces of work, and another tenant's read waits for a slice at most, not for the
 * page (the noisy-neighbour bench).
 */
import { yieldToForeground } from "./foreground";

const SLICE = 25;
/** Pages shorter than this are answered in one piece, as any other JSON answer. */
export const STREAMED_LIST_MIN_ITEMS = 50;

type Page = { items: unknown[] } & Record<string, unknown>;

export function isLongPage(value: unknown): value is Page {
  return (
    typeof value === "object" &&
    value !== null &&
    Array.isArray((value as { items?: unknown }).items) &&
    (value as Page).items.length >= STREAMED_LIST_MIN_ITEMS
  );
}

/** The page as JSON, `items` first, then the page's other fields (`nextCursor`, …). */
export function pageStream(page: Page): ReadableStream<Uint8Array> {
  const { items, ...rest } = page;
  const encoder = new TextEncoder();
  const tail = JSON.stringify(rest);
  let next = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (next >= items.length) {
        controller.enqueue(encoder.encode(tail === "{}" ? "]}" : `],${tail.slice(1)}`));
        controller.close();
        return;
      }
      let text = next === 0 ? '{"items":[' : "";
      const end = Math.min(items.length, next + SLICE);
      for (; next < end; next++) text += (next === 0 ? "" : ",") + JSON.stringify(items[next]);
      controller.enqueue(encoder.encode(text));
      await yieldToForeground();
    },
  });
}
