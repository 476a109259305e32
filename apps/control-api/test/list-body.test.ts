import { describe, expect, it } from "vitest";
import { isLongPage, pageStream, STREAMED_LIST_MIN_ITEMS } from "../src/http/list-body";

const read = async (stream: ReadableStream<Uint8Array>) => {
  const chunks: string[] = [];
  for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>)
    chunks.push(new TextDecoder().decode(chunk));
  return chunks;
};

describe("a long page sent in slices", () => {
  it("is the same JSON as the page, in slices of 25 items", async () => {
    const items = Array.from({ length: 60 }, (_, i) => ({ name: `d-${i}`, 'quote"d': ["x", i] }));
    const page = { items, nextCursor: "dp_01", total: null };
    const chunks = await read(pageStream(page));
    expect(JSON.parse(chunks.join(""))).toEqual(page);
    expect(chunks).toHaveLength(4); // 25 + 25 + 10 items, then the tail
  });

  it("ends with ]} when the page has nothing but items", async () => {
    const page = { items: Array.from({ length: STREAMED_LIST_MIN_ITEMS }, (_, i) => i) };
    expect(JSON.parse((await read(pageStream(page))).join(""))).toEqual(page);
  });

  it("is used only for pages of at least STREAMED_LIST_MIN_ITEMS items", () => {
    expect(isLongPage({ items: Array(STREAMED_LIST_MIN_ITEMS).fill(1) })).toBe(true);
    expect(isLongPage({ items: Array(STREAMED_LIST_MIN_ITEMS - 1).fill(1) })).toBe(false);
    expect(isLongPage({ items: "x".repeat(100) })).toBe(false);
    expect(isLongPage(null)).toBe(false);
  });
});
