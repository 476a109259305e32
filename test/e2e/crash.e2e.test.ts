import { systemRows } from "@berth/db/testing";
import { CRASH_POINTS } from "@berth/provisioner/crashpoints";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Cloud, EC2_ENV, startCloud } from "./cloud";
import { bundled, freePort, type Proc, poll, start } from "./support";

/**
 * kill -9 of the provisioner at every step of cluster create, node-pool scale-up and cluster
 * delete: for each crash point a provisioner process is started that SIGKILLs itself there, then a
 * healthy one takes over. Afterwards: 0 orphaned instances, 0 duplicate instances per machine, and
 * the cluster converges. The EC2 endpoint ignores ClientToken here, so only Berth's own guard (the
 * machine id in a tag, looked up before launching) stands between a retry and a duplicate.
 */
let cloud: Cloud;
let token: string;
let masterKey: string;
const results: {
  point: string;
  crashed: boolean;
  converged: boolean;
  orphans: number;
  duplicates: number;
}[] = [];

function provisioner(crashAt: string | undefined, port: number): Proc {
  // One node process (no tsx wrapper, bundled), so that its SIGKILL is what the test observes.
  return start(process.execPath, [provisionerBundle], {
    ...EC2_ENV(cloud),
    DATABASE_URL: cloud.api.database.url,
    DATABASE_SYSTEM_URL: cloud.api.database.systemUrl,
    REDIS_URL: process.env.REDIS_URL ?? "redis://127.0.0.1:56379",
    QUEUE_PREFIX: cloud.api.deps.queues.prefix,
    BERTH_MASTER_KEY: masterKey,
    BERTH_API_URL: cloud.apiUrl,
    PROVISIONER_PORT: String(port),
    SWEEP_INTERVAL_MS: "300",
    // A killed worker's job is picked up again within a few seconds.
    JOB_LOCK_SECONDS: "4",
    JOB_STALLED_CHECK_SECONDS: "1",
    LOG_LEVEL: "warn",
    ...(crashAt ? { BERTH_CRASH_AT: crashAt } : {}),
  });
}

const call = (method: string, path: string, body?: unknown) => cloud.api.call(method, path, { token, body });
const instancesOf = (clusterId: string) =>
  cloud.ec2.instances().filter((i) => i.tags["berth:cluster"] === clusterId);
const live = (clusterId: string) =>
  instancesOf(clusterId).filter((i) => i.state === "pending" || i.state === "running");

/** Every live instance belongs to exactly one machine that is meant to be live, and no machine has two. */
async function audit(clusterId: string) {
  const rows = await systemRows(
    cloud.api.deps.db,
    sql`select id, status, instance_id from machines where cluster_id = ${clusterId}`,
  );
  const liveMachines = new Set(
    rows
      .filter((r) => ["pending", "launching", "running"].includes(String(r.status)))
      .map((r) => String(r.id)),
  );
  const perMachine = new Map<string, number>();
  let orphans = 0;
  for (const i of live(clusterId)) {
    const m = i.tags["berth:machine"] ?? "";
    perMachine.set(m, (perMachine.get(m) ?? 0) + 1);
    if (!liveMachines.has(m)) orphans++;
  }
  const duplicates = [...perMachine.values()].filter((n) => n > 1).length;
  return { orphans, duplicates, liveMachines: liveMachines.size };
}

let provisionerBundle: string;
beforeAll(async () => {
  provisionerBundle = await bundled("apps/provisioner/src/index.ts");
  // Machines never boot an agent here: the subject is the provisioner's bookkeeping, not joining.
  cloud = await startCloud({ ignoreClientToken: true, runUserData: false });
  masterKey = cloud.api.deps.master.key.toString("base64");
  ({ token } = await cloud.api.tenant("crash-tenant"));
}, 60_000);

afterAll(async () => {
  console.log(`crash matrix: ${JSON.stringify(results)}`);
  await cloud?.close();
}, 60_000);

async function scenario(point: string) {
  // Where in the life of a cluster the crash point lies decides what the scenario does first.
  const phase = point.startsWith("provision")
    ? "create"
    : point.startsWith("delete") || point === "machines.after-terminate"
      ? "delete"
      : "scale";
  const healthyPort = await freePort();
  const c = await call("POST", "/v1/clusters", { name: `c-${results.length}` });
  const clusterId = c.body.id as string;
  let crashing: Proc | undefined;
  let healthy: Proc | undefined;
  try {
    if (phase !== "create") {
      healthy = provisioner(undefined, healthyPort);
      await poll(
        "active",
        async () => (await call("GET", `/v1/clusters/${clusterId}`)).body.status === "active",
        60_000,
      );
      if (phase === "delete") {
        await call("POST", `/v1/clusters/${clusterId}/node-pools`, {
          name: "p",
          provider: "ec2",
          desiredSize: 2,
          maxSize: 4,
        });
        await poll("2 instances", async () => live(clusterId).length === 2, 60_000);
      }
      healthy.child.kill("SIGTERM");
      await healthy.exited;
      healthy = undefined;
    }
    crashing = provisioner(point, await freePort());
    if (phase === "scale")
      await call("POST", `/v1/clusters/${clusterId}/node-pools`, {
        name: "p",
        provider: "ec2",
        desiredSize: 2,
        maxSize: 4,
      });
    if (phase === "delete") await call("DELETE", `/v1/clusters/${clusterId}`);
    const exit = await Promise.race([
      crashing.exited.then(() => crashing?.child.signalCode),
      new Promise((r) => setTimeout(() => r("timeout"), 60_000)),
    ]);
    const crashed = exit === "SIGKILL";
    if (!crashed)
      console.error(
        `${point}: the provisioner did not crash (${String(exit)}):\n${crashing.output().slice(-3000)}`,
      );

    healthy = provisioner(undefined, healthyPort);
    let converged = false;
    try {
      await poll(
        `${point}: converged`,
        async () => {
          const status = (await call("GET", `/v1/clusters/${clusterId}`)).body.status;
          const a = await audit(clusterId);
          if (phase === "delete")
            return status === "deleted" && live(clusterId).length === 0 && a.liveMachines === 0;
          if (phase === "create") return status === "active";
          const machines = await systemRows(
            cloud.api.deps.db,
            sql`select count(*)::int as n from machines where cluster_id = ${clusterId} and status = 'launching'`,
          );
          return status === "active" && live(clusterId).length === 2 && machines[0]?.n === 2;
        },
        60_000,
      );
      converged = true;
    } catch (error) {
      console.error(`${point}: ${String(error)}\n${healthy.output().slice(-3000)}`);
    }
    const a = await audit(clusterId);
    results.push({ point, crashed, converged, orphans: a.orphans, duplicates: a.duplicates });
    return { crashed, converged, ...a };
  } finally {
    for (const p of [crashing, healthy]) {
      if (p && p.child.exitCode === null && p.child.signalCode === null) {
        p.child.kill("SIGTERM");
        await p.exited;
      }
    }
  }
}

describe("kill -9 of the provisioner at every step", () => {
  it.each(CRASH_POINTS.map((p) => [p]))(
    "%s: resumes with no orphaned or duplicate machine",
    async (point) => {
      const r = await scenario(point);
      expect(r.crashed, "the crash point was reached and the process was killed").toBe(true);
      expect(r.converged).toBe(true);
      expect(r.orphans).toBe(0);
      expect(r.duplicates).toBe(0);
    },
    180_000,
  );
});
