/**
 * Benchmark of the metrics pipeline against real Postgres and Redis (the test services):
 *   1. bytes stored per pod: every tier filled as a pod running for 35 days leaves it, measured
 *      with pg_total_relation_size (rows and indexes), and bytes written per pod per day;
 *   2. control-plane CPU per 1,000 pods reporting: 10 nodes × 100 pods send their 10 s batches
 *      through the real API (JWT, validation, ingest); the API process's CPU and its Postgres
 *      backends' CPU per sample interval;
 *   3. `top` latency at 10,000 pods: GET …/metrics/pods over a cluster of 10,000 pods with samples.
 *
 *   eval "$(bash infra/services.sh env)"; npx tsx apps/control-api/bench/metrics.bench.ts
 */
import { readFile } from "node:fs/promises";
import { performance } from "node:perf_hooks";
import { encryptSecret, generateSigningKey, newId } from "@berth/core";
import { clusters, type Db, nodes, podMetrics, pods, rollupMetrics, withSystem } from "@berth/db";
import { sql } from "drizzle-orm";
import postgres from "postgres";
import { createTestApi, type TestApi } from "../src/testing";

const MIB = 1024 * 1024;
const fmt = (n: number) => n.toLocaleString("en-US", { maximumFractionDigits: 1 });

async function cluster(api: TestApi, name: string) {
  const t = await api.tenant(name);
  const c = await api.call("POST", "/v1/clusters", { token: t.token, body: { name: "c" } });
  const key = await generateSigningKey();
  await withSystem(api.deps.db, (tx) =>
    tx
      .update(clusters)
      .set({
        status: "active",
        signingKeyEnc: encryptSecret(api.deps.master, key.privatePkcs8, `cluster-key:${c.body.id}`),
        signingPublicJwk: JSON.stringify(key.publicJwk),
        signingKid: key.kid,
      })
      .where(sql`id = ${c.body.id}`),
  );
  return { ...t, clusterId: c.body.id as string };
}

/** `count` pods bound to `nodeId` (rows as the control loop makes them), in slices. */
async function addPods(
  db: Db,
  c: { tenantId: string; clusterId: string },
  nodeId: string | null,
  count: number,
) {
  const ids: string[] = [];
  const rows = Array.from({ length: count }, (_, i) => {
    const id = newId("pod");
    ids.push(id);
    return {
      id,
      tenantId: c.tenantId,
      clusterId: c.clusterId,
      namespace: "default",
      name: `web-${nodeId ?? "x"}-${i}`,
      templateHash: "h",
      template: { containers: [] } as never,
      cpuMillis: 100,
      memoryBytes: 64 * MIB,
      nodeId,
      ownerId: "dep_bench",
      phase: "Running" as const,
      ready: true,
    };
  });
  await withSystem(db, async (tx) => {
    for (let i = 0; i < rows.length; i += 1_000) await tx.insert(pods).values(rows.slice(i, i + 1_000));
  });
  return ids;
}

async function storage(api: TestApi): Promise<void> {
  const c = await cluster(api, "bench-storage");
  const POD_COUNT = 20;
  const ids = await addPods(api.deps.db, c, null, POD_COUNT);
  // 36 days of raw samples would be 31,000 rows a pod: instead every tier's steady state is
  // made by the real rollups — a day of raw samples rolled up (minutes, hours), then the raw
  // tier's hour and the hour tier's other 34 days added as they would be.
  const day0 = Date.parse("2026-03-01T00:00:00Z");
  const raw = (podId: string, at: number) => ({
    tenantId: c.tenantId,
    clusterId: c.clusterId,
    podId,
    ownerId: "dep_bench",
    resolution: 0,
    ts: new Date(at),
    windowMs: 10_000,
    cpuNanos: BigInt(1_000_000_000 + Math.floor(Math.random() * 1e9)),
    memoryBytes: 50 * MIB + Math.floor(Math.random() * MIB),
    memoryByteSeconds: BigInt(500 * MIB),
    rxBytes: Math.floor(Math.random() * 1e6),
    txBytes: Math.floor(Math.random() * 1e6),
    restarts: 0,
  });
  for (const podId of ids) {
    const rows = Array.from({ length: 8_640 }, (_, i) => raw(podId, day0 + (i + 1) * 10_000));
    await withSystem(api.deps.db, async (tx) => {
      for (let i = 0; i < rows.length; i += 2_000)
        await tx.insert(podMetrics).values(rows.slice(i, i + 2_000));
    });
  }
  await rollupMetrics(api.deps.db, new Date(day0 + 86_400_000 + 60_000), { lateMs: 30_000 });
  const owner = postgres(api.database.migrationUrl, { max: 1, onnotice: () => {} });
  const size = async () => {
    // Rewritten compactly, as a table in its steady state is once autovacuum has reused dead rows.
    await owner.unsafe("vacuum full analyze pod_metrics");
    const [r] = (await withSystem(api.deps.db, (tx) =>
      tx.execute(sql`select pg_total_relation_size('pod_metrics')::bigint as bytes,
        (select count(*) from pod_metrics where resolution = 0)::int as raw,
        (select count(*) from pod_metrics where resolution = 60)::int as minutes,
        (select count(*) from pod_metrics where resolution = 3600)::int as hours`),
    )) as unknown as { bytes: string; raw: number; minutes: number; hours: number }[];
    return { bytes: Number(r?.bytes), raw: r?.raw ?? 0, minutes: r?.minutes ?? 0, hours: r?.hours ?? 0 };
  };
  // Steady state: 360 raw rows (1 h), 1,440 minutes (24 h), 840 hours (35 d) per pod; the rollup kept
  // the last hour of raw samples and the day's minutes and hours.
  await withSystem(api.deps.db, (tx) =>
    tx.execute(sql`
      insert into pod_metrics (pod_id, owner_id, tenant_id, cluster_id, resolution, ts, window_ms, cpu_nanos,
        memory_bytes, memory_byte_seconds, rx_bytes, tx_bytes, restarts)
      select pod_id, owner_id, tenant_id, cluster_id, 3600, ts - (g * interval '1 day'), window_ms, cpu_nanos,
        memory_bytes, memory_byte_seconds, rx_bytes, tx_bytes, restarts
      from pod_metrics, generate_series(1, 34) g where resolution = 3600`),
  );
  const steady = await size();
  await owner.end();
  // Bytes a row takes with its index entries, from the compacted steady state (VACUUM FULL keeps
  // rows an open snapshot of another session still sees: on a shared server, figures may be high).
  const perRow = steady.bytes / (steady.raw + steady.minutes + steady.hours);
  console.log("1. storage (pod_metrics, rows and indexes, after VACUUM)");
  console.log(
    `   steady state per pod: ${fmt(steady.bytes / POD_COUNT / 1024)} KiB ` +
      `(${steady.raw / POD_COUNT} raw + ${steady.minutes / POD_COUNT} minute + ${steady.hours / POD_COUNT} hour rows)`,
  );
  console.log(
    `   written per pod per day: ${fmt(((8_640 + 1_440 + 24) * perRow) / 1024)} KiB ` +
      `(10,104 rows at ~${fmt(perRow)} B a row with its index entries); kept per pod per day of history: ` +
      `${fmt(((1_440 + 24) * perRow) / 1024)} KiB for the first day, ${fmt((24 * perRow) / 1024)} KiB after`,
  );
}

/** utime + stime of a process, in milliseconds. */
async function cpuMsOf(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(f[11]) || 0) + (Number(f[12]) || 0)) * 10;
}

async function reporting(api: TestApi): Promise<void> {
  const c = await cluster(api, "bench-reporting");
  const jt = await api.call("POST", `/v1/clusters/${c.clusterId}/join-tokens`, {
    token: c.token,
    body: { maxUses: 10 },
  });
  const agents: { credential: string; podIds: string[] }[] = [];
  for (let n = 0; n < 10; n++) {
    const joined = await api.call("POST", "/v1/nodes/join", {
      body: {
        joinToken: jt.body.token,
        name: `node-${n}`,
        capacity: { cpuMillis: 8000, memoryBytes: 32 * 1024 * MIB, pods: 110 },
        portRange: { min: 30000, max: 30100 },
        address: "127.0.0.1",
      },
    });
    agents.push({
      credential: joined.body.credential,
      podIds: await addPods(api.deps.db, c, joined.body.nodeId, 100),
    });
  }
  const ROUNDS = 30;
  // Samples of the last few minutes, as agents send them (older ones are not taken).
  const start = Date.now() - (ROUNDS + 1) * 10_000;
  const batch = (podIds: string[], round: number) => ({
    pods: podIds.map((podId) => ({
      podId,
      at: new Date(start + round * 10_000).toISOString(),
      windowMs: 10_000,
      cpuNanos: 1_234_567_890,
      memoryBytes: 55 * MIB,
      rxBytes: 12_345,
      txBytes: 6_789,
      restarts: 0,
    })),
    node: [
      {
        at: new Date(start + round * 10_000).toISOString(),
        windowMs: 10_000,
        cpuNanos: 9e9,
        memoryBytes: 2e9,
        rxBytes: 1,
        txBytes: 1,
      },
    ],
  });
  // One warm-up round, then measure.
  for (const a of agents)
    await api.call("POST", "/v1/nodes/metrics", { token: a.credential, body: batch(a.podIds, 0) });
  const backends = async () =>
    (
      (await withSystem(api.deps.db, (tx) =>
        tx.execute(sql`select pid from pg_stat_activity where datname = current_database()`),
      )) as unknown as { pid: number }[]
    ).map((r) => r.pid);
  const pgBefore = new Map<number, number>();
  for (const pid of await backends()) pgBefore.set(pid, await cpuMsOf(pid));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let round = 1; round <= ROUNDS; round++)
    await Promise.all(
      agents.map(async (a) => {
        const r = await api.call("POST", "/v1/nodes/metrics", {
          token: a.credential,
          body: batch(a.podIds, round),
        });
        if (r.body.accepted !== 101) throw new Error(`batch not taken: ${r.text}`);
      }),
    );
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  let pgMs = 0;
  for (const pid of await backends()) pgMs += (await cpuMsOf(pid)) - (pgBefore.get(pid) ?? 0);
  const apiMs = (cpu.user + cpu.system) / 1000;
  console.log("2. control-plane CPU per 1,000 pods reporting every 10 s (10 nodes × 100 pods, 30 intervals)");
  console.log(
    `   API process: ${fmt(apiMs / ROUNDS)} ms CPU per interval = ${fmt(apiMs / ROUNDS / 100)} % of a core; ` +
      `Postgres backends: ${fmt(pgMs / ROUNDS)} ms per interval = ${fmt(pgMs / ROUNDS / 100)} % of a core ` +
      `(${fmt(wallMs / ROUNDS)} ms wall per interval of 10 batches)`,
  );
}

async function top(api: TestApi): Promise<void> {
  const c = await cluster(api, "bench-top");
  const [node] = await withSystem(api.deps.db, (tx) =>
    tx
      .insert(nodes)
      .values({
        id: newId("node"),
        tenantId: c.tenantId,
        clusterId: c.clusterId,
        name: "big",
        cpuMillis: 1_000_000,
        memoryBytes: 2 ** 40,
        maxPods: 10_000,
        portMin: 30000,
        portMax: 30100,
        address: "127.0.0.1",
      } as typeof nodes.$inferInsert)
      .returning(),
  );
  const ids = await addPods(api.deps.db, c, node?.id ?? null, 10_000);
  const now = Date.now();
  await withSystem(api.deps.db, async (tx) => {
    for (const back of [30, 20, 10]) {
      const rows = ids.map((podId) => ({
        tenantId: c.tenantId,
        clusterId: c.clusterId,
        podId,
        ownerId: "dep_bench",
        resolution: 0,
        ts: new Date(now - back * 1000),
        windowMs: 10_000,
        cpuNanos: 1_000_000_000n,
        memoryBytes: 50 * MIB,
        memoryByteSeconds: BigInt(500 * MIB),
        rxBytes: 1,
        txBytes: 1,
        restarts: 0,
      }));
      for (let i = 0; i < rows.length; i += 2_000)
        await tx.insert(podMetrics).values(rows.slice(i, i + 2_000));
    }
  });
  // As autovacuum would after such a load (only the owner may analyze).
  const owner = postgres(api.database.migrationUrl, { max: 1, onnotice: () => {} });
  await owner.unsafe("analyze pods; analyze pod_metrics");
  await owner.end();
  const times = async (path: string) => {
    const out: number[] = [];
    for (let i = 0; i < 12; i++) {
      const t0 = performance.now();
      const r = await api.call("GET", path, { token: c.token });
      if (r.status !== 200) throw new Error(r.text);
      out.push(performance.now() - t0);
    }
    out.sort((a, b) => a - b);
    return `p50 ${fmt(out[6] ?? 0)} ms, max ${fmt(out.at(-1) ?? 0)} ms`;
  };
  console.log("3. top at 10,000 pods (each with 3 recent samples; 12 calls each)");
  console.log(
    `   GET …/metrics/pods (first 500, the default page): ${await times(`/v1/clusters/${c.clusterId}/metrics/pods`)}`,
  );
  console.log(
    `   GET …/metrics/pods?limit=10000 (every pod): ${await times(`/v1/clusters/${c.clusterId}/metrics/pods?limit=10000`)}`,
  );
}

const api = await createTestApi({
  limits: { requestsPerMinutePerPrincipal: 1e6, requestsPerMinutePerTenant: 1e6 },
});
try {
  await storage(api);
  await reporting(api);
  await top(api);
} finally {
  await api.close();
}
