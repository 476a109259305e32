/**
 * Throughput and latency of the control API's request path over real HTTP on loopback, the load
 * from wrk (its own process, 32 connections, keep-alive): `/healthz` against an authenticated read
 * (JWT, rate limiting in Redis, admission, IAM, a row-level-secured query) and an authenticated
 * write with its audit record. The API runs in this process as `npm run up` runs it (the real app;
 * reply schemas not checked; rate limits raised out of the way). Goals (issue #12): the read ≥ 50 %
 * of `/healthz`, p99 < 20 ms at 32 connections; writes with audit ≥ 1,000 req/s.
 *
 * Run: `npm run bench:api` (services up). BENCH_SECONDS (10), BENCH_CONNECTIONS (32).
 * `-- --json` ends with one JSON line.
 */
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTestApi, foregroundCalls } from "@berth/control-api/testing";
import { createTestDatabase, ensureTemplate } from "@berth/db/testing";
import { serve } from "@hono/node-server";
import { json } from "./flags";
import { type LoadResult, runWrk } from "./wrk";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const log = (line: string) => {
  if (!json) process.stdout.write(`${line}\n`);
};

await ensureTemplate();
// A pool the size the API uses in production (DbOptions default).
const api = await createTestApi({
  database: await createTestDatabase({ poolSize: 10 }),
  limits: { requestsPerMinutePerPrincipal: 100_000_000, requestsPerMinutePerTenant: 100_000_000 },
});
(api.deps as { checkReplies?: boolean }).checkReplies = false;
const server = serve({ fetch: api.app.fetch, port: 0, hostname: "127.0.0.1" });
await new Promise<void>((ok) => server.once("listening", () => ok()));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const { token } = await api.tenant("bench");
const cluster = (await api.call("POST", "/v1/clusters", { token, body: { name: "bench" } })).body
  .id as string;

/**
 * CPU milliseconds this process's main thread (the event loop: the API's own work) has used. A
 * request's cost there bounds the API's throughput; the whole process also counts GC threads.
 */
async function mainThreadCpuMs(): Promise<number> {
  const stat = await readFile(`/proc/self/task/${process.pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime + stime, in 1/100 s
}

const dir = await mkdtemp(join(tmpdir(), "berth-api-bench-"));
async function wrk(
  name: string,
  path: string,
  opts: { method?: string; auth?: boolean } = {},
): Promise<LoadResult & { mainThreadUsPerRequest: number }> {
  const script = join(dir, `${name.replace(/\W+/g, "-")}.lua`);
  const headers = opts.auth ? `wrk.headers["Authorization"] = "Bearer ${token}"\n` : "";
  const body =
    opts.method === "POST" ? 'wrk.headers["Content-Type"] = "application/json"\nwrk.body = "{}"\n' : "";
  await writeFile(script, `wrk.method = "${opts.method ?? "GET"}"\n${headers}${body}`);
  const cpuBefore = await mainThreadCpuMs();
  const result = await runWrk(name, [
    "-t2",
    `-c${CONNECTIONS}`,
    `-d${SECONDS}s`,
    "-s",
    script,
    `${url}${path}`,
  ]);
  const requests = result.requestsPerSecond * SECONDS;
  const cpuMs = (await mainThreadCpuMs()) - cpuBefore;
  return { ...result, mainThreadUsPerRequest: Math.round((cpuMs * 1000) / Math.max(1, requests)) };
}

const results = [
  await wrk("GET /healthz", "/healthz"),
  await wrk("GET /v1/clusters (authenticated read)", "/v1/clusters", { auth: true }),
  await wrk("GET /v1/clusters/{id}/pods", `/v1/clusters/${cluster}/pods`, { auth: true }),
  await wrk("POST …/join-tokens (write + audit)", `/v1/clusters/${cluster}/join-tokens`, {
    method: "POST",
    auth: true,
  }),
];
const hits = await api.deps.metrics.getSingleMetric("berth_admission_cache_lookups_total")?.get();
log(`node ${process.version}, wrk 2 threads, ${CONNECTIONS} connections, ${SECONDS} s each`);
for (const r of results)
  log(
    `${r.run.padEnd(40)} ${String(r.requestsPerSecond).padStart(6)} req/s  p50 ${r.p50Ms} ms  p99 ${r.p99Ms} ms  main thread ${r.mainThreadUsPerRequest} µs/req  errors ${r.errors}  non-2xx ${r.non2xx}`,
  );
const [health, read] = results;
const ratio = Math.round(((read?.requestsPerSecond ?? 0) / (health?.requestsPerSecond || 1)) * 100);
log(
  `authenticated read: ${ratio} % of /healthz (goal ≥ 50 %, p99 < 20 ms); writes with audit: goal ≥ 1,000 req/s`,
);
log(`admission cache: ${hits?.values.map((v) => `${v.labels.result} ${v.value}`).join(", ")}`);
if (json)
  process.stdout.write(`${JSON.stringify({ seconds: SECONDS, connections: CONNECTIONS, results })}\n`);
// Calls wrk left in flight finish before their Redis and Postgres close under them (as the API's
// own SIGTERM does: its server closes, with a grace period, before anything else).
server.close();
for (let i = 0; i < 500 && foregroundCalls() > 0; i++) await new Promise((r) => setTimeout(r, 10));
await api.close();
await api.database.drop();
process.exit(0);
