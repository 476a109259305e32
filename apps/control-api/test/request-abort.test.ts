import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApi, type TestApi } from "../src/testing";
import { tenantWithNode } from "./workload-support";

const lines: { msg?: string; route?: string; ms?: number }[] = [];
let api: TestApi;
let server: ReturnType<typeof serve>;
let url: string;

beforeAll(async () => {
  api = await createTestApi({ logTo: { write: (line) => void lines.push(JSON.parse(line)) } });
  server = serve({ fetch: api.app.fetch, port: 0, hostname: "127.0.0.1" });
  await new Promise<void>((ok) => server.once("listening", () => ok()));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.close();
  await api.close();
});

const watches = () => lines.filter((l) => l.msg === "request" && l.route === "/v1/nodes/watch");

describe("a long poll whose client goes away", () => {
  it("ends at once over real HTTP, not when its wait is over", async () => {
    const { credential } = await tenantWithNode(api, "abort");
    const headers = { authorization: `Bearer ${credential}` };
    // The current version first: a watch given it waits for a change.
    const first = await fetch(`${url}/v1/nodes/watch`, { headers });
    expect(first.status).toBe(200);
    const { version } = (await first.json()) as { version: string };
    expect(watches()).toHaveLength(1);

    const gone = new AbortController();
    const started = performance.now();
    const waiting = fetch(`${url}/v1/nodes/watch?version=${version}&waitMs=30000`, {
      headers,
      signal: gone.signal,
    });
    await new Promise((r) => setTimeout(r, 300));
    gone.abort();
    await expect(waiting).rejects.toThrow();
    // The server finished the call (its log line is written when the handler returns) long before 30 s.
    while (watches().length < 2 && performance.now() - started < 10_000)
      await new Promise((r) => setTimeout(r, 20));
    expect(watches()).toHaveLength(2);
    expect(watches()[1]?.ms).toBeLessThan(5_000);
  });
});
