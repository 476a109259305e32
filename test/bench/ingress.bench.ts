/**
 * The ingress gateway's throughput and latency, beside a direct-to-pod run: one demo-web pod
 * (busybox httpd) on a real node agent, a Service, an Ingress with TLS; the gateway runs as its own
 * process (the real `apps/gateway/src/index.ts`, HAProxy under it, access log on, to /dev/null).
 * Three runs:
 *   (a) direct to the pod's address, a new connection per request (no keep-alive) — wrk;
 *   (b) through the gateway over HTTP, a new connection per request — wrk;
 *   (c) through the gateway over HTTPS with keep-alive — Node http clients in worker threads of this
 *       process (ingress-load.mjs), since wrk takes the TLS server name from the URL's host.
 * The gateway opens a new connection to the pod for every request in every run (busybox httpd
 * closes after each answer anyway).
 *
 * Run: `npm run bench:ingress` (services up). BENCH_SECONDS (10), BENCH_CONNECTIONS (10), BENCH_WORKERS
 * (Node load threads of (c), 2), BENCH_GATEWAY_THREADS (the gateway's GATEWAY_THREADS, 2),
 * BENCH_ACCESS_LOG (true). `-- --json` ends with one JSON line. Goal (issue #13): ≥ 5,700 req/s
 * without keep-alive, p99 < 10 ms on 2 CPUs (ingress-nginx's published figure).
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { get } from "node:http";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { freePort, poll } from "../e2e/support";
import { hostPortBlock, startAgents } from "../integration/agent-support";
import { startPlatform } from "../integration/harness";
import { ingress, selfSigned, tlsSecret } from "../integration/tls-support";
import { json } from "./flags";
import { type LoadResult, runWrk } from "./wrk";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
/** Worker threads the load runs in (each with CONNECTIONS / WORKERS loops). */
const WORKERS = Number(process.env.BENCH_WORKERS ?? 2);
const log = (...a: unknown[]) => {
  if (!json) console.log(...a);
};

const p = await startPlatform();
const agents = await startAgents(p);
const t = await p.api.tenant(`bench-${randomBytes(3).toString("hex")}`);
const clusterId = await p.activeCluster(t.token, "bench");
const call = (method: string, path: string, body?: unknown) =>
  p.api.call(method, `/v1/clusters/${clusterId}/${path}`, { token: t.token, ...(body ? { body } : {}) });
const joinToken = (await p.api.call("POST", `/v1/clusters/${clusterId}/join-tokens`, { token: t.token })).body
  .token;
await agents.start("bench-1", { joinToken, portRange: hostPortBlock(20) });
const pem = selfSigned(["secure.example.com"]);
const applied = await call("POST", "apply", [
  {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web" },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: "web" } },
      template: {
        metadata: { labels: { app: "web" } },
        spec: {
          containers: [
            {
              name: "web",
              image: "localhost/berth/demo-web:latest",
              ports: [{ name: "http", containerPort: 8080 }],
              readinessProbe: { httpGet: { path: "/healthz", port: "http" }, periodSeconds: 1 },
              // Not throttled: the pod is the thing measured against, not the limit.
              resources: { requests: { cpu: "1", memory: "64Mi" }, limits: { cpu: "2", memory: "128Mi" } },
            },
          ],
        },
      },
    },
  },
  {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "web" },
    spec: { selector: { app: "web" }, ports: [{ name: "http", port: 80, targetPort: "http" }] },
  },
  tlsSecret("secure-tls", pem),
  ingress("plain", [{ host: "plain.example.com" }]),
  ingress("secure", [{ host: "secure.example.com" }], {
    hosts: ["secure.example.com"],
    secretName: "secure-tls",
  }),
]);
if (applied.status !== 200) throw new Error(applied.text);
const podIP = await p.waitFor(
  "the web pod",
  async () => {
    const [pod] = (await call("GET", "pods?namespace=default&labelSelector=app%3Dweb")).body.items;
    return pod?.ready && pod.status.podIP;
  },
  90_000,
);

const [httpPort, httpsPort, adminPort] = [await freePort(), await freePort(), await freePort()];
const lb = hostPortBlock(5);
// Its own process, its access log (one line per request, pino at info) written to /dev/null.
const gateway = spawn(process.execPath, ["--import", "tsx", "apps/gateway/src/index.ts"], {
  cwd: join(import.meta.dirname, "../.."),
  stdio: ["ignore", process.env.BENCH_GATEWAY_LOG ? "inherit" : "ignore", "ignore"],
  env: {
    ...process.env,
    DATABASE_URL: p.api.database.url,
    DATABASE_SYSTEM_URL: p.api.database.systemUrl,
    BERTH_MASTER_KEY: p.api.deps.master.key.toString("base64"),
    GATEWAY_HOST: "127.0.0.1",
    GATEWAY_HTTP_PORT: String(httpPort),
    GATEWAY_HTTPS_PORT: String(httpsPort),
    GATEWAY_ADMIN_PORT: String(adminPort),
    GATEWAY_LB_PORT_RANGE: `${lb.min}-${lb.max}`,
    GATEWAY_THREADS: process.env.BENCH_GATEWAY_THREADS ?? "2",
    LOG_LEVEL: "info",
    GATEWAY_ACCESS_LOG: process.env.BENCH_ACCESS_LOG ?? "true",
  },
});
await poll(
  "the gateway to serve the Ingress",
  async () => {
    // fetch() sends its own Host header: ask with node:http.
    const status = await new Promise<number>((resolve) =>
      get({ port: httpPort, host: "127.0.0.1", path: "/", headers: { host: "plain.example.com" } }, (r) => {
        r.resume();
        resolve(r.statusCode ?? 0);
      }).once("error", () => resolve(0)),
    );
    return status === 200;
  },
  60_000,
);

type Result = LoadResult;

interface Load {
  host: string;
  port: number;
  hostHeader: string;
  tls?: boolean;
  keepAlive?: boolean;
  servername?: string;
  ca?: string;
}

const quantile = (sorted: Float64Array, q: number) =>
  Math.round((sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0) * 100) / 100;

/** One run: the load in worker threads of this process (ingress-load.mjs), off this event loop. */
async function run(name: string, load: Load): Promise<Result> {
  const perWorker = Math.max(1, Math.floor(CONNECTIONS / WORKERS));
  const parts = await Promise.all(
    Array.from(
      { length: WORKERS },
      () =>
        new Promise<{ latencies: Float64Array; failed: number; non2xx: number }>((resolve, reject) => {
          const worker = new Worker(join(import.meta.dirname, "ingress-load.mjs"), {
            workerData: { ...load, connections: perWorker, seconds: SECONDS },
          });
          worker.once("message", resolve);
          worker.once("error", reject);
        }),
    ),
  );
  const all = new Float64Array(parts.reduce((n, x) => n + x.latencies.length, 0));
  let at = 0;
  for (const x of parts) {
    all.set(x.latencies, at);
    at += x.latencies.length;
  }
  all.sort();
  return {
    run: name,
    requestsPerSecond: Math.round(all.length / SECONDS),
    p50Ms: quantile(all, 0.5),
    p99Ms: quantile(all, 0.99),
    errors: parts.reduce((n, x) => n + x.failed, 0),
    non2xx: parts.reduce((n, x) => n + x.non2xx, 0),
  };
}

/**
 * One run by wrk (its own process, one thread — C, so the load takes little of the two cores the
 * pod and the gateway share), a new connection per request (`Connection: close`).
 */
function wrk(name: string, url: string, hostHeader: string): Promise<Result> {
  // busybox httpd closes without a word on some refused accepts: counted as errors by wrk ("read").
  return runWrk(name, [
    ...["-t1", `-c${CONNECTIONS}`, `-d${SECONDS}s`],
    ...["-H", "Connection: close", "-H", `Host: ${hostHeader}`, url],
  ]);
}

/**
 * Every connection without keep-alive leaves an entry in the kernel's connection tracking for two
 * minutes; a run of ~8,000 new connections/s fills half of the default table (`nf_conntrack_max`,
 * 262,144), and a table near full drops new connections. Each run starts once the table is below a
 * quarter full, as it would be on a host not just hammered by the run before. (The TIME_WAIT ports
 * of the run before are the other leftover: `net.ipv4.tcp_tw_reuse=1`, see infra/services.sh.)
 */
async function drainConntrack(): Promise<void> {
  const read = async (name: string) =>
    Number((await readFile(`/proc/sys/net/netfilter/${name}`, "utf8").catch(() => "0")).trim());
  const max = await read("nf_conntrack_max");
  if (!max) return;
  const started = Date.now();
  while ((await read("nf_conntrack_count")) > max / 4 && Date.now() - started < 180_000)
    await new Promise((r) => setTimeout(r, 2_000));
  log(
    `conntrack: ${await read("nf_conntrack_count")} of ${max} entries (waited ${Math.round((Date.now() - started) / 1000)} s)`,
  );
}

const results: Result[] = [];
await drainConntrack();
results.push(await wrk("(a) direct to the pod, no keep-alive", `http://${podIP}:8080/`, podIP));
await drainConntrack();
results.push(
  await wrk("(b) gateway HTTP, no keep-alive", `http://127.0.0.1:${httpPort}/`, "plain.example.com"),
);
await drainConntrack();
// wrk cannot be told the TLS server name apart from the URL's host: this run's load is Node's.
results.push(
  await run("(c) gateway HTTPS, keep-alive (Node load)", {
    host: "127.0.0.1",
    port: httpsPort,
    hostHeader: "secure.example.com",
    tls: true,
    keepAlive: true,
    servername: "secure.example.com",
    ca: pem.crt,
  }),
);
log(
  `ingress bench: ${SECONDS}s per run, ${CONNECTIONS} connections (wrk; Node load threads for (c): ${WORKERS}), HAProxy threads ${process.env.BENCH_GATEWAY_THREADS ?? "2"}, one demo-web pod (busybox httpd)`,
);
for (const r of results)
  log(
    `${r.run.padEnd(40)} ${String(r.requestsPerSecond).padStart(6)} req/s  p50 ${r.p50Ms} ms  p99 ${r.p99Ms} ms  errors ${r.errors}  non-2xx ${r.non2xx}`,
  );
log("goal: ≥ 5,700 req/s without keep-alive with p99 < 10 ms on 2 CPUs (ingress-nginx)");
if (json)
  console.log(JSON.stringify({ seconds: SECONDS, connections: CONNECTIONS, workers: WORKERS, results }));
gateway.kill("SIGTERM");
await new Promise((resolve) => gateway.once("exit", resolve));
await agents.close();
await p.close();
process.exit(0);
