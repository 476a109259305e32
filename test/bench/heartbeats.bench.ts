/**
 * Heartbeat load (issue #12): the control API, the provisioner and N hollow nodes, each its own
 * process (the real `src/index.ts` of each) on a database of its own, at the default heartbeat
 * interval and node lease; nothing else happens for M minutes. Reports the heartbeats the API
 * answered a second, the CPU of the API, the provisioner and the hollow nodes' process (a share of
 * one core), the peak RSS of each, the transactions Postgres committed and the rows it wrote a
 * second, and how often a node was marked not ready although every node stayed alive (the goal
 * is never).
 *
 *   npm run bench:heartbeats                                # 5,000 nodes, 10 minutes
 *   npm run bench:heartbeats -- --nodes 500 --minutes 1     # a smaller run
 *   npm run bench:heartbeats -- --channel on                # the agents' calls over node channels
 *   npm run bench:heartbeats -- --json                      # table, then one JSON line last
 */

import { systemRows } from "@berth/db/testing";
import { sql } from "drizzle-orm";
import { flag, json, toggle } from "./flags";
import { hollowCluster, processUsage, startStack } from "./stack";

const NODES = flag("--nodes", 5_000);
const MINUTES = flag("--minutes", 10);
const CHANNEL = toggle("--channel", false);
const unlimited = "100000000";

const stack = await startStack({
  // Every hollow node calls from 127.0.0.1.
  apiEnv: {
    RATE_LIMIT_PUBLIC_PER_IP_PER_MINUTE: unlimited,
    RATE_LIMIT_PER_PRINCIPAL_PER_MINUTE: unlimited,
    RATE_LIMIT_PER_TENANT_PER_MINUTE: unlimited,
  },
});
const { api, provisioner, db, url } = stack;
const rows = (q: ReturnType<typeof sql>) => systemRows(db.db, q);
const count = async (q: ReturnType<typeof sql>) => Number((await rows(q))[0]?.n ?? 0);
const { clusterId, hollow, joinSeconds, stop } = await hollowCluster(stack, {
  tenant: "heartbeats",
  nodes: NODES,
  agentArgs: ["--channel", CHANNEL ? "on" : "off"],
});
// Joining is over; what follows is the steady state.
await new Promise((r) => setTimeout(r, 10_000));

const postgres = async () => {
  const [r] = await rows(
    sql`select xact_commit, tup_inserted + tup_updated + tup_deleted as written from pg_stat_database where datname = current_database()`,
  );
  return { commits: Number(r?.xact_commit), written: Number(r?.written) };
};
/**
 * Lease renewals the API has made, from its own Prometheus counters: heartbeats answered (200) over
 * HTTP and over node channels, and the leases it renewed for the channels that hold them.
 */
async function heartbeatsAnswered(): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let total = 0;
  for (const line of text.split("\n"))
    if (
      /^\w*http_requests_total\{[^}]*route="\/v1\/nodes\/heartbeat"[^}]*status="200"/.test(line) ||
      /^berth_node_channel_calls_total\{[^}]*op="nodes\.heartbeat"[^}]*status="200"/.test(line) ||
      /^berth_node_channel_lease_renewals_total\{[^}]*outcome="renewed"/.test(line)
    )
      total += Number(line.split(" ").pop());
  return total;
}
const notReady = () =>
  count(sql`select count(*) as n from events where cluster_id = ${clusterId} and reason = 'NodeNotReady'`);

/** What the run is measured by, read before and after it. */
const snapshot = async () => ({
  api: await processUsage(api),
  provisioner: await processUsage(provisioner),
  hollow: await processUsage(hollow),
  postgres: await postgres(),
  heartbeats: await heartbeatsAnswered(),
  notReady: await notReady(),
});

const before = await snapshot();
const started = performance.now();
let lowestReady = NODES;
const deadline = started + MINUTES * 60_000;
while (performance.now() < deadline) {
  await new Promise((r) => setTimeout(r, 5_000));
  lowestReady = Math.min(
    lowestReady,
    await count(sql`select count(*) as n from nodes where status = 'ready' and cluster_id = ${clusterId}`),
  );
}
const seconds = (performance.now() - started) / 1000;
const after = await snapshot();

const share = (a: { cpuSeconds: number }, b: { cpuSeconds: number }) =>
  +((b.cpuSeconds - a.cpuSeconds) / seconds).toFixed(3);
const heartbeatsPerSecond = (after.heartbeats - before.heartbeats) / seconds;
const result = {
  nodes: NODES,
  channel: CHANNEL,
  minutes: +(seconds / 60).toFixed(1),
  joinSeconds: +joinSeconds.toFixed(1),
  heartbeatsPerSecond: Math.round(heartbeatsPerSecond),
  apiCores: share(before.api, after.api),
  apiCpuMsPerHeartbeat: +(
    ((after.api.cpuSeconds - before.api.cpuSeconds) * 1000) /
    Math.max(1, after.heartbeats - before.heartbeats)
  ).toFixed(3),
  provisionerCores: share(before.provisioner, after.provisioner),
  hollowCores: share(before.hollow, after.hollow),
  apiPeakRssMiB: after.api.peakRssMiB,
  provisionerPeakRssMiB: after.provisioner.peakRssMiB,
  postgresCommitsPerSecond: Math.round((after.postgres.commits - before.postgres.commits) / seconds),
  postgresRowsWrittenPerSecond: Math.round((after.postgres.written - before.postgres.written) / seconds),
  falseNotReady: after.notReady - before.notReady,
  lowestReady,
};
console.table([result]);
await stop();
await db.drop();
if (json) console.log(JSON.stringify(result));
process.exit(0);
