/**
 * The whole pipeline at scale (issue #12): the control API, the provisioner and N hollow nodes,
 * each its own process (the real `src/index.ts` of each) on a database of its own; this process
 * is only the client. M pods are already placed; then, per case, P new pods are created through
 * the public API as one tenant's deployments and watched from create to bound and to Running.
 * Cases: plain, required node affinity, topology spread (hostname, DoNotSchedule) and required pod
 * anti-affinity (hostname). Reports pods/s (first create → last Running), the p50/p99 of each
 * pod's create → Running, and the CPU seconds and peak RSS of the API and the provisioner.
 *
 *   npm run bench:pipeline                                  # 5,000 nodes, 1,000 placed, 1,000 new
 *   npm run bench:pipeline -- --nodes 200 --pods 200        # a smaller run
 *   npm run bench:pipeline -- --json                        # table, then one JSON line last
 *
 * Times come from polling the database every 50 ms, so each is late by up to that much.
 */

import { systemRows } from "@berth/db/testing";
import { sql } from "drizzle-orm";
import { poll } from "../e2e/support";
import { flag, json } from "./flags";
import { hollowCluster, processUsage, startStack } from "./stack";

const NODES = flag("--nodes", 5_000);
const PLACED = flag("--placed", 1_000);
const PODS = flag("--pods", 1_000);
/** Replicas of each deployment a case creates (at most one a node: required anti-affinity must fit). */
const PER_DEPLOYMENT = Math.min(50, NODES);

const stack = await startStack({
  // Every hollow node joins from 127.0.0.1; the client is one principal creating many deployments.
  apiEnv: {
    RATE_LIMIT_PUBLIC_PER_IP_PER_MINUTE: "1000000",
    RATE_LIMIT_PER_PRINCIPAL_PER_MINUTE: "1000000",
    RATE_LIMIT_PER_TENANT_PER_MINUTE: "1000000",
  },
});
const { api, provisioner, db, call } = stack;
const {
  token,
  clusterId,
  joinSeconds,
  stop: stopAll,
} = await hollowCluster(stack, {
  tenant: "pipeline",
  nodes: NODES,
  agentArgs: ["--cpu", "16000", "--memory", String(64 * 1024 ** 3), "--max-pods", "110"],
});
const count = async (query: ReturnType<typeof sql>) => Number((await systemRows(db.db, query))[0]?.n ?? 0);

const container = {
  name: "app",
  image: "localhost/bench:1",
  resources: { requests: { cpu: "100m", memory: "64Mi" } },
};
const deploymentBody = (app: string, replicas: number, podSpec: Record<string, unknown> = {}) => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: app },
  spec: {
    replicas,
    selector: { matchLabels: { app } },
    template: { metadata: { labels: { app } }, spec: { containers: [container], ...podSpec } },
  },
});
const put = (app: string, replicas: number, podSpec?: Record<string, unknown>) =>
  call(
    "PUT",
    `/v1/clusters/${clusterId}/deployments/default/${app}`,
    token,
    deploymentBody(app, replicas, podSpec),
  );

/** Creates `total` pods as deployments named `<prefix>-<i>`; returns each deployment's create instant. */
async function createPods(name: string, total: number, podSpec: (app: string) => Record<string, unknown>) {
  const created = new Map<string, number>();
  const apps = Array.from({ length: Math.ceil(total / PER_DEPLOYMENT) }, (_, i) => `${name}-${i}`);
  await Promise.all(
    apps.map(async (app, i) => {
      const replicas = Math.min(PER_DEPLOYMENT, total - i * PER_DEPLOYMENT);
      await put(app, replicas, podSpec(app));
      created.set(app, performance.now());
    }),
  );
  return created;
}

/** Watches the pods of deployments `<name>-*` until `total` run; per pod, ms from its create to bound and Running. */
async function watch(name: string, total: number, created: Map<string, number>) {
  const bound = new Map<string, number>();
  const running = new Map<string, number>();
  const deadline = performance.now() + 10 * 60_000;
  while (running.size < total) {
    if (performance.now() > deadline)
      throw new Error(`${name}: ${running.size}/${total} running after 10 minutes`);
    const rows = (await systemRows(
      db.db,
      sql`select name, node_id, phase from pods where cluster_id = ${clusterId} and name like ${`${name}-%`}`,
    )) as { name: string; node_id: string | null; phase: string }[];
    const at = performance.now();
    for (const r of rows) {
      if (r.node_id && !bound.has(r.name)) bound.set(r.name, at);
      if (r.phase === "Running" && !running.has(r.name)) running.set(r.name, at);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const deploymentOf = (pod: string) => pod.split("-").slice(0, 2).join("-");
  const latency = [...running]
    .map(([pod, t]) => t - (created.get(deploymentOf(pod)) ?? t))
    .sort((a, b) => a - b);
  return { latency, lastRunning: Math.max(...running.values()), lastBound: Math.max(...bound.values()) };
}

const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;

// The pods already placed.
const placedAt = await createPods("placed", PLACED, () => ({}));
await watch("placed", PLACED, placedAt);

const CASES: Record<string, (app: string) => Record<string, unknown>> = {
  plain: () => ({}),
  nodeAffinity: () => ({
    affinity: {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [
            {
              matchExpressions: [
                { key: "kubernetes.io/hostname", operator: "NotIn", values: ["hollow-0", "hollow-1"] },
              ],
            },
          ],
        },
      },
    },
  }),
  spread: (app) => ({
    topologySpreadConstraints: [
      {
        maxSkew: 1,
        topologyKey: "kubernetes.io/hostname",
        whenUnsatisfiable: "DoNotSchedule",
        labelSelector: { matchLabels: { app } },
      },
    ],
  }),
  podAntiAffinity: (app) => ({
    affinity: {
      podAntiAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: [
          { topologyKey: "kubernetes.io/hostname", labelSelector: { matchLabels: { app } } },
        ],
      },
    },
  }),
};

const results: Record<string, { podsPerSec: number; p50Ms: number; p99Ms: number; boundPerSec: number }> = {};
const rows = [];
/** Deployment names are DNS labels; the cases' keys are the JSON's. */
const APP_PREFIX: Record<string, string> = {
  plain: "plain",
  nodeAffinity: "affinity",
  spread: "spread",
  podAntiAffinity: "anti",
};
for (const [key, spec] of Object.entries(CASES)) {
  const name = APP_PREFIX[key] ?? key;
  const before = { api: await processUsage(api), provisioner: await processUsage(provisioner) };
  const first = performance.now();
  const created = await createPods(name, PODS, spec);
  const w = await watch(name, PODS, created);
  const after = { api: await processUsage(api), provisioner: await processUsage(provisioner) };
  results[key] = {
    podsPerSec: Math.round((PODS / (w.lastRunning - first)) * 1000),
    boundPerSec: Math.round((PODS / (w.lastBound - first)) * 1000),
    p50Ms: Math.round(quantile(w.latency, 0.5)),
    p99Ms: Math.round(quantile(w.latency, 0.99)),
  };
  rows.push({
    case: key,
    nodes: NODES,
    pods: PODS,
    "bound pods/s": results[key].boundPerSec,
    "running pods/s": results[key].podsPerSec,
    "p50 ms": results[key].p50Ms,
    "p99 ms": results[key].p99Ms,
    "api cpu s": +(after.api.cpuSeconds - before.api.cpuSeconds).toFixed(1),
    "provisioner cpu s": +(after.provisioner.cpuSeconds - before.provisioner.cpuSeconds).toFixed(1),
    "api peak MiB": after.api.peakRssMiB,
    "provisioner peak MiB": after.provisioner.peakRssMiB,
  });
  if (!json) console.log(JSON.stringify(rows[rows.length - 1]));
  // The case's pods go, so that every case finds the same free capacity.
  await Promise.all(
    [...created.keys()].map((app) =>
      call("DELETE", `/v1/clusters/${clusterId}/deployments/default/${app}`, token),
    ),
  );
  await poll(
    `${name}'s pods gone`,
    async () => (await count(sql`select count(*) as n from pods where name like ${`${name}-%`}`)) === 0,
    5 * 60_000,
  );
}

console.log(
  `${NODES} hollow nodes joined in ${joinSeconds.toFixed(1)} s; ${PLACED} pods placed before the cases`,
);
console.table(rows);
await stopAll();
await db.drop();
if (json) console.log(JSON.stringify(results));
process.exit(0);
