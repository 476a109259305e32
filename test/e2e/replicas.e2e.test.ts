import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { generateMasterKey } from "@berth/core";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Load, startLoad } from "./replicas-load";
import {
  type Balancer,
  type OwnPostgres,
  type OwnRedis,
  startBalancer,
  startPostgres,
  startRedis,
} from "./replicas-support";
import { bundled, freePort, type Proc, poll, ROOT, start } from "./support";

/**
 * Two control-api and two provisioner processes, started as production runs them, against one
 * Postgres and one Redis of this file's own, with tenants using the API through a load balancer the
 * whole time: one API and one provisioner killed with SIGKILL, Redis killed and started again on its
 * append-only file, Postgres crashed and started again. Every acknowledged operation completes, no
 * job's effect happens twice, the clients meet only errors they retry, and no process needs a restart
 * for Postgres or Redis to come back.
 */
const CLIENTS = 6;
const QUEUE_PREFIX = "berth";
let pg: OwnPostgres;
let redis: OwnRedis;
let balancer: Balancer;
let load: Load | undefined;
const masterKey = generateMasterKey();
const apis: { port: number; proc: Proc }[] = [];
const provisioners: { port: number; proc: Proc }[] = [];
const figures: Record<string, unknown> = {};

function env(): Record<string, string> {
  return {
    DATABASE_URL: pg.urls.app,
    DATABASE_SYSTEM_URL: pg.urls.system,
    REDIS_URL: redis.url,
    QUEUE_PREFIX,
    BERTH_MASTER_KEY: masterKey,
    LOG_LEVEL: "warn",
  };
}

function startApi(port: number): Proc {
  // One node process each (no tsx wrapper), so that SIGKILL kills the server itself.
  return start(process.execPath, ["--import", "tsx", "apps/control-api/src/index.ts"], {
    ...env(),
    PORT: String(port),
    // Every replica issues and accepts the same tokens: the issuer is the balancer's address.
    PUBLIC_URL: balancer.url,
    TRUST_PROXY: "true",
    CHECK_REPLIES: "true",
    RATE_LIMIT_PER_PRINCIPAL_PER_MINUTE: "100000",
    RATE_LIMIT_PER_TENANT_PER_MINUTE: "100000",
    RATE_LIMIT_PUBLIC_PER_IP_PER_MINUTE: "100000",
  });
}

let provisionerBundle: string;
function startProvisioner(port: number): Proc {
  // Bundled (test/e2e/support.ts): the API stays on tsx, as its agent bundle is built from its source tree.
  return start(process.execPath, [provisionerBundle], {
    ...env(),
    PROVISIONER_PORT: String(port),
    BERTH_API_URL: balancer.url,
    LOCAL_VM_PROVIDER: "off",
    SWEEP_INTERVAL_MS: "1000",
    // A killed worker's job is run again within a few seconds.
    JOB_LOCK_SECONDS: "4",
    JOB_STALLED_CHECK_SECONDS: "1",
  });
}

/** GET /readyz of a process: its status code, 0 when it does not answer. */
async function readyz(port: number): Promise<number> {
  try {
    return (await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(2_000) })).status;
  } catch {
    return 0;
  }
}

const everyone = () => [...apis, ...provisioners];

/** What each process said last and whether it is ready, for a failure's message. */
async function diagnosis(): Promise<string> {
  const parts = await Promise.all(
    everyone().map(
      async (p) =>
        `--- :${p.port} readyz ${await readyz(p.port)}, exit ${p.proc.child.exitCode}\n${p.proc.output().slice(-1500)}`,
    ),
  );
  return parts.join("\n");
}
const explained = async <T>(work: Promise<T>): Promise<T> => {
  try {
    return await work;
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${await diagnosis()}`);
  }
};
const allReady = async () =>
  (await Promise.all(everyone().map((p) => readyz(p.port)))).every((s) => s === 200);

beforeAll(async () => {
  // Without it every process dies when Postgres restarts (see infra/patch-deps.mjs).
  const driver = readFileSync(join(ROOT, "node_modules/postgres/src/connection.js"), "utf8");
  if (!driver.includes("berth: infra/patch-deps.mjs"))
    throw new Error("postgres.js is not patched: run `node infra/patch-deps.mjs` (npm ci does)");
  const t0 = Date.now();
  [pg, redis, provisionerBundle] = await Promise.all([
    startPostgres(),
    startRedis(),
    bundled("apps/provisioner/src/index.ts"),
  ]);
  figures.servicesSeconds = (Date.now() - t0) / 1000;
  const apiPorts = [await freePort(), await freePort()];
  balancer = await startBalancer(apiPorts);
  for (const port of apiPorts) apis.push({ port, proc: startApi(port) });
  for (let i = 0; i < 2; i++) {
    const port = await freePort();
    provisioners.push({ port, proc: startProvisioner(port) });
  }
  await explained(poll("every process ready", allReady, 120_000));
  figures.startupSeconds = (Date.now() - t0) / 1000;
}, 150_000);

afterAll(async () => {
  await load?.stop();
  console.log(`replicas and faults: ${JSON.stringify(figures)}`);
  for (const p of everyone()) p.proc.child.kill("SIGKILL");
  await Promise.all(everyone().map((p) => p.proc.exited));
  await balancer?.close();
  await redis?.close();
  await pg?.close();
}, 60_000);

describe("two API and two provisioner replicas under load, one of each killed, Redis and Postgres restarted", () => {
  it("kill -9 of one API and one provisioner: the survivors serve every client again", async () => {
    load = startLoad(balancer.url, CLIENTS, randomBytes(3).toString("hex"));
    await poll("load under way", async () => load && load.acked() >= 15, 30_000);
    const [api, prov] = [apis[0], provisioners[0]];
    if (!api || !prov) throw new Error("no processes");
    const t = Date.now();
    api.proc.child.kill("SIGKILL");
    prov.proc.child.kill("SIGKILL");
    await Promise.all([api.proc.exited, prov.proc.exited]);
    figures.afterKillServedSeconds = await load.servedAgainAfter(t);
    // A supervisor (systemd's Restart=, a container orchestrator) starts them again shortly; they
    // boot while the next faults happen, and are waited for before Postgres is restarted.
    await new Promise((r) => setTimeout(r, 1_000));
    api.proc = startApi(api.port);
    prov.proc = startProvisioner(prov.port);
    figures.ackedAfterKill = load.acked();
    expect(load.unexpected).toEqual([]);
  });

  it("Redis killed with SIGKILL and started again: every job acknowledged before is still queued", async () => {
    if (!load) throw new Error("no load");
    const direct = new Redis(redis.url, { maxRetriesPerRequest: null, lazyConnect: true });
    direct.on("error", () => {});
    try {
      // The provisioners are frozen so that nothing consumes the jobs: what is queued when Redis dies
      // is exactly what the API acknowledged, and only the append-only file can bring it back.
      const frozenAt = Date.now();
      for (const p of provisioners) p.proc.child.kill("SIGSTOP");
      // Clients wait for their clusters to become active, so few creates are answered meanwhile;
      // deletions are answered too, and each enqueued its job.
      await poll(
        "operations acknowledged while the provisioners are frozen",
        async () => (load?.jobsAcknowledgedSince(frozenAt).length ?? 0) >= 2,
        30_000,
      );
      const jobs = load.jobsAcknowledgedSince(frozenAt);
      const t = Date.now();
      await redis.kill();
      // The API that lived through the kill says at once that it is not ready.
      const survivingApi = apis[1];
      const apiWhileDown = survivingApi ? await readyz(survivingApi.port) : 0;
      await new Promise((r) => setTimeout(r, 500));
      await redis.start();
      const down = (Date.now() - t) / 1000;
      await direct.connect();
      const missing: string[] = [];
      for (const job of jobs)
        if (!(await direct.exists(`${QUEUE_PREFIX}:clusters:${job}`))) missing.push(job);
      for (const p of provisioners) p.proc.child.kill("SIGCONT");
      figures.redis = {
        queuedBeforeKill: jobs.length,
        lostAfterRestart: missing.length,
        downSeconds: down,
        clientsServedAgainSeconds: await load.servedAgainAfter(t),
      };
      expect(missing).toEqual([]);
      expect(apiWhileDown).toBe(503);
      // The processes that lived through it serve again without a restart.
      const survivors = [apis[1], provisioners[1]].filter((p) => p !== undefined);
      await explained(
        poll(
          "the survivors ready after Redis came back",
          async () => (await Promise.all(survivors.map((p) => readyz(p.port)))).every((x) => x === 200),
          30_000,
        ),
      );
      expect(survivors.map((p) => p.proc.child.exitCode)).toEqual([null, null]);
      // The jobs queued before the kill run: provisioned clusters leave `provisioning`, deleted ones
      // end `deleted`.
      const ids = jobs.map((j) => j.slice(j.indexOf("-") + 1));
      await poll(
        "the jobs queued before the kill done",
        async () => {
          const rows = await pg.admin`select id, status from clusters where id in ${pg.admin(ids)}`;
          const status = new Map(rows.map((r) => [r.id as string, r.status as string]));
          return jobs.every((j, i) =>
            j.startsWith("delete-")
              ? status.get(ids[i] ?? "") === "deleted"
              : status.get(ids[i] ?? "") !== "provisioning",
          );
        },
        30_000,
      );
      expect(load.unexpected).toEqual([]);
    } finally {
      for (const p of provisioners) p.proc.child.kill("SIGCONT");
      direct.disconnect();
    }
  });

  it("Postgres crashed and started again: every process becomes ready again without a restart", async () => {
    if (!load) throw new Error("no load");
    await explained(poll("every process ready, the replacements too", allReady, 120_000));
    const pids = everyone().map((p) => p.proc.child.pid);
    const sawUnready = new Set<number>();
    const readyAgain = new Map<number, number>();
    let watching = true;
    let restartedAt = 0;
    const watch = (async () => {
      while (watching) {
        await Promise.all(
          everyone().map(async (p) => {
            const s = await readyz(p.port);
            if (s === 503) sawUnready.add(p.port);
            if (s === 200 && restartedAt && sawUnready.has(p.port) && !readyAgain.has(p.port))
              readyAgain.set(p.port, (Date.now() - restartedAt) / 1000);
          }),
        );
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const t = Date.now();
    await pg.crash();
    await new Promise((r) => setTimeout(r, 1_500));
    await pg.start();
    restartedAt = Date.now();
    await explained(poll("every process ready again", async () => readyAgain.size === 4, 40_000)).finally(
      () => {
        watching = false;
      },
    );
    await watch;
    figures.postgres = {
      downSeconds: (restartedAt - t) / 1000,
      readyAgainSeconds: Object.fromEntries([...readyAgain].map(([port, s]) => [String(port), s])),
      clientsServedAgainSeconds: await load.servedAgainAfter(restartedAt),
    };
    // The same processes: none exited, none was started again.
    expect(everyone().map((p) => p.proc.child.pid)).toEqual(pids);
    expect(everyone().map((p) => p.proc.child.exitCode)).toEqual([null, null, null, null]);
    expect(sawUnready.size).toBe(4);
    expect(load.unexpected).toEqual([]);
  });

  it("every acknowledged operation completed, none twice, and the clients met only errors they retried", async () => {
    if (!load) throw new Error("no load");
    await load.stop();
    const acked = [...load.clusters.values()];
    const ids = acked.map((c) => c.id);
    let behind: string[] = [];
    await explained(
      poll(
        "every acknowledged cluster active, or deleted when its deletion was acknowledged",
        async () => {
          const rows =
            await pg.admin`select id, status, status_reason from clusters where id in ${pg.admin(ids)}`;
          const status = new Map(rows.map((r) => [r.id as string, `${r.status} (${r.status_reason})`]));
          behind = acked
            .filter((c) => !status.get(c.id)?.startsWith(c.deleted ? "deleted " : "active "))
            .map((c) => `${c.id} ${c.deleted ? "deleted" : "kept"}: ${status.get(c.id)}`);
          return behind.length === 0;
        },
        60_000,
      ).catch((error: Error) => {
        throw new Error(`${error.message}\n${behind.join("\n")}`);
      }),
    );
    // Nothing was made that no client was told of: each tenant has exactly the clusters acknowledged.
    const all =
      await pg.admin`select c.id from clusters c join tenants t on t.id = c.tenant_id where t.name like 'rep-%'`;
    expect(all.map((r) => r.id as string).sort()).toEqual([...ids].sort());
    // Each acknowledged Deployment of a cluster that lives is there.
    const deployments = await pg.admin`
      select cluster_id from deployments where cluster_id in ${pg.admin(ids)} and name = 'web'`;
    const withDeployment = new Set(deployments.map((r) => r.cluster_id as string));
    expect(
      acked.filter((c) => c.deployment && !c.deleted && !withDeployment.has(c.id)).map((c) => c.id),
    ).toEqual([]);
    // No job's effect twice: one "Active" and at most one "Deleted" event per cluster (repeats of an
    // event are counted in it), one meter interval of the cluster itself.
    const events = await pg.admin`
      select cluster_id, reason, sum(count)::int as n from events
      where cluster_id in ${pg.admin(ids)} and object_kind = 'Cluster' and reason in ('Active', 'Deleted')
      group by 1, 2`;
    expect(events.filter((e) => e.n !== 1)).toEqual([]);
    const meters = await pg.admin`
      select subject_id, count(*)::int as n from meter_intervals
      where subject_id in ${pg.admin(ids)} group by 1`;
    expect(meters.filter((m) => m.n !== 1)).toEqual([]);
    figures.acknowledged = load.acked();
    figures.clusters = { created: acked.length, deleted: acked.filter((c) => c.deleted).length };
    figures.retriedErrors = load.retried;
    figures.createsFoundByName = load.resolvedByName();
    figures.requestsOver3s = load.slow.length;
    figures.unexpected = load.unexpected.length;
    expect(load.unexpected).toEqual([]);
    expect(Object.values(load.retried).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
  });
});
