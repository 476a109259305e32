import { describe, expect, it } from "vitest";
import { enterForeground, foregroundCalls } from "../src/http/foreground";
import { PAGE_SLICE_ROWS, pageInSlices } from "../src/services/paging";

/** Rows with ids r999 … r000 (newest first), read as a query with `id < before … limit take` would. */
const table = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ id: `r${String(n - 1 - i).padStart(3, "0")}` }));
const reader =
  (rows: { id: string }[], calls: number[]) => async (before: string | undefined, take: number) => {
    calls.push(take);
    return rows.filter((r) => before === undefined || r.id < before).slice(0, take);
  };

describe("a page read in slices", () => {
  it("reads a page of 2.5 slices of a longer table as slice + slice + the rest and one more", async () => {
    const limit = Math.floor(PAGE_SLICE_ROWS * 2.5);
    const rows = table(limit + 10);
    const calls: number[] = [];
    const p = await pageInSlices(
      limit,
      reader(rows, calls),
      (r) => ({ ...r, seen: true }),
      (r) => r.id,
    );
    expect(calls).toEqual([PAGE_SLICE_ROWS, PAGE_SLICE_ROWS, limit + 1 - 2 * PAGE_SLICE_ROWS]);
    expect(p.items.map((r) => r.id)).toEqual(rows.slice(0, limit).map((r) => r.id));
    expect(p.items.every((r) => r.seen)).toBe(true);
    expect(p.nextCursor).toBe(rows[limit - 1]?.id);
  });

  it("stops at the first short slice: the last page has no next cursor", async () => {
    const rows = table(PAGE_SLICE_ROWS + 30);
    const calls: number[] = [];
    const p = await pageInSlices(
      500,
      reader(rows, calls),
      (r) => r,
      (r) => r.id,
    );
    expect(calls).toEqual([PAGE_SLICE_ROWS, PAGE_SLICE_ROWS]);
    expect(p.items).toHaveLength(PAGE_SLICE_ROWS + 30);
    expect(p.nextCursor).toBeNull();
  });

  it("reads a small page in one query", async () => {
    const calls: number[] = [];
    const p = await pageInSlices(
      10,
      reader(table(30), calls),
      (r) => r,
      (r) => r.id,
    );
    expect(calls).toEqual([11]);
    expect(p.items).toHaveLength(10);
    expect(p.nextCursor).toBe("r020");
  });

  it("waits between slices while a small call is in flight, and goes on once it ends", async () => {
    const rows = table(PAGE_SLICE_ROWS * 3);
    const calls: number[] = [];
    const leave = enterForeground();
    expect(foregroundCalls()).toBe(1);
    let done = false;
    const reading = pageInSlices(
      500,
      reader(rows, calls),
      (r) => r,
      (r) => r.id,
    ).then(() => {
      done = true;
    });
    await new Promise((r) => setTimeout(r, 5));
    // The first slice is read at once; the second waits for the foreground call.
    expect(calls).toHaveLength(1);
    expect(done).toBe(false);
    leave();
    leave(); // idempotent
    expect(foregroundCalls()).toBe(0);
    await reading;
    expect(calls.length).toBeGreaterThanOrEqual(3);
  });

  it("does not wait for ever: a slice goes on after the longest wait even while calls keep coming", async () => {
    const leave = enterForeground();
    const started = performance.now();
    await pageInSlices(
      500,
      reader(table(PAGE_SLICE_ROWS * 2), []),
      (r) => r,
      (r) => r.id,
    );
    expect(performance.now() - started).toBeLessThan(1_000);
    leave();
  });
});
