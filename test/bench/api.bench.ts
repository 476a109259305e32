/**
 * Throughput and latency of the control API's request path over real HTTP on loopback: JWT
 * verification, rate limiting (Redis), the principal check and IAM evaluation, a row-level-secured
 * query, and, for writes, the audit record and the enqueue. Run: `npx tsx test/bench/api.bench.ts`.
 */
import type { AddressInfo } from "node:net";
import { createTestApi } from "@berth/control-api/testing";
import { createTestDatabase, ensureTemplate } from "@berth/db/testing";
import { serve } from "@hono/node-server";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);

await ensureTemplate();
// A pool the size the API uses in production (DbOptions default).
const api = await createTestApi({ database: await createTestDatabase({ poolSize: 10 }) });
const server = serve({ fetch: api.app.fetch, port: 0, hostname: "127.0.0.1" });
await new Promise<void>((ok) => server.once("listening", () => ok()));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const { token, userId } = await api.tenant("bench");
const cluster = (await api.call("POST", "/v1/clusters", { token, body: { name: "bench" } })).body
  .id as string;

async function run(name: string, request: (i: number) => Promise<Response>) {
  const latencies: number[] = [];
  let errors = 0;
  let i = 0;
  const until = performance.now() + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < until) {
        const started = performance.now();
        const res = await request(i++);
        await res.arrayBuffer();
        if (res.status >= 400) errors++;
        latencies.push(performance.now() - started);
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    (latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0).toFixed(1);
  console.log(
    `${name.padEnd(46)} ${String(Math.round(latencies.length / SECONDS)).padStart(6)} req/s   p50 ${at(0.5)} ms   p99 ${at(0.99)} ms   errors ${errors}`,
  );
}

const auth = { authorization: `Bearer ${token}` };
console.log(`node ${process.version}, ${CONCURRENCY} concurrent clients, ${SECONDS} s each`);
await run("GET /healthz (no auth)", () => fetch(`${url}/healthz`));
await run("GET /v1/clusters (JWT, IAM, RLS query)", () => fetch(`${url}/v1/clusters`, { headers: auth }));
await run("GET /v1/clusters/{id}/pods (join query)", () =>
  fetch(`${url}/v1/clusters/${cluster}/pods`, { headers: auth }),
);
await run("POST /v1/iam/simulate (IAM evaluation)", () =>
  fetch(`${url}/v1/iam/simulate`, {
    method: "POST",
    headers: { ...auth, "content-type": "application/json" },
    body: JSON.stringify({ principalId: userId, action: "cluster:List", resource: "*" }),
  }),
);
await run("POST /v1/clusters/{id}/join-tokens (write+audit)", () =>
  fetch(`${url}/v1/clusters/${cluster}/join-tokens`, { method: "POST", headers: auth }),
);
server.close();
await api.close();
await api.database.drop();
process.exit(0);
