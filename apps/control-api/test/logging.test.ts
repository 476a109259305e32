import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApi, type TestApi } from "../src/testing";

const lines: string[] = [];
let api: TestApi;
beforeAll(async () => {
  api = await createTestApi({ logTo: { write: (line) => void lines.push(line) } });
});
afterAll(() => api.close());

describe("logs an attacker cannot inflate", () => {
  it("writes one line per request, without stack traces, for junk tRPC batches", async () => {
    const junk = (n: number) => Array.from({ length: n }, (_, i) => `nope${i}.x${"y".repeat(40)}`).join(",");
    lines.length = 0;
    const requests = 20;
    for (let i = 0; i < requests; i++) {
      // ~12 KB of procedure names in one URL-less body, and a batch within the size limit.
      await api.app.request(`/trpc/${junk(250)}?batch=1`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(Object.fromEntries(Array.from({ length: 250 }, (_, j) => [j, { x: "y" }]))),
      });
      await api.app.request(`/trpc/${junk(10)}?batch=1`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{}",
      });
      await api.app.request("/trpc/auth.token", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{not json",
      });
    }
    const parsed = lines.map((l) => JSON.parse(l) as { level: number; err?: { stack?: string } });
    expect(parsed.length).toBeLessThanOrEqual(requests * 3);
    expect(parsed.filter((l) => l.err?.stack !== undefined)).toEqual([]);
    expect(parsed.filter((l) => l.level >= 50)).toEqual([]);
    expect(Math.max(...lines.map((l) => l.length))).toBeLessThan(1_000);
  });
});
