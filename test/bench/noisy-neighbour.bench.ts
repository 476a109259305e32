/**
 * Noisy neighbour: does one tenant flooding expensive lists at its rate limit slow another tenant's
 * single-object reads? The control API runs as its own process (the real `src/index.ts`) on a
 * database of its own; this process is only the load. Tenant A (500 deployments, 1,000 pods) lists
 * `…/deployments?limit=500` from 6 clients as fast as its limits let it; tenant B reads one cluster
 * from one client, 20 times a second. B's latency is measured quiet, then during the flood.
 *
 * Run: `npm run bench:noisy-neighbour` (services up). `-- --json` ends with one JSON line.
 * Goal (the hardening issue): B's p99 under the flood < 2 × its quiet p99.
 */
import { randomBytes } from "node:crypto";
import { Worker } from "node:worker_threads";
import { generateMasterKey, newId } from "@berth/core";
import { createTestDatabase, ensureTemplate, systemRows, testRedisUrl } from "@berth/db/testing";
import { sql } from "drizzle-orm";
import { freePort, poll, start } from "../e2e/support";
import { json } from "./flags";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
/** B reads as a dashboard or controller would: 20 times a second (well within its own limits). */
const B_INTERVAL_MS = 50;
const FLOODERS = 6;

await ensureTemplate();
const db = await createTestDatabase();
const port = await freePort();
const url = `http://127.0.0.1:${port}`;
const api = start(process.execPath, ["--import", "tsx", "apps/control-api/src/index.ts"], {
  PORT: String(port),
  DATABASE_URL: db.url,
  DATABASE_SYSTEM_URL: db.systemUrl,
  REDIS_URL: testRedisUrl(),
  QUEUE_PREFIX: `bench-${randomBytes(4).toString("hex")}`,
  BERTH_MASTER_KEY: generateMasterKey(),
  LOG_LEVEL: "warn",
  // A's limit allows six 500-row lists a second (10 units each), the rate the probe found harmful.
  RATE_LIMIT_PER_PRINCIPAL_PER_MINUTE: "3600",
  RATE_LIMIT_PER_TENANT_PER_MINUTE: "100000",
});
await poll("the API", async () => (await fetch(`${url}/readyz`).catch(() => null))?.ok, 60_000);

async function call(method: string, path: string, token?: string, body?: unknown) {
  const res = await fetch(url + path, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body ? { "content-type": "application/json" } : {}),
    },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function tenant(name: string) {
  const email = `${name}@bench.test`;
  const password = "correct horse battery staple";
  const s = await call("POST", "/v1/signup", undefined, { tenantName: name, email, password });
  const t = await call("POST", "/v1/auth/token", undefined, { email, password });
  const c = await call("POST", "/v1/clusters", t.body.accessToken as string, { name: `${name}-c` });
  const clusterId = c.body.id as string;
  // No provisioner runs here: the control plane is marked active by hand.
  await systemRows(db.db, sql`update clusters set status = 'active' where id = ${clusterId}`);
  return {
    token: t.body.accessToken as string,
    tenantId: (s.body.tenant as { id: string }).id,
    clusterId,
  };
}

const a = await tenant("flooder");
const b = await tenant("neighbour");
const manifest = {
  spec: {
    replicas: 2,
    template: {
      spec: {
        containers: [
          {
            name: "web",
            image: "localhost/berth/demo-web:latest",
            resources: { requests: { cpu: "10m", memory: "16Mi" } },
          },
        ],
      },
    },
  },
};
for (let i = 0; i < 500; i += 25)
  await Promise.all(
    Array.from({ length: 25 }, (_, j) =>
      call("PUT", `/v1/clusters/${a.clusterId}/deployments/default/app-${i + j}`, a.token, manifest),
    ),
  );
// Two pods per deployment, as the control loop would have made them.
await systemRows(
  db.db,
  sql`insert into pods (id, tenant_id, cluster_id, deployment_id, namespace, name, template_hash, template, cpu_millis, memory_bytes)
      select ${newId("pod")} || '-' || d.id || '-' || n, d.tenant_id, d.cluster_id, d.id, d.namespace, d.name || '-' || n,
             d.template_hash, d.template, 10, 16777216
      from deployments d, generate_series(1, 2) n where d.cluster_id = ${a.clusterId}`,
);

/**
 * A's clients run in a worker thread: their own event loop, so that receiving A's large pages
 * never delays the clock of B's reader in this one (the bench measures the server, not itself).
 */
const FLOOD_CODE = `
const { parentPort, workerData: w } = require("node:worker_threads");
const until = performance.now() + w.seconds * 1000;
let ok = 0, limited = 0;
const client = async () => {
  while (performance.now() < until) {
    const r = await fetch(w.url, { headers: { authorization: "Bearer " + w.token } });
    await r.arrayBuffer();
    if (r.status === 200) ok++;
    else if (r.status === 429) { limited++; await new Promise((done) => setTimeout(done, 100)); }
    else throw new Error("A's list answered " + r.status);
  }
};
Promise.all(Array.from({ length: w.clients }, client)).then(() => parentPort.postMessage({ ok, limited }));
`;

function flood(): Promise<{ ok: number; limited: number }> {
  const worker = new Worker(FLOOD_CODE, {
    eval: true,
    workerData: {
      url: `${url}/v1/clusters/${a.clusterId}/deployments?limit=500`,
      token: a.token,
      seconds: SECONDS,
      clients: FLOODERS,
    },
  });
  return new Promise((done, fail) => {
    worker.once("message", done);
    worker.once("error", fail);
  });
}

async function measureB(withFlood: boolean) {
  const latencies: number[] = [];
  const until = performance.now() + SECONDS * 1000;
  const flooders = withFlood ? flood() : Promise.resolve({ ok: 0, limited: 0 });
  const reader = (async () => {
    while (performance.now() < until) {
      const started = performance.now();
      const r = await fetch(`${url}/v1/clusters/${b.clusterId}`, {
        headers: { authorization: `Bearer ${b.token}` },
      });
      await r.arrayBuffer();
      if (r.status !== 200) throw new Error(`B's read answered ${r.status}`);
      const took = performance.now() - started;
      latencies.push(took);
      if (took < B_INTERVAL_MS) await new Promise((ok) => setTimeout(ok, B_INTERVAL_MS - took));
    }
  })();
  const [, flooded] = await Promise.all([reader, flooders]);
  latencies.sort((x, y) => x - y);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return {
    p50: Number(at(0.5).toFixed(1)),
    p99: Number(at(0.99).toFixed(1)),
    reads: latencies.length,
    floodListsPerSec: Number((flooded.ok / SECONDS).toFixed(1)),
    flood429PerSec: Number((flooded.limited / SECONDS).toFixed(1)),
  };
}

await measureB(false); // warm-up
const quiet = await measureB(false);
const flooded = await measureB(true);
const ratio = Number((flooded.p99 / quiet.p99).toFixed(2));
console.log(
  `tenant B GET /v1/clusters/{id}, ${SECONDS} s each, 1 client at 20/s; tenant A: ${FLOODERS} clients listing 500 of 500 deployments`,
);
console.log(`quiet:   p50 ${quiet.p50} ms  p99 ${quiet.p99} ms  (${quiet.reads} reads)`);
console.log(
  `flooded: p50 ${flooded.p50} ms  p99 ${flooded.p99} ms  (${flooded.reads} reads; A got ${flooded.floodListsPerSec} lists/s, ${flooded.flood429PerSec} × 429/s)`,
);
console.log(`p99 flooded / quiet: ${ratio} (goal < 2)`);
if (json) console.log(JSON.stringify({ quiet, flooded, p99Ratio: ratio }));
api.child.kill("SIGTERM");
await api.exited;
await db.drop();
process.exit(0);
